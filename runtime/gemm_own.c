// gemm_own.c — host side of clgan's own SGEMM (cl/gemm.cl): packs op(A) and op(B) into panels in
// the GEMM temporary buffer, then runs the 6x16 register-tiled micro-kernel (an untransposed B with
// a short k is read in place instead); strided batches too.
#include "gemm_image.h"
#include "kernel_profile.h"
#include "runtime_internal.h"

#define GEMM_MR 6
#define GEMM_NR 16
// Shortest k block the own GEMM accepts before it splits a batch to fit the device's largest allocation.
#ifndef CG_GEMM_MIN_KC
#define CG_GEMM_MIN_KC 64
#endif

// Longest k for which an untransposed B is read where it lies (gemm_stripe16) rather than from
// packed panels: with short k each value of B serves only the m/6 tiles of its column stripe, so
// packing it costs about as much as the product. At most cl/gemm.cl's GEMM_STRIPE_MAX_K (64).
#ifndef CG_GEMM_UB_MAX_K
#define CG_GEMM_UB_MAX_K 64
#endif
_Static_assert(CG_GEMM_UB_MAX_K <= 64, "CG_GEMM_UB_MAX_K exceeds gemm_stripe16's private stripe (64 rows)");

// Thin A B^T products (weight gradients): k chunk of the split path, and the most 6x16 tiles of C
// for which it replaces packing (see nt_split).
#ifndef CG_GEMM_NT_KC
#define CG_GEMM_NT_KC 1024
#endif
#ifndef CG_GEMM_NT_MAX_TILES
#define CG_GEMM_NT_MAX_TILES 64
#endif

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// Enqueues the 3-D range, split so that no enqueue has more than the runtime's grid split of
// work-groups in dimension 1 or 2 (NVIDIA's limit is 65,535); the kernels index with
// get_global_id, which includes the offsets.
static cg_status enqueue(cg_runtime *rt, cl_kernel k, const char *name, const size_t global[3], const size_t local[3]) {
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

// Packs one operand into panels of w rows at element dst_off of the temporary buffer.
// rmajor: source element (r, kk) at off + r*ld + kk, else at off + kk*ld + r. batch copies, the
// source advancing by src_bstride and the panels by dst_bstride.
static cg_status pack(cg_runtime *rt, int w, int rmajor, cl_mem src, size_t off, size_t ld, size_t src_bstride,
                      size_t rows, size_t k, size_t batch, cl_mem dst, size_t dst_off, size_t dst_bstride) {
    char name[32];
    snprintf(name, sizeof name, "gemm_pack_%s%d", rmajor ? "rmajor" : "kmajor", w);
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", name, &kern));
    cl_ulong a_off = off, a_ld = ld, a_bs = src_bstride, d_off = dst_off, d_bs = dst_bstride;
    cl_int a_rows = (cl_int)rows, a_k = (cl_int)k;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(src), CG_ARG(a_off), CG_ARG(a_ld), CG_ARG(a_bs), CG_ARG(a_rows),
                                     CG_ARG(a_k), CG_ARG(dst), CG_ARG(d_off), CG_ARG(d_bs))));
    size_t along_k = rmajor ? ceil_div(k, 8) : k, lx = cg_kernel_local_size(rt, kern);
    if (lx > 64) lx = 64;
    size_t local[3] = {lx, 1, 1};
    size_t global[3] = {ceil_div(along_k, lx) * lx, ceil_div(rows, (size_t)w), batch};
    cg_profile_work(rt, 0, 2.0 * sizeof(float) * (double)rows * (double)k * (double)batch);
    return enqueue(rt, kern, name, global, local);
}

// Packs rows [k0, k0 + k) of the im2col matrices of `batch` samples (from sample b0) into 16-column
// panels at element dst_off, a packed operand every dst_bstride.
static cg_status pack_image(cg_runtime *rt, const cg_gemm_image *im, size_t b0, size_t k0, size_t k, size_t batch,
                            cl_mem dst, size_t dst_off, size_t dst_bstride) {
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_pack_im2col16", &kern));
    size_t P = (size_t)im->oh * im->ow;
    cl_ulong off = im->off + b0 * im->sample_stride, sn = im->sample_stride, d_off = dst_off, d_bs = dst_bstride;
    cl_int ow = im->ow, p = (cl_int)P, ck0 = (cl_int)k0, ck = (cl_int)k;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(im->img), CG_ARG(off), CG_ARG(sn), CG_ARG(im->h), CG_ARG(im->w),
                                     CG_ARG(im->kh), CG_ARG(im->kw), CG_ARG(im->sh), CG_ARG(im->sw), CG_ARG(im->ph),
                                     CG_ARG(im->pw), CG_ARG(ow), CG_ARG(p), CG_ARG(ck0), CG_ARG(ck),
                                     CG_ARG(dst), CG_ARG(d_off), CG_ARG(d_bs))));
    size_t lx = cg_kernel_local_size(rt, kern);
    if (lx > 64) lx = 64;
    size_t local[3] = {lx, 1, 1};
    size_t global[3] = {ceil_div(k, lx) * lx, ceil_div(P, (size_t)GEMM_NR), batch};
    cg_profile_work(rt, 0, sizeof(float) * (double)(ceil_div(P, GEMM_NR) * GEMM_NR) * (double)k * (double)batch);
    return enqueue(rt, kern, "gemm_pack_im2col16", global, local);
}

// The micro-kernel's work-group: the device rule's size, clamped to what the kernel allows, and
// shrunk while there would be fewer than 8 work-groups per compute unit, so that skinny products
// (few tiles, long k) still spread evenly over the cores.
static void tile_local(const cg_runtime *rt, cl_kernel k, size_t mp, size_t np, size_t batch, size_t local[3]) {
    size_t lx = rt->gemm_policy.own_lx > 0 ? (size_t)rt->gemm_policy.own_lx : 8;
    size_t ly = rt->gemm_policy.own_ly > 0 ? (size_t)rt->gemm_policy.own_ly : 8;
    size_t kmax = 0;
    if (clGetKernelWorkGroupInfo(k, rt->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL) !=
            CL_SUCCESS || kmax == 0)
        kmax = rt->dev.max_work_group ? rt->dev.max_work_group : 1;
    if (rt->kernel_work_group_cap && rt->kernel_work_group_cap < kmax) kmax = rt->kernel_work_group_cap;
    size_t want = 8 * (size_t)(rt->dev.compute_units ? rt->dev.compute_units : 1);
    for (;;) {
        size_t groups = ceil_div(mp, lx) * ceil_div(np, ly) * batch;
        if (lx * ly <= kmax && (groups >= want || lx * ly == 1)) break;
        if (lx >= ly && lx > 1) lx /= 2;
        else if (ly > 1) ly /= 2;
        else break;
    }
    local[0] = lx;
    local[1] = ly;
    local[2] = 1;
}

// C = alpha op(A) B + beta C over one block of kc <= CG_GEMM_UB_MAX_K rows of B (untransposed,
// from element b_off, b_stride between products), op(A) already packed at the start of the
// temporary buffer, ap_bstride between products: gemm_stripe16, no B panels. One work-item per 16
// columns; work-groups shrink (from 16) while there would be fewer than 8 per compute unit.
static cg_status stripes(cg_runtime *rt, const cg_gemm_args *g, size_t kc, float beta, size_t ap_bstride,
                         size_t b_off, size_t b_stride, size_t c_stride, size_t batch) {
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_stripe16", &kern));
    cl_ulong ap_off = 0, ap_bs = ap_bstride, bo = b_off, ldb = g->ldb, b_bs = b_stride;
    cl_ulong c_off = g->c_off, ldc = g->ldc, c_bs = c_stride;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)kc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(ap_off), CG_ARG(ap_bs), CG_ARG(g->b), CG_ARG(bo),
                                     CG_ARG(ldb), CG_ARG(b_bs), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc),
                                     CG_ARG(c_bs), CG_ARG(m), CG_ARG(n), CG_ARG(k), CG_ARG(g->alpha), CG_ARG(beta))));
    size_t np = ceil_div(g->n, GEMM_NR), lx = cg_kernel_local_size(rt, kern);
    if (lx > 16) lx = 16;
    size_t want = 8 * (size_t)(rt->dev.compute_units ? rt->dev.compute_units : 1);
    while (lx > 1 && ceil_div(np, lx) * batch < want) lx /= 2;
    size_t local[3] = {lx, 1, 1}, global[3] = {ceil_div(np, lx) * lx, 1, batch};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)kc * (double)batch, 0);
    return enqueue(rt, kern, "gemm_stripe16", global, local);
}

// One block of k, [k0, k0 + kc): packs both operands' slices and accumulates their product into C
// with `beta` (the caller's beta for the first block, 1 for the following ones).
// With im != NULL, B is the im2col matrix of samples [b_sample0, b_sample0 + batch) of im.
static cg_status own_block(cg_runtime *rt, const cg_gemm_args *g, size_t k0, size_t kc, float beta, size_t a_stride,
                           size_t b_stride, size_t c_stride, size_t batch, const cg_gemm_image *im,
                           size_t b_sample0) {
    size_t mp = ceil_div(g->m, GEMM_MR), np = ceil_div(g->n, GEMM_NR);
    // A batch stride of 0 means every product shares that operand: pack it once.
    size_t a_batches = a_stride ? batch : 1, b_batches = b_stride ? batch : 1;
    size_t a_panels = mp * GEMM_MR * kc, b_panels = np * GEMM_NR * kc;
    size_t b_at = a_panels * a_batches;
    int pack_b = im || g->trans_b || kc > CG_GEMM_UB_MAX_K;
    CG_TRY(cg_gemm_temp_reserve(rt, (b_at + (pack_b ? b_panels * b_batches : 0)) * sizeof(float)));
    // op(A)[i, kk] is A[i*lda + kk] untransposed (rows contiguous along k), A[kk*lda + i] transposed;
    // op(B)[kk, j] is B[kk*ldb + j] untransposed, B[j*ldb + kk] transposed.
    size_t a_off = g->a_off + (g->trans_a ? k0 * g->lda : k0), b_off = g->b_off + (g->trans_b ? k0 : k0 * g->ldb);
    CG_TRY(pack(rt, GEMM_MR, !g->trans_a, g->a, a_off, g->lda, a_stride, g->m, kc, a_batches, rt->gemm_temp, 0,
                a_stride ? a_panels : 0));
    if (!pack_b) return stripes(rt, g, kc, beta, a_stride ? a_panels : 0, b_off, b_stride, c_stride, batch);
    if (im)
        CG_TRY(pack_image(rt, im, b_sample0, k0, kc, b_batches, rt->gemm_temp, b_at, b_panels));
    else
        CG_TRY(pack(rt, GEMM_NR, g->trans_b, g->b, b_off, g->ldb, b_stride, g->n, kc, b_batches, rt->gemm_temp, b_at,
                    b_stride ? b_panels : 0));

    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_6x16", &kern));
    cl_ulong ap_off = 0, ap_bs = a_stride ? a_panels : 0, bp_off = b_at, bp_bs = b_stride ? b_panels : 0;
    cl_ulong c_off = g->c_off, ldc = g->ldc, c_bs = c_stride;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)kc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(ap_off), CG_ARG(ap_bs), CG_ARG(rt->gemm_temp),
                                     CG_ARG(bp_off), CG_ARG(bp_bs), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc),
                                     CG_ARG(c_bs), CG_ARG(m), CG_ARG(n), CG_ARG(k), CG_ARG(g->alpha), CG_ARG(beta))));
    size_t local[3];
    tile_local(rt, kern, mp, np, batch, local);
    size_t global[3] = {ceil_div(mp, local[0]) * local[0], ceil_div(np, local[1]) * local[1], batch};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)kc * (double)batch, 0);
    return enqueue(rt, kern, "gemm_6x16", global, local);
}

// Floats of packed panels per unit of k for a batch of bc products.
static size_t panel_floats(const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t bc) {
    size_t mp = ceil_div(g->m, GEMM_MR), np = ceil_div(g->n, GEMM_NR);
    return mp * GEMM_MR * (a_stride ? bc : 1) + np * GEMM_NR * (b_stride ? bc : 1);
}

// Whether C = alpha A B^T + beta C goes the split path: one product, k contiguous in both operands,
// and either few tiles of C with a long k (the packed path would run few work-items per k block,
// and pack long operands only to read them once) or a C of fewer than 6 rows or columns (a 6x16
// tile would be mostly padding).
static int nt_split_fits(const cg_runtime *rt, const cg_gemm_args *g, size_t batch) {
    if (batch != 1 || g->trans_a || !g->trans_b) return 0;
    // The partial tiles must fit one allocation (else the packed path, which blocks k, runs it).
    size_t cap = rt->dev.max_alloc ? (size_t)(rt->dev.max_alloc / sizeof(float)) : (size_t)-1;
    if (g->m * g->n > cap / ceil_div(g->k, CG_GEMM_NT_KC)) return 0;
    size_t tiles = ceil_div(g->m, GEMM_MR) * ceil_div(g->n, GEMM_NR);
    return (g->k >= CG_GEMM_NT_KC && tiles <= CG_GEMM_NT_MAX_TILES) || g->m < GEMM_MR || g->n < GEMM_MR;
}

// The split path (cl/gemm.cl gemm_nt_split, then gemm_split_reduce when k has several chunks):
// chunks of CG_GEMM_NT_KC along k, a fixed number for the shape, so the result does not depend on
// the device.
static cg_status nt_split(cg_runtime *rt, const cg_gemm_args *g) {
    size_t splits = ceil_div(g->k, CG_GEMM_NT_KC), mt = ceil_div(g->m, 4), nt = ceil_div(g->n, 4);
    if (splits > 1) CG_TRY(cg_gemm_temp_reserve(rt, splits * g->m * g->n * sizeof(float)));
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_nt_split", &kern));
    cl_ulong a_off = g->a_off, lda = g->lda, b_off = g->b_off, ldb = g->ldb, p_off = 0;
    cl_ulong o_off = splits > 1 ? 0 : g->c_off, ldo = splits > 1 ? g->n : g->ldc;
    cl_mem out = splits > 1 ? rt->gemm_temp : g->c;
    float o_alpha = splits > 1 ? 1.0f : g->alpha, o_beta = splits > 1 ? 0.0f : g->beta;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)g->k, kc = CG_GEMM_NT_KC;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(g->a), CG_ARG(a_off), CG_ARG(lda), CG_ARG(g->b), CG_ARG(b_off),
                                     CG_ARG(ldb), CG_ARG(out), CG_ARG(o_off), CG_ARG(ldo), CG_ARG(m), CG_ARG(n),
                                     CG_ARG(k), CG_ARG(kc), CG_ARG(o_alpha), CG_ARG(o_beta))));
    // A work-group: the tiles of one chunk (their operands' chunk stays in one core's cache).
    size_t local[3] = {mt < 8 ? mt : 8, nt < 8 ? nt : 8, 1};
    size_t kmax = cg_kernel_local_size(rt, kern);
    while (local[0] * local[1] > kmax && (local[0] > 1 || local[1] > 1)) {
        if (local[0] >= local[1]) local[0] = (local[0] + 1) / 2;
        else local[1] = (local[1] + 1) / 2;
    }
    size_t global[3] = {ceil_div(mt, local[0]) * local[0], ceil_div(nt, local[1]) * local[1], splits};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)g->k, 0);
    CG_TRY(enqueue(rt, kern, "gemm_nt_split", global, local));
    if (splits == 1) return CG_OK;

    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_split_reduce", &kern));
    cl_int sp = (cl_int)splits;
    cl_ulong c_off = g->c_off, ldc = g->ldc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(p_off), CG_ARG(sp), CG_ARG(m), CG_ARG(n),
                                     CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc), CG_ARG(g->alpha), CG_ARG(g->beta))));
    size_t rl = cg_kernel_local_size(rt, kern);
    if (rl > 64) rl = 64;
    size_t rlocal[3] = {rl, 1, 1}, rglobal[3] = {ceil_div(g->n, rl) * rl, g->m, 1};
    cg_profile_work(rt, (double)g->m * (double)g->n * (double)splits, 0);
    return enqueue(rt, kern, "gemm_split_reduce", rglobal, rlocal);
}

static cg_status own(cg_runtime *rt, const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t c_stride,
                     size_t batch, const cg_gemm_image *im) {
    if (g->m > 0x7fffffff || g->n > 0x7fffffff || g->k > 0x7fffffff)
        return cg_fail(CG_ERR_INVALID_ARG, "own gemm: m=%zu n=%zu k=%zu exceeds 2^31", g->m, g->n, g->k);
    if (!im && nt_split_fits(rt, g, batch)) return nt_split(rt, g);
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
                          size_t batch) {
    size_t P = (size_t)src->oh * src->ow, K = (size_t)src->c * src->kh * src->kw;
    if (g->n != P || g->k != K || g->trans_b)
        return cg_fail(CG_ERR_INVALID_ARG, "gemm over an image: n=%zu k=%zu (trans_b %d) do not match the %dx%d "
                                           "positions and %zu window rows",
                       g->n, g->k, g->trans_b, src->oh, src->ow, K);
    if (cg_gemm_pick(rt, g->m, g->n, g->k) != CG_GEMM_OWN)
        return cg_fail(CG_ERR_INVALID_ARG, "gemm over an image needs the own GEMM kernels (m=%zu n=%zu k=%zu)", g->m,
                       g->n, g->k);
    if (g->m == 0 || g->n == 0 || batch == 0) return CG_OK;
    // b_stride 1 only marks B as per-product (one packed operand per sample); offsets come from src.
    return own(rt, g, 0, 1, c_stride, batch, src);
}

cg_status cg_gemm_pack_b16(cg_runtime *rt, int trans, cl_mem src, size_t off, size_t ld, size_t src_bstride, size_t n,
                           size_t k, size_t batch, cl_mem dst, size_t dst_off, size_t dst_bstride) {
    if (n == 0 || k == 0 || batch == 0) return CG_OK;
    return pack(rt, GEMM_NR, trans, src, off, ld, src_bstride, n, k, batch, dst, dst_off, dst_bstride);
}

cg_status cg_gemm_pack_image16(cg_runtime *rt, const cg_gemm_image *im, size_t b0, size_t k0, size_t k, size_t batch,
                               cl_mem dst, size_t dst_off, size_t dst_bstride) {
    if (k == 0 || batch == 0 || im->oh <= 0 || im->ow <= 0) return CG_OK;
    return pack_image(rt, im, b0, k0, k, batch, dst, dst_off, dst_bstride);
}
