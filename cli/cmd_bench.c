// cmd_bench.c — `clgan bench`: the benchmark suites on every selected device, checked then timed,
// reported as JSON, CSV and markdown in --out DIR and as a table on screen.
#include "bench.h"
#include "cli.h"
#include "dist.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PICKED 16

// Splits a comma-separated list in place into at most max items.
static int split(char *text, char **items, int max) {
    int n = 0;
    for (char *tok = strtok(text, ","); tok && n < max; tok = strtok(NULL, ",")) items[n++] = tok;
    return n;
}

static int parse_suites(const char *text, const bench_suite **picked, int *n) {
    int count = 0;
    const bench_suite *const *all = bench_suites(&count);
    *n = 0;
    if (!text || !strcmp(text, "all")) {
        for (int i = 0; i < count; i++) picked[(*n)++] = all[i];
        return 0;
    }
    char buf[256], *items[16];
    snprintf(buf, sizeof buf, "%s", text);
    int k = split(buf, items, 16);
    for (int i = 0; i < k; i++) {
        const bench_suite *s = bench_suite_find(items[i]);
        if (!s) {
            fprintf(stderr, "clgan bench: no suite named '%s'; suites:", items[i]);
            for (int j = 0; j < count; j++) fprintf(stderr, " %s", all[j]->name);
            fprintf(stderr, "\n");
            return EXIT_USAGE;
        }
        picked[(*n)++] = s;
    }
    return 0;
}

static int parse_impls(const char *text, bench_options *o) {
    o->n_impls = 0;
    if (!text || !strcmp(text, "auto")) {
        o->impls[o->n_impls++] = CG_GEMM_AUTO;
        return 0;
    }
    if (!strcmp(text, "all")) text = "auto,clblast,own";
    char buf[64], *items[3];
    snprintf(buf, sizeof buf, "%s", text);
    int k = split(buf, items, 3);
    for (int i = 0; i < k; i++) {
        if (!strcmp(items[i], "auto")) o->impls[o->n_impls++] = CG_GEMM_AUTO;
        else if (!strcmp(items[i], "clblast")) o->impls[o->n_impls++] = CG_GEMM_CLBLAST;
        else if (!strcmp(items[i], "own")) o->impls[o->n_impls++] = CG_GEMM_OWN;
        else {
            fprintf(stderr, "clgan bench: --impl takes auto, clblast, own or all, not '%s'\n", items[i]);
            return EXIT_USAGE;
        }
    }
    return 0;
}

// The devices of --devices (all, or a comma-separated list of --device selectors), in list order.
static cg_status pick_devices(const char *text, const cg_device_info *devs, int count, int *picked, int *n) {
    *n = 0;
    if (!strcmp(text, "all")) {
        for (int i = 0; i < count && *n < MAX_PICKED; i++) picked[(*n)++] = i;
        return CG_OK;
    }
    char buf[512], *items[MAX_PICKED];
    snprintf(buf, sizeof buf, "%s", text);
    int k = split(buf, items, MAX_PICKED);
    for (int i = 0; i < k; i++) {
        cg_device_selector sel;
        char storage[256];
        int idx = -1, dup = 0;
        CG_TRY(cg_selector_parse(items[i], &sel, storage, sizeof storage));
        cg_status st = cg_device_select(devs, count, &sel, &idx);
        if (st != CG_OK) return cg_fail_context(st, "--devices item '%s'", items[i]);
        for (int j = 0; j < *n; j++) dup |= picked[j] == idx;
        if (!dup) picked[(*n)++] = idx;
    }
    return CG_OK;
}

static void add_skipped(bench_report *rep, const bench_suite *s, const char *reason) {
    bench_row *row = bench_report_add(rep);
    if (!row) return;
    snprintf(row->suite, sizeof row->suite, "%s", s->name);
    snprintf(row->name, sizeof row->name, "-");
    snprintf(row->shape, sizeof row->shape, "-");
    snprintf(row->device, sizeof row->device, "-");
    row->device_index = -1;
    snprintf(row->status, sizeof row->status, "skipped: %s", reason);
}

// Runs the available suites on one device; the runtime is created and freed here, and the device
// line (as cli_open_runtime prints it) and its GEMM rule are printed.
static cg_status run_device(const cg_device_info *dev, const bench_suite **suites, int n_suites,
                            const bench_options *opt, bench_report *rep) {
    cg_runtime *rt = NULL;
    CG_TRY(cg_runtime_create(dev, NULL, &rt));
    bench_report_add_device(rep, rt);
    if (cg_dist_rank() == 0) { // under mpirun rank 0 speaks and writes for all
        fprintf(stderr, "device %d: %s (%s, %s)\n", dev->index, dev->name, dev->platform_name, dev->driver);
        fprintf(stderr, "  GEMM: %s\n", rep->devices[rep->n_devices - 1].gemm_rule);
    }
    cg_status st = CG_OK;
    for (int i = 0; i < n_suites && st == CG_OK; i++) {
        char reason[256];
        if (suites[i]->available(reason, sizeof reason)) st = suites[i]->run(rt, dev->index, opt, rep);
    }
    cg_runtime_free(rt);
    return st;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *devices = NULL, *suite_text = NULL, *out = "bench-results", *impl = NULL, *cases = NULL;
    int reps = 5, warmup = 1, quick = 0, profile = 0;
    const cli_opt opts[] = {
        {"devices", OPT_STRING, "all|LIST", "devices to run on: all, or selectors as for --device, comma-separated",
         &devices},
        {"suite", OPT_STRING, "LIST", "suites, comma-separated: gemm,conv,train,inception,preprocess (default all)",
         &suite_text},
        {"reps", OPT_INT, "N", "timed runs per case (default 5)", &reps},
        {"warmup", OPT_INT, "N", "untimed runs after the checked one (default 1)", &warmup},
        {"out", OPT_STRING, "DIR", "write bench.json, bench.csv, bench.md here (default bench-results)", &out},
        {"impl", OPT_STRING, "LIST", "GEMM paths to time: auto (default), clblast, own, or all", &impl},
        {"cases", OPT_STRING, "LIST", "only these cases, comma-separated (1024^3,D2 fwd; D2 = all of D2)", &cases},
        {"quick", OPT_FLAG, NULL, "small shapes only (smoke tests)", &quick},
        {"profile", OPT_FLAG, NULL,
         "also profile the gemm, train and inception cases per kernel and layer (OpenCL events)", &profile},
        {0},
    };
    int rc = cli_parse(&cmd_bench, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_bench, opts, stdout);
        return EXIT_OK;
    }
    bench_options o = {reps, warmup, quick, {CG_GEMM_AUTO}, 1, stderr, cases, profile};
    const bench_suite *suites[16];
    int n_suites = 0;
    if (reps < 1 || reps > 1000 || warmup < 0 || warmup > 100) {
        fprintf(stderr, "clgan bench: --reps must be 1..1000 and --warmup 0..100\n");
        return EXIT_USAGE;
    }
    if ((rc = parse_suites(suite_text, suites, &n_suites)) || (rc = parse_impls(impl, &o))) return rc;
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;

    cg_device_info *devs = NULL;
    int count = 0, picked[MAX_PICKED], n_picked = 0;
    cg_status st = cg_devices_list(&devs, &count);
    if (st == CG_OK && devices) st = pick_devices(devices, devs, count, picked, &n_picked);
    if (st == CG_OK && !devices) { // --device, CLGAN_DEVICE or [device], like every command
        st = cli_select_device(cfg, &common, devs, count, &picked[0]);
        n_picked = st == CG_OK;
    }
    if (st != CG_OK) {
        free(devs);
        cg_config_free(cfg);
        return cli_report("bench", st);
    }
    if (cli_check_unknown(cfg)) {
        free(devs);
        cg_config_free(cfg);
        return EXIT_USAGE;
    }

    bench_report rep;
    bench_report_init(&rep, argc, argv);
    rep.quick = quick;
    rep.reps = reps;
    for (int i = 0; i < n_suites; i++) {
        char reason[256];
        if (!suites[i]->available(reason, sizeof reason)) add_skipped(&rep, suites[i], reason);
    }
    for (int i = 0; st == CG_OK && i < n_picked; i++)
        st = run_device(&devs[picked[i]], suites, n_suites, &o, &rep);
    bench_report_finish(&rep);
    int failed = 0, ran = 0;
    for (int i = 0; i < rep.n_rows; i++) {
        failed += !strncmp(rep.rows[i].status, "failed", 6);
        ran += strncmp(rep.rows[i].status, "skipped", 7) != 0;
    }
    if (st == CG_OK && cases && !ran)
        st = cg_fail(CG_ERR_CONFIG, "--cases %s matches no case of the selected suites (names as in the table, "
                     "e.g. 1024^3 or D2 fwd)", cases);
    if (st == CG_OK && cg_dist_rank() == 0) st = bench_report_write(&rep, out);
    if (st == CG_OK && cg_dist_rank() == 0) {
        printf("\n");
        bench_report_print(&rep, stdout);
        if (rep.n_profiles) {
            printf("\n");
            bench_report_print_profiles(&rep, stdout);
        }
        printf("\nwritten: %s/bench.json, %s/bench.csv, %s/bench.md%s\n", out, out, out,
               rep.n_profiles ? ", profile.json, profile.md" : "");
    }
    bench_report_free(&rep);
    free(devs);
    cg_config_free(cfg);
    if (st == CG_OK && failed) {
        fprintf(stderr, "clgan bench: %d case(s) failed (see the status column)\n", failed);
        return EXIT_FAILURE_RUN;
    }
    return cli_report("bench", st);
}

const cli_command cmd_bench = {
    "bench",
    "benchmark suites on one or more devices, checked against references, with reports",
    "[--devices all|LIST] [--suite LIST] [--reps N] [--out DIR] [--impl LIST] [--cases LIST] [--quick] [--profile]",
    "Runs every selected suite on every selected device. Each case checks its result against a\n"
    "reference before timing it, then reports the median, min and max of --reps timed runs (after\n"
    "--warmup untimed ones) as GFLOP/s or images/s. GEMM rows also time OpenBLAS SGEMM on the host on\n"
    "the same operands in the same run and give the ratio. A suite whose feature is not built yet is\n"
    "listed as skipped with the reason. Results go to DIR/bench.json, bench.csv and bench.md (each\n"
    "written atomically, with host, load and device details) and to the screen.\n"
    "--profile: after timing, the gemm, train and inception cases run again under a kernel profile\n"
    "(OpenCL event times per layer and kernel), printed and written to DIR/profile.md and\n"
    "DIR/profile.json.\n"
    "Exit status 1 when a case fails its check or cannot run.",
    run,
};
