// cmd_tune.c — `clgan tune`: searches the GEMM parameters of the selected device, checks every
// candidate, stores the best in the cache directory (applied whenever a runtime is created).
#include "bench.h"
#include "cli.h"

#include <math.h>
#include <string.h>

static void print_tuning(const cg_gemm_tuning *t, FILE *out) {
    fprintf(out, "  own kernels: %s", t->own_enabled ? "on" : "off");
    if (t->own_enabled)
        fprintf(out, " for m*n*k >= %.0f (%.0f^3), work-group %dx%d, k block %d (0: whole k)", t->own_min_mnk,
                cbrt(t->own_min_mnk), t->own_lx, t->own_ly, t->own_kc);
    fprintf(out, "\n");
    for (int i = 0; i < t->n_params; i++) fprintf(out, "  %s = %zu\n", t->params[i].name, t->params[i].value);
    if (t->note[0]) fprintf(out, "  measured: %s\n", t->note);
}

static cg_status tune(cg_runtime *rt, int force, const bench_tune_options *o) {
    char path[1100];
    cg_gemm_tuning_path(rt, path, sizeof path);
    cg_gemm_tuning t;
    cg_status st = cg_gemm_tuning_load(path, &t);
    if (st == CG_OK && cg_gemm_tuning_matches(&t, cg_runtime_device(rt)) && !force) {
        printf("%s is already tuned (%s); --force retunes it\n", cg_runtime_device(rt)->name, path);
        print_tuning(&t, stdout);
        return CG_OK;
    }
    if (st != CG_OK && st != CG_ERR_NOT_FOUND) fprintf(stderr, "replacing %s: %s\n", path, cg_last_error());
    bench_tune_summary sum;
    CG_TRY(bench_tune(rt, o, &t, &sum));
    CG_TRY(cg_gemm_tuning_save(path, &t));
    CG_TRY(cg_gemm_tuning_set(rt, &t, path));
    printf("tuned %s: %d candidates checked and timed (%d rejected); stored in %s\n", cg_runtime_device(rt)->name,
           sum.candidates, sum.rejected, path);
    print_tuning(&t, stdout);
    return CG_OK;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    int force = 0, quick = 0, size = 0, reps = 3, verbose = 0;
    const cli_opt opts[] = {
        {"force", OPT_FLAG, NULL, "retune a device that already has a stored entry", &force},
        {"quick", OPT_FLAG, NULL, "a tiny search on small sizes (tests, smoke runs)", &quick},
        {"size", OPT_INT, "N", "square size the searches time (default 1024; 128 with --quick)", &size},
        {"reps", OPT_INT, "N", "timed runs per candidate (default 3)", &reps},
        {"verbose", OPT_FLAG, NULL, "one line per candidate and ladder step", &verbose},
        {0},
    };
    int rc = cli_parse(&cmd_tune, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_tune, opts, stdout);
        return EXIT_OK;
    }
    if (size == 0) size = quick ? 128 : 1024;
    if (size < 16 || size > 8192 || reps < 1 || reps > 100) {
        fprintf(stderr, "clgan tune: --size must be 16..8192 and --reps 1..100\n");
        return EXIT_USAGE;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    cg_runtime *rt = NULL;
    cg_status st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK) {
        bench_tune_options o = {quick, (size_t)size, reps, stderr, verbose ? stderr : NULL};
        st = cli_check_unknown(cfg) ? cg_fail(CG_ERR_CONFIG, "an unknown --set key (see above)") : tune(rt, force, &o);
        cg_runtime_free(rt);
    }
    cg_config_free(cfg);
    return cli_report("tune", st);
}

const cli_command cmd_tune = {
    "tune",
    "tune GEMM for the selected device (CLBlast parameters, own kernels) and store the result",
    "[--force] [--quick] [--size N] [--reps N] [--verbose]",
    "Searches CLBlast's Xgemm and XgemmDirect parameters (coordinate descent from a known-good seed),\n"
    "the size where CLBlast switches from its direct to its indirect kernel, the work-group of\n"
    "clgan's own GEMM kernels, and the size from which those beat CLBlast. Every candidate's result\n"
    "is checked against double-precision dot products before it is timed; wrong ones are rejected.\n"
    "The best is stored per device (name, driver, platform) in the cache directory and applied\n"
    "whenever a runtime is created on that device. A device with a stored entry is not retuned\n"
    "unless --force. On PoCL each CLBlast candidate recompiles CLBlast's GEMM program, so a full\n"
    "run takes minutes.",
    run,
};
