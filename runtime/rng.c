// rng.c — Philox4x32-10 random numbers on the host and the launchers of the "rng" kernels.
// The math lives in cl/rng.cl, which is included here as C so host and device share one source:
// see that file's header for the stream layout and the portable normal transform.
#include "runtime.h"

#include "../cl/rng.cl"

#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "rng.c needs float arithmetic evaluated in float (FLT_EVAL_METHOD 0, e.g. SSE, not x87)"
#endif
#if defined(__FAST_MATH__)
#error "rng.c must not be built with -ffast-math: results would differ from the OpenCL kernels"
#endif

void cg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    cg_rng_philox(ctr, key, out);
}

float cg_rng_uniform_at(cg_rng r, uint64_t i) {
    uint32_t w[4];
    cg_rng_block(r.seed, r.stream, i >> 2, w);
    return cg_rng_u01(w[i & 3]);
}

float cg_rng_normal_at(cg_rng r, uint64_t i) {
    uint32_t w[4];
    cg_rng_block(r.seed, r.stream, (i >> 1) | CG_RNG_NORMAL_BLOCK_BIT, w);
    unsigned j = (unsigned)(i & 1);
    return cg_rng_normal_pair(w[2 * j], w[2 * j + 1]);
}

void cg_rng_uniform_host(cg_rng r, uint64_t first, float *out, size_t n) {
    uint32_t w[4];
    for (size_t j = 0; j < n; j++) {
        uint64_t i = first + j;
        if (j == 0 || (i & 3) == 0) cg_rng_block(r.seed, r.stream, i >> 2, w);
        out[j] = cg_rng_u01(w[i & 3]);
    }
}

void cg_rng_normal_host(cg_rng r, uint64_t first, float *out, size_t n, float mean, float std) {
    uint32_t w[4];
    for (size_t j = 0; j < n; j++) {
        uint64_t i = first + j;
        if (j == 0 || (i & 1) == 0) cg_rng_block(r.seed, r.stream, (i >> 1) | CG_RNG_NORMAL_BLOCK_BIT, w);
        unsigned h = (unsigned)(i & 1);
        float z = cg_rng_normal_pair(w[2 * h], w[2 * h + 1]);
        float v = std * z; // one multiply, then one add: the kernel does the same
        out[j] = mean + v;
    }
}

// Launches `kernel` with one work-item per Philox block touched by [first, first + n); a block
// holds `per_block` elements (4 uniforms or 2 normals).
static cg_status rng_launch(cg_runtime *rt, const char *kernel, unsigned per_block, cg_rng r, uint64_t first,
                            cg_tensor t, float a, float b) {
    if (!rt) return cg_fail(CG_ERR_INVALID_ARG, "%s: no runtime", kernel);
    if (t.n < 0 || t.c < 0 || t.h < 0 || t.w < 0)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: negative tensor shape %dx%dx%dx%d", kernel, t.n, t.c, t.h, t.w);
    size_t n = cg_numel(t);
    if (n == 0) return CG_OK;
    if (!t.buf) return cg_fail(CG_ERR_INVALID_ARG, "%s: tensor has no buffer", kernel);
    if (first > UINT64_MAX - (uint64_t)(n - 1))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: index range %llu + %zu passes 2^64", kernel,
                       (unsigned long long)first, n);
    uint64_t last = first + (uint64_t)(n - 1);
    uint64_t blocks = last / per_block - first / per_block + 1;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "rng", kernel, &k));
    cl_ulong off = (cl_ulong)t.off, count = (cl_ulong)n, seed = r.seed, stream = r.stream, start = first;
    cl_float pa = a, pb = b;
    cg_status st = cg_launch1d(rt, k, (size_t)blocks, CG_ARG(t.buf), CG_ARG(off), CG_ARG(count), CG_ARG(seed),
                               CG_ARG(stream), CG_ARG(start), CG_ARG(pa), CG_ARG(pb));
    if (st != CG_OK) return cg_fail_context(st, "%s of %zu elements", kernel, n);
    return CG_OK;
}

cg_status cg_rng_uniform(cg_runtime *rt, cg_rng r, uint64_t first, cg_tensor t, float lo, float hi) {
    return rng_launch(rt, "rng_uniform", 4, r, first, t, lo, hi);
}

cg_status cg_rng_normal(cg_runtime *rt, cg_rng r, uint64_t first, cg_tensor t, float mean, float std) {
    return rng_launch(rt, "rng_normal", 2, r, first, t, mean, std);
}
