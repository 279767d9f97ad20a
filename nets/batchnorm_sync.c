// batchnorm_sync.c — SyncBN: BatchNorm's batch statistics over the batches of several replicas
// (data-parallel training, train/dist.h), so that N replicas of B samples normalise exactly like one
// batch of N*B. The per-channel sums of this replica's slice are taken on the device (cl/bn.cl's
// bn_sync_sum, in float like bn_stats), only C floats read back and summed over the replicas in
// float64 by the caller's `sum`: forward the mean (sum x), then the biased variance about it
// (sum (x - mean)^2), both over M = replicas * N*H*W values; backward the two sums of
// bn_bwd_reduce. Every replica gets the same sums, hence the same bits in its statistics. The sums
// go back to the device in a small buffer of their own, written whole (cl/bn.cl says why), and
// kernels move them into the state and the running statistics.
#include "batchnorm_sync.h"

#include <math.h>
#include <stdlib.h>

// One of the two passes on the device: bn_sync_sum's per-channel sum of x (squares = 0) or of
// (x - g[c])^2 over this replica's slice into g[C..2C), read back (C floats) into sum as float64 and
// summed over the replicas.
static cg_status replica_sums(cg_runtime *rt, const cg_bn_sync *sync, cg_tensor x, cl_mem g, int squares, float *h,
                              double *sum) {
    cl_uint N = (cl_uint)x.n, C = (cl_uint)x.c, HW = (cl_uint)(x.h * x.w);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x);
    cl_int sq = squares;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", "bn_sync_sum", &k));
    CG_TRY(cg_launch_groups(rt, k, C, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(N), CG_ARG(C), CG_ARG(HW),
                            CG_ARG(sq), CG_ARG(g)));
    CG_TRY(cg_tensor_read(rt, cg_view(g, C, 1, 1, 1, (int)C), h));
    for (cl_uint c = 0; c < C; c++) sum[c] = h[c];
    return sync->sum(sync->user, sum, (size_t)C);
}

static cg_status forward_passes(cg_runtime *rt, const cg_bn_sync *sync, cg_tensor x, cl_mem st, cg_tensor rmean,
                                cg_tensor rvar, float eps, float momentum, cl_mem g, float *h, double *sum) {
    cl_uint C = (cl_uint)x.c;
    double M = (double)x.n * (double)x.h * (double)x.w * (double)sync->replicas;
    CG_TRY(replica_sums(rt, sync, x, g, 0, h + C, sum));
    for (cl_uint c = 0; c < C; c++) h[c] = (float)(sum[c] / M);
    // The second pass centres on the float mean the device then also normalises with.
    CG_TRY(cg_tensor_write(rt, cg_view(g, 0, 1, 1, 1, 2 * (int)C), h));
    CG_TRY(replica_sums(rt, sync, x, g, 1, h + C, sum));
    for (cl_uint c = 0; c < C; c++) h[C + c] = (float)(sum[c] / M); // biased variance of the whole batch
    CG_TRY(cg_tensor_write(rt, cg_view(g, 0, 1, 1, 1, 2 * (int)C), h));
    cl_float unbias = (cl_float)(M / (M - 1.0));
    cl_ulong rmoff = rmean.off, rvoff = rvar.off;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", "bn_sync_stats", &k));
    return cg_launch1d(rt, k, C, CG_ARG(g), CG_ARG(C), CG_ARG(eps), CG_ARG(momentum), CG_ARG(unbias), CG_ARG(st),
                       CG_ARG(rmean.buf), CG_ARG(rmoff), CG_ARG(rvar.buf), CG_ARG(rvoff));
}

// x: [N, C, H, W] (this replica's slice); statistics over every replica's
cg_status cg_bn_sync_forward(cg_ctx *ctx, const cg_bn_sync *sync, cg_tensor x, cl_mem st, cg_tensor rmean,
                             cg_tensor rvar, float eps, float momentum) {
    cg_runtime *rt = ctx->rt;
    size_t C = (size_t)x.c;
    float *h = malloc(2 * C * sizeof *h);
    double *sum = malloc(C * sizeof *sum);
    cl_mem g = NULL;
    cg_status status = h && sum ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory (SyncBN)");
    if (status == CG_OK) status = cg_buffer_alloc(rt, 2 * C, &g);
    if (status == CG_OK) status = forward_passes(rt, sync, x, st, rmean, rvar, eps, momentum, g, h, sum);
    if (g) cg_buffer_release(g);
    free(h);
    free(sum);
    return status;
}

cg_status cg_bn_sync_backward(cg_ctx *ctx, const cg_bn_sync *sync, cl_mem st, int C) {
    cg_runtime *rt = ctx->rt;
    float *h = malloc(2 * (size_t)C * sizeof *h);
    double *d = malloc(2 * (size_t)C * sizeof *d);
    cl_mem g = NULL;
    cg_status status = h && d ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory (SyncBN)");
    if (status == CG_OK) status = cg_tensor_read(rt, cg_view(st, 2 * (size_t)C, 1, 1, 1, 2 * C), h);
    for (int i = 0; status == CG_OK && i < 2 * C; i++) d[i] = h[i];
    if (status == CG_OK) status = sync->sum(sync->user, d, 2 * (size_t)C);
    for (int i = 0; status == CG_OK && i < 2 * C; i++) h[i] = (float)d[i];
    if (status == CG_OK) status = cg_buffer_alloc(rt, 2 * (size_t)C, &g);
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(g, 0, 1, 1, 1, 2 * C), h);
    cl_kernel k;
    cl_uint c = (cl_uint)C;
    if (status == CG_OK) status = cg_kernel_get(rt, "bn", "bn_sync_copy", &k);
    if (status == CG_OK) status = cg_launch1d(rt, k, 2 * (size_t)C, CG_ARG(g), CG_ARG(c), CG_ARG(st));
    if (g) cg_buffer_release(g);
    free(h);
    free(d);
    return status;
}
