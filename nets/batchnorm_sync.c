// batchnorm_sync.c — SyncBN: BatchNorm's batch statistics over the batches of several replicas
// (data-parallel training, train/dist.h), so that N replicas of B samples normalise exactly like one
// batch of N*B. The per-channel sums of this replica's slice are taken on the device (cl/bn.cl's
// bn_sync_sum, in float like bn_stats), only C floats read back and summed over the replicas in
// float64 by the caller's `sum`: forward the mean (sum x), then the biased variance about it
// (sum (x - mean)^2), both over M = replicas * N*H*W values; backward the two sums of
// bn_bwd_reduce. Every replica gets the same sums, hence the same bits in its statistics.
#include "batchnorm_sync.h"

#include <math.h>
#include <stdlib.h>

// One of the two passes on the device: bn_sync_sum's per-channel sum of x or of (x - st[c])^2 over
// this replica's slice, read back (C floats) into sum as float64 and summed over the replicas.
static cg_status replica_sums(cg_ctx *ctx, const cg_bn_sync *sync, cg_tensor x, cl_mem st, int squares, float *h,
                              double *sum) {
    cg_runtime *rt = ctx->rt;
    cl_uint N = (cl_uint)x.n, C = (cl_uint)x.c, HW = (cl_uint)(x.h * x.w);
    cl_ulong xoff = x.off, xsn = cg_sample_stride(x);
    cl_int sq = squares;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "bn", "bn_sync_sum", &k));
    CG_TRY(cg_launch_groups(rt, k, C, CG_ARG(x.buf), CG_ARG(xoff), CG_ARG(xsn), CG_ARG(N), CG_ARG(C), CG_ARG(HW),
                            CG_ARG(sq), CG_ARG(st)));
    CG_TRY(cg_tensor_read(rt, cg_view(st, 2 * (size_t)C, 1, 1, 1, (int)C), h));
    for (cl_uint c = 0; c < C; c++) sum[c] = h[c];
    return sync->sum(sync->user, sum, (size_t)C);
}

// x: [N, C, H, W] (this replica's slice); statistics over every replica's
cg_status cg_bn_sync_forward(cg_ctx *ctx, const cg_bn_sync *sync, cg_tensor x, cl_mem st, cg_tensor rmean,
                             cg_tensor rvar, float eps, float momentum) {
    cg_runtime *rt = ctx->rt;
    int C = x.c;
    double M = (double)x.n * (double)x.h * (double)x.w * (double)sync->replicas;
    float *hs = malloc(4 * (size_t)C * sizeof *hs);
    double *sum = calloc((size_t)C, sizeof *sum), *mean = malloc((size_t)C * sizeof *mean);
    cg_status status = hs && sum && mean ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory (SyncBN)");
    if (status == CG_OK) status = replica_sums(ctx, sync, x, st, 0, hs, sum);
    for (int c = 0; status == CG_OK && c < C; c++) {
        mean[c] = sum[c] / M;
        hs[c] = (float)mean[c];
    }
    // The second pass centres on the float mean the device then also normalises with.
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(st, 0, 1, 1, 1, C), hs);
    if (status == CG_OK) status = replica_sums(ctx, sync, x, st, 1, hs + 2 * C, sum);
    // Running statistics move as in bn_stats, in float from the whole batch's values.
    float *rm = hs + 2 * C, *rv = hs + 3 * C;
    if (status == CG_OK) status = cg_tensor_read(rt, cg_view(rmean.buf, rmean.off, 1, 1, 1, C), rm);
    if (status == CG_OK) status = cg_tensor_read(rt, cg_view(rvar.buf, rvar.off, 1, 1, 1, C), rv);
    for (int c = 0; status == CG_OK && c < C; c++) {
        double var = sum[c] / M;
        hs[C + c] = (float)(1.0 / sqrt(var + (double)eps));
        float unbiased = (float)(var * (M / (M - 1.0)));
        rm[c] = (1.0f - momentum) * rm[c] + momentum * hs[c];
        rv[c] = (1.0f - momentum) * rv[c] + momentum * unbiased;
    }
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(st, 0, 1, 1, 1, 2 * C), hs);
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(rmean.buf, rmean.off, 1, 1, 1, C), rm);
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(rvar.buf, rvar.off, 1, 1, 1, C), rv);
    free(hs);
    free(sum);
    free(mean);
    return status;
}

cg_status cg_bn_sync_backward(cg_ctx *ctx, const cg_bn_sync *sync, cl_mem st, int C) {
    float *h = malloc(2 * (size_t)C * sizeof *h);
    double *d = malloc(2 * (size_t)C * sizeof *d);
    cg_tensor v = cg_view(st, 2 * (size_t)C, 1, 1, 1, 2 * C);
    cg_status status = h && d ? cg_tensor_read(ctx->rt, v, h) : cg_fail(CG_ERR_NOMEM, "out of host memory (SyncBN)");
    for (int i = 0; status == CG_OK && i < 2 * C; i++) d[i] = h[i];
    if (status == CG_OK) status = sync->sum(sync->user, d, 2 * (size_t)C);
    for (int i = 0; status == CG_OK && i < 2 * C; i++) h[i] = (float)d[i];
    if (status == CG_OK) status = cg_tensor_write(ctx->rt, v, h);
    free(h);
    free(d);
    return status;
}
