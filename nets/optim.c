// optim.c — Adam, RMSprop and SGD with torch.optim's update rules over one flat parameter buffer,
// and WGAN weight clipping. The step counter lives on the host; scalars that torch computes in
// double (bias corrections, 1 - beta, lr / bias correction) are computed in double here and passed
// to the kernels (cl/optim.cl) as floats.
#include "nets.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *kind_name(cg_opt_kind k) {
    switch (k) {
    case CG_OPT_SGD:
        return "SGD";
    case CG_OPT_ADAM:
        return "Adam";
    case CG_OPT_RMSPROP:
        return "RMSprop";
    }
    return "?";
}

static cg_status check_params(const cg_opt_params *p) {
    const char *name = kind_name(p->kind);
    if (p->kind != CG_OPT_SGD && p->kind != CG_OPT_ADAM && p->kind != CG_OPT_RMSPROP)
        return cg_fail(CG_ERR_INVALID_ARG, "optimizer: unknown kind %d", (int)p->kind);
    if (!(p->lr >= 0.0f) || !isfinite(p->lr)) return cg_fail(CG_ERR_INVALID_ARG, "%s: invalid lr %g", name, p->lr);
    if (!(p->weight_decay >= 0.0f) || !isfinite(p->weight_decay))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: invalid weight_decay %g", name, p->weight_decay);
    if (!(p->momentum >= 0.0f) || !isfinite(p->momentum))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: invalid momentum %g", name, p->momentum);
    if (p->kind != CG_OPT_SGD && (!(p->eps >= 0.0f) || !isfinite(p->eps)))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: invalid eps %g", name, p->eps);
    if (p->kind == CG_OPT_ADAM) {
        if (!(p->beta1 >= 0.0f && p->beta1 < 1.0f))
            return cg_fail(CG_ERR_INVALID_ARG, "Adam: invalid beta1 %g (need 0 <= beta1 < 1)", p->beta1);
        if (!(p->beta2 >= 0.0f && p->beta2 < 1.0f))
            return cg_fail(CG_ERR_INVALID_ARG, "Adam: invalid beta2 %g (need 0 <= beta2 < 1)", p->beta2);
    }
    if (p->kind == CG_OPT_RMSPROP && !(p->alpha >= 0.0f && p->alpha <= 1.0f))
        return cg_fail(CG_ERR_INVALID_ARG, "RMSprop: invalid alpha %g (need 0 <= alpha <= 1)", p->alpha);
    return CG_OK;
}

// The double a user most likely typed for x (its shortest decimal form, "0.9" for 0.9f): torch
// keeps hyperparameters as Python doubles and computes 1 - beta, lr / bc1, ... from those.
static double typed(float x) {
    char text[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)x);
        if (strtof(text, NULL) == x) return strtod(text, NULL);
    }
    return (double)x;
}

static cg_status alloc_zeroed(cg_ctx *ctx, size_t n, cl_mem *out) {
    CG_TRY(cg_buffer_alloc(ctx->rt, n, out));
    return cg_tensor_fill(ctx->rt, cg_view(*out, 0, 1, 1, 1, (int)n), 0.0f);
}

cg_status cg_optimizer_create(cg_ctx *ctx, cg_opt_params p, size_t n_params, cg_optimizer **out) {
    *out = NULL;
    CG_TRY(check_params(&p));
    if (n_params == 0 || n_params > INT_MAX)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: cannot optimise %zu parameters", kind_name(p.kind), n_params);
    cg_optimizer *o = calloc(1, sizeof *o);
    if (!o) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    o->p = p;
    o->n = n_params;
    // Adam: m, v. RMSprop: square average, momentum buffer (only with momentum). SGD: momentum buffer.
    int need_m = p.kind != CG_OPT_SGD || p.momentum != 0.0f;
    int need_v = p.kind == CG_OPT_ADAM || (p.kind == CG_OPT_RMSPROP && p.momentum > 0.0f);
    cg_status st = CG_OK;
    if (need_m) st = alloc_zeroed(ctx, n_params, &o->m);
    if (st == CG_OK && need_v) st = alloc_zeroed(ctx, n_params, &o->v);
    if (st != CG_OK) {
        cg_optimizer_free(o);
        return cg_fail_context(st, "creating the %s state for %zu parameters", kind_name(p.kind), n_params);
    }
    *out = o;
    return CG_OK;
}

void cg_optimizer_free(cg_optimizer *o) {
    if (!o) return;
    cg_buffer_release(o->m);
    cg_buffer_release(o->v);
    free(o);
}

static cg_status step_adam(cg_runtime *rt, cg_optimizer *o, cl_mem params, cl_mem grads, cl_kernel k) {
    const cg_opt_params *p = &o->p;
    double t = (double)o->step, beta1 = typed(p->beta1), beta2 = typed(p->beta2);
    double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    cl_float b1 = p->beta1, omb1 = (float)(1.0 - beta1), b2 = p->beta2;
    cl_float omb2 = (float)(1.0 - beta2), eps = p->eps, wd = p->weight_decay;
    cl_float neg_step = (float)(-(typed(p->lr) / bc1)), bc2_sqrt = (float)sqrt(bc2);
    cl_ulong n = o->n;
    return cg_launch1d(rt, k, o->n, CG_ARG(params), CG_ARG(grads), CG_ARG(o->m), CG_ARG(o->v), CG_ARG(n), CG_ARG(b1),
                       CG_ARG(omb1), CG_ARG(b2), CG_ARG(omb2), CG_ARG(eps), CG_ARG(wd), CG_ARG(neg_step),
                       CG_ARG(bc2_sqrt));
}

static cg_status step_rmsprop(cg_runtime *rt, cg_optimizer *o, cl_mem params, cl_mem grads, cl_kernel k) {
    const cg_opt_params *p = &o->p;
    cl_float alpha = p->alpha, oma = (float)(1.0 - typed(p->alpha)), eps = p->eps, wd = p->weight_decay;
    cl_float mom = p->momentum, neg_lr = -p->lr;
    cl_mem buf = o->v ? o->v : o->m; // not read without momentum
    cl_ulong n = o->n;
    return cg_launch1d(rt, k, o->n, CG_ARG(params), CG_ARG(grads), CG_ARG(o->m), CG_ARG(buf), CG_ARG(n),
                       CG_ARG(alpha), CG_ARG(oma), CG_ARG(eps), CG_ARG(wd), CG_ARG(mom), CG_ARG(neg_lr));
}

static cg_status step_sgd(cg_runtime *rt, cg_optimizer *o, cl_mem params, cl_mem grads, cl_kernel k) {
    const cg_opt_params *p = &o->p;
    cl_float wd = p->weight_decay, mom = p->momentum, neg_lr = -p->lr;
    cl_int first = o->step == 1;
    cl_mem buf = o->m ? o->m : params; // not touched without momentum
    cl_ulong n = o->n;
    return cg_launch1d(rt, k, o->n, CG_ARG(params), CG_ARG(grads), CG_ARG(buf), CG_ARG(n), CG_ARG(wd), CG_ARG(mom),
                       CG_ARG(first), CG_ARG(neg_lr));
}

cg_status cg_optimizer_step(cg_ctx *ctx, cg_optimizer *o, cl_mem params, cl_mem grads) {
    if (!o || !params || !grads) return cg_fail(CG_ERR_INVALID_ARG, "optimizer step: missing optimizer or buffer");
    static const char *const kernels[] =
        {[CG_OPT_SGD] = "sgd_step", [CG_OPT_ADAM] = "adam_step", [CG_OPT_RMSPROP] = "rmsprop_step"};
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "optim", kernels[o->p.kind], &k));
    o->step++;
    cg_status st = CG_OK;
    switch (o->p.kind) {
    case CG_OPT_ADAM:
        st = step_adam(ctx->rt, o, params, grads, k);
        break;
    case CG_OPT_RMSPROP:
        st = step_rmsprop(ctx->rt, o, params, grads, k);
        break;
    case CG_OPT_SGD:
        st = step_sgd(ctx->rt, o, params, grads, k);
        break;
    }
    if (st != CG_OK) {
        o->step--;
        return cg_fail_context(st, "%s step %ld over %zu parameters", kind_name(o->p.kind), o->step + 1, o->n);
    }
    return CG_OK;
}

cg_status cg_clip(cg_ctx *ctx, cl_mem params, size_t n, float lo, float hi) {
    if (!params) return cg_fail(CG_ERR_INVALID_ARG, "clip: no buffer");
    if (!(lo <= hi)) return cg_fail(CG_ERR_INVALID_ARG, "clip: empty range [%g, %g]", lo, hi);
    if (n == 0) return CG_OK;
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "optim", "clip_values", &k));
    cl_ulong nn = n;
    cl_float flo = lo, fhi = hi;
    cg_status st = cg_launch1d(ctx->rt, k, n, CG_ARG(params), CG_ARG(nn), CG_ARG(flo), CG_ARG(fhi));
    if (st != CG_OK) return cg_fail_context(st, "clipping %zu parameters to [%g, %g]", n, lo, hi);
    return CG_OK;
}
