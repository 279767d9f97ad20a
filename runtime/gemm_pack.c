// gemm_pack.c — launches the packing kernels (cl/gemm_pack.cl): operands into the panels the
// micro-kernels read, and B panels straight from images.
#include "gemm_internal.h"

cg_status cg_gemm_pack_panels(cg_runtime *rt, int w, int rmajor, cl_mem src, size_t off, size_t ld,
                              size_t src_bstride, size_t rows, size_t k, size_t batch, cl_mem dst, size_t dst_off,
                              size_t dst_bstride) {
    char name[32];
    snprintf(name, sizeof name, "gemm_pack_%s%d", rmajor ? "rmajor" : "kmajor", w);
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_pack", name, &kern));
    cl_ulong a_off = off, a_ld = ld, a_bs = src_bstride, d_off = dst_off, d_bs = dst_bstride;
    cl_int a_rows = (cl_int)rows, a_k = (cl_int)k;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(src), CG_ARG(a_off), CG_ARG(a_ld), CG_ARG(a_bs), CG_ARG(a_rows),
                                     CG_ARG(a_k), CG_ARG(dst), CG_ARG(d_off), CG_ARG(d_bs))));
    size_t along_k = rmajor ? cg_ceil_div(k, 8) : k, lx = cg_kernel_local_size(rt, kern);
    if (lx > 64) lx = 64;
    size_t local[3] = {lx, 1, 1};
    size_t global[3] = {cg_ceil_div(along_k, lx) * lx, cg_ceil_div(rows, (size_t)w), batch};
    cg_profile_work(rt, 0, 2.0 * sizeof(float) * (double)rows * (double)k * (double)batch);
    return cg_gemm_enqueue(rt, kern, name, global, local);
}

// Packs rows [k0, k0 + k) of the im2col matrices of `batch` samples (from sample b0), panels
// [q0, q0 + nq), into 16-column panels at element dst_off, a packed operand every dst_bstride.
static cg_status pack_image(cg_runtime *rt, const cg_gemm_image *im, size_t b0, size_t k0, size_t k, size_t batch,
                            size_t q0, size_t nq, cl_mem dst, size_t dst_off, size_t dst_bstride) {
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_pack", "gemm_pack_im2col16", &kern));
    size_t P = (size_t)im->oh * im->ow;
    cl_ulong off = im->off + b0 * im->sample_stride, sn = im->sample_stride, d_off = dst_off, d_bs = dst_bstride;
    cl_int ow = im->ow, p = (cl_int)P, ck0 = (cl_int)k0, ck = (cl_int)k, cq0 = (cl_int)q0;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(im->img), CG_ARG(off), CG_ARG(sn), CG_ARG(im->h), CG_ARG(im->w),
                                     CG_ARG(im->kh), CG_ARG(im->kw), CG_ARG(im->sh), CG_ARG(im->sw), CG_ARG(im->ph),
                                     CG_ARG(im->pw), CG_ARG(ow), CG_ARG(p), CG_ARG(ck0), CG_ARG(ck),
                                     CG_ARG(cq0), CG_ARG(dst), CG_ARG(d_off), CG_ARG(d_bs))));
    size_t lx = cg_kernel_local_size(rt, kern);
    if (lx > 64) lx = 64;
    size_t local[3] = {lx, 1, 1};
    size_t global[3] = {cg_ceil_div(k, lx) * lx, nq, batch};
    cg_profile_work(rt, 0, sizeof(float) * (double)(nq * GEMM_NR) * (double)k * (double)batch);
    return cg_gemm_enqueue(rt, kern, "gemm_pack_im2col16", global, local);
}

cg_status cg_gemm_pack_b16(cg_runtime *rt, int trans, cl_mem src, size_t off, size_t ld, size_t src_bstride, size_t n,
                           size_t k, size_t batch, cl_mem dst, size_t dst_off, size_t dst_bstride) {
    if (n == 0 || k == 0 || batch == 0) return CG_OK;
    return cg_gemm_pack_panels(rt, GEMM_NR, trans, src, off, ld, src_bstride, n, k, batch, dst, dst_off, dst_bstride);
}

cg_status cg_gemm_pack_image16(cg_runtime *rt, const cg_gemm_image *im, size_t b0, size_t k0, size_t k, size_t batch,
                               size_t q0, size_t nq, cl_mem dst, size_t dst_off, size_t dst_bstride) {
    if (k == 0 || batch == 0 || im->oh <= 0 || im->ow <= 0) return CG_OK;
    size_t np = cg_ceil_div((size_t)im->oh * im->ow, GEMM_NR);
    if (q0 >= np) return CG_OK;
    if (nq > np - q0) nq = np - q0;
    return pack_image(rt, im, b0, k0, k, batch, q0, nq, dst, dst_off, dst_bstride);
}

cg_status cg_gemm_image_copy(cg_runtime *rt, const cg_gemm_image *im, int phases, size_t b0, size_t batch, cl_mem dst,
                             size_t dst_off, size_t dst_sn) {
    if (batch == 0) return CG_OK;
    const char *name = phases ? "gemm_phase_image" : "gemm_pad_image";
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_pack", name, &kern));
    cl_ulong off = im->off + b0 * im->sample_stride, sn = im->sample_stride, d_off = dst_off, d_sn = dst_sn;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(im->img), CG_ARG(off), CG_ARG(sn), CG_ARG(im->c), CG_ARG(im->h),
                                     CG_ARG(im->w), CG_ARG(im->ph), CG_ARG(im->pw), CG_ARG(dst), CG_ARG(d_off),
                                     CG_ARG(d_sn))));
    // One work-item per padded row (phase images: rounded up to an even count, one per phase row pair).
    size_t hp = (size_t)im->h + 2 * (size_t)im->ph, rows = phases ? 2 * cg_ceil_div(hp, 2) : hp;
    size_t lx = cg_kernel_local_size(rt, kern);
    if (lx > rows) lx = rows;
    size_t local[3] = {lx, 1, 1}, global[3] = {cg_ceil_div(rows, lx) * lx, (size_t)im->c, batch};
    cg_profile_work(rt, 0, sizeof(float) * ((double)im->c * im->h * im->w + (double)dst_sn) * (double)batch);
    return cg_gemm_enqueue(rt, kern, name, global, local);
}
