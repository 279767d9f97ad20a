// gemm_tile.c — launches the own GEMM's micro-kernels (cl/gemm.cl): the register tile over packed
// panels of op(A) and op(B), and the stripe kernel for short k with B read where it lies.
#include "gemm_internal.h"

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
        size_t groups = cg_ceil_div(mp, lx) * cg_ceil_div(np, ly) * batch;
        if (lx * ly <= kmax && (groups >= want || lx * ly == 1)) break;
        if (lx >= ly && lx > 1) lx /= 2;
        else if (ly > 1) ly /= 2;
        else break;
    }
    local[0] = lx;
    local[1] = ly;
    local[2] = 1;
}

cg_status cg_gemm_tiles(cg_runtime *rt, const cg_gemm_args *g, size_t kc, float beta, size_t ap_off,
                        size_t ap_bstride, size_t bp_off, size_t bp_bstride, size_t c_stride, size_t batch) {
    size_t mp = cg_ceil_div(g->m, GEMM_MR), np = cg_ceil_div(g->n, GEMM_NR);
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_6x16", &kern));
    cl_ulong a_o = ap_off, ap_bs = ap_bstride, b_o = bp_off, bp_bs = bp_bstride;
    cl_ulong c_off = g->c_off, ldc = g->ldc, c_bs = c_stride;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)kc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(a_o), CG_ARG(ap_bs), CG_ARG(rt->gemm_temp),
                                     CG_ARG(b_o), CG_ARG(bp_bs), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc),
                                     CG_ARG(c_bs), CG_ARG(m), CG_ARG(n), CG_ARG(k), CG_ARG(g->alpha), CG_ARG(beta))));
    size_t local[3];
    tile_local(rt, kern, mp, np, batch, local);
    size_t global[3] = {cg_ceil_div(mp, local[0]) * local[0], cg_ceil_div(np, local[1]) * local[1], batch};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)kc * (double)batch, 0);
    return cg_gemm_enqueue(rt, kern, "gemm_6x16", global, local);
}

// One work-item per 16 columns; work-groups shrink (from 16) while there would be fewer than 8 per
// compute unit.
cg_status cg_gemm_stripes(cg_runtime *rt, const cg_gemm_args *g, size_t kc, float beta, size_t ap_bstride,
                          size_t b_off, size_t b_stride, size_t c_stride, size_t batch) {
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", "gemm_stripe16", &kern));
    cl_ulong ap_off = 0, ap_bs = ap_bstride, bo = b_off, ldb = g->ldb, b_bs = b_stride;
    cl_ulong c_off = g->c_off, ldc = g->ldc, c_bs = c_stride;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)kc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(ap_off), CG_ARG(ap_bs), CG_ARG(g->b), CG_ARG(bo),
                                     CG_ARG(ldb), CG_ARG(b_bs), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc),
                                     CG_ARG(c_bs), CG_ARG(m), CG_ARG(n), CG_ARG(k), CG_ARG(g->alpha), CG_ARG(beta))));
    size_t np = cg_ceil_div(g->n, GEMM_NR), lx = cg_kernel_local_size(rt, kern);
    if (lx > 16) lx = 16;
    size_t want = 8 * (size_t)(rt->dev.compute_units ? rt->dev.compute_units : 1);
    while (lx > 1 && cg_ceil_div(np, lx) * batch < want) lx /= 2;
    size_t local[3] = {lx, 1, 1}, global[3] = {cg_ceil_div(np, lx) * lx, 1, batch};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)kc * (double)batch, 0);
    return cg_gemm_enqueue(rt, kern, "gemm_stripe16", global, local);
}

