// conv_transpose2d.c — 2-D transposed convolution (PyTorch ConvTranspose2d: weight
// [Cin, Cout, kh, kw], optional bias [Cout], output (H - 1) * stride - 2 * pad + kh; no
// output_padding, dilation or groups) as one CLBlast GEMM per chunk of samples + col2im.
//
// It is the adjoint of the conv2d that maps its output [Cout, OH, OW] back to its input [Cin, H, W]:
// the window slides over the OUTPUT image and takes H x W positions, so the column matrix of nb
// samples is [M, nb*P] with M = Cout*kh*kw and P = H*W. Like conv2d.c, a chunk works on wide
// matrices whose columns run over (sample, position): the input as [Cin, nb*P] and the columns.
#include "nets_internal.h"

#include <stdlib.h>

typedef struct {
    int in_c, out_c, kh, kw, stride, pad, bias;
} convt_state;

static int out_size(int in, int k, int stride, int pad) { return (in - 1) * stride - 2 * pad + k; }

// The window geometry over the output image y [Cout, OH, OW] for an input of h x w.
static cg_im2col_geom geom(const convt_state *s, int h, int w) {
    cg_im2col_geom g = {s->out_c, out_size(h, s->kh, s->stride, s->pad), out_size(w, s->kw, s->stride, s->pad),
                        s->kh, s->kw, s->stride, s->stride, s->pad, s->pad, h, w};
    return g;
}

static cg_status convt_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const convt_state *s = l->state;
    char label[96];
    if (in[1] != s->in_c)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: input [%d, %d, %d, %d] has %d channels, expected %d",
                       cg_layer_label(l, label, sizeof label), in[0], in[1], in[2], in[3], in[1], s->in_c);
    cg_im2col_geom g = geom(s, in[2], in[3]);
    if (in[2] < 1 || in[3] < 1 || g.h < 1 || g.w < 1)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: input %dx%d gives an empty %dx%d output (kernel %dx%d, padding %d)",
                       cg_layer_label(l, label, sizeof label), in[2], in[3], g.h, g.w, s->kh, s->kw, s->pad);
    out[0] = in[0], out[1] = s->out_c, out[2] = g.h, out[3] = g.w;
    return CG_OK;
}

// Scratch of one sample: its columns [M, P] and its input (or input gradient) as [Cin, P].
static size_t per_sample(const convt_state *s, const cg_im2col_geom *g) {
    return (cg_geom_rows(g) + (size_t)s->in_c) * cg_geom_positions(g);
}

static size_t convt_workspace(const cg_layer *l, const int in[4]) {
    const convt_state *s = l->state;
    cg_im2col_geom g = geom(s, in[2], in[3]);
    return cg_chunk_floats(per_sample(s, &g), in[0]);
}

// Cout * kh * kw multiply-adds per input element
static double convt_flops(const cg_layer *l, const int in[4]) {
    const convt_state *s = l->state;
    return 2.0 * in[0] * in[1] * (double)in[2] * in[3] * s->out_c * s->kh * s->kw;
}

// With the own GEMM kernels (CPUs), the products that read x or write dx do so per sample, straight
// from/into the NCHW tensor (a strided batch), instead of through a [Cin, Q] copy and its layout
// pass; each element is the same k-ordered sum, so bit-identical. CLBlast keeps the wide products.
static int direct(cg_ctx *ctx, size_t m, size_t n, size_t k) { return cg_gemm_pick(ctx->rt, m, n, k) == CG_GEMM_OWN; }

// x: [N, Cin, H, W] -> y: [N, Cout, OH, OW] (y may have a sample stride)
static cg_status convt_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    const convt_state *s = l->state;
    CG_TRY(cg_check_output(l, x, y, "output"));
    const cg_tensor w = l->params[0].w;
    CG_ASSERT(w.buf);
    const cg_tensor *bias = s->bias ? &l->params[1].w : NULL;
    cg_im2col_geom g = geom(s, x.h, x.w);
    size_t M = cg_geom_rows(&g), P = cg_geom_positions(&g), ci = (size_t)s->in_c, x_sn = cg_sample_stride(x);
    int chunk = cg_chunk_samples(per_sample(s, &g), x.n);
    CG_TRY(cg_workspace_reserve(ctx->rt, &ctx->ws, per_sample(s, &g) * chunk));
    cl_mem ws = ctx->ws.buf;
    for (int n0 = 0; n0 < x.n; n0 += chunk) {
        int nb = x.n - n0 < chunk ? x.n - n0 : chunk;
        size_t Q = (size_t)nb * P, x_off = M * Q;
        if (direct(ctx, M, P, ci)) {
            // cols[:, n*P ..] [M, P] = W^T [M, Cin] * x[n] [Cin, P], one strided product per sample
            cg_gemm_args mm = {.trans_a = 1, .m = M, .n = P, .k = ci, .alpha = 1.0f, .beta = 0.0f, .a = w.buf,
                               .a_off = w.off, .lda = M, .b = x.buf, .b_off = x.off + (size_t)n0 * x_sn, .ldb = P,
                               .c = ws, .ldc = Q};
            CG_TRY(cg_gemm_batched(ctx->rt, &mm, 0, x_sn, P, (size_t)nb));
        } else {
            CG_TRY(cg_nchw_to_wide(ctx, x, n0, nb, ws, x_off));
            // cols [M, Q] = W^T [M, Cin] * x [Cin, Q]
            cg_gemm_args mm = {.trans_a = 1, .m = M, .n = Q, .k = ci, .alpha = 1.0f, .beta = 0.0f, .a = w.buf,
                               .a_off = w.off, .lda = M, .b = ws, .b_off = x_off, .ldb = Q, .c = ws, .ldc = Q};
            CG_TRY(cg_gemm(ctx->rt, &mm));
        }
        CG_TRY(cg_col2im(ctx, &g, ws, 0, y, n0, nb, bias));
    }
    return CG_OK;
}

// dy: [N, Cout, OH, OW] -> dx: [N, Cin, H, W] (optional); dW [Cin, Cout, kh, kw] += x (*) dy,
// db [Cout] += sum of dy over N, OH, OW
static cg_status convt_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy,
                                const cg_tensor *dx) {
    const convt_state *s = l->state;
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (dx) CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    const cg_tensor w = l->params[0].w, dw = l->params[0].dw;
    CG_ASSERT(w.buf && dw.buf);
    cg_im2col_geom g = geom(s, x.h, x.w);
    size_t M = cg_geom_rows(&g), P = cg_geom_positions(&g), ci = (size_t)s->in_c;
    int chunk = cg_chunk_samples(per_sample(s, &g), x.n);
    CG_TRY(cg_workspace_reserve(ctx->rt, &ctx->ws, per_sample(s, &g) * chunk));
    cl_mem ws = ctx->ws.buf;
    for (int n0 = 0; n0 < x.n; n0 += chunk) {
        int nb = x.n - n0 < chunk ? x.n - n0 : chunk;
        size_t Q = (size_t)nb * P, x_off = M * Q;
        CG_TRY(cg_im2col(ctx, &g, dy, n0, nb, ws, 0));
        CG_TRY(cg_nchw_to_wide(ctx, x, n0, nb, ws, x_off));
        // dW [Cin, M] += x [Cin, Q] * dcols^T [Q, M]
        cg_gemm_args gw = {.trans_b = 1, .m = ci, .n = M, .k = Q, .alpha = 1.0f, .beta = 1.0f, .a = ws,
                           .a_off = x_off, .lda = Q, .b = ws, .ldb = Q, .c = dw.buf, .c_off = dw.off, .ldc = M};
        CG_TRY(cg_gemm(ctx->rt, &gw));
        if (!dx) continue;
        if (direct(ctx, ci, P, M)) {
            // dx[n] [Cin, P] = W [Cin, M] * dcols[:, n*P ..] [M, P], straight into dx per sample
            size_t dx_sn = cg_sample_stride(*dx);
            cg_gemm_args gx = {.m = ci, .n = P, .k = M, .alpha = 1.0f, .beta = 0.0f, .a = w.buf, .a_off = w.off,
                               .lda = M, .b = ws, .ldb = Q, .c = dx->buf, .c_off = dx->off + (size_t)n0 * dx_sn,
                               .ldc = P};
            CG_TRY(cg_gemm_batched(ctx->rt, &gx, 0, P, dx_sn, (size_t)nb));
            continue;
        }
        // dx [Cin, Q] = W [Cin, M] * dcols [M, Q], over the wide input (the queue is in order)
        cg_gemm_args gx = {.m = ci, .n = Q, .k = M, .alpha = 1.0f, .beta = 0.0f, .a = w.buf, .a_off = w.off, .lda = M,
                           .b = ws, .ldb = Q, .c = ws, .c_off = x_off, .ldc = Q};
        CG_TRY(cg_gemm(ctx->rt, &gx));
        CG_TRY(cg_wide_to_nchw(ctx, ws, x_off, *dx, n0, nb, NULL));
    }
    if (s->bias) {
        CG_ASSERT(l->params[1].dw.buf);
        CG_TRY(cg_bias_grad(ctx, dy, l->params[1].dw));
    }
    return CG_OK;
}

static void convt_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops convt_ops = {
    .out_shape = convt_out_shape,
    .workspace = convt_workspace,
    .forward = convt_forward,
    .backward = convt_backward,
    .flops = convt_flops,
    .destroy = convt_destroy,
};

cg_status cg_conv_transpose2d_create(cg_conv_params p, cg_layer **out) {
    *out = NULL;
    if (p.in_c < 1 || p.out_c < 1 || p.kh < 1 || p.kw < 1 || p.stride < 1 || p.pad < 0)
        return cg_fail(CG_ERR_INVALID_ARG,
                       "conv_transpose2d: invalid parameters in_c=%d out_c=%d kernel %dx%d stride %d padding %d",
                       p.in_c, p.out_c, p.kh, p.kw, p.stride, p.pad);
    cg_layer *l = calloc(1, sizeof *l);
    convt_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "conv_transpose2d: out of host memory");
    }
    *s = (convt_state){p.in_c, p.out_c, p.kh, p.kw, p.stride, p.pad, p.bias != 0};
    l->ops = &convt_ops;
    l->kind = "conv_transpose2d";
    l->state = s;
    int fan_in = p.out_c * p.kh * p.kw; // PyTorch's fan-in of the [Cin, Cout, kh, kw] weight
    cg_status st = cg_layer_add_param(
        l, (cg_param_decl){"weight", CG_ROLE_WEIGHT, CG_INIT_FAN_IN, fan_in, 4, {p.in_c, p.out_c, p.kh, p.kw}});
    if (st == CG_OK && s->bias)
        st = cg_layer_add_param(l, (cg_param_decl){"bias", CG_ROLE_BIAS, CG_INIT_FAN_IN, fan_in, 1, {p.out_c}});
    if (st != CG_OK) {
        cg_layer_free(l);
        return st;
    }
    *out = l;
    return CG_OK;
}
