// batchnorm_sync.c — SyncBN: BatchNorm's batch statistics over the batches of several replicas
// (data-parallel training, train/dist.h), so that N replicas of B samples normalise exactly like one
// batch of N*B. The per-channel sums are taken on the host in float64 from this replica's slice and
// summed over the replicas by the caller's `sum`: forward the mean (sum x), then the biased variance
// about it (sum (x - mean)^2), both over M = replicas * N*H*W values; backward the two sums of
// bn_bwd_reduce. Every replica gets the same sums, hence the same bits in its statistics.
#include "batchnorm_sync.h"

#include <math.h>
#include <stdlib.h>

// x: [N, C, H, W] (this replica's slice); statistics over every replica's
cg_status cg_bn_sync_forward(cg_ctx *ctx, const cg_bn_sync *sync, cg_tensor x, cl_mem st, cg_tensor rmean,
                             cg_tensor rvar, float eps, float momentum) {
    cg_runtime *rt = ctx->rt;
    int C = x.c;
    size_t HW = (size_t)x.h * x.w, per = (size_t)C * HW;
    if (x.sn != 0 && x.sn != per)
        return cg_fail(CG_ERR_INVALID_ARG, "SyncBN: input [%d,%d,%d,%d] with a sample stride of %zu is not supported",
                       x.n, x.c, x.h, x.w, x.sn);
    double M = (double)x.n * (double)HW * (double)sync->replicas;
    float *hx = malloc(cg_numel(x) * sizeof *hx), *hs = malloc(4 * (size_t)C * sizeof *hs);
    double *sum = calloc((size_t)C, sizeof *sum);
    cg_status status = hx && hs && sum ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory (SyncBN)");
    if (status == CG_OK) status = cg_tensor_read(rt, x, hx);
    for (int n = 0; status == CG_OK && n < x.n; n++)
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < HW; i++) sum[c] += hx[(size_t)n * per + (size_t)c * HW + i];
    if (status == CG_OK) status = sync->sum(sync->user, sum, (size_t)C);
    double *mean = malloc((size_t)C * sizeof *mean);
    if (status == CG_OK && !mean) status = cg_fail(CG_ERR_NOMEM, "out of host memory (SyncBN)");
    for (int c = 0; status == CG_OK && c < C; c++) {
        mean[c] = sum[c] / M;
        sum[c] = 0.0;
    }
    for (int n = 0; status == CG_OK && n < x.n; n++)
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < HW; i++) {
                double d = hx[(size_t)n * per + (size_t)c * HW + i] - mean[c];
                sum[c] += d * d;
            }
    if (status == CG_OK) status = sync->sum(sync->user, sum, (size_t)C);
    // Running statistics move as in bn_stats, in float from the whole batch's values.
    float *rm = hs + 2 * C, *rv = hs + 3 * C;
    if (status == CG_OK) status = cg_tensor_read(rt, cg_view(rmean.buf, rmean.off, 1, 1, 1, C), rm);
    if (status == CG_OK) status = cg_tensor_read(rt, cg_view(rvar.buf, rvar.off, 1, 1, 1, C), rv);
    for (int c = 0; status == CG_OK && c < C; c++) {
        double var = sum[c] / M;
        hs[c] = (float)mean[c];
        hs[C + c] = (float)(1.0 / sqrt(var + (double)eps));
        float unbiased = (float)(var * (M / (M - 1.0)));
        rm[c] = (1.0f - momentum) * rm[c] + momentum * hs[c];
        rv[c] = (1.0f - momentum) * rv[c] + momentum * unbiased;
    }
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(st, 0, 1, 1, 1, 2 * C), hs);
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(rmean.buf, rmean.off, 1, 1, 1, C), rm);
    if (status == CG_OK) status = cg_tensor_write(rt, cg_view(rvar.buf, rvar.off, 1, 1, 1, C), rv);
    free(hx);
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
