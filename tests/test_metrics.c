// test_metrics.c — statistics, FID, IS and KID on the host: closed forms and a plain C reference,
// then parity with numpy (mu/sigma, RandomState permutations) and, when CLGAN_PYDEPS names a folder
// holding pytorch-fid 0.3.0 and torch-fidelity (scripts/install-pydeps), with their functions,
// fed the same features (tests/reference/metrics_reference.py). No OpenCL device is needed.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "bench.h"
#include "metrics.h"
#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

static double rel(double got, double want) {
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1e-300;
    return fabs(got - want) / scale;
}

// Rows of a non-negative, correlated, non-zero-mean feature distribution (like pooled ReLU outputs).
static float *make_features(int64_t n, int d, uint64_t seed, float offset) {
    float *z = malloc((size_t)n * d * sizeof(float));
    float *x = malloc((size_t)n * d * sizeof(float));
    cg_rng_normal_host((cg_rng){seed, 7}, 0, z, (size_t)n * d, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            const float *r = z + (size_t)i * d;
            float v = offset + (0.2f + 0.8f * (float)j / d) * r[j] + 0.4f * r[(j + 1) % d];
            x[(size_t)i * d + j] = v > 0.0f ? v : 0.0f;
        }
    free(z);
    return x;
}

// ---------------------------------------------------------------------------------------------

static void test_np_random(void) {
    cg_np_random r;
    cg_np_random_seed(&r, 5489); // the reference mt19937ar output for init_genrand(5489)
    uint32_t first = cg_np_random_u32(&r);
    for (int i = 1; i < 9999; i++) cg_np_random_u32(&r);
    uint32_t last = cg_np_random_u32(&r);
    CHECK(first == 3499211612u && last == 4123659995u, "MT19937 outputs %u, %u", first, last);
}

static void test_stats(void) {
    const int d = 24;
    const int64_t n = 500;
    float *x = make_features(n, d, 1, 0.5f);
    cg_stats whole, parts;
    CHECK_OK(cg_stats_compute_f32(x, n, d, &whole));
    cg_stats_acc *acc = NULL;
    CHECK_OK(cg_stats_acc_create(d, &acc));
    double *xd = malloc((size_t)n * d * sizeof(double));
    for (size_t i = 0; i < (size_t)n * d; i++) xd[i] = x[i];
    CHECK_OK(cg_stats_acc_add_f32(acc, x, 1));
    CHECK_OK(cg_stats_acc_add_f64(acc, xd + d, 7));
    CHECK_OK(cg_stats_acc_add_f32(acc, x + 8 * d, 0));
    CHECK_OK(cg_stats_acc_add_f32(acc, x + 8 * d, 300));
    CHECK_OK(cg_stats_acc_add_f32(acc, x + 308 * d, n - 308));
    CHECK(cg_stats_acc_count(acc) == n, "count %lld", (long long)cg_stats_acc_count(acc));
    CHECK_OK(cg_stats_acc_finish(acc, &parts));
    // Plain two-pass reference.
    double maxdiff = 0.0;
    for (int i = 0; i < d; i++) {
        double m = 0.0;
        for (int64_t r = 0; r < n; r++) m += xd[r * d + i];
        m /= n;
        maxdiff = fmax(maxdiff, fabs(whole.mu[i] - m) + fabs(parts.mu[i] - m));
        for (int j = 0; j < d; j++) {
            double mj = 0.0, c = 0.0;
            for (int64_t r = 0; r < n; r++) mj += xd[r * d + j];
            mj /= n;
            for (int64_t r = 0; r < n; r++) c += (xd[r * d + i] - m) * (xd[r * d + j] - mj);
            c /= (double)(n - 1);
            maxdiff = fmax(maxdiff, fabs(whole.sigma[i * d + j] - c) + fabs(parts.sigma[i * d + j] - c));
        }
    }
    CHECK(maxdiff < 1e-12, "batched statistics differ from the two-pass reference by %g", maxdiff);
    cg_stats_free(&whole);
    cg_stats_free(&parts);
    cg_stats_acc_free(acc);

    CHECK_OK(cg_stats_acc_create(d, &acc));
    CHECK_OK(cg_stats_acc_add_f32(acc, x, 1));
    CHECK_FAILS(cg_stats_acc_finish(acc, &whole), CG_ERR_INVALID_ARG, "at least 2 samples");
    x[3 * d + 5] = NAN;
    CHECK_FAILS(cg_stats_acc_add_f32(acc, x, 4), CG_ERR_NUMERIC, "feature 5 of sample 4");
    cg_stats_acc_free(acc);
    CHECK_FAILS(cg_stats_acc_create(0, &acc), CG_ERR_INVALID_ARG, "positive");
    free(x);
    free(xd);
}

static void test_fid_closed_forms(void) {
    const int d = 40;
    float *x = make_features(300, d, 2, 0.3f);
    cg_stats s;
    CHECK_OK(cg_stats_compute_f32(x, 300, d, &s));
    double fid = -1.0, tr = 0.0;
    for (int i = 0; i < d; i++) tr += s.sigma[i * d + i];
    CHECK_OK(cg_fid_stats(&s, &s, &fid));
    CHECK(fabs(fid) < 1e-10 * tr, "FID(s, s) = %g", fid);

    double *mu2 = calloc(d, sizeof(double)), *a = calloc(d * d, sizeof(double)), *b = calloc(d * d, sizeof(double));
    double want = 0.0, want_eps = 0.0, eps = 1e-3;
    for (int i = 0; i < d; i++) {
        double ai = i < 10 ? 0.0 : 0.1 * i, bi = 3.0 / (i + 1), dm = s.mu[i] - mu2[i];
        a[i * d + i] = ai;
        b[i * d + i] = bi;
        want += dm * dm + ai + bi - 2.0 * sqrt(ai * bi);
        want_eps += dm * dm + ai + bi - 2.0 * sqrt((ai + eps) * (bi + eps));
    }
    CHECK_OK(cg_fid(d, s.mu, a, mu2, b, 0.0, &fid));
    CHECK(rel(fid, want) < 1e-12, "diagonal (rank-deficient) FID %.17g, want %.17g", fid, want);
    CHECK_OK(cg_fid(d, s.mu, a, mu2, b, eps, &fid));
    CHECK(rel(fid, want_eps) < 1e-12, "FID with eps %.17g, want %.17g", fid, want_eps);

    a[5 * d + 5] = -0.01; // not a covariance: pytorch-fid raises "Imaginary component"
    CHECK_FAILS(cg_fid(d, s.mu, a, mu2, b, 0.0, &fid), CG_ERR_NUMERIC, "not positive semi-definite");
    a[5 * d + 5] = NAN;
    CHECK_FAILS(cg_fid(d, s.mu, a, mu2, b, 0.0, &fid), CG_ERR_NUMERIC, "NaN");
    CHECK_FAILS(cg_fid(d, s.mu, b, mu2, b, -1.0, &fid), CG_ERR_INVALID_ARG, "eps");
    cg_stats small = {.d = 3, .mu = mu2, .sigma = b};
    CHECK_FAILS(cg_fid_stats(&s, &small, &fid), CG_ERR_INVALID_ARG, "different sizes");

    double ms = -1.0;
    CHECK_OK(cg_fid_bench(64, 2, &ms));
    CHECK(ms > 0.0, "benchmark time %g ms", ms);
    free(mu2);
    free(a);
    free(b);
    free(x);
    cg_stats_free(&s);
}

static void test_is_basic(void) {
    const int c = 11;
    const int64_t n = 55;
    float *logits = calloc((size_t)n * c, sizeof(float));
    cg_score sc;
    CHECK_OK(cg_inception_score(logits, n, c, NULL, &sc));
    CHECK(fabs(sc.mean - 1.0) < 1e-12 && sc.std < 1e-12, "uniform logits: IS %g +- %g", sc.mean, sc.std);
    // Confident, evenly spread predictions: each split of 11 holds every class once -> IS ~ 11.
    for (int64_t i = 0; i < n; i++) logits[i * c + i % c] = 60.0f;
    cg_is_options o = cg_is_defaults();
    o.splits = 5;
    o.shuffle = 0;
    CHECK_OK(cg_inception_score(logits, n, c, &o, &sc));
    CHECK(fabs(sc.mean - 11.0) < 1e-9 && sc.std < 1e-9, "one-hot logits: IS %.12g +- %g", sc.mean, sc.std);
    int64_t *perm = malloc((size_t)n * sizeof(int64_t));
    for (int64_t k = 0; k < n; k++) perm[k] = k / 5 + 11 * (k % 5); // rows grouped by class
    o.perm = perm;
    cg_score sp;
    CHECK_OK(cg_inception_score(logits, n, c, &o, &sp));
    CHECK(sp.mean < 3.0, "splits of 2-3 classes: IS %g", sp.mean);
    perm[3] = perm[4];
    CHECK_FAILS(cg_inception_score(logits, n, c, &o, &sp), CG_ERR_INVALID_ARG, "not a permutation");
    o.perm = NULL;
    o.splits = 56;
    CHECK_FAILS(cg_inception_score(logits, n, c, &o, &sp), CG_ERR_INVALID_ARG, "one per split");
    logits[7] = INFINITY;
    CHECK_FAILS(cg_inception_score(logits, n, c, NULL, &sp), CG_ERR_NUMERIC, "is inf");
    free(perm);
    free(logits);
}

// Unbiased MMD² with the polynomial kernel, straight from the definition.
static double naive_mmd2(const float *f1, const float *f2, const int64_t *i1, const int64_t *i2, int64_t m, int d) {
    double sxx = 0.0, syy = 0.0, sxy = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++) {
            double xx = 0.0, yy = 0.0, xy = 0.0;
            for (int k = 0; k < d; k++) {
                xx += (double)f1[i1[i] * d + k] * f1[i1[j] * d + k];
                yy += (double)f2[i2[i] * d + k] * f2[i2[j] * d + k];
                xy += (double)f1[i1[i] * d + k] * f2[i2[j] * d + k];
            }
            if (i != j) {
                sxx += pow(xx / d + 1.0, 3);
                syy += pow(yy / d + 1.0, 3);
            }
            sxy += pow(xy / d + 1.0, 3);
        }
    return (sxx + syy) / (double)(m * (m - 1)) - 2.0 * sxy / (double)(m * m);
}

static void test_kid_basic(void) {
    const int d = 16, subsets = 4;
    const int64_t n1 = 60, n2 = 45, m = 30;
    float *f1 = make_features(n1, d, 3, 0.2f), *f2 = make_features(n2, d, 4, 0.5f);
    int64_t *idx1 = malloc(sizeof(int64_t) * subsets * m), *idx2 = malloc(sizeof(int64_t) * subsets * m);
    int64_t p1[60], p2[45];
    cg_np_random r;
    cg_np_random_seed(&r, 99);
    double mean = 0.0, sq = 0.0;
    for (int s = 0; s < subsets; s++) {
        cg_np_random_permutation(&r, n1, p1);
        cg_np_random_permutation(&r, n2, p2);
        memcpy(idx1 + s * m, p1, sizeof(int64_t) * m);
        memcpy(idx2 + s * m, p2, sizeof(int64_t) * m);
        double v = naive_mmd2(f1, f2, idx1 + s * m, idx2 + s * m, m, d);
        mean += v / subsets;
        sq += v * v / subsets;
    }
    cg_kid_options o = cg_kid_defaults();
    o.subsets = subsets;
    o.subset_size = m;
    o.idx1 = idx1;
    o.idx2 = idx2;
    cg_score sc, seeded;
    CHECK_OK(cg_kid(f1, n1, f2, n2, d, &o, &sc));
    CHECK(rel(sc.mean, mean) < 1e-10, "KID %.17g, naive %.17g", sc.mean, mean);
    CHECK(rel(sc.std, sqrt(fmax(sq - mean * mean, 0.0))) < 1e-5, "KID std %g", sc.std);
    o.idx1 = o.idx2 = NULL;
    o.seed = 99; // the same draws as above, made by cg_kid itself
    CHECK_OK(cg_kid(f1, n1, f2, n2, d, &o, &seeded));
    CHECK(seeded.mean == sc.mean && seeded.std == sc.std, "seeded KID %.17g vs explicit %.17g", seeded.mean,
          sc.mean);
    o.subset_size = 1000; // clamped to 45
    CHECK_OK(cg_kid(f1, n1, f2, n2, d, &o, &seeded));
    CHECK(isfinite(seeded.mean) && seeded.std >= 0.0, "clamped KID %g", seeded.mean);
    o.idx1 = idx1;
    CHECK_FAILS(cg_kid(f1, n1, f2, n2, d, &o, &sc), CG_ERR_INVALID_ARG, "both idx1 and idx2");
    o.idx2 = idx2;
    CHECK_FAILS(cg_kid(f1, n1, f2, n2, d, &o, &sc), CG_ERR_INVALID_ARG, "exceeds");
    o.subset_size = m;
    idx2[5] = n2;
    CHECK_FAILS(cg_kid(f1, n1, f2, n2, d, &o, &sc), CG_ERR_INVALID_ARG, "idx2[5]");
    free(idx1);
    free(idx2);
    free(f1);
    free(f2);
}

// ---------------------------------------------------------------------------------------------
// Parity with numpy, pytorch-fid and torch-fidelity.

static char dir[256];

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static float *write_input(const char *name, int64_t n, int d, uint64_t seed, float offset) {
    char path[400];
    path_in(path, sizeof path, name);
    float *x = make_features(n, d, seed, offset);
    int64_t shape[2] = {n, d};
    CHECK_OK(cg_npy_write_f32(path, x, 2, shape));
    return x;
}

// Looks up "key value" in results.txt; 0 when absent.
static int result(const char *key, double *out) {
    char path[400], line[256], k[128];
    path_in(path, sizeof path, "results.txt");
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "%127s %lf", k, out) == 2 && strcmp(k, key) == 0;
    if (f) fclose(f);
    return found;
}

static void compare_perms(void) {
    const int64_t sizes[] = {1, 2, 7, 1000, 100003};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        char name[64], path[400];
        snprintf(name, sizeof name, "perm_%lld.npy", (long long)sizes[t]);
        path_in(path, sizeof path, name);
        cg_array ref;
        CHECK_OK(cg_npy_read(path, &ref));
        int64_t *p = malloc(sizeof(int64_t) * sizes[t]);
        cg_np_random r;
        cg_np_random_seed(&r, 2020);
        cg_np_random_permutation(&r, sizes[t], p);
        int64_t bad = ref.count == sizes[t] ? -1 : 0;
        for (int64_t i = 0; i < sizes[t] && bad < 0 && ref.data; i++)
            if ((double)p[i] != ref.data[i]) bad = i;
        CHECK(bad < 0, "RandomState(2020).permutation(%lld) differs at %lld", (long long)sizes[t], (long long)bad);
        free(p);
        cg_array_free(&ref);
    }
    char path[400];
    path_in(path, sizeof path, "choice.npy");
    cg_array ref;
    CHECK_OK(cg_npy_read(path, &ref));
    cg_np_random r;
    cg_np_random_seed(&r, 2020);
    int64_t p[400];
    int same = ref.count == 600;
    for (int row = 0; row < 6 && same; row++) {
        cg_np_random_permutation(&r, row % 2 ? 350 : 400, p);
        for (int i = 0; i < 100; i++) same &= (double)p[i] == ref.data[row * 100 + i];
    }
    CHECK(same, "RandomState(2020).choice(..., replace=False) sequence differs");
    cg_array_free(&ref);
}

// C statistics of features x vs numpy's (stats_<name>.npz); returns numpy's in *ref.
static void compare_stats(const char *name, const float *x, int64_t n, int d, cg_stats *mine, cg_stats *ref) {
    char file[64], path[400];
    snprintf(file, sizeof file, "stats_%s.npz", name);
    path_in(path, sizeof path, file);
    CHECK_OK(cg_stats_compute_f32(x, n, d, mine));
    CHECK_OK(cg_stats_load(path, ref));
    if (ref->d != d || !mine->mu) return;
    double dmu = 0.0, smu = 0.0, ds = 0.0, ss = 0.0;
    for (int i = 0; i < d; i++) {
        dmu = fmax(dmu, fabs(mine->mu[i] - ref->mu[i]));
        smu = fmax(smu, fabs(ref->mu[i]));
    }
    for (int i = 0; i < d * d; i++) {
        ds = fmax(ds, fabs(mine->sigma[i] - ref->sigma[i]));
        ss = fmax(ss, fabs(ref->sigma[i]));
    }
    CHECK(dmu <= 1e-9 * smu && ds <= 1e-9 * ss, "%s: mu off by %g (of %g), sigma by %g (of %g)", name, dmu, smu,
          ds, ss);
    printf("stats %s (N=%lld, d=%d) vs np.mean/np.cov: mu %.2e, sigma %.2e relative\n", name, (long long)n, d,
           dmu / smu, ds / ss);
}

static void check_close(const char *what, double got, const char *key, double tol) {
    double want = NAN;
    CHECK(result(key, &want), "results.txt lacks %s", key);
    CHECK(rel(got, want) <= tol, "%s: clgan %.17g, reference %.17g (relative %.3g)", what, got, want, rel(got, want));
    printf("%-44s clgan %.15g  reference %.15g  relative %.2e\n", what, got, want, rel(got, want));
}

static void compare_scores(cg_stats st[4], cg_stats ref[4], const float *logits, const float *ka, const float *kb) {
    double fid = NAN;
    CHECK_OK(cg_fid_stats(&st[0], &st[1], &fid));
    check_close("FID full rank (N=3000, d=64)", fid, "fid_ab", 1e-6);
    CHECK_OK(cg_fid_stats(&ref[0], &ref[1], &fid));
    check_close("FID full rank, numpy's stats", fid, "fid_ab", 1e-6);
    CHECK_OK(cg_fid_stats(&st[2], &st[3], &fid));
    check_close("FID rank-deficient (N=50, d=64)", fid, "fid_cd", 1e-6);
    CHECK_OK(cg_fid(64, st[2].mu, st[2].sigma, st[3].mu, st[3].sigma, 1e-6, &fid));
    check_close("FID rank-deficient, eps fallback", fid, "fid_cd_eps", 1e-6);

    cg_score sc;
    CHECK_OK(cg_inception_score(logits, 1003, 1008, NULL, &sc));
    check_close("IS mean (N=1003, seed 2020)", sc.mean, "is_mean", 1e-6);
    check_close("IS std", sc.std, "is_std", 1e-6);
    cg_is_options o = cg_is_defaults();
    o.splits = 7;
    o.shuffle = 0;
    CHECK_OK(cg_inception_score(logits, 1003, 1008, &o, &sc));
    check_close("IS mean, 7 splits, no shuffle", sc.mean, "is7_noshuffle_mean", 1e-6);
    check_close("IS std, 7 splits, no shuffle", sc.std, "is7_noshuffle_std", 1e-6);

    cg_kid_options k = cg_kid_defaults();
    k.subsets = 50;
    k.subset_size = 100;
    CHECK_OK(cg_kid(ka, 400, kb, 350, 64, &k, &sc));
    check_close("KID mean (50 subsets of 100, seed 2020)", sc.mean, "kid_mean", 1e-6);
    check_close("KID std", sc.std, "kid_std", 1e-6);
    double f32 = NAN;
    if (result("kid_f32_mean", &f32))
        printf("torch-fidelity's own float32 KID: %.15g (relative %.2e from float64)\n", f32, rel(f32, sc.mean));
}

static void test_reference(void) {
    const char *python = getenv("CLGAN_PYTHON"), *src = getenv("CLGAN_SOURCE_DIR"), *pydeps = getenv("CLGAN_PYDEPS");
    if (!python || !*python) python = "/usr/bin/python3";
    if (!src || !*src) {
        CHECK(0, "CLGAN_SOURCE_DIR is not set (run through ctest)");
        return;
    }
    if (access(python, X_OK) != 0) {
        test_skip_part("torch", "parity with numpy/pytorch-fid/torch-fidelity: no Python interpreter at '%s'", python);
        return;
    }
    CHECK(test_tmpdir(dir, sizeof dir, "metrics") == 0, "no scratch folder");
    const char *names[4] = {"feat_a.npy", "feat_b.npy", "feat_c.npy", "feat_d.npy"};
    const int64_t rows[4] = {3000, 3000, 50, 50};
    float *feats[4];
    for (int i = 0; i < 4; i++) feats[i] = write_input(names[i], rows[i], 64, 10 + i, i % 2 ? 0.5f : 0.2f);
    float *logits = make_features(1003, 1008, 20, 0.0f);
    for (size_t i = 0; i < (size_t)1003 * 1008; i++) logits[i] = 4.0f * logits[i] - 2.0f;
    int64_t lshape[2] = {1003, 1008};
    char path[400];
    path_in(path, sizeof path, "logits.npy");
    CHECK_OK(cg_npy_write_f32(path, logits, 2, lshape));
    float *ka = write_input("kid_a.npy", 400, 64, 30, 0.3f), *kb = write_input("kid_b.npy", 350, 64, 31, 0.4f);

    int full = pydeps && *pydeps && access(pydeps, R_OK) == 0;
    if (full) {
        setenv("PYTHONPATH", pydeps, 1);
    } else {
        const char *why = "CLGAN_PYDEPS is not set or not a folder (scripts/install-pydeps DIR, then "
                          "CLGAN_PYDEPS=DIR/site); numpy parity still runs";
        test_skip_part("pytorch-fid", "parity with pytorch-fid: %s", why);
        test_skip_part("torch-fidelity", "parity with torch-fidelity: %s", why);
    }
    char script[1400];
    snprintf(script, sizeof script, "%s/tests/reference/metrics_reference.py", src);
    int rc = test_run(NULL, NULL, NULL, python, script, dir, full ? NULL : "--numpy-only", (char *)NULL);
    if (rc == TEST_SKIP) {
        test_skip_part("torch", "parity: metrics_reference.py lacks numpy, scipy or torch");
    } else {
        CHECK(rc == 0, "metrics_reference.py %s exited with %d", dir, rc);
        if (rc == 0) {
            compare_perms();
            cg_stats st[4], ref[4];
            for (int i = 0; i < 4; i++) {
                char nm[2] = {(char)('a' + i), 0};
                compare_stats(nm, feats[i], rows[i], 64, &st[i], &ref[i]);
            }
            if (full) compare_scores(st, ref, logits, ka, kb);
            for (int i = 0; i < 4; i++) cg_stats_free(&st[i]), cg_stats_free(&ref[i]);
        }
    }
    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
    for (int i = 0; i < 4; i++) free(feats[i]);
    free(logits);
    free(ka);
    free(kb);
}

int main(void) {
    test_np_random();
    test_stats();
    test_fid_closed_forms();
    test_is_basic();
    test_kid_basic();
    test_reference();
    return test_finish("metrics");
}
