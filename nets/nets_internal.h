// nets_internal.h — private helpers of the convolution and linear layers: im2col/col2im and the
// NCHW <-> wide-matrix layout launches (nets/im2col.c), bias kernels, batch chunking under a
// workspace cap, and the conv2d constructor with separate vertical and horizontal padding that
// Inception-v3 needs (kernel 1x7 with padding (0, 3)); and the chain runner (nets/chain.c) that
// the sequential container and composite layers share.
#ifndef CLGAN_NETS_INTERNAL_H
#define CLGAN_NETS_INTERNAL_H

#include "nets.h"

#include <stdio.h>

// The sliding-window geometry of one convolution, seen from the image it slides over: the input
// of a conv2d, the output of a conv_transpose2d. The column matrix of nb samples is
// [c * kh * kw, nb * oh * ow] (row (c * kh + ki) * kw + kj, column n * oh * ow + y * ow + x).
typedef struct {
    int c, h, w;   // image channels and size
    int kh, kw;    // window
    int sh, sw;    // stride
    int ph, pw;    // zero padding on both sides of rows / columns
    int oh, ow;    // window positions
} cg_im2col_geom;

static inline size_t cg_geom_rows(const cg_im2col_geom *g) { return (size_t)g->c * g->kh * g->kw; }
static inline size_t cg_geom_positions(const cg_im2col_geom *g) { return (size_t)g->oh * g->ow; }

// How the layers' kernels split their work: one work-item per element (GPUs) or, on CPUs, per row,
// chunk, plane or column block, vectorised (the *_rows / *_cols / *_runs kernels of cl/im2col.cl,
// bn.cl, act.cl); AUTO picks by device type. The results are bit-identical.
typedef enum { CG_IM2COL_AUTO = 0, CG_IM2COL_ELEMENTS, CG_IM2COL_ROWS } cg_im2col_mode;
// Test hook: forces a decomposition (AUTO restores the choice by device type); returns the previous.
cg_im2col_mode cg_im2col_force(cg_im2col_mode mode);
// 1: the CPU decomposition.
int cg_rows_variant(const cg_ctx *ctx);

// cols [c*kh*kw, nb*P] (dense, at cols_off) <- samples [n0, n0 + nb) of img.
cg_status cg_im2col(cg_ctx *ctx, const cg_im2col_geom *g, cg_tensor img, int n0, int nb, cl_mem cols,
                    size_t cols_off);
// Samples [n0, n0 + nb) of img <- col2im(cols) (+ bias[c] when bias != NULL); overwrites img.
cg_status cg_col2im(cg_ctx *ctx, const cg_im2col_geom *g, cl_mem cols, size_t cols_off, cg_tensor img, int n0,
                    int nb, const cg_tensor *bias);
// dst [C, nb*P] (dense) <- samples [n0, n0 + nb) of t [N, C, P] (P = h*w).
cg_status cg_nchw_to_wide(cg_ctx *ctx, cg_tensor t, int n0, int nb, cl_mem dst, size_t dst_off);
// Samples [n0, n0 + nb) of t <- src [C, nb*P] (+ bias[c] when bias != NULL); overwrites t.
cg_status cg_wide_to_nchw(cg_ctx *ctx, cl_mem src, size_t src_off, cg_tensor t, int n0, int nb,
                          const cg_tensor *bias);

// y[n, c, :, :] += bias[c]. Only bias.buf and bias.off are used (bias holds y.c floats).
cg_status cg_bias_add(cg_ctx *ctx, cg_tensor y, cg_tensor bias);
// db[c] += sum over n, h, w of dy[n, c, h, w]; deterministic (fixed-order work-group reduction).
cg_status cg_bias_grad(cg_ctx *ctx, cg_tensor dy, cg_tensor db);

// Samples per chunk so that per_sample floats of scratch each stay under the cap (at least 1,
// at most n), and the scratch floats that chunk needs.
int cg_chunk_samples(size_t per_sample, int n);
static inline size_t cg_chunk_floats(size_t per_sample, int n) {
    return per_sample * (size_t)cg_chunk_samples(per_sample, n);
}
// Default cap on a chunk's scratch: 64 Mi floats (256 MiB).
#define CG_CHUNK_CAP_DEFAULT ((size_t)64 << 20)
// Test hook: sets the cap in floats (0 restores the default) and returns the previous cap.
size_t cg_set_chunk_cap(size_t floats);

// "conv2d main.3" (or just the kind before the container names the layer), for error messages.
static inline const char *cg_layer_label(const cg_layer *l, char *buf, size_t len) {
    snprintf(buf, len, "%s%s%s", l->kind, l->name[0] ? " " : "", l->name);
    return buf;
}
// Fails with CG_ERR_INVALID_ARG naming the layer unless t has the shape of like.
static inline cg_status cg_check_same_shape(const cg_layer *l, cg_tensor t, cg_tensor like, const char *what) {
    if (t.n == like.n && t.c == like.c && t.h == like.h && t.w == like.w) return CG_OK;
    char label[96];
    return cg_fail(CG_ERR_INVALID_ARG, "%s: %s is [%d, %d, %d, %d], expected [%d, %d, %d, %d]",
                   cg_layer_label(l, label, sizeof label), what, t.n, t.c, t.h, t.w, like.n, like.c, like.h, like.w);
}
// Checks x against the layer (out_shape) and `other` against the output shape x implies.
static inline cg_status cg_check_output(const cg_layer *l, cg_tensor x, cg_tensor other, const char *what) {
    int in[4] = {x.n, x.c, x.h, x.w}, out[4];
    CG_TRY(l->ops->out_shape(l, in, out));
    return cg_check_same_shape(l, other, cg_view(NULL, 0, out[0], out[1], out[2], out[3]), what);
}

// Conv2d with separate vertical and horizontal padding (p.pad is ignored). The layer is the same
// as cg_conv2d_create's; proposed for nets.h as pad_h / pad_w fields of cg_conv_params.
cg_status cg_conv2d_create2(cg_conv_params p, int pad_h, int pad_w, cg_layer **out);
// Makes conv2d layer l apply ReLU to its output in the same pass as its bias (inference: the layer's
// backward then fails). Inception-v3's convolution + ReLU pairs.
void cg_conv2d_fuse_relu(cg_layer *l);
// y[n, c] = act(y[n, c] + bias[c]) in place (bias NULL: none; relu 0: identity); one pass.
cg_status cg_bias_act(cg_ctx *ctx, cg_tensor y, const cg_tensor *bias, int relu);

// Second-order passes of a layer affine in its input (y = W x + b; Conv2d, Linear), from its
// backprop(x, dy, dx, with_bias): the tangent is the map without its bias, yt = W xt; the reverse of
// (y, yt) is gx = W^T gy, gxt = W^T gyt, dW += gy (*) x + gyt (*) xt, db += sum gy (gx zero when gy is).
typedef cg_status (*cg_backprop_fn)(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor dy, const cg_tensor *dx,
                                    int with_bias);
static inline cg_status cg_affine_backward2(cg_backprop_fn backprop, cg_layer *l, cg_ctx *ctx, cg_tensor x,
                                            cg_tensor xt, const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx,
                                            const cg_tensor *gxt, int *gx_zero) {
    *gx_zero = gy == NULL;
    if (gy) CG_TRY(backprop(l, ctx, x, *gy, gx, 1));
    return backprop(l, ctx, xt, gyt, gxt, 0);
}

// ---------------------------------------------------------------------------------------------
// A chain of layers run one after the other (nets/chain.c): the sequential container's passes, also
// run by composite layers over their inner layers. acts[0] is the input, acts[i + 1] layer i's
// output; dacts[i] (i >= 1) the gradient of acts[i]; tan[i] the tangent of acts[i] and adj[i]
// (i >= 1) its adjoint. dacts, tan and adj may be NULL when their passes are not run.
typedef struct {
    cg_layer **layers;
    int n;
    const cg_tensor *acts, *dacts, *tan, *adj;
} cg_chain;

// acts[0] -> acts[n]
cg_status cg_chain_forward(cg_ctx *ctx, const cg_chain *c, int training);
// dacts[n] -> dacts[1..n-1] and dx (NULL: skip); parameter gradients accumulate.
cg_status cg_chain_backward(cg_ctx *ctx, const cg_chain *c, const cg_tensor *dx);
// tan[0] -> tan[n]
cg_status cg_chain_tangent(cg_ctx *ctx, const cg_chain *c);
// Reverse of both passes from adj[n] and gy (dacts[n], or zero when gy_zero) -> gx, gxt (each NULL to
// skip); *gx_zero as in cg_layer_ops.backward2.
cg_status cg_chain_backward2(cg_ctx *ctx, const cg_chain *c, int gy_zero, const cg_tensor *gx, const cg_tensor *gxt,
                             int *gx_zero);
// Shapes of acts[0..n] for an input shape (shapes[0] = in); fails naming the layer.
cg_status cg_chain_shapes(cg_layer *const *layers, int n, const int in[4], int (*shapes)[4]);

// ---------------------------------------------------------------------------------------------
// BatchNorm fused with the ReLU / LeakyReLU after it (nets/chain.c decides, nets/batchnorm.c and
// cl/bn.cl compute). Fused, the forward writes the activation's output from the batch-norm input
// and leaves the batch-norm output unwritten; the backward goes from the activation's output
// gradient to the batch-norm input gradient. The results are the unfused passes' bits.

// 1 when l is a BatchNorm that may fuse (not kept by cg_batchnorm_keep_output).
int cg_batchnorm_can_fuse(const cg_layer *l);
// keep 1: l (a BatchNorm; anything else is ignored) never fuses, so its output stays readable.
void cg_batchnorm_keep_output(cg_layer *l, int keep);
// 1 when l is a BatchNorm whose most recent forward was fused with its activation.
int cg_batchnorm_fused(const cg_layer *l);
// x: [N, C, H, W] -> y = act(batchnorm(x)), act y = v > 0 ? v : slope * v (slope 0: ReLU, +0).
cg_status cg_batchnorm_forward_act(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training, float slope);
// dy (gradient of act's output) -> dx (NULL: parameter gradients only), after a fused forward.
cg_status cg_batchnorm_backward_act(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor dy, const cg_tensor *dx);
// 1 with *slope set when l is a ReLU (slope 0) or LeakyReLU.
int cg_act_leaky_slope(const cg_layer *l, float *slope);

#endif
