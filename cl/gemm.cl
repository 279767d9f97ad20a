// gemm.cl — clgan's own SGEMM micro-kernels: a register tile of C over packed panels of op(A) and
// op(B) (gemm_pack.cl makes them), and gemm_stripe16 for short k with B read where it lies.
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
