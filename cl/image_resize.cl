// image_resize.cl — crop + antialiased resize of the preprocessing batches with exactly the
// arithmetic of image.cl's crop_resize_rgb (the same float operations in the same order, so the same
// bytes), faster: the horizontal tent weights and clamped column offsets of an output pixel are the
// same for every source row it reads, so they are computed once into private arrays instead of once
// per row. Pixels whose filter is wider than CG_RESIZE_TAPS taps (shrinking by more than about
// CG_RESIZE_TAPS / 2) take the plain loop.
//
// Batch layout as in image.cl: image b starts at byte offs[b] of src, wh[2b] x wh[2b+1] pixels,
// RGB interleaved; box[4b..4b+3] = (x0, y0, side_w, side_h) is its crop box; out is NHWC uint8,
// size x size x 3 per image.

#pragma OPENCL FP_CONTRACT OFF

#ifndef CG_RESIZE_TAPS
#define CG_RESIZE_TAPS 16
#endif

float rs_tent(int j, float centre, float inv_radius) {
    float d = fabs(((float)j + 0.5f - centre) * inv_radius);
    return d < 1.0f ? 1.0f - d : 0.0f;
}

// One work-item: one output pixel (its 3 channels).
__kernel void crop_resize_taps_rgb(__global const uchar *src, __global const ulong *offs, __global const int *wh,
                                   __global const float *box, int size, ulong n, __global uchar *out) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong per = (ulong)size * (ulong)size;
    ulong b = i / per, r = i % per;
    int ox = (int)(r % (ulong)size), oy = (int)(r / (ulong)size);
    int w = wh[2 * b], h = wh[2 * b + 1];
    float sx = box[4 * b + 2] / (float)size, sy = box[4 * b + 3] / (float)size;
    float rx = fmax(sx, 1.0f), ry = fmax(sy, 1.0f);
    float irx = 1.0f / rx, iry = 1.0f / ry;
    float cx = box[4 * b] + ((float)ox + 0.5f) * sx;
    float cy = box[4 * b + 1] + ((float)oy + 0.5f) * sy;
    int x_lo = (int)floor(cx - rx), x_hi = (int)ceil(cx + rx);
    int y_lo = (int)floor(cy - ry), y_hi = (int)ceil(cy + ry);
    __global const uchar *img = src + offs[b];
    float wx_sum = 0.0f, wy_sum = 0.0f, acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f;
    float wxs[CG_RESIZE_TAPS];
    int xs[CG_RESIZE_TAPS], taps = 0, cached = x_hi - x_lo + 1 <= CG_RESIZE_TAPS;
    for (int x = x_lo; x <= x_hi; x++) {
        float wx = rs_tent(x, cx, irx);
        wx_sum += wx;
        if (cached && wx != 0.0f) { // the taps the row loop uses, in order
            wxs[taps] = wx;
            xs[taps++] = 3 * clamp(x, 0, w - 1);
        }
    }
    for (int y = y_lo; y <= y_hi; y++) {
        float wy = rs_tent(y, cy, iry);
        if (wy == 0.0f) continue;
        wy_sum += wy;
        __global const uchar *row = img + (ulong)clamp(y, 0, h - 1) * (ulong)w * 3;
        float l0 = 0.0f, l1 = 0.0f, l2 = 0.0f;
        if (cached) {
            for (int t = 0; t < taps; t++) {
                __global const uchar *p = row + xs[t];
                l0 += wxs[t] * (float)p[0];
                l1 += wxs[t] * (float)p[1];
                l2 += wxs[t] * (float)p[2];
            }
        } else {
            for (int x = x_lo; x <= x_hi; x++) {
                float wx = rs_tent(x, cx, irx);
                if (wx == 0.0f) continue;
                __global const uchar *p = row + (ulong)clamp(x, 0, w - 1) * 3;
                l0 += wx * (float)p[0];
                l1 += wx * (float)p[1];
                l2 += wx * (float)p[2];
            }
        }
        acc0 += wy * l0;
        acc1 += wy * l1;
        acc2 += wy * l2;
    }
    float norm = wx_sum * wy_sum;
    __global uchar *o = out + 3 * i;
    o[0] = convert_uchar_sat(floor(acc0 / norm + 0.5f));
    o[1] = convert_uchar_sat(floor(acc1 / norm + 0.5f));
    o[2] = convert_uchar_sat(floor(acc2 / norm + 0.5f));
}
