// gemm_image.h — SGEMM whose B operand is the im2col matrix of image samples, packed straight from
// the images by the own kernels (cl/gemm.cl gemm_pack_im2col16): a convolution's product without
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

// For b < batch: C_b = alpha * op(A) * cols(sample b) + beta * C_b, C_b at c_off + b * c_stride.
// g->n must be oh*ow and g->k c*kh*kw; g->b, b_off, ldb and trans_b are ignored; A is shared by
// the batch. Own kernels only (CG_ERR_INVALID_ARG when cg_gemm_pick does not pick them).
cg_status cg_gemm_image_b(cg_runtime *rt, const cg_gemm_args *g, const cg_gemm_image *src, size_t c_stride,
                          size_t batch);

#endif
