// cmd_stats.c — `clgan stats`: pytorch-fid compatible statistics (mu, sigma of the 2048-d pool3
// features, float64) of an image folder or packed dataset, saved as .npz. Under mpirun the images
// are sharded over the ranks and rank 0 alone computes and writes (docs/distributed.md).
#include "cli.h"
#include "dist.h"
#include "cli_dist.h"
#include "inception.h"
#include "metrics.h"

#include <stdlib.h>

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *images = NULL, *out = NULL, *resize = NULL, *weights = NULL;
    int n = CLI_UNSET, batch = CLI_UNSET;
    const cli_opt opts[] = {
        {"images", OPT_STRING, "DIR|DATASET", "images: a folder of PNG/JPEG files or a packed dataset", &images},
        {"out", OPT_STRING, "FILE.npz", "statistics file to write (mu, sigma)", &out},
        {"resize", OPT_STRING, "MODE", "bilinear (pytorch-fid, default), bicubic (clean-fid) or lanczos", &resize},
        {"weights", OPT_STRING, "FILE", "Inception weights (safetensors; see docs/metrics.md)", &weights},
        {"n", OPT_INT, "N", "use the first N images (default all)", &n},
        {"batch", OPT_INT, "B", "images per network pass (default 16)", &batch},
        {0},
    };
    int rc = cli_parse(&cmd_stats, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_stats, opts, stdout);
        return EXIT_OK;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    const char *c_weights = NULL, *c_resize = NULL;
    long c_batch = 16;
    char bbuf[16];
    const cli_given given[] = {{"weights", weights}, {"resize", resize}, {"batch", cli_int_given(batch, bbuf)}};
    cg_status st = cli_set_given(cfg, "score", given, sizeof given / sizeof given[0]);
    if (st == CG_OK) st = cg_config_str(cfg, "score", "weights", "", NULL, &c_weights);
    if (st == CG_OK) st = cg_config_str(cfg, "score", "resize", "bilinear", "bilinear|bicubic|lanczos", &c_resize);
    if (st == CG_OK) st = cg_config_int(cfg, "score", "batch", 16, 1, 1024, &c_batch);
    cg_resize_mode mode = CG_RESIZE_BILINEAR;
    if (st == CG_OK) st = cg_resize_mode_parse(c_resize, &mode);
    if (st == CG_OK && (!images || !out))
        st = cg_fail(CG_ERR_CONFIG, "stats needs --images DIR|DATASET and --out FILE.npz");
    if (st == CG_OK && n != CLI_UNSET && n < 1) st = cg_fail(CG_ERR_CONFIG, "--n %d: give at least 1 image", n);
    const cli_given inputs[] = {{"--images", images}, {"--weights", c_weights}};
    if (st == CG_OK) st = cli_output_distinct("--out", out, inputs, sizeof inputs / sizeof inputs[0]);
    if (n == CLI_UNSET) n = -1; // every image
    if (st != CG_OK) {
        cg_config_free(cfg);
        return cli_report("stats", st);
    }
    cg_runtime *rt = NULL;
    st = cli_open_runtime(cfg, &common, &rt);
    cg_inception *net = NULL;
    cg_image_source *src = NULL;
    cg_feature_shard sh = {0};
    int lead = cg_dist_rank() == 0;
    if (st == CG_OK && cli_print_config(cfg)) st = cg_fail(CG_ERR_CONFIG, "an unknown --set key (see above)");
    if (st == CG_OK) st = cg_source_open(images, &src); // a bad input fails before the weights load
    if (st == CG_OK) { // the default file ($CLGAN_INCEPTION_WEIGHTS, cache) is checked like --weights
        char wpath[1024], label[64];
        if (*c_weights)
            snprintf(wpath, sizeof wpath, "%s", c_weights);
        else
            cg_inception_default_weights(rt, wpath, sizeof wpath);
        const char *from = *c_weights ? cli_key_label("score", "weights", label, sizeof label) : "Inception weights";
        st = cli_safetensors_finite(from, wpath);
    }
    if (st == CG_OK) st = cg_inception_open(rt, c_weights, (int)c_batch, &net);
    // This rank's block of the images, then every rank's rows on rank 0 in order (all ranks call
    // the gather, whatever their outcome, so that a failure on one stops all with its message).
    if (st == CG_OK) st = cg_features_shard_run(net, src, mode, n, 1, 0, lead ? stderr : NULL, &sh);
    cli_dist_trace("stats", "images", &sh);
    st = cg_features_shard_gather(st, &sh);
    int64_t count = sh.total;
    cg_stats stats = {0};
    if (st == CG_OK && lead) st = cg_stats_compute_f32(sh.pool, count, CG_INCEPTION_FEATURES, &stats);
    if (st == CG_OK && lead) st = cg_stats_save(out, &stats);
    if (st == CG_OK && lead)
        printf("stats: %lld images of %s (%s resize) -> %s\n", (long long)count, images, cg_resize_mode_name(mode),
               out);
    if (st == CG_OK && lead && count < 2048)
        fprintf(stderr, "clgan stats: warning: %lld images < 2048 leave sigma rank-deficient; a reportable FID "
                        "needs at least 10000\n", (long long)count);
    st = cli_dist_finish(st);
    cg_stats_free(&stats);
    cg_features_shard_free(&sh);
    cg_source_close(src);
    cg_inception_free(net);
    if (rt) cg_runtime_free(rt);
    cg_config_free(cfg);
    return cli_report("stats", st);
}

const cli_command cmd_stats = {
    "stats",
    "pytorch-fid compatible statistics (mu, sigma) of images, as .npz",
    "--images DIR|DATASET --out FILE.npz [--resize bilinear|bicubic|lanczos] [--weights FILE] [--n N]",
    "Runs every image (or the first --n) through pytorch-fid's Inception-v3 on the selected device and\n"
    "writes the mean and covariance (float64, N - 1) of the 2048-d pool3 features like\n"
    "`python -m pytorch_fid --save-stats`. Keys of [score] in --config: weights, resize, batch.\n"
    "The weights come from tools/convert_inception_weights.py (docs/metrics.md).",
    run,
};
