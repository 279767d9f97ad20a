// pool.cl — forward pooling for Inception-v3 scoring (max, average, global average) and the
// strided copy behind flatten.
//
// Layout: x is an NCHW view (buffer, element offset, sample stride xsn) of [N, C, H, W]; y is a
// view of [N, C, OH, OW] with its own sample stride ysn, so a branch can write its channels
// straight into a wider concatenated output. Window of output (oh, ow): rows oh*stride - pad ..
// + k - 1 and likewise for columns, clipped to the input (PyTorch, floor mode). Element counts fit
// in 32 bits (the host checks), so index arithmetic is 32-bit; offsets are 64-bit.

// Input plane base and output position of output element i = ((s*C + c)*OH + oh)*OW + ow.
#define POOL_INDEX                                                                                 \
    size_t gid = get_global_id(0);                                                                 \
    if (gid >= n) return;                                                                          \
    uint i = (uint)gid;                                                                            \
    uint ow = i % OW, t = i / OW;                                                                  \
    uint oh = t % OH;                                                                              \
    t /= OH;                                                                                       \
    uint c = t % C, s = t / C;                                                                     \
    ulong xbase = xoff + (ulong)s * xsn + c * H * W;                                               \
    ulong yat = yoff + (ulong)s * ysn + (c * OH + oh) * OW + ow;                                   \
    int h0 = (int)(oh * stride) - pad, w0 = (int)(ow * stride) - pad;                              \
    int h1 = min(h0 + k, (int)H), w1 = min(w0 + k, (int)W);                                        \
    h0 = max(h0, 0);                                                                               \
    w0 = max(w0, 0);

// pool_max: one work-item per output element: the maximum over the window's in-bounds inputs
// (padding counts as -inf); a NaN in the window wins, as in PyTorch. n = N*C*OH*OW.
__kernel void pool_max(__global const float *x, ulong xoff, ulong xsn, uint C, uint H, uint W,
                       __global float *y, ulong yoff, ulong ysn, uint OH, uint OW, int k, int stride, int pad,
                       uint n) {
    POOL_INDEX
    float m = -INFINITY;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            float v = x[xbase + (ulong)h * W + w];
            if (v > m || isnan(v)) m = v;
        }
    y[yat] = m;
}

// pool_avg: one work-item per output element: the mean over the window's in-bounds inputs only
// (count_include_pad = False). n = N*C*OH*OW.
__kernel void pool_avg(__global const float *x, ulong xoff, ulong xsn, uint C, uint H, uint W,
                       __global float *y, ulong yoff, ulong ysn, uint OH, uint OW, int k, int stride, int pad,
                       uint n) {
    POOL_INDEX
    float sum = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) sum += x[xbase + (ulong)h * W + w];
    y[yat] = sum / (float)((h1 - h0) * (w1 - w0));
}

// The same two pools with one work-item per output row ((s*C + c)*OH + oh = i, n = N*C*OH),
// walking the row's OW outputs: index arithmetic once per row and row-contiguous reads, for CPUs
// (PoCL). PoCL runs a work-item's loops as scalar code, so the outputs whose window lies inside the
// row go 8 (narrow rows: 4) at a time with explicit vectors (stride 1: vload8 per window column;
// stride 2: the even lanes of a vload16), the rest one by one; a last partial chunk is redone as a full one ending at
// the border. Every output is the same computation in the same order as above (lanes are
// independent), so bit-identical.
#define POOL_ROW                                                                                   \
    size_t gid = get_global_id(0);                                                                 \
    if (gid >= n) return;                                                                          \
    uint i = (uint)gid;                                                                            \
    uint oh = i % OH, t = i / OH;                                                                  \
    uint c = t % C, s = t / C;                                                                     \
    __global const float *xp = x + xoff + (ulong)s * xsn + c * H * W;                              \
    __global float *yp = y + yoff + (ulong)s * ysn + (c * OH + oh) * OW;                           \
    int h0 = (int)(oh * stride) - pad;                                                             \
    int h1 = min(h0 + k, (int)H);                                                                  \
    h0 = max(h0, 0);                                                                               \
    /* Outputs [lo, hi) have their whole window inside the row; vec: 8 or 4 of them at a time. */ \
    int lo = min((pad + stride - 1) / stride, (int)OW);                                            \
    int hi = (int)W + pad < k ? 0 : ((int)W + pad - k) / stride + 1;                               \
    hi = clamp(hi, lo, (int)OW);                                                                   \
    int vec = hi - lo >= 8 && (stride == 1 || (stride == 2 && W >= 16))                            \
                  ? 8                                                                              \
                  : hi - lo >= 4 && (stride == 1 || (stride == 2 && W >= 8)) ? 4 : 0;              \
    int ow = 0;

// Eight inputs e, e + 2, ..., e + 14 of a row of W >= 16 (0 <= e, e + 14 < W): the even lanes of
// the 16 floats from e, or the odd lanes of the 16 from e - 1 where those would pass the row's end.
// (Lanes picked one by one, not with .even / .odd: see im2col_even8 in im2col.cl.)
inline float8 pool_even8(__global const float *row, int e, uint W) {
    if (e + 16 <= (int)W) {
        float16 v = vload16(0, row + e);
        return (float8)(v.s0, v.s2, v.s4, v.s6, v.s8, v.sa, v.sc, v.se);
    }
    float16 v = vload16(0, row + e - 1);
    return (float8)(v.s1, v.s3, v.s5, v.s7, v.s9, v.sb, v.sd, v.sf);
}

// Eight window columns e + kj for outputs at e, e + stride, ... (stride 1 or 2).
inline float8 pool_load8(__global const float *row, int e, int stride, uint W) {
    return stride == 1 ? vload8(0, row + e) : pool_even8(row, e, W);
}

// Four of them (rows of W >= 8 for stride 2).
inline float4 pool_load4(__global const float *row, int e, int stride, uint W) {
    if (stride == 1) return vload4(0, row + e);
    if (e + 8 <= (int)W) {
        float8 v = vload8(0, row + e);
        return (float4)(v.s0, v.s2, v.s4, v.s6);
    }
    float8 v = vload8(0, row + e - 1);
    return (float4)(v.s1, v.s3, v.s5, v.s7);
}

inline float pool_max_at(__global const float *xp, uint W, int h0, int h1, int ow, int k, int stride, int pad) {
    int w0 = ow * stride - pad;
    int w1 = min(w0 + k, (int)W);
    w0 = max(w0, 0);
    float m = -INFINITY;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            float v = xp[(ulong)h * W + w];
            if (v > m || isnan(v)) m = v;
        }
    return m;
}

inline float pool_avg_at(__global const float *xp, uint W, int h0, int h1, int ow, int k, int stride, int pad) {
    int w0 = ow * stride - pad;
    int w1 = min(w0 + k, (int)W);
    w0 = max(w0, 0);
    float sum = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) sum += xp[(ulong)h * W + w];
    return sum / (float)((h1 - h0) * (w1 - w0));
}

// One chunk of V (8 or 4) outputs from ow, lanes independent: the window's maximum (a NaN wins) or
// its mean over the (h1 - h0) x k inputs, each lane in pool_max_at's / pool_avg_at's order.
#define POOL_MAX_CHUNK(V)                                                                          \
    {                                                                                              \
        float##V m = (float##V)(-INFINITY);                                                        \
        for (int h = h0; h < h1; h++)                                                              \
            for (int kj = 0; kj < k; kj++) {                                                       \
                float##V v = pool_load##V(xp + (ulong)h * W, ow * stride - pad + kj, stride, W);   \
                m = select(m, v, (v > m) | isnan(v));                                              \
            }                                                                                      \
        vstore##V(m, 0, yp + ow);                                                                  \
    }
#define POOL_AVG_CHUNK(V)                                                                          \
    {                                                                                              \
        float##V sum = (float##V)(0.0f);                                                           \
        for (int h = h0; h < h1; h++)                                                              \
            for (int kj = 0; kj < k; kj++)                                                         \
                sum += pool_load##V(xp + (ulong)h * W, ow * stride - pad + kj, stride, W);         \
        vstore##V(sum / (float)((h1 - h0) * k), 0, yp + ow);                                       \
    }

// The inside of a row in chunks of vec, the outputs before lo and from the last chunk's end one by
// one (AT: pool_max_at or pool_avg_at; CHUNK: POOL_MAX_CHUNK or POOL_AVG_CHUNK).
#define POOL_ROW_OUTPUTS(AT, CHUNK)                                                                \
    if (vec) {                                                                                     \
        for (; ow < lo; ow++) yp[ow] = AT(xp, W, h0, h1, ow, k, stride, pad);                      \
        for (int last = 0; !last; ow += vec) {                                                     \
            if (ow + vec >= hi) ow = hi - vec, last = 1;                                           \
            if (vec == 8)                                                                          \
                CHUNK(8)                                                                           \
            else                                                                                   \
                CHUNK(4)                                                                           \
        }                                                                                          \
    }                                                                                              \
    for (; ow < (int)OW; ow++) yp[ow] = AT(xp, W, h0, h1, ow, k, stride, pad);

__kernel void pool_max_rows(__global const float *x, ulong xoff, ulong xsn, uint C, uint H, uint W,
                            __global float *y, ulong yoff, ulong ysn, uint OH, uint OW, int k, int stride, int pad,
                            uint n) {
    POOL_ROW
    POOL_ROW_OUTPUTS(pool_max_at, POOL_MAX_CHUNK)
}

__kernel void pool_avg_rows(__global const float *x, ulong xoff, ulong xsn, uint C, uint H, uint W,
                            __global float *y, ulong yoff, ulong ysn, uint OH, uint OW, int k, int stride, int pad,
                            uint n) {
    POOL_ROW
    POOL_ROW_OUTPUTS(pool_avg_at, POOL_AVG_CHUNK)
}

// pool_global_avg: one work-item per (sample s, channel c), i = s*C + c: the mean of the H*W
// plane, summed in order. y: [N, C, 1, 1] with sample stride ysn.
__kernel void pool_global_avg(__global const float *x, ulong xoff, ulong xsn, uint C, uint HW, __global float *y,
                              ulong yoff, ulong ysn, uint n) {
    size_t gid = get_global_id(0);
    if (gid >= n) return;
    uint i = (uint)gid;
    uint s = i / C, c = i - s * C;
    __global const float *p = x + xoff + (ulong)s * xsn + c * HW;
    float sum = 0.0f;
    for (uint j = 0; j < HW; j++) sum += p[j];
    y[yoff + (ulong)s * ysn + c] = sum / (float)HW;
}

// view_copy: one work-item per element i of a batch of samples of `per` elements: y[i] = x[i]
// between two views that may each have a sample stride. n = N*per.
__kernel void view_copy(__global const float *x, ulong xoff, ulong xsn, __global float *y, ulong yoff, ulong ysn,
                        ulong per, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    y[cg_view_at(i, yoff, ysn, per)] = x[cg_view_at(i, xoff, xsn, per)];
}
