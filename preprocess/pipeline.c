// pipeline.c — `clgan preprocess` end to end: read the lists, apply the landmark-only stages on the
// host (partition, missing files, landmarks present, frontal), decode the survivors on a thread
// pool, and run the image work on the device in batches: while batch k is on the device, the pool
// decodes batches k+1 and k+2 and the host finishes batch k-1 (sunglasses decision, dataset write,
// contact sheets). Output order is the sorted input order, whatever the thread count.
#include "pipeline.h"

#include "dataset.h"
#include "image_loader.h"
#include "image_ops.h"

#include <math.h>

// Rows and columns decoded beyond those the crop/resize taps reach, against float rounding in the
// kernel's tap range.
#ifndef CG_PP_ROW_MARGIN
#define CG_PP_ROW_MARGIN 4
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

// One half of the double buffer: the host side of a device batch.
typedef struct {
    int n;
    size_t *entry;   // entry index of each image
    uint8_t *sheet_only;
    uint8_t *pixels;
    size_t pixel_bytes, pixel_cap;
    uint64_t *offset;
    int *wh;
    cg_box *crop;
    cg_ibox *boxes;  // 3 per image: reference, left eye, right eye
    uint8_t *out;
    uint64_t *sums;
    cl_event done;
} batch_slot;

typedef struct {
    const cg_pp_params *p;
    cg_pp_result *r;
    cg_decode_pool *pool;
    cg_image_ops *ops;
    cg_dataset_writer *writer;
    cg_progress *progress;
    int use_landmarks;   // landmark rows exist and some stage needs them
    int sun_on;
    size_t *cand;        // entries to decode, in order
    uint8_t *cand_sheet; // 1: a frontal reject decoded only for its contact sheet
    size_t n_cand, submitted, consumed;
    cg_decoded *ring;    // decode slots, indexed by candidate position % ring_n
    struct ring_rows *ring_rows; // what each slot's decoder is asked to decode
    char **ring_path;
    size_t ring_n;
    size_t batch_bytes_max;
    batch_slot slot[2];
    size_t decoded_ok, broken, sun_removed, finished;
} run_state;

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}
static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

// An explicit value wins ("none" disables the list); else <input>/<standard name> when it exists.
static void resolve(const char *value, const char *input, const char *standard, char *out, size_t len) {
    if (value && *value) snprintf(out, len, "%s", strcmp(value, "none") ? value : "");
    else {
        snprintf(out, len, "%s/%s", input, standard);
        if (!is_file(out)) out[0] = 0;
    }
}

void cg_pp_resolve_paths(const cg_pp_params *p, char images[1024], char landmarks[1024], char attributes[1024],
                         char partitions[1024]) {
    if (p->images && *p->images) snprintf(images, 1024, "%s", p->images);
    else {
        snprintf(images, 1024, "%s/img_align_celeba", p->input);
        if (!is_dir(images)) snprintf(images, 1024, "%s", p->input);
    }
    resolve(p->landmarks, p->input, "list_landmarks_align_celeba.txt", landmarks, 1024);
    resolve(p->attributes, p->input, "list_attr_celeba.txt", attributes, 1024);
    resolve(p->partitions, p->input, "list_eval_partition.txt", partitions, 1024);
}

static void add_note(cg_pp_result *r, const char *text) {
    if (r->n_notes < (int)(sizeof r->notes / sizeof r->notes[0]))
        snprintf(r->notes[r->n_notes++], CG_NOTE_LEN, "%s", text);
}

static void add_stage(cg_pp_result *r, const char *name, size_t kept, size_t before, const char *note) {
    cg_pp_stage *s = &r->stages[r->n_stages++];
    s->name = name;
    s->kept = kept;
    s->removed = before - kept;
    snprintf(s->note, sizeof s->note, "%s", note ? note : "");
}

static int partition_wanted(const char *which, int part) {
    if (!strcmp(which, "all")) return 1;
    int want = !strcmp(which, "train") ? 0 : !strcmp(which, "val") ? 1 : 2;
    return part == want;
}

// Host stages in order; leaves the candidates to decode in st->cand.
// The first landmark (0-based) outside the reference image the coordinates refer to, or -1.
static int landmark_outside(const cg_landmarks *lm) {
    for (int k = 0; k < CG_LM_POINTS; k++)
        if (!(lm->x[k] >= 0 && lm->x[k] < CG_LM_REF_W && lm->y[k] >= 0 && lm->y[k] < CG_LM_REF_H)) return k;
    return -1;
}

static cg_status host_stages(run_state *st) {
    const cg_pp_params *p = st->p;
    cg_pp_result *r = st->r;
    cg_celeba_set *set = &r->set;
    size_t n = set->n, listed = p->limit > 0 && (size_t)p->limit < n ? (size_t)p->limit : n;
    char note[160] = "";
    if (listed < n) snprintf(note, sizeof note, "limit: the first %zu of %zu entries", listed, n);
    add_stage(r, "listed", listed, listed, note);
    for (size_t i = listed; i < n; i++) r->items[i].outcome = CG_PP_BEYOND_LIMIT;
    size_t alive = listed, before;
    if (strcmp(p->partition, "all")) {
        before = alive;
        for (size_t i = 0; i < listed; i++)
            if (r->items[i].outcome == CG_PP_KEPT && !partition_wanted(p->partition, set->entries[i].partition))
                r->items[i].outcome = CG_PP_PARTITION, alive--;
        snprintf(note, sizeof note, "partition = %s", p->partition);
        add_stage(r, "partition", alive, before, note);
    }
    before = alive;
    for (size_t i = 0; i < listed; i++) {
        if (r->items[i].outcome != CG_PP_KEPT || set->entries[i].has_file) continue;
        r->items[i].outcome = CG_PP_MISSING;
        alive--;
        CG_TRY(cg_issues_add(&r->issues, CG_ISSUE_MISSING, set->entries[i].name,
                             "listed in the landmarks, no file in %s", r->images_dir));
    }
    add_stage(r, "images", alive, before, alive < before ? "listed without an image file" : "");
    if (st->use_landmarks) {
        before = alive;
        for (size_t i = 0; i < listed; i++) {
            if (r->items[i].outcome != CG_PP_KEPT) continue;
            int k = set->entries[i].has_landmarks ? landmark_outside(&set->entries[i].lm) : -1;
            if (k >= 0) // the ratios of the frontal test do not change with scale: x50 would pass
                CG_TRY(cg_issues_add(&r->issues, CG_ISSUE_MALFORMED_ROW, set->entries[i].name,
                                     "landmark %d at (%g, %g) lies outside the %dx%d aligned image", k + 1,
                                     (double)set->entries[i].lm.x[k], (double)set->entries[i].lm.y[k], CG_LM_REF_W,
                                     CG_LM_REF_H));
            if (!set->entries[i].has_landmarks || k >= 0) r->items[i].outcome = CG_PP_NO_LANDMARKS, alive--;
        }
        add_stage(r, "landmarks", alive, before, alive < before ? "images without a (valid) landmark row" : "");
    }
    st->cand = malloc((alive + 1) * sizeof *st->cand);
    st->cand_sheet = malloc(alive + 1); // frontal rejects decoded for the sheet are among these
    if (!st->cand || !st->cand_sheet) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    int frontal_on = st->use_landmarks && p->frontal, sheet_n = 0;
    before = alive;
    for (size_t i = 0; i < listed; i++) {
        cg_pp_item *it = &r->items[i];
        if (set->entries[i].has_landmarks) it->fm = cg_frontal_measure(&set->entries[i].lm);
        if (it->outcome != CG_PP_KEPT) continue;
        int sheet = 0;
        if (frontal_on && !cg_frontal_pass(&it->fm, p)) {
            it->outcome = CG_PP_NOT_FRONTAL;
            alive--;
            if (!p->reject_sheets || sheet_n >= p->sheet_max) continue;
            sheet = 1, sheet_n++;
        }
        st->cand_sheet[st->n_cand] = (uint8_t)sheet;
        st->cand[st->n_cand++] = i;
    }
    if (frontal_on) {
        snprintf(note, sizeof note, "eye_dy <= %g, nose_dx <= %g, mouth_dy <= %g", p->eye_dy_max, p->nose_dx_max,
                 p->mouth_dy_max);
        add_stage(r, "frontal", alive, before, note);
    }
    return CG_OK;
}

void cg_pp_needed_region(const cg_pp_params *p, const cg_landmarks *official, int w, int h, int reg[4]) {
    if (!official || !strcmp(p->sunglasses_reference, "image")) return;
    cg_landmarks lm = cg_landmarks_to_image(official, w, h);
    cg_box c = cg_crop_box(p->zoom ? &lm : NULL, p->zoom_factor, w, h);
    if (!isfinite(c.x0) || !isfinite(c.y0) || !(c.w > 0 && c.w < 1e7) || !(c.h > 0 && c.h < 1e7)) return;
    cg_ibox box[3];
    box[0] = cg_box_pixels(c, w, h);
    cg_eye_boxes(&lm, p->eye_box, w, h, box + 1);
    double rx = c.w / p->size > 1 ? c.w / p->size : 1, ry = c.h / p->size > 1 ? c.h / p->size : 1;
    double lo[2] = {floor(c.x0 - rx) - CG_PP_ROW_MARGIN, floor(c.y0 - ry) - CG_PP_ROW_MARGIN};
    double hi[2] = {ceil((double)c.x0 + c.w + rx) + CG_PP_ROW_MARGIN, ceil((double)c.y0 + c.h + ry) + CG_PP_ROW_MARGIN};
    for (int k = 0; k < 3; k++) {
        if (box[k].x1 <= box[k].x0 || box[k].y1 <= box[k].y0) continue; // empty: sums nothing
        int b0[2] = {box[k].x0, box[k].y0}, b1[2] = {box[k].x1, box[k].y1};
        for (int a = 0; a < 2; a++) {
            if (b0[a] < lo[a]) lo[a] = b0[a];
            if (b1[a] > hi[a]) hi[a] = b1[a];
        }
    }
    int size[2] = {w, h};
    for (int a = 0; a < 2; a++) {
        reg[a] = lo[a] < 0 ? 0 : lo[a] > size[a] ? size[a] : (int)lo[a];
        reg[a + 2] = hi[a] < reg[a] ? reg[a] : hi[a] > size[a] ? size[a] : (int)hi[a];
    }
}

typedef struct ring_rows {
    cg_region rows;
    const run_state *st;
    size_t entry;
} ring_rows;

// The part of an entry's image the device reads (slot_add's boxes): cg_pp_needed_region.
static void needed_region(void *ctx, int w, int h, int reg[4]) {
    const ring_rows *rr = ctx;
    const run_state *st = rr->st;
    cg_pp_needed_region(st->p, st->use_landmarks ? &st->r->set.entries[rr->entry].lm : NULL, w, h, reg);
}

static cg_status submit_ahead(run_state *st) {
    while (st->submitted < st->n_cand && st->submitted - st->consumed < st->ring_n) {
        size_t k = st->submitted % st->ring_n;
        const char *name = st->r->set.entries[st->cand[st->submitted]].name;
        size_t len = strlen(st->r->images_dir) + strlen(name) + 2;
        if (!(st->ring_path[k] = malloc(len))) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        snprintf(st->ring_path[k], len, "%s/%s", st->r->images_dir, name);
        st->ring_rows[k] = (ring_rows){{needed_region, &st->ring_rows[k]}, st, st->cand[st->submitted]};
        const cg_region *region = st->p->whole_images ? NULL : &st->ring_rows[k].rows;
        CG_TRY(cg_decode_pool_submit_region(st->pool, st->ring_path[k], region, &st->ring[k]));
        st->submitted++;
    }
    return CG_OK;
}

static cg_status grow(void **ptr, size_t bytes) {
    void *q = realloc(*ptr, bytes ? bytes : 1);
    if (!q) return cg_fail(CG_ERR_NOMEM, "out of host memory (%zu bytes for a batch)", bytes);
    *ptr = q;
    return CG_OK;
}

static cg_status slot_reserve(batch_slot *b, int batch, int size) {
    size_t n = (size_t)batch;
    CG_TRY(grow((void **)&b->entry, n * sizeof *b->entry));
    CG_TRY(grow((void **)&b->sheet_only, n));
    CG_TRY(grow((void **)&b->offset, n * sizeof *b->offset));
    CG_TRY(grow((void **)&b->wh, 2 * n * sizeof *b->wh));
    CG_TRY(grow((void **)&b->crop, n * sizeof *b->crop));
    CG_TRY(grow((void **)&b->boxes, 3 * n * sizeof *b->boxes));
    CG_TRY(grow((void **)&b->out, n * (size_t)size * (size_t)size * 3));
    return grow((void **)&b->sums, 3 * n * sizeof *b->sums);
}

static void slot_free(batch_slot *b) {
    if (b->done) {
        clWaitForEvents(1, &b->done);
        clReleaseEvent(b->done);
    }
    free(b->entry);
    free(b->sheet_only);
    free(b->pixels);
    free(b->offset);
    free(b->wh);
    free(b->crop);
    free(b->boxes);
    free(b->out);
    free(b->sums);
    memset(b, 0, sizeof *b);
}

// Moves a decoded image into the batch and computes its boxes.
static cg_status slot_add(run_state *st, batch_slot *b, size_t entry, int sheet, cg_decoded *d) {
    size_t bytes = (size_t)d->w * (size_t)d->h * 3;
    if (b->pixel_bytes + bytes > b->pixel_cap) {
        size_t cap = b->pixel_cap ? b->pixel_cap : 1 << 20;
        while (cap < b->pixel_bytes + bytes) cap *= 2;
        CG_TRY(grow((void **)&b->pixels, cap));
        b->pixel_cap = cap;
    }
    int j = b->n++;
    memcpy(b->pixels + b->pixel_bytes, d->pixels, bytes);
    b->offset[j] = b->pixel_bytes;
    b->pixel_bytes += bytes;
    b->entry[j] = entry;
    b->sheet_only[j] = (uint8_t)sheet;
    b->wh[2 * j] = d->w;
    b->wh[2 * j + 1] = d->h;
    const cg_celeba_entry *e = &st->r->set.entries[entry];
    cg_ibox *rect = &b->boxes[3 * j];
    if (st->use_landmarks) {
        cg_landmarks lm = cg_landmarks_to_image(&e->lm, d->w, d->h);
        b->crop[j] = cg_crop_box(st->p->zoom ? &lm : NULL, st->p->zoom_factor, d->w, d->h);
        cg_eye_boxes(&lm, st->p->eye_box, d->w, d->h, rect + 1);
    } else {
        b->crop[j] = cg_crop_box(NULL, 0, d->w, d->h);
        rect[1] = rect[2] = (cg_ibox){0, 0, 0, 0};
    }
    rect[0] = strcmp(st->p->sunglasses_reference, "image") ? cg_box_pixels(b->crop[j], d->w, d->h)
                                                            : (cg_ibox){0, 0, d->w, d->h};
    return CG_OK;
}

// Fills the batch from the decoded candidates in order; broken images become issues.
static cg_status fill_slot(run_state *st, batch_slot *b) {
    b->n = 0;
    b->pixel_bytes = 0;
    while (st->consumed < st->n_cand && b->n < st->p->batch) {
        CG_TRY(submit_ahead(st));
        size_t k = st->consumed % st->ring_n, entry = st->cand[st->consumed];
        cg_decoded *d = &st->ring[k];
        cg_decode_pool_wait(st->pool, d);
        size_t bytes = (size_t)d->w * (size_t)d->h * 3;
        if (d->ok && b->n > 0 && b->pixel_bytes + bytes > st->batch_bytes_max) break; // next batch takes it
        int sheet = st->cand_sheet[st->consumed];
        st->r->timing.decode_thread_s += d->seconds;
        st->r->timing.decoded++;
        if (d->ok && bytes > st->batch_bytes_max) {
            d->ok = 0;
            d->issue = CG_ISSUE_TOO_LARGE;
            snprintf(d->detail, sizeof d->detail, "%dx%d does not fit the device's largest buffer", d->w, d->h);
        }
        cg_status s = CG_OK;
        if (d->ok) s = slot_add(st, b, entry, sheet, d);
        else if (!sheet) {
            st->r->items[entry].outcome = CG_PP_BROKEN;
            st->broken++;
            s = cg_issues_add(&st->r->issues, d->issue, st->r->set.entries[entry].name, "%s", d->detail);
        }
        if (!d->ok) st->finished++;
        cg_decoded_release(d);
        free(st->ring_path[k]);
        st->ring_path[k] = NULL;
        st->consumed++;
        CG_TRY(s);
    }
    return submit_ahead(st);
}

static void sheet_add(cg_pp_result *r, int which, const uint8_t *img, int size, int max) {
    if (!r->sheet[which] || r->sheet_n[which] >= max) return;
    size_t bytes = (size_t)size * (size_t)size * 3;
    memcpy(r->sheet[which] + (size_t)r->sheet_n[which]++ * bytes, img, bytes);
}

// Waits for a batch's results, decides on sunglasses and writes the kept images.
static cg_status finish_slot(run_state *st, batch_slot *b) {
    if (!b->done) return CG_OK;
    double t0 = cg_now_s();
    cl_int err = clWaitForEvents(1, &b->done);
    clReleaseEvent(b->done);
    b->done = NULL;
    if (err != CL_SUCCESS) return cg_fail(err, "waiting for a preprocessing batch: %s", cg_status_name(err));
    double t1 = cg_now_s();
    st->r->timing.device_s += t1 - t0;
    const cg_pp_params *p = st->p;
    size_t img_bytes = (size_t)p->size * (size_t)p->size * 3;
    for (int j = 0; j < b->n; j++) {
        cg_pp_item *it = &st->r->items[b->entry[j]];
        const uint8_t *img = b->out + (size_t)j * img_bytes;
        const uint64_t *s = &b->sums[3 * j];
        float mean[3];
        for (int k = 0; k < 3; k++) {
            const cg_ibox *q = &b->boxes[3 * j + k];
            double area = (double)(q->x1 - q->x0) * (double)(q->y1 - q->y0);
            mean[k] = area > 0 ? (float)((double)s[k] / (1000.0 * area)) : NAN;
        }
        it->ref_mean = mean[0];
        it->eye_left = mean[1];
        it->eye_right = mean[2];
        it->sun_score = st->use_landmarks ? cg_sunglasses_score(mean[1], mean[2], mean[0]) : NAN;
        st->finished++;
        if (b->sheet_only[j]) {
            sheet_add(st->r, 0, img, p->size, p->sheet_max);
            continue;
        }
        st->decoded_ok++;
        if (st->sun_on && cg_sunglasses_detect(mean[1], mean[2], mean[0], p)) {
            it->outcome = CG_PP_SUNGLASSES;
            st->sun_removed++;
            sheet_add(st->r, 1, img, p->size, p->sheet_max);
            continue;
        }
        if (st->writer) CG_TRY(cg_dataset_writer_add(st->writer, img, st->r->set.entries[b->entry[j]].name));
        st->r->written++;
    }
    st->r->timing.write_s += cg_now_s() - t1;
    if (st->progress) cg_progress_update(st->progress, st->finished, NULL);
    return CG_OK;
}

static cg_status device_stages(run_state *st, cl_ulong max_alloc) {
    const cg_pp_params *p = st->p;
    st->ring_n = 2 * (size_t)p->batch;
    st->ring = calloc(st->ring_n, sizeof *st->ring);
    st->ring_path = calloc(st->ring_n, sizeof *st->ring_path);
    st->ring_rows = calloc(st->ring_n, sizeof *st->ring_rows);
    if (!st->ring || !st->ring_path || !st->ring_rows) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    st->batch_bytes_max = 256u << 20;
    if (max_alloc && st->batch_bytes_max > max_alloc) st->batch_bytes_max = (size_t)max_alloc;
    CG_TRY(cg_decode_pool_create(p->threads, p->max_side, &st->pool));
    for (int s = 0; s < 2; s++) CG_TRY(slot_reserve(&st->slot[s], p->batch, p->size));
    int cur = 0;
    for (;;) {
        batch_slot *b = &st->slot[cur];
        CG_TRY(fill_slot(st, b));
        if (b->n > 0) {
            double t0 = cg_now_s();
            cg_image_batch ib = {b->n, b->pixels, b->offset, b->wh, b->crop, b->boxes, b->pixel_bytes};
            CG_TRY(cg_image_ops_run(st->ops, &ib, p->size, b->out, b->sums, &b->done));
            st->r->timing.device_s += cg_now_s() - t0;
        }
        CG_TRY(finish_slot(st, &st->slot[cur ^ 1]));
        if (b->n == 0 && st->consumed == st->n_cand) break;
        cur ^= 1;
    }
    return CG_OK;
}

static void final_stages(run_state *st) {
    cg_pp_result *r = st->r;
    size_t before = r->stages[r->n_stages - 1].kept;
    add_stage(r, "decoded", st->decoded_ok, before, st->broken ? "unreadable images (see problems)" : "");
    if (st->sun_on) {
        char note[160];
        snprintf(note, sizeof note, "brighter eye box < %g grey and < %g x the %s mean", st->p->sunglasses_grey_max,
                 st->p->sunglasses_ratio_max, st->p->sunglasses_reference);
        add_stage(r, "sunglasses", st->decoded_ok - st->sun_removed, st->decoded_ok, note);
    }
}

// A run that keeps no image must not replace a good dataset with an empty one: the writer is
// aborted by the caller, so an existing output file stays as it was.
static cg_status nothing_kept(run_state *st) {
    const cg_pp_result *r = st->r;
    char counts[512] = "";
    size_t used = 0;
    for (int i = 0; i < r->n_stages && used < sizeof counts; i++)
        used += (size_t)snprintf(counts + used, sizeof counts - used, "%s%s %zu", i ? ", " : "", r->stages[i].name,
                                 r->stages[i].kept);
    return cg_fail(CG_ERR_NOT_FOUND, "no image of %s was kept (%s; %zu unreadable): %s was not written",
                   r->images_dir, counts, st->broken, st->p->output);
}

static cg_status run(run_state *st, cg_runtime *rt, FILE *progress) {
    const cg_pp_params *p = st->p;
    cg_pp_result *r = st->r;
    cg_pp_resolve_paths(p, r->images_dir, r->landmarks, r->attributes, r->partitions);
    if (strcmp(p->partition, "all") && !r->partitions[0])
        return cg_fail(CG_ERR_CONFIG, "[preprocess] partition = %s needs a partition list (partitions = FILE)",
                       p->partition);
    double t0 = cg_now_s();
    cg_celeba_paths paths = {r->images_dir, r->landmarks, r->attributes, r->partitions};
    CG_TRY(cg_celeba_read(&paths, &r->set));
    r->timing.list_s = cg_now_s() - t0;
    for (size_t i = 0; i < r->set.issues.n; i++) {
        const cg_issue *is = &r->set.issues.items[i];
        CG_TRY(cg_issues_add(&r->issues, is->kind, is->name, "%s", is->detail));
    }
    for (int i = 0; i < r->set.n_notes; i++) add_note(r, r->set.notes[i]);
    if (!(r->items = calloc(r->set.n + 1, sizeof *r->items))) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (size_t i = 0; i < r->set.n; i++)
        r->items[i].eye_left = r->items[i].eye_right = r->items[i].ref_mean = r->items[i].sun_score = NAN;
    int wants = p->frontal || p->sunglasses || p->zoom;
    st->use_landmarks = r->set.has_landmark_file && wants;
    r->landmark_filters = st->use_landmarks;
    if (wants && !r->set.has_landmark_file)
        add_note(r, "no landmark list: the frontal and sunglasses filters and the zoom are off (centre crops)");
    st->sun_on = st->use_landmarks && p->sunglasses;
    CG_TRY(host_stages(st));
    if (p->reject_sheets) {
        size_t bytes = (size_t)p->sheet_max * (size_t)p->size * (size_t)p->size * 3;
        for (int s = 0; s < 2; s++)
            if (!(r->sheet[s] = malloc(bytes))) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    CG_TRY(cg_image_ops_create(rt, &st->ops));
    if (p->output && *p->output) {
        snprintf(r->output, sizeof r->output, "%s", p->output);
        CG_TRY(cg_mkdir_parent(p->output));
        CG_TRY(cg_dataset_writer_open(p->output, p->size, p->size, 3, &st->writer));
    }
    if (progress) st->progress = cg_progress_begin("preprocess", st->n_cand, "img", progress);
    CG_TRY(device_stages(st, cg_runtime_device(rt)->max_alloc));
    if (st->progress) cg_progress_end(st->progress);
    st->progress = NULL;
    final_stages(st);
    if (st->writer && r->written == 0) return nothing_kept(st);
    if (st->writer) {
        double t1 = cg_now_s();
        cg_status s = cg_dataset_writer_commit(st->writer);
        st->writer = NULL;
        CG_TRY(s);
        cg_dataset *ds = NULL;
        CG_TRY(cg_dataset_open(p->output, 0, &ds));
        r->checksum = cg_dataset_checksum(ds);
        cg_dataset_close(ds);
        r->timing.write_s += cg_now_s() - t1;
    }
    return CG_OK;
}

cg_status cg_preprocess_run(cg_runtime *rt, const cg_pp_params *p, FILE *progress, cg_pp_result **out) {
    *out = NULL;
    if (p->batch < 1 || p->size < 1 || p->sheet_max < 1 || !p->partition)
        return cg_fail(CG_ERR_INVALID_ARG, "cg_preprocess_run: bad parameters");
    cg_pp_result *r = calloc(1, sizeof *r);
    if (!r) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    run_state st = {.p = p, .r = r};
    double t0 = cg_now_s();
    cg_status s = run(&st, rt, progress);
    if (st.progress) cg_progress_end(st.progress);
    if (st.writer) cg_dataset_writer_abort(st.writer);
    cg_decode_pool_free(st.pool); // after the loop the queue is empty; on failure it drains it
    for (size_t i = 0; st.ring && i < st.ring_n; i++) {
        cg_decoded_release(&st.ring[i]);
        free(st.ring_path[i]);
    }
    for (int i = 0; i < 2; i++) slot_free(&st.slot[i]);
    cg_image_ops_free(st.ops);
    free(st.ring);
    free(st.ring_path);
    free(st.ring_rows);
    free(st.cand);
    free(st.cand_sheet);
    r->timing.total_s = cg_now_s() - t0;
    if (s != CG_OK) {
        cg_pp_result_free(r);
        return s;
    }
    *out = r;
    return CG_OK;
}

void cg_pp_result_free(cg_pp_result *r) {
    if (!r) return;
    cg_celeba_free(&r->set);
    cg_issues_free(&r->issues);
    free(r->items);
    free(r->sheet[0]);
    free(r->sheet[1]);
    free(r);
}

const char *cg_pp_outcome_name(cg_pp_outcome o) {
    static const char *const names[CG_PP_OUTCOMES] = {"kept",        "partition", "missing",    "no_landmarks",
                                                      "not_frontal", "broken",    "sunglasses", "beyond_limit"};
    return (unsigned)o < CG_PP_OUTCOMES ? names[o] : "unknown";
}
