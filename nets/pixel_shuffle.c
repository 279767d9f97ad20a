// pixel_shuffle.c — PixelShuffle(s) (PyTorch's nn.PixelShuffle): [N, C*s*s, H, W] -> [N, C, H*s, W*s],
// channel c*s*s + a*s + b going to row offset a and column offset b of each s x s block
// (cl/upscale.cl). A permutation: the backward pass is the inverse permutation. No parameters;
// dense tensors only.
#include "nets_internal.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int s;
} shuffle_state;

static cg_status shuffle_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const shuffle_state *st = l->state;
    const int ss = st->s * st->s;
    char label[96];
    if (in[0] < 0 || in[1] < 0 || in[2] < 0 || in[3] < 0 || in[1] % ss != 0 || in[2] > INT32_MAX / st->s ||
        in[3] > INT32_MAX / st->s)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: cannot shuffle [%d, %d, %d, %d] by %d (channels must divide by %d)",
                       cg_layer_label(l, label, sizeof label), in[0], in[1], in[2], in[3], st->s, ss);
    out[0] = in[0], out[1] = in[1] / ss, out[2] = in[2] * st->s, out[3] = in[3] * st->s;
    return CG_OK;
}

static cg_status dense(const cg_layer *l, cg_tensor t, const char *what) {
    char label[96];
    if (cg_is_contiguous(t)) return CG_OK;
    return cg_fail(CG_ERR_INVALID_ARG, "%s: %s is a strided view", cg_layer_label(l, label, sizeof label), what);
}

// One launch of pixel_shuffle over the shuffled tensor's elements: shuffled [N, C, H*s, W*s] holds
// the output (forward) or the gradient being unshuffled (inverse).
static cg_status launch(cg_layer *l, cg_ctx *ctx, cg_tensor src, cg_tensor dst, cg_tensor shuffled, int inverse) {
    const shuffle_state *st = l->state;
    cl_ulong n = cg_numel(shuffled), soff = src.off, doff = dst.off;
    if (n == 0) return CG_OK;
    int c = shuffled.c, h = shuffled.h / st->s, w = shuffled.w / st->s, s = st->s;
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "upscale", "pixel_shuffle", &k));
    return cg_launch1d(ctx->rt, k, n, CG_ARG(src.buf), CG_ARG(soff), CG_ARG(dst.buf), CG_ARG(doff), CG_ARG(c),
                       CG_ARG(h), CG_ARG(w), CG_ARG(s), CG_ARG(inverse), CG_ARG(n));
}

// x: [N, C*s*s, H, W] -> y: [N, C, H*s, W*s]
static cg_status shuffle_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    CG_TRY(cg_check_output(l, x, y, "output"));
    CG_TRY(dense(l, x, "x"));
    CG_TRY(dense(l, y, "y"));
    cg_status st = launch(l, ctx, x, y, y, 0);
    return st == CG_OK ? CG_OK : cg_fail_context(st, "pixel_shuffle %s forward", l->name);
}

// dy: [N, C, H*s, W*s] -> dx: [N, C*s*s, H, W]
static cg_status shuffle_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy,
                                  const cg_tensor *dx) {
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (!dx) return CG_OK;
    CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    CG_TRY(dense(l, dy, "dy"));
    CG_TRY(dense(l, *dx, "dx"));
    cg_status st = launch(l, ctx, dy, *dx, dy, 1);
    return st == CG_OK ? CG_OK : cg_fail_context(st, "pixel_shuffle %s backward", l->name);
}

static void shuffle_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops shuffle_ops = {
    .out_shape = shuffle_out_shape,
    .forward = shuffle_forward,
    .backward = shuffle_backward,
    .destroy = shuffle_destroy,
};

cg_status cg_pixel_shuffle_create(int scale, cg_layer **out) {
    *out = NULL;
    if (scale < 1 || scale > 16) return cg_fail(CG_ERR_INVALID_ARG, "pixel_shuffle: scale %d (1 to 16)", scale);
    cg_layer *l = calloc(1, sizeof *l);
    shuffle_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a pixel_shuffle layer");
    }
    s->s = scale;
    l->ops = &shuffle_ops;
    l->kind = "pixel_shuffle";
    l->state = s;
    *out = l;
    return CG_OK;
}
