// gemm_own.c — host side of clgan's own SGEMM: picks the path for a product (thin products to
// gemm_thin.c; else k blocks, each packing op(A) and op(B) into panels (gemm_pack.c) and running the
// micro-kernel on them (gemm_tile.c), B in cache-sized steps on CPUs; an untransposed B with a
// short k is read in place), splits batches to fit the device's largest allocation; strided batches
// and B from images too (stride-1 convolutions to gemm_conv.c where the device takes them).
#include "gemm_internal.h"

#include <errno.h>
#include <stdlib.h>

// Splits at NVIDIA's limit of 65,535 work-groups; the kernels index with get_global_id, which
// includes the offsets.
cg_status cg_gemm_enqueue(cg_runtime *rt, cl_kernel k, const char *name, const size_t global[3],
                          const size_t local[3]) {
    size_t step1 = cg_runtime_grid_split(rt) * local[1], step2 = cg_runtime_grid_split(rt) * local[2];
    for (size_t z = 0; z < global[2]; z += step2)
        for (size_t y = 0; y < global[1]; y += step1) {
            size_t off[3] = {0, y, z};
            size_t part[3] = {global[0], global[1] - y < step1 ? global[1] - y : step1,
                              global[2] - z < step2 ? global[2] - z : step2};
            cl_event ev, *evp = cg_profile_event_slot(rt, &ev);
            cl_int err = clEnqueueNDRangeKernel(rt->queue, k, 3, off, part, local, 0, NULL, evp);
            if (err == CL_SUCCESS && evp) cg_profile_record(rt, k, name, ev);
            if (err != CL_SUCCESS)
                return cg_fail(err, "launching %s (global %zux%zux%zu at %zu,%zu, local %zux%zux%zu) on %s failed: %s",
                               name, part[0], part[1], part[2], y, z, local[0], local[1], local[2], rt->dev.name,
                               cg_status_name(err));
        }
    return CG_OK;
}

// Bytes of packed B panels that one pack-then-multiply step covers on CPU devices: the pack writes
// them and the micro-kernel reads them back while they are still in cache, instead of packing a
// whole operand (Inception's stem: 1.2 GB per k block) through DRAM. GPU devices pack whole operands.
// 16 MiB, measured on the 2-core EPYC (L2 1 MiB per core, L3 32 MiB) with bench --suite inception
// at load ~2: the forward 2109-2136 ms against 2216-2292 with whole operands (gemm_pack_im2col16
// 624-635 vs 702-721 ms); 4 MiB was slower than whole operands there (2594 vs 2241 ms: 3244 packing
// launches of tens of microseconds each), 32 MiB no better (2344 ms).
#ifndef CG_GEMM_B_BLOCK
#define CG_GEMM_B_BLOCK (16u << 20)
#endif

// Floats of B panels per step: CLGAN_GEMM_B_BLOCK (bytes, 0 = whole operands) overrides the default.
cg_status cg_gemm_b_block_floats(const cg_runtime *rt, size_t *out) {
    const char *e = getenv("CLGAN_GEMM_B_BLOCK");
    unsigned long long bytes = (rt->dev.type & CL_DEVICE_TYPE_CPU) ? CG_GEMM_B_BLOCK : 0;
    if (e && *e) {
        char *end;
        errno = 0;
        bytes = strtoull(e, &end, 10);
        if (errno || *end || *e == '-')
            return cg_fail(CG_ERR_INVALID_ARG,
                           "CLGAN_GEMM_B_BLOCK='%s': expected a number of bytes (0: whole operands)", e);
    }
    *out = (size_t)(bytes / sizeof(float));
    return CG_OK;
}

// One block of k, [k0, k0 + kc): packs op(A)'s slice, then op(B)'s slice in steps of panels (of
// several products while whole products fit a step), each step packed and then multiplied into its
// columns of C with `beta` (the caller's beta for the first k block, 1 for the following ones).
// Steps only change which columns a launch covers: every element of C sees the same fma in the
// same order. With im != NULL, B is the im2col matrix of samples [b_sample0, b_sample0 + batch) of im.
static cg_status own_block(cg_runtime *rt, const cg_gemm_args *g, size_t k0, size_t kc, float beta, size_t a_stride,
                           size_t b_stride, size_t c_stride, size_t batch, const cg_gemm_image *im,
                           size_t b_sample0) {
    size_t mp = cg_ceil_div(g->m, GEMM_MR), np = cg_ceil_div(g->n, GEMM_NR);
    // A batch stride of 0 means every product shares that operand: pack it once.
    size_t a_batches = a_stride ? batch : 1, b_batches = b_stride ? batch : 1;
    size_t a_panels = mp * GEMM_MR * kc, panel = GEMM_NR * kc;
    size_t b_at = a_panels * a_batches;
    int pack_b = im || g->trans_b || kc > CG_GEMM_UB_MAX_K;
    // Step: nq panels of each of ns packed operands.
    size_t nq = np, ns = b_batches, budget = 0;
    if (pack_b) CG_TRY(cg_gemm_b_block_floats(rt, &budget));
    if (budget && np * panel * b_batches > budget) {
        if (np * panel <= budget) ns = budget / (np * panel);
        else ns = 1, nq = budget / panel > 0 ? budget / panel : 1;
        if (nq > 4) nq -= nq % 4; // whole tiles of the wider micro-kernels (32 columns) in every step
    }
    CG_TRY(cg_gemm_temp_reserve(rt, (b_at + (pack_b ? nq * panel * ns : 0)) * sizeof(float)));
    // op(A)[i, kk] is A[i*lda + kk] untransposed (rows contiguous along k), A[kk*lda + i] transposed;
    // op(B)[kk, j] is B[kk*ldb + j] untransposed, B[j*ldb + kk] transposed.
    size_t a_off = g->a_off + (g->trans_a ? k0 * g->lda : k0), b_off = g->b_off + (g->trans_b ? k0 : k0 * g->ldb);
    CG_TRY(cg_gemm_pack_panels(rt, GEMM_MR, !g->trans_a, g->a, a_off, g->lda, a_stride, g->m, kc, a_batches,
                               rt->gemm_temp, 0, a_stride ? a_panels : 0));
    if (!pack_b) return cg_gemm_stripes(rt, g, kc, beta, a_stride ? a_panels : 0, b_off, b_stride, c_stride, batch);
    for (size_t s0 = 0; s0 < b_batches; s0 += ns)
        for (size_t q0 = 0; q0 < np; q0 += nq) {
            size_t sn = b_batches - s0 < ns ? b_batches - s0 : ns, qn = np - q0 < nq ? np - q0 : nq;
            size_t cols = g->n - q0 * GEMM_NR < qn * GEMM_NR ? g->n - q0 * GEMM_NR : qn * GEMM_NR;
            size_t bp_bs = b_stride ? qn * panel : 0;
            if (im)
                CG_TRY(cg_gemm_pack_image16(rt, im, b_sample0 + s0, k0, kc, sn, q0, qn, rt->gemm_temp, b_at, bp_bs));
            else
                CG_TRY(cg_gemm_pack_panels(rt, GEMM_NR, g->trans_b, g->b,
                                           b_off + s0 * b_stride + q0 * GEMM_NR * (g->trans_b ? g->ldb : 1), g->ldb,
                                           b_stride, cols, kc, sn, rt->gemm_temp, b_at, bp_bs));
            // The step's products and columns: C and A (when per product) from product s0, column 16 q0.
            cg_gemm_args part = *g;
            part.c_off += s0 * c_stride + q0 * GEMM_NR;
            part.n = cols;
            CG_TRY(cg_gemm_tiles(rt, &part, kc, beta, a_stride ? s0 * a_panels : 0, a_stride ? a_panels : 0, b_at,
                                 bp_bs, c_stride, b_stride ? sn : batch));
        }
    return CG_OK;
}

// Floats of packed panels per unit of k for a batch of bc products.
static size_t panel_floats(const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t bc) {
    size_t mp = cg_ceil_div(g->m, GEMM_MR), np = cg_ceil_div(g->n, GEMM_NR);
    return mp * GEMM_MR * (a_stride ? bc : 1) + np * GEMM_NR * (b_stride ? bc : 1);
}

static cg_status own(cg_runtime *rt, const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t c_stride,
                     size_t batch, const cg_gemm_image *im) {
    if (g->m > 0x7fffffff || g->n > 0x7fffffff || g->k > 0x7fffffff)
        return cg_fail(CG_ERR_INVALID_ARG, "own gemm: m=%zu n=%zu k=%zu exceeds 2^31", g->m, g->n, g->k);
    if (!im && cg_gemm_thin_fits(rt, g, batch)) return cg_gemm_thin(rt, g);
    // Long k runs in blocks, so a tile's panels stay in cache; the blocks accumulate into C. The
    // panels must fit one allocation: halve the batch while a k block would drop below
    // CG_GEMM_MIN_KC, then shorten the k block.
    size_t kc = rt->gemm_policy.own_kc > 0 ? (size_t)rt->gemm_policy.own_kc : g->k;
    size_t cap = rt->dev.max_alloc ? (size_t)(rt->dev.max_alloc / sizeof(float)) : (size_t)-1, bc = batch;
    size_t min_kc = kc < CG_GEMM_MIN_KC ? kc : CG_GEMM_MIN_KC;
    while (bc > 1 && cap / panel_floats(g, a_stride, b_stride, bc) < min_kc) bc = (bc + 1) / 2;
    size_t fit = cap / panel_floats(g, a_stride, b_stride, bc);
    if (fit == 0)
        return cg_fail(CL_INVALID_BUFFER_SIZE, "own gemm m=%zu n=%zu: one column of packed panels exceeds %s's "
                                               "largest allocation (%llu MiB)",
                       g->m, g->n, rt->dev.name, (unsigned long long)(rt->dev.max_alloc >> 20));
    if (kc > fit) kc = fit;
    for (size_t b0 = 0; b0 < batch; b0 += bc) {
        cg_gemm_args part = *g;
        part.a_off += b0 * a_stride, part.b_off += b0 * b_stride, part.c_off += b0 * c_stride;
        size_t nb = batch - b0 < bc ? batch - b0 : bc;
        for (size_t k0 = 0; k0 < g->k; k0 += kc) {
            size_t n = g->k - k0 < kc ? g->k - k0 : kc;
            CG_TRY(own_block(rt, &part, k0, n, k0 ? 1.0f : g->beta, a_stride, b_stride, c_stride, nb, im, b0));
        }
    }
    return CG_OK;
}

cg_status cg_gemm_own(cg_runtime *rt, const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t c_stride,
                      size_t batch) {
    return own(rt, g, a_stride, b_stride, c_stride, batch, NULL);
}

cg_status cg_gemm_image_b(cg_runtime *rt, const cg_gemm_args *g, const cg_gemm_image *src, size_t c_stride,
                          size_t batch, const cg_gemm_epilogue *ep, int *fused) {
    if (fused) *fused = 0;
    size_t P = (size_t)src->oh * src->ow, K = (size_t)src->c * src->kh * src->kw;
    if (g->n != P || g->k != K || g->trans_b)
        return cg_fail(CG_ERR_INVALID_ARG, "gemm over an image: n=%zu k=%zu (trans_b %d) do not match the %dx%d "
                                           "positions and %zu window rows",
                       g->n, g->k, g->trans_b, src->oh, src->ow, K);
    if (cg_gemm_pick(rt, g->m, g->n, g->k) != CG_GEMM_OWN)
        return cg_fail(CG_ERR_INVALID_ARG, "gemm over an image needs the own GEMM kernels (m=%zu n=%zu k=%zu)", g->m,
                       g->n, g->k);
    if (g->m == 0 || g->n == 0 || batch == 0) return CG_OK;
    if (cg_gemm_conv_fits(rt, src)) {
        CG_TRY(cg_gemm_conv(rt, g, src, c_stride, batch, ep));
        if (fused) *fused = ep != NULL;
        return CG_OK;
    }
    if (src->kh == 1 && src->kw == 1 && src->sh == 1 && src->sw == 1 && !src->ph && !src->pw) {
        // Pointwise: each sample is its own B [c, h*w].
        cg_gemm_args b = *g;
        b.b = src->img, b.b_off = src->off, b.ldb = P;
        return own(rt, &b, 0, src->sample_stride, c_stride, batch, NULL);
    }
    // b_stride 1 only marks B as per-product (one packed operand per sample); offsets come from src.
    return own(rt, g, 0, 1, c_stride, batch, src);
}
