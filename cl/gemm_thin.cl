// gemm_thin.cl — the own GEMM's thin products, which packing would not pay for: weight gradients
// C = A B^T with both operands contiguous along a long k and few output tiles, and C = op(A) B
// with B untransposed, a long k and few tiles (or one row: a matrix-vector product), both split
// along k into chunks summed afterwards in a fixed order (deterministic for a shape, whatever the
// device).

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

// Stores a rows x cols corner of a tile r (w columns a row): alpha * r + beta * C (beta = 0 never reads C).
void nt_store(__global float *o, ulong ldo, const float *r, int w, int rows, int cols, float alpha, float beta) {
    for (int ii = 0; ii < rows; ii++)
        for (int jj = 0; jj < cols; jj++) {
            __global float *e = o + (ulong)ii * ldo + jj;
            *e = alpha * r[ii * w + jj] + (beta == 0.0f ? 0.0f : beta * *e);
        }
}

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
    nt_store(out + out_off + ((ulong)s * m + i0) * ldo + j0, ldo, r, 4, min(4, m - i0), min(4, n - j0), alpha, beta);
}

// The same sums where floats have 16-lane native vectors (AVX-512 CPUs), a 4x8 tile per work-item:
// two elements of a row share one float16 accumulator (lanes 0-7 column j, 8-15 column j + 1), so
// 16 fma of 16 lanes take 4 loads of A (each row's float8 twice) and 8 of B. Each element's lanes,
// fold and tail are gemm_nt_split's: the same bits.
float16 nt_pair(float8 v, float8 w) {
    float16 p; // not (float16)(v, w): Oclgrind 21.10's --uninitialized crashes on that constructor
    p.lo = v;
    p.hi = w;
    return p;
}
#define NT_EACH4(X, r) X(r, 0) X(r, 1) X(r, 2) X(r, 3)
#define NT_ROWS4(X) NT_EACH4(X, 0) NT_EACH4(X, 1) NT_EACH4(X, 2) NT_EACH4(X, 3)
__kernel void gemm_nt_split16(__global const float *a, ulong a_off, ulong lda, __global const float *b, ulong b_off,
                              ulong ldb, __global float *out, ulong out_off, ulong ldo, int m, int n, int k, int kc,
                              float alpha, float beta) {
    int p = get_global_id(0), q = get_global_id(1), s = get_global_id(2);
    int i0 = p * 4, j0 = q * 8;
    if (i0 >= m || j0 >= n) return;
    int k0 = s * kc, k1 = min(k, k0 + kc);
    a += a_off + k0;
    b += b_off + k0;
    const __global float *a0 = NT_ROW(0), *a1 = NT_ROW(1), *a2 = NT_ROW(2), *a3 = NT_ROW(3);
    const __global float *b0 = NT_COL(0), *b1 = NT_COL(1), *b2 = NT_COL(2), *b3 = NT_COL(3);
    const __global float *b4 = NT_COL(4), *b5 = NT_COL(5), *b6 = NT_COL(6), *b7 = NT_COL(7);
    // c<r><h>: row r, columns 2h and 2h + 1 (an array indexed in a loop stays in memory on PoCL).
#define NT16_ZERO(r, h) float16 c##r##h = 0.0f;
    NT_ROWS4(NT16_ZERO)
    int kk = 0, len = k1 - k0;
    for (; kk + 8 <= len; kk += 8) {
        float8 x0 = vload8(0, a0 + kk), x1 = vload8(0, a1 + kk), x2 = vload8(0, a2 + kk), x3 = vload8(0, a3 + kk);
        float16 y0 = nt_pair(vload8(0, b0 + kk), vload8(0, b1 + kk)), y1 = nt_pair(vload8(0, b2 + kk), vload8(0, b3 + kk));
        float16 y2 = nt_pair(vload8(0, b4 + kk), vload8(0, b5 + kk)), y3 = nt_pair(vload8(0, b6 + kk), vload8(0, b7 + kk));
#define NT16_FMA(r, h) c##r##h = fma(nt_pair(x##r, x##r), y##h, c##r##h);
        NT_ROWS4(NT16_FMA)
    }
    float r[32];
#define NT16_FOLD(rr, h)                                                                            \
    r[rr * 8 + 2 * h] = NT_FOLD(c##rr##h.lo);                                                       \
    r[rr * 8 + 2 * h + 1] = NT_FOLD(c##rr##h.hi);
    NT_ROWS4(NT16_FOLD)
    for (; kk < len; kk++) {
        float x[4] = {a0[kk], a1[kk], a2[kk], a3[kk]};
        float y[8] = {b0[kk], b1[kk], b2[kk], b3[kk], b4[kk], b5[kk], b6[kk], b7[kk]};
        for (int t = 0; t < 32; t++) r[t] = fma(x[t / 8], y[t % 8], r[t]);
    }
    nt_store(out + out_off + ((ulong)s * m + i0) * ldo + j0, ldo, r, 8, min(4, m - i0), min(8, n - j0), alpha, beta);
}

// The same sums for one row of C (m = 1: gemm_nt_split16 would compute three copies of it), 16
// columns per work-item in eight float16 accumulators (two columns each), A's float8 loaded once
// for 8 fma. Each work-item takes one row (dimension 0), so any m works.
#define NT_EACH8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
__kernel void gemm_nt_row16(__global const float *a, ulong a_off, ulong lda, __global const float *b, ulong b_off,
                            ulong ldb, __global float *out, ulong out_off, ulong ldo, int m, int n, int k, int kc,
                            float alpha, float beta) {
    int i0 = get_global_id(0), q = get_global_id(1), s = get_global_id(2);
    int j0 = q * 16;
    if (i0 >= m || j0 >= n) return;
    int k0 = s * kc, k1 = min(k, k0 + kc);
    a += a_off + k0;
    b += b_off + k0;
    const __global float *a0 = NT_ROW(0);
    // b<2h>, b<2h+1>: the columns of accumulator c<h>.
#define NTR_DECL(h)                                                                                 \
    const __global float *bl##h = NT_COL(2 * h), *bh##h = NT_COL(2 * h + 1);                        \
    float16 c##h = 0.0f;
    NT_EACH8(NTR_DECL)
    int kk = 0, len = k1 - k0;
    for (; kk + 8 <= len; kk += 8) {
        float8 x = vload8(0, a0 + kk);
        float16 xx = nt_pair(x, x);
#define NTR_FMA(h) c##h = fma(xx, nt_pair(vload8(0, bl##h + kk), vload8(0, bh##h + kk)), c##h);
        NT_EACH8(NTR_FMA)
    }
    float r[16];
#define NTR_FOLD(h)                                                                                 \
    r[2 * h] = NT_FOLD(c##h.lo);                                                                    \
    r[2 * h + 1] = NT_FOLD(c##h.hi);
    NT_EACH8(NTR_FOLD)
    for (; kk < len; kk++) {
        float x = a0[kk];
#define NTR_TAIL(h)                                                                                 \
    r[2 * h] = fma(x, bl##h[kk], r[2 * h]);                                                         \
    r[2 * h + 1] = fma(x, bh##h[kk], r[2 * h + 1]);
        NT_EACH8(NTR_TAIL)
    }
    nt_store(out + out_off + ((ulong)s * m + i0) * ldo + j0, ldo, r, 16, 1, min(16, n - j0), alpha, beta);
}

// Thin products with B untransposed (C = alpha * op(A) B + beta * C, long k, few tiles of C; m = 1
// is a matrix-vector product): op(A)[i, kk] at a[a_off + i*a_si + kk*a_sk] (a_si = lda, a_sk = 1
// untransposed; a_si = 1, a_sk = lda transposed), B [k, n] row-major read where it lies. k is cut
// into chunks of kc; each chunk's sum is one fma chain in k order per element of C, and the chunk
// sums are added in chunk order (starting from 0), then C = alpha * sum + beta * C (beta = 0
// never reads C). Both kernels below give that result bit for bit (gemm_nb_split8 with a single
// chunk stores its sum without adding it to 0: the same value, up to the sign of a zero).

// One row of a 16-column stripe of B, zero past its `cols` valid columns.
float16 nb_row(const __global float *bp, int cols) {
    if (cols == 16) return vload16(0, bp);
    float t[16];
    for (int j = 0; j < 16; j++) t[j] = j < cols ? bp[j] : 0.0f;
    return vload16(0, t);
}

// Writes `cols` values of acc at e: alpha * acc + beta * e, beta = 0 never reading e (the same
// expressions as cl/gemm.cl's gemm_store_row).
void nb_store(__global float *e, float16 acc, int cols, float alpha, float beta) {
    if (cols == 16) {
        if (beta == 0.0f) vstore16(alpha * acc, 0, e);
        else vstore16(alpha * acc + beta * vload16(0, e), 0, e);
        return;
    }
    float t[16];
    vstore16(acc, 0, t);
    for (int j = 0; j < cols; j++) e[j] = alpha * t[j] + (beta == 0.0f ? 0.0f : beta * e[j]);
}

// Eight float16 accumulators by name (an array indexed in a loop stays in memory on PoCL).
#define NB_EACH8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

// One chunk per work-item (dimension 2): 8 rows by 32 columns of C (sixteen float16 accumulators,
// independent fma chains; B's row read as two float16). Several chunks: the partial tiles go to out[s][m][n] (ldo = n, alpha 1,
// beta 0) and gemm_split_reduce adds them in chunk order; one chunk: straight into C. Rows past m
// read the last one and are not stored; columns past n are read as zero and not stored.
__kernel void gemm_nb_split8(__global const float *a, ulong a_off, ulong a_si, ulong a_sk, __global const float *b,
                             ulong b_off, ulong ldb, __global float *out, ulong out_off, ulong ldo, int m, int n,
                             int k, int kc, float alpha, float beta) {
    int q = get_global_id(0), p = get_global_id(1), s = get_global_id(2);
    int i0 = p * 8, j0 = q * 32;
    if (i0 >= m || j0 >= n) return;
    int k0 = s * kc, len = min(k, k0 + kc) - k0, cols = min(32, n - j0), lo = min(16, cols), hi = cols - lo;
    const __global float *bp = b + b_off + (ulong)k0 * ldb + j0;
#define N2_DECL(r)                                                                                  \
    const __global float *a##r = a + a_off + (ulong)min(i0 + r, m - 1) * a_si + (ulong)k0 * a_sk;   \
    float16 c##r = 0.0f, d##r = 0.0f;
    NB_EACH8(N2_DECL)
#define N2_FMA(r)                                                                                   \
    {                                                                                               \
        float16 x = (float16)(a##r[o]);                                                             \
        c##r = fma(x, y, c##r);                                                                     \
        d##r = fma(x, z, d##r);                                                                     \
    }
    if (cols == 32) {
        for (int kk = 0; kk < len; kk++) {
            float16 y = vload16(0, bp + (ulong)kk * ldb), z = vload16(1, bp + (ulong)kk * ldb);
            ulong o = (ulong)kk * a_sk;
            NB_EACH8(N2_FMA)
        }
    } else {
        for (int kk = 0; kk < len; kk++) {
            float16 y = nb_row(bp + (ulong)kk * ldb, lo);
            float16 z = hi > 0 ? nb_row(bp + (ulong)kk * ldb + 16, hi) : (float16)0.0f;
            ulong o = (ulong)kk * a_sk;
            NB_EACH8(N2_FMA)
        }
    }
    __global float *o = out + out_off + ((ulong)s * m + i0) * ldo + j0;
    int rows = min(8, m - i0);
#define N2_STORE(r)                                                                                 \
    if (r < rows) {                                                                                 \
        nb_store(o + (ulong)r * ldo, c##r, lo, alpha, beta);                                        \
        if (hi > 0) nb_store(o + (ulong)r * ldo + 16, d##r, hi, alpha, beta);                       \
    }
    NB_EACH8(N2_STORE)
}

// m = 1 (a matrix-vector product) in one launch: one work-item per 16 columns of C over the whole
// k, the chunks taken 8 at a time side by side (eight independent fma chains) and their sums added
// in chunk order.
__kernel void gemm_nb_gemv(__global const float *a, ulong a_off, ulong a_sk, __global const float *b, ulong b_off,
                           ulong ldb, __global float *c, ulong c_off, int n, int k, int kc, float alpha, float beta) {
    int q = get_global_id(0), j0 = q * 16;
    if (j0 >= n) return;
    int cols = min(16, n - j0);
    const __global float *x = a + a_off, *bp = b + b_off + j0;
    float16 total = 0.0f;
    for (int g0 = 0; g0 < k; g0 += 8 * kc) {
        int chunks = min(8, (k - g0 + kc - 1) / kc);
#define NB_ZERO(r) float16 c##r = 0.0f;
        NB_EACH8(NB_ZERO)
        if (chunks == 8 && g0 + 8 * kc <= k && cols == 16) {
#define NB_GEMV(r)                                                                                  \
    {                                                                                               \
        ulong at = (ulong)(g0 + r * kc + kk);                                                       \
        c##r = fma((float16)x[at * a_sk], vload16(0, bp + at * ldb), c##r);                         \
    }
            for (int kk = 0; kk < kc; kk++) {
                NB_EACH8(NB_GEMV)
            }
        } else {
            // The last group (fewer or shorter chunks) or a partial stripe: one chunk after another.
            for (int g = 0; g < chunks; g++) {
                float16 acc = 0.0f;
                int k1 = min(k, g0 + (g + 1) * kc);
                for (int at = g0 + g * kc; at < k1; at++)
                    acc = fma((float16)x[(ulong)at * a_sk], nb_row(bp + (ulong)at * ldb, cols), acc);
                total += acc;
            }
            continue;
        }
#define NB_ADD(r) total += c##r;
        NB_EACH8(NB_ADD)
    }
    nb_store(c + c_off + j0, total, cols, alpha, beta);
}

// C[i, j] = alpha * (part[0][i][j] + part[1][i][j] + ...) + beta * C[i, j] (beta = 0 never reads C).
// One work-item: 8 columns of a row (dimension 0 the column block), one float8 lane per element.
__kernel void gemm_split_reduce(__global const float *part, ulong part_off, int splits, int m, int n,
                                __global float *c, ulong c_off, ulong ldc, float alpha, float beta) {
    int j0 = get_global_id(0) * 8, i = get_global_id(1);
    if (i >= m || j0 >= n) return;
    const __global float *pp = part + part_off + (ulong)i * n + j0;
    ulong step = (ulong)m * n;
    __global float *cp = c + c_off + (ulong)i * ldc + j0;
    int cols = min(8, n - j0);
    if (cols == 8) {
        float8 acc = 0.0f;
        for (int s = 0; s < splits; s++) acc += vload8(0, pp + s * step);
        vstore8(alpha * acc + (beta == 0.0f ? (float8)0.0f : beta * vload8(0, cp)), 0, cp);
        return;
    }
    for (int j = 0; j < cols; j++) {
        float acc = 0.0f;
        for (int s = 0; s < splits; s++) acc += pp[s * step + j];
        cp[j] = alpha * acc + (beta == 0.0f ? 0.0f : beta * cp[j]);
    }
}
