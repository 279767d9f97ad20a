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
