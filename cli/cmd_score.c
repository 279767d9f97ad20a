// cmd_score.c — `clgan score`: IS, FID and KID of generated images (a folder, a dataset, or a
// checkpoint's generator sampled on the fly) against a reference, with pytorch-fid's Inception-v3
// on the selected device and the conventions of pytorch-fid and torch-fidelity, and face-ness
// (MTCNN, metrics/faceness.h; no Inception weights); results printed and saved as JSON (atomically).
// Under mpirun the Inception passes are sharded over the ranks; rank 0 alone computes the scores,
// runs face-ness, prints and writes (docs/distributed.md).
#include "cli.h"
#include "cli_dist.h"
#include "dist.h"
#include "faceness.h"
#include "inception.h"
#include "metrics.h"
#include "mtcnn_list.h"
#include "srvgg.h"
#include "train.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int is, fid, kid, faceness;
} wanted;

static cg_status parse_metrics(const char *text, wanted *w) {
    *w = (wanted){0, 0, 0, 0};
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!strcmp(tok, "is")) w->is = 1;
        else if (!strcmp(tok, "fid")) w->fid = 1;
        else if (!strcmp(tok, "kid")) w->kid = 1;
        else if (!strcmp(tok, "faceness")) w->faceness = 1;
        else return cg_fail(CG_ERR_CONFIG, "metric '%s': expected is, fid, kid or faceness (comma separated)", tok);
    }
    if (!w->is && !w->fid && !w->kid && !w->faceness)
        return cg_fail(CG_ERR_CONFIG, "no metric chosen (--metrics is,fid,kid,faceness)");
    return CG_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

typedef struct {
    const char *images, *checkpoint, *ref, *metrics, *resize, *weights, *out, *upscale;
    long n, ref_n, batch, seed, gen_batch, upscale_tile;
} score_opts;

// The generated images: a folder or dataset, or the generator of a checkpoint sampled on the fly.
static cg_status open_generated(cg_runtime *rt, cg_config *cfg, const score_opts *o, cg_generator **gen,
                                cg_image_source **src) {
    if (!*o->checkpoint) return cg_source_open(o->images, src);
    cg_model_config mc;
    int from_ckpt = 0;
    CG_TRY(cg_generator_model(o->checkpoint, cfg, &mc, &from_ckpt));
    if (cg_dist_rank() == 0)
        fprintf(stderr, "score: generator %s %dx%d (model from %s), %ld images from seed %ld\n",
                cg_model_type_name(mc.type), mc.image_size, mc.image_size, from_ckpt ? "the checkpoint" : "[model]",
                o->n, o->seed);
    int batch = o->n < o->gen_batch ? (int)o->n : (int)o->gen_batch;
    CG_TRY(cli_safetensors_finite("--checkpoint", o->checkpoint));
    CG_TRY(cg_generator_open(rt, o->checkpoint, &mc, batch, 0, gen));
    return cg_source_generator(*gen, o->n, (uint64_t)o->seed, src);
}

// The generated images once more, for the detector (after the Inception pass has read them).
static cg_status reopen_generated(cg_runtime *rt, const score_opts *o, cg_generator *gen, cg_srvgg *up,
                                  cg_image_source **src) {
    CG_TRY(gen ? cg_source_generator(gen, o->n, (uint64_t)o->seed, src) : cg_source_open(o->images, src));
    return up ? cg_source_upscaled(rt, up, (int)o->upscale_tile, *src, src) : CG_OK;
}

static cg_status open_mtcnn(cg_runtime *rt, cg_config *cfg, cg_mtcnn **m, cg_mtcnn_params *p) {
    cli_landmarks_opts lo;
    char weights[1024];
    CG_TRY(cli_landmarks_config(cfg, &lo));
    *p = cg_mtcnn_defaults();
    p->min_face = (int)lo.min_face;
    CG_TRY(cg_mtcnn_find_weights(rt, lo.weights, weights, sizeof weights));
    CG_TRY(cli_safetensors_finite("[landmarks] weights", weights));
    return cg_mtcnn_create(rt, weights, m);
}

static cg_status score(cg_runtime *rt, cg_config *cfg, const score_opts *o, cg_resize_mode mode, wanted w) {
    cg_inception *net = NULL;
    cg_generator *gen = NULL;
    cg_image_source *src = NULL, *rsrc = NULL;
    cg_feature_shard gsh = {0}, rsh = {0}; // generated and reference features (all rows on rank 0)
    float *pool = NULL, *nobias = NULL, *rpool = NULL;
    int64_t count = 0, rcount = 0;
    int lead = cg_dist_rank() == 0;
    cg_stats gst = {0}, rst = {0};
    cJSON *json = cJSON_CreateObject();
    double tb[7] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN}; // IS mean, std, FID, KID mean, std, faceness, its mean
                                                        // probability for TensorBoard
    int inception = w.is || w.fid || w.kid;
    cg_mtcnn *mtcnn = NULL;
    cg_mtcnn_params mp;
    cg_faceness_result fr = {0};
    int ref_npz = *o->ref && ends_with(o->ref, ".npz");
    const char *what = *o->checkpoint ? o->checkpoint : o->images;
    cg_status st = json ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK && (w.fid || w.kid) && !*o->ref)
        st = cg_fail(CG_ERR_CONFIG, "FID and KID need --ref (an .npz, a folder or a dataset)");
    if (st == CG_OK && w.kid && ref_npz)
        st = cg_fail(CG_ERR_CONFIG, "KID needs the reference's features: give --ref as a folder or dataset, not '%s'",
                     o->ref);
    cg_ctx uctx = {rt, {0}};
    cg_srvgg *up = NULL;
    if (st == CG_OK && *o->upscale) st = cg_srvgg_load(&uctx, o->upscale, &up);
    if (st == CG_OK && up && lead)
        fprintf(stderr, "score: images upscaled x%d by %s before the Inception resize\n", cg_srvgg_scale(up),
                o->upscale);
    if (st == CG_OK) st = open_generated(rt, cfg, o, &gen, &src);
    if (st == CG_OK && up) st = cg_source_upscaled(rt, up, (int)o->upscale_tile, src, &src);
    // What can be checked before the Inception pass (minutes on many images) is checked first: the
    // reference opens, and IS has an image for each of its 10 splits.
    if (st == CG_OK && (w.fid || w.kid)) st = ref_npz ? cg_stats_load(o->ref, &rst) : cg_source_open(o->ref, &rsrc);
    if (st == CG_OK && up && rsrc) st = cg_source_upscaled(rt, up, (int)o->upscale_tile, rsrc, &rsrc);
    if (st == CG_OK && up && ref_npz && lead)
        fprintf(stderr, "clgan score: warning: the statistics of %s are used as they are (not upscaled)\n", o->ref);
    int64_t avail = st == CG_OK ? src->count : 0;
    if (o->n > 0 && o->n < avail) avail = o->n;
    if (st == CG_OK && w.is && avail < 10)
        st = cg_fail(CG_ERR_CONFIG, "IS needs at least 10 images (one per split); %s gives %lld", what,
                     (long long)avail);
    if (st == CG_OK && (*o->weights || inception)) { // the default file ($CLGAN_INCEPTION_WEIGHTS, cache) too
        char wpath[1024], label[64];
        if (*o->weights)
            snprintf(wpath, sizeof wpath, "%s", o->weights);
        else
            cg_inception_default_weights(rt, wpath, sizeof wpath);
        const char *from = *o->weights ? cli_key_label("score", "weights", label, sizeof label) : "Inception weights";
        st = cli_safetensors_finite(from, wpath);
    }
    if (st == CG_OK && w.faceness) st = open_mtcnn(rt, cfg, &mtcnn, &mp);
    if (st == CG_OK && inception) st = cg_inception_open(rt, o->weights, (int)o->batch, &net);
    // Each rank's block of the generated images (generator batches kept whole) and of the reference
    // images; every rank calls each gather whatever its outcome, so that a failure stops all.
    FILE *bar = lead ? stderr : NULL;
    int64_t align = *o->checkpoint ? (o->n < o->gen_batch ? o->n : o->gen_batch) : 1;
    int ref_images = (w.fid || w.kid) && !ref_npz;
    if (inception) {
        if (st == CG_OK) st = cg_features_shard_run(net, src, mode, o->n, align, 1, bar, &gsh);
        cli_dist_trace("score", "generated", &gsh);
        st = cg_features_shard_gather(st, &gsh);
        pool = gsh.pool, nobias = gsh.nobias, count = gsh.total;
    }
    if (inception && ref_images) {
        if (st == CG_OK) st = cg_features_shard_run(net, rsrc, mode, o->ref_n, 1, 0, bar, &rsh);
        cli_dist_trace("score", "reference", &rsh);
        st = cg_features_shard_gather(st, &rsh);
        rpool = rsh.pool, rcount = rsh.total;
    }
    if (!lead) { // the rest is rank 0's
        st = cli_dist_finish(st);
        goto done;
    }
    if (st == CG_OK && w.faceness) {
        if (inception) {
            cg_source_close(src);
            src = NULL;
            st = reopen_generated(rt, o, gen, up, &src);
        }
        if (st == CG_OK) st = cg_faceness(mtcnn, &mp, src, mode, o->n, stderr, &fr, NULL);
        if (st != CG_OK) st = cg_fail_context(st, "computing faceness");
        if (st == CG_OK && !inception) count = fr.n;
    }
    if (st == CG_OK) {
        if (*o->checkpoint) {
            cJSON_AddStringToObject(json, "checkpoint", o->checkpoint);
            cJSON_AddNumberToObject(json, "seed", (double)o->seed);
        } else {
            cJSON_AddStringToObject(json, "images", o->images);
        }
        cJSON_AddNumberToObject(json, "n", (double)count);
        cJSON_AddStringToObject(json, "resize", cg_resize_mode_name(mode));
        if (up) cJSON_AddStringToObject(json, "upscale", o->upscale);
        if (*o->ref) cJSON_AddStringToObject(json, "ref", o->ref);
        printf("%s: %s (%lld, %s resize)\n", *o->checkpoint ? "checkpoint" : "images", what, (long long)count,
               cg_resize_mode_name(mode));
    }
    if (st == CG_OK && w.is) {
        cg_score is;
        st = cg_inception_score(nobias, count, CG_INCEPTION_CLASSES, NULL, &is);
        if (st == CG_OK) {
            printf("IS:  %.6f +- %.6f\n", is.mean, is.std);
            tb[0] = is.mean, tb[1] = is.std;
            cJSON_AddNumberToObject(json, "is_mean", is.mean);
            cJSON_AddNumberToObject(json, "is_std", is.std);
        }
    }
    if (st == CG_OK && ref_images) {
        if (w.fid) st = cg_stats_compute_f32(rpool, rcount, CG_INCEPTION_FEATURES, &rst);
        if (st == CG_OK) cJSON_AddNumberToObject(json, "ref_n", (double)rcount);
    }
    if (st == CG_OK && w.fid) {
        double fid = 0;
        st = cg_stats_compute_f32(pool, count, CG_INCEPTION_FEATURES, &gst);
        if (st == CG_OK) st = cg_fid_stats(&gst, &rst, &fid);
        if (st == CG_OK) {
            printf("FID: %.6f\n", fid);
            tb[2] = fid;
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
            tb[3] = kid.mean, tb[4] = kid.std;
            if (count < 1000 || rcount < 1000)
                fprintf(stderr, "clgan score: warning: KID on %lld and %lld images, fewer than its subset size of "
                                "1000: not comparable with published values (use at least 1000 each)\n",
                        (long long)count, (long long)rcount);
            cJSON_AddNumberToObject(json, "kid_mean", kid.mean);
            cJSON_AddNumberToObject(json, "kid_std", kid.std);
        }
    }
    if (st == CG_OK && w.faceness) {
        printf("faceness: %.6f (%lld of %lld images with a face of probability >= %.1f at %dx%d), mean probability "
               "%.6f\n", fr.share, (long long)fr.faces, (long long)fr.n, (double)CG_FACENESS_THRESHOLD,
               CG_FACENESS_SIZE, CG_FACENESS_SIZE, fr.mean_prob);
        tb[5] = fr.share, tb[6] = fr.mean_prob;
        cJSON_AddNumberToObject(json, "faceness", fr.share);
        cJSON_AddNumberToObject(json, "faceness_mean_prob", fr.mean_prob);
    }
    if (st == CG_OK && *o->out) {
        char *text = cJSON_Print(json);
        st = text ? cg_write_file_atomic(o->out, text, strlen(text)) : cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st == CG_OK) printf("results: %s\n", o->out);
        free(text);
    }
    if (st == CG_OK && *o->checkpoint) { // into the TensorBoard run of the checkpoint's training
        static const char *const tags[7] = {"score/IS", "score/IS_std", "score/FID", "score/KID", "score/KID_std",
                                            "score/faceness", "score/faceness_mean_prob"};
        char path[1500];
        st = cg_tb_log_scores(o->checkpoint, tags, tb, 7, path, sizeof path);
        if (st == CG_OK && *path) printf("tensorboard: %s\n", path);
    }
    st = cli_dist_finish(st);
done:
    cJSON_Delete(json);
    cg_stats_free(&gst);
    cg_stats_free(&rst);
    cg_features_shard_free(&gsh);
    cg_features_shard_free(&rsh);
    cg_source_close(src);
    cg_source_close(rsrc);
    cg_generator_free(gen);
    cg_inception_free(net);
    cg_mtcnn_free(mtcnn);
    cg_srvgg_free(up);
    cg_workspace_free(&uctx.ws);
    return st;
}

static const char *default_of(const cli_given *defaults, size_t n, const char *key, const char *builtin) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(defaults[i].key, key) && defaults[i].value) return defaults[i].value;
    return builtin;
}

static cg_status read_opts(cg_config *cfg, const cli_given *defaults, size_t nd, score_opts *o) {
    *o = (score_opts){0};
    long n_def = strtol(default_of(defaults, nd, "n", "0"), NULL, 10);
    long ref_n_def = strtol(default_of(defaults, nd, "ref_n", "0"), NULL, 10);
    CG_TRY(cg_config_str(cfg, "score", "images", default_of(defaults, nd, "images", ""), NULL, &o->images));
    CG_TRY(cg_config_str(cfg, "score", "checkpoint", default_of(defaults, nd, "checkpoint", ""), NULL, &o->checkpoint));
    CG_TRY(cg_config_int(cfg, "score", "seed", 7, 0, 2147483647L, &o->seed));
    CG_TRY(cg_config_str(cfg, "score", "ref", default_of(defaults, nd, "ref", ""), NULL, &o->ref));
    CG_TRY(cg_config_str(cfg, "score", "metrics", default_of(defaults, nd, "metrics", "is,fid"), NULL, &o->metrics));
    CG_TRY(cg_config_int(cfg, "score", "n", n_def, 0, 1L << 40, &o->n));
    CG_TRY(cg_config_int(cfg, "score", "ref_n", ref_n_def, 0, 1L << 40, &o->ref_n));
    CG_TRY(cg_config_str(cfg, "score", "resize", "bilinear", "bilinear|bicubic|lanczos", &o->resize));
    CG_TRY(cg_config_str(cfg, "score", "weights", "", NULL, &o->weights));
    CG_TRY(cg_config_int(cfg, "score", "batch", 16, 1, 1024, &o->batch));
    CG_TRY(cg_config_int(cfg, "score", "generator_batch", 64, 1, 4096, &o->gen_batch));
    CG_TRY(cg_config_str(cfg, "score", "out", default_of(defaults, nd, "out", "score.json"), NULL, &o->out));
    CG_TRY(cg_config_str(cfg, "score", "upscale", "", NULL, &o->upscale));
    CG_TRY(cg_config_int(cfg, "score", "upscale_tile", 128, 0, 8192, &o->upscale_tile));
    if (*o->images && *o->checkpoint)
        return cg_fail(CG_ERR_CONFIG, "give either --images or --checkpoint, not both");
    if (!*o->images && !*o->checkpoint)
        return cg_fail(CG_ERR_CONFIG, "score needs --images DIR|DATASET or --checkpoint CKPT ([score] images / "
                                      "checkpoint)");
    if (*o->checkpoint && o->n == 0) o->n = 10000;
    const cli_given inputs[] = {{"--ref", o->ref}, {"--images", o->images}, {"--checkpoint", o->checkpoint},
                                {"--weights", o->weights}, {"--upscale", o->upscale}};
    return cli_output_distinct("--out", o->out, inputs, sizeof inputs / sizeof inputs[0]);
}

static cg_status score_with(cg_runtime *rt, cg_config *cfg, const cli_given *defaults, size_t n_defaults,
                            int print_config) {
    score_opts o;
    wanted w = {0};
    cg_resize_mode mode = CG_RESIZE_BILINEAR;
    CG_TRY(read_opts(cfg, defaults, n_defaults, &o));
    CG_TRY(parse_metrics(o.metrics, &w));
    CG_TRY(cg_resize_mode_parse(o.resize, &mode));
    if (!rt) return CG_OK;
    if (*o.checkpoint) { // reads [model] when the file has no model metadata, before unknown keys are judged
        cg_model_config mc;
        int from_ckpt = 0;
        CG_TRY(cg_generator_model(o.checkpoint, cfg, &mc, &from_ckpt));
    }
    if (w.faceness) { // [landmarks] is read before unknown keys are judged, like [model] above
        cli_landmarks_opts lo;
        CG_TRY(cli_landmarks_config(cfg, &lo));
    }
    if (print_config && cli_print_config(cfg)) return cg_fail(CG_ERR_CONFIG, "an unknown --set key (see above)");
    return score(rt, cfg, &o, mode, w);
}

int cli_score_with(const char *cmd, cg_runtime *rt, cg_config *cfg, const cli_given *defaults, size_t n_defaults,
                   int print_config) {
    return cli_report(cmd, score_with(rt, cfg, defaults, n_defaults, print_config));
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *images = NULL, *checkpoint = NULL, *ref = NULL, *metrics = NULL, *resize = NULL, *weights = NULL,
               *out = NULL, *upscale = NULL;
    int n = CLI_UNSET, ref_n = CLI_UNSET, batch = CLI_UNSET, seed = CLI_UNSET;
    const cli_opt opts[] = {
        {"images", OPT_STRING, "DIR|DATASET", "generated images: a folder of PNG/JPEG files or a packed dataset",
         &images},
        {"checkpoint", OPT_STRING, "CKPT", "sample the generator of a checkpoint instead of --images", &checkpoint},
        {"seed", OPT_INT, "S", "with --checkpoint: seed of the latent vectors, as `clgan sample` (default 7)", &seed},
        {"ref", OPT_STRING, "NPZ|DIR|DATASET", "reference: pytorch-fid statistics, a folder or a dataset", &ref},
        {"metrics", OPT_STRING, "LIST", "any of is,fid,kid,faceness (default is,fid)", &metrics},
        {"n", OPT_INT, "N", "score the first N images (default all; 10000 with --checkpoint)", &n},
        {"ref-n", OPT_INT, "N", "use the first N reference images (default all)", &ref_n},
        {"resize", OPT_STRING, "MODE", "bilinear (pytorch-fid, default), bicubic (clean-fid) or lanczos", &resize},
        {"weights", OPT_STRING, "FILE", "Inception weights (safetensors; see docs/metrics.md)", &weights},
        {"batch", OPT_INT, "B", "images per network pass (default 16)", &batch},
        {"out", OPT_STRING, "FILE.json", "results file (default score.json)", &out},
        {"upscale", OPT_STRING, "W.safetensors", "upscale generated and reference images with Real-ESRGAN's compact "
         "network (as `clgan upscale`) before the Inception resize", &upscale},
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
    char nbuf[16], rbuf[16], bbuf[16], sbuf[16];
    const cli_given given[] = {
        {"images", images},   {"checkpoint", checkpoint}, {"ref", ref},
        {"metrics", metrics}, {"resize", resize},         {"weights", weights},
        {"out", out},         {"n", cli_int_given(n, nbuf)}, {"ref_n", cli_int_given(ref_n, rbuf)},
        {"batch", cli_int_given(batch, bbuf)}, {"seed", cli_int_given(seed, sbuf)}, {"upscale", upscale},
    };
    cg_status st = cli_set_given(cfg, "score", given, sizeof given / sizeof given[0]);
    cg_runtime *rt = NULL;
    if (st == CG_OK) st = score_with(NULL, cfg, NULL, 0, 0); // configuration errors before the device opens
    if (st == CG_OK) st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK) st = score_with(rt, cfg, NULL, 0, 1);
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return cli_report("score", st);
}

const cli_command cmd_score = {
    "score",
    "IS, FID and KID of generated images (pytorch-fid / torch-fidelity conventions), and face-ness",
    "--images DIR|DATASET | --checkpoint CKPT [--seed S] [--ref NPZ|DIR|DATASET] [--metrics is,fid,kid,faceness]\n"
    "       [--n N] [--resize MODE] [--weights FILE] [--upscale W.safetensors] [--out FILE.json]",
    "Runs the images through pytorch-fid's Inception-v3 on the selected device. IS uses the 1008-class\n"
    "logits without bias (torch-fidelity), 10 splits; FID compares mu/sigma of the pool3 features with\n"
    "the reference (an .npz from `clgan stats` or pytorch-fid --save-stats, or images); KID (torch-\n"
    "fidelity: 100 subsets of 1000, cubic polynomial kernel) needs reference images. Results go to\n"
    "stdout and, as JSON, to --out. Keys of [score] in --config (configs/score.ini) give the defaults.\n"
    "--checkpoint samples its generator on the fly (BatchNorm running statistics) with the latent\n"
    "vectors of `clgan sample --seed S`, as floats: the result equals scoring the folder that\n"
    "`clgan sample --checkpoint CKPT --seed S --n N --out DIR` writes, up to 8-bit PNG rounding. A\n"
    "generator-only file takes [model] from --config/--set. --upscale W ([score] upscale, upscale_tile)\n"
    "upscales every generated and reference image (not an .npz's statistics) with the learned upscaler\n"
    "of `clgan upscale` before the resize to 299. faceness (no Inception weights needed) is the share of\n"
    "images, resized to 160x160 by --resize, in which MTCNN finds a face of probability >= 0.9, and the\n"
    "mean best probability; its weights are those of `clgan landmarks` ([landmarks] weights,\n"
    "$CLGAN_MTCNN_WEIGHTS, the cache; docs/landmarks.md).",
    run,
};
