// grid.c — images in [-1, 1] to PNG files: one image, or a grid like torchvision's make_grid
// (ceil(sqrt(n)) images a row, 2 pixels of black padding). Written atomically through memory; the
// grid's PNG bytes also go to TensorBoard (train_log.c).
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

#define PAD 2

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
    cg_status st = cg_png_write(path, pix, gw, gh, c);
    free(pix);
    return st;
}

cg_status cg_grid_png(const float *images, int n, int c, int h, int w, unsigned char **png, size_t *len, int *gw,
                      int *gh) {
    *png = NULL, *len = 0;
    unsigned char *pix;
    CG_TRY(grid_pixels(images, n, c, h, w, &pix, gw, gh));
    cg_membuf m = {0};
    cg_status st = cg_png_encode(pix, *gw, *gh, c, &m);
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
    cg_status st = cg_png_write(path, pix, w, h, c);
    free(pix);
    return st;
}

