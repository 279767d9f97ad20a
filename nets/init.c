// init.c — weight initialisers on the device from the runtime's Philox RNG, and the DCGAN and
// PyTorch-default schemes over a sequential net, driven by each parameter's role and rule. Under the
// DCGAN scheme each parameter draws from its own stream, derived from the caller's (seed, stream)
// and the parameter's full state_dict name, so its values depend neither on the order of
// initialisation nor on the other layers of the net.
#include "nets.h"

#include <math.h>
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

// pytorch/examples DCGAN weights_init, by initialisation rule: CG_INIT_FAN_IN (Conv*, and Linear
// treated alike) weight N(0, 0.02), bias 0; CG_INIT_NORM (BatchNorm) scale N(1, 0.02), shift 0.
// CG_INIT_KEEP parameters (LayerNorm, running statistics) keep the container's defaults.
cg_status cg_init_dcgan(cg_ctx *ctx, cg_seq *s, cg_rng r) {
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            if (!p->trainable || p->init == CG_INIT_KEEP) continue;
            char full[128];
            snprintf(full, sizeof full, "%s.%s", l->name, p->name);
            cg_status st = CG_OK;
            if (p->role == CG_ROLE_WEIGHT || p->role == CG_ROLE_NORM_SCALE)
                st = cg_init_normal(ctx, p->w, param_rng(r, full), p->init == CG_INIT_NORM ? 1.0f : 0.0f, 0.02f);
            else if (p->role == CG_ROLE_BIAS || p->role == CG_ROLE_NORM_SHIFT)
                st = cg_tensor_fill(ctx->rt, cg_view(p->w.buf, p->w.off, 1, 1, 1, (int)cg_numel(p->w)), 0.0f);
            if (st != CG_OK) return cg_fail_context(st, "initialising %s", full);
        }
    }
    return CG_OK;
}

// PyTorch's reset_parameters for Linear/Conv (kaiming_uniform with a = sqrt(5)): every CG_INIT_FAN_IN
// parameter ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). The k-th such parameter of the net draws from
// stream r.stream * 1000 + k.
cg_status cg_init_pytorch_default(cg_ctx *ctx, cg_seq *s, cg_rng r) {
    uint64_t k = 0;
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            if (!p->trainable || p->init != CG_INIT_FAN_IN) continue;
            float bound = (float)(1.0 / sqrt(p->fan_in > 0 ? (double)p->fan_in : 1.0));
            cg_rng rj = {r.seed, r.stream * 1000 + k++};
            CG_TRY(cg_init_uniform(ctx, p->w, rj, -bound, bound));
        }
    }
    return CG_OK;
}
