// upscale.cl — the layers of learned upscaling (Real-ESRGAN's compact network): per-channel PReLU,
// PixelShuffle and nearest-neighbour upsampling, forward and backward.
//
// PReLU views are (buffer, element offset, sample stride) with `per` = C*H*W elements per sample
// and `hw` = H*W (cg_view_at, common.cl); element i has channel (i % per) / hw. PixelShuffle and
// upsampling take dense tensors at an element offset. One work-item per output element; every
// output is written by exactly one work-item, in a fixed order, so results are deterministic.

// prelu_fwd: y = x > 0 ? x : w[c] * x.
__kernel void prelu_fwd(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff, ulong ysn,
                        ulong per, ulong hw, ulong n, __global const float *w, ulong woff) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = x[cg_view_at(i, xoff, xsn, per)];
    float a = w[woff + (i % per) / hw];
    y[cg_view_at(i, yoff, ysn, per)] = v > 0.0f ? v : a * v;
}

// prelu_bwd: dx = dy * (x > 0 ? 1 : w[c]), from the forward input x.
__kernel void prelu_bwd(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                        ulong dysn, __global float *dx, ulong dxoff, ulong dxsn, ulong per, ulong hw, ulong n,
                        __global const float *w, ulong woff) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = x[cg_view_at(i, xoff, xsn, per)];
    float g = dy[cg_view_at(i, dyoff, dysn, per)];
    dx[cg_view_at(i, dxoff, dxsn, per)] = v > 0.0f ? g : w[woff + (i % per) / hw] * g;
}

// prelu_wterm: t = x > 0 ? 0 : x * dy, dense [N, C, H, W] at toff; summed per channel into dw by
// bias_grad (bias.cl).
__kernel void prelu_wterm(__global const float *x, ulong xoff, ulong xsn, __global const float *dy, ulong dyoff,
                          ulong dysn, __global float *t, ulong toff, ulong per, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = x[cg_view_at(i, xoff, xsn, per)];
    t[toff + i] = v > 0.0f ? 0.0f : v * dy[cg_view_at(i, dyoff, dysn, per)];
}

// pixel_shuffle: y [N, C, H*s, W*s] from x [N, C*s*s, H, W]:
// y[n, c, h*s + a, w*s + b] = x[n, c*s*s + a*s + b, h, w]. With inverse set, the reverse permutation
// (PixelUnshuffle, the backward pass): x' [N, C*s*s, H, W] from y' [N, C, H*s, W*s].
__kernel void pixel_shuffle(__global const float *src, ulong soff, __global float *dst, ulong doff, int C, int H,
                            int W, int s, int inverse, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong Wo = (ulong)W * s, Ho = (ulong)H * s;
    // i indexes the shuffled tensor [N, C, H*s, W*s]
    ulong ox = i % Wo, t = i / Wo;
    ulong oy = t % Ho;
    t /= Ho;
    ulong c = t % (ulong)C, nn = t / (ulong)C;
    ulong a = oy % (ulong)s, b = ox % (ulong)s;
    ulong j = (((nn * C + c) * s + a) * s + b) * ((ulong)H * W) + (oy / s) * W + ox / s;
    if (inverse)
        dst[doff + j] = src[soff + i];
    else
        dst[doff + i] = src[soff + j];
}

// upsample_nearest: y [N, C, H*s, W*s] = x[n, c, oy / s, ox / s] (+ y when accumulate).
__kernel void upsample_nearest(__global const float *x, ulong xoff, __global float *y, ulong yoff, int H, int W,
                               int s, int accumulate, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong Wo = (ulong)W * s, Ho = (ulong)H * s;
    ulong ox = i % Wo, t = i / Wo;
    ulong oy = t % Ho, plane = t / Ho;
    float v = x[xoff + plane * H * W + (oy / s) * W + ox / s];
    y[yoff + i] = accumulate ? y[yoff + i] + v : v;
}

// upsample_nearest_bwd: dx[n, c, h, w] = sum of dy over its s x s block, rows then columns.
__kernel void upsample_nearest_bwd(__global const float *dy, ulong dyoff, __global float *dx, ulong dxoff, int H,
                                   int W, int s, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong x0 = i % W, t = i / W;
    ulong y0 = t % H, plane = t / H;
    ulong Wo = (ulong)W * s;
    __global const float *p = dy + dyoff + plane * H * s * Wo + y0 * s * Wo + x0 * s;
    float acc = 0.0f;
    for (int a = 0; a < s; a++)
        for (int b = 0; b < s; b++) acc += p[a * Wo + b];
    dx[dxoff + i] = acc;
}
