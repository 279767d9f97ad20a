// faceness.c — the face-ness score: images resized to 160x160, MTCNN over them in batches, the best
// face probability per image counted against the threshold.
#include "faceness.h"

#include <math.h>
#include <stdlib.h>

// Images per detector call: all 160x160, so P-Net runs them in one launch per scale.
#ifndef CG_FACENESS_BATCH
#define CG_FACENESS_BATCH 64
#endif
#define BATCH CG_FACENESS_BATCH
#define S CG_FACENESS_SIZE

// cg_resize_ref's output, in the mode's own range, back to 0..255.
static uint8_t to_u8(float v, cg_resize_mode mode) {
    float x = roundf(mode == CG_RESIZE_BICUBIC ? v * 128.0f + 128.0f : (v + 1.0f) * 127.5f);
    return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
}

static void resize_u8(const cg_image *img, cg_resize_mode mode, float *tmp, uint8_t *rgb) {
    cg_resize_ref(img, mode, S, tmp);
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < S * S; p++) rgb[p * 3 + c] = to_u8(tmp[c * S * S + p], mode);
}

cg_status cg_faceness(cg_mtcnn *m, const cg_mtcnn_params *p, cg_image_source *src, cg_resize_mode mode, int64_t n,
                      FILE *progress, cg_faceness_result *out, float **probs) {
    *out = (cg_faceness_result){0};
    if (probs) *probs = NULL;
    if (n <= 0 || n > src->count) n = src->count;
    if (n <= 0) return cg_fail(CG_ERR_CONFIG, "faceness: no images to score");
    uint8_t *rgb = malloc((size_t)BATCH * S * S * 3);
    float *tmp = malloc(sizeof(float) * 3 * S * S);
    float *best = malloc(sizeof(float) * (size_t)n);
    cg_status st = rgb && tmp && best ? CG_OK : cg_fail(CG_ERR_NOMEM, "faceness: out of host memory");
    cg_progress *bar = st == CG_OK && progress ? cg_progress_begin("faceness", (uint64_t)n, "img", progress) : NULL;
    double sum = 0;
    for (int64_t i0 = 0; st == CG_OK && i0 < n; i0 += BATCH) {
        int k = n - i0 < BATCH ? (int)(n - i0) : BATCH;
        cg_mtcnn_image im[BATCH];
        cg_face *faces[BATCH];
        int counts[BATCH];
        for (int j = 0; st == CG_OK && j < k; j++) {
            cg_image img;
            st = src->get(src, i0 + j, &img, NULL);
            if (st == CG_OK) resize_u8(&img, mode, tmp, rgb + (size_t)j * S * S * 3);
            im[j] = (cg_mtcnn_image){rgb + (size_t)j * S * S * 3, S, S};
        }
        if (st == CG_OK) st = cg_mtcnn_detect(m, p, im, k, faces, counts);
        for (int j = 0; st == CG_OK && j < k; j++) {
            float b = counts[j] > 0 ? faces[j][0].prob : 0.0f; // faces come most probable first
            best[i0 + j] = b;
            sum += b;
            out->faces += b >= CG_FACENESS_THRESHOLD;
            free(faces[j]);
        }
        if (bar) cg_progress_update(bar, (uint64_t)(i0 + k), NULL);
    }
    if (bar) cg_progress_end(bar);
    if (st == CG_OK) {
        out->n = n;
        out->share = (double)out->faces / (double)n;
        out->mean_prob = sum / (double)n;
        if (probs) *probs = best, best = NULL;
    }
    free(rgb), free(tmp), free(best);
    return st;
}
