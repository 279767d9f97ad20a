// registry.c — the list of benchmark suites, and the timing loop they share. A suite whose feature
// has not landed reports why from available() and is listed as skipped by `clgan bench`, never
// left out silently.
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const bench_suite bench_suite_landmarks; // suite_landmarks.c (issue 15)
static const bench_suite *const suites[] = {&bench_suite_gemm, &bench_suite_conv, &bench_suite_train,
                                            &bench_suite_inception, &bench_suite_preprocess, &bench_suite_upscale,
                                            &bench_suite_landmarks};

const bench_suite *const *bench_suites(int *count) {
    *count = (int)(sizeof suites / sizeof suites[0]);
    return suites;
}

int bench_case_selected(const bench_options *opt, const char *name) {
    if (!opt->cases || !*opt->cases) return 1;
    size_t first = strcspn(name, " ");
    for (const char *p = opt->cases; *p;) {
        size_t len = strcspn(p, ",");
        if ((len == strlen(name) && !strncmp(p, name, len)) || (len == first && !strncmp(p, name, len))) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

const bench_suite *bench_suite_find(const char *name) {
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (!strcmp(suites[i]->name, name)) return suites[i];
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Several calls per rep for short cases: one call of a millisecond swings with thread wake-ups and
// launch latency, so its median over a few reps did too (a thin GEMM moved 0.56-1.28x OpenBLAS
// between runs of one build).
#define BENCH_MAX_CALLS 1000

cg_status bench_time(bench_fn fn, void *ctx, int warmup, int reps, double min_rep_s, double *median, double *min,
                     double *max) {
    if (reps < 1) return cg_fail(CG_ERR_INVALID_ARG, "bench_time: reps must be at least 1");
    int calls = 1;
    double t0;
    if (min_rep_s > 0) {
        t0 = cg_now_s();
        CG_TRY(fn(ctx));
        double once = cg_now_s() - t0;
        calls = once >= min_rep_s                    ? 1
                : once * BENCH_MAX_CALLS <= min_rep_s ? BENCH_MAX_CALLS
                                                      : (int)(min_rep_s / once) + 1;
    }
    for (int i = 0; i < warmup; i++) CG_TRY(fn(ctx));
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < reps; i++) {
        cg_status st = CG_OK;
        t0 = cg_now_s();
        for (int j = 0; j < calls && st == CG_OK; j++) st = fn(ctx);
        t[i] = (cg_now_s() - t0) / calls;
        if (st != CG_OK) {
            free(t);
            return st;
        }
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    // Even counts take the mean of the two middle runs.
    *median = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    *min = t[0];
    *max = t[reps - 1];
    free(t);
    return CG_OK;
}
