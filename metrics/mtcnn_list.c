// mtcnn_list.c — the weights lookup, and the detector run over a folder in small batches (decoded on
// the host one file at a time) into a CelebA landmark list and an optional box CSV.
#include "mtcnn_list.h"
#include "image_loader.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// Images per cg_mtcnn_detect call (same-size images share P-Net launches), and a bound on their
// decoded pixels.
#ifndef CG_MTCNN_LIST_BATCH
#define CG_MTCNN_LIST_BATCH 64
#endif
#ifndef CG_MTCNN_LIST_PIXELS
#define CG_MTCNN_LIST_PIXELS (1 << 24)
#endif
#define BATCH CG_MTCNN_LIST_BATCH

static int is_file(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

cg_status cg_mtcnn_find_weights(const cg_runtime *rt, const char *configured, char *buf, size_t len) {
    const char *env = getenv("CLGAN_MTCNN_WEIGHTS");
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/%s", cg_runtime_cache_dir(rt), CG_MTCNN_WEIGHTS_NAME);
    const char *from = configured && *configured ? "[landmarks] weights" : env && *env ? "$CLGAN_MTCNN_WEIGHTS"
                                                                                   : "the cache";
    snprintf(buf, len, "%s", configured && *configured ? configured : env && *env ? env : cache);
    if (is_file(buf)) return CG_OK;
    return cg_fail(CG_ERR_IO,
                   "MTCNN weights not found: looked in [landmarks] weights (%s), $CLGAN_MTCNN_WEIGHTS (%s), then the "
                   "cache (%s); %s names '%s', which is not a file. Convert facenet-pytorch's pnet.pt, rnet.pt, "
                   "onet.pt (in its PyPI wheel, facenet_pytorch/data/) with `python3 tools/convert_mtcnn.py --pt DIR "
                   "%s` (see docs/landmarks.md)",
                   configured && *configured ? configured : "unset", env && *env ? env : "unset", cache, from, buf,
                   cache);
}

static cg_status add_name(char ***list, size_t *n, const char *name) {
    char **v = realloc(*list, (*n + 1) * sizeof *v);
    if (!v) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    *list = v;
    if (!(v[*n] = strdup(name))) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    (*n)++;
    return CG_OK;
}

// Detects faces in images [i0, i1) of set (fewer when their pixels exceed CG_MTCNN_LIST_PIXELS:
// *next is the first image left) and appends their rows to the list and box streams.
static cg_status detect_batch(cg_mtcnn *m, const cg_mtcnn_params *p, const cg_celeba_set *set, size_t i0, size_t i1,
                              size_t *next, const char *dir, int max_side, FILE *lm, FILE *boxes,
                              cg_mtcnn_list_result *r) {
    cg_decoded dec[BATCH];
    cg_mtcnn_image im[BATCH];
    size_t idx[BATCH];
    cg_face *faces[BATCH];
    int counts[BATCH], n = 0;
    cg_status st = CG_OK;
    size_t pixels = 0, i = i0;
    for (; i < i1 && (i == i0 || pixels < CG_MTCNN_LIST_PIXELS); i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, set->entries[i].name);
        cg_image_load(path, max_side, &dec[n]);
        if (!dec[n].ok) {
            st = add_name(&r->unreadable, &r->n_unreadable, set->entries[i].name);
            cg_decoded_release(&dec[n]);
            if (st != CG_OK) break;
            continue;
        }
        im[n] = (cg_mtcnn_image){dec[n].pixels, dec[n].w, dec[n].h};
        pixels += (size_t)dec[n].w * dec[n].h;
        idx[n++] = i;
    }
    *next = i;
    if (st == CG_OK && n > 0) st = cg_mtcnn_detect(m, p, im, n, faces, counts);
    for (int k = 0; st == CG_OK && k < n; k++) {
        const char *name = set->entries[idx[k]].name;
        if (counts[k] == 0) {
            st = add_name(&r->no_face, &r->n_no_face, name);
            continue;
        }
        const cg_face *f = &faces[k][0]; // the most probable
        float sx = (float)CG_LM_REF_W / im[k].w, sy = (float)CG_LM_REF_H / im[k].h;
        fprintf(lm, "%s", name);
        for (int q = 0; q < CG_LM_POINTS; q++)
            fprintf(lm, " %.2f %.2f", (f->lm.x[q] + 0.5f) * sx - 0.5f, (f->lm.y[q] + 0.5f) * sy - 0.5f);
        fputc('\n', lm);
        if (boxes)
            fprintf(boxes, "%s,%.2f,%.2f,%.2f,%.2f,%.6f\n", name, f->box[0], f->box[1], f->box[2], f->box[3],
                    f->prob);
        r->with_face++;
    }
    if (st == CG_OK)
        for (int k = 0; k < n; k++) free(faces[k]);
    for (int k = 0; k < n; k++) cg_decoded_release(&dec[k]);
    return st;
}

cg_status cg_mtcnn_landmark_list(cg_mtcnn *m, const cg_mtcnn_params *p, const char *images_dir, long limit,
                                 int max_side, const char *out_path, const char *boxes_path, FILE *progress,
                                 cg_mtcnn_list_result *r) {
    memset(r, 0, sizeof *r);
    double t0 = cg_now_s();
    cg_celeba_set set;
    cg_celeba_paths paths = {images_dir, NULL, NULL, NULL};
    CG_TRY(cg_celeba_read(&paths, &set));
    size_t n = set.n;
    if (limit > 0 && (size_t)limit < n) n = (size_t)limit;
    r->images = n;
    char *rows = NULL, *box_rows = NULL;
    size_t rows_len = 0, box_len = 0;
    FILE *lm = open_memstream(&rows, &rows_len);
    FILE *boxes = boxes_path && *boxes_path ? open_memstream(&box_rows, &box_len) : NULL;
    cg_status st = lm && (boxes || !(boxes_path && *boxes_path)) ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (boxes) fprintf(boxes, "image_id,x1,y1,x2,y2,prob\n");
    cg_progress *bar = progress ? cg_progress_begin("landmarks", n, "img", progress) : NULL;
    for (size_t i = 0; st == CG_OK && i < n;) {
        size_t e = i + BATCH < n ? i + BATCH : n;
        st = detect_batch(m, p, &set, i, e, &i, images_dir, max_side, lm, boxes, r);
        if (bar) cg_progress_update(bar, i, NULL);
    }
    if (bar) cg_progress_end(bar);
    if (lm) fclose(lm);
    if (boxes) fclose(boxes);
    if (st == CG_OK && n > 0 && r->n_unreadable == n)
        st = cg_fail(CG_ERR_FORMAT, "no image of %s could be read (%zu unreadable, the first '%s'): %s was not written",
                     images_dir, n, r->unreadable[0], out_path);
    if (st == CG_OK) st = cg_mkdir_parent(out_path);
    if (st == CG_OK && boxes_path && *boxes_path) st = cg_mkdir_parent(boxes_path);
    if (st == CG_OK) {
        cg_atomic_file *f = NULL;
        st = cg_atomic_open(out_path, &f);
        if (st == CG_OK) {
            fprintf(cg_atomic_stream(f), "%zu\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x "
                                         "leftmouth_y rightmouth_x rightmouth_y\n%s",
                    r->with_face, rows ? rows : "");
            st = cg_atomic_commit(f);
        }
    }
    if (st == CG_OK && boxes_path && *boxes_path) st = cg_write_file_atomic(boxes_path, box_rows, box_len);
    free(rows);
    free(box_rows);
    cg_celeba_free(&set);
    r->seconds = cg_now_s() - t0;
    return st;
}

void cg_mtcnn_list_result_free(cg_mtcnn_list_result *r) {
    for (size_t i = 0; i < r->n_no_face; i++) free(r->no_face[i]);
    for (size_t i = 0; i < r->n_unreadable; i++) free(r->unreadable[i]);
    free(r->no_face);
    free(r->unreadable);
    memset(r, 0, sizeof *r);
}
