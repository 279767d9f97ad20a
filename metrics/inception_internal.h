// inception_internal.h — the Inception-v3 network's private structure shared by its construction
// and weights (inception.c) and its block forwards (inception_blocks.c).
#ifndef CLGAN_INCEPTION_INTERNAL_H
#define CLGAN_INCEPTION_INTERNAL_H

#include "inception.h"
#include "../nets/nets_internal.h"

#define INCEP_MAX_CONVS 100
#define INCEP_MAX_SEGS 16 // parameter buffers, each within the device's largest allocation

#define INCEP_MAX_MERGED 3 // 1x1 convolutions of one block that read the same input

// One BasicConv2d: conv (bias added = folded BatchNorm) then ReLU.
typedef struct {
    char name[48]; // state_dict prefix, e.g. "Mixed_5b.branch1x1"
    int cin, cout, kh, kw, stride, ph, pw;
    size_t w_off, b_off; // in the parameter buffer
    int merge;           // the incep_merge holding it, -1 for none
    cg_layer *conv;
    // The branch_pool convolutions after an average pool (blocks A, C, E_1) also get the same
    // weights without bias and ReLU: the 1x1 convolution runs first and the pool on its output
    // (incep_pool_conv_relu), as a 3x3 mean and a 1x1 convolution commute.
    cg_layer *linear;
} incep_conv;

// The 1x1 convolutions of a block that share its input, run as one product: their weights lie
// stacked along the output channels ([sum of cout, cin], then the biases [sum of cout]) in the
// parameter buffer, so one convolution of cout = sum reads them all and packs the input once. Each
// member's own w_off/b_off view stays valid (the unmerged forward, the reference for the merged one).
typedef struct {
    char name[48];              // profile label, e.g. "Mixed_5b.1x1s"
    int convs[INCEP_MAX_MERGED]; // members in stacking order; convs[0] has the lowest index
    int n, cin, cout;           // cout: the members' sum
    size_t w_off, b_off;
    cg_layer *conv;
} incep_merge;

typedef enum { BLOCK_A, BLOCK_B, BLOCK_C, BLOCK_D, BLOCK_E1, BLOCK_E2 } incep_block_kind;

typedef struct {
    char name[16];
    incep_block_kind kind;
    int first;        // index of its first conv
    int cin, cout;
    int merge;        // its incep_merge, -1 for none
} incep_block;

struct cg_inception {
    cg_ctx ctx;
    int max_batch;
    incep_conv convs[INCEP_MAX_CONVS];
    int n_convs;
    incep_merge merges[11];
    int n_merges;
    int merged; // run the merged 1x1 products (default; CLGAN_INCEPTION_MERGE=0 turns them off)
    incep_block blocks[11];
    int n_blocks;
    size_t n_params, fc_w_off, fc_b_off; // offsets over all parameters, in segment order
    size_t regions[INCEP_MAX_CONVS + 2];  // where each conv, merge and the fc start; then n_params
    int n_regions;
    cl_mem params[INCEP_MAX_SEGS];       // segment i holds parameters [seg_start[i], seg_start[i + 1])
    size_t seg_start[INCEP_MAX_SEGS + 1];
    int n_segs;
    cg_layer *relu, *avg3, *max3s1, *max3s2, *gap, *fc, *fc_nobias;
    cl_mem buf[4];    // activations: 4 x max_batch x buf_floats
    size_t buf_floats; // per sample
    cl_mem out;       // [max_batch, 2048 + 1008 + 1008]
    int loaded;
};

// The view of `len` parameters at offset off (over all parameters), in the segment that holds them.
cg_tensor incep_param_view(const cg_inception *net, size_t off, int n, int c, int h, int w);

// The largest batch <= want that fits dev (inception.c); 0 with a reason in why when none does.
int incep_fit_batch(const cg_device_info *dev, size_t n_params, size_t buf_floats, int want, char *why, size_t len);

// y = relu(conv_i(x)); y may be a channel view of a concatenation.
cg_status incep_conv_relu(cg_inception *net, int i, cg_tensor x, cg_tensor y);
// y = relu(avgpool3x3(x) conv_i): the 1x1 convolution of x without its bias into t (conv_i's
// cout channels), then the pool into y, then bias and ReLU on y. pytorch-fid pools first; pooling
// (count_include_pad=False: a mean over the window's inputs) and a 1x1 convolution commute, and the
// pool then reads conv_i's cout channels instead of x's (4-7x fewer). Same value up to rounding.
cg_status incep_pool_conv_relu(cg_inception *net, int i, cg_tensor x, cg_tensor y, cl_mem t);
// y = relu(merge_m(x)): every member's output channels, in stacking order.
cg_status incep_merge_relu(cg_inception *net, int m, cg_tensor x, cg_tensor y);
// Runs block b: x [N, cin, H, W] -> y [N, cout, H', W']; t0, t1 are scratch buffers of
// net->buf_floats per sample.
cg_status incep_block_forward(cg_inception *net, const incep_block *b, cg_tensor x, cg_tensor y, cl_mem t0,
                              cl_mem t1);
// Output spatial size of block b for input size s.
int incep_block_out_size(const incep_block *b, int s);

#endif
