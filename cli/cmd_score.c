// cmd_score.c — `clgan score`: IS, FID and KID of generated images against a reference, with
// pytorch-fid's Inception-v3 on the selected device and the conventions of pytorch-fid and
// torch-fidelity; results printed and saved as JSON (atomically).
#include "cli.h"
#include "inception.h"
#include "metrics.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int is, fid, kid;
} wanted;

static cg_status parse_metrics(const char *text, wanted *w) {
    *w = (wanted){0, 0, 0};
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!strcmp(tok, "is")) w->is = 1;
        else if (!strcmp(tok, "fid")) w->fid = 1;
        else if (!strcmp(tok, "kid")) w->kid = 1;
        else return cg_fail(CG_ERR_CONFIG, "metric '%s': expected is, fid or kid (comma separated)", tok);
    }
    if (!w->is && !w->fid && !w->kid) return cg_fail(CG_ERR_CONFIG, "no metric chosen (--metrics is,fid,kid)");
    return CG_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

typedef struct {
    const char *images, *ref, *metrics, *resize, *weights, *out, *checkpoint;
    long n, batch;
} score_opts;

static cg_status score(cg_runtime *rt, const score_opts *o, cg_resize_mode mode, wanted w) {
    cg_inception *net = NULL;
    cg_image_source *src = NULL, *rsrc = NULL;
    float *pool = NULL, *nobias = NULL, *rpool = NULL;
    int64_t count = 0, rcount = 0;
    cg_stats gst = {0}, rst = {0};
    cJSON *json = cJSON_CreateObject();
    int ref_npz = o->ref && *o->ref && ends_with(o->ref, ".npz");
    cg_status st = json ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK && (w.fid || w.kid) && !(o->ref && *o->ref))
        st = cg_fail(CG_ERR_CONFIG, "FID and KID need --ref (an .npz, a folder or a dataset)");
    if (st == CG_OK && w.kid && ref_npz)
        st = cg_fail(CG_ERR_CONFIG, "KID needs the reference's features: give --ref as a folder or dataset, not '%s'",
                     o->ref);
    if (st == CG_OK) st = cg_inception_open(rt, o->weights, (int)o->batch, &net);
    if (st == CG_OK) st = cg_source_open(o->images, &src);
    if (st == CG_OK) st = cg_inception_features(net, src, mode, o->n, stderr, &pool, NULL, &nobias, &count);
    if (st == CG_OK) {
        cJSON_AddStringToObject(json, "images", o->images);
        cJSON_AddNumberToObject(json, "n", (double)count);
        cJSON_AddStringToObject(json, "resize", cg_resize_mode_name(mode));
        if (o->ref && *o->ref) cJSON_AddStringToObject(json, "ref", o->ref);
        printf("images: %s (%lld, %s resize)\n", o->images, (long long)count, cg_resize_mode_name(mode));
    }
    if (st == CG_OK && w.is) {
        cg_score is;
        st = cg_inception_score(nobias, count, CG_INCEPTION_CLASSES, NULL, &is);
        if (st == CG_OK) {
            printf("IS:  %.6f +- %.6f\n", is.mean, is.std);
            cJSON_AddNumberToObject(json, "is_mean", is.mean);
            cJSON_AddNumberToObject(json, "is_std", is.std);
        }
    }
    if (st == CG_OK && (w.fid || w.kid)) {
        if (ref_npz) {
            st = cg_stats_load(o->ref, &rst);
        } else {
            st = cg_source_open(o->ref, &rsrc);
            if (st == CG_OK) st = cg_inception_features(net, rsrc, mode, 0, stderr, &rpool, NULL, NULL, &rcount);
            if (st == CG_OK && w.fid) st = cg_stats_compute_f32(rpool, rcount, CG_INCEPTION_FEATURES, &rst);
            if (st == CG_OK) cJSON_AddNumberToObject(json, "ref_n", (double)rcount);
        }
    }
    if (st == CG_OK && w.fid) {
        double fid = 0;
        st = cg_stats_compute_f32(pool, count, CG_INCEPTION_FEATURES, &gst);
        if (st == CG_OK) st = cg_fid_stats(&gst, &rst, &fid);
        if (st == CG_OK) {
            printf("FID: %.6f\n", fid);
            cJSON_AddNumberToObject(json, "fid", fid);
            if (count < 2048) fprintf(stderr, "clgan score: warning: %lld images < 2048: FID is not reportable "
                                              "(use at least 10000)\n", (long long)count);
        }
    }
    if (st == CG_OK && w.kid) {
        cg_score kid;
        st = cg_kid(pool, count, rpool, rcount, CG_INCEPTION_FEATURES, NULL, &kid);
        if (st == CG_OK) {
            printf("KID: %.8f +- %.8f\n", kid.mean, kid.std);
            cJSON_AddNumberToObject(json, "kid_mean", kid.mean);
            cJSON_AddNumberToObject(json, "kid_std", kid.std);
        }
    }
    if (st == CG_OK && o->out && *o->out) {
        char *text = cJSON_Print(json);
        st = text ? cg_write_file_atomic(o->out, text, strlen(text)) : cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st == CG_OK) printf("results: %s\n", o->out);
        free(text);
    }
    cJSON_Delete(json);
    cg_stats_free(&gst);
    cg_stats_free(&rst);
    free(pool), free(nobias), free(rpool);
    cg_source_close(src);
    cg_source_close(rsrc);
    cg_inception_free(net);
    return st;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    score_opts cli = {0};
    int n = -1, batch = -1;
    const cli_opt opts[] = {
        {"images", OPT_STRING, "DIR|DATASET", "generated images: a folder of PNG/JPEG files or a packed dataset",
         &cli.images},
        {"checkpoint", OPT_STRING, "CKPT", "sample the generator of a checkpoint instead of --images", &cli.checkpoint},
        {"ref", OPT_STRING, "NPZ|DIR|DATASET", "reference: pytorch-fid statistics, a folder or a dataset", &cli.ref},
        {"metrics", OPT_STRING, "LIST", "any of is,fid,kid (default is,fid)", &cli.metrics},
        {"n", OPT_INT, "N", "score the first N images (default all)", &n},
        {"resize", OPT_STRING, "MODE", "bilinear (pytorch-fid, default), bicubic (clean-fid) or lanczos", &cli.resize},
        {"weights", OPT_STRING, "FILE", "Inception weights (safetensors; see docs/metrics.md)", &cli.weights},
        {"batch", OPT_INT, "B", "images per network pass (default 16)", &batch},
        {"out", OPT_STRING, "FILE.json", "results file (default score.json)", &cli.out},
        {0},
    };
    int rc = cli_parse(&cmd_score, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_score, opts, stdout);
        return EXIT_OK;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    // Command-line options win over the file: they go in as --set overrides, so the effective
    // configuration printed shows them.
    char nbuf[32], bbuf[32];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    snprintf(bbuf, sizeof bbuf, "%d", batch);
    const char *given[][2] = {{"images", cli.images}, {"ref", cli.ref},         {"metrics", cli.metrics},
                              {"resize", cli.resize}, {"weights", cli.weights}, {"out", cli.out},
                              {"n", n >= 0 ? nbuf : NULL}, {"batch", batch > 0 ? bbuf : NULL}};
    cg_status st = CG_OK;
    for (size_t i = 0; st == CG_OK && i < sizeof given / sizeof given[0]; i++) {
        if (!given[i][1]) continue;
        char assign[1200];
        snprintf(assign, sizeof assign, "score.%s=%s", given[i][0], given[i][1]);
        st = cg_config_set(cfg, assign);
    }
    score_opts o = {0};
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "images", "", NULL, &o.images);
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "ref", "", NULL, &o.ref);
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "metrics", "is,fid", NULL, &o.metrics);
    if (st == CG_OK) st = cg_cfg_int(cfg, "score", "n", 0, 0, 1L << 40, &o.n);
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "resize", "bilinear", "bilinear|bicubic|lanczos", &o.resize);
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "weights", "", NULL, &o.weights);
    if (st == CG_OK) st = cg_cfg_int(cfg, "score", "batch", 16, 1, 1024, &o.batch);
    if (st == CG_OK) st = cg_cfg_str(cfg, "score", "out", "score.json", NULL, &o.out);
    wanted w = {0};
    cg_resize_mode mode = CG_RESIZE_BILINEAR;
    if (st == CG_OK) st = parse_metrics(o.metrics, &w);
    if (st == CG_OK) st = cg_resize_mode_parse(o.resize, &mode);
    if (st == CG_OK && cli.checkpoint)
        st = cg_fail(CG_ERR_CONFIG, "--checkpoint: scoring a generator checkpoint is not available until the trainer "
                                    "lands; sample images to a folder and pass --images");
    if (st == CG_OK && !*o.images) st = cg_fail(CG_ERR_CONFIG, "score needs --images DIR|DATASET ([score] images)");
    if (st != CG_OK) {
        cg_config_free(cfg);
        return cli_report("score", st);
    }
    cg_runtime *rt = NULL;
    st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK) {
        cli_print_config(cfg);
        st = score(rt, &o, mode, w);
        cg_runtime_free(rt);
    }
    cg_config_free(cfg);
    return cli_report("score", st);
}

const cli_command cmd_score = {
    "score",
    "IS, FID and KID of generated images (pytorch-fid / torch-fidelity conventions)",
    "--images DIR|DATASET [--ref NPZ|DIR|DATASET] [--metrics is,fid,kid] [--n N] [--resize MODE] [--weights FILE]",
    "Runs the images through pytorch-fid's Inception-v3 on the selected device. IS uses the 1008-class\n"
    "logits without bias (torch-fidelity), 10 splits; FID compares mu/sigma of the pool3 features with\n"
    "the reference (an .npz from `clgan stats` or pytorch-fid --save-stats, or images); KID (torch-\n"
    "fidelity: 100 subsets of 1000, cubic polynomial kernel) needs reference images. Results go to\n"
    "stdout and, as JSON, to --out. Keys of [score] in --config (configs/score.ini) give the defaults.",
    run,
};
