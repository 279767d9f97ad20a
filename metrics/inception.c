// inception.c — pytorch-fid's Inception-v3 FID network: construction (the torchvision topology
// with FIDInceptionA/C/E_1/E_2 blocks), safetensors weights with BatchNorm folded into the
// convolutions, the batched forward to pool3 features and logits.
#include "inception_internal.h"
#include "kernel_profile.h"
#include "seq_limits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BN_EPS 0.001

static int add_conv(cg_inception *net, const char *prefix, const char *branch, int cin, int cout, int kh, int kw,
                    int stride, int ph, int pw) {
    CG_ASSERT(net->n_convs < INCEP_MAX_CONVS);
    incep_conv *c = &net->convs[net->n_convs];
    if (branch)
        snprintf(c->name, sizeof c->name, "%s.%s", prefix, branch);
    else
        snprintf(c->name, sizeof c->name, "%s", prefix);
    c->cin = cin, c->cout = cout, c->kh = kh, c->kw = kw, c->stride = stride, c->ph = ph, c->pw = pw;
    c->merge = -1; // offsets: layout_params
    return net->n_convs++;
}

// Block b's 1x1 convolutions f + rel[0..n) (rel[0] = 0, the lowest) read its input: one product.
static void add_merge(cg_inception *net, incep_block *b, const int *rel, int n) {
    incep_merge *m = &net->merges[net->n_merges];
    char block[sizeof b->name];
    memcpy(block, b->name, sizeof block);
    snprintf(m->name, sizeof m->name, "%s.1x1s", block);
    m->n = n, m->cin = b->cin, m->cout = 0;
    for (int j = 0; j < n; j++) {
        incep_conv *c = &net->convs[b->first + rel[j]];
        CG_ASSERT(c->kh == 1 && c->kw == 1 && c->stride == 1 && c->cin == b->cin && c->merge < 0);
        m->convs[j] = b->first + rel[j];
        m->cout += c->cout;
        c->merge = net->n_merges;
    }
    b->merge = net->n_merges++;
}

static void add_block(cg_inception *net, const char *name, incep_block_kind kind, int cin, int extra) {
    incep_block *b = &net->blocks[net->n_blocks++];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->kind = kind, b->first = net->n_convs, b->cin = cin, b->merge = -1;
    // The merged products' stacking orders let the blocks write them straight into their outputs
    // (inception_blocks.c).
    static const int a_rel[] = {0, 3, 1}, c_rel[] = {0, 1, 4}, d_rel[] = {0, 2}, e_rel[] = {0, 1, 4};
    switch (kind) {
    case BLOCK_A: // extra = pool_features
        add_conv(net, name, "branch1x1", cin, 64, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch5x5_1", cin, 48, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch5x5_2", 48, 64, 5, 5, 1, 2, 2);
        add_conv(net, name, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
        add_conv(net, name, "branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1);
        add_conv(net, name, "branch_pool", cin, extra, 1, 1, 1, 0, 0);
        b->cout = 64 + 64 + 96 + extra;
        add_merge(net, b, a_rel, 3); // [branch1x1 | branch3x3dbl_1 | branch5x5_1]
        break;
    case BLOCK_B:
        add_conv(net, name, "branch3x3", cin, 384, 3, 3, 2, 0, 0);
        add_conv(net, name, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
        add_conv(net, name, "branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0);
        b->cout = 384 + 96 + cin;
        break;
    case BLOCK_C: // extra = channels_7x7
        add_conv(net, name, "branch1x1", cin, 192, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch7x7_1", cin, extra, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch7x7_2", extra, extra, 1, 7, 1, 0, 3);
        add_conv(net, name, "branch7x7_3", extra, 192, 7, 1, 1, 3, 0);
        add_conv(net, name, "branch7x7dbl_1", cin, extra, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch7x7dbl_2", extra, extra, 7, 1, 1, 3, 0);
        add_conv(net, name, "branch7x7dbl_3", extra, extra, 1, 7, 1, 0, 3);
        add_conv(net, name, "branch7x7dbl_4", extra, extra, 7, 1, 1, 3, 0);
        add_conv(net, name, "branch7x7dbl_5", extra, 192, 1, 7, 1, 0, 3);
        add_conv(net, name, "branch_pool", cin, 192, 1, 1, 1, 0, 0);
        b->cout = 4 * 192;
        add_merge(net, b, c_rel, 3); // [branch1x1 | branch7x7_1 | branch7x7dbl_1]
        break;
    case BLOCK_D:
        add_conv(net, name, "branch3x3_1", cin, 192, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch3x3_2", 192, 320, 3, 3, 2, 0, 0);
        add_conv(net, name, "branch7x7x3_1", cin, 192, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3);
        add_conv(net, name, "branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0);
        add_conv(net, name, "branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0);
        b->cout = 320 + 192 + cin;
        add_merge(net, b, d_rel, 2); // [branch3x3_1 | branch7x7x3_1]
        break;
    case BLOCK_E1:
    case BLOCK_E2:
        add_conv(net, name, "branch1x1", cin, 320, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch3x3_1", cin, 384, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch3x3_2a", 384, 384, 1, 3, 1, 0, 1);
        add_conv(net, name, "branch3x3_2b", 384, 384, 3, 1, 1, 1, 0);
        add_conv(net, name, "branch3x3dbl_1", cin, 448, 1, 1, 1, 0, 0);
        add_conv(net, name, "branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1);
        add_conv(net, name, "branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1);
        add_conv(net, name, "branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0);
        add_conv(net, name, "branch_pool", cin, 192, 1, 1, 1, 0, 0);
        b->cout = 320 + 768 + 768 + 192;
        add_merge(net, b, e_rel, 3); // [branch1x1 | branch3x3_1 | branch3x3dbl_1]
        break;
    }
}

static void build_topology(cg_inception *net) {
    add_conv(net, "Conv2d_1a_3x3", NULL, 3, 32, 3, 3, 2, 0, 0);
    add_conv(net, "Conv2d_2a_3x3", NULL, 32, 32, 3, 3, 1, 0, 0);
    add_conv(net, "Conv2d_2b_3x3", NULL, 32, 64, 3, 3, 1, 1, 1);
    add_conv(net, "Conv2d_3b_1x1", NULL, 64, 80, 1, 1, 1, 0, 0);
    add_conv(net, "Conv2d_4a_3x3", NULL, 80, 192, 3, 3, 1, 0, 0);
    add_block(net, "Mixed_5b", BLOCK_A, 192, 32);
    add_block(net, "Mixed_5c", BLOCK_A, 256, 64);
    add_block(net, "Mixed_5d", BLOCK_A, 288, 64);
    add_block(net, "Mixed_6a", BLOCK_B, 288, 0);
    add_block(net, "Mixed_6b", BLOCK_C, 768, 128);
    add_block(net, "Mixed_6c", BLOCK_C, 768, 160);
    add_block(net, "Mixed_6d", BLOCK_C, 768, 160);
    add_block(net, "Mixed_6e", BLOCK_C, 768, 192);
    add_block(net, "Mixed_7a", BLOCK_D, 768, 0);
    add_block(net, "Mixed_7b", BLOCK_E1, 1280, 0);
    add_block(net, "Mixed_7c", BLOCK_E2, 2048, 0);
}

// Parameter offsets, in conv order: a conv's weight then its bias, except that a merge's members
// lie together at its first member (their weights stacked, then their biases); the fc last. Each
// region (a conv, a merge, the fc) is recorded in net->regions for plan_segments, which never
// splits one.
static void layout_params(cg_inception *net) {
    net->n_params = 0;
    net->n_regions = 0;
    for (int i = 0; i < net->n_convs; i++) {
        incep_conv *c = &net->convs[i];
        if (c->merge >= 0 && net->merges[c->merge].convs[0] != i) continue; // placed with its merge
        net->regions[net->n_regions++] = net->n_params;
        int n = 1;
        const int *members = &i;
        incep_merge *m = c->merge >= 0 ? &net->merges[c->merge] : NULL;
        if (m) n = m->n, members = m->convs, m->w_off = net->n_params;
        for (int j = 0; j < n; j++) {
            incep_conv *cj = &net->convs[members[j]];
            cj->w_off = net->n_params;
            net->n_params += (size_t)cj->cout * cj->cin * cj->kh * cj->kw;
        }
        if (m) m->b_off = net->n_params;
        for (int j = 0; j < n; j++) {
            incep_conv *cj = &net->convs[members[j]];
            cj->b_off = net->n_params;
            net->n_params += (size_t)cj->cout;
        }
    }
    net->regions[net->n_regions++] = net->fc_w_off = net->n_params;
    net->n_params += (size_t)CG_INCEPTION_CLASSES * CG_INCEPTION_FEATURES;
    net->fc_b_off = net->n_params;
    net->n_params += CG_INCEPTION_CLASSES;
    net->regions[net->n_regions] = net->n_params;
}

// Largest activation per sample: the stem's 64 x 147 x 147, or any block's input, output or
// widest intermediate (448 channels in E).
static size_t max_activation(const cg_inception *net) {
    size_t m = (size_t)64 * 147 * 147;
    int s = 35;
    for (int i = 0; i < net->n_blocks; i++) {
        const incep_block *b = &net->blocks[i];
        size_t in = (size_t)(b->cin > 448 ? b->cin : 448) * s * s;
        if (in > m) m = in;
        s = incep_block_out_size(b, s);
        if ((size_t)b->cout * s * s > m) m = (size_t)b->cout * s * s;
    }
    return m;
}

// Splits the parameters into segments of at most cap floats, at region (conv weight + bias, merge,
// fc) boundaries, so that no buffer exceeds the device's largest allocation.
static cg_status plan_segments(cg_inception *net, size_t cap) {
    const size_t *starts = net->regions;
    int n = net->n_regions;
    net->n_segs = 1;
    net->seg_start[0] = 0;
    for (int i = 0; i < n; i++) {
        if (starts[i + 1] - starts[i] > cap)
            return cg_fail(CL_INVALID_BUFFER_SIZE, "inception: a parameter tensor of %zu floats exceeds the "
                                                   "device's largest allocation (%zu floats)",
                           starts[i + 1] - starts[i], cap);
        if (starts[i + 1] - net->seg_start[net->n_segs - 1] <= cap) continue;
        if (net->n_segs == INCEP_MAX_SEGS)
            return cg_fail(CL_INVALID_BUFFER_SIZE, "inception: %zu parameters need more than %d allocations of %zu "
                                                   "floats",
                           net->n_params, INCEP_MAX_SEGS, cap);
        net->seg_start[net->n_segs++] = starts[i];
    }
    net->seg_start[net->n_segs] = net->n_params;
    return CG_OK;
}

cg_tensor incep_param_view(const cg_inception *net, size_t off, int n, int c, int h, int w) {
    int s = 0;
    while (s + 1 < net->n_segs && off >= net->seg_start[s + 1]) s++;
    CG_ASSERT(off + (size_t)n * c * h * w <= net->seg_start[s + 1]);
    return cg_view(net->params[s], off - net->seg_start[s], n, c, h, w);
}

// Uploads host parameters (all of them, in offset order) segment by segment.
static cg_status upload_params(cg_inception *net, const float *host) {
    for (int s = 0; s < net->n_segs; s++) {
        size_t len = net->seg_start[s + 1] - net->seg_start[s];
        CG_TRY(cg_tensor_write(net->ctx.rt, cg_view(net->params[s], 0, 1, 1, 1, (int)len), host + net->seg_start[s]));
    }
    return CG_OK;
}

static cg_status bind(cg_inception *net) {
    for (int i = 0; i < net->n_convs; i++) {
        incep_conv *c = &net->convs[i];
        cg_conv_params p = {c->cin, c->cout, c->kh, c->kw, c->stride, 0, 1};
        CG_TRY(cg_conv2d_create2(p, c->ph, c->pw, &c->conv));
        cg_conv2d_fuse_relu(c->conv); // every convolution is followed by ReLU: one pass with the bias
        snprintf(c->conv->name, sizeof c->conv->name, "%s.conv", c->name);
        c->conv->params[0].w = incep_param_view(net, c->w_off, c->cout, c->cin, c->kh, c->kw);
        c->conv->params[1].w = incep_param_view(net, c->b_off, c->cout, 1, 1, 1);
    }
    // The branch_pool convolutions that follow an average pool: the last of blocks A and C, the
    // last of E_1 (incep_pool_conv_relu).
    for (int b = 0; b < net->n_blocks; b++) {
        const incep_block *blk = &net->blocks[b];
        int last = blk->kind == BLOCK_A ? 6 : blk->kind == BLOCK_C ? 9 : blk->kind == BLOCK_E1 ? 8 : -1;
        if (last < 0) continue;
        incep_conv *c = &net->convs[blk->first + last];
        CG_TRY(cg_conv2d_create2((cg_conv_params){c->cin, c->cout, 1, 1, 1, 0, 0}, 0, 0, &c->linear));
        snprintf(c->linear->name, sizeof c->linear->name, "%s.conv", c->name);
        c->linear->params[0].w = incep_param_view(net, c->w_off, c->cout, c->cin, 1, 1);
    }
    for (int i = 0; i < net->n_merges; i++) {
        incep_merge *m = &net->merges[i];
        cg_conv_params p = {m->cin, m->cout, 1, 1, 1, 0, 1};
        CG_TRY(cg_conv2d_create2(p, 0, 0, &m->conv));
        cg_conv2d_fuse_relu(m->conv);
        snprintf(m->conv->name, sizeof m->conv->name, "%s.conv", m->name);
        m->conv->params[0].w = incep_param_view(net, m->w_off, m->cout, m->cin, 1, 1);
        m->conv->params[1].w = incep_param_view(net, m->b_off, m->cout, 1, 1, 1);
    }
    CG_TRY(cg_relu_create(&net->relu));
    CG_TRY(cg_avgpool2d_create((cg_pool_params){3, 1, 1}, &net->avg3));
    CG_TRY(cg_maxpool2d_create((cg_pool_params){3, 1, 1}, &net->max3s1));
    CG_TRY(cg_maxpool2d_create((cg_pool_params){3, 2, 0}, &net->max3s2));
    CG_TRY(cg_global_avgpool_create(&net->gap));
    CG_TRY(cg_linear_create((cg_linear_params){CG_INCEPTION_FEATURES, CG_INCEPTION_CLASSES, 1}, &net->fc));
    CG_TRY(cg_linear_create((cg_linear_params){CG_INCEPTION_FEATURES, CG_INCEPTION_CLASSES, 0}, &net->fc_nobias));
    snprintf(net->fc->name, sizeof net->fc->name, "fc");
    snprintf(net->fc_nobias->name, sizeof net->fc_nobias->name, "fc");
    cg_tensor fw = incep_param_view(net, net->fc_w_off, CG_INCEPTION_CLASSES, CG_INCEPTION_FEATURES, 1, 1);
    net->fc->params[0].w = fw;
    net->fc->params[1].w = incep_param_view(net, net->fc_b_off, CG_INCEPTION_CLASSES, 1, 1, 1);
    net->fc_nobias->params[0].w = fw;
    return CG_OK;
}

// Scratch one image can need: an im2col column matrix is at most 9 activation buffers (the 3x3
// convs at 147x147 are the largest; the 5x5 and 7-tap convs work on far smaller inputs); the
// workspace grows with the batch up to the chunk cap, and CLBlast's temporary buffer about as much.
#define INCEP_IM2COL_BUFFERS 9

// The largest batch <= want whose buffers fit: each activation buffer within the largest
// allocation, and all of them (with the parameters, the workspace and GEMM temporary buffer the
// batch can use, and the caller's input batch) within global memory. 0 and a reason when not even
// one fits.
int incep_fit_batch(const cg_device_info *dev, size_t n_params, size_t buf_floats, int want, char *why,
                    size_t len) {
    uint64_t max = dev->max_alloc ? dev->max_alloc : UINT64_MAX, per_buf = (uint64_t)buf_floats * sizeof(float);
    uint64_t per_img = 4 * per_buf + sizeof(float) * ((uint64_t)CG_INCEPTION_FEATURES + 2 * CG_INCEPTION_CLASSES +
                                                      3ull * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE);
    uint64_t cap = (uint64_t)cg_chunk_cap() * sizeof(float), params = (uint64_t)n_params * sizeof(float), scratch = 0;
    uint64_t fit = max / per_buf < (uint64_t)want ? max / per_buf : (uint64_t)want;
    for (; fit >= 1; fit--) {
        uint64_t ws = INCEP_IM2COL_BUFFERS * per_buf * fit;
        scratch = 2 * (ws < cap ? ws : cap);
        if (!dev->global_mem || params + scratch + fit * per_img <= dev->global_mem) break;
    }
    if (fit < 1) {
        snprintf(why, len, "Inception-v3 does not fit on %s: one image needs 4 activation buffers of %.1f MiB "
                           "(largest allocation %.1f MiB) and %.1f MiB of parameters and scratch (global memory "
                           "%.1f MiB)",
                 dev->name, (double)per_buf / (1 << 20), (double)max / (1 << 20),
                 (double)(params + scratch) / (1 << 20), (double)dev->global_mem / (1 << 20));
        return 0;
    }
    return (int)fit;
}

cg_status cg_inception_create(cg_runtime *rt, int max_batch, cg_inception **out) {
    *out = NULL;
    if (max_batch < 1) return cg_fail(CG_ERR_INVALID_ARG, "inception: max_batch %d < 1", max_batch);
    cg_inception *net = calloc(1, sizeof *net);
    if (!net) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    net->ctx.rt = rt;
    build_topology(net);
    layout_params(net);
    const char *merge_env = getenv("CLGAN_INCEPTION_MERGE");
    net->merged = !(merge_env && strcmp(merge_env, "0") == 0);
    net->buf_floats = max_activation(net);
    // A larger batch than fits runs in chunks of what fits (cg_inception_forward), same results.
    char why[512];
    const cg_device_info *dev = cg_runtime_device(rt);
    cg_chunk_fit_device(rt);
    net->max_batch = incep_fit_batch(dev, net->n_params, net->buf_floats, max_batch, why, sizeof why);
    size_t cap = dev->max_alloc ? (size_t)(dev->max_alloc / sizeof(float)) : net->n_params;
    cg_status st = net->max_batch < 1 ? cg_fail(CL_MEM_OBJECT_ALLOCATION_FAILURE, "%s", why) : CG_OK;
    if (st == CG_OK) st = plan_segments(net, cap);
    for (int s = 0; st == CG_OK && s < net->n_segs; s++)
        st = cg_buffer_alloc(rt, net->seg_start[s + 1] - net->seg_start[s], &net->params[s]);
    if (st == CG_OK) st = bind(net);
    for (int i = 0; st == CG_OK && i < 4; i++)
        st = cg_buffer_alloc(rt, net->buf_floats * net->max_batch, &net->buf[i]);
    if (st == CG_OK)
        st = cg_buffer_alloc(rt, (size_t)net->max_batch * (CG_INCEPTION_FEATURES + 2 * CG_INCEPTION_CLASSES),
                             &net->out);
    if (st != CG_OK) {
        cg_inception_free(net);
        return cg_fail_context(st, "creating Inception-v3 for batches of %d", max_batch);
    }
    *out = net;
    return CG_OK;
}

void cg_inception_free(cg_inception *net) {
    if (!net) return;
    for (int i = 0; i < net->n_convs; i++) {
        if (net->convs[i].conv) cg_layer_free(net->convs[i].conv);
        if (net->convs[i].linear) cg_layer_free(net->convs[i].linear);
    }
    for (int i = 0; i < net->n_merges; i++)
        if (net->merges[i].conv) cg_layer_free(net->merges[i].conv);
    cg_layer *ls[] = {net->relu, net->avg3, net->max3s1, net->max3s2, net->gap, net->fc, net->fc_nobias};
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++)
        if (ls[i]) cg_layer_free(ls[i]);
    for (int i = 0; i < 4; i++)
        if (net->buf[i]) cg_buffer_release(net->buf[i]);
    if (net->out) cg_buffer_release(net->out);
    for (int s = 0; s < net->n_segs; s++)
        if (net->params[s]) cg_buffer_release(net->params[s]);
    cg_workspace_free(&net->ctx.ws);
    free(net);
}

int cg_inception_max_batch(const cg_inception *net) { return net->max_batch; }
cg_runtime *cg_inception_runtime(const cg_inception *net) { return net->ctx.rt; }

// ---------------------------------------------------------------------------------------------
// Weights.

typedef struct {
    char text[2048];
    size_t len;
    int count;
} problems;

static void note(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(problems *p, const char *fmt, ...) {
    if (p->count++ >= 12) return;
    if (p->len + 4 >= sizeof p->text) return;
    p->len += (size_t)snprintf(p->text + p->len, sizeof p->text - p->len, "%s", p->count > 1 ? "; " : "");
    va_list ap;
    va_start(ap, fmt);
    if (p->len < sizeof p->text) p->len += (size_t)vsnprintf(p->text + p->len, sizeof p->text - p->len, fmt, ap);
    va_end(ap);
    if (p->len >= sizeof p->text) p->len = sizeof p->text - 1;
}

// Fetches `name` expecting `ndim` sizes `want`; NULL (and a noted problem) when absent or wrong.
static const float *fetch(const cg_st_file *f, const char *name, int ndim, const int *want, problems *p) {
    const int *shape;
    int nd;
    const float *data;
    cg_status st = cg_safetensors_get(f, name, &shape, &nd, &data);
    if (st == CG_ERR_NOT_FOUND) {
        note(p, "missing %s", name);
        return NULL;
    }
    if (st != CG_OK) {
        note(p, "%s: %s", name, cg_last_error());
        return NULL;
    }
    int ok = nd == ndim;
    for (int i = 0; ok && i < nd; i++) ok = shape[i] == want[i];
    if (!ok) {
        char got[96] = "", exp[96] = "";
        size_t a = 0, b = 0;
        for (int i = 0; i < nd && a < sizeof got; i++)
            a += (size_t)snprintf(got + a, sizeof got - a, "%s%d", i ? ", " : "", shape[i]);
        for (int i = 0; i < ndim && b < sizeof exp; i++)
            b += (size_t)snprintf(exp + b, sizeof exp - b, "%s%d", i ? ", " : "", want[i]);
        note(p, "%s has shape [%s], expected [%s]", name, got, exp);
        return NULL;
    }
    return data;
}

static void fold_conv(const cg_st_file *f, const incep_conv *c, float *host, problems *p) {
    char name[96];
    int ws[4] = {c->cout, c->cin, c->kh, c->kw}, vs[1] = {c->cout};
    snprintf(name, sizeof name, "%s.conv.weight", c->name);
    const float *w = fetch(f, name, 4, ws, p);
    const float *bn[4];
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "%s.bn.%s", c->name, suffix[k]);
        bn[k] = fetch(f, name, 1, vs, p);
    }
    if (!w || !bn[0] || !bn[1] || !bn[2] || !bn[3]) return;
    size_t per = (size_t)c->cin * c->kh * c->kw;
    for (int o = 0; o < c->cout; o++) {
        double scale = (double)bn[0][o] / sqrt((double)bn[3][o] + BN_EPS);
        for (size_t j = 0; j < per; j++) host[c->w_off + o * per + j] = (float)(w[o * per + j] * scale);
        host[c->b_off + o] = (float)(bn[1][o] - bn[2][o] * scale);
    }
}

cg_status cg_inception_check_weights_file(const char *path) {
    if (access(path, R_OK) == 0) return CG_OK;
    return cg_fail(CG_ERR_NOT_FOUND,
                   "Inception weights '%s' not found. Download pytorch-fid's %s (the FID_WEIGHTS_URL release asset, "
                   "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/%s) and convert it with "
                   "`/usr/bin/python3 tools/convert_inception_weights.py %s %s`; or pass --weights / set [score] "
                   "weights or CLGAN_INCEPTION_WEIGHTS (see docs/metrics.md)",
                   path, CG_INCEPTION_PTH_NAME, CG_INCEPTION_PTH_NAME, CG_INCEPTION_PTH_NAME, path);
}

cg_status cg_inception_load(cg_inception *net, const char *path) {
    CG_TRY(cg_inception_check_weights_file(path));
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    float *host = malloc(net->n_params * sizeof *host);
    if (!host) {
        cg_safetensors_close(f);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    problems p = {{0}, 0, 0};
    for (int i = 0; i < net->n_convs; i++) fold_conv(f, &net->convs[i], host, &p);
    int fws[2] = {CG_INCEPTION_CLASSES, CG_INCEPTION_FEATURES}, fbs[1] = {CG_INCEPTION_CLASSES};
    const float *fw = fetch(f, "fc.weight", 2, fws, &p), *fb = fetch(f, "fc.bias", 1, fbs, &p);
    if (fw) memcpy(host + net->fc_w_off, fw, sizeof(float) * CG_INCEPTION_CLASSES * CG_INCEPTION_FEATURES);
    if (fb) memcpy(host + net->fc_b_off, fb, sizeof(float) * CG_INCEPTION_CLASSES);
    cg_safetensors_close(f);
    cg_status st = CG_OK;
    if (p.count)
        st = cg_fail(CG_ERR_FORMAT, "Inception weights '%s' do not fit pytorch-fid's network (%d problem%s): %s%s",
                     path, p.count, p.count > 1 ? "s" : "", p.text, p.count > 12 ? "; ..." : "");
    else
        st = upload_params(net, host);
    free(host);
    if (st == CG_OK) net->loaded = 1;
    return st;
}

cg_status cg_inception_random(cg_inception *net, uint64_t seed) {
    float *host = malloc(net->n_params * sizeof *host);
    if (!host) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_rng r = {seed, 7};
    uint64_t at = 0;
    for (int i = 0; i < net->n_convs; i++) {
        const incep_conv *c = &net->convs[i];
        size_t fan = (size_t)c->cin * c->kh * c->kw, n = fan * c->cout;
        cg_rng_normal_host(r, at, host + c->w_off, n, 0.0f, (float)sqrt(2.0 / fan));
        at += n;
        cg_rng_normal_host(r, at, host + c->b_off, (size_t)c->cout, 0.0f, 0.1f);
        at += (size_t)c->cout;
    }
    size_t nfc = (size_t)CG_INCEPTION_CLASSES * CG_INCEPTION_FEATURES;
    cg_rng_normal_host(r, at, host + net->fc_w_off, nfc, 0.0f, (float)sqrt(1.0 / CG_INCEPTION_FEATURES));
    cg_rng_normal_host(r, at + nfc, host + net->fc_b_off, CG_INCEPTION_CLASSES, 0.0f, 0.1f);
    cg_status st = upload_params(net, host);
    free(host);
    if (st == CG_OK) net->loaded = 1;
    return st;
}

void cg_inception_default_weights(const cg_runtime *rt, char *buf, size_t len) {
    const char *env = getenv("CLGAN_INCEPTION_WEIGHTS");
    if (env && *env)
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "%s/%s", cg_runtime_cache_dir(rt), CG_INCEPTION_WEIGHTS_NAME);
}

// ---------------------------------------------------------------------------------------------
// Forward.

// A convolution's forward (bias and ReLU fused, bind) under its profile label.
static cg_status conv_relu(cg_inception *net, cg_layer *conv, const char *label, cg_tensor x, cg_tensor y) {
    cg_profile_push(net->ctx.rt, label);
    cg_status st = conv->ops->forward(conv, &net->ctx, x, y, 0);
    cg_profile_pop(net->ctx.rt);
    return st;
}

cg_status incep_conv_relu(cg_inception *net, int i, cg_tensor x, cg_tensor y) {
    return conv_relu(net, net->convs[i].conv, net->convs[i].name, x, y);
}

cg_status incep_pool_conv_relu(cg_inception *net, int i, cg_tensor x, cg_tensor y, cl_mem t) {
    const incep_conv *c = &net->convs[i];
    if (!c->linear) return cg_fail(CG_ERR_INVALID_ARG, "inception: %s is not a branch_pool convolution", c->name);
    cg_tensor u = cg_view(t, 0, x.n, c->cout, x.h, x.w); // x: [N, cin, H, W] -> u: [N, cout, H, W]
    cg_profile_push(net->ctx.rt, c->name);
    cg_status st = c->linear->ops->forward(c->linear, &net->ctx, x, u, 0);
    if (st == CG_OK) st = net->avg3->ops->forward(net->avg3, &net->ctx, u, y, 0); // y: [N, cout, H, W]
    if (st == CG_OK) st = cg_bias_act(&net->ctx, y, &c->conv->params[1].w, 1);
    cg_profile_pop(net->ctx.rt);
    return st;
}

cg_status incep_merge_relu(cg_inception *net, int m, cg_tensor x, cg_tensor y) {
    return conv_relu(net, net->merges[m].conv, net->merges[m].name, x, y);
}

// x: [nb, 3, 299, 299] -> net->out regions (pool, logits, logits_nobias), nb <= max_batch
static cg_status forward_chunk(cg_inception *net, cg_tensor x) {
    int nb = x.n;
    cl_mem *B = net->buf;
    cg_tensor a = cg_view(B[0], 0, nb, 32, 149, 149);
    CG_TRY(incep_conv_relu(net, 0, x, a));
    cg_tensor b = cg_view(B[1], 0, nb, 32, 147, 147);
    CG_TRY(incep_conv_relu(net, 1, a, b));
    a = cg_view(B[0], 0, nb, 64, 147, 147);
    CG_TRY(incep_conv_relu(net, 2, b, a));
    b = cg_view(B[1], 0, nb, 64, 73, 73);
    CG_TRY(net->max3s2->ops->forward(net->max3s2, &net->ctx, a, b, 0));
    a = cg_view(B[0], 0, nb, 80, 73, 73);
    CG_TRY(incep_conv_relu(net, 3, b, a));
    b = cg_view(B[1], 0, nb, 192, 71, 71);
    CG_TRY(incep_conv_relu(net, 4, a, b));
    cg_tensor cur = cg_view(B[0], 0, nb, 192, 35, 35);
    CG_TRY(net->max3s2->ops->forward(net->max3s2, &net->ctx, b, cur, 0));
    int which = 0;
    for (int i = 0; i < net->n_blocks; i++) {
        const incep_block *blk = &net->blocks[i];
        int s = incep_block_out_size(blk, cur.h);
        cg_tensor nxt = cg_view(B[1 - which], 0, nb, blk->cout, s, s);
        char label[40];
        snprintf(label, sizeof label, "%s pool", blk->name);
        cg_profile_push(net->ctx.rt, label); // the block's pooling; its convolutions push their own names
        cg_status st = incep_block_forward(net, blk, cur, nxt, B[2], B[3]);
        cg_profile_pop(net->ctx.rt);
        CG_TRY(st);
        cur = nxt;
        which = 1 - which;
    }
    size_t mb = (size_t)net->max_batch;
    cg_tensor pool = cg_view(net->out, 0, nb, CG_INCEPTION_FEATURES, 1, 1);
    cg_tensor logits = cg_view(net->out, mb * CG_INCEPTION_FEATURES, nb, CG_INCEPTION_CLASSES, 1, 1);
    cg_tensor nobias = cg_view(net->out, mb * (CG_INCEPTION_FEATURES + CG_INCEPTION_CLASSES), nb,
                               CG_INCEPTION_CLASSES, 1, 1);
    cg_profile_push(net->ctx.rt, "avgpool+fc");
    cg_status st = net->gap->ops->forward(net->gap, &net->ctx, cur, pool, 0);
    if (st == CG_OK) st = net->fc->ops->forward(net->fc, &net->ctx, pool, logits, 0);
    if (st == CG_OK) st = net->fc_nobias->ops->forward(net->fc_nobias, &net->ctx, pool, nobias, 0);
    cg_profile_pop(net->ctx.rt);
    return st;
}

cg_status cg_inception_forward(cg_inception *net, cg_tensor x, float *pool, float *logits, float *logits_nobias) {
    if (!net->loaded) return cg_fail(CG_ERR_INVALID_ARG, "inception: forward before weights were loaded");
    if (x.c != 3 || x.h != CG_INCEPTION_SIZE || x.w != CG_INCEPTION_SIZE || !cg_is_contiguous(x))
        return cg_fail(CG_ERR_INVALID_ARG, "inception: input [%d, %d, %d, %d] is not a contiguous [N, 3, 299, 299]",
                       x.n, x.c, x.h, x.w);
    size_t per = cg_sample_size(x), mb = (size_t)net->max_batch;
    for (int n0 = 0; n0 < x.n; n0 += net->max_batch) {
        int nb = x.n - n0 < net->max_batch ? x.n - n0 : net->max_batch;
        cg_tensor xc = cg_view(x.buf, x.off + (size_t)n0 * per, nb, 3, x.h, x.w);
        CG_TRY(forward_chunk(net, xc));
        cg_runtime *rt = net->ctx.rt;
        if (pool)
            CG_TRY(cg_tensor_read(rt, cg_view(net->out, 0, nb, CG_INCEPTION_FEATURES, 1, 1),
                                  pool + (size_t)n0 * CG_INCEPTION_FEATURES));
        if (logits)
            CG_TRY(cg_tensor_read(rt, cg_view(net->out, mb * CG_INCEPTION_FEATURES, nb, CG_INCEPTION_CLASSES, 1, 1),
                                  logits + (size_t)n0 * CG_INCEPTION_CLASSES));
        if (logits_nobias)
            CG_TRY(cg_tensor_read(rt,
                                  cg_view(net->out, mb * (CG_INCEPTION_FEATURES + CG_INCEPTION_CLASSES), nb,
                                          CG_INCEPTION_CLASSES, 1, 1),
                                  logits_nobias + (size_t)n0 * CG_INCEPTION_CLASSES));
    }
    return CG_OK;
}
