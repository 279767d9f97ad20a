// init.c — weight initialisers on the device from the runtime's Philox RNG, and the DCGAN scheme
// over a sequential net. Each parameter draws from its own stream, derived from the caller's
// (seed, stream) and the parameter's full state_dict name, so its values depend neither on the
// order of initialisation nor on the other layers of the net.
#include "nets.h"

#include <string.h>

static cg_status check_target(const char *fn, cg_tensor t) {
    if (!cg_is_contiguous(t)) return cg_fail(CG_ERR_INVALID_ARG, "%s: the tensor view is strided", fn);
    return CG_OK;
}

cg_status cg_init_normal(cg_ctx *ctx, cg_tensor t, cg_rng r, float mean, float std) {
    CG_TRY(check_target("cg_init_normal", t));
    return cg_rng_normal(ctx->rt, r, 0, t, mean, std);
}

cg_status cg_init_uniform(cg_ctx *ctx, cg_tensor t, cg_rng r, float lo, float hi) {
    CG_TRY(check_target("cg_init_uniform", t));
    return cg_rng_uniform(ctx->rt, r, 0, t, lo, hi);
}

// The stream of parameter `name` under the caller's (seed, stream).
static cg_rng param_rng(cg_rng r, const char *name) {
    uint64_t h = cg_fnv1a64(&r.stream, sizeof r.stream, CG_FNV_INIT);
    cg_rng out = {r.seed, cg_fnv1a64(name, strlen(name), h)};
    return out;
}

static int is_weighted(const char *kind) {
    return !strcmp(kind, "conv2d") || !strcmp(kind, "conv_transpose2d") || !strcmp(kind, "linear");
}

// pytorch/examples DCGAN weights_init: Conv* weight N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0.
// Linear layers are treated like convolutions, and their biases (like conv biases) start at 0.
// Other layers (LayerNorm, activations) and running statistics keep their defaults.
cg_status cg_init_dcgan(cg_ctx *ctx, cg_seq *s, cg_rng r) {
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        int conv = is_weighted(l->kind), bn = !strncmp(l->kind, "batchnorm", 9);
        if (!conv && !bn) continue;
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            if (!p->trainable) continue;
            char full[128];
            snprintf(full, sizeof full, "%s.%s", l->name, p->name);
            cg_status st = CG_OK;
            if (!strcmp(p->name, "weight"))
                st = cg_init_normal(ctx, p->w, param_rng(r, full), conv ? 0.0f : 1.0f, 0.02f);
            else if (!strcmp(p->name, "bias"))
                st = cg_tensor_fill(ctx->rt, cg_view(p->w.buf, p->w.off, 1, 1, 1, (int)cg_numel(p->w)), 0.0f);
            if (st != CG_OK) return cg_fail_context(st, "initialising %s", full);
        }
    }
    return CG_OK;
}
