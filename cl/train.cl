// train.cl — the trainer's data path: packed uint8 images to network input.
#pragma OPENCL FP_CONTRACT OFF

// u8_to_input: src holds n images of h x w x c bytes (NHWC, packed back to back); dst receives
// the float NCHW batch [n, c, h, w] at dst_off, scaled to [-1, 1] as v / 127.5 - 1. Image j is
// mirrored left-right when flip[j] != 0.
// One work-item writes one output element i (dense NCHW order).
__kernel void u8_to_input(__global const uchar *src, __global const uchar *flip, __global float *dst, ulong dst_off,
                          int n, int c, int h, int w) {
    ulong i = get_global_id(0);
    ulong total = (ulong)n * c * h * w;
    if (i >= total) return;
    int x = (int)(i % (ulong)w);
    int y = (int)((i / (ulong)w) % (ulong)h);
    int ch = (int)((i / ((ulong)w * h)) % (ulong)c);
    ulong s = i / ((ulong)w * h * c);
    int sx = flip[s] ? w - 1 - x : x;
    float v = (float)src[((s * (ulong)h + (ulong)y) * (ulong)w + (ulong)sx) * (ulong)c + (ulong)ch];
    dst[dst_off + i] = v / 127.5f - 1.0f;
}

// gp_interpolate: WGAN-GP's interpolates, out = eps[s] * real + (1 - eps[s]) * fake for element i of
// sample s = i / per; real and out are dense at their offsets, fake likewise.
__kernel void gp_interpolate(__global const float *real, __global const float *fake, ulong fake_off,
                             __global const float *eps, __global float *out, ulong out_off, ulong per, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float e = eps[i / per];
    out[out_off + i] = e * real[i] + (1.0f - e) * fake[fake_off + i];
}

// count_nonfinite: count[slot] += the number of NaN/Inf among x[0..n) (the trainer's parameter and
// gradient check). Tests the exponent bits, so finite-math options cannot fold it away.
__kernel void count_nonfinite(__global const uint *x, ulong n, __global int *count, int slot) {
    ulong i = get_global_id(0);
    if (i < n && (x[i] & 0x7f800000u) == 0x7f800000u) atomic_inc(&count[slot]);
}
