// activation.c — the elementwise activation layers: ReLU, LeakyReLU, tanh and sigmoid (cl/act.cl).
// ReLU and LeakyReLU differentiate from the input x; tanh and sigmoid from the output y. Every view
// may carry a sample stride (a channel slice of a concatenated tensor).
#include "kernel_profile.h"
#include "nets_internal.h"

#include <math.h>
#include <stdlib.h>

typedef enum { ACT_LEAKY, ACT_TANH, ACT_SIGMOID } act_kind;

typedef struct {
    act_kind kind;
    float slope; // LeakyReLU negative slope; 0 for ReLU
} act_state;

static const char *const fwd_kernels[] = {"act_leaky_fwd", "act_tanh_fwd", "act_sigmoid_fwd"};
static const char *const bwd_kernels[] = {"act_leaky_bwd", "act_tanh_bwd", "act_sigmoid_bwd"};

static cg_status act_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    for (int i = 0; i < 4; i++) {
        if (in[i] < 0) return cg_fail(CG_ERR_INVALID_ARG, "%s %s: negative input dimension", l->kind, l->name);
        out[i] = in[i];
    }
    return CG_OK;
}

static size_t act_workspace(const cg_layer *l, const int in[4]) { return 0; }

static int same_shape(cg_tensor a, cg_tensor b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

// LeakyReLU's CPU variants (cl/act.cl *_rows): a work-item per chunk of ACT_ROW elements of a sample
// (keep in step with the kernel's default). Their work-items for n elements of `per` per sample, or
// 0 where they do not apply (not LeakyReLU, not a CPU, or indices past 32 bits).
enum { ACT_ROW = 1024 };
static cl_uint leaky_row_items(const cg_ctx *ctx, const act_state *s, cl_ulong n, cl_ulong per) {
    cl_ulong items = n / per * ((per + ACT_ROW - 1) / ACT_ROW);
    if (s->kind != ACT_LEAKY || !cg_rows_variant(ctx) || items > UINT32_MAX || per > UINT32_MAX - ACT_ROW) return 0;
    return (cl_uint)items;
}

// x: [N, C, H, W] -> y: [N, C, H, W]
static cg_status act_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    const act_state *s = l->state;
    if (!same_shape(x, y))
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: output [%d,%d,%d,%d] differs from input [%d,%d,%d,%d]", l->kind,
                       l->name, y.n, y.c, y.h, y.w, x.n, x.c, x.h, x.w);
    cl_ulong n = cg_numel(x), per = cg_sample_size(x);
    if (n == 0) return CG_OK;
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), yoff = y.off, ysn = cg_sample_stride(y);
    cl_kernel k;
    cg_status st;
    cl_uint items = leaky_row_items(ctx, s, n, per);
    if (items) {
        cl_uint p32 = (cl_uint)per;
        CG_TRY(cg_kernel_get(ctx->rt, "act", "act_leaky_fwd_rows", &k));
        cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)n);
        st = cg_launch1d(ctx->rt, k, items, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf), CG_ARG(yoff),
                         CG_ARG(ysn), CG_ARG(p32), CG_ARG(items), CG_ARG(s->slope));
        if (st != CG_OK) return cg_fail_context(st, "%s %s forward", l->kind, l->name);
        return CG_OK;
    }
    CG_TRY(cg_kernel_get(ctx->rt, "act", fwd_kernels[s->kind], &k));
    cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)n);
    if (s->kind == ACT_LEAKY)
        st = cg_launch1d(ctx->rt, k, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf), CG_ARG(yoff),
                         CG_ARG(ysn), CG_ARG(per), CG_ARG(n), CG_ARG(s->slope));
    else
        st = cg_launch1d(ctx->rt, k, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf), CG_ARG(yoff),
                         CG_ARG(ysn), CG_ARG(per), CG_ARG(n));
    if (st != CG_OK) return cg_fail_context(st, "%s %s forward", l->kind, l->name);
    return CG_OK;
}

// dy: [N, C, H, W] -> dx: [N, C, H, W] (no parameters)
static cg_status act_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    const act_state *s = l->state;
    if (!dx) return CG_OK;
    if (!same_shape(x, y) || !same_shape(x, dy) || !same_shape(x, *dx))
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s backward: x, y, dy and dx must have the same shape", l->kind,
                       l->name);
    cl_ulong n = cg_numel(x), per = cg_sample_size(x);
    if (n == 0) return CG_OK;
    // LeakyReLU reads x; tanh and sigmoid read y.
    cg_tensor src = s->kind == ACT_LEAKY ? x : y;
    cl_ulong soff = src.off, ssn = cg_sample_stride(src);
    cl_ulong gdoff = dy.off, gdsn = cg_sample_stride(dy), gxoff = dx->off, gxsn = cg_sample_stride(*dx);
    cl_kernel k;
    cg_status st;
    cl_uint items = leaky_row_items(ctx, s, n, per);
    if (items) {
        cl_uint p32 = (cl_uint)per;
        CG_TRY(cg_kernel_get(ctx->rt, "act", "act_leaky_bwd_rows", &k));
        cg_profile_work(ctx->rt, 0, 3.0 * sizeof(float) * (double)n);
        st = cg_launch1d(ctx->rt, k, items, CG_ARG(src.buf), CG_ARG(soff), CG_ARG(ssn), CG_ARG(dy.buf),
                         CG_ARG(gdoff), CG_ARG(gdsn), CG_ARG(dx->buf), CG_ARG(gxoff), CG_ARG(gxsn), CG_ARG(p32),
                         CG_ARG(items), CG_ARG(s->slope));
        if (st != CG_OK) return cg_fail_context(st, "%s %s backward", l->kind, l->name);
        return CG_OK;
    }
    CG_TRY(cg_kernel_get(ctx->rt, "act", bwd_kernels[s->kind], &k));
    cg_profile_work(ctx->rt, 0, 3.0 * sizeof(float) * (double)n);
    if (s->kind == ACT_LEAKY)
        st = cg_launch1d(ctx->rt, k, n, CG_ARG(src.buf), CG_ARG(soff), CG_ARG(ssn), CG_ARG(dy.buf), CG_ARG(gdoff),
                         CG_ARG(gdsn), CG_ARG(dx->buf), CG_ARG(gxoff), CG_ARG(gxsn), CG_ARG(per), CG_ARG(n),
                         CG_ARG(s->slope));
    else
        st = cg_launch1d(ctx->rt, k, n, CG_ARG(src.buf), CG_ARG(soff), CG_ARG(ssn), CG_ARG(dy.buf), CG_ARG(gdoff),
                         CG_ARG(gdsn), CG_ARG(dx->buf), CG_ARG(gxoff), CG_ARG(gxsn), CG_ARG(per), CG_ARG(n));
    if (st != CG_OK) return cg_fail_context(st, "%s %s backward", l->kind, l->name);
    return CG_OK;
}

// LeakyReLU's derivative is a mask m(x) (1 or slope) and its second derivative is 0, so both the
// tangent (yt = m xt) and the reverse of the pair (gx = m gy, gxt = m gyt) are backward passes.
static cg_status leaky_tangent(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt) {
    return act_backward(l, ctx, x, y, xt, &yt);
}

static cg_status leaky_backward2(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt,
                                 const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx, const cg_tensor *gxt,
                                 int *gx_zero) {
    *gx_zero = gy == NULL;
    if (gy && gx) CG_TRY(act_backward(l, ctx, x, y, *gy, gx));
    return gxt ? act_backward(l, ctx, x, y, gyt, gxt) : CG_OK;
}

static void act_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

// ReLU and LeakyReLU (piecewise linear: second-order passes), tanh and sigmoid (none).
static const cg_layer_ops leaky_ops = {
    .out_shape = act_out_shape,
    .workspace = act_workspace,
    .forward = act_forward,
    .backward = act_backward,
    .tangent = leaky_tangent,
    .backward2 = leaky_backward2,
    .destroy = act_destroy,
};

static const cg_layer_ops smooth_ops = {
    .out_shape = act_out_shape,
    .workspace = act_workspace,
    .forward = act_forward,
    .backward = act_backward,
    .destroy = act_destroy,
};

static cg_status act_create(const char *kind, act_kind k, float slope, cg_layer **out) {
    *out = NULL;
    cg_layer *l = calloc(1, sizeof *l);
    act_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a %s layer", kind);
    }
    s->kind = k;
    s->slope = slope;
    l->ops = k == ACT_LEAKY ? &leaky_ops : &smooth_ops;
    l->kind = kind;
    l->state = s;
    *out = l;
    return CG_OK;
}

int cg_act_leaky_slope(const cg_layer *l, float *slope) {
    if (l->ops != &leaky_ops) return 0;
    *slope = ((const act_state *)l->state)->slope;
    return 1;
}

cg_status cg_relu_create(cg_layer **out) { return act_create("relu", ACT_LEAKY, 0.0f, out); }

cg_status cg_leaky_relu_create(float slope, cg_layer **out) {
    if (isnan(slope)) {
        *out = NULL;
        return cg_fail(CG_ERR_INVALID_ARG, "leaky_relu: the negative slope is NaN");
    }
    return act_create("leaky_relu", ACT_LEAKY, slope, out);
}

cg_status cg_tanh_create(cg_layer **out) { return act_create("tanh", ACT_TANH, 0.0f, out); }

cg_status cg_sigmoid_create(cg_layer **out) { return act_create("sigmoid", ACT_SIGMOID, 0.0f, out); }
