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
// (PoCL). Every output is the same computation in the same order as above, so bit-identical.
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
    h0 = max(h0, 0);

__kernel void pool_max_rows(__global const float *x, ulong xoff, ulong xsn, uint C, uint H, uint W,
                            __global float *y, ulong yoff, ulong ysn, uint OH, uint OW, int k, int stride, int pad,
                            uint n) {
    POOL_ROW
    for (uint ow = 0; ow < OW; ow++) {
        int w0 = (int)(ow * stride) - pad;
        int w1 = min(w0 + k, (int)W);
        w0 = max(w0, 0);
        float m = -INFINITY;
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) {
                float v = xp[(ulong)h * W + w];
                if (v > m || isnan(v)) m = v;
            }
        yp[ow] = m;
    }
}

__kernel void pool_avg_rows(__global const float *x, ulong xoff, ulong xsn, uint C, uint H, uint W,
                            __global float *y, ulong yoff, ulong ysn, uint OH, uint OW, int k, int stride, int pad,
                            uint n) {
    POOL_ROW
    for (uint ow = 0; ow < OW; ow++) {
        int w0 = (int)(ow * stride) - pad;
        int w1 = min(w0 + k, (int)W);
        w0 = max(w0, 0);
        float sum = 0.0f;
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) sum += xp[(ulong)h * W + w];
        yp[ow] = sum / (float)((h1 - h0) * (w1 - w0));
    }
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
