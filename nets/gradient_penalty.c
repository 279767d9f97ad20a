// gradient_penalty.c — WGAN-GP's penalty lambda * mean_n (||g_n|| - 1)^2, g_n = dD(x_n)/dx_n, and
// its gradient with respect to the critic's parameters theta, over the container's passes.
//
// With w = dP/dg (cl/loss.cl gp_weight) held fixed, dP/dtheta = d/dtheta sum_n <w_n, g_n>, and
// <w_n, g_n> is the derivative of D at x_n along w_n: the output of a tangent (forward-mode) pass
// started from w. The reverse of the primal and tangent passes together (cg_seq_backward2, from
// d(sum of the tangent output) = 1 and a zero primal output adjoint) then gives dP/dtheta.
#include "nets.h"

#include <stdlib.h>

struct cg_grad_penalty {
    cg_seq *s;
    int batch;              // batch the buffers are sized for (0: none yet)
    cl_mem grad_buf;        // dD/dx [N, C, H, W] of the last step
    cl_mem saved;           // the critic's gradients, kept across the first-order backward
    cl_mem pen;             // (||g_n|| - 1)^2 per sample
    cg_tensor grad;
};

static void release(cg_grad_penalty *gp) {
    cg_buffer_release(gp->grad_buf);
    cg_buffer_release(gp->pen);
    gp->grad_buf = gp->pen = NULL;
    gp->batch = 0;
}

cg_status cg_grad_penalty_create(cg_ctx *ctx, cg_seq *critic, cg_grad_penalty **out) {
    *out = NULL;
    for (int i = 0; i < critic->n_layers; i++) {
        const cg_layer *l = critic->layers[i];
        if (!cg_layer_has_second_order(l))
            return cg_fail(CG_ERR_INVALID_ARG,
                           "gradient penalty: layer %s (%s) of net '%s' has no second-order pass (supported: conv2d, "
                           "linear, layernorm, leaky_relu/relu; samples must not interact, so no batchnorm)",
                           l->name, l->kind, critic->prefix);
    }
    cg_grad_penalty *gp = calloc(1, sizeof *gp);
    if (!gp) return cg_fail(CG_ERR_NOMEM, "gradient penalty: out of host memory");
    gp->s = critic;
    cg_status st = cg_buffer_alloc(ctx->rt, critic->n_params, &gp->saved);
    if (st != CG_OK) {
        free(gp);
        return st;
    }
    *out = gp;
    return CG_OK;
}

void cg_grad_penalty_free(cg_grad_penalty *gp) {
    if (!gp) return;
    release(gp);
    cg_buffer_release(gp->saved);
    free(gp);
}

// The input gradient and per-sample penalties at the critic's current batch.
static cg_status fit_batch(cg_ctx *ctx, cg_grad_penalty *gp) {
    cg_seq *s = gp->s;
    if (!s->acts) return cg_fail(CG_ERR_INVALID_ARG, "gradient penalty: net '%s' has no batch set", s->prefix);
    if (gp->batch == s->batch) return CG_OK;
    release(gp);
    cg_tensor a = cg_seq_input(s);
    cg_status st = cg_buffer_alloc(ctx->rt, cg_numel(a), &gp->grad_buf);
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, (size_t)s->batch, &gp->pen);
    if (st != CG_OK) {
        release(gp);
        return st;
    }
    gp->grad = cg_view(gp->grad_buf, 0, a.n, a.c, a.h, a.w);
    gp->batch = s->batch;
    return CG_OK;
}

// g = dD/dx summed over the batch's outputs, leaving the critic's parameter gradients unchanged.
static cg_status input_grad(cg_ctx *ctx, cg_grad_penalty *gp) {
    cg_seq *s = gp->s;
    cg_tensor grads = cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params), saved = grads;
    saved.buf = gp->saved;
    CG_TRY(cg_tensor_copy(ctx->rt, saved, grads));
    CG_TRY(cg_tensor_fill(ctx->rt, cg_seq_doutput(s), 1.0f));
    CG_TRY(cg_seq_backward(ctx, s, &gp->grad));
    return cg_tensor_copy(ctx->rt, grads, saved);
}

// pen[n] = (||g_n|| - 1)^2, w = the penalty's weighting of g, loss = lambda * mean(pen).
static cg_status weigh(cg_ctx *ctx, cg_grad_penalty *gp, float lambda, cg_tensor w, cg_tensor loss) {
    cg_runtime *rt = ctx->rt;
    cg_tensor g = gp->grad;
    cl_ulong goff = g.off, per = cg_sample_size(g), woff = w.off, n = (cl_ulong)g.n, loff = loss.off;
    cl_float scale = 2.0f * lambda / (float)g.n, lam = lambda;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "loss", "gp_weight", &k));
    cg_status st = cg_launch_groups(rt, k, (size_t)g.n, CG_ARG(g.buf), CG_ARG(goff), CG_ARG(per), CG_ARG(scale),
                                    CG_ARG(w.buf), CG_ARG(woff), CG_ARG(gp->pen));
    if (st != CG_OK) return cg_fail_context(st, "gradient penalty weighting");
    CG_TRY(cg_kernel_get(rt, "loss", "gp_loss", &k));
    st = cg_launch_groups(rt, k, 1, CG_ARG(gp->pen), CG_ARG(n), CG_ARG(lam), CG_ARG(loss.buf), CG_ARG(loff));
    if (st != CG_OK) return cg_fail_context(st, "gradient penalty loss");
    return CG_OK;
}

cg_status cg_grad_penalty_step(cg_ctx *ctx, cg_grad_penalty *gp, float lambda, cg_tensor loss) {
    if (!loss.buf) return cg_fail(CG_ERR_INVALID_ARG, "gradient penalty: no loss view");
    cg_seq *s = gp->s;
    cg_tensor w;
    CG_TRY(fit_batch(ctx, gp));
    CG_TRY(cg_seq_forward(ctx, s, 1));
    CG_TRY(input_grad(ctx, gp));
    CG_TRY(cg_seq_tangent_input(ctx, s, &w));
    CG_TRY(weigh(ctx, gp, lambda, w, loss));
    cg_status st = cg_seq_tangent(ctx, s);
    if (st == CG_OK) st = cg_tensor_fill(ctx->rt, cg_seq_dtangent_output(s), 1.0f);
    if (st == CG_OK) st = cg_seq_backward2(ctx, s, 0);
    if (st != CG_OK) return cg_fail_context(st, "gradient penalty");
    return CG_OK;
}

cg_tensor cg_grad_penalty_input_grad(const cg_grad_penalty *gp) { return gp->grad; }
