// upsample.c — nearest-neighbour upsampling by an integer factor s (F.interpolate(x, scale_factor=s,
// mode="nearest")): [N, C, H, W] -> [N, C, H*s, W*s], each pixel repeated over an s x s block
// (cl/upscale.cl). Backward sums each block's gradient in a fixed order. Also the accumulating form
// y += upsample(x) that a network's skip path uses (Real-ESRGAN's compact net). Dense tensors only.
#include "nets_internal.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int s;
} up_state;

static cg_status up_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const up_state *st = l->state;
    char label[96];
    if (in[0] < 0 || in[1] < 0 || in[2] < 0 || in[3] < 0 || in[2] > INT32_MAX / st->s || in[3] > INT32_MAX / st->s)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: cannot upsample [%d, %d, %d, %d] by %d",
                       cg_layer_label(l, label, sizeof label), in[0], in[1], in[2], in[3], st->s);
    out[0] = in[0], out[1] = in[1], out[2] = in[2] * st->s, out[3] = in[3] * st->s;
    return CG_OK;
}

static cg_status launch(cg_ctx *ctx, cg_tensor x, cg_tensor y, int s, int accumulate) {
    if (!cg_is_contiguous(x) || !cg_is_contiguous(y))
        return cg_fail(CG_ERR_INVALID_ARG, "upsample_nearest: strided views are not supported");
    if (y.n != x.n || y.c != x.c || y.h != x.h * s || y.w != x.w * s)
        return cg_fail(CG_ERR_INVALID_ARG, "upsample_nearest: [%d, %d, %d, %d] by %d is not [%d, %d, %d, %d]", x.n,
                       x.c, x.h, x.w, s, y.n, y.c, y.h, y.w);
    cl_ulong n = cg_numel(y), xoff = x.off, yoff = y.off;
    if (n == 0) return CG_OK;
    int h = x.h, w = x.w;
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "upscale", "upsample_nearest", &k));
    return cg_launch1d(ctx->rt, k, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(y.buf), CG_ARG(yoff), CG_ARG(h), CG_ARG(w),
                       CG_ARG(s), CG_ARG(accumulate), CG_ARG(n));
}

cg_status cg_upsample_nearest_add(cg_ctx *ctx, cg_tensor x, int scale, cg_tensor y) {
    return launch(ctx, x, y, scale, 1);
}

// x: [N, C, H, W] -> y: [N, C, H*s, W*s]
static cg_status up_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    const up_state *st = l->state;
    CG_TRY(cg_check_output(l, x, y, "output"));
    cg_status r = launch(ctx, x, y, st->s, 0);
    return r == CG_OK ? CG_OK : cg_fail_context(r, "upsample_nearest %s forward", l->name);
}

// dy: [N, C, H*s, W*s] -> dx: [N, C, H, W], the sum over each block
static cg_status up_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    const up_state *st = l->state;
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (!dx) return CG_OK;
    CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    char label[96];
    if (!cg_is_contiguous(dy) || !cg_is_contiguous(*dx))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: strided views are not supported", cg_layer_label(l, label, sizeof label));
    cl_ulong n = cg_numel(*dx), dyoff = dy.off, dxoff = dx->off;
    if (n == 0) return CG_OK;
    int h = x.h, w = x.w, s = st->s;
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "upscale", "upsample_nearest_bwd", &k));
    cg_status r = cg_launch1d(ctx->rt, k, n, CG_ARG(dy.buf), CG_ARG(dyoff), CG_ARG(dx->buf), CG_ARG(dxoff), CG_ARG(h),
                              CG_ARG(w), CG_ARG(s), CG_ARG(n));
    return r == CG_OK ? CG_OK : cg_fail_context(r, "upsample_nearest %s backward", l->name);
}

static void up_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops up_ops = {
    .out_shape = up_out_shape,
    .forward = up_forward,
    .backward = up_backward,
    .destroy = up_destroy,
};

cg_status cg_upsample_nearest_create(int scale, cg_layer **out) {
    *out = NULL;
    if (scale < 1 || scale > 16) return cg_fail(CG_ERR_INVALID_ARG, "upsample_nearest: scale %d (1 to 16)", scale);
    cg_layer *l = calloc(1, sizeof *l);
    up_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating an upsample_nearest layer");
    }
    s->s = scale;
    l->ops = &up_ops;
    l->kind = "upsample_nearest";
    l->state = s;
    *out = l;
    return CG_OK;
}
