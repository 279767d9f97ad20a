// gemm.cl — clgan's own SGEMM micro-kernels: a register tile of C over packed panels of op(A) and
// op(B) (gemm_pack.cl makes them), gemm_stripe16 for short k with B read where it lies, and
// gemm_conv6x32 for stride-1 and stride-2 convolutions with B read from the image.
// Written for CPU OpenCL (PoCL): no local memory (emulated in RAM there) and no reliance on
// vectorisation across work-items; each work-item works with explicit float8 vectors, like a BLAS
// micro-kernel. Other devices use it only where `clgan tune` measured it faster than CLBlast.
//
// Packed layout (gemm_pack.cl): op(A) [m, k] in panels of 6 rows, op(B) [k, n] in panels of 16
// columns; a panel stores, for each k in turn, its 6 (or 16) values next to each other:
//   ap[p][kk][r] = op(A)[6p + r, kk],   bp[q][kk][c] = op(B)[kk, 16q + c],   zero past m or n.
// Every load of the micro-kernel is then unit-stride whatever the caller's transposes, offsets and
// leading dimensions, and the k loop needs no bounds tests.
//
// Batches: dimension 2 of every launch is the batch index; panels advance by the size of one
// packed operand (0 when all batches share one operand).
//
// Rounding: products are accumulated with fma() in k order, one accumulator per output element.

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

// Rows 0 .. rows-1 (at most 6) of a 16-column tile from the accumulators c00/c01 .. c50/c51.
#define GEMM_STORE6(cr, rows, cols, alpha, beta)                                                     \
    {                                                                                               \
        gemm_store_row(cr, c00, c01, cols, alpha, beta);                                            \
        if ((rows) > 1) gemm_store_row(cr + ldc, c10, c11, cols, alpha, beta);                      \
        if ((rows) > 2) gemm_store_row(cr + 2 * ldc, c20, c21, cols, alpha, beta);                  \
        if ((rows) > 3) gemm_store_row(cr + 3 * ldc, c30, c31, cols, alpha, beta);                  \
        if ((rows) > 4) gemm_store_row(cr + 4 * ldc, c40, c41, cols, alpha, beta);                  \
        if ((rows) > 5) gemm_store_row(cr + 5 * ldc, c50, c51, cols, alpha, beta);                  \
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
    GEMM_STORE6(cr, rows, cols, alpha, beta)
}

// ---- wide tiles: two B panels (32 columns), optionally two A panels (12 rows) -------------------
// For CPUs with 512-bit vectors (the host picks them by the device's native float width or a tuning
// file): one float16 per row and B panel, so a k step is two 16-float B loads, 6 (or 12) broadcasts
// and 12 (or 24) fma on whole registers; the B loads serve twice (four times) as many fma as in
// gemm_6x16. Same accumulation (fma in k order, one accumulator per output element), so C is
// bit-identical to gemm_6x16's. A tile at the right or bottom edge whose second panel does not exist
// reads its first panel twice and stores only what exists: no bounds tests in the k loop.

// One k step of a 6-row A panel a against B values b0 (panel 2q) and b1 (panel 2q+1): accumulators
// P##r##a and P##r##b of rows r = 0..5.
#define GEMM_FMA6W(a, b0, b1, P)                                                                     \
    {                                                                                               \
        float16 x;                                                                                  \
        x = (float16)((a)[0]);                                                                      \
        P##0a = fma(x, b0, P##0a);                                                                  \
        P##0b = fma(x, b1, P##0b);                                                                  \
        x = (float16)((a)[1]);                                                                      \
        P##1a = fma(x, b0, P##1a);                                                                  \
        P##1b = fma(x, b1, P##1b);                                                                  \
        x = (float16)((a)[2]);                                                                      \
        P##2a = fma(x, b0, P##2a);                                                                  \
        P##2b = fma(x, b1, P##2b);                                                                  \
        x = (float16)((a)[3]);                                                                      \
        P##3a = fma(x, b0, P##3a);                                                                  \
        P##3b = fma(x, b1, P##3b);                                                                  \
        x = (float16)((a)[4]);                                                                      \
        P##4a = fma(x, b0, P##4a);                                                                  \
        P##4b = fma(x, b1, P##4b);                                                                  \
        x = (float16)((a)[5]);                                                                      \
        P##5a = fma(x, b0, P##5a);                                                                  \
        P##5b = fma(x, b1, P##5b);                                                                  \
    }

#define GEMM_ACC6W(P)                                                                                \
    float16 P##0a = 0.0f, P##0b = 0.0f, P##1a = 0.0f, P##1b = 0.0f, P##2a = 0.0f, P##2b = 0.0f;     \
    float16 P##3a = 0.0f, P##3b = 0.0f, P##4a = 0.0f, P##4b = 0.0f, P##5a = 0.0f, P##5b = 0.0f;

// gemm_store_row for one float16 (whole 16-float stores, no split into halves).
void gemm_store_row16(__global float *cr, float16 v, int cols, float alpha, float beta) {
    if (cols >= 16) {
        if (beta == 0.0f) vstore16(alpha * v, 0, cr);
        else vstore16(alpha * v + beta * vload16(0, cr), 0, cr);
        return;
    }
    float t[16];
    vstore16(v, 0, t);
    for (int j = 0; j < cols; j++) cr[j] = alpha * t[j] + (beta == 0.0f ? 0.0f : beta * cr[j]);
}

// Writes row r of a 32-column tile (cols of them exist, >= 1).
void gemm_store_row32(__global float *cr, float16 u, float16 v, int cols, float alpha, float beta) {
    gemm_store_row16(cr, u, cols, alpha, beta);
    if (cols > 16) gemm_store_row16(cr + 16, v, cols - 16, alpha, beta);
}

// Rows r0 .. r0+5 of a 32-column tile (rows of them exist) from accumulators P##r##a/b.
#define GEMM_STORE6W(cr, P, rows, cols, alpha, beta)                                                 \
    {                                                                                               \
        if ((rows) > 0) gemm_store_row32(cr, P##0a, P##0b, cols, alpha, beta);                      \
        if ((rows) > 1) gemm_store_row32(cr + ldc, P##1a, P##1b, cols, alpha, beta);                \
        if ((rows) > 2) gemm_store_row32(cr + 2 * ldc, P##2a, P##2b, cols, alpha, beta);            \
        if ((rows) > 3) gemm_store_row32(cr + 3 * ldc, P##3a, P##3b, cols, alpha, beta);            \
        if ((rows) > 4) gemm_store_row32(cr + 4 * ldc, P##4a, P##4b, cols, alpha, beta);            \
        if ((rows) > 5) gemm_store_row32(cr + 5 * ldc, P##5a, P##5b, cols, alpha, beta);            \
    }

// C[6p .. 6p+5, 32q .. 32q+31] of batch b from A panel p and B panels 2q, 2q+1: 12 float16
// accumulators.
__kernel void gemm_6x32(__global const float *ap, ulong ap_off, ulong ap_bstride, __global const float *bp,
                        ulong bp_off, ulong bp_bstride, __global float *c, ulong c_off, ulong ldc, ulong c_bstride,
                        int m, int n, int k, float alpha, float beta) {
    int p = get_global_id(0), q = get_global_id(1), b = get_global_id(2);
    if (p * 6 >= m || q * 32 >= n) return;
    const __global float *a0 = ap + ap_off + b * ap_bstride + (ulong)p * k * 6;
    const __global float *b0 = bp + bp_off + b * bp_bstride + (ulong)q * k * 32;
    const __global float *b1 = q * 32 + 16 < n ? b0 + (ulong)k * 16 : b0;
    GEMM_ACC6W(c)
    int kk = 0;
    for (; kk + 4 <= k; kk += 4) {
        GEMM_FMA6W(a0, vload16(0, b0), vload16(0, b1), c)
        GEMM_FMA6W(a0 + 6, vload16(1, b0), vload16(1, b1), c)
        GEMM_FMA6W(a0 + 12, vload16(2, b0), vload16(2, b1), c)
        GEMM_FMA6W(a0 + 18, vload16(3, b0), vload16(3, b1), c)
        a0 += 24;
        b0 += 64;
        b1 += 64;
    }
    for (; kk < k; kk++) {
        GEMM_FMA6W(a0, vload16(0, b0), vload16(0, b1), c)
        a0 += 6;
        b0 += 16;
        b1 += 16;
    }
    int rows = min(6, m - p * 6), cols = min(32, n - q * 32);
    __global float *cr = c + c_off + b * c_bstride + (ulong)p * 6 * ldc + (ulong)q * 32;
    GEMM_STORE6W(cr, c, rows, cols, alpha, beta)
}

// One k step j of the 12x32 tile: the two B loads serve both A panels.
#define GEMM_STEP12W(j)                                                                             \
    {                                                                                               \
        float16 v0 = vload16(j, b0), v1 = vload16(j, b1);                                           \
        GEMM_FMA6W(a0 + 6 * (j), v0, v1, c)                                                         \
        GEMM_FMA6W(a1 + 6 * (j), v0, v1, d)                                                         \
    }

// C[12p .. 12p+11, 32q .. 32q+31] of batch b from A panels 2p, 2p+1 and B panels 2q, 2q+1: 24
// float16 accumulators (c: the first A panel's rows, d: the second's).
__kernel void gemm_12x32(__global const float *ap, ulong ap_off, ulong ap_bstride, __global const float *bp,
                         ulong bp_off, ulong bp_bstride, __global float *c, ulong c_off, ulong ldc,
                         ulong c_bstride, int m, int n, int k, float alpha, float beta) {
    int p = get_global_id(0), q = get_global_id(1), b = get_global_id(2);
    if (p * 12 >= m || q * 32 >= n) return;
    const __global float *a0 = ap + ap_off + b * ap_bstride + (ulong)p * k * 12;
    const __global float *a1 = p * 12 + 6 < m ? a0 + (ulong)k * 6 : a0;
    const __global float *b0 = bp + bp_off + b * bp_bstride + (ulong)q * k * 32;
    const __global float *b1 = q * 32 + 16 < n ? b0 + (ulong)k * 16 : b0;
    GEMM_ACC6W(c)
    GEMM_ACC6W(d)
    int kk = 0;
    for (; kk + 4 <= k; kk += 4) {
        GEMM_STEP12W(0)
        GEMM_STEP12W(1)
        GEMM_STEP12W(2)
        GEMM_STEP12W(3)
        a0 += 24;
        a1 += 24;
        b0 += 64;
        b1 += 64;
    }
    for (; kk < k; kk++) {
        GEMM_STEP12W(0)
        a0 += 6;
        a1 += 6;
        b0 += 16;
        b1 += 16;
    }
    int rows = min(12, m - p * 12), cols = min(32, n - q * 32);
    __global float *cr = c + c_off + b * c_bstride + (ulong)p * 12 * ldc + (ulong)q * 32;
    GEMM_STORE6W(cr, c, rows, cols, alpha, beta)
    GEMM_STORE6W(cr + 6 * ldc, d, rows - 6, cols, alpha, beta)
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
        GEMM_STORE6(cr, rows, cols, alpha, beta)
    }
}

// gemm_stripe16 with 32-column stripes for the devices that take the wide tiles: the stripe (k rows
// of 32, zero past n) in private memory, then gemm_6x32's k steps down the A panels (12 float16
// accumulators). Same fma order, so the same results bit for bit.
__kernel void gemm_stripe32(__global const float *ap, ulong ap_off, ulong ap_bstride, __global const float *bm,
                            ulong b_off, ulong ldb, ulong b_bstride, __global float *c, ulong c_off, ulong ldc,
                            ulong c_bstride, int m, int n, int k, float alpha, float beta) {
    int q = get_global_id(0), b = get_global_id(2);
    if (q * 32 >= n || k > GEMM_STRIPE_MAX_K) return;
    const __global float *bq = bm + b_off + b * b_bstride + (ulong)q * 32;
    int cols = min(32, n - q * 32);
    float bs[GEMM_STRIPE_MAX_K * 32];
    if (cols == 32) {
        for (int kk = 0; kk < k; kk++) {
            vstore16(vload16(0, bq + kk * ldb), 2 * kk, bs);
            vstore16(vload16(1, bq + kk * ldb), 2 * kk + 1, bs);
        }
    } else {
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < 32; j++) bs[kk * 32 + j] = j < cols ? bq[kk * ldb + j] : 0.0f;
    }
    const __global float *apb = ap + ap_off + b * ap_bstride;
    __global float *cb = c + c_off + b * c_bstride + (ulong)q * 32;
    for (int i0 = 0; i0 < m; i0 += 6) {
        const __global float *a0 = apb + (ulong)i0 * k;
        GEMM_ACC6W(c)
        for (int kk = 0; kk < k; kk++) GEMM_FMA6W(a0 + 6 * kk, vload16(2 * kk, bs), vload16(2 * kk + 1, bs), c)
        __global float *cr = cb + (ulong)i0 * ldc;
        GEMM_STORE6W(cr, c, min(6, m - i0), cols, alpha, beta)
    }
}

// ---- stride-1/2 convolutions with B read from the image: gemm_conv6x32 ---------------------------
// C = alpha * W cols(x) + beta * C for a convolution of stride 1 (stride 2 below), without packing
// the im2col matrix: on a grid of positions g = oy*Wp + ox as wide as the (padded) input rows, row
// kk = (c*kh + ki)*kw + kj of the im2col matrix at grid columns g .. g+15 is the 16 consecutive
// floats of x at c*plane + ki*Wp + kj + g. So each k step is two float16 loads straight from x (padded beforehand
// by gemm_pad_image when the convolution pads), the same six broadcasts and twelve fma as
// gemm_6x32, in the same k order over the whole K: C equals what gemm_6x32 makes from packed
// panels in one k block, bit for bit.
// Grid columns ox >= OW (the last Wp - OW of each row: kw - 1 of them) are computed and dropped.
// Reads run up to 15 floats past a sample's last plane (c*plane floats); the host leaves them readable.
//
// Stride 2 (gemm_conv6x32_s2*): the host first splits each padded sample into four phase images per
// channel (gemm_phase_image: P[c][pr][pc][y][x] = xpad[c][2y + pr][2x + pc], Hq x Wq each, Wq =
// ceil(Wp/2)); output (oy, ox) of tap (ki, kj) is P[c][ki&1][kj&1][oy + (ki>>1)][ox + (kj>>1)], so on
// the grid g = oy*Wq + ox a tap again reads 16 consecutive floats, at a per-tap offset. The same k
// order (c, ki, kj), so again the packed path's bits; Wq - OW grid columns per row are dropped.

// A convolution's epilogue as cl/bias.cl's bias_act computes it: + b (has_b), then ReLU (relu; +0
// for every non-positive value). Statements of their own, so nothing contracts with the product.
//
// has_b and relu are compile-time constants: each epilogue is a kernel of its own (gemm_conv6x32,
// _bias, _relu, _bias_relu below), and the store functions are inlined into it. As runtime flags,
// LLVM turned `if (has_b) v = v + b` into v + (has_b ? b : -0.0f) with a masked load of -0.0f from
// the kernel binary's constant page; with a bias the mask is always off, so nothing ever reads
// that page in, and on this Zen 5 every masked-off load from a page not yet mapped takes a
// microcode assist: the whole Inception-v3 forward ran 1.6x slower (docs/performance.md, round 5).
#define GEMM_CONV_ACT(v, b, has_b, relu)                                                             \
    {                                                                                               \
        if (has_b) v = v + (b);                                                                     \
        if (relu) v = v > 0.0f ? v : 0.0f;                                                          \
    }

// Writes grid columns g0 .. g0+15 of one row of C (values v; (oy, ox) the grid position of g0) to
// row cr: those inside the grid (g < n_grid) and inside an output row (ox < OW), at oy*OW + ox;
// alpha * v + beta * C as gemm_store_row16 computes it, then the epilogue (bias b).
__attribute__((always_inline)) void gemm_conv_store16(__global float *cr, float16 v, int g0, int n_grid, int oy,
                                                      int ox, int Wp, int OW, float alpha, float beta, float b,
                                                      const int has_b, const int relu) {
    if (g0 >= n_grid) return;
    if (ox + 16 <= OW) { // inside one output row, so inside the grid too
        __global float *d = cr + oy * OW + ox;
        float16 o;
        if (beta == 0.0f) o = alpha * v;
        else o = alpha * v + beta * vload16(0, d);
        GEMM_CONV_ACT(o, b, has_b, relu)
        vstore16(o, 0, d);
        return;
    }
    float t[16];
    vstore16(v, 0, t);
    for (int j = 0; j < 16 && g0 + j < n_grid; j++) {
        if (ox < OW) {
            __global float *e = cr + oy * OW + ox;
            float o = alpha * t[j] + (beta == 0.0f ? 0.0f : beta * *e);
            GEMM_CONV_ACT(o, b, has_b, relu)
            *e = o;
        }
        if (++ox == Wp) ox = 0, oy++;
    }
}

// Both halves of a 32-column tile row: u at grid column g0 = oy*Wp + ox, v at g0 + 16.
__attribute__((always_inline)) void gemm_conv_store_row(__global float *cr, float16 u, float16 v, int g0, int n_grid,
                                                        int oy, int ox, int Wp, int OW, float alpha, float beta,
                                                        float b, const int has_b, const int relu) {
    gemm_conv_store16(cr, u, g0, n_grid, oy, ox, Wp, OW, alpha, beta, b, has_b, relu);
    ox += 16;
    while (ox >= Wp) ox -= Wp, oy++;
    gemm_conv_store16(cr, v, g0 + 16, n_grid, oy, ox, Wp, OW, alpha, beta, b, has_b, relu);
}

// gemm_conv6x32 and its epilogue kernels: A panels: ap[p][kk][r] over the whole K. x: the sample
// at x_off + b*x_sn, channel planes `plane` apart, rows Wp apart. C: row i of sample b at
// c_off + b*c_bstride + i*ldc, position oy*OW + ox. n_grid = (OH - 1)*Wp + OW. Epilogue: row i
// adds bias[bias_off + i] (has_b), then ReLU (relu); kernels without a bias never read `bias`.
#define GEMM_CONV_ARGS                                                                              \
    __global const float *ap, int K, __global const float *x, ulong x_off, ulong x_sn, ulong plane, int Wp, int kh, \
        int kw, int OW, int n_grid, __global float *c, ulong c_off, ulong ldc, ulong c_bstride, int m, float alpha, \
        float beta, __global const float *bias, ulong bias_off
#define GEMM_CONV_PASS                                                                              \
    ap, K, x, x_off, x_sn, plane, Wp, kh, kw, OW, n_grid, c, c_off, ldc, c_bstride, m, alpha, beta, bias, bias_off

// stride2 (a compile-time constant) reads phase images (gemm_phase_image): Wp is then the phase
// row Wq, pq the floats of one phase plane and `plane` the 4*pq of a channel; tap (ki, kj) of
// channel c reads phase (ki&1, kj&1) at (ki>>1)*Wq + (kj>>1) + g. Stride 1 ignores pq.
__attribute__((always_inline)) void gemm_conv6x32_body(GEMM_CONV_ARGS, const int stride2, int pq, const int has_b,
                                                       const int relu) {
    int p = get_global_id(0), q = get_global_id(1), b = get_global_id(2);
    if (p * 6 >= m || q * 32 >= n_grid) return;
    const __global float *a0 = ap + (ulong)p * K * 6;
    int g0 = q * 32, hi = g0 + 16 < n_grid ? 16 : 0; // an edge tile without a second half reads the first twice
    const __global float *row = x + x_off + b * x_sn + g0, *chan = row;
    GEMM_ACC6W(c)
    int ki = 0;
    for (int r = 0; r < K; r += kw) { // one window row (c, ki) per pass: kw taps
        for (int kj = 0; kj < kw; kj++) {
            const __global float *t = stride2 ? row + (kj & 1) * pq + (kj >> 1) : row + kj;
            GEMM_FMA6W(a0, vload16(0, t), vload16(0, t + hi), c)
            a0 += 6;
        }
        if (stride2) {
            if (++ki == kh) {
                ki = 0;
                chan += plane;
                row = chan;
            } else {
                row = chan + (ki & 1) * 2 * pq + (ki >> 1) * Wp;
            }
        } else if (++ki == kh) {
            ki = 0;
            row += plane - (ulong)(kh - 1) * Wp;
        } else {
            row += Wp;
        }
    }
    int rows = min(6, m - p * 6);
    __global float *cr = c + c_off + b * c_bstride + (ulong)p * 6 * ldc;
    int oy = g0 / Wp, ox = g0 - oy * Wp;
    const __global float *bi = bias + bias_off + p * 6;
#define GEMM_CONV_STORE(r)                                                                           \
    gemm_conv_store_row(cr + (r) * ldc, c##r##a, c##r##b, g0, n_grid, oy, ox, Wp, OW, alpha, beta,    \
                        has_b ? bi[r] : 0.0f, has_b, relu)
    if (rows > 0) GEMM_CONV_STORE(0);
    if (rows > 1) GEMM_CONV_STORE(1);
    if (rows > 2) GEMM_CONV_STORE(2);
    if (rows > 3) GEMM_CONV_STORE(3);
    if (rows > 4) GEMM_CONV_STORE(4);
    if (rows > 5) GEMM_CONV_STORE(5);
#undef GEMM_CONV_STORE
}

__kernel void gemm_conv6x32(GEMM_CONV_ARGS) { gemm_conv6x32_body(GEMM_CONV_PASS, 0, 0, 0, 0); }
__kernel void gemm_conv6x32_bias(GEMM_CONV_ARGS) { gemm_conv6x32_body(GEMM_CONV_PASS, 0, 0, 1, 0); }
__kernel void gemm_conv6x32_relu(GEMM_CONV_ARGS) { gemm_conv6x32_body(GEMM_CONV_PASS, 0, 0, 0, 1); }
__kernel void gemm_conv6x32_bias_relu(GEMM_CONV_ARGS) { gemm_conv6x32_body(GEMM_CONV_PASS, 0, 0, 1, 1); }
// Stride 2 (pq: floats of one phase plane).
__kernel void gemm_conv6x32_s2(GEMM_CONV_ARGS, int pq) { gemm_conv6x32_body(GEMM_CONV_PASS, 1, pq, 0, 0); }
__kernel void gemm_conv6x32_s2_bias(GEMM_CONV_ARGS, int pq) { gemm_conv6x32_body(GEMM_CONV_PASS, 1, pq, 1, 0); }
__kernel void gemm_conv6x32_s2_relu(GEMM_CONV_ARGS, int pq) { gemm_conv6x32_body(GEMM_CONV_PASS, 1, pq, 0, 1); }
__kernel void gemm_conv6x32_s2_bias_relu(GEMM_CONV_ARGS, int pq) { gemm_conv6x32_body(GEMM_CONV_PASS, 1, pq, 1, 1); }
#undef GEMM_CONV_ARGS
#undef GEMM_CONV_PASS
