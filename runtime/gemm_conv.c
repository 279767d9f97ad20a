// gemm_conv.c — stride-1 and stride-2 convolutions whose B operand is read from the image by the
// micro-kernel (cl/gemm.cl gemm_conv6x32, gemm_conv6x32_s2) instead of packed into im2col panels:
// the A panels are packed once, padded stride-1 convolutions first copy their samples with zero
// borders and stride-2 ones split them into four phase images per channel (a step of samples at a
// time, so the copy stays in cache), and each element of C is one fma chain over the whole K: the
// packed path's result with own.kc = 0, bit for bit. Unpadded stride-1 convolutions read x where it lies.
#include "gemm_internal.h"

#include <stdlib.h>
#include <string.h>

// Grid geometry: positions oy*wp + ox over rows as wide as the padded input (stride 1) or as its
// phase images (stride 2: wp = ceil(Wp/2), four phase planes of pq floats per channel).
typedef struct {
    int s2;                   // stride 2: phase images
    size_t wp, pq, plane;     // grid row, phase plane (stride 2), floats between channels
    size_t n_grid;            // grid columns up to the last position + 1
    size_t sample;            // floats a gemm_conv6x32 sample spans: its planes and the 16 it may read past
} conv_grid;

static conv_grid grid_of(const cg_gemm_image *im) {
    conv_grid gr;
    size_t wp = (size_t)im->w + 2 * (size_t)im->pw, hp = (size_t)im->h + 2 * (size_t)im->ph;
    gr.s2 = im->sh == 2;
    gr.wp = gr.s2 ? cg_ceil_div(wp, 2) : wp;
    gr.pq = gr.s2 ? cg_ceil_div(hp, 2) * gr.wp : 0;
    gr.plane = gr.s2 ? 4 * gr.pq : hp * wp;
    gr.n_grid = ((size_t)im->oh - 1) * gr.wp + (size_t)im->ow;
    gr.sample = (size_t)im->c * gr.plane + 16;
    return gr;
}

// $CLGAN_GEMM_CONV_DIRECT: 0 never, 1 every stride-1 or stride-2 convolution on any device, unset
// (or empty) the rule.
int cg_gemm_conv_fits(const cg_runtime *rt, const cg_gemm_image *im) {
    int stride = im->sh == im->sw && (im->sh == 1 || im->sh == 2) ? im->sh : 0;
    if (!stride || im->oh <= 0 || im->ow <= 0) return 0;
    const char *e = getenv("CLGAN_GEMM_CONV_DIRECT");
    if (e && *e) return strcmp(e, "0") != 0;
    // Devices on the wide tiles (CPUs with 512-bit vectors), for windows wider than 1x1 (a 1x1
    // product reads a new channel plane, two or three cache lines, every k step: packed panels
    // measured faster for Inception's 768-channel 1x1s), whose grid needs at most 4/3 of the packed
    // path's 32-column tiles (not 8x8 images padded by one: 96 grid columns for 64 positions). Every
    // such layer of Inception-v3 measured faster direct, 147x147 down to 8x8 (3x1 windows).
    conv_grid gr = grid_of(im);
    size_t grid_cols = cg_ceil_div(gr.n_grid, 32), packed_cols = cg_ceil_div((size_t)im->oh * im->ow, 32);
    // Stride 2 (CG_GEMM_CONV_S2_RULE): windows at least 2x2 (every phase image serves a tap) and no
    // more grid tiles than packed ones. Each window row there reads two phase planes (one row of x at
    // stride 1), so a tile costs more than gemm_6x32's on packed panels: measured at batch 50/64,
    // grids of equal tiles won (Mixed_6a's 35x35 -> 17x17, an 8x8 -> 4x4 k4), one more tile lost
    // (Conv2d_1a, Mixed_7a, DCGAN's 64/32/16 k4).
    if (stride == 2)
        return CG_GEMM_CONV_S2_RULE && cg_gemm_tile_wide(rt) && im->kh >= 2 && im->kw >= 2 &&
               grid_cols <= packed_cols;
    return cg_gemm_tile_wide(rt) && im->kh * im->kw > 1 && 3 * grid_cols <= 4 * packed_cols;
}

// Whether the 16 floats after the last sample's planes lie inside x's buffer (gemm_conv6x32 may read them).
static int tail_readable(const cg_gemm_image *im, const conv_grid *gr, size_t batch) {
    size_t bytes = 0;
    if (clGetMemObjectInfo(im->img, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) != CL_SUCCESS) return 0;
    return (im->off + (batch - 1) * im->sample_stride + gr->sample) * sizeof(float) <= bytes;
}

// C of nb samples from samples at x_off, x_sn apart, laid out as the grid says: one launch over the
// whole K (no k blocks: nothing is packed, so nothing has to stay in cache but the kernel's reads).
static cg_status conv_launch(cg_runtime *rt, const cg_gemm_args *g, const cg_gemm_image *im, const conv_grid *gr,
                             const cg_gemm_epilogue *ep, cl_mem x, size_t x_off, size_t x_sn, size_t c_off,
                             size_t c_stride, size_t nb) {
    // The epilogue is a kernel of its own (cl/gemm.cl says why it is not a flag).
    int has_bias = ep && ep->bias, relu = ep && ep->relu;
    static const char *const names[2][2][2] = {
        {{"gemm_conv6x32", "gemm_conv6x32_relu"}, {"gemm_conv6x32_bias", "gemm_conv6x32_bias_relu"}},
        {{"gemm_conv6x32_s2", "gemm_conv6x32_s2_relu"}, {"gemm_conv6x32_s2_bias", "gemm_conv6x32_s2_bias_relu"}}};
    const char *name = names[gr->s2][has_bias][relu];
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm", name, &kern));
    cl_int K = (cl_int)g->k, wp = (cl_int)gr->wp, ow = im->ow, n_grid = (cl_int)gr->n_grid, m = (cl_int)g->m;
    cl_ulong xo = x_off, xs = x_sn, plane = gr->plane, co = c_off, ldc = g->ldc, cbs = c_stride;
    cl_mem bias = has_bias ? ep->bias : g->c; // any buffer when there is no bias: never read
    cl_ulong b_off = has_bias ? ep->bias_off : 0;
    cl_int pq = (cl_int)gr->pq;
    const cg_arg args[] = {CG_ARG(rt->gemm_temp), CG_ARG(K), CG_ARG(x), CG_ARG(xo), CG_ARG(xs), CG_ARG(plane),
                           CG_ARG(wp), CG_ARG(im->kh), CG_ARG(im->kw), CG_ARG(ow), CG_ARG(n_grid), CG_ARG(g->c),
                           CG_ARG(co), CG_ARG(ldc), CG_ARG(cbs), CG_ARG(m), CG_ARG(g->alpha), CG_ARG(g->beta),
                           CG_ARG(bias), CG_ARG(b_off), CG_ARG(pq)};
    CG_TRY(cg_set_args(kern, args, sizeof args / sizeof args[0] - !gr->s2)); // pq: the stride-2 kernels only
    size_t mp = cg_ceil_div(g->m, GEMM_MR), nq = cg_ceil_div(gr->n_grid, 2 * GEMM_NR), local[3];
    cg_gemm_tile_local(rt, kern, mp, nq, nb, local);
    size_t global[3] = {cg_ceil_div(mp, local[0]) * local[0], cg_ceil_div(nq, local[1]) * local[1], nb};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)g->k * (double)nb, 0);
    return cg_gemm_enqueue(rt, kern, name, global, local);
}

cg_status cg_gemm_conv(cg_runtime *rt, const cg_gemm_args *g, const cg_gemm_image *im, size_t c_stride, size_t batch,
                       const cg_gemm_epilogue *ep) {
    conv_grid gr = grid_of(im);
    if (g->k > 0x7fffffff || g->m > 0x7fffffff || (size_t)im->c * im->h * im->w > 0x7fffffff ||
        gr.sample > 0x7fffffff)
        return cg_fail(CG_ERR_INVALID_ARG, "convolution gemm: m=%zu k=%zu or %dx%dx%d samples exceed 2^31", g->m,
                       g->k, im->c, im->h, im->w);
    // Unpadded stride-1 samples are read where they lie, all but a last one whose tail is not
    // readable; the others are copied with their borders (or as phase images), `step` samples at a time.
    size_t direct = 0;
    if (!gr.s2 && !im->ph && !im->pw) direct = tail_readable(im, &gr, batch) ? batch : batch - 1;
    size_t copies = batch - direct, step = copies, sn = cg_ceil_div(gr.sample, 16) * 16;
    if (copies) {
        size_t budget;
        CG_TRY(cg_gemm_b_block_floats(rt, &budget));
        if (budget) step = budget / sn > 0 ? budget / sn : 1;
        if (step > copies) step = copies;
    }
    size_t a_floats = cg_ceil_div(g->m, GEMM_MR) * GEMM_MR * g->k, at = cg_ceil_div(a_floats, 16) * 16;
    CG_TRY(cg_gemm_temp_reserve(rt, (at + step * sn) * sizeof(float)));
    CG_TRY(cg_gemm_pack_panels(rt, GEMM_MR, !g->trans_a, g->a, g->a_off, g->lda, 0, g->m, g->k, 1, rt->gemm_temp, 0,
                               0));
    if (direct)
        CG_TRY(conv_launch(rt, g, im, &gr, ep, im->img, im->off, im->sample_stride, g->c_off, c_stride, direct));
    for (size_t s0 = direct; s0 < batch; s0 += step) {
        size_t n = batch - s0 < step ? batch - s0 : step;
        CG_TRY(cg_gemm_image_copy(rt, im, gr.s2, s0, n, rt->gemm_temp, at, sn));
        CG_TRY(conv_launch(rt, g, im, &gr, ep, rt->gemm_temp, at, sn, g->c_off + s0 * c_stride, c_stride, n));
    }
    return CG_OK;
}
