// bn.cl — normalisation kernels: batch norm (statistics per channel over N, H, W) and layer norm
// (statistics per sample over C, H, W), forward and backward.
//
// Layout: activations are NCHW views (buffer, element offset, sample stride sn); within a sample
// the C*H*W elements are dense. Parameters and running statistics are (buffer, offset) views of
// C floats (batch norm) or C*H*W floats (layer norm).
// Reductions are deterministic: one work-group per channel (or sample) whose work-items sum fixed
// strided subsets in a fixed order and then combine them by a tree in local memory; no atomics.
// Work-group kernels are launched (cg_launch_groups) with a local size L and a scratch of L floats;
// they are correct for any L.
// Element counts fit in 32 bits (the host checks), so index arithmetic is 32-bit; offsets are
// 64-bit.
// Batch-norm state (nets/batchnorm.c) is one buffer of 4*C floats:
//   [0, C) mean   [C, 2C) 1/sqrt(var + eps)   [2C, 3C) sum dy   [3C, 4C) sum dy * xhat
// Layer-norm state (nets/layernorm.c) is the same four rows of N floats, one entry per sample.
//
// Fused activation (nets/chain.c runs BatchNorm followed by ReLU / LeakyReLU as one layer pair):
// the batch-norm kernels take (act, slope); act 1 applies y = v > 0 ? v : slope * v to the
// normalised value v in the forward, and in the backward recomputes v from x, the statistics and
// the affine parameters with the forward's very expression and multiplies dy by v > 0 ? 1 : slope
// (act.cl's act_leaky_fwd / act_leaky_bwd, operation for operation), so fused and unfused passes
// give the same bits. act 0 is plain batch norm.
// Two variants per pass, picked by device type (nets/batchnorm.c): GPUs take one work-item per
// element (bn_apply, bn_bwd_dx) and reductions with consecutive work-items on consecutive elements
// (bn_stats, bn_bwd_reduce); CPUs take one work-item per row of HW contiguous floats, vectorised
// by BN_VEC lanes (bn_apply_rows, bn_bwd_dx_rows), and reductions whose work-items each walk whole
// rows (bn_stats with by_rows 1, bn_bwd_reduce_runs). Each variant sums in its own fixed order.

// Sum of v over the work-group, identical in every work-item; scratch holds L floats. Each step
// folds the upper half (rounded down) of the live entries onto the lower, so any L is summed
// (for a power of two, the classic halving tree).
float group_sum(__local float *scratch, float v) {
    uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint live = get_local_size(0); live > 1;) {
        uint keep = (live + 1) / 2;
        if (lid < live - keep) scratch[lid] += scratch[lid + keep];
        live = keep;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); // the next call overwrites scratch
    return total;
}

// LayerNorm's projection of v (a gradient or a tangent) within one sample:
// invstd * (v - sum_v / D - xhat * sum_vx / D), given the sample's sums of v and of v * xhat.
float ln_project(float v, float xhat, float sum_v, float sum_vx, float invstd, float inv_d) {
    return invstd * (v - sum_v * inv_d - xhat * (sum_vx * inv_d));
}

// This work-item's share of sum (x - shift) (squares = 0) or sum (x - shift)^2 (squares = 1) over
// channel plane cbase of every sample: the elements j = lid, lid + L, ... of the N*HW of the
// channel, with j = n * HW + p walked incrementally (no division in the loop).
float channel_partial(__global const float *x, ulong xoff, ulong xsn, ulong cbase, uint N, uint HW, float shift,
                      int squares) {
    uint lid = get_local_id(0), L = get_local_size(0);
    uint q = L / HW, r = L % HW;
    float s = 0.0f;
    for (uint n = lid / HW, p = lid % HW; n < N;) {
        float d = x[xoff + n * xsn + cbase + p] - shift;
        s += squares ? d * d : d;
        n += q;
        p += r;
        if (p >= HW) {
            p -= HW;
            n++;
        }
    }
    return s;
}

// The activation folded into batch norm, on the normalised value v (act.cl's act_leaky_fwd).
float bn_act(float v, int act, float slope) {
    return act && !(v > 0.0f) ? (slope == 0.0f ? 0.0f : slope * v) : v;
}

// dy through the folded activation, from the recomputed normalised value v (act_leaky_bwd).
float bn_act_grad(float g, float v, int act, float slope) { return act && !(v > 0.0f) ? g * slope : g; }

// Lanes of the CPU variants: 8 (AVX) by default; a -D tunable (4 or 8).
#ifndef BN_VEC
#define BN_VEC 8
#endif
#if BN_VEC == 4
typedef float4 bn_vec;
#define bn_load vload4
#define bn_store vstore4
#define bn_fold(a) (((a).s0 + (a).s1) + ((a).s2 + (a).s3))
#else
typedef float8 bn_vec;
#define bn_load vload8
#define bn_store vstore8
#define bn_fold(a) ((((a).s0 + (a).s1) + ((a).s2 + (a).s3)) + (((a).s4 + (a).s5) + ((a).s6 + (a).s7)))
#endif

bn_vec bn_act_v(bn_vec v, int act, float slope) {
    if (!act) return v;
    bn_vec neg = slope == 0.0f ? (bn_vec)(0.0f) : slope * v;
    return select(neg, v, v > (bn_vec)(0.0f));
}

bn_vec bn_act_grad_v(bn_vec g, bn_vec v, int act, float slope) {
    return act ? select(g * slope, g, v > (bn_vec)(0.0f)) : g;
}

// Sum of (p[k] - shift) (squares 0) or (p[k] - shift)^2 (squares 1) over one row of HW floats:
// BN_VEC lanes over the full blocks, folded by a fixed tree, then the tail in order.
float bn_row_sum(__global const float *p, uint HW, float shift, int squares) {
    bn_vec acc = (bn_vec)(0.0f);
    uint full = HW / BN_VEC * BN_VEC;
    for (uint k = 0; k < full; k += BN_VEC) {
        bn_vec d = bn_load(0, p + k) - shift;
        acc += squares ? d * d : d;
    }
    float t = bn_fold(acc);
    for (uint k = full; k < HW; k++) {
        float d = p[k] - shift;
        t += squares ? d * d : d;
    }
    return t;
}

// This work-item's share of bn_row_sum over the rows of channel plane cbase: samples n = lid,
// lid + L, ... in order.
float channel_rows(__global const float *x, ulong xoff, ulong xsn, ulong cbase, uint N, uint HW, float shift,
                   int squares) {
    float s = 0.0f;
    for (uint n = get_local_id(0); n < N; n += get_local_size(0))
        s += bn_row_sum(x + xoff + n * xsn + cbase, HW, shift, squares);
    return s;
}

// Channel c's statistics into the state and the running statistics (work-item 0 of the group):
// mean and 1/sqrt(var + eps); r = (1 - momentum) r + momentum * batch value, with the unbiased
// variance var * M / (M - 1), M = N*HW > 1 (PyTorch).
void bn_store_stats(uint c, uint C, float mean, float var, float m, float eps, float momentum, __global float *st,
                    __global float *rmean, ulong rmoff, __global float *rvar, ulong rvoff) {
    st[c] = mean;
    st[C + c] = rsqrt(var + eps);
    float unbiased = var * (m / (m - 1.0f));
    rmean[rmoff + c] = (1.0f - momentum) * rmean[rmoff + c] + momentum * mean;
    rvar[rvoff + c] = (1.0f - momentum) * rvar[rvoff + c] + momentum * unbiased;
}

// bn_stats: batch statistics of channel c = group id, two passes over x (mean, then the biased
// variance about it). by_rows 0 (GPUs): consecutive work-items on consecutive elements
// (channel_partial); 1 (CPUs): each work-item sums whole rows (channel_rows). x: [N, C, H, W].
__kernel void bn_stats(__global const float *x, ulong xoff, ulong xsn, uint N, uint C, uint HW, float eps,
                       float momentum, __global float *st, __global float *rmean, ulong rmoff,
                       __global float *rvar, ulong rvoff, int by_rows, __local float *scratch) {
    uint c = get_group_id(0);
    ulong cbase = (ulong)c * HW;
    float m = (float)N * (float)HW;
    float part = by_rows ? channel_rows(x, xoff, xsn, cbase, N, HW, 0.0f, 0)
                         : channel_partial(x, xoff, xsn, cbase, N, HW, 0.0f, 0);
    float mean = group_sum(scratch, part) / m;
    part = by_rows ? channel_rows(x, xoff, xsn, cbase, N, HW, mean, 1)
                   : channel_partial(x, xoff, xsn, cbase, N, HW, mean, 1);
    float var = group_sum(scratch, part) / m;
    if (get_local_id(0) == 0) bn_store_stats(c, C, mean, var, m, eps, momentum, st, rmean, rmoff, rvar, rvoff);
}

// SyncBN (nets/batchnorm_sync.c) exchanges per-channel sums through the host in a buffer g of 2C
// floats that the host always writes whole (partial host writes would leave Oclgrind's shadow of
// the rest of a buffer unknown: false "uninitialised" reports on the parameters and the state).
// bn_sync_sum: channel c = group id: g[C + c] = sum x of this replica's slice (squares = 0), or
// sum (x - g[c])^2 (squares = 1: about the mean of every replica's batch, which the host wrote to
// g[c]). x: [N, C, H, W]; only these C floats then travel to the host.
__kernel void bn_sync_sum(__global const float *x, ulong xoff, ulong xsn, uint N, uint C, uint HW, int squares,
                          __global float *g, __local float *scratch) {
    uint c = get_group_id(0);
    float shift = squares ? g[c] : 0.0f;
    float s = group_sum(scratch, channel_partial(x, xoff, xsn, (ulong)c * HW, N, HW, shift, squares));
    if (get_local_id(0) == 0) g[C + c] = s;
}

// bn_sync_stats: one work-item per channel c, from g = [mean, biased variance] of every replica's
// batch: the state's mean and 1/sqrt(var + eps), and the running statistics as bn_stats moves them
// (unbias = M / (M - 1) for the M values of the whole batch).
__kernel void bn_sync_stats(__global const float *g, uint C, float eps, float momentum, float unbias,
                            __global float *st, __global float *rmean, ulong rmoff, __global float *rvar,
                            ulong rvoff) {
    uint c = get_global_id(0);
    if (c >= C) return;
    float mean = g[c], var = g[C + c];
    st[c] = mean;
    st[C + c] = rsqrt(var + eps);
    rmean[rmoff + c] = (1.0f - momentum) * rmean[rmoff + c] + momentum * mean;
    rvar[rvoff + c] = (1.0f - momentum) * rvar[rvoff + c] + momentum * (var * unbias);
}

// bn_sync_copy: st[2C + i] = g[i] for i < 2C: backward's sums of every replica into the state.
__kernel void bn_sync_copy(__global const float *g, uint C, __global float *st) {
    uint i = get_global_id(0);
    if (i < 2 * C) st[2 * C + i] = g[i];
}

// bn_eval_stats: one work-item per channel c: state mean = running mean, state inverse std =
// 1/sqrt(running var + eps) (evaluation mode normalises with the running statistics).
__kernel void bn_eval_stats(__global const float *rmean, ulong rmoff, __global const float *rvar, ulong rvoff,
                            uint C, float eps, __global float *st) {
    uint c = get_global_id(0);
    if (c >= C) return;
    st[c] = rmean[rmoff + c];
    st[C + c] = rsqrt(rvar[rvoff + c] + eps);
}

// bn_apply (GPUs): one work-item per element i of x:
//   y = act((x - mean[c]) * invstd[c] * w[c] + b[c]).   x, y: [N, C, H, W]; n = N*C*HW.
__kernel void bn_apply(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff, ulong ysn,
                       uint C, uint HW, uint n, __global const float *st, __global const float *w, ulong woff,
                       __global const float *b, ulong boff, int act, float slope) {
    size_t gid = get_global_id(0);
    if (gid >= n) return;
    uint i = (uint)gid;
    uint per = C * HW, s = i / per, j = i - s * per, c = j / HW;
    float xhat = (x[xoff + (ulong)s * xsn + j] - st[c]) * st[C + c];
    y[yoff + (ulong)s * ysn + j] = bn_act(xhat * w[woff + c] + b[boff + c], act, slope);
}

// bn_apply_rows (CPUs): one work-item per row r = s * C + c of HW contiguous floats (rows = N*C);
// the same expression as bn_apply, BN_VEC lanes at a time.
__kernel void bn_apply_rows(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff,
                            ulong ysn, uint C, uint HW, uint rows, __global const float *st,
                            __global const float *w, ulong woff, __global const float *b, ulong boff, int act,
                            float slope) {
    size_t gid = get_global_id(0);
    if (gid >= rows) return;
    uint r = (uint)gid, s = r / C, c = r - s * C;
    __global const float *xr = x + xoff + (ulong)s * xsn + (ulong)c * HW;
    __global float *yr = y + yoff + (ulong)s * ysn + (ulong)c * HW;
    float mean = st[c], invstd = st[C + c], wc = w[woff + c], bc = b[boff + c];
    uint full = HW / BN_VEC * BN_VEC;
    for (uint k = 0; k < full; k += BN_VEC) {
        bn_vec xhat = (bn_load(0, xr + k) - mean) * invstd;
        bn_store(bn_act_v(xhat * wc + bc, act, slope), 0, yr + k);
    }
    for (uint k = full; k < HW; k++) yr[k] = bn_act((xr[k] - mean) * invstd * wc + bc, act, slope);
}

// Channel c's backward sums (work-item 0): into the state for the dx pass, and the parameter
// gradients dw[c] += sum dy * xhat, db[c] += sum dy.
void bn_store_sums(uint c, uint C, float sdy, float sdyx, __global float *st, __global float *dw, ulong dwoff,
                   __global float *db, ulong dboff) {
    st[2 * C + c] = sdy;
    st[3 * C + c] = sdyx;
    dw[dwoff + c] += sdyx;
    db[dboff + c] += sdy;
}

// bn_bwd_reduce (GPUs): channel c = group id: sum dy and sum dy * xhat over N, H, W, with xhat from
// x and the saved statistics (dy taken through the folded activation when act is 1), consecutive
// work-items on consecutive elements. x, dy: [N, C, H, W].
__kernel void bn_bwd_reduce(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                            ulong dysn, uint N, uint C, uint HW, __global float *st, __global float *dw, ulong dwoff,
                            __global float *db, ulong dboff, __global const float *w, ulong woff,
                            __global const float *b, ulong boff, int act, float slope, __local float *scratch) {
    uint c = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    ulong cbase = (ulong)c * HW;
    float mean = st[c], invstd = st[C + c], wc = w[woff + c], bc = b[boff + c];
    uint q = L / HW, r = L % HW;
    float sdy = 0.0f, sdyx = 0.0f;
    for (uint n = lid / HW, p = lid % HW; n < N;) {
        float xhat = (x[xoff + n * xsn + cbase + p] - mean) * invstd;
        float g = bn_act_grad(dy[dyoff + n * dysn + cbase + p], xhat * wc + bc, act, slope);
        sdy += g;
        sdyx += g * xhat;
        n += q;
        p += r;
        if (p >= HW) {
            p -= HW;
            n++;
        }
    }
    sdy = group_sum(scratch, sdy);
    sdyx = group_sum(scratch, sdyx);
    if (lid == 0) bn_store_sums(c, C, sdy, sdyx, st, dw, dwoff, db, dboff);
}

// bn_bwd_reduce_runs (CPUs): as bn_bwd_reduce, each work-item summing whole rows n = lid, lid + L,
// ... (BN_VEC lanes folded by a fixed tree, then the tail, per row).
__kernel void bn_bwd_reduce_runs(__global const float *x, ulong xoff, ulong xsn, __global const float *dy,
                                 ulong dyoff, ulong dysn, uint N, uint C, uint HW, __global float *st,
                                 __global float *dw, ulong dwoff, __global float *db, ulong dboff,
                                 __global const float *w, ulong woff, __global const float *b, ulong boff, int act,
                                 float slope, __local float *scratch) {
    uint c = get_group_id(0);
    ulong cbase = (ulong)c * HW;
    float mean = st[c], invstd = st[C + c], wc = w[woff + c], bc = b[boff + c];
    uint full = HW / BN_VEC * BN_VEC;
    float sdy = 0.0f, sdyx = 0.0f;
    for (uint n = get_local_id(0); n < N; n += get_local_size(0)) {
        __global const float *xr = x + xoff + n * xsn + cbase, *gr = dy + dyoff + n * dysn + cbase;
        bn_vec a1 = (bn_vec)(0.0f), a2 = (bn_vec)(0.0f);
        for (uint k = 0; k < full; k += BN_VEC) {
            bn_vec xhat = (bn_load(0, xr + k) - mean) * invstd;
            bn_vec g = bn_act_grad_v(bn_load(0, gr + k), xhat * wc + bc, act, slope);
            a1 += g;
            a2 += g * xhat;
        }
        float t1 = bn_fold(a1), t2 = bn_fold(a2);
        for (uint k = full; k < HW; k++) {
            float xhat = (xr[k] - mean) * invstd;
            float g = bn_act_grad(gr[k], xhat * wc + bc, act, slope);
            t1 += g;
            t2 += g * xhat;
        }
        sdy += t1;
        sdyx += t2;
    }
    sdy = group_sum(scratch, sdy);
    sdyx = group_sum(scratch, sdyx);
    if (get_local_id(0) == 0) bn_store_sums(c, C, sdy, sdyx, st, dw, dwoff, db, dboff);
}

// bn_bwd_dx (GPUs): one work-item per element i, with g = dy through the folded activation.
// Training (batch statistics, M = N*HW):
//   dx = w[c] * invstd[c] * (g - sum g / M - xhat * sum(g * xhat) / M)
// evaluation (fixed running statistics): dx = w[c] * invstd[c] * g. x, dy, dx: [N, C, H, W].
__kernel void bn_bwd_dx(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                        ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, uint C, uint HW, uint n,
                        __global const float *st, __global const float *w, ulong woff, float inv_m, int training,
                        __global const float *b, ulong boff, int act, float slope) {
    size_t gid = get_global_id(0);
    if (gid >= n) return;
    uint i = (uint)gid;
    uint per = C * HW, s = i / per, j = i - s * per, c = j / HW;
    float invstd = st[C + c], wc = w[woff + c];
    float xhat = (x[xoff + (ulong)s * xsn + j] - st[c]) * invstd;
    float g = bn_act_grad(dy[dyoff + (ulong)s * dysn + j], xhat * wc + b[boff + c], act, slope);
    if (training) g = g - st[2 * C + c] * inv_m - xhat * (st[3 * C + c] * inv_m);
    dx[dxoff + (ulong)s * dxsn + j] = wc * invstd * g;
}

// bn_bwd_dx_rows (CPUs): one work-item per row r = s * C + c (rows = N*C); bn_bwd_dx's expression,
// BN_VEC lanes at a time.
__kernel void bn_bwd_dx_rows(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                             ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, uint C, uint HW, uint rows,
                             __global const float *st, __global const float *w, ulong woff, float inv_m,
                             int training, __global const float *b, ulong boff, int act, float slope) {
    size_t gid = get_global_id(0);
    if (gid >= rows) return;
    uint r = (uint)gid, s = r / C, c = r - s * C;
    ulong at = (ulong)c * HW;
    __global const float *xr = x + xoff + (ulong)s * xsn + at, *gr = dy + dyoff + (ulong)s * dysn + at;
    __global float *dr = dx + dxoff + (ulong)s * dxsn + at;
    float mean = st[c], invstd = st[C + c], wc = w[woff + c], bc = b[boff + c], scale = wc * invstd;
    float m1 = training ? st[2 * C + c] * inv_m : 0.0f, m2 = training ? st[3 * C + c] * inv_m : 0.0f;
    uint full = HW / BN_VEC * BN_VEC;
    for (uint k = 0; k < full; k += BN_VEC) {
        bn_vec xhat = (bn_load(0, xr + k) - mean) * invstd;
        bn_vec g = bn_act_grad_v(bn_load(0, gr + k), xhat * wc + bc, act, slope);
        if (training) g = g - m1 - xhat * m2;
        bn_store(scale * g, 0, dr + k);
    }
    for (uint k = full; k < HW; k++) {
        float xhat = (xr[k] - mean) * invstd;
        float g = bn_act_grad(gr[k], xhat * wc + bc, act, slope);
        if (training) g = g - m1 - xhat * m2;
        dr[k] = scale * g;
    }
}

// ---- layer norm: statistics per sample over its D = C*H*W elements ----------------------------

// ln_stats: sample s = group id: mean and 1/sqrt(biased var + eps) over its D elements, two passes.
__kernel void ln_stats(__global const float *x, ulong xoff, ulong xsn, uint N, uint D, float eps,
                       __global float *st, __local float *scratch) {
    uint s = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    ulong base = xoff + (ulong)s * xsn;
    float part = 0.0f;
    for (uint j = lid; j < D; j += L) part += x[base + j];
    float mean = group_sum(scratch, part) / (float)D;
    part = 0.0f;
    for (uint j = lid; j < D; j += L) {
        float d = x[base + j] - mean;
        part += d * d;
    }
    float var = group_sum(scratch, part) / (float)D;
    if (lid != 0) return;
    st[s] = mean;
    st[N + s] = rsqrt(var + eps);
}

// ln_apply: one work-item per element i = s * D + j: y = xhat (affine 0) or xhat * w[j] + b[j].
__kernel void ln_apply(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff, ulong ysn,
                       uint N, uint D, __global const float *st, int affine, __global const float *w, ulong woff,
                       __global const float *b, ulong boff) {
    size_t gid = get_global_id(0);
    if (gid >= N * D) return;
    uint i = (uint)gid;
    uint s = i / D, j = i - s * D;
    float xhat = (x[xoff + (ulong)s * xsn + j] - st[s]) * st[N + s];
    y[yoff + (ulong)s * ysn + j] = affine ? xhat * w[woff + j] + b[boff + j] : xhat;
}

// ln_bwd_params: one work-item per element j of a sample: over the batch, dw[j] += sum dy * xhat,
// db[j] += sum dy (samples summed in order).
void ln_bwd_params_at(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                      ulong dysn, uint N, __global const float *st, __global float *dw, ulong dwoff,
                      __global float *db, ulong dboff, uint j) {
    float sdy = 0.0f, sdyx = 0.0f;
    for (uint s = 0; s < N; s++) {
        float g = dy[dyoff + (ulong)s * dysn + j];
        sdy += g;
        sdyx += g * ((x[xoff + (ulong)s * xsn + j] - st[s]) * st[N + s]);
    }
    dw[dwoff + j] += sdyx;
    db[dboff + j] += sdy;
}

__kernel void ln_bwd_params(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                            ulong dysn, uint N, uint D, __global const float *st, __global float *dw, ulong dwoff,
                            __global float *db, ulong dboff) {
    uint j = get_global_id(0);
    if (j < D) ln_bwd_params_at(x, xoff, xsn, dy, dyoff, dysn, N, st, dw, dwoff, db, dboff, j);
}

// ln_bwd_reduce: sample s = group id: with g = dy * w[j] (or dy without affine), the sums of g and
// of g * xhat over the sample, stored in the state rows 2 and 3.
__kernel void ln_bwd_reduce(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                            ulong dysn, uint N, uint D, __global float *st, int affine, __global const float *w,
                            ulong woff, __local float *scratch) {
    uint s = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    float mean = st[s], invstd = st[N + s];
    float sg = 0.0f, sgx = 0.0f;
    for (uint j = lid; j < D; j += L) {
        float g = dy[dyoff + (ulong)s * dysn + j];
        if (affine) g *= w[woff + j];
        sg += g;
        sgx += g * ((x[xoff + (ulong)s * xsn + j] - mean) * invstd);
    }
    sg = group_sum(scratch, sg);
    sgx = group_sum(scratch, sgx);
    if (lid != 0) return;
    st[2 * N + s] = sg;
    st[3 * N + s] = sgx;
}

// ln_bwd_dx: one work-item per element i = s * D + j:
//   dx = invstd[s] * (g - sum g / D - xhat * sum(g * xhat) / D), g = dy * w[j] (or dy).
__kernel void ln_bwd_dx(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                        ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, uint N, uint D,
                        __global const float *st, int affine, __global const float *w, ulong woff) {
    size_t gid = get_global_id(0);
    if (gid >= N * D) return;
    uint i = (uint)gid;
    uint s = i / D, j = i - s * D;
    float invstd = st[N + s], inv_d = 1.0f / (float)D;
    float xhat = (x[xoff + (ulong)s * xsn + j] - st[s]) * invstd;
    float g = dy[dyoff + (ulong)s * dysn + j];
    if (affine) g *= w[woff + j];
    dx[dxoff + (ulong)s * dxsn + j] = ln_project(g, xhat, st[2 * N + s], st[3 * N + s], invstd, inv_d);
}

// ---- layer norm, CPU variants -------------------------------------------------------------------
// The element kernels above (GPUs) do the index arithmetic per element; on CPUs (nets/layernorm.c
// picks by device type) the *_rows kernels take a chunk of LN_ROW consecutive elements of one
// sample per work-item, BN_VEC lanes at a time, and the *_cols kernels LN_COLS consecutive
// elements j of a sample, summed over the batch in order. Every element gets the element kernel's
// expression and every sum its order: the same bits.
#ifndef LN_ROW
#define LN_ROW 512
#endif
#ifndef LN_COLS
#define LN_COLS 16
#endif

// Work-item i's chunk: sample s (returned) and its elements [*j0, *j1); ceil(D / LN_ROW) per sample.
uint ln_chunk(uint i, uint D, uint *j0, uint *j1) {
    uint per = (D + LN_ROW - 1) / LN_ROW, s = i / per;
    *j0 = (i - s * per) * LN_ROW;
    *j1 = min(*j0 + LN_ROW, D);
    return s;
}

// ln_project on BN_VEC lanes. sum_v is widened before its product so that the compiler may contract
// v - sum_v * inv_d into one fma exactly as it does in the scalar expression (a product of two
// scalars widened afterwards is never contracted): the same bits.
bn_vec ln_project_v(bn_vec v, bn_vec xhat, float sum_v, float sum_vx, float invstd, float inv_d) {
    return invstd * (v - (bn_vec)(sum_v) * inv_d - xhat * (sum_vx * inv_d));
}

// ln_apply_rows: ln_apply over work-item chunks (items = N * ceil(D / LN_ROW)).
__kernel void ln_apply_rows(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff,
                            ulong ysn, uint N, uint D, __global const float *st, int affine,
                            __global const float *w, ulong woff, __global const float *b, ulong boff, uint items) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint j0, j1, s = ln_chunk((uint)gid, D, &j0, &j1), j = j0;
    __global const float *xr = x + xoff + (ulong)s * xsn, *wr = w + woff, *br = b + boff;
    __global float *yr = y + yoff + (ulong)s * ysn;
    float mean = st[s], invstd = st[N + s];
    for (; j + BN_VEC <= j1; j += BN_VEC) {
        bn_vec xhat = (bn_load(0, xr + j) - mean) * invstd;
        if (affine) xhat = xhat * bn_load(0, wr + j) + bn_load(0, br + j);
        bn_store(xhat, 0, yr + j);
    }
    for (; j < j1; j++) {
        float xhat = (xr[j] - mean) * invstd;
        yr[j] = affine ? xhat * wr[j] + br[j] : xhat;
    }
}

// ln_bwd_params_cols: ln_bwd_params for LN_COLS elements j per work-item (items = ceil(D / LN_COLS)).
__kernel void ln_bwd_params_cols(__global const float *x, ulong xoff, ulong xsn, __global const float *dy,
                                 ulong dyoff, ulong dysn, uint N, uint D, __global const float *st,
                                 __global float *dw, ulong dwoff, __global float *db, ulong dboff, uint items) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint j0 = (uint)gid * LN_COLS, j1 = min(j0 + LN_COLS, D), j = j0;
    for (; j + BN_VEC <= j1; j += BN_VEC) {
        bn_vec sdy = (bn_vec)(0.0f), sdyx = (bn_vec)(0.0f);
        for (uint s = 0; s < N; s++) {
            bn_vec g = bn_load(0, dy + dyoff + (ulong)s * dysn + j);
            sdy += g;
            sdyx += g * ((bn_load(0, x + xoff + (ulong)s * xsn + j) - st[s]) * st[N + s]);
        }
        bn_store(bn_load(0, dw + dwoff + j) + sdyx, 0, dw + dwoff + j);
        bn_store(bn_load(0, db + dboff + j) + sdy, 0, db + dboff + j);
    }
    for (; j < j1; j++) ln_bwd_params_at(x, xoff, xsn, dy, dyoff, dysn, N, st, dw, dwoff, db, dboff, j);
}

// ln_bwd_dx_rows: ln_bwd_dx over work-item chunks (items = N * ceil(D / LN_ROW)).
__kernel void ln_bwd_dx_rows(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                             ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, uint N, uint D,
                             __global const float *st, int affine, __global const float *w, ulong woff,
                             uint items) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint j0, j1, s = ln_chunk((uint)gid, D, &j0, &j1), j = j0;
    __global const float *xr = x + xoff + (ulong)s * xsn, *gr = dy + dyoff + (ulong)s * dysn, *wr = w + woff;
    __global float *dr = dx + dxoff + (ulong)s * dxsn;
    float mean = st[s], invstd = st[N + s], inv_d = 1.0f / (float)D, s1 = st[2 * N + s], s2 = st[3 * N + s];
    for (; j + BN_VEC <= j1; j += BN_VEC) {
        bn_vec xhat = (bn_load(0, xr + j) - mean) * invstd;
        bn_vec g = bn_load(0, gr + j);
        if (affine) g *= bn_load(0, wr + j);
        bn_store(ln_project_v(g, xhat, s1, s2, invstd, inv_d), 0, dr + j);
    }
    for (; j < j1; j++) {
        float xhat = (xr[j] - mean) * invstd;
        float g = gr[j];
        if (affine) g *= wr[j];
        dr[j] = ln_project(g, xhat, s1, s2, invstd, inv_d);
    }
}

// ---- layer norm, second order (the gradient penalty's double backward) -----------------------
// With xhat = (x - mean) * invstd per sample and the tangent xt along which the forward is
// differentiated: u = invstd * (xt - S1 / D - xhat * S2 / D), S1 = sum xt, S2 = sum xhat * xt, is
// the tangent of xhat, and yt = w * u. ln_bwd_reduce with dy = xt and no affine leaves S1 and S2
// in the state rows 2 and 3.

// ln_tangent_apply: one work-item per element: yt = u (affine 0) or w[j] * u.
__kernel void ln_tangent_apply(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                               ulong xtsn, __global float *yt, ulong ytoff, ulong ytsn, uint N, uint D,
                               __global const float *st, int affine, __global const float *w, ulong woff) {
    size_t gid = get_global_id(0);
    if (gid >= N * D) return;
    uint i = (uint)gid;
    uint s = i / D, j = i - s * D;
    float invstd = st[N + s], inv_d = 1.0f / (float)D;
    float xhat = (x[xoff + (ulong)s * xsn + j] - st[s]) * invstd;
    float u = ln_project(xt[xtoff + (ulong)s * xtsn + j], xhat, st[2 * N + s], st[3 * N + s], invstd, inv_d);
    yt[ytoff + (ulong)s * ytsn + j] = affine ? w[woff + j] * u : u;
}

// The reverse of (y, yt) needs, per sample, with ub = w * gyt and g = w * gy (w = 1 without affine):
//   r[0] S1 = sum xt      r[1] S2 = sum xhat xt   r[2] S3 = sum ub u   r[3] S4 = sum ub xhat
//   r[4] S5 = sum ub      r[5] S6 = sum g         r[6] S7 = sum g xhat
// kept in r (7 rows of N floats). has_gy 0: gy is zero (S6 = S7 = 0, gy never read).
__kernel void ln2_reduce(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                         ulong xtsn, __global const float *gy, ulong gyoff, ulong gysn, int has_gy,
                         __global const float *gyt, ulong gytoff, ulong gytsn, uint N, uint D,
                         __global const float *st, int affine, __global const float *w, ulong woff,
                         __global float *r, __local float *scratch) {
    uint s = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    float mean = st[s], invstd = st[N + s], inv_d = 1.0f / (float)D;
    ulong xb = xoff + (ulong)s * xsn, xtb = xtoff + (ulong)s * xtsn;
    ulong gyb = gyoff + (ulong)s * gysn, gytb = gytoff + (ulong)s * gytsn;
    float s1 = 0.0f, s2 = 0.0f;
    for (uint j = lid; j < D; j += L) {
        float v = xt[xtb + j];
        s1 += v;
        s2 += (x[xb + j] - mean) * invstd * v;
    }
    s1 = group_sum(scratch, s1);
    s2 = group_sum(scratch, s2);
    float s3 = 0.0f, s4 = 0.0f, s5 = 0.0f, s6 = 0.0f, s7 = 0.0f;
    for (uint j = lid; j < D; j += L) {
        float xhat = (x[xb + j] - mean) * invstd;
        float u = ln_project(xt[xtb + j], xhat, s1, s2, invstd, inv_d);
        float wj = affine ? w[woff + j] : 1.0f;
        float ub = wj * gyt[gytb + j];
        s3 += ub * u;
        s4 += ub * xhat;
        s5 += ub;
        if (has_gy) {
            float g = wj * gy[gyb + j];
            s6 += g;
            s7 += g * xhat;
        }
    }
    s3 = group_sum(scratch, s3);
    s4 = group_sum(scratch, s4);
    s5 = group_sum(scratch, s5);
    s6 = group_sum(scratch, s6);
    s7 = group_sum(scratch, s7);
    if (lid != 0) return;
    r[s] = s1;
    r[N + s] = s2;
    r[2 * N + s] = s3;
    r[3 * N + s] = s4;
    r[4 * N + s] = s5;
    r[5 * N + s] = s6;
    r[6 * N + s] = s7;
}

// ln2_dx: one work-item per element, from ln2_reduce's sums:
//   gxt = invstd * (ub - S5 / D - xhat * S4 / D)                     (the ordinary backward of gyt)
//   gx  = -invstd / D * (S3 * xhat + S4 * u) - invstd * S2 / D * gxt   (through invstd and xhat)
//         + invstd * (g - S6 / D - xhat * S7 / D)                      (the ordinary backward of gy)
// write_gx / write_gxt 0 skip an output (its buffer is never touched).
__kernel void ln2_dx(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                     ulong xtsn, __global const float *gy, ulong gyoff, ulong gysn, int has_gy,
                     __global const float *gyt, ulong gytoff, ulong gytsn, __global float *gx, ulong gxoff,
                     ulong gxsn, int write_gx, __global float *gxt, ulong gxtoff, ulong gxtsn, int write_gxt, uint N,
                     uint D, __global const float *st, int affine, __global const float *w, ulong woff,
                     __global const float *r) {
    size_t gid = get_global_id(0);
    if (gid >= N * D) return;
    uint i = (uint)gid;
    uint s = i / D, j = i - s * D;
    float invstd = st[N + s], inv_d = 1.0f / (float)D;
    float xhat = (x[xoff + (ulong)s * xsn + j] - st[s]) * invstd;
    float u = ln_project(xt[xtoff + (ulong)s * xtsn + j], xhat, r[s], r[N + s], invstd, inv_d);
    float wj = affine ? w[woff + j] : 1.0f;
    float ub = wj * gyt[gytoff + (ulong)s * gytsn + j];
    float s4 = r[3 * N + s];
    float dxt = ln_project(ub, xhat, r[4 * N + s], s4, invstd, inv_d);
    if (write_gxt) gxt[gxtoff + (ulong)s * gxtsn + j] = dxt;
    if (!write_gx) return;
    float dx = -invstd * inv_d * (r[2 * N + s] * xhat + s4 * u) - invstd * (r[N + s] * inv_d) * dxt;
    if (has_gy) {
        float g = wj * gy[gyoff + (ulong)s * gysn + j];
        dx += ln_project(g, xhat, r[5 * N + s], r[6 * N + s], invstd, inv_d);
    }
    gx[gxoff + (ulong)s * gxsn + j] = dx;
}

// ln2_params: one work-item per element j of a sample: over the batch (in order),
//   dw[j] += sum gy * xhat + gyt * u,   db[j] += sum gy.
void ln2_params_at(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                   ulong xtsn, __global const float *gy, ulong gyoff, ulong gysn, int has_gy,
                   __global const float *gyt, ulong gytoff, ulong gytsn, uint N, float inv_d,
                   __global const float *st, __global const float *r, __global float *dw, ulong dwoff,
                   __global float *db, ulong dboff, uint j) {
    float sw = 0.0f, sb = 0.0f;
    for (uint s = 0; s < N; s++) {
        float invstd = st[N + s];
        float xhat = (x[xoff + (ulong)s * xsn + j] - st[s]) * invstd;
        float u = ln_project(xt[xtoff + (ulong)s * xtsn + j], xhat, r[s], r[N + s], invstd, inv_d);
        sw += gyt[gytoff + (ulong)s * gytsn + j] * u;
        if (has_gy) {
            float g = gy[gyoff + (ulong)s * gysn + j];
            sw += g * xhat;
            sb += g;
        }
    }
    dw[dwoff + j] += sw;
    db[dboff + j] += sb;
}

__kernel void ln2_params(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                         ulong xtsn, __global const float *gy, ulong gyoff, ulong gysn, int has_gy,
                         __global const float *gyt, ulong gytoff, ulong gytsn, uint N, uint D,
                         __global const float *st, __global const float *r, __global float *dw, ulong dwoff,
                         __global float *db, ulong dboff) {
    uint j = get_global_id(0);
    if (j < D)
        ln2_params_at(x, xoff, xsn, xt, xtoff, xtsn, gy, gyoff, gysn, has_gy, gyt, gytoff, gytsn, N, 1.0f / (float)D,
                      st, r, dw, dwoff, db, dboff, j);
}

// ---- layer norm, second order, CPU variants (as the first-order ones: the same bits) -----------

// ln_tangent_apply_rows: ln_tangent_apply over work-item chunks (items = N * ceil(D / LN_ROW)).
__kernel void ln_tangent_apply_rows(__global const float *x, ulong xoff, ulong xsn, __global const float *xt,
                                    ulong xtoff, ulong xtsn, __global float *yt, ulong ytoff, ulong ytsn, uint N,
                                    uint D, __global const float *st, int affine, __global const float *w,
                                    ulong woff, uint items) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint j0, j1, s = ln_chunk((uint)gid, D, &j0, &j1), j = j0;
    __global const float *xr = x + xoff + (ulong)s * xsn, *tr = xt + xtoff + (ulong)s * xtsn, *wr = w + woff;
    __global float *yr = yt + ytoff + (ulong)s * ytsn;
    float mean = st[s], invstd = st[N + s], inv_d = 1.0f / (float)D, s1 = st[2 * N + s], s2 = st[3 * N + s];
    for (; j + BN_VEC <= j1; j += BN_VEC) {
        bn_vec xhat = (bn_load(0, xr + j) - mean) * invstd;
        bn_vec u = ln_project_v(bn_load(0, tr + j), xhat, s1, s2, invstd, inv_d);
        if (affine) u = bn_load(0, wr + j) * u;
        bn_store(u, 0, yr + j);
    }
    for (; j < j1; j++) {
        float xhat = (xr[j] - mean) * invstd;
        float u = ln_project(tr[j], xhat, s1, s2, invstd, inv_d);
        yr[j] = affine ? wr[j] * u : u;
    }
}

// ln2_dx_rows: ln2_dx over work-item chunks (items = N * ceil(D / LN_ROW)).
__kernel void ln2_dx_rows(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                          ulong xtsn, __global const float *gy, ulong gyoff, ulong gysn, int has_gy,
                          __global const float *gyt, ulong gytoff, ulong gytsn, __global float *gx, ulong gxoff,
                          ulong gxsn, int write_gx, __global float *gxt, ulong gxtoff, ulong gxtsn, int write_gxt,
                          uint N, uint D, __global const float *st, int affine, __global const float *w, ulong woff,
                          __global const float *r, uint items) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint j0, j1, s = ln_chunk((uint)gid, D, &j0, &j1), j = j0;
    __global const float *xr = x + xoff + (ulong)s * xsn, *tr = xt + xtoff + (ulong)s * xtsn;
    __global const float *gr = gy + gyoff + (ulong)s * gysn, *gtr = gyt + gytoff + (ulong)s * gytsn, *wr = w + woff;
    __global float *gxr = gx + gxoff + (ulong)s * gxsn, *gxtr = gxt + gxtoff + (ulong)s * gxtsn;
    float mean = st[s], invstd = st[N + s], inv_d = 1.0f / (float)D;
    float r0 = r[s], r1 = r[N + s], r2 = r[2 * N + s], s4 = r[3 * N + s], r4 = r[4 * N + s], r5 = r[5 * N + s],
          r6 = r[6 * N + s];
    for (; j + BN_VEC <= j1; j += BN_VEC) {
        bn_vec xhat = (bn_load(0, xr + j) - mean) * invstd;
        bn_vec u = ln_project_v(bn_load(0, tr + j), xhat, r0, r1, invstd, inv_d);
        // Without affine w = 1, and 1 * v is v exactly: the scalar code's products, skipped.
        bn_vec wj = affine ? bn_load(0, wr + j) : (bn_vec)(1.0f);
        bn_vec ub = bn_load(0, gtr + j);
        if (affine) ub = wj * ub;
        bn_vec dxt = ln_project_v(ub, xhat, r4, s4, invstd, inv_d);
        if (write_gxt) bn_store(dxt, 0, gxtr + j);
        if (!write_gx) continue;
        bn_vec dx = -invstd * inv_d * (r2 * xhat + s4 * u) - invstd * (r1 * inv_d) * dxt;
        if (has_gy) {
            bn_vec g = bn_load(0, gr + j);
            if (affine) g = wj * g;
            dx += ln_project_v(g, xhat, r5, r6, invstd, inv_d);
        }
        bn_store(dx, 0, gxr + j);
    }
    for (; j < j1; j++) {
        float xhat = (xr[j] - mean) * invstd;
        float u = ln_project(tr[j], xhat, r0, r1, invstd, inv_d);
        float wj = affine ? wr[j] : 1.0f;
        float ub = wj * gtr[j];
        float dxt = ln_project(ub, xhat, r4, s4, invstd, inv_d);
        if (write_gxt) gxtr[j] = dxt;
        if (!write_gx) continue;
        float dx = -invstd * inv_d * (r2 * xhat + s4 * u) - invstd * (r1 * inv_d) * dxt;
        if (has_gy) {
            float g = wj * gr[j];
            dx += ln_project(g, xhat, r5, r6, invstd, inv_d);
        }
        gxr[j] = dx;
    }
}

// ln2_params_cols: ln2_params for LN_COLS elements j per work-item (items = ceil(D / LN_COLS)).
__kernel void ln2_params_cols(__global const float *x, ulong xoff, ulong xsn, __global const float *xt, ulong xtoff,
                              ulong xtsn, __global const float *gy, ulong gyoff, ulong gysn, int has_gy,
                              __global const float *gyt, ulong gytoff, ulong gytsn, uint N, uint D,
                              __global const float *st, __global const float *r, __global float *dw, ulong dwoff,
                              __global float *db, ulong dboff, uint items) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint j0 = (uint)gid * LN_COLS, j1 = min(j0 + LN_COLS, D), j = j0;
    float inv_d = 1.0f / (float)D;
    for (; j + BN_VEC <= j1; j += BN_VEC) {
        bn_vec sw = (bn_vec)(0.0f), sb = (bn_vec)(0.0f);
        for (uint s = 0; s < N; s++) {
            float invstd = st[N + s];
            bn_vec xhat = (bn_load(0, x + xoff + (ulong)s * xsn + j) - st[s]) * invstd;
            bn_vec u = ln_project_v(bn_load(0, xt + xtoff + (ulong)s * xtsn + j), xhat, r[s], r[N + s], invstd, inv_d);
            sw += bn_load(0, gyt + gytoff + (ulong)s * gytsn + j) * u;
            if (has_gy) {
                bn_vec g = bn_load(0, gy + gyoff + (ulong)s * gysn + j);
                sw += g * xhat;
                sb += g;
            }
        }
        bn_store(bn_load(0, dw + dwoff + j) + sw, 0, dw + dwoff + j);
        bn_store(bn_load(0, db + dboff + j) + sb, 0, db + dboff + j);
    }
    for (; j < j1; j++)
        ln2_params_at(x, xoff, xsn, xt, xtoff, xtsn, gy, gyoff, gysn, has_gy, gyt, gytoff, gytsn, N, inv_d, st, r, dw,
                      dwoff, db, dboff, j);
}
