// conv2d.c — 2-D convolution (PyTorch Conv2d: weight [Cout, Cin, kh, kw], optional bias [Cout]) as
// im2col + one CLBlast GEMM per chunk of samples.
//
// A chunk of nb samples works on "wide" matrices whose columns run over (sample, position):
// columns [K, nb*P] (K = Cin*kh*kw, P = OH*OW) and an output block [Cout, nb*P]. With CLBlast on
// PoCL one large GEMM per chunk measured 1.2-2x faster than one GEMM per sample or the strided-
// batched GEMM (DCGAN shapes), and the move from [Cout, nb*P] back to NCHW also adds the bias and
// writes through the output's sample stride (a branch of a concatenation). Chunks keep the scratch
// under the cap of cg_chunk_samples.
#include "gemm_image.h"
#include "nets_internal.h"

#include <stdlib.h>

typedef struct {
    int in_c, out_c, kh, kw, stride, pad_h, pad_w, bias;
    int relu; // cg_conv2d_fuse_relu: ReLU in the bias pass, forward only
} conv_state;

void cg_conv2d_fuse_relu(cg_layer *l) { ((conv_state *)l->state)->relu = 1; }

static cg_im2col_geom geom(const conv_state *s, int h, int w) {
    cg_im2col_geom g = {s->in_c, h, w, s->kh, s->kw, s->stride, s->stride, s->pad_h, s->pad_w, 0, 0};
    g.oh = (h + 2 * s->pad_h - s->kh) / s->stride + 1;
    g.ow = (w + 2 * s->pad_w - s->kw) / s->stride + 1;
    return g;
}

static cg_status conv_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const conv_state *s = l->state;
    char label[96];
    if (in[1] != s->in_c)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: input [%d, %d, %d, %d] has %d channels, expected %d",
                       cg_layer_label(l, label, sizeof label), in[0], in[1], in[2], in[3], in[1], s->in_c);
    if (in[2] + 2 * s->pad_h < s->kh || in[3] + 2 * s->pad_w < s->kw)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: input %dx%d padded by (%d, %d) is smaller than the %dx%d kernel",
                       cg_layer_label(l, label, sizeof label), in[2], in[3], s->pad_h, s->pad_w, s->kh, s->kw);
    cg_im2col_geom g = geom(s, in[2], in[3]);
    out[0] = in[0], out[1] = s->out_c, out[2] = g.oh, out[3] = g.ow;
    return CG_OK;
}

// Scratch of one sample: its columns [K, P] and its output block [Cout, P].
static size_t per_sample(const conv_state *s, const cg_im2col_geom *g) {
    return (cg_geom_rows(g) + (size_t)s->out_c) * cg_geom_positions(g);
}

// The forward writes each sample's product straight into y when the own GEMM kernels run it (CPUs):
// a strided batch over the samples of the chunk, B the sample's columns (or, pointwise, the sample
// itself), C the sample's [Cout, P] block of y. Each element is the same k-ordered sum as in the
// wide product, so the result is bit-identical, without the [Cout, Q] block and its layout pass.
// CLBlast (GPUs) keeps one wide product per chunk, which it runs faster than a strided batch.
static int direct_forward(cg_ctx *ctx, const conv_state *s, const cg_im2col_geom *g) {
    return cg_gemm_pick(ctx->rt, (size_t)s->out_c, cg_geom_positions(g), cg_geom_rows(g)) == CG_GEMM_OWN;
}

// x: [N, Cin, H, W] -> y: [N, Cout, OH, OW] through the direct products, one per sample; then bias
// and ReLU in one pass, or in the product's store where its path fuses them. cg_gemm_image_b reads
// the columns from x (stride 1 on CPUs with the wide tiles) or packs them straight from x, so there
// is no im2col pass and no column buffer; pointwise convolutions read x as the columns as it is.
static cg_status conv_apply_direct(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, const cg_tensor *bias,
                                   int relu, const cg_im2col_geom *g) {
    const conv_state *s = l->state;
    const cg_tensor w = l->params[0].w;
    size_t K = cg_geom_rows(g), P = cg_geom_positions(g), co = (size_t)s->out_c;
    size_t x_sn = cg_sample_stride(x), y_sn = cg_sample_stride(y);
    // y[n] [Cout, P] = W [Cout, K] * cols[n] [K, P]
    cg_gemm_args mm = {.m = co, .n = P, .k = K, .alpha = 1.0f, .beta = 0.0f, .a = w.buf, .a_off = w.off, .lda = K,
                       .c = y.buf, .c_off = y.off, .ldc = P};
    cg_gemm_image im = {x.buf, x.off, x_sn, g->c, g->h, g->w, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->oh, g->ow};
    cg_gemm_epilogue ep = {bias ? bias->buf : NULL, bias ? bias->off : 0, relu};
    int fused;
    CG_TRY(cg_gemm_image_b(ctx->rt, &mm, &im, y_sn, (size_t)x.n, &ep, &fused));
    return fused ? CG_OK : cg_bias_act(ctx, y, bias, relu);
}

static size_t conv_workspace(const cg_layer *l, const int in[4]) {
    const conv_state *s = l->state;
    cg_im2col_geom g = geom(s, in[2], in[3]);
    return cg_chunk_floats(per_sample(s, &g), in[0]);
}

// Cin * kh * kw multiply-adds per output element
static double conv_flops(const cg_layer *l, const int in[4]) {
    const conv_state *s = l->state;
    cg_im2col_geom g = geom(s, in[2], in[3]);
    return 2.0 * in[0] * s->out_c * (double)g.oh * g.ow * s->in_c * s->kh * s->kw;
}

// x: [N, Cin, H, W] -> y: [N, Cout, OH, OW] (y may have a sample stride); with_bias 0 leaves the
// bias out (the tangent map).
static cg_status conv_apply(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int with_bias) {
    const conv_state *s = l->state;
    CG_TRY(cg_check_output(l, x, y, "output"));
    const cg_tensor w = l->params[0].w;
    CG_ASSERT(w.buf);
    const cg_tensor *bias = s->bias && with_bias ? &l->params[1].w : NULL;
    cg_im2col_geom g = geom(s, x.h, x.w);
    int relu = s->relu && with_bias; // the tangent map stays linear
    if (direct_forward(ctx, s, &g)) return conv_apply_direct(l, ctx, x, y, bias, relu, &g);
    size_t K = cg_geom_rows(&g), P = cg_geom_positions(&g), co = (size_t)s->out_c;
    int chunk = cg_chunk_samples(per_sample(s, &g), x.n);
    CG_TRY(cg_workspace_reserve(ctx->rt, &ctx->ws, per_sample(s, &g) * chunk));
    cl_mem ws = ctx->ws.buf;
    for (int n0 = 0; n0 < x.n; n0 += chunk) {
        int nb = x.n - n0 < chunk ? x.n - n0 : chunk;
        size_t Q = (size_t)nb * P, out_off = K * Q;
        CG_TRY(cg_im2col(ctx, &g, x, n0, nb, ws, 0));
        // out [Cout, Q] = W [Cout, K] * cols [K, Q]
        cg_gemm_args mm = {.m = co, .n = Q, .k = K, .alpha = 1.0f, .beta = 0.0f, .a = w.buf, .a_off = w.off, .lda = K,
                           .b = ws, .ldb = Q, .c = ws, .c_off = out_off, .ldc = Q};
        CG_TRY(cg_gemm(ctx->rt, &mm));
        CG_TRY(cg_wide_to_nchw(ctx, ws, out_off, y, n0, nb, bias));
    }
    return cg_bias_act(ctx, y, NULL, relu);
}

static cg_status conv_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    return conv_apply(l, ctx, x, y, 1);
}

// dy: [N, Cout, OH, OW] -> dx: [N, Cin, H, W] (optional); dW [Cout, Cin, kh, kw] += dy (*) x,
// db [Cout] += sum of dy over N, OH, OW (with_bias)
static cg_status conv_backprop(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor dy, const cg_tensor *dx,
                               int with_bias) {
    const conv_state *s = l->state;
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (dx) CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    const cg_tensor w = l->params[0].w, dw = l->params[0].dw;
    CG_ASSERT(w.buf && dw.buf);
    cg_im2col_geom g = geom(s, x.h, x.w);
    size_t K = cg_geom_rows(&g), P = cg_geom_positions(&g), co = (size_t)s->out_c;
    int chunk = cg_chunk_samples(per_sample(s, &g), x.n);
    CG_TRY(cg_workspace_reserve(ctx->rt, &ctx->ws, per_sample(s, &g) * chunk));
    cl_mem ws = ctx->ws.buf;
    for (int n0 = 0; n0 < x.n; n0 += chunk) {
        int nb = x.n - n0 < chunk ? x.n - n0 : chunk;
        size_t Q = (size_t)nb * P, dy_off = K * Q;
        CG_TRY(cg_nchw_to_wide(ctx, dy, n0, nb, ws, dy_off));
        CG_TRY(cg_im2col(ctx, &g, x, n0, nb, ws, 0));
        // dW [Cout, K] += dy [Cout, Q] * cols^T [Q, K]
        cg_gemm_args gw = {.trans_b = 1, .m = co, .n = K, .k = Q, .alpha = 1.0f, .beta = 1.0f, .a = ws,
                           .a_off = dy_off, .lda = Q, .b = ws, .ldb = Q, .c = dw.buf, .c_off = dw.off, .ldc = K};
        CG_TRY(cg_gemm(ctx->rt, &gw));
        if (!dx) continue;
        // dcols [K, Q] = W^T [K, Cout] * dy [Cout, Q], over the columns (the queue is in order)
        cg_gemm_args gx = {.trans_a = 1, .m = K, .n = Q, .k = co, .alpha = 1.0f, .beta = 0.0f, .a = w.buf,
                           .a_off = w.off, .lda = K, .b = ws, .b_off = dy_off, .ldb = Q, .c = ws, .ldc = Q};
        CG_TRY(cg_gemm(ctx->rt, &gx));
        CG_TRY(cg_col2im(ctx, &g, ws, 0, *dx, n0, nb, NULL));
    }
    if (s->bias && with_bias) {
        CG_ASSERT(l->params[1].dw.buf);
        CG_TRY(cg_bias_grad(ctx, dy, l->params[1].dw));
    }
    return CG_OK;
}

static cg_status conv_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy,
                               const cg_tensor *dx) {
    if (((const conv_state *)l->state)->relu) {
        char label[96];
        return cg_fail(CG_ERR_INVALID_ARG, "%s: a convolution with fused ReLU has no backward pass",
                       cg_layer_label(l, label, sizeof label));
    }
    return conv_backprop(l, ctx, x, dy, dx, 1);
}

// xt: [N, Cin, H, W] -> yt: [N, Cout, OH, OW] = W (*) xt
static cg_status conv_tangent(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt) {
    return conv_apply(l, ctx, xt, yt, 0);
}

static cg_status conv_backward2(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt,
                                const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx, const cg_tensor *gxt,
                                int *gx_zero) {
    return cg_affine_backward2(conv_backprop, l, ctx, x, xt, gy, gyt, gx, gxt, gx_zero);
}

static void conv_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops conv_ops = {
    .out_shape = conv_out_shape,
    .workspace = conv_workspace,
    .forward = conv_forward,
    .backward = conv_backward,
    .tangent = conv_tangent,
    .backward2 = conv_backward2,
    .flops = conv_flops,
    .destroy = conv_destroy,
};

cg_status cg_conv2d_create2(cg_conv_params p, int pad_h, int pad_w, cg_layer **out) {
    *out = NULL;
    if (p.in_c < 1 || p.out_c < 1 || p.kh < 1 || p.kw < 1 || p.stride < 1 || pad_h < 0 || pad_w < 0)
        return cg_fail(CG_ERR_INVALID_ARG,
                       "conv2d: invalid parameters in_c=%d out_c=%d kernel %dx%d stride %d padding (%d, %d)", p.in_c,
                       p.out_c, p.kh, p.kw, p.stride, pad_h, pad_w);
    cg_layer *l = calloc(1, sizeof *l);
    conv_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "conv2d: out of host memory");
    }
    *s = (conv_state){p.in_c, p.out_c, p.kh, p.kw, p.stride, pad_h, pad_w, p.bias != 0, 0};
    l->ops = &conv_ops;
    l->kind = "conv2d";
    l->state = s;
    int fan_in = p.in_c * p.kh * p.kw;
    cg_status st = cg_layer_add_param(
        l, (cg_param_decl){"weight", CG_ROLE_WEIGHT, CG_INIT_FAN_IN, fan_in, 4, {p.out_c, p.in_c, p.kh, p.kw}});
    if (st == CG_OK && s->bias)
        st = cg_layer_add_param(l, (cg_param_decl){"bias", CG_ROLE_BIAS, CG_INIT_FAN_IN, fan_in, 1, {p.out_c}});
    if (st != CG_OK) {
        cg_layer_free(l);
        return st;
    }
    *out = l;
    return CG_OK;
}

cg_status cg_conv2d_create(cg_conv_params p, cg_layer **out) { return cg_conv2d_create2(p, p.pad, p.pad, out); }
