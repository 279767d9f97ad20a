// registry.c — the list of benchmark suites, and the timing loop they share. A suite whose feature
// has not landed reports why from available() and is listed as skipped by `clgan bench`, never
// left out silently.
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

// Placeholders until the parts they measure exist; each names the API it waits for.
static int not_built(char *reason, size_t len, const char *what) {
    snprintf(reason, len, "not built yet (%s)", what);
    return 0;
}

static int train_available(char *reason, size_t len) {
    return not_built(reason, len, "train/: the DCGAN trainer's bench entry point has not landed");
}
static int inception_available(char *reason, size_t len) {
    return not_built(reason, len, "metrics/: the Inception-v3 feature bench entry point has not landed");
}
static int preprocess_available(char *reason, size_t len) {
    return not_built(reason, len, "preprocess/: cg_preprocess_bench is not wired into clgan bench yet");
}

static cg_status run_unavailable(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    return cg_fail(CG_ERR_NOT_FOUND, "this suite is not built yet");
}

static const bench_suite suite_train = {
    "train", "DCGAN 64x64 training iterations (G and D, batch 64, Adam), images/s", train_available, run_unavailable};
static const bench_suite suite_inception = {
    "inception", "Inception-v3 (FID variant) feature extraction, images/s", inception_available, run_unavailable};
static const bench_suite suite_preprocess = {
    "preprocess", "CelebA preprocessing (decode, filter, crop, resize), images/s", preprocess_available,
    run_unavailable};

static const bench_suite *const suites[] = {&bench_suite_gemm, &bench_suite_conv, &suite_train, &suite_inception,
                                            &suite_preprocess};

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

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

cg_status bench_time(bench_fn fn, void *ctx, int warmup, int reps, double *median, double *min, double *max) {
    if (reps < 1) return cg_fail(CG_ERR_INVALID_ARG, "bench_time: reps must be at least 1");
    for (int i = 0; i < warmup; i++) CG_TRY(fn(ctx));
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        cg_status st = fn(ctx);
        t[i] = bench_now() - t0;
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
