// seq.c — the sequential container: names its layers like PyTorch's nn.Sequential, packs every
// trainable parameter into one buffer (gradients alike) and running statistics into another,
// allocates the activations of a batch (and, for the gradient penalty, their tangents) as views
// into buffers, and runs forward, backward, tangent and backward2 over its layers (nets/chain.c).
// Defaults come from each parameter's role: norm scales and running variances 1, the rest 0.
//
// Parameter views: a PyTorch shape [d0, d1, ...] becomes the view [d0, d1, d2, d3] padded with 1s
// on the right (conv weight [Cout, Cin, kh, kw]; linear [out, in, 1, 1]; BatchNorm [C, 1, 1, 1]).
// Parameters lie in layer order, then declaration order, in both buffers.
#include "nets_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

// shapes[i] = input of layer i, shapes[n] = output of the net, for a batch of `batch`.
static cg_status infer_shapes(const cg_seq *s, int batch, int (*shapes)[4]) {
    int in[4] = {batch, s->in_shape[0], s->in_shape[1], s->in_shape[2]};
    return cg_chain_shapes(s->layers, s->n_layers, in, shapes);
}

static cg_chain chain_of(const cg_seq *s) {
    cg_chain c = {s->layers, s->n_layers, s->acts, s->dacts, s->tan, s->adj};
    return c;
}

static cg_tensor param_view(cl_mem buf, size_t off, const cg_param *p) {
    int d[4] = {1, 1, 1, 1};
    for (int k = 0; k < p->ndim && k < 4; k++) d[k] = p->shape[k];
    return cg_view(buf, off, d[0], d[1], d[2], d[3]);
}

// PyTorch's fresh-module default of a parameter: norm scales and running variances 1, the rest 0.
static float default_value(const cg_param *p) {
    return p->role == CG_ROLE_NORM_SCALE || p->role == CG_ROLE_RUNNING_VAR ? 1.0f : 0.0f;
}

// Sizes the buffers, binds every parameter's views and writes the defaults (default_value).
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
    // The three buffers, named in a failure.
    cl_mem *bufs[3] = {&s->params, &s->grads, &s->buffers};
    static const char *const names[3] = {"parameter", "gradient", "running-statistics"};
    size_t sizes[3] = {np, np, nb};
    for (int k = 0; k < 3; k++) {
        cg_status st = cg_buffer_alloc(ctx->rt, sizes[k], bufs[k]);
        if (st == CG_OK) st = cg_tensor_fill(ctx->rt, cg_view(*bufs[k], 0, 1, 1, 1, (int)sizes[k]), 0.0f);
        if (st != CG_OK) return cg_fail_context(st, "the %s buffer (%zu floats)", names[k], sizes[k]);
    }
    np = nb = 0;
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            size_t numel = cg_param_numel(p);
            if (numel && default_value(p) != 0.0f)
                CG_TRY(cg_tensor_fill(ctx->rt, cg_view(p->trainable ? s->params : s->buffers,
                                                       p->trainable ? np : nb, 1, 1, 1, (int)numel),
                                      default_value(p)));
            if (p->trainable) {
                p->w = param_view(s->params, np, p);
                p->dw = param_view(s->grads, np, p);
                np += numel;
            } else {
                p->w = param_view(s->buffers, nb, p);
                memset(&p->dw, 0, sizeof p->dw);
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

static void release_tangents(cg_seq *s) {
    cg_buffer_release(s->tan_buf);
    cg_buffer_release(s->adj_buf);
    free(s->tan);
    free(s->adj);
    s->tan_buf = s->adj_buf = NULL;
    s->tan = s->adj = NULL;
}

static void release_acts(cg_seq *s) {
    release_tangents(s);
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
        if (i < n && s->layers[i]->ops->workspace) {
            size_t need = s->layers[i]->ops->workspace(s->layers[i], shapes[i]);
            if (need > ws) ws = need;
        }
    }
    release_acts(s);
    s->acts = calloc((size_t)n + 1, sizeof *s->acts);
    s->dacts = calloc((size_t)n + 1, sizeof *s->dacts);
    if (!s->acts || !s->dacts) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    const char *what = "activation"; // the buffer named in a failure
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total, &s->act_buf);
    size_t in_size = (size_t)shapes[0][0] * shapes[0][1] * shapes[0][2] * shapes[0][3];
    if (st == CG_OK) what = "activation-gradient", st = cg_buffer_alloc(ctx->rt, total - in_size, &s->dact_buf);
    if (st == CG_OK && ws > 0) what = "shared workspace", st = cg_workspace_reserve(ctx->rt, &ctx->ws, ws);
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
        return cg_fail_context(st, "net '%s' with batch %d: the %s buffer", s->prefix, batch, what);
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
    cg_chain c = chain_of(s);
    return cg_chain_forward(ctx, &c, training);
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
    cg_chain c = chain_of(s);
    return cg_chain_backward(ctx, &c, dx);
}

// tan[0..n] and adj[1..n], shaped like the activations of the current batch.
cg_status cg_seq_tangent_input(cg_ctx *ctx, cg_seq *s, cg_tensor *xt) {
    CG_TRY(need_batch(s, "second order"));
    if (!s->tan) {
        int n = s->n_layers;
        size_t total = 0, in_size = cg_numel(s->acts[0]);
        for (int i = 0; i <= n; i++) total += cg_numel(s->acts[i]);
        s->tan = calloc((size_t)n + 1, sizeof *s->tan);
        s->adj = calloc((size_t)n + 1, sizeof *s->adj);
        cg_status st = s->tan && s->adj ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total, &s->tan_buf);
        if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total - in_size, &s->adj_buf);
        if (st != CG_OK) {
            release_tangents(s);
            return cg_fail_context(st, "net '%s': tangents for batch %d", s->prefix, s->batch);
        }
        size_t off = 0;
        for (int i = 0; i <= n; i++) {
            cg_tensor a = s->acts[i];
            s->tan[i] = cg_view(s->tan_buf, off, a.n, a.c, a.h, a.w);
            if (i > 0) s->adj[i] = cg_view(s->adj_buf, off - in_size, a.n, a.c, a.h, a.w);
            off += cg_numel(a);
        }
    }
    *xt = s->tan[0];
    return CG_OK;
}

static cg_status need_tangents(const cg_seq *s, const char *what) {
    CG_TRY(need_batch(s, what));
    if (!s->tan) return cg_fail(CG_ERR_INVALID_ARG, "%s of net '%s' before cg_seq_tangent_input", what, s->prefix);
    return CG_OK;
}

cg_status cg_seq_tangent(cg_ctx *ctx, cg_seq *s) {
    CG_TRY(need_tangents(s, "tangent"));
    cg_chain c = chain_of(s);
    return cg_chain_tangent(ctx, &c);
}

cg_tensor cg_seq_tangent_output(const cg_seq *s) { return acts_at(s->tan, s->n_layers); }
cg_tensor cg_seq_dtangent_output(const cg_seq *s) { return acts_at(s->adj, s->n_layers); }

cg_status cg_seq_backward2(cg_ctx *ctx, cg_seq *s, int with_doutput) {
    CG_TRY(need_tangents(s, "backward2"));
    cg_chain c = chain_of(s);
    int gx_zero;
    return cg_chain_backward2(ctx, &c, !with_doutput, NULL, NULL, &gx_zero);
}

cg_status cg_seq_zero_grad(cg_ctx *ctx, cg_seq *s) {
    return cg_tensor_fill(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params), 0.0f);
}

static void keep_in(cg_layer *l, int keep) {
    cg_batchnorm_keep_output(l, keep);
    for (int i = 0; i < l->n_inner; i++) keep_in(l->inner[i], keep);
}

void cg_seq_keep_acts(cg_seq *s, int keep) {
    for (int i = 0; i < s->n_layers; i++) keep_in(s->layers[i], keep);
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
