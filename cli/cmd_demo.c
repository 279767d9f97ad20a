// cmd_demo.c — `clgan demo`: the whole pipeline, small, on the embedded default data: synthetic
// faces (cg_synth_write) -> packed dataset (the preprocess pipeline) -> DCGAN training with
// configs/demo.ini for a bounded time -> sample grid, loss plot, checkpoint; then IS/FID/KID of the
// checkpoint against the training set when Inception weights are at hand, and the face-ness of its
// samples (MTCNN) when MTCNN weights are, else where each comes from.
#include "cli.h"
#include "inception.h"
#include "mtcnn_list.h"
#include "preprocess.h"
#include "synth.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static cg_status prepare(cg_runtime *rt, cg_config *cfg, const cg_train_params *tp, const cg_model_config *mc) {
    long n, seed;
    const char *dir;
    CG_TRY(cg_config_int(cfg, "demo", "synth_n", 6000, 100, 999999, &n));
    CG_TRY(cg_config_int(cfg, "demo", "synth_seed", 1, 0, 2147483647L, &seed));
    CG_TRY(cg_config_str(cfg, "demo", "synth_dir", "out/demo/synth", NULL, &dir));
    if (cli_print_config(cfg)) return cg_fail(CG_ERR_CONFIG, "an unknown --set key (see above)");
    char marker[1100];
    snprintf(marker, sizeof marker, "%s/list_eval_partition.txt", dir);
    double t0 = cg_now_s();
    if (access(marker, F_OK) == 0) {
        fprintf(stderr, "demo [1/3] synthetic faces: %s exists, reusing it\n", dir);
    } else {
        fprintf(stderr, "demo [1/3] synthetic faces: writing %ld into %s\n", n, dir);
        CG_TRY(cg_synth_write(dir, (int)n, (uint64_t)seed, 0, stderr));
        fprintf(stderr, "demo [1/3] done in %.1f s\n", cg_now_s() - t0);
    }
    if (access(tp->dataset, F_OK) == 0) {
        fprintf(stderr, "demo [2/3] preprocess: %s exists, reusing it\n", tp->dataset);
        return CG_OK;
    }
    t0 = cg_now_s();
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
                cg_now_s() - t0);
    cg_pp_result_free(r);
    return st;
}

// `clgan score` of the demo's checkpoint against its training set; rt NULL only checks [score].
// Returns an exit code.
static int score_with(cg_runtime *rt, cg_config *cfg, const cg_train_params *tp, const char *ckpt) {
    char out[1100];
    snprintf(out, sizeof out, "%s/score.json", tp->out);
    const cli_given defaults[] = {{"checkpoint", ckpt}, {"ref", tp->dataset}, {"metrics", "is,fid,kid"},
                                  {"n", "200"},         {"ref_n", "200"},     {"out", out}};
    return cli_score_with("demo", rt, cfg, defaults, sizeof defaults / sizeof defaults[0], 0);
}

// Scores the demo's checkpoint against its training set ([score] n images each, IS, FID, KID)
// when Inception weights are at hand ([score] weights, $CLGAN_INCEPTION_WEIGHTS or the cache).
static int score(cg_runtime *rt, cg_config *cfg, const cg_train_params *tp, const char *ckpt, const char *weights) {
    char path[1024];
    if (*weights) snprintf(path, sizeof path, "%s", weights);
    else cg_inception_default_weights(rt, path, sizeof path);
    if (!*weights && cg_inception_check_weights_file(path) != CG_OK) {
        printf("  scoring:    skipped: no Inception weights ([score] weights, $CLGAN_INCEPTION_WEIGHTS or %s);\n"
               "              docs/metrics.md says how to get and convert pt_inception-2015-12-05-6726825d.pth\n",
               path);
        return EXIT_OK;
    }
    fprintf(stderr, "demo scoring %s against %s with %s\n", ckpt, tp->dataset, path);
    double t0 = cg_now_s();
    int rc = score_with(rt, cfg, tp, ckpt);
    if (rc == EXIT_OK) printf("  scored in %.1f s (FID of a few hundred images is only a trend; see docs/metrics.md)\n",
                              cg_now_s() - t0);
    return rc;
}

// Face-ness ([score] n (200) samples of the checkpoint, `clgan score --metrics faceness`) when the
// MTCNN weights are at hand ([landmarks] weights, $CLGAN_MTCNN_WEIGHTS or the cache).
static int faceness(cg_runtime *rt, cg_config *cfg, const cg_train_params *tp, const char *ckpt,
                    const cli_landmarks_opts *lo) {
    char weights[1024], out[1100];
    if (cg_mtcnn_find_weights(rt, lo->weights, weights, sizeof weights) != CG_OK) {
        printf("  face-ness:  skipped: no MTCNN weights ([landmarks] weights, $CLGAN_MTCNN_WEIGHTS or %s/%s);\n"
               "              convert facenet-pytorch's (scripts/install-pydeps unpacks them) with\n"
               "              python3 tools/convert_mtcnn.py --pt build/pydeps/site/facenet_pytorch/data %s/%s\n"
               "              (docs/landmarks.md)\n",
               cg_runtime_cache_dir(rt), CG_MTCNN_WEIGHTS_NAME, cg_runtime_cache_dir(rt), CG_MTCNN_WEIGHTS_NAME);
        return EXIT_OK;
    }
    snprintf(out, sizeof out, "%s/faceness.json", tp->out);
    const cli_given defaults[] = {{"checkpoint", ckpt}, {"metrics", "faceness"}, {"n", "200"}, {"out", out}};
    fprintf(stderr, "demo face-ness of %s's samples with %s\n", ckpt, weights);
    int rc = cli_score_with("demo", rt, cfg, defaults, sizeof defaults / sizeof defaults[0], 0);
    if (rc == EXIT_OK)
        printf("  face-ness:  %s (share of samples, upscaled to 160x160, in which MTCNN finds a face of\n"
               "              probability >= 0.9; docs/landmarks.md)\n",
               out);
    return rc;
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
    double t0 = cg_now_s();
    cg_model_config mc;
    cg_train_params tp;
    const char *weights;
    cg_runtime *rt = NULL;
    cg_status st = cg_model_config_read(cfg, &mc);
    if (st == CG_OK) st = cg_train_params_read(cfg, &mc, &tp);
    char ckpt[1200] = "";
    if (st == CG_OK) snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", tp.out);
    if (st == CG_OK) st = cg_config_str(cfg, "score", "weights", "", NULL, &weights);
    cli_landmarks_opts lo;
    if (st == CG_OK) st = cli_landmarks_config(cfg, &lo);
    rc = st == CG_OK ? score_with(NULL, cfg, &tp, ckpt) : cli_report("demo", st);
    if (rc == EXIT_OK) {
        st = cli_open_runtime(cfg, &common, &rt);
        if (st == CG_OK) st = prepare(rt, cfg, &tp, &mc);
        rc = cli_report("demo", st);
    }
    if (rc != EXIT_OK) {
        cg_runtime_free(rt);
        cg_config_free(cfg);
        return rc;
    }
    fprintf(stderr, "demo [3/3] training %s %dx%d (at most %.0f s)\n", cg_model_type_name(mc.type), mc.image_size,
            mc.image_size, tp.max_seconds);
    rc = cli_train_with(rt, cfg, NULL, 1, 0, ckpt, sizeof ckpt); // force: every demo trains afresh
    if (rc == EXIT_OK) {
        printf("\ndemo finished in %.1f s\n  samples:    %s/samples.png\n  loss plot:  %s/loss.png\n"
               "  checkpoint: %s\n  log:        %s/log.csv\n",
               cg_now_s() - t0, tp.out, tp.out, ckpt, tp.out);
        rc = score(rt, cfg, &tp, ckpt, weights);
        if (rc == EXIT_OK) rc = faceness(rt, cfg, &tp, ckpt, &lo);
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
    "most [train] max_seconds, and prints where the sample grid, loss plot and checkpoint are. With\n"
    "Inception weights ([score] weights, $CLGAN_INCEPTION_WEIGHTS or the cache; docs/metrics.md) it then\n"
    "scores [score] n (200) generated images against as many training images: IS, FID, KID into\n"
    "[train] out/score.json. With MTCNN weights ([landmarks] weights, $CLGAN_MTCNN_WEIGHTS or the cache;\n"
    "docs/landmarks.md) it prints the face-ness of 200 samples (share in which MTCNN finds a face) and\n"
    "writes [train] out/faceness.json.",
    run,
};
