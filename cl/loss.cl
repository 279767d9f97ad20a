// loss.cl — GAN losses over a batch of logits or critic scores. The mean is reduced by a single
// work-group in a fixed order (no float atomics), so a device gives the same loss on every run.
//
// Layout shared by the kernels: the input has n elements in samples of s elements; element i
// lives at x[cg_view_at(i, x_off, x_stride, s)] (common.cl; x_stride = s for a contiguous view),
// its gradient at dx[cg_view_at(i, dx_off, dx_stride, s)]. The loss goes to loss[loss_off].
// Launch: exactly one work-group of L items with a __local float[L] scratch; work-item l handles
// elements l, l + L, l + 2L, ... in that order, writes their gradients and sums their losses; the
// L partial sums are added by a tree in local memory. Groups other than 0 return at once.
#pragma OPENCL FP_CONTRACT OFF

// Sum of `mine` over the work-group, in a fixed order; every item must call it.
float loss_group_sum(__local float *part, float mine) {
    uint l = get_local_id(0), size = get_local_size(0);
    part[l] = mine;
    for (uint step = 1; step < size; step <<= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if ((l & (2 * step - 1)) == 0 && l + step < size) part[l] += part[l + step];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return part[0];
}

// bce_logits: loss = mean_i(softplus(x_i) - t x_i), written in the stable form
// max(x, 0) - t x + log1p(exp(-|x|)); dx_i = (sigmoid(x_i) - t) / n.
__kernel void bce_logits(__global const float *x, ulong x_off, ulong x_stride, __global float *dx, ulong dx_off,
                         ulong dx_stride, ulong s, ulong n, float target, __global float *loss, ulong loss_off,
                         __local float *part) {
    if (get_group_id(0) != 0) return;
    float sum = 0.0f;
    for (ulong i = get_local_id(0); i < n; i += get_local_size(0)) {
        float v = x[cg_view_at(i, x_off, x_stride, s)];
        float e = exp(-fabs(v)); // in (0, 1]: never overflows
        float one_e = 1.0f + e;
        float sig = v >= 0.0f ? 1.0f / one_e : e / one_e;
        dx[cg_view_at(i, dx_off, dx_stride, s)] = (sig - target) / (float)n;
        float linear = fmax(v, 0.0f) - target * v;
        sum += linear + log1p(e);
    }
    float total = loss_group_sum(part, sum);
    if (get_local_id(0) == 0) loss[loss_off] = total / (float)n;
}

// wasserstein: loss = sign * mean_i(x_i); dx_i = sign / n.
__kernel void wasserstein(__global const float *x, ulong x_off, ulong x_stride, __global float *dx, ulong dx_off,
                          ulong dx_stride, ulong s, ulong n, float sign, __global float *loss, ulong loss_off,
                          __local float *part) {
    if (get_group_id(0) != 0) return;
    float sum = 0.0f;
    float grad = sign / (float)n;
    for (ulong i = get_local_id(0); i < n; i += get_local_size(0)) {
        sum += x[cg_view_at(i, x_off, x_stride, s)];
        dx[cg_view_at(i, dx_off, dx_stride, s)] = grad;
    }
    float total = loss_group_sum(part, sum);
    if (get_local_id(0) == 0) loss[loss_off] = sign * (total / (float)n);
}

// ---- gradient penalty (WGAN-GP) -------------------------------------------------------------
// g holds dD/dx of N samples of `per` elements each (dense, at g_off). Launched as N work-groups
// (cg_launch_groups): group s takes sample s.

// gp_weight: nrm = ||g_s||_2; pen[s] = (nrm - 1)^2 and the penalty's weighting of the sample,
// w_s = scale * (nrm - 1) / nrm * g_s (0 where nrm = 0), scale = 2 lambda / N: the gradient of
// lambda * mean((nrm - 1)^2) with respect to g.
__kernel void gp_weight(__global const float *g, ulong g_off, ulong per, float scale, __global float *w, ulong w_off,
                        __global float *pen, __local float *part) {
    uint s = get_group_id(0), L = get_local_size(0);
    ulong base = (ulong)s * per;
    float sq = 0.0f;
    for (ulong i = get_local_id(0); i < per; i += L) {
        float v = g[g_off + base + i];
        sq += v * v;
    }
    float nrm = sqrt(loss_group_sum(part, sq));
    float coef = nrm > 0.0f ? scale * (nrm - 1.0f) / nrm : 0.0f;
    for (ulong i = get_local_id(0); i < per; i += L) w[w_off + base + i] = coef * g[g_off + base + i];
    if (get_local_id(0) == 0) pen[s] = (nrm - 1.0f) * (nrm - 1.0f);
}

// gp_loss: one work-group: loss = lambda * mean(pen[0..n)).
__kernel void gp_loss(__global const float *pen, ulong n, float lambda, __global float *loss, ulong loss_off,
                      __local float *part) {
    if (get_group_id(0) != 0) return;
    float sum = 0.0f;
    for (ulong i = get_local_id(0); i < n; i += get_local_size(0)) sum += pen[i];
    float total = loss_group_sum(part, sum);
    if (get_local_id(0) == 0) loss[loss_off] = lambda * (total / (float)n);
}
