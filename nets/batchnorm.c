// batchnorm.c — BatchNorm over channels, for [N, C, H, W] (BatchNorm2d) and [N, C, 1, 1]
// (BatchNorm1d), with PyTorch's semantics (cl/bn.cl):
//   training: normalise with the batch mean and biased variance over N, H, W; move the running
//             statistics by momentum with the unbiased variance (M / (M - 1), M = N*H*W > 1);
//   eval:     normalise with the running statistics.
// Parameters: weight and bias [C] (trainable); running_mean and running_var [C] (buffers). The
// layer never initialises them: whoever fills the network (the container's defaults or
// cg_init_dcgan) must set weight = 1 (or N(1, 0.02)), bias = 0, running_mean = 0, running_var = 1.
// Backward uses the statistics of the most recent forward and its mode: the full batch-norm
// gradient after a training forward, the affine gradient dx = w * dy / sqrt(running_var + eps)
// after an eval forward. dgamma and dbeta accumulate in both modes.
// Fused with a following ReLU / LeakyReLU (cg_batchnorm_forward_act, cg_batchnorm_backward_act,
// driven by nets/chain.c): the forward writes the activation's output and never the batch-norm
// output; the backward takes the gradient of the activation's output. The kernels (cl/bn.cl) take a
// per-element variant on GPUs and a per-row one on CPUs (cg_rows_variant; cg_im2col_force for tests).
#include "batchnorm_sync.h"
#include "kernel_profile.h"
#include "nets_internal.h"

#include <stdlib.h>

enum { P_WEIGHT, P_BIAS, P_RMEAN, P_RVAR };

typedef struct {
    cg_bn_params p;
    cl_mem st;    // 4*C floats on the device: mean, 1/sqrt(var + eps), sum dy, sum dy*xhat (cl/bn.cl)
    int training; // mode of the most recent forward; -1 before the first
    int act;      // the most recent forward folded an activation (1) or not (0)
    float slope;  // its negative slope (0: ReLU)
    int keep;     // never fuse: the batch-norm output stays readable (cg_seq_keep_acts)
    cg_bn_sync sync; // SyncBN when sync.sum is set (batchnorm_sync.c)
} bn_state;

static cg_status bn_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const bn_state *s = l->state;
    if (in[0] < 0 || in[1] != s->p.c || in[2] < 1 || in[3] < 1)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: input [%d,%d,%d,%d] does not have %d channels", l->kind, l->name,
                       in[0], in[1], in[2], in[3], s->p.c);
    for (int i = 0; i < 4; i++) out[i] = in[i];
    return CG_OK;
}

static size_t bn_workspace(const cg_layer *l, const int in[4]) { return 0; }

static int same_shape(cg_tensor a, cg_tensor b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

// The kernels index elements with 32 bits.
static cg_status check_size(const cg_layer *l, cg_tensor x) {
    if (cg_numel(x) > UINT32_MAX)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: %zu elements exceed 2^32 - 1", l->kind, l->name, cg_numel(x));
    return CG_OK;
}

static cg_status check_bound(const cg_layer *l, int need_grads) {
    for (int i = 0; i < l->n_params; i++) {
        const cg_param *p = &l->params[i];
        if (!p->w.buf || (need_grads && p->trainable && !p->dw.buf))
            return cg_fail(CG_ERR_INVALID_ARG, "%s %s: parameter %s is not bound", l->kind, l->name, p->name);
    }
    return CG_OK;
}

// x: [N, C, H, W] -> y: [N, C, H, W], y = act(batch norm of x) (act 0: none).
static cg_status bn_run_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training, int act,
                                float slope) {
    bn_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    if (x.c != s->p.c || !same_shape(x, y))
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: x [%d,%d,%d,%d] and y [%d,%d,%d,%d] must match, with %d channels",
                       l->kind, l->name, x.n, x.c, x.h, x.w, y.n, y.c, y.h, y.w, s->p.c);
    CG_TRY(check_bound(l, 0));
    CG_TRY(check_size(l, x));
    size_t m = (size_t)x.n * x.h * x.w;
    if (training && m < 2)
        return cg_fail(CG_ERR_INVALID_ARG,
                       "%s %s: training needs more than one value per channel (input [%d,%d,%d,%d])", l->kind,
                       l->name, x.n, x.c, x.h, x.w);
    if (!s->st) CG_TRY(cg_buffer_alloc(rt, 4 * (size_t)s->p.c, &s->st));
    s->training = training ? 1 : 0;
    s->act = act;
    s->slope = slope;
    if (cg_numel(x) == 0) return CG_OK;

    const cg_param *pw = &l->params[P_WEIGHT], *pb = &l->params[P_BIAS];
    const cg_param *prm = &l->params[P_RMEAN], *prv = &l->params[P_RVAR];
    cl_uint N = x.n, C = x.c, HW = (cl_uint)(x.h * x.w);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), yoff = y.off, ysn = cg_sample_stride(y);
    cl_ulong rmoff = prm->w.off, rvoff = prv->w.off, woff = pw->w.off, boff = pb->w.off;
    cl_uint n = (cl_uint)cg_numel(x), rows = N * C;
    cl_float eps = s->p.eps, momentum = s->p.momentum, cl_slope = slope;
    cl_int cl_act = act;
    int by_rows = cg_rows_variant(ctx);
    cl_int cl_rows = by_rows;
    double bytes = (double)n * sizeof(float);
    cl_kernel k;
    cg_status st;
    if (training && s->sync.sum) {
        st = cg_bn_sync_forward(ctx, &s->sync, x, s->st, prm->w, prv->w, eps, momentum);
    } else if (training) {
        CG_TRY(cg_kernel_get(rt, "bn", "bn_stats", &k));
        cg_profile_work(rt, 0, 2 * bytes);
        st = cg_launch_groups(rt, k, C, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(N), CG_ARG(C), CG_ARG(HW),
                              CG_ARG(eps), CG_ARG(momentum), CG_ARG(s->st), CG_ARG(prm->w.buf), CG_ARG(rmoff),
                              CG_ARG(prv->w.buf), CG_ARG(rvoff), CG_ARG(cl_rows));
    } else {
        CG_TRY(cg_kernel_get(rt, "bn", "bn_eval_stats", &k));
        st = cg_launch1d(rt, k, C, CG_ARG(prm->w.buf), CG_ARG(rmoff), CG_ARG(prv->w.buf), CG_ARG(rvoff), CG_ARG(C),
                         CG_ARG(eps), CG_ARG(s->st));
    }
    if (st != CG_OK) return cg_fail_context(st, "%s %s forward statistics", l->kind, l->name);
    CG_TRY(cg_kernel_get(rt, "bn", by_rows ? "bn_apply_rows" : "bn_apply", &k));
    cg_profile_work(rt, 0, 2 * bytes);
    st = cg_launch1d(rt, k, by_rows ? rows : n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(y.buf),
                     CG_ARG(yoff), CG_ARG(ysn), CG_ARG(C), CG_ARG(HW), by_rows ? CG_ARG(rows) : CG_ARG(n),
                     CG_ARG(s->st), CG_ARG(pw->w.buf), CG_ARG(woff), CG_ARG(pb->w.buf), CG_ARG(boff),
                     CG_ARG(cl_act), CG_ARG(cl_slope));
    if (st != CG_OK) return cg_fail_context(st, "%s %s forward", l->kind, l->name);
    return CG_OK;
}

static cg_status bn_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    return bn_run_forward(l, ctx, x, y, training, 0, 0.0f);
}

// dy: [N, C, H, W] -> dx: [N, C, H, W]; dweight, dbias: [C] accumulated. dy is the gradient of
// act(batch norm of x), act as given (0: none).
static cg_status bn_run_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor dy, const cg_tensor *dx, int act,
                                 float slope) {
    bn_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    if (x.c != s->p.c || !same_shape(x, dy) || (dx && !same_shape(x, *dx)))
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s backward: x, dy and dx must have the same shape with %d channels",
                       l->kind, l->name, s->p.c);
    if (!s->st || s->training < 0)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: backward before any forward", l->kind, l->name);
    CG_TRY(check_bound(l, 1));
    CG_TRY(check_size(l, x));
    if (cg_numel(x) == 0) return CG_OK;

    const cg_param *pw = &l->params[P_WEIGHT], *pb = &l->params[P_BIAS];
    cl_uint N = x.n, C = x.c, HW = (cl_uint)(x.h * x.w);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), dyoff = dy.off, dysn = cg_sample_stride(dy);
    cl_ulong dwoff = pw->dw.off, dboff = pb->dw.off, woff = pw->w.off, boff = pb->w.off;
    cl_uint n = (cl_uint)cg_numel(x), rows = N * C;
    cl_int cl_act = act;
    cl_float cl_slope = slope;
    int by_rows = cg_rows_variant(ctx);
    double bytes = (double)n * sizeof(float);
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", by_rows ? "bn_bwd_reduce_runs" : "bn_bwd_reduce", &k));
    cg_profile_work(rt, 0, 2 * bytes);
    cg_status st = cg_launch_groups(rt, k, C, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf), CG_ARG(dyoff),
                                    CG_ARG(dysn), CG_ARG(N), CG_ARG(C), CG_ARG(HW), CG_ARG(s->st), CG_ARG(pw->dw.buf),
                                    CG_ARG(dwoff), CG_ARG(pb->dw.buf), CG_ARG(dboff), CG_ARG(pw->w.buf),
                                    CG_ARG(woff), CG_ARG(pb->w.buf), CG_ARG(boff), CG_ARG(cl_act), CG_ARG(cl_slope));
    if (st != CG_OK) return cg_fail_context(st, "%s %s backward reduction", l->kind, l->name);
    if (!dx) return CG_OK;
    int replicas = 1;
    if (s->sync.sum && s->training) { // SyncBN: sum dy and sum dy*xhat over every replica's batch
        CG_TRY(cg_bn_sync_backward(ctx, &s->sync, s->st, (int)C));
        replicas = s->sync.replicas;
    }

    cl_ulong dxoff = dx->off, dxsn = cg_sample_stride(*dx);
    cl_float inv_m = 1.0f / (float)((size_t)N * HW * (size_t)replicas);
    cl_int training = s->training;
    CG_TRY(cg_kernel_get(rt, "bn", by_rows ? "bn_bwd_dx_rows" : "bn_bwd_dx", &k));
    cg_profile_work(rt, 0, 3 * bytes);
    st = cg_launch1d(rt, k, by_rows ? rows : n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dy.buf),
                     CG_ARG(dyoff), CG_ARG(dysn), CG_ARG(dx->buf), CG_ARG(dxoff), CG_ARG(dxsn), CG_ARG(C), CG_ARG(HW),
                     by_rows ? CG_ARG(rows) : CG_ARG(n), CG_ARG(s->st), CG_ARG(pw->w.buf), CG_ARG(woff),
                     CG_ARG(inv_m), CG_ARG(training), CG_ARG(pb->w.buf), CG_ARG(boff), CG_ARG(cl_act),
                     CG_ARG(cl_slope));
    if (st != CG_OK) return cg_fail_context(st, "%s %s backward", l->kind, l->name);
    return CG_OK;
}

static cg_status bn_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    bn_state *s = l->state;
    if (s->act)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: plain backward after a forward fused with its activation",
                       l->kind, l->name);
    return bn_run_backward(l, ctx, x, dy, dx, 0, 0.0f);
}

static void bn_destroy(cg_layer *l) {
    bn_state *s = l->state;
    if (s) cg_buffer_release(s->st);
    free(s);
    l->state = NULL;
}

static const cg_layer_ops bn_ops = {
    .out_shape = bn_out_shape,
    .workspace = bn_workspace,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = bn_destroy,
};

int cg_batchnorm_set_sync(cg_layer *l, const cg_bn_sync *sync) {
    if (!l || l->ops != &bn_ops) return 0;
    bn_state *s = l->state;
    if (sync) s->sync = *sync;
    else s->sync = (cg_bn_sync){0};
    return 1;
}

int cg_batchnorm_can_fuse(const cg_layer *l) { return l->ops == &bn_ops && !((const bn_state *)l->state)->keep; }

void cg_batchnorm_keep_output(cg_layer *l, int keep) {
    if (l->ops == &bn_ops) ((bn_state *)l->state)->keep = keep != 0;
}

int cg_batchnorm_fused(const cg_layer *l) { return l->ops == &bn_ops && ((const bn_state *)l->state)->act; }

// x: [N, C, H, W] -> y: [N, C, H, W]
cg_status cg_batchnorm_forward_act(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training, float slope) {
    return bn_run_forward(l, ctx, x, y, training, 1, slope);
}

// dy: [N, C, H, W] (gradient of the activation's output) -> dx: [N, C, H, W]
cg_status cg_batchnorm_backward_act(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor dy, const cg_tensor *dx) {
    bn_state *s = l->state;
    if (!s->act)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: fused backward after a forward without its activation", l->kind,
                       l->name);
    return bn_run_backward(l, ctx, x, dy, dx, 1, s->slope);
}

cg_status cg_batchnorm_create(cg_bn_params p, cg_layer **out) {
    *out = NULL;
    if (p.c < 1 || !(p.eps >= 0.0f) || !(p.momentum >= 0.0f && p.momentum <= 1.0f))
        return cg_fail(CG_ERR_INVALID_ARG, "batchnorm: need c >= 1, eps >= 0 and momentum in [0, 1] (got %d, %g, %g)",
                       p.c, p.eps, p.momentum);
    cg_layer *l = calloc(1, sizeof *l);
    bn_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a batchnorm layer");
    }
    s->p = p;
    s->training = -1;
    l->ops = &bn_ops;
    l->kind = "batchnorm2d";
    l->state = s;
    // In the order of P_WEIGHT, P_BIAS, P_RMEAN, P_RVAR.
    const cg_param_decl decl[] = {
        {"weight", CG_ROLE_NORM_SCALE, CG_INIT_NORM, 0, 1, {p.c}},
        {"bias", CG_ROLE_NORM_SHIFT, CG_INIT_NORM, 0, 1, {p.c}},
        {"running_mean", CG_ROLE_RUNNING_MEAN, CG_INIT_KEEP, 0, 1, {p.c}},
        {"running_var", CG_ROLE_RUNNING_VAR, CG_INIT_KEEP, 0, 1, {p.c}},
    };
    cg_status st = CG_OK;
    for (int i = 0; st == CG_OK && i < 4; i++) st = cg_layer_add_param(l, decl[i]);
    if (st != CG_OK) {
        cg_layer_free(l);
        return st;
    }
    *out = l;
    return CG_OK;
}
