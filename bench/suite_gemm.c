// suite_gemm.c — the gemm suite: every shape on the device through each requested GEMM path, and
// OpenBLAS SGEMM on the host on the same operands in the same run; each result is checked first.
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_SAMPLES 256

typedef struct {
    const bench_gemm_shape *s;
    const float *a, *b;
    float *c;
} blas_job;

static cg_status blas_run(void *ctx) {
    blas_job *j = ctx;
    bench_blas_sgemm(j->s, j->a, j->b, j->c);
    return CG_OK;
}

static cg_status device_run(void *ctx) { return bench_gemm_case_run(ctx); }

// OpenBLAS parks its threads in a spin loop for a while after a call, and PoCL's workers would
// compete with them: let the other side go quiet before timing.
static void settle(void) {
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

// Checks and times OpenBLAS on the case's operands; fills the reference fields of row (a template).
static cg_status time_blas(const bench_gemm_shape *s, bench_gemm_case *gc, const bench_options *opt, bench_row *row) {
    float *c = malloc(s->m * s->n * sizeof(float));
    if (!c) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    blas_job job = {s, bench_gemm_case_a(gc), bench_gemm_case_b(gc), c};
    blas_run(&job);
    double worst = 0;
    uint64_t x = 12345;
    for (int t = 0; t < CHECK_SAMPLES; t++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double e = bench_gemm_entry_err(s, job.a, job.b, c, s->n, (size_t)(x >> 33) % s->m, (size_t)(x >> 7) % s->n);
        if (e > worst) worst = e;
    }
    row->ref_err = worst;
    cg_status st = CG_OK;
    if (!(worst <= bench_gemm_tolerance(s->k)))
        st = cg_fail(CG_ERR_NUMERIC, "OpenBLAS result is wrong: worst relative error %.3g", worst);
    if (st == CG_OK)
        st = bench_time(blas_run, &job, opt->warmup, opt->reps, BENCH_MIN_REP_S, &row->ref_median_s, &row->ref_min_s,
                        &row->ref_max_s);
    if (st == CG_OK) snprintf(row->ref_name, sizeof row->ref_name, "openblas");
    free(c);
    return st;
}

static void fail_row(bench_row *row, const char *what) {
    snprintf(row->status, sizeof row->status, "failed: %s", what);
    row->median_s = row->min_s = row->max_s = 0;
}

// --profile: opt->reps more products on the path that was timed, under a kernel profile (OpenCL
// event times per kernel: packing, the product, CLBlast's), added to the report as "<case> <impl>".
static cg_status profile_device(cg_runtime *rt, bench_gemm_case *gc, const bench_options *opt, const bench_row *row,
                                bench_report *rep) {
    int reps = opt->reps < 1 ? 1 : opt->reps;
    CG_TRY(cg_profile_begin(rt));
    cg_status run = CG_OK;
    for (int i = 0; i < reps && run == CG_OK; i++) run = bench_gemm_case_run(gc);
    cg_kernel_profile prof;
    cg_status st = cg_profile_end(rt, &prof);
    prof.iterations = reps;
    if (st == CG_OK) st = run;
    char name[sizeof row->name + sizeof row->impl + 2];
    snprintf(name, sizeof name, "%s %s", row->name, row->impl);
    if (st == CG_OK) st = bench_report_add_profile(rep, "gemm", name, &prof);
    cg_kernel_profile_free(&prof);
    return st;
}

// One device path on an existing case: pick, check, time (and profile with --profile).
static void time_device(cg_runtime *rt, bench_gemm_case *gc, const bench_gemm_shape *s, cg_gemm_impl impl,
                        const bench_options *opt, bench_row *row, bench_report *rep) {
    cg_gemm_force(rt, impl);
    cg_gemm_impl ran = cg_gemm_pick(rt, s->m, s->n, s->k);
    snprintf(row->impl, sizeof row->impl, "%s%s", impl == CG_GEMM_AUTO ? "auto:" : "", cg_gemm_impl_name(ran));
    // The first product builds the kernels; it is the one checked, never timed.
    cg_status st = bench_gemm_case_run(gc);
    if (st == CG_OK) st = bench_gemm_case_check(gc, CHECK_SAMPLES, &row->check_err);
    row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
    if (st == CG_OK)
        st = bench_time(device_run, gc, opt->warmup, opt->reps, BENCH_MIN_REP_S, &row->median_s, &row->min_s,
                        &row->max_s);
    if (st == CG_OK && opt->profile) st = profile_device(rt, gc, opt, row, rep);
    if (st != CG_OK) fail_row(row, cg_last_error());
    else snprintf(row->status, sizeof row->status, "ok");
    cg_gemm_force(rt, CG_GEMM_AUTO);
}

static cg_status run_gemm(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    int count = 0;
    const bench_gemm_shape *shapes = bench_gemm_shapes(opt->quick, &count);
    const cg_device_info *dev = cg_runtime_device(rt);
    for (int i = 0; i < count; i++) {
        const bench_gemm_shape *s = &shapes[i];
        if (!bench_case_selected(opt, s->name)) continue;
        bench_row tmpl;
        memset(&tmpl, 0, sizeof tmpl);
        snprintf(tmpl.suite, sizeof tmpl.suite, "gemm");
        snprintf(tmpl.name, sizeof tmpl.name, "%s", s->name);
        snprintf(tmpl.shape, sizeof tmpl.shape, "m=%zu n=%zu k=%zu %c%c", s->m, s->n, s->k, s->ta ? 't' : 'n',
                 s->tb ? 't' : 'n');
        snprintf(tmpl.device, sizeof tmpl.device, "%s", dev->name);
        tmpl.device_index = device_index;
        tmpl.reps = opt->reps;
        tmpl.work = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        snprintf(tmpl.unit, sizeof tmpl.unit, "GFLOP/s");

        bench_gemm_case *gc = NULL;
        cg_status st = bench_gemm_case_create(rt, s, 1000 + (uint64_t)i, &gc);
        if (st == CG_ERR_NOMEM) return st;
        char blas_failure[200] = "";
        if (st == CG_OK && time_blas(s, gc, opt, &tmpl) != CG_OK)
            snprintf(blas_failure, sizeof blas_failure, "%s", cg_last_error());
        settle();
        for (int j = 0; j < opt->n_impls; j++) {
            bench_row *row = bench_report_add(rep);
            if (!row) {
                bench_gemm_case_free(gc);
                return cg_fail(CG_ERR_NOMEM, "out of host memory");
            }
            *row = tmpl;
            if (st != CG_OK) fail_row(row, cg_last_error());
            else time_device(rt, gc, s, opt->impls[j], opt, row, rep);
            if (row->status[0] == 'o' && blas_failure[0]) fail_row(row, blas_failure);
            if (opt->log)
                fprintf(opt->log, "gemm %-8s %-28s %-12s %8.1f GFLOP/s  openblas %8.1f  ratio %.2f  %s\n", s->name,
                        row->shape, row->impl, bench_row_rate(row), bench_row_ref_rate(row), bench_row_ratio(row),
                        row->status);
        }
        bench_gemm_case_free(gc);
        settle();
    }
    return CG_OK;
}

static int gemm_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_gemm = {
    "gemm",
    "SGEMM GFLOP/s of cg_gemm (1024^3, 2048^3, each DCGAN 64x64 layer's forward and backward products) "
    "against OpenBLAS on the host, same operands, same run",
    gemm_available,
    run_gemm,
};
