// srvgg.c — SRVGGNetCompact built from a weights file's shapes and run forward through its layers:
// the convolutions, PReLUs and PixelShuffle form a sequential net named "body" (so parameters load by
// Real-ESRGAN's state_dict names, "body.<i>.weight"), run over two ping-pong activation buffers
// instead of the container's per-layer ones; the nearest-upsampled input is then added.
#include "srvgg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cg_srvgg {
    cg_seq *net;   // body.0 .. body.<2K-2> and the PixelShuffle at body.<2K-1>
    int convs, feat, scale;
    cl_mem a, b;   // ping-pong activations
    size_t cap;    // floats in each
};

int cg_srvgg_scale(const cg_srvgg *m) { return m->scale; }
int cg_srvgg_features(const cg_srvgg *m) { return m->feat; }
int cg_srvgg_convs(const cg_srvgg *m) { return m->convs; }

void cg_srvgg_free(cg_srvgg *m) {
    if (!m) return;
    cg_seq_free(m->net);
    cg_buffer_release(m->a);
    cg_buffer_release(m->b);
    free(m);
}

static const float *tensor(const cg_st_file *f, const char *name, const int **shape, int *nd) {
    const float *d = NULL;
    return cg_safetensors_get(f, name, shape, nd, &d) == CG_OK ? d : NULL;
}

// The structure from the shapes: K convolutions at body.0, 2, ..., 2K-2; feat from body.0.weight;
// scale from the last convolution's 3*s*s outputs.
static cg_status infer(const cg_st_file *f, const char *path, int *convs, int *feat, int *scale) {
    const int *sh;
    int nd;
    char name[48];
    if (!tensor(f, "body.0.weight", &sh, &nd))
        return cg_fail(CG_ERR_FORMAT, "%s: tensor body.0.weight is missing (not an SRVGGNetCompact state_dict?)", path);
    if (nd != 4 || sh[1] != 3 || sh[2] != 3 || sh[3] != 3 || sh[0] < 1)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor body.0.weight should be [features, 3, 3, 3]", path);
    *feat = sh[0];
    int k = 0;
    for (;; k++) {
        snprintf(name, sizeof name, "body.%d.weight", 2 * k);
        if (!tensor(f, name, &sh, &nd) || nd != 4) break;
    }
    int top = -1; // the highest body index named: past the last convolution's PReLU, one is missing
    for (int i = 0; i < cg_safetensors_count(f); i++) {
        int j;
        if (sscanf(cg_safetensors_name(f, i), "body.%d.", &j) == 1 && j > top) top = j;
    }
    if (top > 2 * k - 1 && k >= 1)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor body.%d.weight is missing (body.%d.* follow)", path, 2 * k, top);
    if (k < 2) return cg_fail(CG_ERR_FORMAT, "%s: tensor body.2.weight is missing (need at least two convolutions)", path);
    snprintf(name, sizeof name, "body.%d.weight", 2 * (k - 1));
    tensor(f, name, &sh, &nd);
    int s = (int)lround(sqrt(sh[0] / 3.0));
    if (sh[0] % 3 != 0 || s < 1 || 3 * s * s != sh[0] || s > 16)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor %s has %d output channels, expected 3 * s * s for a scale s", path,
                       name, sh[0]);
    *convs = k, *scale = s;
    return CG_OK;
}

// Every tensor of the file is one of the net's, and finite.
static cg_status check_tensors(const cg_st_file *f, const char *path, cg_seq *net) {
    for (int i = 0; i < cg_safetensors_count(f); i++) {
        const char *name = cg_safetensors_name(f, i);
        if (!cg_seq_find(net, name))
            return cg_fail(CG_ERR_FORMAT, "%s: unexpected tensor %s (the shapes describe %d layers)", path, name,
                           net->n_layers);
        const int *sh;
        int nd;
        const float *d = tensor(f, name, &sh, &nd);
        size_t n = 1;
        for (int j = 0; j < nd; j++) n *= (size_t)sh[j];
        for (size_t j = 0; d && j < n; j++)
            if (!isfinite(d[j]))
                return cg_fail(CG_ERR_NUMERIC, "%s: tensor %s holds a non-finite value (%g at %zu)", path, name,
                               (double)d[j], j);
    }
    return CG_OK;
}

static cg_status build(cg_ctx *ctx, int convs, int feat, int scale, cg_seq **out) {
    int n = 2 * convs;
    cg_layer **layers = calloc((size_t)n, sizeof *layers);
    if (!layers) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = CG_OK;
    for (int k = 0; k < convs && st == CG_OK; k++) {
        cg_conv_params c = {k ? feat : 3, k == convs - 1 ? 3 * scale * scale : feat, 3, 3, 1, 1, 1};
        st = cg_conv2d_create(c, &layers[2 * k]);
        if (st == CG_OK && k < convs - 1) st = cg_prelu_create(feat, &layers[2 * k + 1]);
    }
    if (st == CG_OK) st = cg_pixel_shuffle_create(scale, &layers[n - 1]);
    const int in[3] = {3, 1, 1};
    if (st == CG_OK) {
        st = cg_seq_create(ctx, "body", layers, NULL, n, in, out);
    } else {
        for (int i = 0; i < n; i++) cg_layer_free(layers[i]);
    }
    free(layers);
    return st;
}

cg_status cg_srvgg_load(cg_ctx *ctx, const char *path, cg_srvgg **out) {
    *out = NULL;
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    cg_srvgg *m = calloc(1, sizeof *m);
    cg_status st = m ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK) st = infer(f, path, &m->convs, &m->feat, &m->scale);
    if (st == CG_OK) st = build(ctx, m->convs, m->feat, m->scale, &m->net);
    if (st == CG_OK) st = check_tensors(f, path, m->net);
    cg_safetensors_close(f);
    if (st == CG_OK) st = cg_seq_load(ctx, m->net, path);
    if (st != CG_OK) {
        cg_srvgg_free(m);
        return cg_fail_context(st, "loading the upscaler '%s'", path);
    }
    *out = m;
    return CG_OK;
}

// x: [N, 3, H, W] -> y: [N, 3, H*s, W*s]
cg_status cg_srvgg_forward(cg_ctx *ctx, cg_srvgg *m, cg_tensor x, cg_tensor y) {
    cg_layer **l = m->net->layers;
    const int n = m->net->n_layers;
    int shape[4] = {x.n, x.c, x.h, x.w};
    size_t need = 1;
    for (int i = 0; i < n; i++) {
        CG_TRY(l[i]->ops->out_shape(l[i], shape, shape));
        if (i < n - 1 && (size_t)shape[0] * shape[1] * shape[2] * shape[3] > need)
            need = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
    }
    if (y.n != shape[0] || y.c != shape[1] || y.h != shape[2] || y.w != shape[3] || !cg_is_contiguous(x) ||
        !cg_is_contiguous(y))
        return cg_fail(CG_ERR_INVALID_ARG, "upscaler: output [%d, %d, %d, %d] for input [%d, %d, %d, %d], expected "
                       "dense [%d, %d, %d, %d]", y.n, y.c, y.h, y.w, x.n, x.c, x.h, x.w, shape[0], shape[1], shape[2],
                       shape[3]);
    if (need > m->cap) {
        cg_buffer_release(m->a), cg_buffer_release(m->b);
        m->a = m->b = NULL, m->cap = 0;
        CG_TRY(cg_buffer_alloc(ctx->rt, need, &m->a));
        CG_TRY(cg_buffer_alloc(ctx->rt, need, &m->b));
        m->cap = need;
    }
    cg_tensor cur = x;
    for (int i = 0; i < n; i++) {
        int in[4] = {cur.n, cur.c, cur.h, cur.w}, o[4];
        CG_TRY(l[i]->ops->out_shape(l[i], in, o));
        cg_tensor next = i == n - 1 ? y : cg_view(i % 2 ? m->b : m->a, 0, o[0], o[1], o[2], o[3]);
        CG_TRY(l[i]->ops->forward(l[i], ctx, cur, next, 0));
        cur = next;
    }
    return cg_upsample_nearest_add(ctx, x, m->scale, y);
}
