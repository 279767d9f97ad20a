// kid.c — Kernel Inception Distance, as torch-fidelity's kid_features_to_metric with its default
// polynomial kernel and unbiased MMD² estimator, in float64: per subset the Gram matrices X Xᵀ and
// Y Yᵀ (dsyrk) and X Yᵀ (dgemm), the kernel applied elementwise and summed on the fly.
#include "metrics.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

cg_kid_options cg_kid_defaults(void) {
    cg_kid_options o = {.subsets = 100, .subset_size = 1000, .degree = 3, .gamma = 0.0, .coef0 = 1.0,
                        .seed = 2020, .idx1 = NULL, .idx2 = NULL};
    return o;
}

typedef struct {
    int degree;
    double gamma, coef0;
} kernel;

static double kernel_value(kernel k, double dot) {
    double b = dot * k.gamma + k.coef0, v = 1.0;
    for (int i = 0; i < k.degree; i++) v *= b;
    return v;
}

static void gather(const float *f, int d, const int64_t *idx, int64_t m, double *x) {
    for (int64_t r = 0; r < m; r++) {
        const float *src = f + (size_t)idx[r] * d;
        for (int j = 0; j < d; j++) x[(size_t)r * d + j] = src[j];
    }
}

// Σ_{i != j} k(x_i, x_j), from the upper triangle of the Gram matrix g = x xᵀ.
static double off_diagonal_sum(kernel k, const double *x, int64_t m, int d, double *g) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, d, 1.0, x, d, 0.0, g, (int)m);
    double s = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = i + 1; j < m; j++) s += kernel_value(k, g[(size_t)i * m + j]);
    return 2.0 * s;
}

static double mmd2_unbiased(kernel k, const double *x, const double *y, int64_t m, int d, double *g) {
    double sxx = off_diagonal_sum(k, x, m, d, g);
    double syy = off_diagonal_sum(k, y, m, d, g);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, d, 1.0, x, d, y, d, 0.0, g, (int)m);
    double sxy = 0.0;
    for (size_t i = 0; i < (size_t)m * m; i++) sxy += kernel_value(k, g[i]);
    double md = (double)m;
    return (sxx + syy) / (md * (md - 1.0)) - 2.0 * sxy / (md * md);
}

static cg_status check_features(const float *f, int64_t n, int d, int which) {
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(f[i]))
            return cg_fail(CG_ERR_NUMERIC, "KID: feature %d of sample %lld of set %d is %g", (int)(i % d),
                           (long long)(i / d), which, (double)f[i]);
    return CG_OK;
}

static cg_status check_indices(const int64_t *idx, size_t count, int64_t n, int which) {
    for (size_t i = 0; i < count; i++)
        if (idx[i] < 0 || idx[i] >= n)
            return cg_fail(CG_ERR_INVALID_ARG, "KID: idx%d[%zu] = %lld is outside 0..%lld", which, i,
                           (long long)idx[i], (long long)(n - 1));
    return CG_OK;
}

static cg_status validate(const float *f1, int64_t n1, const float *f2, int64_t n2, int d, cg_kid_options *o) {
    if (!f1 || !f2) return cg_fail(CG_ERR_INVALID_ARG, "KID: NULL features");
    if (d <= 0 || o->subsets <= 0 || o->degree < 1 || o->subset_size < 2)
        return cg_fail(CG_ERR_INVALID_ARG, "KID: need d > 0, subsets > 0, degree >= 1, subset size >= 2 "
                       "(have %d, %d, %d, %lld)", d, o->subsets, o->degree, (long long)o->subset_size);
    if (n1 < 2 || n2 < 2)
        return cg_fail(CG_ERR_INVALID_ARG, "KID: need at least 2 samples per set, have %lld and %lld",
                       (long long)n1, (long long)n2);
    if (!o->idx1 != !o->idx2) return cg_fail(CG_ERR_INVALID_ARG, "KID: give both idx1 and idx2, or neither");
    if (o->idx1 && (o->subset_size > n1 || o->subset_size > n2))
        return cg_fail(CG_ERR_INVALID_ARG, "KID: subset size %lld exceeds the samples (%lld, %lld)",
                       (long long)o->subset_size, (long long)n1, (long long)n2);
    if (o->subset_size > n1) o->subset_size = n1;
    if (o->subset_size > n2) o->subset_size = n2;
    if (o->subset_size > 46340) // m² must fit the int sizes BLAS takes
        return cg_fail(CG_ERR_INVALID_ARG, "KID: subset size %lld is too large", (long long)o->subset_size);
    if (!(o->gamma > 0.0)) o->gamma = 1.0 / d;
    CG_TRY(check_features(f1, n1, d, 1));
    CG_TRY(check_features(f2, n2, d, 2));
    if (o->idx1) {
        size_t count = (size_t)o->subsets * (size_t)o->subset_size;
        CG_TRY(check_indices(o->idx1, count, n1, 1));
        CG_TRY(check_indices(o->idx2, count, n2, 2));
    }
    return CG_OK;
}

cg_status cg_kid(const float *f1, int64_t n1, const float *f2, int64_t n2, int d, const cg_kid_options *opt,
                 cg_score *out) {
    cg_kid_options o = opt ? *opt : cg_kid_defaults();
    if (!out) return cg_fail(CG_ERR_INVALID_ARG, "KID: NULL result");
    CG_TRY(validate(f1, n1, f2, n2, d, &o));
    const int64_t m = o.subset_size;
    kernel k = {o.degree, o.gamma, o.coef0};
    double *x = malloc((size_t)m * d * sizeof(double));
    double *y = malloc((size_t)m * d * sizeof(double));
    double *g = malloc((size_t)m * m * sizeof(double));
    double *mmds = malloc((size_t)o.subsets * sizeof(double));
    int64_t *p1 = o.idx1 ? NULL : malloc((size_t)n1 * sizeof(int64_t));
    int64_t *p2 = o.idx1 ? NULL : malloc((size_t)n2 * sizeof(int64_t));
    cg_status st = CG_OK;
    if (!x || !y || !g || !mmds || (!o.idx1 && (!p1 || !p2))) {
        st = cg_fail(CG_ERR_NOMEM, "KID: out of memory for subsets of %lld x %d", (long long)m, d);
        goto done;
    }
    cg_np_random r;
    cg_np_random_seed(&r, o.seed);
    for (int s = 0; s < o.subsets; s++) {
        const int64_t *i1 = p1, *i2 = p2;
        if (o.idx1) {
            i1 = o.idx1 + (size_t)s * m;
            i2 = o.idx2 + (size_t)s * m;
        } else { // torch-fidelity: rng.choice(n1, m, replace=False), then rng.choice(n2, m, ...)
            cg_np_random_permutation(&r, n1, p1);
            cg_np_random_permutation(&r, n2, p2);
        }
        gather(f1, d, i1, m, x);
        gather(f2, d, i2, m, y);
        mmds[s] = mmd2_unbiased(k, x, y, m, d, g);
    }
    double mean = 0.0, var = 0.0;
    for (int s = 0; s < o.subsets; s++) mean += mmds[s];
    mean /= o.subsets;
    for (int s = 0; s < o.subsets; s++) var += (mmds[s] - mean) * (mmds[s] - mean);
    out->mean = mean;
    out->std = sqrt(var / o.subsets);
done:
    free(x);
    free(y);
    free(g);
    free(mmds);
    free(p1);
    free(p2);
    return st;
}
