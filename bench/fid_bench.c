// fid_bench.c — times FID's d x d matrix step (cg_fid) on random full-rank statistics, after
// checking it: FID(s, s) = 0 and the closed form of diagonal covariances.
#include "bench.h"
#include "metrics.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// sigma = G Gᵀ / k with G [d, k = 2d] standard normal (full rank), mu normal.
static cg_status random_stats(int d, uint64_t seed, double *mu, double *sigma) {
    const int k = 2 * d;
    float *gf = malloc((size_t)d * k * sizeof(float));
    double *g = malloc((size_t)d * k * sizeof(double));
    if (!gf || !g) {
        free(gf);
        free(g);
        return cg_fail(CG_ERR_NOMEM, "FID benchmark: out of memory for d = %d", d);
    }
    cg_rng rng = {seed, 0};
    cg_rng_normal_host(rng, 0, gf, (size_t)d * k, 0.0f, 1.0f);
    for (size_t i = 0; i < (size_t)d * k; i++) g[i] = gf[i];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, d, k, 1.0 / k, g, k, 0.0, sigma, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) sigma[(size_t)i * d + j] = sigma[(size_t)j * d + i];
    cg_rng_normal_host(rng, (size_t)d * k, gf, (size_t)d, 0.0f, 1.0f);
    for (int i = 0; i < d; i++) mu[i] = gf[i];
    free(gf);
    free(g);
    return CG_OK;
}

static cg_status bench_check(int d, const double *mu1, const double *s1, const double *mu2, double *diag1,
                             double *diag2) {
    double fid = 0.0, tr = 0.0;
    CG_TRY(cg_fid(d, mu1, s1, mu1, s1, 0.0, &fid));
    for (int i = 0; i < d; i++) tr += s1[(size_t)i * d + i];
    if (!(fabs(fid) <= 1e-9 * tr))
        return cg_fail(CG_ERR_NUMERIC, "FID benchmark check: FID(s, s) = %g, expected ~0 (tr s = %g)", fid, tr);
    double want = 0.0;
    memset(diag1, 0, (size_t)d * d * sizeof(double));
    memset(diag2, 0, (size_t)d * d * sizeof(double));
    for (int i = 0; i < d; i++) {
        double a = 0.5 + (double)i / d, b = 2.0 - (double)i / d, dm = mu1[i] - mu2[i];
        diag1[(size_t)i * d + i] = a;
        diag2[(size_t)i * d + i] = b;
        want += dm * dm + (sqrt(a) - sqrt(b)) * (sqrt(a) - sqrt(b));
    }
    CG_TRY(cg_fid(d, mu1, diag1, mu2, diag2, 0.0, &fid));
    if (!(fabs(fid - want) <= 1e-9 * want))
        return cg_fail(CG_ERR_NUMERIC, "FID benchmark check: diagonal case gives %.17g, expected %.17g", fid,
                       want);
    return CG_OK;
}

cg_status cg_fid_bench(int d, int reps, double *best_ms) {
    if (d <= 0 || reps <= 0 || !best_ms)
        return cg_fail(CG_ERR_INVALID_ARG, "FID benchmark: d = %d and reps = %d must be positive", d, reps);
    const size_t dd = (size_t)d * d;
    double *mu = malloc(2 * (size_t)d * sizeof(double));
    double *s = malloc(4 * dd * sizeof(double));
    if (!mu || !s) {
        free(mu);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "FID benchmark: out of memory for d = %d", d);
    }
    cg_status st = random_stats(d, 1, mu, s);
    if (st == CG_OK) st = random_stats(d, 2, mu + d, s + dd);
    if (st == CG_OK) st = bench_check(d, mu, s, mu + d, s + 2 * dd, s + 3 * dd);
    double best = INFINITY, fid = 0.0;
    for (int r = 0; r < reps && st == CG_OK; r++) {
        double t0 = (1e3 * cg_now_s());
        st = cg_fid(d, mu, s, mu + d, s + dd, 0.0, &fid);
        double t = (1e3 * cg_now_s()) - t0;
        if (t < best) best = t;
    }
    free(mu);
    free(s);
    if (st != CG_OK) return st;
    *best_ms = best;
    return CG_OK;
}
