// srvgg_tile.c — the upscaler over host images of any size: each image is cut into tiles of
// tile x tile input pixels; a tile runs in a window widened by the receptive field (one pixel a side
// per 3x3 convolution) and shifted to lie inside the image, so every window of an image size has
// the same shape and the tile's output equals that of one pass over the whole image. Windows are
// batched on the device, as many as fit a fixed memory budget.
#include "srvgg.h"

#include <stdlib.h>
#include <string.h>

#define SRVGG_BUDGET_FLOATS ((size_t)64 << 20) // 256 MiB of activations per batch

typedef struct {
    int img, y0, x0;   // window origin in image img (input pixels)
    int ty0, ty1, tx0, tx1; // the tile it writes
} window;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// Tiles along one axis of length len: count, and for tile k its [t0, t1) and window start.
static int axis_tiles(int len, int tile) { return (len + tile - 1) / tile; }

cg_status cg_srvgg_upscale(cg_ctx *ctx, cg_srvgg *m, const float *x, int n, int h, int w, int tile, float *y) {
    if (n < 1 || h < 1 || w < 1) return cg_fail(CG_ERR_INVALID_ARG, "upscaler: %d images of %dx%d", n, h, w);
    const int s = cg_srvgg_scale(m), halo = cg_srvgg_convs(m);
    if (tile <= 0 || tile > (h > w ? h : w)) tile = h > w ? h : w;
    const int wh = tile + 2 * halo < h ? tile + 2 * halo : h, ww = tile + 2 * halo < w ? tile + 2 * halo : w;
    const int ny = axis_tiles(h, tile), nx = axis_tiles(w, tile);
    const size_t nwin = (size_t)n * ny * nx, area = (size_t)wh * ww;
    const int widest = cg_srvgg_features(m) > 3 * s * s ? cg_srvgg_features(m) : 3 * s * s;
    size_t per = (3 + 2 * (size_t)widest + 3 * (size_t)s * s) * area;
    size_t nb = SRVGG_BUDGET_FLOATS / per;
    const cg_device_info *dev = cg_runtime_device(ctx->rt);
    if (dev && dev->max_alloc && nb * widest * area * sizeof(float) > dev->max_alloc)
        nb = dev->max_alloc / (widest * area * sizeof(float));
    if (nb < 1) nb = 1;
    if (nb > nwin) nb = nwin;

    window *wins = malloc(nwin * sizeof *wins);
    float *hin = malloc(nb * 3 * area * sizeof *hin), *hout = malloc(nb * 3 * area * s * s * sizeof *hout);
    cl_mem xb = NULL, yb = NULL;
    cg_status st = wins && hin && hout ? CG_OK : cg_fail(CG_ERR_NOMEM, "upscaler: out of host memory");
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, nb * 3 * area, &xb);
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, nb * 3 * area * s * s, &yb);
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (int ty = 0; ty < ny; ty++)
            for (int tx = 0; tx < nx; tx++) {
                window *v = &wins[k++];
                v->img = i;
                v->ty0 = ty * tile, v->ty1 = v->ty0 + tile < h ? v->ty0 + tile : h;
                v->tx0 = tx * tile, v->tx1 = v->tx0 + tile < w ? v->tx0 + tile : w;
                v->y0 = clampi(v->ty0 - halo, 0, h - wh), v->x0 = clampi(v->tx0 - halo, 0, w - ww);
            }
    const size_t hw = (size_t)h * w, ow = (size_t)ww * s, oimg = hw * s * s;
    for (size_t b0 = 0; st == CG_OK && b0 < nwin; b0 += nb) {
        int cnt = (int)(nwin - b0 < nb ? nwin - b0 : nb);
        // x: [cnt, 3, wh, ww] crops -> y: [cnt, 3, wh*s, ww*s]
        for (int j = 0; j < cnt; j++) {
            const window *v = &wins[b0 + j];
            for (int c = 0; c < 3; c++)
                for (int r = 0; r < wh; r++)
                    memcpy(hin + ((size_t)j * 3 + c) * area + (size_t)r * ww,
                           x + ((size_t)v->img * 3 + c) * hw + (size_t)(v->y0 + r) * w + v->x0, ww * sizeof *hin);
        }
        cg_tensor xt = cg_view(xb, 0, cnt, 3, wh, ww), yt = cg_view(yb, 0, cnt, 3, wh * s, ww * s);
        st = cg_tensor_write(ctx->rt, xt, hin);
        if (st == CG_OK) st = cg_srvgg_forward(ctx, m, xt, yt);
        if (st == CG_OK) st = cg_tensor_read(ctx->rt, yt, hout);
        for (int j = 0; st == CG_OK && j < cnt; j++) {
            const window *v = &wins[b0 + j];
            size_t cols = (size_t)(v->tx1 - v->tx0) * s;
            for (int c = 0; c < 3; c++)
                for (int r = v->ty0 * s; r < v->ty1 * s; r++)
                    memcpy(y + ((size_t)v->img * 3 + c) * oimg + (size_t)r * w * s + (size_t)v->tx0 * s,
                           hout + ((size_t)j * 3 + c) * area * s * s + (size_t)(r - v->y0 * s) * ow +
                               (size_t)(v->tx0 - v->x0) * s,
                           cols * sizeof *y);
        }
    }
    cg_buffer_release(xb);
    cg_buffer_release(yb);
    free(wins), free(hin), free(hout);
    return st;
}
