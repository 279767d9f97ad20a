// gemm_pack.cl — packs the own GEMM's operands into the panels its micro-kernels read (gemm.cl):
// op(A) [m, k] into panels of 6 rows and op(B) [k, n] into panels of 16 columns, each panel
// storing, for each k in turn, its 6 (or 16) values next to each other, zero past m or n:
//   ap[p][kk][r] = op(A)[6p + r, kk],   bp[q][kk][c] = op(B)[kk, 16q + c].
// Also B panels straight from images (a convolution without an im2col pass), and padded copies and
// stride-2 phase images of images for the convolutions that read B from the image (gemm.cl
// gemm_conv6x32, gemm_conv6x32_s2). Pure data movement:
// every kernel here writes the source's values unchanged.
//
// Batches: dimension 2 of every launch is the batch index. Sources advance by their batch stride,
// panels by dst_bstride (0 when all batches share one operand).

// Source element (r, kk) at s[kk * ld + r]: the panel's values for one kk are contiguous
// (A transposed, B not transposed). One work-item: one kk of one panel.
#define GEMM_PACK_KMAJOR(NAME, W, FULL_COPY)                                                        \
    __kernel void NAME(__global const float *src, ulong off, ulong ld, ulong src_bstride, int rows, \
                       int k, __global float *dst, ulong dst_off, ulong dst_bstride) {              \
        int kk = get_global_id(0), p = get_global_id(1), b = get_global_id(2);                      \
        if (kk >= k || p * W >= rows) return;                                                       \
        const __global float *s = src + off + b * src_bstride + (ulong)kk * ld + (ulong)p * W;      \
        __global float *d = dst + dst_off + b * dst_bstride + ((ulong)p * k + kk) * W;              \
        int rn = rows - p * W;                                                                      \
        if (rn >= W) {                                                                              \
            FULL_COPY                                                                               \
        } else {                                                                                    \
            for (int r = 0; r < W; r++) d[r] = r < rn ? s[r] : 0.0f;                                \
        }                                                                                           \
    }

GEMM_PACK_KMAJOR(gemm_pack_kmajor6, 6, vstore4(vload4(0, s), 0, d); vstore2(vload2(0, s + 4), 0, d + 4);)
GEMM_PACK_KMAJOR(gemm_pack_kmajor16, 16, vstore16(vload16(0, s), 0, d);)

// Source element (r, kk) at s[r * ld + kk]: consecutive kk are contiguous (A not transposed,
// B transposed). One work-item: 8 consecutive kk of one panel, read as one float8 per row.
#define GEMM_PACK_RMAJOR(NAME, W)                                                                   \
    __kernel void NAME(__global const float *src, ulong off, ulong ld, ulong src_bstride, int rows, \
                       int k, __global float *dst, ulong dst_off, ulong dst_bstride) {              \
        int k0 = get_global_id(0) * 8, p = get_global_id(1), b = get_global_id(2);                  \
        if (k0 >= k || p * W >= rows) return;                                                       \
        const __global float *s = src + off + b * src_bstride + (ulong)p * W * ld + k0;             \
        __global float *d = dst + dst_off + b * dst_bstride + ((ulong)p * k + k0) * W;              \
        int rn = min(W, rows - p * W);                                                              \
        if (k0 + 8 <= k) {                                                                          \
            for (int r = 0; r < W; r++) {                                                           \
                float8 v = r < rn ? vload8(0, s + r * ld) : (float8)0.0f;                           \
                d[r] = v.s0;                                                                        \
                d[W + r] = v.s1;                                                                    \
                d[2 * W + r] = v.s2;                                                                \
                d[3 * W + r] = v.s3;                                                                \
                d[4 * W + r] = v.s4;                                                                \
                d[5 * W + r] = v.s5;                                                                \
                d[6 * W + r] = v.s6;                                                                \
                d[7 * W + r] = v.s7;                                                                \
            }                                                                                       \
        } else {                                                                                    \
            for (int kk = 0; kk < k - k0; kk++)                                                     \
                for (int r = 0; r < W; r++) d[kk * W + r] = r < rn ? s[r * ld + kk] : 0.0f;         \
        }                                                                                           \
    }

GEMM_PACK_RMAJOR(gemm_pack_rmajor6, 6)
GEMM_PACK_RMAJOR(gemm_pack_rmajor16, 16)

// B panels straight from an image (convolutions without an im2col pass): op(B) [K, P] is the
// im2col matrix of one sample, row kk = (c*kh + ki)*kw + kj, column j = oy*OW + ox, the input
// element at (oy*sh - ph + ki, ox*sw - pw + kj) or 0 in the padding. The panels hold what
// gemm_pack_kmajor16 makes of im2col's columns, value for value. Rows [k0, k0 + k) of op(B) and
// panels from q0 (panel q0 + i at panel slot i of each packed operand: the host packs in blocks of
// panels that stay in cache); one work-item: one row of one panel; dimension 2 the sample (img
// advances by img_sn).
// A panel row whose 16 positions lie in one output row and inside the image (most of them) is one
// float16 load (stride 1) or sixteen loads at constant offsets (stride 2) and one float16 store;
// the others go element by element.
__kernel void gemm_pack_im2col16(__global const float *img, ulong img_off, ulong img_sn, int H, int W, int kh,
                                 int kw, int sh, int sw, int ph, int pw, int OW, int P, int k0, int k, int q0,
                                 __global float *dst, ulong dst_off, ulong dst_bstride) {
    int kl = get_global_id(0), p = q0 + (int)get_global_id(1), b = get_global_id(2);
    if (kl >= k || p * 16 >= P) return;
    int kk = k0 + kl;
    int kj = kk % kw, t = kk / kw, ki = t % kh, c = t / kh;
    __global const float *s = img + img_off + b * img_sn + (ulong)c * H * W;
    __global float *d = dst + dst_off + b * dst_bstride + ((ulong)(p - q0) * k + kl) * 16;
    int j = p * 16, oy = j / OW, ox = j - oy * OW;
    int ih = oy * sh - ph + ki, iw = ox * sw - pw + kj;
    if (ox + 16 <= OW && j + 16 <= P && ih >= 0 && ih < H && iw >= 0 && iw + 15 * sw < W) {
        const __global float *q = s + ih * W + iw;
        float16 v;
        if (sw == 1) {
            v = vload16(0, q);
        } else if (sw == 2) {
            // Constant offsets, which the compiler may turn into vector loads and shuffles (written out:
            // Oclgrind's uninitialised-value checker crashes on vector shuffles of this kind).
            v = (float16)(q[0], q[2], q[4], q[6], q[8], q[10], q[12], q[14], q[16], q[18], q[20], q[22], q[24],
                          q[26], q[28], q[30]);
        } else {
            v = (float16)(q[0], q[sw], q[2 * sw], q[3 * sw], q[4 * sw], q[5 * sw], q[6 * sw], q[7 * sw], q[8 * sw],
                          q[9 * sw], q[10 * sw], q[11 * sw], q[12 * sw], q[13 * sw], q[14 * sw], q[15 * sw]);
        }
        vstore16(v, 0, d);
        return;
    }
    int r = 0;
    while (r < 16) {
        int run = min(16 - r, OW - ox); // positions left in this output row
        if (j + run > P) run = max(P - j, 0);
        if (ih >= 0 && ih < H) {
            const __global float *q = s + ih * W;
            for (int e = 0; e < run; e++, iw += sw) d[r + e] = iw >= 0 && iw < W ? q[iw] : 0.0f;
        } else {
            for (int e = 0; e < run; e++) d[r + e] = 0.0f;
        }
        r += run;
        if (j + run >= P) { // past the last position: zero columns
            for (; r < 16; r++) d[r] = 0.0f;
            break;
        }
        j += run;
        oy++;
        ox = 0;
        ih += sh;
        iw = -pw + kj;
    }
}

// Padded copies of image samples for gemm_conv6x32 (stride-1 convolutions that read B from the
// image): dst[b][c][ph + y][pw + x] = x[b][c][y][x], zero in the borders, planes of Hp*Wp floats
// (Hp = H + 2ph, Wp = W + 2pw), samples dst_sn apart, and the floats from C*Hp*Wp up to dst_sn
// (what gemm_conv6x32 may read past the last plane) zero too. One work-item: one padded row of one
// channel (dimension 0 the row, 1 the channel, 2 the sample; x's samples x_sn apart).
__kernel void gemm_pad_image(__global const float *x, ulong x_off, ulong x_sn, int C, int H, int W, int ph, int pw,
                             __global float *dst, ulong dst_off, ulong dst_sn) {
    int yp = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
    int Hp = H + 2 * ph, Wp = W + 2 * pw;
    if (yp >= Hp || c >= C) return;
    __global float *d = dst + dst_off + b * dst_sn + ((ulong)c * Hp + yp) * Wp;
    int y = yp - ph;
    if (y < 0 || y >= H) {
        for (int j = 0; j < Wp; j++) d[j] = 0.0f;
    } else {
        const __global float *s = x + x_off + b * x_sn + ((ulong)c * H + y) * W;
        for (int j = 0; j < pw; j++) d[j] = 0.0f;
        for (int j = 0; j < W; j++) d[pw + j] = s[j];
        for (int j = pw + W; j < Wp; j++) d[j] = 0.0f;
    }
    if (c == C - 1 && yp == Hp - 1) { // the sample's tail
        __global float *t = dst + dst_off + b * dst_sn;
        for (ulong j = (ulong)C * Hp * Wp; j < dst_sn; j++) t[j] = 0.0f;
    }
}

// Phase images for gemm_conv6x32_s2 (stride-2 convolutions that read B from the image): with xpad
// the sample padded as gemm_pad_image pads it (Hp x Wp), dst[b][c][pr][pc][y][x] = xpad[c][2y + pr]
// [2x + pc] for y < Hq = ceil(Hp/2), x < Wq = ceil(Wp/2), zero where 2y + pr or 2x + pc lies past
// xpad; phase planes of Hq*Wq floats, channels 4*Hq*Wq apart, samples dst_sn apart, and the floats
// from 4*C*Hq*Wq up to dst_sn zero. One work-item: padded row yp (< 2*Hq) of one channel, written
// to row yp>>1 of phases (yp&1, 0) and (yp&1, 1) (dimension 1 the channel, 2 the sample).
__kernel void gemm_phase_image(__global const float *x, ulong x_off, ulong x_sn, int C, int H, int W, int ph,
                               int pw, __global float *dst, ulong dst_off, ulong dst_sn) {
    int yp = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
    int Hq = (H + 2 * ph + 1) / 2, Wq = (W + 2 * pw + 1) / 2;
    if (yp >= 2 * Hq || c >= C) return;
    ulong pq = (ulong)Hq * Wq;
    __global float *d0 = dst + dst_off + b * dst_sn + ((ulong)c * 4 + (yp & 1) * 2) * pq + (ulong)(yp >> 1) * Wq;
    __global float *d1 = d0 + pq;
    int y = yp - ph;
    if (y < 0 || y >= H) {
        for (int j = 0; j < Wq; j++) d0[j] = 0.0f, d1[j] = 0.0f;
    } else {
        const __global float *s = x + x_off + b * x_sn + ((ulong)c * H + y) * W;
        for (int j = 0; j < Wq; j++) { // padded columns 2j and 2j + 1
            int u = 2 * j - pw, v = u + 1;
            d0[j] = u >= 0 && u < W ? s[u] : 0.0f;
            d1[j] = v >= 0 && v < W ? s[v] : 0.0f;
        }
    }
    if (c == C - 1 && yp == 2 * Hq - 1) { // the sample's tail
        __global float *t = dst + dst_off + b * dst_sn;
        for (ulong j = (ulong)C * 4 * pq; j < dst_sn; j++) t[j] = 0.0f;
    }
}
