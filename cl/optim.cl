// optim.cl — optimizer updates with torch.optim's rules (PyTorch 1.13, single-tensor path), weight
// clipping, and a fill for optimizer state, gradients and parameter defaults.
// Flat buffers of n floats: parameters p, gradients g, state buffers; one work-item per parameter.
// Scalars that torch computes in double (1 - beta, lr / bias correction, sqrt of a bias
// correction) come in already rounded to float from the host; the float operations below follow
// torch's order (a + alpha * b, a + value * t1 * t2, a + value * t1 / t2).
#pragma OPENCL FP_CONTRACT OFF

// adam_step: g' = g + wd p; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g' g';
// p = p + (-lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps).
__kernel void adam_step(__global float *p, __global const float *g, __global float *m, __global float *v, ulong n,
                        float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float eps, float wd,
                        float neg_step_size, float bc2_sqrt) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float pi = p[i];
    float gi = g[i];
    if (wd != 0.0f) gi = gi + wd * pi;
    float mi = beta1 * m[i];
    mi = mi + one_minus_beta1 * gi;
    float vi = beta2 * v[i];
    vi = vi + one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrt(vi) / bc2_sqrt + eps;
    p[i] = pi + neg_step_size * mi / denom;
}

// rmsprop_step: g' = g + wd p; sq = alpha sq + (1 - alpha) g' g'; avg = sqrt(sq) + eps;
// momentum > 0: buf = momentum buf + g' / avg, p = p - lr buf; else p = p - lr g' / avg.
__kernel void rmsprop_step(__global float *p, __global const float *g, __global float *sq, __global float *buf,
                           ulong n, float alpha, float one_minus_alpha, float eps, float wd, float momentum,
                           float neg_lr) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float pi = p[i];
    float gi = g[i];
    if (wd != 0.0f) gi = gi + wd * pi;
    float si = alpha * sq[i];
    si = si + one_minus_alpha * gi * gi;
    sq[i] = si;
    float avg = sqrt(si) + eps;
    if (momentum > 0.0f) {
        float bi = momentum * buf[i];
        bi = bi + gi / avg;
        buf[i] = bi;
        p[i] = pi + neg_lr * bi;
    } else {
        p[i] = pi + neg_lr * gi / avg;
    }
}

// sgd_step: g' = g + wd p; momentum != 0: buf = g' on the first step, else momentum buf + g';
// p = p - lr buf (p - lr g' without momentum). buf is not touched when momentum == 0.
__kernel void sgd_step(__global float *p, __global const float *g, __global float *buf, ulong n, float wd,
                       float momentum, int first, float neg_lr) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float pi = p[i];
    float d = g[i];
    if (wd != 0.0f) d = d + wd * pi;
    if (momentum != 0.0f) {
        float bi = d;
        if (!first) {
            bi = momentum * buf[i];
            bi = bi + d;
        }
        buf[i] = bi;
        d = bi;
    }
    p[i] = pi + neg_lr * d;
}

// clip_values: p = clamp(p, lo, hi), NaN stays NaN (like torch.clamp_).
__kernel void clip_values(__global float *p, ulong n, float lo, float hi) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    float x = p[i];
    p[i] = x < lo ? lo : (x > hi ? hi : x);
}
