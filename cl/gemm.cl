// gemm.cl — clgan's own SGEMM: both operands packed into panels, then a register-tiled micro-kernel.
// Written for CPU OpenCL (PoCL): no local memory (emulated in RAM there) and no reliance on
// vectorisation across work-items; each work-item works with explicit float8 vectors, like a BLAS
// micro-kernel. Other devices use it only where `clgan tune` measured it faster than CLBlast.
//
// Packed layout. op(A) [m, k] is cut into panels of 6 rows and op(B) [k, n] into panels of 16
// columns; a panel stores, for each k in turn, its 6 (or 16) values next to each other:
//   ap[p][kk][r] = op(A)[6p + r, kk],   bp[q][kk][c] = op(B)[kk, 16q + c],   zero past m or n.
// Every load of the micro-kernel is then unit-stride whatever the caller's transposes, offsets and
// leading dimensions, and the k loop needs no bounds tests.
//
// Batches: dimension 2 of every launch is the batch index. Sources advance by their batch stride,
// panels by the size of one packed operand (dst_bstride; 0 when all batches share one operand).
//
// Short k with B untransposed (gemm_stripe16): only A is packed; B is read where it lies.
//
// Rounding: products are accumulated with fma() in k order, one accumulator per output element.

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
// gemm_pack_kmajor16 makes of im2col's columns, value for value. Rows [k0, k0 + k) of op(B); one
// work-item: one row of one panel; dimension 2 the sample (img advances by img_sn).
// A panel row whose 16 positions lie in one output row and inside the image (most of them) is one
// float16 load (stride 1) or sixteen loads at constant offsets (stride 2) and one float16 store;
// the others go element by element.
__kernel void gemm_pack_im2col16(__global const float *img, ulong img_off, ulong img_sn, int H, int W, int kh,
                                 int kw, int sh, int sw, int ph, int pw, int OW, int P, int k0, int k,
                                 __global float *dst, ulong dst_off, ulong dst_bstride) {
    int kl = get_global_id(0), p = get_global_id(1), b = get_global_id(2);
    if (kl >= k || p * 16 >= P) return;
    int kk = k0 + kl;
    int kj = kk % kw, t = kk / kw, ki = t % kh, c = t / kh;
    __global const float *s = img + img_off + b * img_sn + (ulong)c * H * W;
    __global float *d = dst + dst_off + b * dst_bstride + ((ulong)p * k + kl) * 16;
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

// Twelve fma of one k step: rows a[0..5] of the A panel times the 16 B values lo, hi.
#define GEMM_FMA6(a, lo, hi)                                                                        \
    {                                                                                               \
        float8 x;                                                                                   \
        x = (float8)((a)[0]);                                                                       \
        c00 = fma(x, lo, c00);                                                                      \
        c01 = fma(x, hi, c01);                                                                      \
        x = (float8)((a)[1]);                                                                       \
        c10 = fma(x, lo, c10);                                                                      \
        c11 = fma(x, hi, c11);                                                                      \
        x = (float8)((a)[2]);                                                                       \
        c20 = fma(x, lo, c20);                                                                      \
        c21 = fma(x, hi, c21);                                                                      \
        x = (float8)((a)[3]);                                                                       \
        c30 = fma(x, lo, c30);                                                                      \
        c31 = fma(x, hi, c31);                                                                      \
        x = (float8)((a)[4]);                                                                       \
        c40 = fma(x, lo, c40);                                                                      \
        c41 = fma(x, hi, c41);                                                                      \
        x = (float8)((a)[5]);                                                                       \
        c50 = fma(x, lo, c50);                                                                      \
        c51 = fma(x, hi, c51);                                                                      \
    }

// One k step of the 6x16 tile: two float8 of B, six broadcasts of A, twelve fma.
#define GEMM_STEP(j)                                                                                \
    {                                                                                               \
        float8 b0 = vload8(2 * (j), bq), b1 = vload8(2 * (j) + 1, bq);                              \
        GEMM_FMA6(ap_ + 6 * (j), b0, b1)                                                            \
    }

// Writes row r of the tile: alpha * acc (+ beta * C); beta = 0 never reads C (BLAS rule).
void gemm_store_row(__global float *cr, float8 lo, float8 hi, int cols, float alpha, float beta) {
    if (cols >= 16) {
        if (beta == 0.0f) {
            vstore8(alpha * lo, 0, cr);
            vstore8(alpha * hi, 1, cr);
        } else {
            vstore8(alpha * lo + beta * vload8(0, cr), 0, cr);
            vstore8(alpha * hi + beta * vload8(1, cr), 1, cr);
        }
        return;
    }
    float t[16];
    vstore8(lo, 0, t);
    vstore8(hi, 1, t);
    for (int j = 0; j < cols; j++) cr[j] = alpha * t[j] + (beta == 0.0f ? 0.0f : beta * cr[j]);
}

// C[6p .. 6p+5, 16q .. 16q+15] of batch b, from panel p of ap and panel q of bp.
// One work-item: one 6x16 tile over the whole k range (12 float8 accumulators).
__kernel void gemm_6x16(__global const float *ap, ulong ap_off, ulong ap_bstride, __global const float *bp,
                        ulong bp_off, ulong bp_bstride, __global float *c, ulong c_off, ulong ldc, ulong c_bstride,
                        int m, int n, int k, float alpha, float beta) {
    int p = get_global_id(0), q = get_global_id(1), b = get_global_id(2);
    if (p * 6 >= m || q * 16 >= n) return;
    const __global float *ap_ = ap + ap_off + b * ap_bstride + (ulong)p * k * 6;
    const __global float *bq = bp + bp_off + b * bp_bstride + (ulong)q * k * 16;
    float8 c00 = 0.0f, c01 = 0.0f, c10 = 0.0f, c11 = 0.0f, c20 = 0.0f, c21 = 0.0f;
    float8 c30 = 0.0f, c31 = 0.0f, c40 = 0.0f, c41 = 0.0f, c50 = 0.0f, c51 = 0.0f;
    int kk = 0;
    for (; kk + 4 <= k; kk += 4) {
        GEMM_STEP(0)
        GEMM_STEP(1)
        GEMM_STEP(2)
        GEMM_STEP(3)
        ap_ += 24;
        bq += 64;
    }
    for (; kk < k; kk++) {
        GEMM_STEP(0)
        ap_ += 6;
        bq += 16;
    }
    int rows = min(6, m - p * 6), cols = min(16, n - q * 16);
    __global float *cr = c + c_off + b * c_bstride + (ulong)p * 6 * ldc + (ulong)q * 16;
    gemm_store_row(cr, c00, c01, cols, alpha, beta);
    if (rows > 1) gemm_store_row(cr + ldc, c10, c11, cols, alpha, beta);
    if (rows > 2) gemm_store_row(cr + 2 * ldc, c20, c21, cols, alpha, beta);
    if (rows > 3) gemm_store_row(cr + 3 * ldc, c30, c31, cols, alpha, beta);
    if (rows > 4) gemm_store_row(cr + 4 * ldc, c40, c41, cols, alpha, beta);
    if (rows > 5) gemm_store_row(cr + 5 * ldc, c50, c51, cols, alpha, beta);
}

// Longest k of gemm_stripe16 (its private copy of a B stripe); the host's CG_GEMM_UB_MAX_K must not
// exceed it.
#define GEMM_STRIPE_MAX_K 64

// C = alpha * op(A) B + beta * C for short k (k <= GEMM_STRIPE_MAX_K) with B read where it lies
// (untransposed, element (kk, j) at bm[b_off + b*b_bstride + kk*ldb + j]) instead of from panels:
// packing would copy all of B for the few tiles that read each of its values. One work-item: the
// 16 columns 16q .. 16q+15 over all m rows; it copies that stripe of B (k rows, 16 apart in memory
// instead of ldb, zero past n) into private memory once, then runs the 6x16 tiles of the stripe
// down the packed A panels. Same fma order as gemm_6x16, so the same results bit for bit.
__kernel void gemm_stripe16(__global const float *ap, ulong ap_off, ulong ap_bstride, __global const float *bm,
                            ulong b_off, ulong ldb, ulong b_bstride, __global float *c, ulong c_off, ulong ldc,
                            ulong c_bstride, int m, int n, int k, float alpha, float beta) {
    int q = get_global_id(0), b = get_global_id(2);
    if (q * 16 >= n || k > GEMM_STRIPE_MAX_K) return;
    const __global float *bq = bm + b_off + b * b_bstride + (ulong)q * 16;
    int cols = min(16, n - q * 16);
    float bs[GEMM_STRIPE_MAX_K * 16];
    if (cols == 16) {
        for (int kk = 0; kk < k; kk++) vstore16(vload16(0, bq + kk * ldb), kk, bs);
    } else {
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < 16; j++) bs[kk * 16 + j] = j < cols ? bq[kk * ldb + j] : 0.0f;
    }
    const __global float *apb = ap + ap_off + b * ap_bstride;
    __global float *cb = c + c_off + b * c_bstride + (ulong)q * 16;
    for (int i0 = 0; i0 < m; i0 += 6) {
        const __global float *ap_ = apb + (ulong)i0 * k;
        float8 c00 = 0.0f, c01 = 0.0f, c10 = 0.0f, c11 = 0.0f, c20 = 0.0f, c21 = 0.0f;
        float8 c30 = 0.0f, c31 = 0.0f, c40 = 0.0f, c41 = 0.0f, c50 = 0.0f, c51 = 0.0f;
        for (int kk = 0; kk < k; kk++) {
            float8 lo = vload8(2 * kk, bs), hi = vload8(2 * kk + 1, bs);
            GEMM_FMA6(ap_ + 6 * kk, lo, hi)
        }
        int rows = min(6, m - i0);
        __global float *cr = cb + (ulong)i0 * ldc;
        gemm_store_row(cr, c00, c01, cols, alpha, beta);
        if (rows > 1) gemm_store_row(cr + ldc, c10, c11, cols, alpha, beta);
        if (rows > 2) gemm_store_row(cr + 2 * ldc, c20, c21, cols, alpha, beta);
        if (rows > 3) gemm_store_row(cr + 3 * ldc, c30, c31, cols, alpha, beta);
        if (rows > 4) gemm_store_row(cr + 4 * ldc, c40, c41, cols, alpha, beta);
        if (rows > 5) gemm_store_row(cr + 5 * ldc, c50, c51, cols, alpha, beta);
    }
}

// Thin products with k contiguous in both operands (weight gradients dW = dY cols^T: m, n small,
// k long): C = alpha * A B^T + beta * C with A [m, k] and B [n, k] row-major, no packing. k is cut
// into chunks of kc (dimension 2); one work-item: a 4x4 tile of C over one chunk, each of its 16
// sums kept as a float8 along k (lane l takes kk = l mod 8) and folded in a fixed tree, the chunk's
// tail added in k order. Several chunks: the partial tiles go to out[s][m][n] (ldo = n, alpha 1,
// beta 0) and gemm_split_reduce adds them in chunk order; one chunk: straight into C
// (alpha * sum + beta * C, beta = 0 never reads C). Rows and columns past m or n read the last one
// and are not stored.
#define NT_ROW(r) (a + (ulong)min(i0 + (r), m - 1) * lda)
#define NT_COL(r) (b + (ulong)min(j0 + (r), n - 1) * ldb)
#define NT_FOLD(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7))
__kernel void gemm_nt_split(__global const float *a, ulong a_off, ulong lda, __global const float *b, ulong b_off,
                            ulong ldb, __global float *out, ulong out_off, ulong ldo, int m, int n, int k, int kc,
                            float alpha, float beta) {
    int p = get_global_id(0), q = get_global_id(1), s = get_global_id(2);
    int i0 = p * 4, j0 = q * 4;
    if (i0 >= m || j0 >= n) return;
    int k0 = s * kc, k1 = min(k, k0 + kc);
    a += a_off + k0;
    b += b_off + k0;
    const __global float *a0 = NT_ROW(0), *a1 = NT_ROW(1), *a2 = NT_ROW(2), *a3 = NT_ROW(3);
    const __global float *b0 = NT_COL(0), *b1 = NT_COL(1), *b2 = NT_COL(2), *b3 = NT_COL(3);
    float8 c[16];
    for (int t = 0; t < 16; t++) c[t] = 0.0f;
    int kk = 0, len = k1 - k0;
    for (; kk + 8 <= len; kk += 8) {
        float8 x0 = vload8(0, a0 + kk), x1 = vload8(0, a1 + kk), x2 = vload8(0, a2 + kk), x3 = vload8(0, a3 + kk);
        float8 y0 = vload8(0, b0 + kk), y1 = vload8(0, b1 + kk), y2 = vload8(0, b2 + kk), y3 = vload8(0, b3 + kk);
        c[0] = fma(x0, y0, c[0]);
        c[1] = fma(x0, y1, c[1]);
        c[2] = fma(x0, y2, c[2]);
        c[3] = fma(x0, y3, c[3]);
        c[4] = fma(x1, y0, c[4]);
        c[5] = fma(x1, y1, c[5]);
        c[6] = fma(x1, y2, c[6]);
        c[7] = fma(x1, y3, c[7]);
        c[8] = fma(x2, y0, c[8]);
        c[9] = fma(x2, y1, c[9]);
        c[10] = fma(x2, y2, c[10]);
        c[11] = fma(x2, y3, c[11]);
        c[12] = fma(x3, y0, c[12]);
        c[13] = fma(x3, y1, c[13]);
        c[14] = fma(x3, y2, c[14]);
        c[15] = fma(x3, y3, c[15]);
    }
    float r[16];
    for (int t = 0; t < 16; t++) r[t] = NT_FOLD(c[t]);
    for (; kk < len; kk++) {
        float x[4] = {a0[kk], a1[kk], a2[kk], a3[kk]}, y[4] = {b0[kk], b1[kk], b2[kk], b3[kk]};
        for (int t = 0; t < 16; t++) r[t] = fma(x[t / 4], y[t % 4], r[t]);
    }
    __global float *o = out + out_off + ((ulong)s * m + i0) * ldo + j0;
    int rows = min(4, m - i0), cols = min(4, n - j0);
    for (int ii = 0; ii < rows; ii++)
        for (int jj = 0; jj < cols; jj++) {
            __global float *e = o + (ulong)ii * ldo + jj;
            *e = alpha * r[ii * 4 + jj] + (beta == 0.0f ? 0.0f : beta * *e);
        }
}

// C[i, j] = alpha * (part[0][i][j] + part[1][i][j] + ...) + beta * C[i, j] (beta = 0 never reads C).
// One work-item: one element (dimension 0 the column).
__kernel void gemm_split_reduce(__global const float *part, ulong part_off, int splits, int m, int n,
                                __global float *c, ulong c_off, ulong ldc, float alpha, float beta) {
    int j = get_global_id(0), i = get_global_id(1);
    if (i >= m || j >= n) return;
    const __global float *pp = part + part_off + (ulong)i * n + j;
    ulong step = (ulong)m * n;
    float acc = 0.0f;
    for (int s = 0; s < splits; s++) acc += pp[s * step];
    __global float *cp = c + c_off + (ulong)i * ldc + j;
    *cp = alpha * acc + (beta == 0.0f ? 0.0f : beta * *cp);
}
