// cmd_gemm.c — `clgan gemm`: one SGEMM on the selected device, checked against a host reference, timed.
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Checks `samples` entries of C against double-precision dot products; returns the worst relative error.
static double check_entries(const float *a, const float *b, const float *c, size_t m, size_t n, size_t k,
                            size_t samples) {
    double worst = 0;
    uint64_t s = 12345;
    for (size_t t = 0; t < samples; t++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t i = (s >> 33) % m, j = (s >> 13) % n;
        double acc = 0, mag = 0;
        for (size_t p = 0; p < k; p++) {
            acc += (double)a[i * k + p] * b[p * n + j];
            mag += fabs((double)a[i * k + p] * b[p * n + j]);
        }
        double err = fabs(acc - c[i * n + j]) / (mag > 0 ? mag : 1);
        if (err > worst) worst = err;
    }
    return worst;
}

static int run_gemm(cg_runtime *rt, int m, int n, int k, int reps) {
    size_t sa = (size_t)m * k, sb = (size_t)k * n, sc = (size_t)m * n;
    float *a = malloc(sa * 4), *b = malloc(sb * 4), *c = malloc(sc * 4);
    double *times = calloc((size_t)reps, sizeof *times);
    cl_mem da = NULL, db = NULL, dc = NULL;
    cg_rng r = {7, 0};
    cg_status st = CG_OK;
    if (!a || !b || !c || !times)
        st = cg_fail(CG_ERR_NOMEM, "out of host memory for the %dx%dx%d operands (%.1f MiB)", m, n, k,
                     (double)(sa + sb + sc) * 4.0 / (1 << 20));
    if (st == CG_OK) {
        cg_rng_uniform_host(r, 0, a, sa);
        cg_rng_uniform_host(r, sa, b, sb);
    }
    if (st == CG_OK) st = cg_buffer_alloc(rt, sa, &da);
    if (st == CG_OK) st = cg_buffer_alloc(rt, sb, &db);
    if (st == CG_OK) st = cg_buffer_alloc(rt, sc, &dc);
    if (st == CG_OK) st = cg_tensor_write(rt, cg_view(da, 0, 1, 1, 1, (int)sa), a);
    if (st == CG_OK) st = cg_tensor_write(rt, cg_view(db, 0, 1, 1, 1, (int)sb), b);
    cg_gemm_args g = {.m = (size_t)m, .n = (size_t)n, .k = (size_t)k, .alpha = 1.0f, .beta = 0.0f, .a = da,
                      .lda = (size_t)k, .b = db, .ldb = (size_t)n, .c = dc, .ldc = (size_t)n};
    // The first call compiles CLBlast's kernels for this device; it is checked, not timed.
    if (st == CG_OK) st = cg_gemm(rt, &g);
    if (st == CG_OK) st = cg_tensor_read(rt, cg_view(dc, 0, 1, 1, 1, (int)sc), c);
    double err = st == CG_OK ? check_entries(a, b, c, (size_t)m, (size_t)n, (size_t)k, 2000) : 0;
    if (st == CG_OK && !(err < 1e-5)) {
        st = cg_fail(CG_ERR_NUMERIC, "GEMM result is wrong: worst relative error %.3g over 2000 checked entries",
                     err);
    }
    for (int i = 0; st == CG_OK && i < reps; i++) {
        double t0 = cg_now_s();
        st = cg_gemm(rt, &g);
        if (st == CG_OK) st = cg_runtime_finish(rt);
        times[i] = cg_now_s() - t0;
    }
    if (st == CG_OK) {
        qsort(times, (size_t)reps, sizeof *times, cmp_double);
        double flops = 2.0 * m * n * k, med = times[reps / 2];
        printf("sgemm %dx%dx%d: checked (worst relative error %.2g), median %.2f ms over %d runs, %.1f GFLOP/s "
               "(min %.2f ms, max %.2f ms)\n",
               m, n, k, err, med * 1e3, reps, flops / med * 1e-9, times[0] * 1e3, times[reps - 1] * 1e3);
    }
    cg_buffer_release(da);
    cg_buffer_release(db);
    cg_buffer_release(dc);
    free(a);
    free(b);
    free(c);
    free(times);
    return cli_report("gemm", st);
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    int m = 512, n = 512, k = 512, reps = 5;
    const cli_opt opts[] = {
        {"m", OPT_INT, "M", "rows of A and C (default 512)", &m},
        {"n", OPT_INT, "N", "columns of B and C (default 512)", &n},
        {"k", OPT_INT, "K", "columns of A, rows of B (default 512)", &k},
        {"reps", OPT_INT, "R", "timed repetitions (default 5)", &reps},
        {0},
    };
    int rc = cli_parse(&cmd_gemm, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_gemm, opts, stdout);
        return EXIT_OK;
    }
    if (m < 1 || n < 1 || k < 1 || reps < 1 || m > 16384 || n > 16384 || k > 16384) {
        fprintf(stderr, "clgan gemm: sizes must be between 1 and 16384 and --reps at least 1\n");
        return EXIT_USAGE;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    cg_runtime *rt = NULL;
    cg_status st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK) {
        rc = cli_print_config(cfg);
        if (rc == EXIT_OK) rc = run_gemm(rt, m, n, k, reps);
        cg_runtime_free(rt);
    } else {
        rc = cli_report("gemm", st);
    }
    cg_config_free(cfg);
    return rc;
}

const cli_command cmd_gemm = {
    "gemm",
    "run one SGEMM on the selected device, check it and time it",
    "[--m M] [--n N] [--k K] [--reps R]",
    "Multiplies two random matrices with CLBlast on the selected device, checks 2000 entries of the\n"
    "result against double-precision dot products on the host, then reports the median time and\n"
    "GFLOP/s of --reps runs. A quick smoke test of a device; `clgan bench` is the full suite.",
    run,
};
