// act.cl — elementwise activations (ReLU / LeakyReLU, tanh, sigmoid), forward and backward.
//
// Layout: every tensor is an NCHW view given as (buffer, element offset, sample stride); `per` is
// the number of elements of one sample (C*H*W, the same for all tensors of a call) and `n` the
// number of elements of the whole batch. Element i of a view is at cg_view_at(i, off, sn, per)
// (common.cl), so a view may be a channel slice of a wider concatenated tensor.
// One work-item per element i: it reads its inputs at i and writes its output at i, so x and y (or
// dy and dx) may be the same view.

// act_leaky_fwd: y = x > 0 ? x : slope * x (slope 0 is ReLU and writes +0, never -0).
__kernel void act_leaky_fwd(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff,
                            ulong ysn, ulong per, ulong n, float slope) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = x[cg_view_at(i, xoff, xsn, per)];
    y[cg_view_at(i, yoff, ysn, per)] = v > 0.0f ? v : (slope == 0.0f ? 0.0f : slope * v);
}

// act_leaky_bwd: dx = dy * (x > 0 ? 1 : slope), from the forward input x.
__kernel void act_leaky_bwd(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                            ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, ulong per, ulong n,
                            float slope) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = x[cg_view_at(i, xoff, xsn, per)];
    float g = dy[cg_view_at(i, dyoff, dysn, per)];
    dx[cg_view_at(i, dxoff, dxsn, per)] = v > 0.0f ? g : g * slope;
}

// act_tanh_fwd: y = tanh(x).
__kernel void act_tanh_fwd(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff,
                           ulong ysn, ulong per, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    y[cg_view_at(i, yoff, ysn, per)] = tanh(x[cg_view_at(i, xoff, xsn, per)]);
}

// act_tanh_bwd: dx = dy * (1 - y^2), from the forward output y.
__kernel void act_tanh_bwd(__global const float *y, ulong yoff, ulong ysn, __global const float *dy, ulong dyoff,
                           ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, ulong per, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float t = y[cg_view_at(i, yoff, ysn, per)];
    dx[cg_view_at(i, dxoff, dxsn, per)] = dy[cg_view_at(i, dyoff, dysn, per)] * (1.0f - t * t);
}

// act_sigmoid_fwd: y = 1 / (1 + exp(-x)); exp overflows to inf for x < -88, giving exactly 0.
__kernel void act_sigmoid_fwd(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff,
                              ulong ysn, ulong per, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    y[cg_view_at(i, yoff, ysn, per)] = 1.0f / (1.0f + exp(-x[cg_view_at(i, xoff, xsn, per)]));
}

// act_sigmoid_bwd: dx = dy * y * (1 - y), from the forward output y.
__kernel void act_sigmoid_bwd(__global const float *y, ulong yoff, ulong ysn, __global const float *dy,
                              ulong dyoff, ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, ulong per,
                              ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float s = y[cg_view_at(i, yoff, ysn, per)];
    dx[cg_view_at(i, dxoff, dxsn, per)] = dy[cg_view_at(i, dyoff, dysn, per)] * (s * (1.0f - s));
}

// ---- CPU variants of LeakyReLU (nets/activation.c picks by device type) ---------------------------
// One work-item per chunk of ACT_ROW consecutive elements of one sample (items = N * ceil(per /
// ACT_ROW)): the index arithmetic once per chunk, the elements 8 lanes at a time with the same
// operations as the kernels above (select on v > 0), a scalar tail. The same bits.
#ifndef ACT_ROW
#define ACT_ROW 1024
#endif

// Work-item i's chunk: sample s (returned) and its elements [*k0, *k1).
uint act_chunk(uint i, uint per, uint *k0, uint *k1) {
    uint chunks = (per + ACT_ROW - 1) / ACT_ROW, s = i / chunks;
    *k0 = (i - s * chunks) * ACT_ROW;
    *k1 = min(*k0 + ACT_ROW, per);
    return s;
}

__kernel void act_leaky_fwd_rows(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff,
                                 ulong ysn, uint per, uint items, float slope) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint k0, k1, s = act_chunk((uint)gid, per, &k0, &k1), k = k0;
    __global const float *xr = x + xoff + (ulong)s * xsn;
    __global float *yr = y + yoff + (ulong)s * ysn;
    for (; k + 8 <= k1; k += 8) {
        float8 v = vload8(0, xr + k);
        float8 neg = slope == 0.0f ? (float8)(0.0f) : slope * v;
        vstore8(select(neg, v, v > (float8)(0.0f)), 0, yr + k);
    }
    for (; k < k1; k++) {
        float v = xr[k];
        yr[k] = v > 0.0f ? v : (slope == 0.0f ? 0.0f : slope * v);
    }
}

__kernel void act_leaky_bwd_rows(__global const float *x, ulong xoff, ulong xsn, __global const float *dy,
                                 ulong dyoff, ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, uint per,
                                 uint items, float slope) {
    size_t gid = get_global_id(0);
    if (gid >= items) return;
    uint k0, k1, s = act_chunk((uint)gid, per, &k0, &k1), k = k0;
    __global const float *xr = x + xoff + (ulong)s * xsn, *gr = dy + dyoff + (ulong)s * dysn;
    __global float *dr = dx + dxoff + (ulong)s * dxsn;
    for (; k + 8 <= k1; k += 8) {
        float8 g = vload8(0, gr + k);
        vstore8(select(g * slope, g, vload8(0, xr + k) > (float8)(0.0f)), 0, dr + k);
    }
    for (; k < k1; k++) dr[k] = xr[k] > 0.0f ? gr[k] : gr[k] * slope;
}
