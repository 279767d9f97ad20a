// mtcnn_nets.c — P-Net, R-Net and O-Net as chains of nets/ layers (Conv2d, PReLU, ceil-mode max
// pool, Linear) with weights from tools/convert_mtcnn.py's safetensors ("pnet.conv1.weight", ...,
// facenet-pytorch's names). Each net's heads are merged into one last layer: P-Net's conv4_1 and
// conv4_2 into 6 channels (2 logits, 4 box offsets); R-Net's dense5_1/5_2 into 6 features; O-Net's
// dense6_1/6_2/6_3 into 16 (2 logits, 4 offsets, 10 landmarks). facenet-pytorch flattens the last
// feature map as (N, W, H, C); the first dense layer's columns are reordered here to the (C, H, W)
// flattening the Linear layer reads.
#include "mtcnn_internal.h"

#include <stdlib.h>
#include <string.h>

typedef enum { L_CONV, L_PRELU, L_POOL, L_LINEAR } lkind;

typedef struct {
    lkind kind;
    int in, out, k, stride; // conv: in, out, kernel; pool: k, stride; linear: in, out; prelu: out
    const char *src;        // source names, comma separated for merged heads
    int perm_c;             // linear: channels of a (W, H, C)-flattened 3x3 input to reorder (0: none)
} lspec;

static const lspec PNET[] = {
    {L_CONV, 3, 10, 3, 1, "conv1", 0},  {L_PRELU, 0, 10, 0, 0, "prelu1", 0}, {L_POOL, 0, 0, 2, 2, NULL, 0},
    {L_CONV, 10, 16, 3, 1, "conv2", 0}, {L_PRELU, 0, 16, 0, 0, "prelu2", 0}, {L_CONV, 16, 32, 3, 1, "conv3", 0},
    {L_PRELU, 0, 32, 0, 0, "prelu3", 0}, {L_CONV, 32, 6, 1, 1, "conv4_1,conv4_2", 0},
};
static const lspec RNET[] = {
    {L_CONV, 3, 28, 3, 1, "conv1", 0},     {L_PRELU, 0, 28, 0, 0, "prelu1", 0},   {L_POOL, 0, 0, 3, 2, NULL, 0},
    {L_CONV, 28, 48, 3, 1, "conv2", 0},    {L_PRELU, 0, 48, 0, 0, "prelu2", 0},   {L_POOL, 0, 0, 3, 2, NULL, 0},
    {L_CONV, 48, 64, 2, 1, "conv3", 0},    {L_PRELU, 0, 64, 0, 0, "prelu3", 0},   {L_LINEAR, 576, 128, 0, 0, "dense4", 64},
    {L_PRELU, 0, 128, 0, 0, "prelu4", 0}, {L_LINEAR, 128, 6, 0, 0, "dense5_1,dense5_2", 0},
};
static const lspec ONET[] = {
    {L_CONV, 3, 32, 3, 1, "conv1", 0},       {L_PRELU, 0, 32, 0, 0, "prelu1", 0}, {L_POOL, 0, 0, 3, 2, NULL, 0},
    {L_CONV, 32, 64, 3, 1, "conv2", 0},      {L_PRELU, 0, 64, 0, 0, "prelu2", 0}, {L_POOL, 0, 0, 3, 2, NULL, 0},
    {L_CONV, 64, 64, 3, 1, "conv3", 0},      {L_PRELU, 0, 64, 0, 0, "prelu3", 0}, {L_POOL, 0, 0, 2, 2, NULL, 0},
    {L_CONV, 64, 128, 2, 1, "conv4", 0},     {L_PRELU, 0, 128, 0, 0, "prelu4", 0},
    {L_LINEAR, 1152, 256, 0, 0, "dense5", 128}, {L_PRELU, 0, 256, 0, 0, "prelu5", 0},
    {L_LINEAR, 256, 16, 0, 0, "dense6_1,dense6_2,dense6_3", 0},
};

static cg_status make_layer(const lspec *s, cg_layer **out) {
    switch (s->kind) {
    case L_CONV: return cg_conv2d_create((cg_conv_params){s->in, s->out, s->k, s->k, s->stride, 0, 1}, out);
    case L_PRELU: return cg_prelu_create(s->out, out);
    case L_POOL: return cg_maxpool2d_ceil_create((cg_pool_params){s->k, s->stride, 0}, out);
    case L_LINEAR: return cg_linear_create((cg_linear_params){s->in, s->out, 1}, out);
    }
    return cg_fail(CG_ERR_INVALID_ARG, "mtcnn: unknown layer kind");
}

// Copies the parameter `suffix` ("weight", "bias") of the comma-separated sources into dst,
// concatenated along the first dimension; want: floats expected in all.
static cg_status fill_param(const cg_st_file *f, const char *path, const char *net, const lspec *s, const char *suffix,
                            float *dst, size_t want) {
    char names[64];
    snprintf(names, sizeof names, "%s", s->src);
    size_t got = 0;
    for (char *save = NULL, *tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char name[96];
        snprintf(name, sizeof name, "%s.%s.%s", net, tok, suffix);
        const int *shape;
        int ndim;
        const float *data;
        cg_status st = cg_safetensors_get(f, name, &shape, &ndim, &data);
        if (st != CG_OK) return cg_fail_context(st, "MTCNN weights %s", path);
        size_t n = 1;
        for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
        if (got + n > want)
            return cg_fail(CG_ERR_FORMAT, "MTCNN weights %s: %s has %zu values, more than the layer holds", path, name, n);
        if (s->perm_c && !strcmp(suffix, "weight")) {
            // column (w*3 + h)*C + c of the source -> c*9 + h*3 + w
            int C = s->perm_c, rows = s->out;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < C; c++)
                    for (int h = 0; h < 3; h++)
                        for (int w = 0; w < 3; w++)
                            dst[(size_t)r * s->in + c * 9 + h * 3 + w] = data[(size_t)r * s->in + (w * 3 + h) * C + c];
        } else memcpy(dst + got, data, n * sizeof *dst);
        got += n;
    }
    if (got != want)
        return cg_fail(CG_ERR_FORMAT, "MTCNN weights %s: %s.%s.%s holds %zu values, the layer %zu", path, net, s->src,
                       suffix, got, want);
    return CG_OK;
}

static cg_status net_build(cg_runtime *rt, const cg_st_file *f, const char *path, const char *name, const lspec *spec,
                           int n, mtcnn_net *net) {
    memset(net, 0, sizeof *net);
    net->layers = calloc((size_t)n, sizeof *net->layers);
    if (!net->layers) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        CG_TRY(make_layer(&spec[i], &net->layers[i]));
        net->n = i + 1;
        // Named in errors: "pnet.conv2", "onet.conv6_1,conv6_2,conv6_3" (merged heads), "rnet.3" (a pool).
        if (spec[i].src)
            snprintf(net->layers[i]->name, sizeof net->layers[i]->name, "%s.%s", name, spec[i].src);
        else
            snprintf(net->layers[i]->name, sizeof net->layers[i]->name, "%s.%d", name, i);
        for (int j = 0; j < net->layers[i]->n_params; j++) total += cg_param_numel(&net->layers[i]->params[j]);
    }
    float *host = malloc(total * sizeof *host);
    if (!host) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = cg_buffer_alloc(rt, total, &net->params);
    size_t off = 0;
    for (int i = 0; i < n && st == CG_OK; i++)
        for (int j = 0; j < net->layers[i]->n_params && st == CG_OK; j++) {
            cg_param *p = &net->layers[i]->params[j];
            size_t k = cg_param_numel(p);
            st = fill_param(f, path, name, &spec[i], p->name, host + off, k);
            p->w = cg_view(net->params, off, 1, 1, 1, (int)k);
            off += k;
        }
    if (st == CG_OK) st = cg_tensor_write(rt, cg_view(net->params, 0, 1, 1, 1, (int)total), host);
    free(host);
    return st;
}

void mtcnn_net_free(mtcnn_net *net) {
    for (int i = 0; i < net->n; i++) cg_layer_free(net->layers[i]);
    free(net->layers);
    cg_buffer_release(net->params);
    cg_buffer_release(net->act[0]);
    cg_buffer_release(net->act[1]);
    memset(net, 0, sizeof *net);
}

cg_status mtcnn_nets_load(cg_runtime *rt, const char *path, mtcnn_net nets[3]) {
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    cg_status st = net_build(rt, f, path, "pnet", PNET, (int)(sizeof PNET / sizeof *PNET), &nets[0]);
    if (st == CG_OK) st = net_build(rt, f, path, "rnet", RNET, (int)(sizeof RNET / sizeof *RNET), &nets[1]);
    if (st == CG_OK) st = net_build(rt, f, path, "onet", ONET, (int)(sizeof ONET / sizeof *ONET), &nets[2]);
    cg_safetensors_close(f);
    return st;
}

// x: [N, 3, H, W] -> the last layer's output, in one of the net's two activation buffers.
cg_status mtcnn_net_forward(cg_ctx *ctx, mtcnn_net *net, cg_tensor x, cg_tensor *y) {
    int shape[4] = {x.n, x.c, x.h, x.w};
    size_t most = 0, ws = 0;
    for (int i = 0; i < net->n; i++) {
        int o[4];
        CG_TRY(net->layers[i]->ops->out_shape(net->layers[i], shape, o));
        if (net->layers[i]->ops->workspace) {
            size_t w = net->layers[i]->ops->workspace(net->layers[i], shape);
            if (w > ws) ws = w;
        }
        memcpy(shape, o, sizeof o);
        size_t k = (size_t)o[0] * o[1] * o[2] * o[3];
        if (k > most) most = k;
    }
    if (most > net->act_floats) {
        cg_buffer_release(net->act[0]);
        cg_buffer_release(net->act[1]);
        net->act[0] = net->act[1] = NULL;
        net->act_floats = 0;
        for (int k = 0; k < 2; k++) {
            cg_status st = cg_buffer_alloc(ctx->rt, most, &net->act[k]);
            if (st != CG_OK) return cg_fail_context(st, "MTCNN: the activation buffers (%zu floats each)", most);
        }
        net->act_floats = most;
    }
    if (ws) CG_TRY(cg_workspace_reserve(ctx->rt, &ctx->ws, ws));
    cg_tensor cur = x;
    for (int i = 0; i < net->n; i++) {
        int in[4] = {cur.n, cur.c, cur.h, cur.w}, o[4];
        CG_TRY(net->layers[i]->ops->out_shape(net->layers[i], in, o));
        cg_tensor next = cg_view(net->act[i & 1], 0, o[0], o[1], o[2], o[3]);
        cg_status st = net->layers[i]->ops->forward(net->layers[i], ctx, cur, next, 0);
        if (st != CG_OK)
            return cg_fail_context(st, "MTCNN %s (%s) with input [%d, %d, %d, %d]", net->layers[i]->name,
                                   net->layers[i]->kind, in[0], in[1], in[2], in[3]);
        cur = next;
    }
    *y = cur;
    return CG_OK;
}
