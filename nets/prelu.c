// prelu.c — PReLU with one learned slope per channel (PyTorch's nn.PReLU(C)): y = x > 0 ? x : a[c] x
// (cl/upscale.cl). Parameter "weight" [C], role weight, kept by the initialisers (it comes from
// loaded weights; PyTorch starts it at 0.25). The slope's gradient, sum over n, h, w of
// (x > 0 ? 0 : x) dy, is formed elementwise in the workspace and reduced per channel in a fixed order
// (bias_grad), so it is deterministic. Views may carry a sample stride.
#include "nets_internal.h"

#include <stdlib.h>

typedef struct {
    int c;
} prelu_state;

static cg_status prelu_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const prelu_state *s = l->state;
    char label[96];
    for (int i = 0; i < 4; i++) {
        if (in[i] < 0) return cg_fail(CG_ERR_INVALID_ARG, "%s: negative input dimension", cg_layer_label(l, label, sizeof label));
        out[i] = in[i];
    }
    if (in[1] != s->c)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: input has %d channels, the layer %d",
                       cg_layer_label(l, label, sizeof label), in[1], s->c);
    return CG_OK;
}

// The backward pass's per-element slope terms.
static size_t prelu_workspace(const cg_layer *l, const int in[4]) {
    return (size_t)in[0] * in[1] * in[2] * in[3];
}

// x: [N, C, H, W] -> y: [N, C, H, W]
static cg_status prelu_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    CG_TRY(cg_check_output(l, x, y, "output"));
    cl_ulong n = cg_numel(x), per = cg_sample_size(x), hw = (cl_ulong)x.h * x.w;
    if (n == 0) return CG_OK;
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), yoff = y.off, ysn = cg_sample_stride(y), woff = l->params[0].w.off;
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "upscale", "prelu_fwd", &k));
    cg_status st = cg_launch1d(ctx->rt, k, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf), CG_ARG(yoff),
                               CG_ARG(ysn), CG_ARG(per), CG_ARG(hw), CG_ARG(n), CG_ARG(l->params[0].w.buf),
                               CG_ARG(woff));
    return st == CG_OK ? CG_OK : cg_fail_context(st, "prelu %s forward", l->name);
}

// dy: [N, C, H, W] -> dx: [N, C, H, W] (optional); dweight [C] += sum_{n,h,w} (x > 0 ? 0 : x) dy
static cg_status prelu_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (dx) CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    cl_ulong n = cg_numel(x), per = cg_sample_size(x), hw = (cl_ulong)x.h * x.w;
    if (n == 0) return CG_OK;
    cg_param *p = &l->params[0];
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), gdoff = dy.off, gdsn = cg_sample_stride(dy), woff = p->w.off;
    cl_kernel k;
    cg_status st = CG_OK;
    if (p->dw.buf) {
        CG_TRY(cg_workspace_reserve(ctx->rt, &ctx->ws, n));
        cl_ulong toff = 0;
        CG_TRY(cg_kernel_get(ctx->rt, "upscale", "prelu_wterm", &k));
        st = cg_launch1d(ctx->rt, k, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(gdoff),
                         CG_ARG(gdsn), CG_ARG(ctx->ws.buf), CG_ARG(toff), CG_ARG(per), CG_ARG(n));
        if (st == CG_OK)
            st = cg_bias_grad(ctx, cg_view(ctx->ws.buf, 0, x.n, x.c, x.h, x.w), p->dw);
    }
    if (st == CG_OK && dx) {
        cl_ulong gxoff = dx->off, gxsn = cg_sample_stride(*dx);
        CG_TRY(cg_kernel_get(ctx->rt, "upscale", "prelu_bwd", &k));
        st = cg_launch1d(ctx->rt, k, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(gdoff),
                         CG_ARG(gdsn), CG_ARG(dx->buf), CG_ARG(gxoff), CG_ARG(gxsn), CG_ARG(per), CG_ARG(hw),
                         CG_ARG(n), CG_ARG(p->w.buf), CG_ARG(woff));
    }
    return st == CG_OK ? CG_OK : cg_fail_context(st, "prelu %s backward", l->name);
}

static double prelu_flops(const cg_layer *l, const int in[4]) { return (double)in[0] * in[1] * in[2] * in[3]; }

static void prelu_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops prelu_ops = {
    .out_shape = prelu_out_shape,
    .workspace = prelu_workspace,
    .forward = prelu_forward,
    .backward = prelu_backward,
    .flops = prelu_flops,
    .destroy = prelu_destroy,
};

cg_status cg_prelu_create(int channels, cg_layer **out) {
    *out = NULL;
    if (channels < 1) return cg_fail(CG_ERR_INVALID_ARG, "prelu: %d channels", channels);
    cg_layer *l = calloc(1, sizeof *l);
    prelu_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a prelu layer");
    }
    s->c = channels;
    l->ops = &prelu_ops;
    l->kind = "prelu";
    l->state = s;
    cg_status st = cg_layer_add_param(l, (cg_param_decl){"weight", CG_ROLE_WEIGHT, CG_INIT_KEEP, 1, 1, {channels}});
    if (st != CG_OK) {
        cg_layer_free(l);
        return st;
    }
    *out = l;
    return CG_OK;
}
