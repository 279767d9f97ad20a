// pool.c — pooling layers for Inception-v3 scoring (cl/pool.cl): max and average pooling
// (PyTorch semantics, floor mode, or ceil mode for max pooling (MTCNN): the kernels clip windows
// to the input; the average divides by the in-bounds count, count_include_pad = False), global
// average pooling, and flatten. Pools are forward only; flatten is a copy both ways.
// Every view may carry a sample stride, so a branch writes straight into a concatenated output.
#include "kernel_profile.h"
#include "nets.h"

#include <stdlib.h>
#include <string.h>

typedef enum { POOL_MAX, POOL_AVG, POOL_GLOBAL, POOL_FLATTEN } pool_kind;

typedef struct {
    pool_kind kind;
    cg_pool_params p; // max and average only
    int ceil_mode;
} pool_state;

static cg_status pool_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const pool_state *s = l->state;
    const cg_pool_params *p = &s->p;
    if (in[0] < 0 || in[1] < 1 || in[2] < 1 || in[3] < 1)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: cannot take input [%d,%d,%d,%d]", l->kind, l->name, in[0], in[1],
                       in[2], in[3]);
    out[0] = in[0];
    switch (s->kind) {
    case POOL_MAX:
    case POOL_AVG:
        if (in[2] + 2 * p->pad < p->k || in[3] + 2 * p->pad < p->k)
            return cg_fail(CG_ERR_INVALID_ARG, "%s %s: input %dx%d with padding %d is smaller than the %dx%d window",
                           l->kind, l->name, in[2], in[3], p->pad, p->k, p->k);
        out[1] = in[1];
        for (int d = 2; d < 4; d++) {
            int span = in[d] + 2 * p->pad - p->k;
            out[d] = (s->ceil_mode ? (span + p->stride - 1) : span) / p->stride + 1;
            // PyTorch's ceil mode: the last window must start inside the input or its left padding.
            if (s->ceil_mode && (out[d] - 1) * p->stride >= in[d] + p->pad) out[d]--;
        }
        break;
    case POOL_GLOBAL:
        out[1] = in[1];
        out[2] = out[3] = 1;
        break;
    case POOL_FLATTEN:
        if ((long long)in[1] * in[2] * in[3] > 0x7fffffff)
            return cg_fail(CG_ERR_INVALID_ARG, "%s %s: %d*%d*%d features overflow", l->kind, l->name, in[1], in[2],
                           in[3]);
        out[1] = in[1] * in[2] * in[3];
        out[2] = out[3] = 1;
        break;
    }
    return CG_OK;
}

static size_t pool_workspace(const cg_layer *l, const int in[4]) { return 0; }

static cg_status check_output(const cg_layer *l, cg_tensor x, cg_tensor y) {
    int in[4] = {x.n, x.c, x.h, x.w}, out[4] = {0, 0, 0, 0};
    CG_TRY(pool_out_shape(l, in, out));
    if (cg_numel(x) > UINT32_MAX) // the kernels index elements with 32 bits
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: %zu elements exceed 2^32 - 1", l->kind, l->name, cg_numel(x));
    if (y.n != out[0] || y.c != out[1] || y.h != out[2] || y.w != out[3])
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: output [%d,%d,%d,%d] should be [%d,%d,%d,%d]", l->kind, l->name,
                       y.n, y.c, y.h, y.w, out[0], out[1], out[2], out[3]);
    return CG_OK;
}

// Copies src into dst (same numel per sample and batch), either side possibly strided.
static cg_status copy_views(cg_runtime *rt, cg_tensor src, cg_tensor dst) {
    if (cg_numel(src) == 0) return CG_OK;
    if (cg_is_contiguous(src) && cg_is_contiguous(dst)) {
        if (src.buf == dst.buf && src.off == dst.off) return CG_OK;
        return cg_tensor_copy(rt, dst, src);
    }
    cl_ulong xoff = src.off, xsn = cg_sample_stride(src), yoff = dst.off, ysn = cg_sample_stride(dst);
    cl_ulong per = cg_sample_size(src), n = cg_numel(src);
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "pool", "view_copy", &k));
    return cg_launch1d(rt, k, n, CG_ARG(src.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(dst.buf), CG_ARG(yoff),
                       CG_ARG(ysn), CG_ARG(per), CG_ARG(n));
}

// Row kernels on CPUs (one work-item per output row), element kernels elsewhere; the results are
// bit-identical. CLGAN_POOL_ROWS=0/1 forces one (tests).
static int cg_pool_rows(const cg_runtime *rt) {
    const char *env = getenv("CLGAN_POOL_ROWS");
    if (env && *env) return strcmp(env, "0") != 0;
    return cg_runtime_device(rt)->type == CL_DEVICE_TYPE_CPU;
}

// max/avg: x: [N, C, H, W] -> y: [N, C, OH, OW]; global: -> [N, C, 1, 1]; flatten: -> [N, C*H*W, 1, 1]
static cg_status pool_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    const pool_state *s = l->state;
    cg_runtime *rt = ctx->rt;
    CG_TRY(check_output(l, x, y));
    cl_uint n = (cl_uint)cg_numel(y);
    if (n == 0) return CG_OK;
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x), yoff = y.off, ysn = cg_sample_stride(y);
    cl_uint C = x.c, H = x.h, W = x.w, OH = y.h, OW = y.w, HW = H * W;
    cl_int k = s->p.k, stride = s->p.stride, pad = s->p.pad;
    cl_kernel kern;
    cg_status st = CG_OK;
    switch (s->kind) {
    case POOL_MAX:
    case POOL_AVG:
        if (cg_pool_rows(rt)) { // CPUs: a work-item per output row (cl/pool.cl)
            n = (cl_uint)((size_t)y.n * C * OH);
            CG_TRY(cg_kernel_get(rt, "pool", s->kind == POOL_MAX ? "pool_max_rows" : "pool_avg_rows", &kern));
        } else {
            CG_TRY(cg_kernel_get(rt, "pool", s->kind == POOL_MAX ? "pool_max" : "pool_avg", &kern));
        }
        cg_profile_work(rt, 0, sizeof(float) * ((double)cg_numel(x) + (double)cg_numel(y)));
        st = cg_launch1d(rt, kern, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(C), CG_ARG(H), CG_ARG(W),
                         CG_ARG(y.buf), CG_ARG(yoff), CG_ARG(ysn), CG_ARG(OH), CG_ARG(OW), CG_ARG(k), CG_ARG(stride),
                         CG_ARG(pad), CG_ARG(n));
        break;
    case POOL_GLOBAL:
        CG_TRY(cg_kernel_get(rt, "pool", "pool_global_avg", &kern));
        st = cg_launch1d(rt, kern, n, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(C), CG_ARG(HW), CG_ARG(y.buf),
                         CG_ARG(yoff), CG_ARG(ysn), CG_ARG(n));
        break;
    case POOL_FLATTEN:
        st = copy_views(rt, x, y);
        break;
    }
    if (st != CG_OK) return cg_fail_context(st, "%s %s forward", l->kind, l->name);
    return CG_OK;
}

// flatten: dy: [N, C*H*W, 1, 1] -> dx: [N, C, H, W]; the pools have no backward.
static cg_status pool_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    const pool_state *s = l->state;
    if (s->kind != POOL_FLATTEN)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s: forward only (Inception-v3 scoring), it has no backward", l->kind,
                       l->name);
    CG_TRY(check_output(l, x, dy));
    if (!dx) return CG_OK;
    if (dx->n != x.n || dx->c != x.c || dx->h != x.h || dx->w != x.w)
        return cg_fail(CG_ERR_INVALID_ARG, "%s %s backward: dx [%d,%d,%d,%d] differs from x [%d,%d,%d,%d]", l->kind,
                       l->name, dx->n, dx->c, dx->h, dx->w, x.n, x.c, x.h, x.w);
    cg_status st = copy_views(ctx->rt, dy, *dx);
    if (st != CG_OK) return cg_fail_context(st, "%s %s backward", l->kind, l->name);
    return CG_OK;
}

static void pool_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

// The pools are forward only; flatten copies both ways.
static const cg_layer_ops pool_ops = {
    .out_shape = pool_out_shape,
    .workspace = pool_workspace,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
    .forward_only = 1,
};

static const cg_layer_ops flatten_ops = {
    .out_shape = pool_out_shape,
    .workspace = pool_workspace,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
};

static cg_status pool_create(const char *kind, pool_kind pk, cg_pool_params p, int ceil_mode, cg_layer **out) {
    *out = NULL;
    // PyTorch: kernel and stride positive, padding at most half the kernel.
    if ((pk == POOL_MAX || pk == POOL_AVG) && (p.k < 1 || p.stride < 1 || p.pad < 0 || p.pad > p.k / 2))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: need k >= 1, stride >= 1 and 0 <= pad <= k/2 (got k %d, stride %d, pad %d)",
                       kind, p.k, p.stride, p.pad);
    cg_layer *l = calloc(1, sizeof *l);
    pool_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a %s layer", kind);
    }
    s->kind = pk;
    s->p = p;
    s->ceil_mode = ceil_mode;
    l->ops = pk == POOL_FLATTEN ? &flatten_ops : &pool_ops;
    l->kind = kind;
    l->state = s;
    *out = l;
    return CG_OK;
}

cg_status cg_maxpool2d_create(cg_pool_params p, cg_layer **out) { return pool_create("maxpool2d", POOL_MAX, p, 0, out); }

cg_status cg_maxpool2d_ceil_create(cg_pool_params p, cg_layer **out) {
    return pool_create("maxpool2d", POOL_MAX, p, 1, out);
}

cg_status cg_avgpool2d_create(cg_pool_params p, cg_layer **out) { return pool_create("avgpool2d", POOL_AVG, p, 0, out); }

cg_status cg_global_avgpool_create(cg_layer **out) {
    cg_pool_params none = {0, 0, 0};
    return pool_create("global_avgpool", POOL_GLOBAL, none, 0, out);
}

cg_status cg_flatten_create(cg_layer **out) {
    cg_pool_params none = {0, 0, 0};
    return pool_create("flatten", POOL_FLATTEN, none, 0, out);
}
