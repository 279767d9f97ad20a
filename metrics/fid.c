// fid.c — Fréchet Inception Distance from two (mu, sigma) pairs, with pytorch-fid's conventions,
// through symmetric eigendecompositions only (LAPACKE_dsyevd): with s1 = V diag(e) Vᵀ,
// sqrt(s1) s2 sqrt(s1) = V diag(√e) (Vᵀ s2 V) diag(√e) Vᵀ has the eigenvalues of
// A = diag(√e) (Vᵀ s2 V) diag(√e), and tr sqrtm(s1 s2) = Σ √λ(A).
#include "metrics.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// pytorch-fid rejects an imaginary diagonal above 1e-3, i.e. roughly √(-λ) > 1e-3.
#define NEGATIVE_LIMIT 1e-6

static int all_finite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static double largest(const double *w, int d) { return d > 0 && w[d - 1] > 0 ? w[d - 1] : 0.0; }

// Ascending eigenvalues w of the symmetric a (upper triangle read); eigenvectors in a's columns
// when vectors is set.
static cg_status eigen(double *a, int d, int vectors, double *w, const char *what) {
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', d, a, d, w);
    if (info != 0)
        return cg_fail(info < 0 ? CG_ERR_INVALID_ARG : CG_ERR_NUMERIC,
                       "FID: eigendecomposition of %s failed (dsyevd info %d)", what, (int)info);
    return CG_OK;
}

static cg_status check_negative(const double *w, int d, const char *what) {
    double limit = NEGATIVE_LIMIT;
    if (1e-9 * largest(w, d) > limit) limit = 1e-9 * largest(w, d);
    if (w[0] < -limit)
        return cg_fail(CG_ERR_NUMERIC,
                       "FID: %s has eigenvalue %g < 0: the covariances are not positive semi-definite "
                       "(pytorch-fid would fail with an imaginary component)", what, w[0]);
    return CG_OK;
}

// Square roots of eigenvalues, with those within rounding of zero taken as zero.
static void sqrt_eigen(double *w, int d) {
    double tol = (double)d * DBL_EPSILON * largest(w, d);
    for (int i = 0; i < d; i++) w[i] = w[i] > tol ? sqrt(w[i]) : 0.0;
}

// tr sqrtm((s1 + eps I)(s2 + eps I)); work holds 3 d² doubles, w d doubles.
static cg_status trace_sqrt_product(int d, const double *s1, const double *s2, double eps, double *work,
                                    double *w, double *out) {
    const size_t dd = (size_t)d * d;
    double *v = work, *t = work + dd, *a = work + 2 * dd;
    memcpy(v, s1, dd * sizeof(double));
    memcpy(a, s2, dd * sizeof(double));
    for (int i = 0; i < d; i++) {
        v[(size_t)i * d + i] += eps;
        a[(size_t)i * d + i] += eps;
    }
    CG_TRY(eigen(v, d, 1, w, "sigma1"));
    CG_TRY(check_negative(w, d, "sigma1"));
    sqrt_eigen(w, d);
    // t = s2 V, then a = Vᵀ t
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, a, d, v, d, 0.0, t, d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, v, d, t, d, 0.0, a, d);
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) a[(size_t)i * d + j] *= w[i] * w[j];
    CG_TRY(eigen(a, d, 0, w, "sqrt(sigma1) sigma2 sqrt(sigma1)"));
    CG_TRY(check_negative(w, d, "sqrt(sigma1) sigma2 sqrt(sigma1)"));
    sqrt_eigen(w, d);
    double tr = 0.0;
    for (int i = 0; i < d; i++) tr += w[i];
    *out = tr;
    return CG_OK;
}

cg_status cg_fid(int d, const double *mu1, const double *sigma1, const double *mu2, const double *sigma2,
                 double eps, double *out) {
    if (!mu1 || !sigma1 || !mu2 || !sigma2 || !out) return cg_fail(CG_ERR_INVALID_ARG, "FID: NULL argument");
    if (d <= 0) return cg_fail(CG_ERR_INVALID_ARG, "FID: dimension %d must be positive", d);
    if (!(eps >= 0.0) || !isfinite(eps)) return cg_fail(CG_ERR_INVALID_ARG, "FID: eps %g must be >= 0", eps);
    const size_t dd = (size_t)d * d;
    if (!all_finite(mu1, (size_t)d) || !all_finite(mu2, (size_t)d) || !all_finite(sigma1, dd) ||
        !all_finite(sigma2, dd))
        return cg_fail(CG_ERR_NUMERIC, "FID: the statistics contain NaN or Inf");
    double *work = malloc(3 * dd * sizeof(double));
    double *w = malloc((size_t)d * sizeof(double));
    if (!work || !w) {
        free(work);
        free(w);
        return cg_fail(CG_ERR_NOMEM, "FID: out of memory for d = %d", d);
    }
    double tr_covmean = 0.0;
    cg_status st = trace_sqrt_product(d, sigma1, sigma2, eps, work, w, &tr_covmean);
    free(work);
    free(w);
    if (st != CG_OK) return st;
    double dist = 0.0, tr1 = 0.0, tr2 = 0.0;
    for (int i = 0; i < d; i++) {
        double diff = mu1[i] - mu2[i];
        dist += diff * diff;
        tr1 += sigma1[(size_t)i * d + i];
        tr2 += sigma2[(size_t)i * d + i];
    }
    *out = dist + tr1 + tr2 - 2.0 * tr_covmean;
    return CG_OK;
}

cg_status cg_fid_stats(const cg_stats *a, const cg_stats *b, double *out) {
    if (!a || !b) return cg_fail(CG_ERR_INVALID_ARG, "FID: NULL statistics");
    if (a->d != b->d)
        return cg_fail(CG_ERR_INVALID_ARG, "FID: statistics of different sizes (%d and %d)", a->d, b->d);
    return cg_fid(a->d, a->mu, a->sigma, b->mu, b->sigma, 0.0, out);
}
