// image_resize.cl — crop + antialiased resize of the preprocessing batches with exactly the
// arithmetic of image.cl's crop_resize_rgb (the same float operations in the same order, so the same
// bytes), faster: the horizontal tent weights and clamped column offsets of an output pixel are the
// same for every source row it reads, so they are computed once into private arrays instead of once
// per row (rs_htaps_init; rs_row_sum is the per-row horizontal sum, shared by both resize kernels
// here). Pixels whose filter is wider than CG_RESIZE_TAPS taps (shrinking by more than about
// CG_RESIZE_TAPS / 2) take the plain loop. CPU devices run the separable pair resize_rows_rgb +
// resize_cols_rgb below (the same bytes again, about half the work); crop_resize_taps_rgb is their
// fallback when the row sums do not fit one allocation.
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

// The horizontal taps of the output column centred at cx (radius rx, image width w): when its
// source columns x_lo..x_hi fit CG_RESIZE_TAPS (returns 1, else 0), the nonzero tent weights wxs and
// clamped byte offsets xs, in column order, *taps of them. *wx_sum: the sum of all its weights
// (zeros included, columns ascending: crop_resize_rgb's).
int rs_htaps_init(float cx, float rx, int w, float *wxs, int *xs, int *taps, float *wx_sum) {
    float irx = 1.0f / rx;
    int x_lo = (int)floor(cx - rx), x_hi = (int)ceil(cx + rx);
    int cached = x_hi - x_lo + 1 <= CG_RESIZE_TAPS, n = 0;
    float sum = 0.0f;
    for (int x = x_lo; x <= x_hi; x++) {
        float wx = rs_tent(x, cx, irx);
        sum += wx;
        if (cached && wx != 0.0f) { // the taps the row sum uses, in order
            wxs[n] = wx;
            xs[n++] = 3 * clamp(x, 0, w - 1);
        }
    }
    *taps = n;
    *wx_sum = sum;
    return cached;
}

// The horizontal sum of one source row (its 3 channels), columns ascending, zero weights skipped:
// crop_resize_rgb's inner loop; from the cached taps, else recomputing the weights. row: [w, 3]
float3 rs_row_sum(__global const uchar *row, int cached, const float *wxs, const int *xs, int taps, float cx,
                  float rx, int w) {
    float l0 = 0.0f, l1 = 0.0f, l2 = 0.0f;
    if (cached) {
        for (int t = 0; t < taps; t++) {
            __global const uchar *p = row + xs[t];
            l0 += wxs[t] * (float)p[0];
            l1 += wxs[t] * (float)p[1];
            l2 += wxs[t] * (float)p[2];
        }
    } else {
        float irx = 1.0f / rx;
        int x_lo = (int)floor(cx - rx), x_hi = (int)ceil(cx + rx);
        for (int x = x_lo; x <= x_hi; x++) {
            float wx = rs_tent(x, cx, irx);
            if (wx == 0.0f) continue;
            __global const uchar *p = row + (ulong)clamp(x, 0, w - 1) * 3;
            l0 += wx * (float)p[0];
            l1 += wx * (float)p[1];
            l2 += wx * (float)p[2];
        }
    }
    return (float3)(l0, l1, l2);
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
    float iry = 1.0f / ry;
    float cx = box[4 * b] + ((float)ox + 0.5f) * sx;
    float cy = box[4 * b + 1] + ((float)oy + 0.5f) * sy;
    int y_lo = (int)floor(cy - ry), y_hi = (int)ceil(cy + ry);
    __global const uchar *img = src + offs[b];
    float wx_sum, wxs[CG_RESIZE_TAPS];
    int xs[CG_RESIZE_TAPS], taps, cached = rs_htaps_init(cx, rx, w, wxs, xs, &taps, &wx_sum);
    float wy_sum = 0.0f, acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f;
    for (int y = y_lo; y <= y_hi; y++) {
        float wy = rs_tent(y, cy, iry);
        if (wy == 0.0f) continue;
        wy_sum += wy;
        float3 l = rs_row_sum(img + (ulong)clamp(y, 0, h - 1) * (ulong)w * 3, cached, wxs, xs, taps, cx, rx, w);
        acc0 += wy * l.x;
        acc1 += wy * l.y;
        acc2 += wy * l.z;
    }
    float norm = wx_sum * wy_sum;
    __global uchar *o = out + 3 * i;
    o[0] = convert_uchar_sat(floor(acc0 / norm + 0.5f));
    o[1] = convert_uchar_sat(floor(acc1 / norm + 0.5f));
    o[2] = convert_uchar_sat(floor(acc2 / norm + 0.5f));
}

// ---- separable form: the same sums, each row sum computed once -----------------------------------
// A pixel's row sum l(y, ox) = sum_x wx * p depends only on the source row and the output column,
// not on the output row, so resize_rows_rgb computes each one once (about 2 to 3 output rows read
// every source row when shrinking) and resize_cols_rgb finishes each pixel with the vertical sum in
// crop_resize_rgb's order (rows ascending, zero-weight rows skipped): the same floats, the same bytes.
// rowsum: [N, hmax, size, 3] float, indexed by the clamped source row; only the rows some output row
// of image b reads are written. wxsum: [N, size, 3] float, sum of the horizontal weights of column
// ox (repeated for its 3 bytes, so the rounding loads 8 bytes' norms at once).

// One work-item: one output column ox of image b, every source row its image's output rows read.
__kernel void resize_rows_rgb(__global const uchar *src, __global const ulong *offs, __global const int *wh,
                              __global const float *box, int size, int hmax, ulong n, __global float *rowsum,
                              __global float *wxsum) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong b = i / (ulong)size;
    int ox = (int)(i % (ulong)size);
    int w = wh[2 * b], h = wh[2 * b + 1];
    float sx = box[4 * b + 2] / (float)size, sy = box[4 * b + 3] / (float)size;
    float rx = fmax(sx, 1.0f), ry = fmax(sy, 1.0f);
    float cx = box[4 * b] + ((float)ox + 0.5f) * sx;
    // The rows output rows 0 and size-1 reach bound those of every output row (cy is monotonic in oy).
    float cy0 = box[4 * b + 1] + 0.5f * sy, cy1 = box[4 * b + 1] + ((float)(size - 1) + 0.5f) * sy;
    int y_a = (int)floor(cy0 - ry), y_b = (int)floor(cy1 - ry);
    int y_c = (int)ceil(cy0 + ry), y_d = (int)ceil(cy1 + ry);
    int r_lo = clamp(min(y_a, y_b), 0, h - 1), r_hi = clamp(max(y_c, y_d), 0, h - 1);
    __global const uchar *img = src + offs[b];
    float wx_sum, wxs[CG_RESIZE_TAPS];
    int xs[CG_RESIZE_TAPS], taps, cached = rs_htaps_init(cx, rx, w, wxs, xs, &taps, &wx_sum);
    wxsum[3 * i] = wx_sum;
    wxsum[3 * i + 1] = wx_sum;
    wxsum[3 * i + 2] = wx_sum;
    __global float *dst = rowsum + (b * (ulong)hmax * (ulong)size + (ulong)ox) * 3;
    for (int y = r_lo; y <= r_hi; y++) {
        float3 l = rs_row_sum(img + (ulong)y * (ulong)w * 3, cached, wxs, xs, taps, cx, rx, w);
        __global float *d = dst + (ulong)y * (ulong)size * 3;
        d[0] = l.x;
        d[1] = l.y;
        d[2] = l.z;
    }
}

// Rounds one output byte as crop_resize_rgb does: acc / (sum wx * sum wy), to nearest, saturated.
uchar rs_round(float acc, float wx_sum, float wy_sum) {
    float norm = wx_sum * wy_sum;
    return convert_uchar_sat(floor(acc / norm + 0.5f));
}

// One work-item: one output row oy of image b (its vertical weights are the same for every column),
// 8 of its size * 3 bytes at a time; each byte's sum takes the rows in crop_resize_rgb's order and
// is rounded with crop_resize_rgb's operations lane by lane.
__kernel void resize_cols_rgb(__global const float *rowsum, __global const float *wxsum, __global const int *wh,
                              __global const float *box, int size, int hmax, ulong n, __global uchar *out) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong b = i / (ulong)size;
    int oy = (int)(i % (ulong)size);
    int h = wh[2 * b + 1];
    float sy = box[4 * b + 3] / (float)size;
    float ry = fmax(sy, 1.0f);
    float iry = 1.0f / ry;
    float cy = box[4 * b + 1] + ((float)oy + 0.5f) * sy;
    int y_lo = (int)floor(cy - ry), y_hi = (int)ceil(cy + ry);
    float wy_sum = 0.0f;
    float wys[CG_RESIZE_TAPS];
    int ys[CG_RESIZE_TAPS], taps = 0, cached = y_hi - y_lo + 1 <= CG_RESIZE_TAPS;
    for (int y = y_lo; y <= y_hi; y++) {
        float wy = rs_tent(y, cy, iry);
        if (wy == 0.0f) continue;
        wy_sum += wy;
        if (cached) {
            wys[taps] = wy;
            ys[taps++] = clamp(y, 0, h - 1);
        }
    }
    int width = size * 3;
    // rowsum rows of image b: [hmax, size * 3]; out row oy of image b: [size * 3]
    __global const float *rows = rowsum + b * (ulong)hmax * (ulong)width;
    __global const float *wxs = wxsum + b * (ulong)width;
    __global uchar *o = out + i * (ulong)width;
    int j = 0;
    for (; j + 8 <= width; j += 8) {
        float8 acc = (float8)(0.0f);
        if (cached) {
            for (int t = 0; t < taps; t++) acc += wys[t] * vload8(0, rows + (ulong)ys[t] * (ulong)width + (ulong)j);
        } else {
            for (int y = y_lo; y <= y_hi; y++) {
                float wy = rs_tent(y, cy, iry);
                if (wy == 0.0f) continue;
                acc += wy * vload8(0, rows + (ulong)clamp(y, 0, h - 1) * (ulong)width + (ulong)j);
            }
        }
        float8 norm = vload8(0, wxs + j) * wy_sum;
        vstore8(convert_uchar8_sat(floor(acc / norm + 0.5f)), 0, o + j);
    }
    for (; j < width; j++) {
        float acc = 0.0f;
        for (int y = y_lo; y <= y_hi; y++) {
            float wy = rs_tent(y, cy, iry);
            if (wy == 0.0f) continue;
            acc += wy * rows[(ulong)clamp(y, 0, h - 1) * (ulong)width + (ulong)j];
        }
        o[j] = rs_round(acc, wxs[j], wy_sum);
    }
}
