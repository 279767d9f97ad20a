// grid.c — images in [-1, 1] to PNG files: one image, or a grid like torchvision's make_grid
// (ceil(sqrt(n)) images a row, 2 pixels of black padding). Written atomically through memory; the
// grid's PNG bytes also go to TensorBoard (train_log.c).
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>

#define PAD 2

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed;
} mem_png;

static void mem_write(void *ctx, void *data, int size) {
    mem_png *m = ctx;
    if (m->failed || size <= 0) return;
    if (m->len + (size_t)size > m->cap) {
        size_t cap = (m->cap ? 2 * m->cap : 65536) + (size_t)size;
        unsigned char *d = realloc(m->data, cap);
        if (!d) {
            m->failed = 1;
            return;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, (size_t)size);
    m->len += (size_t)size;
}

// An RGB or grey uint8 picture (w x h x comp) as PNG bytes (m->data malloc'd).
static cg_status encode_png(const unsigned char *pix, int w, int h, int comp, mem_png *m) {
    *m = (mem_png){0};
    int ok = stbi_write_png_to_func(mem_write, m, w, h, comp, pix, w * comp);
    if (ok && !m->failed) return CG_OK;
    free(m->data);
    m->data = NULL;
    return cg_fail(CG_ERR_NOMEM, "encoding a %dx%d PNG failed", w, h);
}

// Writes an RGB or grey uint8 picture (w x h x comp) as a PNG, atomically.
static cg_status write_png(const char *path, const unsigned char *pix, int w, int h, int comp) {
    mem_png m;
    cg_status st = encode_png(pix, w, h, comp, &m);
    if (st == CG_OK) st = cg_write_file_atomic(path, m.data, m.len);
    else cg_fail_context(st, "%s", path);
    free(m.data);
    return st;
}

static unsigned char to_u8(float v) {
    if (!(v == v)) return 0; // NaN
    float x = (v + 1.0f) * 127.5f + 0.5f;
    return x <= 0.0f ? 0 : x >= 255.0f ? 255 : (unsigned char)x;
}

// The grid's pixels (*out malloc'd, *gw x *gh x c).
static cg_status grid_pixels(const float *images, int n, int c, int h, int w, unsigned char **out, int *gw_out,
                             int *gh_out) {
    if (n <= 0 || (c != 1 && c != 3) || h <= 0 || w <= 0)
        return cg_fail(CG_ERR_INVALID_ARG, "grid of %d images [%d, %d, %d]: need c = 1 or 3", n, c, h, w);
    int cols = (int)ceil(sqrt((double)n));
    int rows = (n + cols - 1) / cols;
    int gw = cols * (w + PAD) + PAD, gh = rows * (h + PAD) + PAD;
    unsigned char *pix = calloc((size_t)gw * gh * c, 1);
    if (!pix) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < n; i++) {
        int x0 = PAD + (i % cols) * (w + PAD), y0 = PAD + (i / cols) * (h + PAD);
        const float *img = images + (size_t)i * c * h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    pix[((size_t)(y0 + y) * gw + x0 + x) * c + ch] = to_u8(img[((size_t)ch * h + y) * w + x]);
    }
    *out = pix, *gw_out = gw, *gh_out = gh;
    return CG_OK;
}

cg_status cg_grid_write_png(const char *path, const float *images, int n, int c, int h, int w) {
    int gw, gh;
    unsigned char *pix;
    CG_TRY(grid_pixels(images, n, c, h, w, &pix, &gw, &gh));
    cg_status st = write_png(path, pix, gw, gh, c);
    free(pix);
    return st;
}

cg_status cg_grid_png(const float *images, int n, int c, int h, int w, unsigned char **png, size_t *len, int *gw,
                      int *gh) {
    *png = NULL, *len = 0;
    unsigned char *pix;
    CG_TRY(grid_pixels(images, n, c, h, w, &pix, gw, gh));
    mem_png m;
    cg_status st = encode_png(pix, *gw, *gh, c, &m);
    free(pix);
    if (st == CG_OK) *png = m.data, *len = m.len;
    return st;
}

cg_status cg_image_write_png(const char *path, const float *image, int c, int h, int w) {
    if ((c != 1 && c != 3) || h <= 0 || w <= 0)
        return cg_fail(CG_ERR_INVALID_ARG, "image [%d, %d, %d]: need c = 1 or 3", c, h, w);
    unsigned char *pix = malloc((size_t)w * h * c);
    if (!pix) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) pix[((size_t)y * w + x) * c + ch] = to_u8(image[((size_t)ch * h + y) * w + x]);
    cg_status st = write_png(path, pix, w, h, c);
    free(pix);
    return st;
}

// Shared with plot.c.
cg_status cg_train_write_rgb_png(const char *path, const unsigned char *rgb, int w, int h);
cg_status cg_train_write_rgb_png(const char *path, const unsigned char *rgb, int w, int h) {
    return write_png(path, rgb, w, h, 3);
}
