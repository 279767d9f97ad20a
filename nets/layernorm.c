// layernorm.c — LayerNorm over the (C, H, W) of each sample, as torch.nn.LayerNorm([C, H, W]):
// y = (x - mean) / sqrt(biased var + eps), then * weight + bias when affine (weight and bias
// [C, H, W], elementwise). The same in training and eval (cl/bn.cl). The per-sample statistics
// of the most recent forward are kept on the device for backward, sized for the largest batch.
// The layer never initialises its parameters: weight = 1 and bias = 0 are the container's or the
// initialiser's job.
#include "kernel_profile.h"
#include "nets_internal.h"

#include <stdlib.h>

enum { P_WEIGHT, P_BIAS };

typedef struct {
    cg_ln_params p;
    cl_mem st;       // 4*cap floats on the device: mean, 1/sqrt(var + eps), sum g, sum g*xhat per sample
    int cap;         // samples st has room for
    int have_stats;  // a forward has run
    cl_mem r2;       // 7*cap2 floats: the per-sample sums of the second-order reverse (cl/bn.cl ln2_reduce)
    int cap2;
} ln_state;

static cg_status ln_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const ln_state *s = l->state;
    if (in[0] < 0 || in[1] != s->p.c || in[2] != s->p.h || in[3] != s->p.w)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: input [%d,%d,%d,%d] is not [N,%d,%d,%d]", l->kind, l->name, in[0],
                       in[1], in[2], in[3], s->p.c, s->p.h, s->p.w);
    for (int i = 0; i < 4; i++) out[i] = in[i];
    return CG_OK;
}

static size_t ln_workspace(const cg_layer *l, const int in[4]) { return 0; }

// Work-items of the CPU variants (cl/bn.cl): chunks of LN_ROW elements per sample, blocks of
// LN_COLS elements of a sample. Keep in step with the kernels' defaults.
enum { LN_ROW = 512, LN_COLS = 16 };
static cl_uint row_items(cl_uint N, cl_uint D) { return N * ((D + LN_ROW - 1) / LN_ROW); }
static cl_uint col_items(cl_uint D) { return (D + LN_COLS - 1) / LN_COLS; }

static int same_shape(cg_tensor a, cg_tensor b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

static cg_status check_input(const cg_layer *l, cg_tensor x, int need_grads) {
    const ln_state *s = l->state;
    if (x.c != s->p.c || x.h != s->p.h || x.w != s->p.w)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: input [%d,%d,%d,%d] is not [N,%d,%d,%d]", l->kind, l->name, x.n,
                       x.c, x.h, x.w, s->p.c, s->p.h, s->p.w);
    if (cg_numel(x) > UINT32_MAX) // the kernels index elements with 32 bits
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: %zu elements exceed 2^32 - 1", l->kind, l->name, cg_numel(x));
    for (int i = 0; i < l->n_params; i++) {
        const cg_param *p = &l->params[i];
        if (!p->w.buf || (need_grads && !p->dw.buf))
            return cg_fail(CG_ERR_INVALID_ARG, "%s %s: parameter %s is not bound", l->kind, l->name, p->name);
    }
    return CG_OK;
}

// Parameter i's value (grad 0) or gradient buffer; without the affine part a stand-in buffer that
// the kernels never read, since OpenCL needs a valid cl_mem for every buffer argument.
static cl_mem param_buf(const cg_layer *l, int i, int grad, cl_mem fallback) {
    if (i >= l->n_params) return fallback;
    return grad ? l->params[i].dw.buf : l->params[i].w.buf;
}

// x: [N, C, H, W] -> y: [N, C, H, W]
static cg_status ln_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    ln_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    CG_TRY(check_input(l, x, 0));
    if (!same_shape(x, y))
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: output [%d,%d,%d,%d] differs from input [%d,%d,%d,%d]", l->kind,
                       l->name, y.n, y.c, y.h, y.w, x.n, x.c, x.h, x.w);
    if (x.n > s->cap) {
        cl_mem st;
        CG_TRY(cg_buffer_alloc(rt, 4 * (size_t)x.n, &st));
        cg_buffer_release(s->st); // work already queued keeps the old buffer alive
        s->st = st;
        s->cap = x.n;
    }
    s->have_stats = 1;
    if (cg_numel(x) == 0) return CG_OK;

    cl_uint N = x.n, D = (cl_uint)cg_sample_size(x);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), yoff = y.off, ysn = cg_sample_stride(y);
    cl_float eps = s->p.eps;
    cl_int affine = s->p.affine ? 1 : 0;
    cl_mem w = param_buf(l, P_WEIGHT, 0, s->st), b = param_buf(l, P_BIAS, 0, s->st);
    cl_ulong woff = affine ? l->params[P_WEIGHT].w.off : 0, boff = affine ? l->params[P_BIAS].w.off : 0;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", "ln_stats", &k));
    cg_status st = cg_launch_groups(rt, k, N, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(N), CG_ARG(D),
                                    CG_ARG(eps), CG_ARG(s->st));
    if (st != CG_OK) return cg_fail_context(st, "%s %s forward statistics", l->kind, l->name);
    int rows = cg_rows_variant(ctx);
    cl_uint items = row_items(N, D);
    CG_TRY(cg_kernel_get(rt, "bn", rows ? "ln_apply_rows" : "ln_apply", &k));
    cg_profile_work(rt, 0, 2.0 * sizeof(float) * (double)cg_numel(x));
    if (rows)
        st = cg_launch1d(rt, k, items, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf), CG_ARG(yoff),
                         CG_ARG(ysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st), CG_ARG(affine), CG_ARG(w), CG_ARG(woff),
                         CG_ARG(b), CG_ARG(boff), CG_ARG(items));
    else
        st = cg_launch1d(rt, k, cg_numel(x), CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf), CG_ARG(yoff),
                         CG_ARG(ysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st), CG_ARG(affine), CG_ARG(w), CG_ARG(woff),
                         CG_ARG(b), CG_ARG(boff));
    if (st != CG_OK) return cg_fail_context(st, "%s %s forward", l->kind, l->name);
    return CG_OK;
}

// dy: [N, C, H, W] -> dx: [N, C, H, W]; dweight, dbias: [C, H, W] accumulated (affine)
static cg_status ln_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    ln_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    CG_TRY(check_input(l, x, 1));
    if (!same_shape(x, dy) || (dx && !same_shape(x, *dx)))
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s backward: x, dy and dx must have the same shape", l->kind, l->name);
    if (!s->have_stats || x.n > s->cap)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: backward without a matching forward", l->kind, l->name);
    if (cg_numel(x) == 0) return CG_OK;

    cl_uint N = x.n, D = (cl_uint)cg_sample_size(x);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), dyoff = dy.off, dysn = cg_sample_stride(dy);
    cl_int affine = s->p.affine ? 1 : 0;
    cl_mem w = param_buf(l, P_WEIGHT, 0, s->st);
    cl_ulong woff = affine ? l->params[P_WEIGHT].w.off : 0;
    cl_kernel k;
    cg_status st;
    int rows = cg_rows_variant(ctx);
    if (affine) {
        cl_mem dw = param_buf(l, P_WEIGHT, 1, s->st), db = param_buf(l, P_BIAS, 1, s->st);
        cl_ulong dwoff = l->params[P_WEIGHT].dw.off, dboff = l->params[P_BIAS].dw.off;
        cl_uint items = col_items(D);
        CG_TRY(cg_kernel_get(rt, "bn", rows ? "ln_bwd_params_cols" : "ln_bwd_params", &k));
        cg_profile_work(rt, 0, 2.0 * sizeof(float) * (double)cg_numel(x));
        if (rows)
            st = cg_launch1d(rt, k, items, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(dyoff),
                             CG_ARG(dysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st), CG_ARG(dw), CG_ARG(dwoff), CG_ARG(db),
                             CG_ARG(dboff), CG_ARG(items));
        else
            st = cg_launch1d(rt, k, D, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(dyoff),
                             CG_ARG(dysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st), CG_ARG(dw), CG_ARG(dwoff), CG_ARG(db),
                             CG_ARG(dboff));
        if (st != CG_OK) return cg_fail_context(st, "%s %s parameter gradients", l->kind, l->name);
    }
    if (!dx) return CG_OK;

    CG_TRY(cg_kernel_get(rt, "bn", "ln_bwd_reduce", &k));
    st = cg_launch_groups(rt, k, N, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(dyoff),
                          CG_ARG(dysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st), CG_ARG(affine), CG_ARG(w), CG_ARG(woff));
    if (st != CG_OK) return cg_fail_context(st, "%s %s backward reduction", l->kind, l->name);
    cl_ulong dxoff = dx->off, dxsn = cg_sample_stride(*dx);
    cl_uint items = row_items(N, D);
    CG_TRY(cg_kernel_get(rt, "bn", rows ? "ln_bwd_dx_rows" : "ln_bwd_dx", &k));
    cg_profile_work(rt, 0, 3.0 * sizeof(float) * (double)cg_numel(x));
    if (rows)
        st = cg_launch1d(rt, k, items, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(dyoff),
                         CG_ARG(dysn), CG_ARG(dx->buf), CG_ARG(dxoff), CG_ARG(dxsn), CG_ARG(N), CG_ARG(D),
                         CG_ARG(s->st), CG_ARG(affine), CG_ARG(w), CG_ARG(woff), CG_ARG(items));
    else
        st = cg_launch1d(rt, k, cg_numel(x), CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(dyoff),
                         CG_ARG(dysn), CG_ARG(dx->buf), CG_ARG(dxoff), CG_ARG(dxsn), CG_ARG(N), CG_ARG(D),
                         CG_ARG(s->st), CG_ARG(affine), CG_ARG(w), CG_ARG(woff));
    if (st != CG_OK) return cg_fail_context(st, "%s %s backward", l->kind, l->name);
    return CG_OK;
}

static cg_status check_pair(const cg_layer *l, cg_tensor x, cg_tensor a, const char *what) {
    if (same_shape(x, a) && a.buf) return CG_OK;
    return cg_fail(CG_ERR_INVALID_ARG, "%s %s: %s [%d,%d,%d,%d] does not match the input [%d,%d,%d,%d]", l->kind,
                   l->name, what, a.n, a.c, a.h, a.w, x.n, x.c, x.h, x.w);
}

// xt: [N, C, H, W] -> yt: [N, C, H, W] = w * u, u the tangent of xhat (cl/bn.cl)
static cg_status ln_tangent(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt) {
    ln_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    CG_TRY(check_input(l, x, 0));
    CG_TRY(check_pair(l, x, xt, "tangent xt"));
    CG_TRY(check_pair(l, x, yt, "tangent yt"));
    if (!s->have_stats || x.n > s->cap)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: tangent without a matching forward", l->kind, l->name);
    if (cg_numel(x) == 0) return CG_OK;
    cl_uint N = x.n, D = (cl_uint)cg_sample_size(x);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), toff = xt.off, tsn = cg_sample_stride(xt);
    cl_ulong yoff = yt.off, ysn = cg_sample_stride(yt);
    cl_int affine = s->p.affine ? 1 : 0, plain = 0;
    cl_mem w = param_buf(l, P_WEIGHT, 0, s->st);
    cl_ulong woff = affine ? l->params[P_WEIGHT].w.off : 0;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", "ln_bwd_reduce", &k)); // S1, S2 of xt into the state rows 2, 3
    cg_status st = cg_launch_groups(rt, k, N, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(xt.buf), CG_ARG(toff),
                                    CG_ARG(tsn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st), CG_ARG(plain), CG_ARG(w),
                                    CG_ARG(woff));
    if (st != CG_OK) return cg_fail_context(st, "%s %s tangent reduction", l->kind, l->name);
    int rows = cg_rows_variant(ctx);
    cl_uint items = row_items(N, D);
    CG_TRY(cg_kernel_get(rt, "bn", rows ? "ln_tangent_apply_rows" : "ln_tangent_apply", &k));
    cg_profile_work(rt, 0, 3.0 * sizeof(float) * (double)cg_numel(x));
    if (rows)
        st = cg_launch1d(rt, k, items, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(xt.buf), CG_ARG(toff),
                         CG_ARG(tsn), CG_ARG(yt.buf), CG_ARG(yoff), CG_ARG(ysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st),
                         CG_ARG(affine), CG_ARG(w), CG_ARG(woff), CG_ARG(items));
    else
        st = cg_launch1d(rt, k, cg_numel(x), CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(xt.buf), CG_ARG(toff),
                         CG_ARG(tsn), CG_ARG(yt.buf), CG_ARG(yoff), CG_ARG(ysn), CG_ARG(N), CG_ARG(D), CG_ARG(s->st),
                         CG_ARG(affine), CG_ARG(w), CG_ARG(woff));
    if (st != CG_OK) return cg_fail_context(st, "%s %s tangent", l->kind, l->name);
    return CG_OK;
}

// Reverse of (y, yt): gy (NULL: zero), gyt: [N, C, H, W] -> gx, gxt: [N, C, H, W] (each optional);
// dweight += gy * xhat + gyt * u, dbias += gy over the batch. The formulas are in cl/bn.cl.
static cg_status ln_backward2(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt,
                              const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx, const cg_tensor *gxt,
                              int *gx_zero) {
    ln_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    *gx_zero = 0;
    CG_TRY(check_input(l, x, 1));
    CG_TRY(check_pair(l, x, xt, "tangent xt"));
    CG_TRY(check_pair(l, x, gyt, "gyt"));
    if (gy) CG_TRY(check_pair(l, x, *gy, "gy"));
    if (gx) CG_TRY(check_pair(l, x, *gx, "gx"));
    if (gxt) CG_TRY(check_pair(l, x, *gxt, "gxt"));
    if (!s->have_stats || x.n > s->cap)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: backward2 without a matching forward", l->kind, l->name);
    if (cg_numel(x) == 0) return CG_OK;
    if (x.n > s->cap2) {
        cl_mem r2;
        CG_TRY(cg_buffer_alloc(rt, 7 * (size_t)x.n, &r2));
        cg_buffer_release(s->r2);
        s->r2 = r2;
        s->cap2 = x.n;
    }
    cl_uint N = x.n, D = (cl_uint)cg_sample_size(x);
    cl_int affine = s->p.affine ? 1 : 0, has_gy = gy != NULL, write_gx = gx != NULL, write_gxt = gxt != NULL;
    cg_tensor gyv = gy ? *gy : gyt, gxv = gx ? *gx : gyt, gxtv = gxt ? *gxt : gyt; // stand-ins are never accessed
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), toff = xt.off, tsn = cg_sample_stride(xt);
    cl_ulong gyoff = gyv.off, gysn = cg_sample_stride(gyv), gytoff = gyt.off, gytsn = cg_sample_stride(gyt);
    cl_ulong gxoff = gxv.off, gxsn = cg_sample_stride(gxv), gxtoff = gxtv.off, gxtsn = cg_sample_stride(gxtv);
    cl_mem w = param_buf(l, P_WEIGHT, 0, s->st);
    cl_ulong woff = affine ? l->params[P_WEIGHT].w.off : 0;
    int rows = cg_rows_variant(ctx);
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", "ln2_reduce", &k));
    cg_status st = cg_launch_groups(rt, k, N, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(xt.buf), CG_ARG(toff),
                                    CG_ARG(tsn), CG_ARG(gyv.buf), CG_ARG(gyoff), CG_ARG(gysn), CG_ARG(has_gy),
                                    CG_ARG(gyt.buf), CG_ARG(gytoff), CG_ARG(gytsn), CG_ARG(N), CG_ARG(D),
                                    CG_ARG(s->st), CG_ARG(affine), CG_ARG(w), CG_ARG(woff), CG_ARG(s->r2));
    if (st != CG_OK) return cg_fail_context(st, "%s %s second-order reduction", l->kind, l->name);
    if (affine) {
        cl_mem dw = param_buf(l, P_WEIGHT, 1, s->st), db = param_buf(l, P_BIAS, 1, s->st);
        cl_ulong dwoff = l->params[P_WEIGHT].dw.off, dboff = l->params[P_BIAS].dw.off;
        cl_uint items = col_items(D);
        CG_TRY(cg_kernel_get(rt, "bn", rows ? "ln2_params_cols" : "ln2_params", &k));
        const cg_arg args[] = {CG_ARG(x.buf),  CG_ARG(xoff),   CG_ARG(xsn),   CG_ARG(xt.buf),  CG_ARG(toff),
                               CG_ARG(tsn),    CG_ARG(gyv.buf), CG_ARG(gyoff), CG_ARG(gysn),    CG_ARG(has_gy),
                               CG_ARG(gyt.buf), CG_ARG(gytoff), CG_ARG(gytsn), CG_ARG(N),      CG_ARG(D),
                               CG_ARG(s->st),  CG_ARG(s->r2),  CG_ARG(dw),    CG_ARG(dwoff),   CG_ARG(db),
                               CG_ARG(dboff),  CG_ARG(items)}; // items: the CPU variant's last argument
        size_t count = sizeof args / sizeof args[0] - !rows;
        st = cg_launch1d_args(rt, k, rows ? items : D, args, count);
        if (st != CG_OK) return cg_fail_context(st, "%s %s second-order parameter gradients", l->kind, l->name);
    }
    if (!gx && !gxt) return CG_OK;
    cl_uint items = row_items(N, D);
    CG_TRY(cg_kernel_get(rt, "bn", rows ? "ln2_dx_rows" : "ln2_dx", &k));
    const cg_arg args[] = {CG_ARG(x.buf),    CG_ARG(xoff),   CG_ARG(xsn),       CG_ARG(xt.buf),   CG_ARG(toff),
                           CG_ARG(tsn),      CG_ARG(gyv.buf), CG_ARG(gyoff),    CG_ARG(gysn),     CG_ARG(has_gy),
                           CG_ARG(gyt.buf),  CG_ARG(gytoff), CG_ARG(gytsn),     CG_ARG(gxv.buf),  CG_ARG(gxoff),
                           CG_ARG(gxsn),     CG_ARG(write_gx), CG_ARG(gxtv.buf), CG_ARG(gxtoff),  CG_ARG(gxtsn),
                           CG_ARG(write_gxt), CG_ARG(N),      CG_ARG(D),         CG_ARG(s->st),    CG_ARG(affine),
                           CG_ARG(w),        CG_ARG(woff),   CG_ARG(s->r2),     CG_ARG(items)}; // items: CPU only
    size_t count = sizeof args / sizeof args[0] - !rows;
    cg_profile_work(rt, 0, 6.0 * sizeof(float) * (double)cg_numel(x));
    st = cg_launch1d_args(rt, k, rows ? items : cg_numel(x), args, count);
    if (st != CG_OK) return cg_fail_context(st, "%s %s second-order backward", l->kind, l->name);
    return CG_OK;
}

static void ln_destroy(cg_layer *l) {
    ln_state *s = l->state;
    if (s) cg_buffer_release(s->r2);
    if (s) cg_buffer_release(s->st);
    free(s);
    l->state = NULL;
}

static const cg_layer_ops ln_ops = {
    .out_shape = ln_out_shape,
    .workspace = ln_workspace,
    .forward = ln_forward,
    .backward = ln_backward,
    .tangent = ln_tangent,
    .backward2 = ln_backward2,
    .destroy = ln_destroy,
};

cg_status cg_layernorm_create(cg_ln_params p, cg_layer **out) {
    *out = NULL;
    if (p.c < 1 || p.h < 1 || p.w < 1 || !(p.eps >= 0.0f))
        return cg_fail(CG_ERR_INVALID_ARG, "layernorm: need c, h, w >= 1 and eps >= 0 (got %d, %d, %d, %g)", p.c,
                       p.h, p.w, p.eps);
    cg_layer *l = calloc(1, sizeof *l);
    ln_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a layernorm layer");
    }
    s->p = p;
    l->ops = &ln_ops;
    l->kind = "layernorm";
    l->state = s;
    cg_status st = CG_OK;
    if (p.affine) { // P_WEIGHT, P_BIAS; the DCGAN scheme leaves LayerNorm at 1 and 0
        st = cg_layer_add_param(l, (cg_param_decl){"weight", CG_ROLE_NORM_SCALE, CG_INIT_KEEP, 0, 3, {p.c, p.h, p.w}});
        if (st == CG_OK)
            st = cg_layer_add_param(l, (cg_param_decl){"bias", CG_ROLE_NORM_SHIFT, CG_INIT_KEEP, 0, 3, {p.c, p.h, p.w}});
    }
    if (st != CG_OK) {
        cg_layer_free(l);
        return st;
    }
    *out = l;
    return CG_OK;
}
