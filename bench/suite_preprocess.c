// suite_preprocess.c — the preprocess suite: synthetic CelebA-style faces (preprocess/ cg_synth_write)
// in a temporary folder, then cg_preprocess_bench: images/s of each stage and of the whole pipeline,
// --reps runs of it (median, min, max per stage). The entry point checks its first batch (decodable
// images, crop means in range) before timing. The pipeline row's reference is PIL doing the same
// per-image work in a process per core (bench/peers.py pil, --reps runs). The `decode` row decodes
// whole images; the pipeline decodes only the part of each image its device work reads, timed on the
// same pool as `decode region` (referenced to `decode`, so its ratio is what that saves). Two more
// rows compare the JPEG decoders on one core over the same files: `decode_1core`, the decoder the
// build uses (libjpeg-turbo, or stb_image without it), against `decode_stb_1core`, stb_image,
// checked first (every file decodes with both, to the same size and close pixels).
#define _XOPEN_SOURCE 700
#include "bench.h"
#include "preprocess.h"
#include "synth.h"

#include <ftw.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPS 64

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

// PIL doing the same decode/crop/zoom/resize/brightness work over the folder, a process per core.
static void pil_peer(const char *dir, int size, int reps, bench_peer *peer) {
    char a2[16], a3[16];
    snprintf(a2, sizeof a2, "%d", reps);
    snprintf(a3, sizeof a3, "%d", size);
    const char *args[] = {"pil", dir, a2, a3, NULL};
    if (!bench_peer_run("bench/peers.py", args, peer) && !peer->skip[0]) snprintf(peer->skip, sizeof peer->skip, "?");
}

typedef void (*load_fn)(const char *path, int max_side, cg_decoded *out);

typedef struct {
    int n, reps;
    double s[2][MAX_REPS]; // seconds per run: 0 the build's decoder, 1 stb_image
    double max_diff_mean;  // largest per-image mean |libjpeg - stb| over the files, 8-bit levels
} decoder_times;

static char *image_path(const char *dir, int i) {
    char *p = malloc(strlen(dir) + 40);
    if (p) sprintf(p, "%s/img_align_celeba/%06d.jpg", dir, i + 1);
    return p;
}

// Both decoders over every file once (checked: same sizes, close pixels), then alternating timed
// passes on this thread.
static cg_status time_decoders(const char *dir, int n, int reps, int max_side, decoder_times *t) {
    load_fn fn[2] = {cg_image_load, cg_image_load_stb};
    t->n = n;
    t->reps = reps;
    t->max_diff_mean = 0;
    cg_status st = CG_OK;
    for (int i = 0; i < n && st == CG_OK; i++) {
        char *p = image_path(dir, i);
        if (!p) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        cg_decoded d[2];
        for (int k = 0; k < 2; k++) fn[k](p, max_side, &d[k]);
        if (!d[0].ok || !d[1].ok || d[0].w != d[1].w || d[0].h != d[1].h) {
            st = cg_fail(CG_ERR_FORMAT, "bench: %s decodes as %dx%d (%s) and %dx%d with stb_image (%s)", p, d[0].w,
                         d[0].h, d[0].ok ? "ok" : d[0].detail, d[1].w, d[1].h, d[1].ok ? "ok" : d[1].detail);
        } else {
            size_t m = (size_t)d[0].w * (size_t)d[0].h * 3;
            double sum = 0;
            for (size_t j = 0; j < m; j++) sum += fabs((double)d[0].pixels[j] - (double)d[1].pixels[j]);
            if (sum / (double)m > t->max_diff_mean) t->max_diff_mean = sum / (double)m;
        }
        for (int k = 0; k < 2; k++) cg_decoded_release(&d[k]);
        free(p);
    }
    CG_TRY(st);
    // Both decode the same picture: a mean difference of a few levels is IDCT and upsampling rounding.
    if (t->max_diff_mean > 4)
        return cg_fail(CG_ERR_NUMERIC, "bench: the JPEG decoders differ by %.2f levels on average",
                       t->max_diff_mean);
    char **paths = calloc((size_t)n, sizeof *paths);
    if (!paths) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < n && st == CG_OK; i++)
        if (!(paths[i] = image_path(dir, i))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int r = 0; r < reps && st == CG_OK; r++)
        for (int k = 0; k < 2; k++) {
            double t0 = cg_now_s();
            for (int i = 0; i < n; i++) {
                cg_decoded d;
                fn[k](paths[i], max_side, &d);
                cg_decoded_release(&d);
            }
            t->s[k][r] = cg_now_s() - t0;
        }
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return st;
}

// `decode region`: the pipeline's decoding, the part of each image cg_preprocess_run asks for
// (cg_pp_needed_region) on the same thread pool as the `decode` row's whole images.
typedef struct {
    int reps, threads;
    size_t n;
    double s[MAX_REPS]; // wall seconds per run over all n images
    double share;       // decoded pixels / all pixels, over the images
} region_times;

typedef struct {
    const cg_pp_params *p;
    const cg_landmarks *lm;
    double *area; // the region's pixels, written when the decoder asks
} region_ctx;

static void region_of(void *ctx, int w, int h, int r[4]) {
    region_ctx *c = ctx;
    cg_pp_needed_region(c->p, c->lm, w, h, r);
    *c->area = (double)(r[2] - r[0]) * (double)(r[3] - r[1]);
}

// The images cg_preprocess_bench times (its first n with a file, and landmarks when the list has
// any), decoded once checked (every one decodes, its region inside it), then --reps timed runs.
static cg_status time_region_decode(const cg_pp_params *p, size_t n, int reps, region_times *t) {
    char images[1024], lm[1024], at[1024], pa[1024];
    cg_pp_resolve_paths(p, images, lm, at, pa);
    cg_celeba_paths paths = {images, lm, at, pa};
    cg_celeba_set set;
    memset(&set, 0, sizeof set);
    CG_TRY(cg_celeba_read(&paths, &set));
    size_t *entry = malloc((set.n + 1) * sizeof *entry);
    char **path = calloc(n + 1, sizeof *path);
    cg_decoded *dec = calloc(n + 1, sizeof *dec);
    region_ctx *ctx = calloc(n + 1, sizeof *ctx);
    cg_region *reg = calloc(n + 1, sizeof *reg);
    double *area = calloc(n + 1, sizeof *area);
    cg_status st = entry && path && dec && ctx && reg && area ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    size_t m = 0;
    for (size_t i = 0; st == CG_OK && i < set.n && m < n; i++)
        if (set.entries[i].has_file && (!set.has_landmark_file || set.entries[i].has_landmarks)) entry[m++] = i;
    for (size_t i = 0; st == CG_OK && i < m; i++) {
        const cg_celeba_entry *e = &set.entries[entry[i]];
        size_t len = strlen(images) + strlen(e->name) + 2;
        if (!(path[i] = malloc(len))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        else snprintf(path[i], len, "%s/%s", images, e->name);
        // As the pipeline: landmarks when the list has them and a landmark stage wants them.
        int use = set.has_landmark_file && (p->frontal || p->sunglasses || p->zoom);
        ctx[i] = (region_ctx){p, use ? &e->lm : NULL, &area[i]};
        reg[i] = (cg_region){region_of, &ctx[i]};
    }
    cg_decode_pool *pool = NULL;
    if (st == CG_OK && m == 0) st = cg_fail(CG_ERR_NOT_FOUND, "bench: no images to decode in '%s'", images);
    if (st == CG_OK) st = cg_decode_pool_create(p->threads, p->max_side, &pool);
    t->n = m;
    t->reps = 0;
    t->threads = pool ? cg_decode_pool_threads(pool) : 0;
    for (int r = -1; st == CG_OK && r < reps; r++) { // r = -1: the checked, untimed run
        for (size_t i = 0; i < m; i++) area[i] = -1; // stays -1 where the decoder decodes the whole image
        double t0 = cg_now_s();
        for (size_t i = 0; st == CG_OK && i < m; i++)
            st = cg_decode_pool_submit_region(pool, path[i], &reg[i], &dec[i]);
        for (size_t i = 0; i < m; i++)
            if (dec[i].state == 1) cg_decode_pool_wait(pool, &dec[i]);
        double dt = cg_now_s() - t0;
        double pixels = 0, decoded = 0;
        for (size_t i = 0; i < m; i++) {
            if (area[i] < 0) area[i] = (double)dec[i].w * dec[i].h;
            if (st == CG_OK && r < 0 && !dec[i].ok)
                st = cg_fail(CG_ERR_FORMAT, "bench: %s cannot be decoded: %s", path[i], dec[i].detail);
            if (st == CG_OK && r < 0 && !(area[i] > 0 && area[i] <= (double)dec[i].w * dec[i].h))
                st = cg_fail(CG_ERR_NUMERIC, "bench: %s: region of %g pixels in a %dx%d image", path[i], area[i],
                             dec[i].w, dec[i].h);
            pixels += (double)dec[i].w * dec[i].h;
            decoded += area[i];
            cg_decoded_release(&dec[i]);
        }
        if (st == CG_OK && r < 0) t->share = decoded / pixels;
        if (st == CG_OK && r >= 0) t->s[t->reps++] = dt;
    }
    cg_decode_pool_free(pool);
    for (size_t i = 0; i < m; i++) free(path[i]);
    free(entry);
    free(path);
    free(dec);
    free(ctx);
    free(reg);
    free(area);
    cg_celeba_free(&set);
    return st;
}

static cg_status synth_and_time(cg_runtime *rt, int n, int reps, int *size, cg_pp_bench *out, decoder_times *dec,
                                region_times *region, bench_peer *peer) {
    char dir[] = "/tmp/clgan-bench-preprocess-XXXXXX";
    if (!mkdtemp(dir)) return cg_fail(CG_ERR_IO, "cannot create a temporary folder in /tmp");
    cg_status st = cg_synth_write(dir, n, 2024, 0, NULL);
    if (st == CG_OK) {
        cg_pp_params p;
        cg_pp_params_default(&p);
        p.input = dir;
        p.output = "";
        p.reject_sheets = 0;
        *size = p.size;
        for (int r = 0; r < reps && st == CG_OK; r++) st = cg_preprocess_bench(rt, &p, (size_t)n, &out[r]);
        if (st == CG_OK) st = time_region_decode(&p, (size_t)n, reps, region);
        if (st == CG_OK) st = time_decoders(dir, n, reps, p.max_side, dec);
        if (st == CG_OK) pil_peer(dir, p.size, reps, peer);
    }
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    return st;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Median, min and max of v[0..n) into the row (n >= 1).
static void row_times(bench_row *row, const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    row->reps = n;
    row->median_s = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    row->min_s = s[0];
    row->max_s = s[n - 1];
}

typedef struct {
    const char *name;
    size_t offset; // of the stage's seconds in cg_pp_bench
} stage;

static const stage stages[] = {
    {"decode", offsetof(cg_pp_bench, decode_s)},           {"filter", offsetof(cg_pp_bench, filter_s)},
    {"upload", offsetof(cg_pp_bench, upload_s)},           {"crop_resize", offsetof(cg_pp_bench, crop_resize_s)},
    {"brightness", offsetof(cg_pp_bench, brightness_s)},   {"pipeline", offsetof(cg_pp_bench, pipeline_s)},
};

// The build's JPEG decoder, short enough for a row's impl ("libjpeg-turbo 2.1.5", "stb_image").
static void decoder_impl(char *out, size_t len) {
    const char *d = cg_image_jpeg_decoder();
    size_t k = strcspn(d, " (");
    if (!strncmp(d, "libjpeg", 7)) k = strcspn(d, "(");
    snprintf(out, len, "%.*s", (int)k, d);
    for (size_t i = strlen(out); i > 0 && out[i - 1] == ' ';) out[--i] = 0;
}

static bench_row *new_row(bench_report *rep, const char *name, const char *shape, cg_runtime *rt, int device_index) {
    bench_row *row = bench_report_add(rep);
    if (!row) return NULL;
    snprintf(row->suite, sizeof row->suite, "preprocess");
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->shape, sizeof row->shape, "%s", shape);
    snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
    row->device_index = device_index;
    snprintf(row->unit, sizeof row->unit, "images/s");
    return row;
}

static cg_status decoder_rows(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep,
                              const decoder_times *t, cg_status st, const char *why) {
    static const char *const names[2] = {"decode_1core", "decode_stb_1core"};
    char shape[96];
    snprintf(shape, sizeof shape, "%d synthetic 178x218 JPEGs, full decode, 1 thread", t->n);
    for (int k = 0; k < 2; k++) {
        if (!bench_case_selected(opt, names[k])) continue;
        bench_row *row = new_row(rep, names[k], shape, rt, device_index);
        if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (k == 0) decoder_impl(row->impl, sizeof row->impl);
        else snprintf(row->impl, sizeof row->impl, "stb_image");
        row->work = t->n;
        row->checked = st == CG_OK;
        row->check_err = t->max_diff_mean;
        if (st == CG_OK && t->reps > 0) {
            row_times(row, t->s[k], t->reps);
            snprintf(row->status, sizeof row->status, "ok");
            if (k == 0) { // stb_image, timed alternately on the same thread, is the row's reference
                bench_row ref;
                row_times(&ref, t->s[1], t->reps);
                snprintf(row->ref_name, sizeof row->ref_name, "stb_image");
                row->ref_median_s = ref.median_s;
                row->ref_min_s = ref.min_s;
                row->ref_max_s = ref.max_s;
            }
        } else {
            snprintf(row->status, sizeof row->status, "%s", why[0] ? why : "failed: no time reported");
        }
        if (opt->log)
            fprintf(opt->log, "preprocess %-16s %-44s %10.1f images/s  %s (%s)\n", row->name, row->shape,
                    bench_row_rate(row), row->status, row->impl);
    }
    return CG_OK;
}

// The `decode region` row; its reference is the `decode` row (whole images, same pool), so the ratio
// is what decoding only the regions gains.
static cg_status region_row(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep,
                            const region_times *t, const bench_row *whole, cg_status st, const char *why) {
    if (!bench_case_selected(opt, "decode region")) return CG_OK;
    char shape[96];
    snprintf(shape, sizeof shape, "%zu synthetic 178x218 JPEGs, crop regions (%.0f%% of pixels), %d threads", t->n,
             100 * t->share, t->threads);
    bench_row *row = new_row(rep, "decode region", shape, rt, device_index);
    if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    decoder_impl(row->impl, sizeof row->impl);
    row->work = (double)t->n;
    row->checked = st == CG_OK;
    if (st == CG_OK && t->reps > 0) {
        row_times(row, t->s, t->reps);
        snprintf(row->status, sizeof row->status, "ok");
        if (whole && !strcmp(whole->status, "ok") && whole->work == row->work) {
            snprintf(row->ref_name, sizeof row->ref_name, "whole images");
            row->ref_median_s = whole->median_s;
            row->ref_min_s = whole->min_s;
            row->ref_max_s = whole->max_s;
        }
    } else {
        snprintf(row->status, sizeof row->status, "%s", why[0] ? why : "failed: no time reported");
    }
    if (opt->log)
        fprintf(opt->log, "preprocess %-12s %-44s %10.1f images/s  %s\n", row->name, row->shape, bench_row_rate(row),
                row->status);
    return CG_OK;
}

static cg_status run_preprocess(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    int n = opt->quick ? 20 : 200;
    int reps = opt->reps < 1 ? 1 : opt->reps > MAX_REPS ? MAX_REPS : opt->reps;
    cg_pp_bench b[MAX_REPS];
    memset(b, 0, sizeof b);
    decoder_times dec;
    memset(&dec, 0, sizeof dec);
    region_times region;
    memset(&region, 0, sizeof region);
    bench_row whole;
    memset(&whole, 0, sizeof whole);
    int size = 0;
    bench_peer peer;
    memset(&peer, 0, sizeof peer);
    snprintf(peer.skip, sizeof peer.skip, "not run (the clgan pipeline failed)");
    cg_status st = synth_and_time(rt, n, reps, &size, b, &dec, &region, &peer);
    char why[sizeof ((bench_row *)0)->status] = "";
    if (st != CG_OK) snprintf(why, sizeof why, "failed: %s", cg_last_error());
    char impl[24];
    decoder_impl(impl, sizeof impl);
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        if (!bench_case_selected(opt, stages[i].name)) continue;
        char shape[96];
        if (!strcmp(stages[i].name, "decode")) // the pipeline decodes only regions: the `decode region` row
            snprintf(shape, sizeof shape, "%d synthetic 178x218 JPEGs, whole images, %d threads", n, b[0].threads);
        else
            snprintf(shape, sizeof shape, "%d synthetic 178x218 JPEGs -> %dx%d, %d threads", n, size, size,
                     b[0].threads);
        bench_row *row = new_row(rep, stages[i].name, shape, rt, device_index);
        if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        // The decoding rows name the JPEG decoder that ran.
        int decodes = !strcmp(stages[i].name, "decode") || !strcmp(stages[i].name, "pipeline");
        snprintf(row->impl, sizeof row->impl, "%s", decodes ? impl : "preprocess");
        row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
        row->work = (double)b[0].images;
        double s[MAX_REPS];
        int ok = st == CG_OK;
        for (int r = 0; r < reps; r++) {
            s[r] = *(const double *)((const char *)&b[r] + stages[i].offset);
            ok = ok && s[r] > 0;
        }
        if (ok) {
            row_times(row, s, reps);
            snprintf(row->status, sizeof row->status, "ok");
        } else {
            row->reps = 1;
            snprintf(row->status, sizeof row->status, "%s", why[0] ? why : "failed: no time reported");
        }
        double peer_images = bench_peer_get(&peer, "images");
        if (!strcmp(stages[i].name, "pipeline") && !strcmp(row->status, "ok")) {
            // Per image: PIL's time scaled to the images clgan's pipeline kept.
            if (!peer.skip[0] && peer_images > 0) bench_peer_apply(row, "pil", &peer, row->work / peer_images);
            else bench_peer_skip_note(row, "pil", peer.skip);
        }
        if (opt->log)
            fprintf(opt->log, "preprocess %-12s %-44s %10.1f images/s  %s\n", row->name, row->shape,
                    bench_row_rate(row), row->status);
        if (!strcmp(stages[i].name, "decode")) whole = *row;
        if (opt->log && row->ref_name[0])
            fprintf(opt->log, "preprocess pipeline PIL (%d processes) %.1f images/s, clgan/PIL %.2f (%s)\n",
                    (int)bench_peer_get(&peer, "threads"), bench_row_ref_rate(row), bench_row_ratio(row), impl);
        else if (opt->log && row->ref_skip[0])
            fprintf(opt->log, "preprocess pipeline %s\n", row->ref_skip);
    }
    CG_TRY(region_row(rt, device_index, opt, rep, &region, whole.status[0] ? &whole : NULL, st, why));
    CG_TRY(decoder_rows(rt, device_index, opt, rep, &dec, st, why));
    return st == CG_ERR_NOMEM ? st : CG_OK;
}

static int preprocess_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_preprocess = {
    "preprocess",
    "CelebA preprocessing on synthetic faces (200): decode, filter, upload, crop/resize, brightness and the "
    "whole pipeline, images/s; JPEG decoders on one core (the build's against stb_image)",
    preprocess_available,
    run_preprocess,
};
