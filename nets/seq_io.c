// seq_io.c — saves and loads a sequential net's parameters and running statistics as safetensors,
// by PyTorch state_dict name. Loading checks the whole file against the net before writing
// anything to the device: every name present with its shape and dtype, nothing unknown (PyTorch's
// "*.num_batches_tracked" counters are ignored).
#include "nets.h"

#include <stdlib.h>
#include <string.h>

static void full_name(const cg_layer *l, const cg_param *p, char *buf, size_t len) {
    snprintf(buf, len, "%s.%s", l->name, p->name);
}

static int count_params(const cg_seq *s) {
    int n = 0;
    for (int i = 0; i < s->n_layers; i++) n += s->layers[i]->n_params;
    return n;
}

// Host copies of the parameter and statistics buffers (at least one float each).
static cg_status read_all(cg_ctx *ctx, cg_seq *s, float **params, float **buffers) {
    *params = malloc((s->n_params + 1) * sizeof(float));
    *buffers = malloc((s->n_buffers + 1) * sizeof(float));
    if (!*params || !*buffers) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (s->n_params) CG_TRY(cg_tensor_read(ctx->rt, cg_view(s->params, 0, 1, 1, 1, (int)s->n_params), *params));
    if (s->n_buffers) CG_TRY(cg_tensor_read(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, (int)s->n_buffers), *buffers));
    return CG_OK;
}

cg_status cg_seq_save(cg_ctx *ctx, cg_seq *s, const char *path) {
    int n = count_params(s);
    cg_st_tensor *t = calloc((size_t)n + 1, sizeof *t);
    char(*names)[128] = calloc((size_t)n + 1, sizeof *names);
    float *params = NULL, *buffers = NULL;
    cg_status st = t && names ? read_all(ctx, s, &params, &buffers) : cg_fail(CG_ERR_NOMEM, "out of host memory");
    int k = 0;
    for (int i = 0; st == CG_OK && i < s->n_layers; i++) {
        const cg_layer *l = s->layers[i];
        for (int j = 0; j < l->n_params; j++, k++) {
            const cg_param *p = &l->params[j];
            full_name(l, p, names[k], sizeof names[k]);
            t[k].name = names[k];
            t[k].shape = p->shape;
            t[k].ndim = p->ndim;
            t[k].data = (p->trainable ? params : buffers) + p->w.off;
        }
    }
    if (st == CG_OK) st = cg_safetensors_write(path, t, n, NULL, NULL, 0);
    free(params);
    free(buffers);
    free(names);
    free(t);
    if (st != CG_OK) return cg_fail_context(st, "saving net '%s'", s->prefix);
    return CG_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void shape_text(const int *shape, int ndim, char *buf, size_t len) {
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && at < len; d++) at += (size_t)snprintf(buf + at, len - at, d ? ", %d" : "%d", shape[d]);
    if (at < len) snprintf(buf + at, len - at, "]");
}

// Copies every tensor of the net from f into the host images of the two buffers, checking names,
// shapes and dtypes; then refuses tensors the net does not have.
static cg_status gather(cg_seq *s, const cg_st_file *f, const char *path, float *params, float *buffers) {
    for (int i = 0; i < s->n_layers; i++) {
        const cg_layer *l = s->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const cg_param *p = &l->params[j];
            char name[128];
            full_name(l, p, name, sizeof name);
            const int *shape;
            int ndim;
            const float *data;
            cg_status st = cg_safetensors_get(f, name, &shape, &ndim, &data);
            if (st == CG_ERR_NOT_FOUND) return cg_fail(CG_ERR_FORMAT, "%s: missing tensor '%s'", path, name);
            if (st != CG_OK) return st;
            int same = ndim == p->ndim;
            for (int d = 0; same && d < ndim; d++) same = shape[d] == p->shape[d];
            if (!same) {
                char got[160], want[160];
                shape_text(shape, ndim, got, sizeof got);
                shape_text(p->shape, p->ndim, want, sizeof want);
                return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", path, name, got, want);
            }
            size_t numel = cg_param_numel(p);
            if (numel) memcpy((p->trainable ? params : buffers) + p->w.off, data, numel * sizeof(float));
        }
    }
    for (int i = 0; i < cg_safetensors_count(f); i++) {
        const char *name = cg_safetensors_name(f, i);
        if (!ends_with(name, ".num_batches_tracked") && strcmp(name, "num_batches_tracked") != 0 &&
            !cg_seq_find(s, name))
            return cg_fail(CG_ERR_FORMAT, "%s: unexpected tensor '%s' (the net has no such parameter)", path, name);
    }
    return CG_OK;
}

cg_status cg_seq_load(cg_ctx *ctx, cg_seq *s, const char *path) {
    cg_st_file *f = NULL;
    cg_status st = cg_safetensors_open(path, &f);
    float *params = malloc((s->n_params + 1) * sizeof(float));
    float *buffers = malloc((s->n_buffers + 1) * sizeof(float));
    if (st == CG_OK && (!params || !buffers)) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK) st = gather(s, f, path, params, buffers);
    if (st == CG_OK && s->n_params)
        st = cg_tensor_write(ctx->rt, cg_view(s->params, 0, 1, 1, 1, (int)s->n_params), params);
    if (st == CG_OK && s->n_buffers)
        st = cg_tensor_write(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, (int)s->n_buffers), buffers);
    cg_safetensors_close(f);
    free(params);
    free(buffers);
    if (st != CG_OK) return cg_fail_context(st, "loading net '%s'", s->prefix);
    return CG_OK;
}
