// linear.c — fully connected layer (PyTorch Linear: weight [out, in], optional bias [out]):
// y = x W^T + b on x viewed as [N, in] (in = C*H*W, so it also flattens), as CLBlast GEMMs whose
// leading dimensions are the tensors' sample strides.
#include "nets_internal.h"

#include <stdlib.h>

typedef struct {
    int in, out, bias;
} linear_state;

static cg_status linear_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const linear_state *s = l->state;
    if ((long)in[1] * in[2] * in[3] != s->in) {
        char label[96];
        return cg_fail(CG_ERR_INVALID_ARG, "%s: input [%d, %d, %d, %d] has %ld features per sample, expected %d",
                       cg_layer_label(l, label, sizeof label), in[0], in[1], in[2], in[3],
                       (long)in[1] * in[2] * in[3], s->in);
    }
    out[0] = in[0], out[1] = s->out, out[2] = 1, out[3] = 1;
    return CG_OK;
}

static size_t linear_workspace(const cg_layer *l, const int in[4]) { return 0; }

// x W^T per sample
static double linear_flops(const cg_layer *l, const int in[4]) {
    const linear_state *s = l->state;
    return 2.0 * in[0] * (double)s->in * s->out;
}

// x: [N, C, H, W] (C*H*W = in) -> y: [N, out, 1, 1]; with_bias 0 leaves the bias out (tangent map)
static cg_status linear_apply(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int with_bias) {
    const linear_state *s = l->state;
    CG_TRY(cg_check_output(l, x, y, "output"));
    const cg_tensor w = l->params[0].w;
    CG_ASSERT(w.buf);
    size_t n = (size_t)x.n, in = (size_t)s->in, out = (size_t)s->out;
    // y [N, out] = x [N, in] * W^T [in, out]
    cg_gemm_args mm = {.trans_b = 1, .m = n, .n = out, .k = in, .alpha = 1.0f, .beta = 0.0f, .a = x.buf,
                       .a_off = x.off, .lda = cg_sample_stride(x), .b = w.buf, .b_off = w.off, .ldb = in, .c = y.buf,
                       .c_off = y.off, .ldc = cg_sample_stride(y)};
    CG_TRY(cg_gemm(ctx->rt, &mm));
    if (s->bias && with_bias) CG_TRY(cg_bias_add(ctx, y, l->params[1].w));
    return CG_OK;
}

static cg_status linear_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    return linear_apply(l, ctx, x, y, 1);
}

// dy: [N, out, 1, 1] -> dx: [N, C, H, W] (optional); dW [out, in] += dy^T x; db [out] += sum_N dy
// (with_bias)
static cg_status linear_backprop(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor dy, const cg_tensor *dx,
                                 int with_bias) {
    const linear_state *s = l->state;
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (dx) CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    const cg_tensor w = l->params[0].w, dw = l->params[0].dw;
    CG_ASSERT(w.buf && dw.buf);
    size_t n = (size_t)x.n, in = (size_t)s->in, out = (size_t)s->out;
    size_t xs = cg_sample_stride(x), dys = cg_sample_stride(dy);
    // dW [out, in] += dy^T [out, N] * x [N, in]
    cg_gemm_args gw = {.trans_a = 1, .m = out, .n = in, .k = n, .alpha = 1.0f, .beta = 1.0f, .a = dy.buf,
                       .a_off = dy.off, .lda = dys, .b = x.buf, .b_off = x.off, .ldb = xs, .c = dw.buf,
                       .c_off = dw.off, .ldc = in};
    CG_TRY(cg_gemm(ctx->rt, &gw));
    if (dx) {
        // dx [N, in] = dy [N, out] * W [out, in]
        cg_gemm_args gx = {.m = n, .n = in, .k = out, .alpha = 1.0f, .beta = 0.0f, .a = dy.buf, .a_off = dy.off,
                           .lda = dys, .b = w.buf, .b_off = w.off, .ldb = in, .c = dx->buf, .c_off = dx->off,
                           .ldc = cg_sample_stride(*dx)};
        CG_TRY(cg_gemm(ctx->rt, &gx));
    }
    if (s->bias && with_bias) {
        CG_ASSERT(l->params[1].dw.buf);
        CG_TRY(cg_bias_grad(ctx, dy, l->params[1].dw));
    }
    return CG_OK;
}

static cg_status linear_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy,
                                 const cg_tensor *dx) {
    return linear_backprop(l, ctx, x, dy, dx, 1);
}

// xt: [N, C, H, W] -> yt: [N, out, 1, 1] = xt W^T
static cg_status linear_tangent(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt) {
    return linear_apply(l, ctx, xt, yt, 0);
}

static cg_status linear_backward2(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt,
                                  const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx, const cg_tensor *gxt,
                                  int *gx_zero) {
    return cg_affine_backward2(linear_backprop, l, ctx, x, xt, gy, gyt, gx, gxt, gx_zero);
}

static void linear_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops linear_ops = {
    .out_shape = linear_out_shape,
    .workspace = linear_workspace,
    .forward = linear_forward,
    .backward = linear_backward,
    .tangent = linear_tangent,
    .backward2 = linear_backward2,
    .flops = linear_flops,
    .destroy = linear_destroy,
};

cg_status cg_linear_create(cg_linear_params p, cg_layer **out) {
    *out = NULL;
    if (p.in < 1 || p.out < 1)
        return cg_fail(CG_ERR_INVALID_ARG, "linear: invalid sizes in=%d out=%d", p.in, p.out);
    cg_layer *l = calloc(1, sizeof *l);
    linear_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "linear: out of host memory");
    }
    *s = (linear_state){p.in, p.out, p.bias != 0};
    l->ops = &linear_ops;
    l->kind = "linear";
    l->state = s;
    cg_status st = cg_layer_add_param(l, (cg_param_decl){"weight", CG_ROLE_WEIGHT, CG_INIT_FAN_IN, p.in, 2, {p.out, p.in}});
    if (st == CG_OK && s->bias)
        st = cg_layer_add_param(l, (cg_param_decl){"bias", CG_ROLE_BIAS, CG_INIT_FAN_IN, p.in, 1, {p.out}});
    if (st != CG_OK) {
        cg_layer_free(l);
        return st;
    }
    *out = l;
    return CG_OK;
}
