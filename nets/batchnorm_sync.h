// batchnorm_sync.h — SyncBN's cross-replica statistics for nets/batchnorm.c (internal).
#ifndef CLGAN_BATCHNORM_SYNC_H
#define CLGAN_BATCHNORM_SYNC_H

#include "nets.h"

// Training statistics of x ([N, C, H, W], this replica's slice) over all replicas' batches: writes
// mean and 1/sqrt(var + eps) into st[0..2C) and moves the running statistics (rmean, rvar [C]) by
// momentum with the unbiased variance of the whole batch, as cl/bn.cl's bn_stats does for one.
cg_status cg_bn_sync_forward(cg_ctx *ctx, const cg_bn_sync *sync, cg_tensor x, cl_mem st, cg_tensor rmean,
                             cg_tensor rvar, float eps, float momentum);
// Sums st[2C..4C) (sum dy, sum dy*xhat per channel, from bn_bwd_reduce) over all replicas.
cg_status cg_bn_sync_backward(cg_ctx *ctx, const cg_bn_sync *sync, cl_mem st, int C);

#endif
