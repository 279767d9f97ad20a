// preprocess_stages.c — images per second of each preprocessing stage on the selected device, each timed on
// its own over the same images (list reading, landmark geometry, host decoding on the thread pool,
// upload, crop/resize kernel, brightness kernels), then the whole pipeline end to end.
// Results are checked before they are timed: every image must decode and the device sums must be
// plausible (the crop's mean grey level within 0..255).
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double rate(size_t n, double s) { return s > 0 ? (double)n / s : 0; }

typedef struct {
    size_t n;
    size_t *entry;
    cg_decoded *dec;
    char **path;
} bench_set;

static void set_free(bench_set *b) {
    for (size_t i = 0; i < b->n; i++) {
        if (b->dec) cg_decoded_release(&b->dec[i]);
        if (b->path) free(b->path[i]);
    }
    free(b->entry);
    free(b->dec);
    free(b->path);
}

// Landmark geometry for every image, repeated until it takes a measurable time.
static double time_filters(const cg_celeba_set *s, const bench_set *b, const cg_pp_params *p) {
    volatile float sink = 0;
    size_t reps = 0;
    double t0 = cg_now_s(), t;
    do {
        for (size_t i = 0; i < b->n; i++) {
            const cg_celeba_entry *e = &s->entries[b->entry[i]];
            if (!e->has_landmarks) continue;
            cg_frontal_metrics m = cg_frontal_measure(&e->lm);
            cg_landmarks lm = cg_landmarks_to_image(&e->lm, b->dec[i].w, b->dec[i].h);
            cg_ibox eyes[2];
            cg_eye_boxes(&lm, p->eye_box, b->dec[i].w, b->dec[i].h, eyes);
            cg_box c = cg_crop_box(&lm, p->zoom_factor, b->dec[i].w, b->dec[i].h);
            sink += (float)cg_frontal_pass(&m, p) + c.w + (float)eyes[0].x0;
        }
        reps++;
        t = cg_now_s() - t0;
    } while (t < 0.05 && reps < 100000);
    (void)sink;
    return t / (double)reps;
}

// Packs images [i0, i1) of b into one device batch.
static cg_status pack(const cg_celeba_set *s, const bench_set *b, size_t i0, size_t i1, const cg_pp_params *p,
                      cg_image_batch *ib, uint8_t **pixels, uint64_t *off, int *wh, cg_box *crop, cg_ibox *boxes) {
    size_t bytes = 0;
    for (size_t i = i0; i < i1; i++) bytes += (size_t)b->dec[i].w * (size_t)b->dec[i].h * 3;
    uint8_t *px = realloc(*pixels, bytes);
    if (!px) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    *pixels = px;
    size_t o = 0;
    for (size_t i = i0, j = 0; i < i1; i++, j++) {
        const cg_decoded *d = &b->dec[i];
        const cg_celeba_entry *e = &s->entries[b->entry[i]];
        memcpy(px + o, d->pixels, (size_t)d->w * (size_t)d->h * 3);
        off[j] = o;
        o += (size_t)d->w * (size_t)d->h * 3;
        wh[2 * j] = d->w;
        wh[2 * j + 1] = d->h;
        cg_landmarks lm = cg_landmarks_to_image(&e->lm, d->w, d->h);
        crop[j] = cg_crop_box(e->has_landmarks && p->zoom ? &lm : NULL, p->zoom_factor, d->w, d->h);
        boxes[3 * j] = cg_box_pixels(crop[j], d->w, d->h);
        if (e->has_landmarks) cg_eye_boxes(&lm, p->eye_box, d->w, d->h, &boxes[3 * j + 1]);
        else boxes[3 * j + 1] = boxes[3 * j + 2] = (cg_ibox){0, 0, 0, 0};
    }
    *ib = (cg_image_batch){(int)(i1 - i0), px, off, wh, crop, boxes, bytes};
    return CG_OK;
}

static cg_status time_device(cg_runtime *rt, const cg_celeba_set *s, const bench_set *b, const cg_pp_params *p,
                             double secs[3]) {
    size_t nb = (size_t)p->batch;
    uint8_t *pixels = NULL, *out = malloc(nb * (size_t)p->size * (size_t)p->size * 3);
    uint64_t *off = malloc(nb * sizeof *off), *sums = malloc(3 * nb * sizeof *sums);
    int *wh = malloc(2 * nb * sizeof *wh);
    cg_box *crop = malloc(nb * sizeof *crop);
    cg_ibox *boxes = malloc(3 * nb * sizeof *boxes);
    cg_image_ops *ops = NULL;
    cg_status st = out && off && sums && wh && crop && boxes ? cg_image_ops_create(rt, &ops)
                                                            : cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_image_batch ib;
    // Warm-up (kernel build) and check on the first batch, untimed.
    if (st == CG_OK) st = pack(s, b, 0, b->n < nb ? b->n : nb, p, &ib, &pixels, off, wh, crop, boxes);
    if (st == CG_OK) st = cg_image_ops_run(ops, &ib, p->size, out, sums, NULL);
    for (int i = 0; st == CG_OK && i < ib.n; i++) {
        const cg_ibox *q = &boxes[3 * i];
        double mean = (double)sums[3 * i] / (1000.0 * (q->x1 - q->x0) * (q->y1 - q->y0));
        if (!(mean >= 0 && mean <= 255)) st = cg_fail(CG_ERR_NUMERIC, "bench: crop mean %g is out of range", mean);
    }
    for (size_t i0 = 0; st == CG_OK && i0 < b->n; i0 += nb) {
        size_t i1 = i0 + nb < b->n ? i0 + nb : b->n;
        st = pack(s, b, i0, i1, p, &ib, &pixels, off, wh, crop, boxes);
        if (st == CG_OK) st = cg_image_ops_time(ops, &ib, p->size, out, sums, secs);
    }
    cg_image_ops_free(ops);
    free(pixels);
    free(out);
    free(off);
    free(sums);
    free(wh);
    free(crop);
    free(boxes);
    return st;
}

static cg_status run_bench(cg_runtime *rt, const cg_pp_params *p, size_t max_images, cg_pp_bench *out,
                           cg_celeba_set *set, bench_set *b) {
    char images[1024], lm[1024], at[1024], pa[1024];
    cg_pp_resolve_paths(p, images, lm, at, pa);
    double t0 = cg_now_s();
    cg_celeba_paths paths = {images, lm, at, pa};
    CG_TRY(cg_celeba_read(&paths, set));
    out->list_s = cg_now_s() - t0;
    size_t cap = max_images ? max_images : p->limit > 0 ? (size_t)p->limit : set->n;
    b->entry = malloc((set->n + 1) * sizeof *b->entry);
    if (!b->entry) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    // Images with a file, and with landmarks when the list has any.
    for (size_t i = 0; i < set->n && b->n < cap; i++)
        if (set->entries[i].has_file && (!set->has_landmark_file || set->entries[i].has_landmarks))
            b->entry[b->n++] = i;
    if (b->n == 0) return cg_fail(CG_ERR_NOT_FOUND, "bench: no images to time in '%s'", images);
    b->dec = calloc(b->n, sizeof *b->dec);
    b->path = calloc(b->n, sizeof *b->path);
    if (!b->dec || !b->path) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (size_t i = 0; i < b->n; i++) {
        size_t len = strlen(images) + strlen(set->entries[b->entry[i]].name) + 2;
        if (!(b->path[i] = malloc(len))) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        snprintf(b->path[i], len, "%s/%s", images, set->entries[b->entry[i]].name);
    }
    cg_decode_pool *pool = NULL;
    CG_TRY(cg_decode_pool_create(p->threads, p->max_side, &pool));
    out->threads = cg_decode_pool_threads(pool);
    t0 = cg_now_s();
    cg_status st = CG_OK;
    for (size_t i = 0; st == CG_OK && i < b->n; i++) st = cg_decode_pool_submit(pool, b->path[i], &b->dec[i]);
    for (size_t i = 0; i < b->n; i++)
        if (b->dec[i].state == 1) cg_decode_pool_wait(pool, &b->dec[i]);
    out->decode_s = cg_now_s() - t0;
    cg_decode_pool_free(pool);
    CG_TRY(st);
    for (size_t i = 0; i < b->n; i++)
        if (!b->dec[i].ok)
            return cg_fail(CG_ERR_FORMAT, "bench: %s cannot be decoded: %s", b->path[i], b->dec[i].detail);
    out->images = b->n;
    out->filter_s = time_filters(set, b, p);
    double secs[3] = {0, 0, 0};
    CG_TRY(time_device(rt, set, b, p, secs));
    out->upload_s = secs[0];
    out->crop_resize_s = secs[1];
    out->brightness_s = secs[2];
    cg_pp_params q = *p;
    q.output = "";
    q.reject_sheets = 0;
    q.limit = (long)(b->entry[b->n - 1] + 1); // the same first entries
    cg_pp_result *r = NULL;
    t0 = cg_now_s();
    CG_TRY(cg_preprocess_run(rt, &q, NULL, &r));
    out->pipeline_s = cg_now_s() - t0;
    cg_pp_result_free(r);
    return CG_OK;
}

cg_status cg_preprocess_bench(cg_runtime *rt, const cg_pp_params *p, size_t max_images, cg_pp_bench *out) {
    memset(out, 0, sizeof *out);
    cg_celeba_set set;
    memset(&set, 0, sizeof set);
    bench_set b = {0};
    cg_status st = run_bench(rt, p, max_images, out, &set, &b);
    set_free(&b);
    cg_celeba_free(&set);
    if (st != CG_OK) return st;
    out->filter_ips = rate(out->images, out->filter_s);
    out->decode_ips = rate(out->images, out->decode_s);
    out->upload_ips = rate(out->images, out->upload_s);
    out->crop_resize_ips = rate(out->images, out->crop_resize_s);
    out->brightness_ips = rate(out->images, out->brightness_s);
    out->pipeline_ips = rate(out->images, out->pipeline_s);
    return CG_OK;
}
