// upscale_source.c — an image source seen through the learned upscaler (nets/srvgg.h): each image
// of the inner source, read in [0, 1] (uint8 / 255, or a generator's float [-1, 1] mapped), is
// upscaled and handed out as float CHW in [-1, 1], clamped as an 8-bit PNG of it would be, so
// `clgan score --upscale` scores what `clgan upscale` writes.
#include "inception.h"
#include "srvgg.h"

#include <stdlib.h>

typedef struct {
    cg_ctx ctx;
    cg_srvgg *m;
    int tile;
    cg_image_source *inner;
    float *x, *y;
    size_t xcap, ycap;
} up_state;

static cg_status grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap) return CG_OK;
    float *b = realloc(*buf, n * sizeof *b);
    if (!b) return cg_fail(CG_ERR_NOMEM, "upscaling an image: out of host memory");
    *buf = b, *cap = n;
    return CG_OK;
}

static cg_status up_get(cg_image_source *s, int64_t i, cg_image *img, const char **name) {
    up_state *u = s->state;
    cg_image in;
    CG_TRY(u->inner->get(u->inner, i, &in, name));
    const size_t hw = (size_t)in.h * in.w;
    const int sc = cg_srvgg_scale(u->m);
    CG_TRY(grow(&u->x, &u->xcap, 3 * hw));
    CG_TRY(grow(&u->y, &u->ycap, 3 * hw * sc * sc));
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < hw; p++)
            u->x[c * hw + p] = in.f32 ? (in.f32[c * hw + p] + 1.0f) * 0.5f
                                      : in.u8[p * in.c + (in.c < 3 ? 0 : c)] / 255.0f;
    CG_TRY(cg_srvgg_upscale(&u->ctx, u->m, u->x, 1, in.h, in.w, u->tile, u->y));
    for (size_t k = 0; k < 3 * hw * sc * sc; k++) {
        float v = u->y[k] < 0 ? 0 : u->y[k] > 1 ? 1 : u->y[k];
        u->y[k] = 2.0f * v - 1.0f;
    }
    *img = (cg_image){in.h * sc, in.w * sc, 3, NULL, u->y};
    return CG_OK;
}

static void up_close(cg_image_source *s) {
    up_state *u = s->state;
    if (u) {
        cg_source_close(u->inner);
        cg_workspace_free(&u->ctx.ws);
        free(u->x), free(u->y), free(u);
    }
    free(s);
}

cg_status cg_source_upscaled(cg_runtime *rt, cg_srvgg *m, int tile, cg_image_source *inner, cg_image_source **out) {
    *out = NULL;
    cg_image_source *s = calloc(1, sizeof *s);
    up_state *u = calloc(1, sizeof *u);
    if (!s || !u) {
        free(s), free(u);
        cg_source_close(inner);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    u->ctx = (cg_ctx){rt, {0}};
    u->m = m, u->tile = tile, u->inner = inner;
    s->state = u, s->get = up_get, s->close = up_close, s->count = inner->count;
    *out = s;
    return CG_OK;
}
