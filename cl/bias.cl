// bias.cl — per-channel bias: adding it to a [N, C, P] tensor and its gradient, the sum of dy over
// N and P for every channel. The gradient is a work-group reduction in a fixed order, so it is
// deterministic and needs no float atomics. Counts are 32-bit (the host keeps them below 2^31).

// bias_add: y[n, c, p] += bias[c] for y [N, C, P] with sample stride y_sn. One work-item per
// element of y, in NCHW order.
__kernel void bias_add(__global float *y, ulong y_off, ulong y_sn, int C, uint P, __global const float *bias,
                       ulong bias_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint t = i / P, p = i % P;
    uint n = t / (uint)C, c = t % (uint)C;
    y[y_off + n * y_sn + (ulong)c * P + p] += bias[bias_off + c];
}

// bias_grad: db[c] += sum over n < N, p < P of dy[n, c, p], for dy [N, C, P] with sample stride
// dy_sn (count = N * P). One work-group per channel (group g sums channel g; groups past C do
// nothing): each work-item adds up the elements lid, lid + L, lid + 2L, ... of the channel's
// count values (L the work-group size), then the group combines its partial sums in a fixed
// binary tree and item 0 adds the total to db[c].
__kernel void bias_grad(__global const float *dy, ulong dy_off, ulong dy_sn, int C, uint P, uint count,
                        __global float *db, ulong db_off) {
    __local float part[CG_WG];
    size_t c = get_group_id(0);
    if (c >= (size_t)C) return; // the whole group leaves together, before any barrier
    uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
    float acc = 0.0f;
    for (uint j = lid; j < count; j += L) {
        uint n = j / P, p = j % P;
        acc += dy[dy_off + n * dy_sn + (ulong)c * P + p];
    }
    part[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = 1; s < L; s *= 2) {
        if (lid % (2 * s) == 0 && lid + s < L) part[lid] += part[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) db[db_off + c] += part[0];
}

// bias_act: y[n, c, p] = act(y[n, c, p] + bias[c]) in place, for y [N, C, P] with sample stride y_sn:
// the epilogue of a convolution whose product was written straight into y. has_bias 0 adds nothing;
// relu 1 then applies ReLU as act_leaky_fwd with slope 0 does (+0 for every non-positive value).
// The sum is the same single float addition bias_add and wide_to_nchw make. One work-item per
// segment of BIAS_ACT_SEG consecutive elements of one plane (segs = ceil(P / BIAS_ACT_SEG) per
// plane, total = N * C * segs): the index arithmetic once per segment, contiguous accesses.
#ifndef BIAS_ACT_SEG
#define BIAS_ACT_SEG 64
#endif
__kernel void bias_act(__global float *y, ulong y_off, ulong y_sn, int C, uint P, __global const float *bias,
                       ulong bias_off, uint total, int has_bias, int relu) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint segs = (P + BIAS_ACT_SEG - 1) / BIAS_ACT_SEG;
    uint i = (uint)gid;
    uint t = i / segs, p0 = (i - t * segs) * BIAS_ACT_SEG;
    uint n = t / (uint)C, c = t - n * (uint)C;
    uint len = min((uint)BIAS_ACT_SEG, P - p0);
    __global float *row = y + y_off + n * y_sn + (ulong)c * P + p0;
    float b = has_bias ? bias[bias_off + c] : 0.0f;
    for (uint j = 0; j < len; j++) {
        float v = row[j];
        if (has_bias) v += b;
        if (relu) v = v > 0.0f ? v : 0.0f;
        row[j] = v;
    }
}
