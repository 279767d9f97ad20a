// seq.c — the sequential container: names its layers like PyTorch's nn.Sequential, packs every
// trainable parameter into one buffer (gradients alike) and running statistics into another,
// allocates the activations of a batch as views into two buffers, and runs forward and backward.
//
// Parameter views: a PyTorch shape [d0, d1, ...] becomes the view [d0, d1, d2, d3] padded with 1s
// on the right (conv weight [Cout, Cin, kh, kw]; linear [out, in, 1, 1]; BatchNorm [C, 1, 1, 1]).
// Parameters lie in layer order, then declaration order, in both buffers.
#include "nets.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static cg_status layer_fail(cg_status st, const cg_layer *l, const int in[4]) {
    return cg_fail_context(st, "%s (%s) with input [%d, %d, %d, %d]", l->name, l->kind, in[0], in[1], in[2], in[3]);
}

static cg_status layer_fail_at(cg_status st, const cg_layer *l, cg_tensor x) {
    int in[4] = {x.n, x.c, x.h, x.w};
    return layer_fail(st, l, in);
}

// shapes[i] = input of layer i, shapes[n] = output of the net, for a batch of `batch`.
static cg_status infer_shapes(const cg_seq *s, int batch, int (*shapes)[4]) {
    shapes[0][0] = batch;
    memcpy(&shapes[0][1], s->in_shape, sizeof s->in_shape);
    for (int i = 0; i < s->n_layers; i++) {
        const cg_layer *l = s->layers[i];
        cg_status st = l->out_shape(l, shapes[i], shapes[i + 1]);
        if (st != CG_OK) return layer_fail(st, l, shapes[i]);
        const int *o = shapes[i + 1];
        if (o[0] <= 0 || o[1] <= 0 || o[2] <= 0 || o[3] <= 0)
            return layer_fail(cg_fail(CG_ERR_INVALID_ARG, "empty output [%d, %d, %d, %d]", o[0], o[1], o[2], o[3]), l,
                              shapes[i]);
    }
    return CG_OK;
}

static cg_tensor param_view(cl_mem buf, size_t off, const cg_param *p) {
    int d[4] = {1, 1, 1, 1};
    for (int k = 0; k < p->ndim && k < 4; k++) d[k] = p->shape[k];
    return cg_view(buf, off, d[0], d[1], d[2], d[3]);
}

static int is_norm(const char *kind) { return !strncmp(kind, "batchnorm", 9) || !strcmp(kind, "layernorm"); }

// Sizes the buffers, binds every parameter's views and writes PyTorch's fresh-module defaults:
// trainable 0 except the weight of a BatchNorm/LayerNorm (1); running_var 1, other statistics 0.
static cg_status bind_params(cg_ctx *ctx, cg_seq *s) {
    size_t np = 0, nb = 0;
    for (int i = 0; i < s->n_layers; i++)
        for (int j = 0; j < s->layers[i]->n_params; j++) {
            const cg_param *p = &s->layers[i]->params[j];
            int bad = p->ndim < 0 || p->ndim > 4;
            for (int d = 0; !bad && d < p->ndim; d++) bad = p->shape[d] < 0;
            if (bad) return cg_fail(CG_ERR_INVALID_ARG, "%s.%s: invalid shape", s->layers[i]->name, p->name);
            *(p->trainable ? &np : &nb) += cg_param_numel(p);
        }
    if (np > INT_MAX || nb > INT_MAX)
        return cg_fail(CG_ERR_INVALID_ARG, "%zu parameters and %zu statistics: more than 2^31 floats", np, nb);
    s->n_params = np;
    s->n_buffers = nb;
    CG_TRY(cg_buffer_alloc(ctx->rt, np, &s->params));
    CG_TRY(cg_buffer_alloc(ctx->rt, np, &s->grads));
    CG_TRY(cg_buffer_alloc(ctx->rt, nb, &s->buffers));
    CG_TRY(cg_tensor_fill(ctx->rt, cg_view(s->params, 0, 1, 1, 1, (int)np), 0.0f));
    CG_TRY(cg_tensor_fill(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, (int)np), 0.0f));
    CG_TRY(cg_tensor_fill(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, (int)nb), 0.0f));
    np = nb = 0;
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            size_t numel = cg_param_numel(p);
            if (p->trainable) {
                p->w = param_view(s->params, np, p);
                p->dw = param_view(s->grads, np, p);
                if (is_norm(l->kind) && !strcmp(p->name, "weight"))
                    CG_TRY(cg_tensor_fill(ctx->rt, cg_view(s->params, np, 1, 1, 1, (int)numel), 1.0f));
                np += numel;
            } else {
                p->w = param_view(s->buffers, nb, p);
                memset(&p->dw, 0, sizeof p->dw);
                if (!strcmp(p->name, "running_var"))
                    CG_TRY(cg_tensor_fill(ctx->rt, cg_view(s->buffers, nb, 1, 1, 1, (int)numel), 1.0f));
                nb += numel;
            }
        }
    }
    return CG_OK;
}

cg_status cg_seq_create(cg_ctx *ctx, const char *prefix, cg_layer **layers, const int *index, int n,
                        const int in_chw[3], cg_seq **out) {
    *out = NULL;
    cg_seq *s = calloc(1, sizeof *s);
    cg_layer **own = calloc(n > 0 ? (size_t)n : 1, sizeof *own);
    int missing = -1;
    for (int i = n - 1; i >= 0; i--)
        if (!layers[i]) missing = i;
    if (!s || !own || missing >= 0) {
        free(s);
        free(own);
        for (int i = 0; i < n; i++) cg_layer_free(layers[i]);
        if (missing >= 0)
            return cg_fail(CG_ERR_INVALID_ARG, "net '%s': layer %d is missing", prefix ? prefix : "", missing);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    memcpy(own, layers, (size_t)(n > 0 ? n : 0) * sizeof *own);
    s->layers = own;
    s->n_layers = n;
    snprintf(s->prefix, sizeof s->prefix, "%s", prefix ? prefix : "");
    memcpy(s->in_shape, in_chw, sizeof s->in_shape);
    cg_status st = CG_OK;
    if (n <= 0) st = cg_fail(CG_ERR_INVALID_ARG, "a sequential net needs at least one layer");
    for (int i = 0; st == CG_OK && i < n; i++) {
        int idx = index ? index[i] : i;
        if (s->prefix[0])
            snprintf(own[i]->name, sizeof own[i]->name, "%s.%d", s->prefix, idx);
        else
            snprintf(own[i]->name, sizeof own[i]->name, "%d", idx);
    }
    if (st == CG_OK && (in_chw[0] <= 0 || in_chw[1] <= 0 || in_chw[2] <= 0))
        st = cg_fail(CG_ERR_INVALID_ARG, "input shape [%d, %d, %d] is empty", in_chw[0], in_chw[1], in_chw[2]);
    int(*shapes)[4] = NULL;
    if (st == CG_OK) {
        shapes = malloc((size_t)(n + 1) * sizeof *shapes);
        st = shapes ? infer_shapes(s, 1, shapes) : cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    free(shapes);
    if (st == CG_OK) st = bind_params(ctx, s);
    if (st != CG_OK) {
        cg_seq_free(s);
        return cg_fail_context(st, "creating net '%s'", prefix ? prefix : "");
    }
    *out = s;
    return CG_OK;
}

static void release_acts(cg_seq *s) {
    cg_buffer_release(s->act_buf);
    cg_buffer_release(s->dact_buf);
    free(s->acts);
    free(s->dacts);
    s->act_buf = s->dact_buf = NULL;
    s->acts = s->dacts = NULL;
    s->batch = 0;
}

void cg_seq_free(cg_seq *s) {
    if (!s) return;
    for (int i = 0; i < s->n_layers; i++) cg_layer_free(s->layers[i]);
    free(s->layers);
    cg_buffer_release(s->params);
    cg_buffer_release(s->grads);
    cg_buffer_release(s->buffers);
    release_acts(s);
    free(s);
}

// acts[0..n] share act_buf, dacts[1..n] share dact_buf. dacts[0] has no buffer: the input
// gradient goes to the caller's tensor in cg_seq_backward.
cg_status cg_seq_set_batch(cg_ctx *ctx, cg_seq *s, int batch) {
    if (batch <= 0) return cg_fail(CG_ERR_INVALID_ARG, "batch size %d", batch);
    if (batch == s->batch && s->acts) return CG_OK;
    int n = s->n_layers;
    int(*shapes)[4] = malloc((size_t)(n + 1) * sizeof *shapes);
    if (!shapes) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = infer_shapes(s, batch, shapes);
    if (st != CG_OK) {
        free(shapes);
        return cg_fail_context(st, "net '%s' with batch %d", s->prefix, batch);
    }
    size_t total = 0, ws = 0;
    for (int i = 0; i <= n; i++) {
        total += (size_t)shapes[i][0] * shapes[i][1] * shapes[i][2] * shapes[i][3];
        if (i < n && s->layers[i]->workspace) {
            size_t need = s->layers[i]->workspace(s->layers[i], shapes[i]);
            if (need > ws) ws = need;
        }
    }
    release_acts(s);
    s->acts = calloc((size_t)n + 1, sizeof *s->acts);
    s->dacts = calloc((size_t)n + 1, sizeof *s->dacts);
    if (!s->acts || !s->dacts) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total, &s->act_buf);
    size_t in_size = (size_t)shapes[0][0] * shapes[0][1] * shapes[0][2] * shapes[0][3];
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total - in_size, &s->dact_buf);
    if (st == CG_OK && ws > 0) st = cg_workspace_reserve(ctx->rt, &ctx->ws, ws);
    if (st == CG_OK) {
        size_t off = 0;
        for (int i = 0; i <= n; i++) {
            const int *d = shapes[i];
            s->acts[i] = cg_view(s->act_buf, off, d[0], d[1], d[2], d[3]);
            s->dacts[i] = cg_view(i > 0 ? s->dact_buf : NULL, i > 0 ? off - in_size : 0, d[0], d[1], d[2], d[3]);
            off += (size_t)d[0] * d[1] * d[2] * d[3];
        }
        s->batch = batch;
    }
    free(shapes);
    if (st != CG_OK) {
        release_acts(s);
        return cg_fail_context(st, "net '%s' with batch %d", s->prefix, batch);
    }
    return CG_OK;
}

static cg_tensor acts_at(const cg_tensor *a, int i) {
    if (a) return a[i];
    cg_tensor none = {0};
    return none;
}

cg_tensor cg_seq_input(const cg_seq *s) { return acts_at(s->acts, 0); }
cg_tensor cg_seq_output(const cg_seq *s) { return acts_at(s->acts, s->n_layers); }
cg_tensor cg_seq_doutput(const cg_seq *s) { return acts_at(s->dacts, s->n_layers); }

static cg_status need_batch(const cg_seq *s, const char *what) {
    if (!s->acts) return cg_fail(CG_ERR_INVALID_ARG, "%s of net '%s' before cg_seq_set_batch", what, s->prefix);
    return CG_OK;
}

// acts[0] -> acts[n], layer by layer.
cg_status cg_seq_forward(cg_ctx *ctx, cg_seq *s, int training) {
    CG_TRY(need_batch(s, "forward"));
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        cg_status st = l->forward(l, ctx, s->acts[i], s->acts[i + 1], training);
        if (st != CG_OK) return layer_fail_at(st, l, s->acts[i]);
    }
    return CG_OK;
}

// dacts[n] -> dacts[1] and the caller's dx, in reverse; parameter gradients accumulate.
cg_status cg_seq_backward(cg_ctx *ctx, cg_seq *s, const cg_tensor *dx) {
    CG_TRY(need_batch(s, "backward"));
    if (dx) {
        cg_tensor in = s->acts[0];
        if (dx->n != in.n || dx->c != in.c || dx->h != in.h || dx->w != in.w || !dx->buf)
            return cg_fail(CG_ERR_INVALID_ARG,
                           "net '%s': input gradient [%d, %d, %d, %d] does not match input "
                           "[%d, %d, %d, %d]",
                           s->prefix, dx->n, dx->c, dx->h, dx->w, in.n, in.c, in.h, in.w);
    }
    for (int i = s->n_layers - 1; i >= 0; i--) {
        cg_layer *l = s->layers[i];
        const cg_tensor *din = i > 0 ? &s->dacts[i] : dx;
        cg_status st = l->backward(l, ctx, s->acts[i], s->acts[i + 1], s->dacts[i + 1], din);
        if (st != CG_OK) return layer_fail_at(st, l, s->acts[i]);
    }
    return CG_OK;
}

cg_status cg_seq_zero_grad(cg_ctx *ctx, cg_seq *s) {
    return cg_tensor_fill(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params), 0.0f);
}

cg_param *cg_seq_find(cg_seq *s, const char *name) {
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        size_t len = strlen(l->name);
        if (strncmp(name, l->name, len) != 0 || name[len] != '.') continue;
        for (int j = 0; j < l->n_params; j++)
            if (!strcmp(name + len + 1, l->params[j].name)) return &l->params[j];
    }
    return NULL;
}
