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
