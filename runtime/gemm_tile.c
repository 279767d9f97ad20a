// gemm_tile.c — launches the own GEMM's micro-kernels (cl/gemm.cl): the register tile over packed
// panels of op(A) and op(B) (6x16, 6x32 or 12x32 per the device's rule), and the stripe kernel for
// short k with B read where it lies.
#include "gemm_internal.h"

#include <string.h>

// Per CG_GEMM_TILE_*: the kernel, and the 6-row A panels and 16-column B panels of one work-item.
static const struct {
    const char *kernel;
    int pa, pb;
} tiles[CG_GEMM_TILE_COUNT] = {
    [CG_GEMM_TILE_6X16] = {"gemm_6x16", 1, 1},
    [CG_GEMM_TILE_6X32] = {"gemm_6x32", 1, 2},
    [CG_GEMM_TILE_12X32] = {"gemm_12x32", 2, 2},
};

const char *cg_gemm_tile_name(int tile) {
    return tile > CG_GEMM_TILE_AUTO && tile < CG_GEMM_TILE_COUNT ? tiles[tile].kernel : "auto";
}

int cg_gemm_tile_parse(const char *name) {
    if (!strcmp(name, "auto")) return CG_GEMM_TILE_AUTO;
    for (int t = CG_GEMM_TILE_AUTO + 1; t < CG_GEMM_TILE_COUNT; t++)
        if (!strcmp(name, tiles[t].kernel) || !strcmp(name, tiles[t].kernel + 5)) return t;
    return -1;
}

// CPUs whose native float vector has 16 lanes (AVX-512) take gemm_6x32: each k step is two whole
// 512-bit B loads, six broadcasts and twelve 512-bit fma with every accumulator in a register (PoCL
// 3.1 on a 2-core AMD EPYC, family 26; see cl/gemm.cl). GPUs and narrower CPUs keep gemm_6x16: a
// 6x32 tile holds 192 accumulator floats per work-item, and it spills on every GPU target.
int cg_gemm_tile_default(const cg_device_info *dev) {
    cl_uint width = 0;
    if (!(dev->type & CL_DEVICE_TYPE_CPU) || !dev->device ||
        clGetDeviceInfo(dev->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width, &width, NULL) != CL_SUCCESS)
        return CG_GEMM_TILE_6X16;
    return width >= 16 ? CG_GEMM_TILE_6X32 : CG_GEMM_TILE_6X16;
}

int cg_gemm_tile_wide(const cg_runtime *rt) {
    int tile = rt->gemm_policy.own_tile;
    return tile > CG_GEMM_TILE_AUTO && tile < CG_GEMM_TILE_COUNT && tiles[tile].pb == 2;
}

// The micro-kernel's work-group: the device rule's size, clamped to what the kernel allows, and
// shrunk while there would be fewer than 8 work-groups per compute unit, so that skinny products
// (few tiles, long k) still spread evenly over the cores.
void cg_gemm_tile_local(const cg_runtime *rt, cl_kernel k, size_t mp, size_t np, size_t batch, size_t local[3]) {
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
    int tile = rt->gemm_policy.own_tile;
    if (tile <= CG_GEMM_TILE_AUTO || tile >= CG_GEMM_TILE_COUNT) tile = CG_GEMM_TILE_6X16;
    size_t mp = cg_ceil_div(g->m, GEMM_MR * tiles[tile].pa), np = cg_ceil_div(g->n, GEMM_NR * tiles[tile].pb);
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", tiles[tile].kernel, &kern));
    cl_ulong a_o = ap_off, ap_bs = ap_bstride, b_o = bp_off, bp_bs = bp_bstride;
    cl_ulong c_off = g->c_off, ldc = g->ldc, c_bs = c_stride;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)kc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(a_o), CG_ARG(ap_bs), CG_ARG(rt->gemm_temp),
                                     CG_ARG(b_o), CG_ARG(bp_bs), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc),
                                     CG_ARG(c_bs), CG_ARG(m), CG_ARG(n), CG_ARG(k), CG_ARG(g->alpha), CG_ARG(beta))));
    size_t local[3];
    cg_gemm_tile_local(rt, kern, mp, np, batch, local);
    size_t global[3] = {cg_ceil_div(mp, local[0]) * local[0], cg_ceil_div(np, local[1]) * local[1], batch};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)kc * (double)batch, 0);
    return cg_gemm_enqueue(rt, kern, tiles[tile].kernel, global, local);
}

// One work-item per 16 (32) columns; work-groups shrink (from 16) while there would be fewer than 8 per
// compute unit.
cg_status cg_gemm_stripes(cg_runtime *rt, const cg_gemm_args *g, size_t kc, float beta, size_t ap_bstride,
                          size_t b_off, size_t b_stride, size_t c_stride, size_t batch) {
    // Devices on a tile of two B panels take 32-column stripes (gemm_stripe32, gemm_6x32's k steps).
    int wide = cg_gemm_tile_wide(rt);
    const char *name = wide ? "gemm_stripe32" : "gemm_stripe16";
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", name, &kern));
    cl_ulong ap_off = 0, ap_bs = ap_bstride, bo = b_off, ldb = g->ldb, b_bs = b_stride;
    cl_ulong c_off = g->c_off, ldc = g->ldc, c_bs = c_stride;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)kc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(ap_off), CG_ARG(ap_bs), CG_ARG(g->b), CG_ARG(bo),
                                     CG_ARG(ldb), CG_ARG(b_bs), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc),
                                     CG_ARG(c_bs), CG_ARG(m), CG_ARG(n), CG_ARG(k), CG_ARG(g->alpha), CG_ARG(beta))));
    size_t np = cg_ceil_div(g->n, wide ? 2 * GEMM_NR : GEMM_NR), lx = cg_kernel_local_size(rt, kern);
    if (lx > 16) lx = 16;
    size_t want = 8 * (size_t)(rt->dev.compute_units ? rt->dev.compute_units : 1);
    while (lx > 1 && cg_ceil_div(np, lx) * batch < want) lx /= 2;
    size_t local[3] = {lx, 1, 1}, global[3] = {cg_ceil_div(np, lx) * lx, 1, batch};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)kc * (double)batch, 0);
    return cg_gemm_enqueue(rt, kern, name, global, local);
}

