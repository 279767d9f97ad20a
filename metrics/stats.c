// stats.c — mean and covariance (N - 1) of features in float64, accumulated batch by batch.
// Rows are shifted by the mean of the first batch before their sums and outer products (dsyrk) are
// accumulated, so sigma = (S - n m mᵀ) / (n - 1) does not lose digits when the mean is large
// against the spread.
#include "metrics.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_ROWS 256

struct cg_stats_acc {
    int d;
    int64_t n;
    int have_shift;
    double *shift; // [d]
    double *sum;   // [d], of shifted rows
    double *outer; // [d, d], upper triangle, of shifted rows
    double *chunk; // [CHUNK_ROWS, d] scratch
};

void cg_stats_free(cg_stats *s) {
    if (!s) return;
    free(s->mu);
    free(s->sigma);
    memset(s, 0, sizeof *s);
}

void cg_stats_acc_free(cg_stats_acc *a) {
    if (!a) return;
    free(a->shift);
    free(a->sum);
    free(a->outer);
    free(a->chunk);
    free(a);
}

cg_status cg_stats_acc_create(int d, cg_stats_acc **out) {
    if (!out) return cg_fail(CG_ERR_INVALID_ARG, "cg_stats_acc_create: out is NULL");
    *out = NULL;
    if (d <= 0) return cg_fail(CG_ERR_INVALID_ARG, "statistics: feature size %d must be positive", d);
    cg_stats_acc *a = calloc(1, sizeof *a);
    if (a) {
        a->d = d;
        a->shift = calloc((size_t)d, sizeof(double));
        a->sum = calloc((size_t)d, sizeof(double));
        a->outer = calloc((size_t)d * d, sizeof(double));
        a->chunk = malloc((size_t)CHUNK_ROWS * d * sizeof(double));
    }
    if (!a || !a->shift || !a->sum || !a->outer || !a->chunk) {
        cg_stats_acc_free(a);
        return cg_fail(CG_ERR_NOMEM, "statistics: out of memory for d = %d", d);
    }
    *out = a;
    return CG_OK;
}

int64_t cg_stats_acc_count(const cg_stats_acc *a) { return a ? a->n : 0; }

// x holds n rows as float (f64 == 0) or double; returns row r, column j as double.
static double value_at(const void *x, int f64, int d, int64_t r, int j) {
    size_t i = (size_t)r * d + j;
    return f64 ? ((const double *)x)[i] : (double)((const float *)x)[i];
}

static cg_status add_rows(cg_stats_acc *a, const void *x, int f64, int64_t n) {
    if (!a || (!x && n > 0)) return cg_fail(CG_ERR_INVALID_ARG, "statistics: NULL accumulator or rows");
    if (n < 0) return cg_fail(CG_ERR_INVALID_ARG, "statistics: negative row count %lld", (long long)n);
    if (n == 0) return CG_OK;
    const int d = a->d;
    for (int64_t r = 0; r < n; r++) // checked first, so a failed call leaves the accumulator as it was
        for (int j = 0; j < d; j++)
            if (!isfinite(value_at(x, f64, d, r, j)))
                return cg_fail(CG_ERR_NUMERIC, "statistics: feature %d of sample %lld is %g", j,
                               (long long)(a->n + r), value_at(x, f64, d, r, j));
    if (!a->have_shift) {
        for (int64_t r = 0; r < n; r++)
            for (int j = 0; j < d; j++) a->shift[j] += value_at(x, f64, d, r, j);
        for (int j = 0; j < d; j++) a->shift[j] /= (double)n;
        a->have_shift = 1;
    }
    for (int64_t r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
        int rows = (int)(n - r0 < CHUNK_ROWS ? n - r0 : CHUNK_ROWS);
        for (int r = 0; r < rows; r++) {
            double *dst = a->chunk + (size_t)r * d;
            for (int j = 0; j < d; j++) {
                dst[j] = value_at(x, f64, d, r0 + r, j) - a->shift[j];
                a->sum[j] += dst[j];
            }
        }
        // outer += chunkᵀ chunk (upper triangle)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0, a->chunk, d, 1.0, a->outer, d);
    }
    a->n += n;
    return CG_OK;
}

cg_status cg_stats_acc_add_f32(cg_stats_acc *a, const float *x, int64_t n) { return add_rows(a, x, 0, n); }
cg_status cg_stats_acc_add_f64(cg_stats_acc *a, const double *x, int64_t n) { return add_rows(a, x, 1, n); }

cg_status cg_stats_acc_finish(const cg_stats_acc *a, cg_stats *out) {
    if (!a || !out) return cg_fail(CG_ERR_INVALID_ARG, "cg_stats_acc_finish: NULL argument");
    memset(out, 0, sizeof *out);
    if (a->n < 2)
        return cg_fail(CG_ERR_INVALID_ARG, "statistics: need at least 2 samples for a covariance, have %lld",
                       (long long)a->n);
    const int d = a->d;
    const double n = (double)a->n;
    double *mu = malloc((size_t)d * sizeof(double));
    double *sigma = malloc((size_t)d * d * sizeof(double));
    double *m = malloc((size_t)d * sizeof(double));
    if (!mu || !sigma || !m) {
        free(mu);
        free(sigma);
        free(m);
        return cg_fail(CG_ERR_NOMEM, "statistics: out of memory for d = %d", d);
    }
    for (int j = 0; j < d; j++) {
        m[j] = a->sum[j] / n;
        mu[j] = a->shift[j] + m[j];
    }
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double v = (a->outer[(size_t)i * d + j] - n * m[i] * m[j]) / (n - 1.0);
            sigma[(size_t)i * d + j] = v;
            sigma[(size_t)j * d + i] = v;
        }
    free(m);
    out->d = d;
    out->n = a->n;
    out->mu = mu;
    out->sigma = sigma;
    return CG_OK;
}

cg_status cg_stats_compute_f32(const float *x, int64_t n, int d, cg_stats *out) {
    if (out) memset(out, 0, sizeof *out);
    cg_stats_acc *a = NULL;
    CG_TRY(cg_stats_acc_create(d, &a));
    cg_status st = cg_stats_acc_add_f32(a, x, n);
    if (st == CG_OK) st = cg_stats_acc_finish(a, out);
    cg_stats_acc_free(a);
    return st;
}
