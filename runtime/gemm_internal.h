// gemm_internal.h — what the own GEMM's host files share (gemm_own.c orchestrates; gemm_pack.c
// packs panels; gemm_tile.c runs the micro-kernels on them; gemm_thin.c runs the thin products that
// skip packing): the tile shape, the tunables, and the launch helper.
#ifndef CLGAN_GEMM_INTERNAL_H
#define CLGAN_GEMM_INTERNAL_H

#include "gemm_image.h"
#include "kernel_profile.h"
#include "runtime_internal.h"

// The micro-kernel's tile: rows of an A panel, columns of a B panel (cl/gemm.cl, cl/gemm_pack.cl).
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

static inline size_t cg_ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// Enqueues kernel k (profiled as `name`) over a 3-D range, split so that no enqueue exceeds the
// runtime's grid split of work-groups in dimensions 1 and 2.
cg_status cg_gemm_enqueue(cg_runtime *rt, cl_kernel k, const char *name, const size_t global[3], const size_t local[3]);

// Packs `rows` rows of an operand into panels of w (GEMM_MR or GEMM_NR) at element dst_off of dst.
// rmajor: source element (r, kk) at off + r*ld + kk, else at off + kk*ld + r; `batch` operands,
// the source advancing by src_bstride and the panels by dst_bstride.
cg_status cg_gemm_pack_panels(cg_runtime *rt, int w, int rmajor, cl_mem src, size_t off, size_t ld,
                              size_t src_bstride, size_t rows, size_t k, size_t batch, cl_mem dst, size_t dst_off,
                              size_t dst_bstride);

// Floats of B per pack-then-multiply step on this device (CG_GEMM_B_BLOCK on CPUs,
// $CLGAN_GEMM_B_BLOCK; 0: whole operands).
cg_status cg_gemm_b_block_floats(const cg_runtime *rt, size_t *out);

// The device's default register tile (CG_GEMM_TILE_*): wide tiles where floats have 16-lane native
// vectors, CPUs only (gemm_tile.c).
int cg_gemm_tile_default(const cg_device_info *dev);

// Whether the runtime's tile reads two B panels (32 columns: gemm_6x32, gemm_12x32), and the
// work-group for a micro-kernel k over mp x np tiles of `batch` products.
int cg_gemm_tile_wide(const cg_runtime *rt);
void cg_gemm_tile_local(const cg_runtime *rt, cl_kernel k, size_t mp, size_t np, size_t batch, size_t local[3]);

// C = alpha op(A) op(B) + beta C for k = kc, from A panels at ap_off and B panels at bp_off of the
// GEMM temporary buffer (ap_bstride / bp_bstride between products, 0 when shared).
cg_status cg_gemm_tiles(cg_runtime *rt, const cg_gemm_args *g, size_t kc, float beta, size_t ap_off,
                        size_t ap_bstride, size_t bp_off, size_t bp_bstride, size_t c_stride, size_t batch);

// The same with B untransposed and kc <= CG_GEMM_UB_MAX_K read where it lies (element b_off of g->b,
// b_stride between products): gemm_stripe16, no B panels; A panels at the start of the temporary buffer.
cg_status cg_gemm_stripes(cg_runtime *rt, const cg_gemm_args *g, size_t kc, float beta, size_t ap_bstride,
                          size_t b_off, size_t b_stride, size_t c_stride, size_t batch);

// Whether the device rule sends stride-2 convolutions to the path that reads B from the image
// (gemm_conv.c; CLGAN_GEMM_CONV_DIRECT=1 sends them there whatever this says).
#ifndef CG_GEMM_CONV_S2_RULE
#define CG_GEMM_CONV_S2_RULE 1
#endif

// Stride-1 and stride-2 convolutions with B read from the image (gemm_conv.c, cl/gemm.cl
// gemm_conv6x32, gemm_conv6x32_s2 on phase images): whether the runtime takes that path for im, and
// cg_gemm_image_b's product through it (bit-identical to the packed path in one k block), with the
// epilogue ep (NULL: none) in its store. The copies of samples [b0, b0 + batch) of im it reads
// (gemm_pack.c): padded planes of (h + 2ph) x (w + 2pw), or with phases the four phase planes of
// each padded plane (cl/gemm_pack.cl gemm_phase_image), at dst_off, a sample every dst_sn floats,
// zero from the planes up to dst_sn.
int cg_gemm_conv_fits(const cg_runtime *rt, const cg_gemm_image *im);
cg_status cg_gemm_conv(cg_runtime *rt, const cg_gemm_args *g, const cg_gemm_image *im, size_t c_stride, size_t batch,
                       const cg_gemm_epilogue *ep);
cg_status cg_gemm_image_copy(cg_runtime *rt, const cg_gemm_image *im, int phases, size_t b0, size_t batch, cl_mem dst,
                             size_t dst_off, size_t dst_sn);

// Whether the thin path (gemm_thin.c) runs a product of `batch` (only single products go there),
// and running one.
int cg_gemm_thin_fits(const cg_runtime *rt, const cg_gemm_args *g, size_t batch);
cg_status cg_gemm_thin(cg_runtime *rt, const cg_gemm_args *g);
// Test hook: the A B^T split kernel to take (-1 the device's rule, 0 gemm_nt_split, 1 gemm_nt_split16,
// 2 gemm_nt_row16); returns the previous setting.
int cg_gemm_thin_force_nt(int variant);

#endif
