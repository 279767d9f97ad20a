// inception_input.cl — the Inception input pipeline: one image (uint8 HWC with 1, 3 or 4 channels,
// or float CHW with 3 channels in [-1, 1]) resized to size x size and normalised into one sample
// [3, size, size] of the network's input. Three modes:
//   bilinear  pytorch-fid: values in [0, 1], F.interpolate(bilinear, align_corners=False, no
//             antialias), then 2x - 1;
//   bicubic   clean-fid: PIL's float ('F' mode) bicubic (a = -0.5) with antialias on 0..255,
//             horizontal pass then vertical (fused), clip to [0, 255], then (x - 128) / 128;
//   lanczos   as bicubic with PIL's Lanczos-3 filter, then x / 127.5 - 1.
// The filters, the tap ranges and the bilinear sample are shared with the host: this file is also
// included as C by metrics/inception_input.c (like cl/rng.cl), whose reference cg_resize_ref calls
// the same functions, so host and device run one source, operation for operation.

#ifdef __OPENCL_VERSION__
#pragma OPENCL FP_CONTRACT OFF
#define INCEP_FN
#define INCEP_GLOBAL __global
#define INCEP_SIN(x) sin(x)
#else
#include <math.h>
#include <stddef.h>
typedef unsigned char uchar;
#define INCEP_FN static inline
#define INCEP_GLOBAL
#define INCEP_SIN(x) sinf(x)
#endif

// Source pixel (y, x) of channel ch: in [0, 1] (unit255 = 0) or in [0, 255] (unit255 = 1).
// Gray sources give every channel the same value; a fourth (alpha) channel is ignored.
INCEP_FN float incep_pixel(INCEP_GLOBAL const uchar *src8, INCEP_GLOBAL const float *srcf, int is_float, int h,
                           int w, int c, int y, int x, int ch, int unit255) {
    if (is_float) {
        float v = srcf[((size_t)ch * h + y) * w + x];
        return unit255 ? (v + 1.0f) * 127.5f : (v + 1.0f) * 0.5f;
    }
    uchar v = src8[((size_t)y * w + x) * c + (c == 1 ? 0 : ch)];
    return unit255 ? (float)v : (float)v / 255.0f;
}

// Output value (ch, oy, ox) of the bilinear mode: PyTorch's area_pixel_compute_source_index
// (scale in / out, src = scale * (o + 0.5) - 0.5 clamped at 0), two taps per axis, then 2v - 1.
INCEP_FN float incep_bilinear(INCEP_GLOBAL const uchar *src8, INCEP_GLOBAL const float *srcf, int is_float, int h,
                              int w, int c, int size, int ch, int oy, int ox) {
    float scale_y = (float)h / (float)size, scale_x = (float)w / (float)size;
    float sy = scale_y * ((float)oy + 0.5f) - 0.5f, sx = scale_x * ((float)ox + 0.5f) - 0.5f;
    if (sy < 0.0f) sy = 0.0f;
    if (sx < 0.0f) sx = 0.0f;
    int y0 = (int)sy, x0 = (int)sx;
    int y1 = y0 + (y0 < h - 1 ? 1 : 0), x1 = x0 + (x0 < w - 1 ? 1 : 0);
    float ly = sy - (float)y0, lx = sx - (float)x0;
    float p00 = incep_pixel(src8, srcf, is_float, h, w, c, y0, x0, ch, 0);
    float p01 = incep_pixel(src8, srcf, is_float, h, w, c, y0, x1, ch, 0);
    float p10 = incep_pixel(src8, srcf, is_float, h, w, c, y1, x0, ch, 0);
    float p11 = incep_pixel(src8, srcf, is_float, h, w, c, y1, x1, ch, 0);
    float v = (1.0f - ly) * ((1.0f - lx) * p00 + lx * p01) + ly * ((1.0f - lx) * p10 + lx * p11);
    return 2.0f * v - 1.0f;
}

// PIL's filters: 0 = bicubic (a = -0.5, support 2), 1 = Lanczos-3 (support 3).
INCEP_FN float incep_filter(float x, int kind) {
    if (kind == 0) {
        const float a = -0.5f;
        if (x < 0.0f) x = -x;
        if (x < 1.0f) return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
        if (x < 2.0f) return (((x - 5.0f) * x + 8.0f) * x - 4.0f) * a;
        return 0.0f;
    }
    if (x <= -3.0f || x >= 3.0f) return 0.0f;
    const float pi = 3.14159265358979f;
    float s1 = x == 0.0f ? 1.0f : INCEP_SIN(pi * x) / (pi * x);
    float x3 = x / 3.0f;
    float s3 = x3 == 0.0f ? 1.0f : INCEP_SIN(pi * x3) / (pi * x3);
    return s1 * s3;
}

// The taps of output position o along an axis of in_size: [*lo, *hi) and 1 / (sum of weights), as
// PIL's precompute_coeffs (support scaled by the downscale factor: antialias).
INCEP_FN void incep_taps(int o, int in_size, int out_size, int kind, float *center, float *ss, int *lo, int *hi) {
    float scale = (float)in_size / (float)out_size;
    float fscale = scale < 1.0f ? 1.0f : scale;
    float support = (kind == 0 ? 2.0f : 3.0f) * fscale;
    *center = ((float)o + 0.5f) * scale;
    *ss = 1.0f / fscale;
    int a = (int)(*center - support + 0.5f), b = (int)(*center + support + 0.5f);
    *lo = a < 0 ? 0 : a;
    *hi = b > in_size ? in_size : b;
}

#ifdef __OPENCL_VERSION__

// incep_resize_bilinear — dst[dst_off + (ch * size + oy) * size + ox] for n = 3 * size * size
// work-items, one output value each (incep_bilinear).
__kernel void incep_resize_bilinear(__global const uchar *src8, __global const float *srcf, int is_float, int h,
                                    int w, int c, int size, __global float *dst, ulong dst_off, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    int plane = size * size;
    int ch = (int)(i / (ulong)plane), r = (int)(i % (ulong)plane), oy = r / size, ox = r % size;
    dst[dst_off + i] = incep_bilinear(src8, srcf, is_float, h, w, c, size, ch, oy, ox);
}

// incep_resize_aa — dst[dst_off + (ch * size + oy) * size + ox] for n = 3 * size * size
// work-items, one output value each: PIL's two passes fused (no intermediate buffer), with the
// same arithmetic: for each vertical tap y, the horizontal pass's value at (y, ox) is summed
// exactly as PIL's first pass would store it, then weighted by the vertical tap; finally clip to
// [0, 255] and normalise (kind 0: (v - 128) / 128; 1: v / 127.5 - 1).
__kernel void incep_resize_aa(__global const uchar *src8, __global const float *srcf, int is_float, int h, int w,
                              int c, int size, int kind, __global float *dst, ulong dst_off, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    int plane = size * size;
    int ch = (int)(i / (ulong)plane), r = (int)(i % (ulong)plane), oy = r / size, ox = r % size;
    float cx, sx, cy, sy;
    int x0, x1, y0, y1;
    incep_taps(ox, w, size, kind, &cx, &sx, &x0, &x1);
    incep_taps(oy, h, size, kind, &cy, &sy, &y0, &y1);
    float wx = 0.0f, wy = 0.0f;
    for (int x = x0; x < x1; x++) wx += incep_filter(((float)x - cx + 0.5f) * sx, kind);
    for (int y = y0; y < y1; y++) wy += incep_filter(((float)y - cy + 0.5f) * sy, kind);
    float acc = 0.0f;
    for (int y = y0; y < y1; y++) {
        float row = 0.0f;
        for (int x = x0; x < x1; x++) {
            float k = incep_filter(((float)x - cx + 0.5f) * sx, kind);
            if (wx != 0.0f) k = k / wx;
            row += k * incep_pixel(src8, srcf, is_float, h, w, c, y, x, ch, 1);
        }
        float k = incep_filter(((float)y - cy + 0.5f) * sy, kind);
        if (wy != 0.0f) k = k / wy;
        acc += k * row;
    }
    acc = clamp(acc, 0.0f, 255.0f);
    dst[dst_off + i] = kind == 0 ? (acc - 128.0f) / 128.0f : acc / 127.5f - 1.0f;
}

#endif
