// gemm_image.h — SGEMM whose B operand is the im2col matrix of image samples, packed straight from
// the images by the own kernels (cl/gemm_pack.cl gemm_pack_im2col16): a convolution's product without
// an im2col pass or its column buffer. Results equal cg_gemm on im2col's columns bit for bit.
#ifndef CLGAN_GEMM_IMAGE_H
#define CLGAN_GEMM_IMAGE_H

#include "runtime.h"

// Samples of an NCHW image view and the window sliding over them.
typedef struct {
    cl_mem img;
    size_t off, sample_stride; // element offset of the first sample, elements between samples
    int c, h, w;               // channels and size
    int kh, kw, sh, sw, ph, pw; // window, stride, zero padding
    int oh, ow;                // window positions
} cg_gemm_image;

// A convolution's epilogue on its product: row i of C_b gets + bias[bias_off + i] (bias != NULL),
// then ReLU (relu), as cl/bias.cl's bias_act computes them.
typedef struct {
    cl_mem bias;
    size_t bias_off;
    int relu;
} cg_gemm_epilogue;

// For b < batch: C_b = alpha * op(A) * cols(sample b) + beta * C_b, C_b at c_off + b * c_stride.
// g->n must be oh*ow and g->k c*kh*kw; g->b, b_off, ldb and trans_b are ignored; A is shared by
// the batch. Own kernels only (CG_ERR_INVALID_ARG when cg_gemm_pick does not pick them). With ep,
// *fused says whether the epilogue was applied too (in the store of the path that reads B from the
// image; bit for bit what bias_act makes of the stored product); when 0 it is the caller's.
cg_status cg_gemm_image_b(cg_runtime *rt, const cg_gemm_args *g, const cg_gemm_image *src, size_t c_stride,
                          size_t batch, const cg_gemm_epilogue *ep, int *fused);

// The B-side packing steps on their own (the tests compare them): 16-column panels of op(B) [k, n]
// (element (kk, j) at src[off + kk*ld + j], or src[off + j*ld + kk] when trans), `batch` operands
// src_bstride apart; and of rows [k0, k0 + k) of the im2col matrices of samples [b0, b0 + batch),
// panels [q0, q0 + nq) only (clipped to the last panel; q0 = 0, nq = SIZE_MAX: all of them).
// Panel q of operand b holds element (kk, 16q + c) at dst[dst_off + b*dst_bstride + ((q - q0)*k + kk)*16 + c]
// (q0 = 0 for cg_gemm_pack_b16), 0 past n. Both kernels write the same values for the same matrix.
cg_status cg_gemm_pack_b16(cg_runtime *rt, int trans, cl_mem src, size_t off, size_t ld, size_t src_bstride, size_t n,
                           size_t k, size_t batch, cl_mem dst, size_t dst_off, size_t dst_bstride);
cg_status cg_gemm_pack_image16(cg_runtime *rt, const cg_gemm_image *im, size_t b0, size_t k0, size_t k, size_t batch,
                               size_t q0, size_t nq, cl_mem dst, size_t dst_off, size_t dst_bstride);

#endif
