// cmd_demo.c — `clgan demo`: the whole pipeline, small, on the embedded default data: synthetic
// faces (cg_synth_write) -> packed dataset (the preprocess pipeline) -> DCGAN training with
// configs/demo.ini for a bounded time -> sample grid, loss plot, checkpoint; then scoring or a
// pointer to where the Inception weights come from.
#include "cli.h"
#include "preprocess.h"
#include "synth.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_train_with(cg_runtime *rt, cg_config *cfg, const char *resume, int print_config, char *ckpt_out,
                   size_t ckpt_len); // cmd_train.c

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cg_status prepare(cg_runtime *rt, cg_config *cfg, const cg_train_params *tp, const cg_model_config *mc) {
    long n, seed;
    const char *dir;
    CG_TRY(cg_cfg_int(cfg, "demo", "synth_n", 6000, 100, 999999, &n));
    CG_TRY(cg_cfg_int(cfg, "demo", "synth_seed", 1, 0, 2147483647L, &seed));
    CG_TRY(cg_cfg_str(cfg, "demo", "synth_dir", "out/demo/synth", NULL, &dir));
    cli_print_config(cfg);
    char marker[1100];
    snprintf(marker, sizeof marker, "%s/list_eval_partition.txt", dir);
    double t0 = now_s();
    if (access(marker, F_OK) == 0) {
        fprintf(stderr, "demo [1/3] synthetic faces: %s exists, reusing it\n", dir);
    } else {
        fprintf(stderr, "demo [1/3] synthetic faces: writing %ld into %s\n", n, dir);
        CG_TRY(cg_synth_write(dir, (int)n, (uint64_t)seed, 0, stderr));
        fprintf(stderr, "demo [1/3] done in %.1f s\n", now_s() - t0);
    }
    if (access(tp->dataset, F_OK) == 0) {
        fprintf(stderr, "demo [2/3] preprocess: %s exists, reusing it\n", tp->dataset);
        return CG_OK;
    }
    t0 = now_s();
    fprintf(stderr, "demo [2/3] preprocess: %s -> %s (%dx%d)\n", dir, tp->dataset, mc->image_size, mc->image_size);
    cg_pp_params p;
    cg_pp_params_default(&p);
    p.input = dir;
    p.output = tp->dataset;
    p.size = mc->image_size;
    p.reject_sheets = 0;
    cg_pp_result *r = NULL;
    cg_status st = cg_preprocess_run(rt, &p, stderr, &r);
    if (st == CG_OK)
        fprintf(stderr, "demo [2/3] done: %zu faces kept (frontal, no sunglasses) in %.1f s\n", r->written,
                now_s() - t0);
    cg_pp_result_free(r);
    return st;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const cli_opt opts[] = {{0}};
    int rc = cli_parse(&cmd_demo, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_demo, opts, stdout);
        return EXIT_OK;
    }
    if (!common.config_path) common.config_path = "configs/demo.ini";
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    double t0 = now_s();
    cg_model_config mc;
    cg_train_params tp;
    const char *weights;
    cg_runtime *rt = NULL;
    cg_status st = cg_model_config_read(cfg, &mc);
    if (st == CG_OK) st = cg_train_params_read(cfg, &mc, &tp);
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "weights", "", NULL, &weights);
    if (st == CG_OK) st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK) st = prepare(rt, cfg, &tp, &mc);
    if (st != CG_OK) {
        cg_runtime_free(rt);
        cg_config_free(cfg);
        return cli_report("demo", st);
    }
    fprintf(stderr, "demo [3/3] training %s %dx%d (at most %.0f s)\n", cg_model_type_name(mc.type), mc.image_size,
            mc.image_size, tp.max_seconds);
    char ckpt[1200] = "";
    rc = cli_train_with(rt, cfg, NULL, 0, ckpt, sizeof ckpt);
    if (rc == EXIT_OK) {
        printf("\ndemo finished in %.1f s\n  samples:    %s/samples.png\n  loss plot:  %s/loss.png\n"
               "  checkpoint: %s\n  log:        %s/log.csv\n",
               now_s() - t0, tp.out, tp.out, ckpt, tp.out);
        if (*weights)
            printf("  scoring:    [score] weights = %s is set, but scoring generated samples is not wired into the "
                   "demo yet; use `clgan sample --out DIR` and `clgan score`\n", weights);
        else
            printf("  scoring:    skipped: no Inception weights configured ([score] weights); docs/metrics.md "
                   "says how to get pt_inception-2015-12-05-6726825d.pth\n");
    }
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return rc;
}

const cli_command cmd_demo = {
    "demo",
    "the whole pipeline, small: synthetic faces -> dataset -> DCGAN -> samples, loss plot, checkpoint",
    "[--config configs/demo.ini] [--set train.max_seconds=300]",
    "Writes [demo] synth_n synthetic faces into [demo] synth_dir (reused when present), preprocesses them\n"
    "into [train] dataset at [model] image_size (reused when present), trains with configs/demo.ini for at\n"
    "most [train] max_seconds, and prints where the sample grid, loss plot and checkpoint are. Scoring\n"
    "needs the Inception weights ([score] weights; see docs/metrics.md).",
    run,
};
