// image.cl — image work of the preprocessing pipeline on a batch of decoded RGB uint8 images:
// crop + antialiased resize, and grey-level sums over rectangles for the brightness statistics.
//
// Batch layout (shared by every kernel): image b starts at byte offs[b] of src and is
// wh[2b] x wh[2b+1] pixels (w x h), rows top to bottom, RGB interleaved (HWC).
// Continuous coordinates: pixel i covers [i, i+1), its centre is i + 0.5.
// The host reference (tests/test_preprocess_kernels.c) repeats this math operation for operation.

#pragma OPENCL FP_CONTRACT OFF

// Tent weight of source pixel j for a sample centred at `centre` with radius 1/inv_radius.
float cg_tent(int j, float centre, float inv_radius) {
    float d = fabs(((float)j + 0.5f - centre) * inv_radius);
    return d < 1.0f ? 1.0f - d : 0.0f;
}

// crop_resize_rgb — out[b][oy][ox][c] (NHWC uint8, size x size x 3 per image) from the crop box
// box[4b..4b+3] = (x0, y0, side_w, side_h) of image b.
// One work-item: one output pixel (its 3 channels). Output pixel ox samples the source at
// centre = x0 + (ox + 0.5) * side_w / size with a separable tent filter of radius
// r = max(1, side_w / size) pixels (same along y): an area-like average when shrinking (the radius
// grows with the downscale factor: antialiasing), bilinear interpolation when enlarging.
// Taps beyond the image repeat the edge pixel. Per channel v = sum_y wy * (sum_x wx * p) /
// (sum wx * sum wy), rounded to nearest and saturated.
__kernel void crop_resize_rgb(__global const uchar *src, __global const ulong *offs, __global const int *wh,
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
    for (int x = x_lo; x <= x_hi; x++) wx_sum += cg_tent(x, cx, irx);
    for (int y = y_lo; y <= y_hi; y++) {
        float wy = cg_tent(y, cy, iry);
        if (wy == 0.0f) continue;
        wy_sum += wy;
        __global const uchar *row = img + (ulong)clamp(y, 0, h - 1) * (ulong)w * 3;
        float l0 = 0.0f, l1 = 0.0f, l2 = 0.0f;
        for (int x = x_lo; x <= x_hi; x++) {
            float wx = cg_tent(x, cx, irx);
            if (wx == 0.0f) continue;
            __global const uchar *p = row + (ulong)clamp(x, 0, w - 1) * 3;
            l0 += wx * (float)p[0];
            l1 += wx * (float)p[1];
            l2 += wx * (float)p[2];
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

// grey_row_sums — rows[3 * (b * hmax + y) + k] for image b, row y < hmax: the sum of
// grey*1000 = 299 R + 587 G + 114 B (exact integers) over the part of the row inside rectangle k of
// the image (boxes[12b + 4k ..] = x0 y0 x1 y1, half-open, inside the image; k = 0 the reference,
// 1 and 2 the eye boxes). Rows y >= h (the image height) are 0.
// One work-item: one (image, row). Rows are at most 16384 pixels wide (cg_image_ops_run refuses
// wider), so a row sum stays below 16384 * 255000 < 2^32.
__kernel void grey_row_sums(__global const uchar *src, __global const ulong *offs, __global const int *wh,
                            __global const int *boxes, int hmax, ulong n, __global uint *rows) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong b = i / (ulong)hmax;
    int y = (int)(i % (ulong)hmax);
    int w = wh[2 * b], h = wh[2 * b + 1];
    __global const int *bx = boxes + 12 * b;
    uint s0 = 0, s1 = 0, s2 = 0;
    if (y < h) {
        __global const uchar *row = src + offs[b] + (ulong)y * (ulong)w * 3;
        int in0 = y >= bx[1] && y < bx[3], in1 = y >= bx[5] && y < bx[7], in2 = y >= bx[9] && y < bx[11];
        for (int x = 0; x < w; x++) {
            uint g = 299u * row[3 * x] + 587u * row[3 * x + 1] + 114u * row[3 * x + 2];
            if (in0 && x >= bx[0] && x < bx[2]) s0 += g;
            if (in1 && x >= bx[4] && x < bx[6]) s1 += g;
            if (in2 && x >= bx[8] && x < bx[10]) s2 += g;
        }
    }
    rows[3 * i] = s0;
    rows[3 * i + 1] = s1;
    rows[3 * i + 2] = s2;
}

// grey_totals — totals[3b + k] = sum over the rows y < h of image b of rows[3 * (b * hmax + y) + k].
// One work-item: one (image, k).
__kernel void grey_totals(__global const uint *rows, __global const int *wh, int hmax, ulong n,
                          __global ulong *totals) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong b = i / 3;
    int k = (int)(i % 3), h = wh[2 * b + 1];
    ulong s = 0;
    for (int y = 0; y < h; y++) s += rows[3 * (b * (ulong)hmax + (ulong)y) + (ulong)k];
    totals[i] = s;
}
