// inception_score.c — Inception Score from logits, as torch-fidelity's isc_features_to_metric:
// shuffle rows, softmax and log-softmax in float64, per split exp(mean KL(p(y|x) || p(y))), then
// the mean and population std of the split scores. Softmax rows are recomputed in the second pass
// instead of stored, so memory stays O(classes).
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

cg_is_options cg_is_defaults(void) {
    cg_is_options o = {.splits = 10, .shuffle = 1, .seed = 2020, .perm = NULL};
    return o;
}

// logp = log_softmax(x), p = softmax(x), as torch: x - max - log Σ exp(x - max).
static void softmax_row(const float *x, int c, double *p, double *logp) {
    double m = -INFINITY;
    for (int j = 0; j < c; j++)
        if ((double)x[j] > m) m = x[j];
    double s = 0.0;
    for (int j = 0; j < c; j++) {
        p[j] = exp((double)x[j] - m);
        s += p[j];
    }
    double ls = log(s);
    for (int j = 0; j < c; j++) {
        p[j] /= s;
        logp[j] = (double)x[j] - m - ls;
    }
}

static cg_status check_row(const float *x, int c, int64_t row) {
    for (int j = 0; j < c; j++)
        if (!isfinite(x[j]))
            return cg_fail(CG_ERR_NUMERIC, "Inception Score: logit %d of sample %lld is %g", j, (long long)row,
                           (double)x[j]);
    return CG_OK;
}

// exp(mean KL) of rows order[lo..hi); q, p, logp have c entries.
static cg_status split_score(const float *logits, int c, const int64_t *order, int64_t lo, int64_t hi,
                             double *q, double *p, double *logp, double *out) {
    for (int j = 0; j < c; j++) q[j] = 0.0;
    for (int64_t k = lo; k < hi; k++) {
        const float *x = logits + (size_t)order[k] * c;
        CG_TRY(check_row(x, c, order[k]));
        softmax_row(x, c, p, logp);
        for (int j = 0; j < c; j++) q[j] += p[j];
    }
    for (int j = 0; j < c; j++) q[j] = log(q[j] / (double)(hi - lo));
    double kl_sum = 0.0;
    for (int64_t k = lo; k < hi; k++) {
        softmax_row(logits + (size_t)order[k] * c, c, p, logp);
        double kl = 0.0;
        for (int j = 0; j < c; j++)
            if (p[j] > 0.0) kl += p[j] * (logp[j] - q[j]); // p = 0 contributes its limit 0, not 0 * -inf
        kl_sum += kl;
    }
    *out = exp(kl_sum / (double)(hi - lo));
    return CG_OK;
}

static cg_status check_perm(const int64_t *perm, int64_t n, int64_t *order) {
    char *seen = calloc((size_t)n, 1);
    if (!seen) return cg_fail(CG_ERR_NOMEM, "Inception Score: out of memory");
    for (int64_t k = 0; k < n; k++) {
        if (perm[k] < 0 || perm[k] >= n || seen[perm[k]]) {
            free(seen);
            return cg_fail(CG_ERR_INVALID_ARG, "Inception Score: perm[%lld] = %lld is not a permutation of 0..%lld",
                           (long long)k, (long long)perm[k], (long long)(n - 1));
        }
        seen[perm[k]] = 1;
        order[k] = perm[k];
    }
    free(seen);
    return CG_OK;
}

cg_status cg_inception_score(const float *logits, int64_t n, int classes, const cg_is_options *opt,
                             cg_score *out) {
    cg_is_options o = opt ? *opt : cg_is_defaults();
    if (!logits || !out) return cg_fail(CG_ERR_INVALID_ARG, "Inception Score: NULL argument");
    if (classes <= 0 || o.splits <= 0 || n < o.splits)
        return cg_fail(CG_ERR_INVALID_ARG, "Inception Score: need classes > 0 and at least %d samples (one per "
                       "split), have %lld samples of %d classes", o.splits, (long long)n, classes);
    int64_t *order = malloc((size_t)n * sizeof(int64_t));
    double *buf = malloc(3 * (size_t)classes * sizeof(double));
    double *scores = malloc((size_t)o.splits * sizeof(double));
    cg_status st = CG_OK;
    if (!order || !buf || !scores) st = cg_fail(CG_ERR_NOMEM, "Inception Score: out of memory");
    if (st == CG_OK) {
        if (o.perm) {
            st = check_perm(o.perm, n, order);
        } else if (o.shuffle) {
            cg_np_random r;
            cg_np_random_seed(&r, o.seed);
            cg_np_random_permutation(&r, n, order);
        } else {
            for (int64_t k = 0; k < n; k++) order[k] = k;
        }
    }
    for (int i = 0; i < o.splits && st == CG_OK; i++)
        st = split_score(logits, classes, order, i * n / o.splits, (i + 1) * n / o.splits, buf, buf + classes,
                         buf + 2 * classes, &scores[i]);
    if (st == CG_OK) {
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < o.splits; i++) mean += scores[i];
        mean /= o.splits;
        for (int i = 0; i < o.splits; i++) var += (scores[i] - mean) * (scores[i] - mean);
        out->mean = mean;
        out->std = sqrt(var / o.splits);
    }
    free(order);
    free(buf);
    free(scores);
    return st;
}
