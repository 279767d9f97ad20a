// gradient_penalty.c — WGAN-GP's penalty lambda * mean_n (||g_n|| - 1)^2, g_n = dD(x_n)/dx_n, and
// its gradient with respect to the critic's parameters theta.
//
// With w = dP/dg (cl/loss.cl gp_weight) held fixed, dP/dtheta = d/dtheta sum_n <w_n, g_n>, and
// <w_n, g_n> is the derivative of D at x_n along w_n: the output of a tangent (forward-mode) pass
// started from w. Reverse-mode through the primal and the tangent pass together (each layer's
// backward2) then gives dP/dtheta. The primal adjoints start at zero (the objective reads only the
// tangent output) and stay zero through linear layers and LeakyReLU, so the layers above the
// topmost LayerNorm run only their tangent halves.
#include "nets.h"

#include <stdlib.h>

struct cg_grad_penalty {
    cg_seq *s;
    int batch;              // batch the buffers are sized for (0: none yet)
    cl_mem tan_buf;         // tangents of acts[0..n]
    cl_mem adj_buf;         // adjoints of the tangents of acts[1..n]
    cl_mem grad_buf;        // dD/dx [N, C, H, W] of the last step
    cl_mem saved;           // the critic's gradients, kept across the first-order backward
    cl_mem pen;             // (||g_n|| - 1)^2 per sample
    cg_tensor *tan, *adj;   // views, indexed like the critic's acts
    cg_tensor grad;
};

static void release(cg_grad_penalty *gp) {
    cg_buffer_release(gp->tan_buf);
    cg_buffer_release(gp->adj_buf);
    cg_buffer_release(gp->grad_buf);
    cg_buffer_release(gp->pen);
    free(gp->tan);
    free(gp->adj);
    gp->tan_buf = gp->adj_buf = gp->grad_buf = gp->pen = NULL;
    gp->tan = gp->adj = NULL;
    gp->batch = 0;
}

cg_status cg_grad_penalty_create(cg_ctx *ctx, cg_seq *critic, cg_grad_penalty **out) {
    *out = NULL;
    for (int i = 0; i < critic->n_layers; i++) {
        const cg_layer *l = critic->layers[i];
        if (!l->tangent || !l->backward2)
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

// Tangent and adjoint buffers shaped like the critic's activations at its current batch.
static cg_status fit_batch(cg_ctx *ctx, cg_grad_penalty *gp) {
    cg_seq *s = gp->s;
    if (!s->acts) return cg_fail(CG_ERR_INVALID_ARG, "gradient penalty: net '%s' has no batch set", s->prefix);
    if (gp->batch == s->batch) return CG_OK;
    release(gp);
    int n = s->n_layers;
    size_t total = 0;
    for (int i = 0; i <= n; i++) total += cg_numel(s->acts[i]);
    size_t in_size = cg_numel(s->acts[0]);
    gp->tan = calloc((size_t)n + 1, sizeof *gp->tan);
    gp->adj = calloc((size_t)n + 1, sizeof *gp->adj);
    cg_status st = gp->tan && gp->adj ? CG_OK : cg_fail(CG_ERR_NOMEM, "gradient penalty: out of host memory");
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total, &gp->tan_buf);
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, total - in_size, &gp->adj_buf);
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, in_size, &gp->grad_buf);
    if (st == CG_OK) st = cg_buffer_alloc(ctx->rt, (size_t)s->batch, &gp->pen);
    if (st != CG_OK) {
        release(gp);
        return st;
    }
    size_t off = 0;
    for (int i = 0; i <= n; i++) {
        cg_tensor a = s->acts[i];
        gp->tan[i] = cg_view(gp->tan_buf, off, a.n, a.c, a.h, a.w);
        if (i > 0) gp->adj[i] = cg_view(gp->adj_buf, off - in_size, a.n, a.c, a.h, a.w);
        off += cg_numel(a);
    }
    cg_tensor a = s->acts[0];
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

// pen[n] = (||g_n|| - 1)^2, tan[0] = the penalty's weighting w of g, loss = lambda * mean(pen).
static cg_status weigh(cg_ctx *ctx, cg_grad_penalty *gp, float lambda, cg_tensor loss) {
    cg_runtime *rt = ctx->rt;
    cg_tensor g = gp->grad, w = gp->tan[0];
    cl_ulong goff = g.off, per = cg_sample_size(g), woff = w.off, n = (cl_ulong)g.n, loff = loss.off;
    cl_float scale = 2.0f * lambda / (float)g.n, lam = lambda;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "loss", "gp_weight", &k));
    cg_status st = cg_launch_groups(rt, k, (size_t)g.n, sizeof(cl_mem), &g.buf, sizeof goff, &goff, sizeof per, &per,
                                    sizeof scale, &scale, sizeof(cl_mem), &w.buf, sizeof woff, &woff, sizeof(cl_mem),
                                    &gp->pen, (size_t)0);
    if (st != CG_OK) return cg_fail_context(st, "gradient penalty weighting");
    CG_TRY(cg_kernel_get(rt, "loss", "gp_loss", &k));
    st = cg_launch_groups(rt, k, 1, sizeof(cl_mem), &gp->pen, sizeof n, &n, sizeof lam, &lam, sizeof(cl_mem),
                          &loss.buf, sizeof loff, &loff, (size_t)0);
    if (st != CG_OK) return cg_fail_context(st, "gradient penalty loss");
    return CG_OK;
}

// tan[0] -> tan[n]: the derivative of every activation along w.
static cg_status tangent_pass(cg_ctx *ctx, cg_grad_penalty *gp) {
    cg_seq *s = gp->s;
    for (int i = 0; i < s->n_layers; i++) {
        cg_layer *l = s->layers[i];
        cg_status st = l->tangent(l, ctx, s->acts[i], s->acts[i + 1], gp->tan[i], gp->tan[i + 1]);
        if (st != CG_OK) return cg_fail_context(st, "gradient penalty: tangent of %s (%s)", l->name, l->kind);
    }
    return CG_OK;
}

// Reverse of both passes from d(sum of tan[n])/d tan[n] = 1; primal adjoints live in the critic's
// dacts, tangent adjoints in adj; parameter gradients accumulate.
static cg_status reverse_pass(cg_ctx *ctx, cg_grad_penalty *gp) {
    cg_seq *s = gp->s;
    int n = s->n_layers, gy_zero = 1;
    CG_TRY(cg_tensor_fill(ctx->rt, gp->adj[n], 1.0f));
    for (int i = n - 1; i >= 0; i--) {
        cg_layer *l = s->layers[i];
        const cg_tensor *gy = gy_zero ? NULL : &s->dacts[i + 1];
        const cg_tensor *gx = i > 0 ? &s->dacts[i] : NULL, *gxt = i > 0 ? &gp->adj[i] : NULL;
        cg_status st = l->backward2(l, ctx, s->acts[i], s->acts[i + 1], gp->tan[i], gp->tan[i + 1], gy, gp->adj[i + 1],
                                    gx, gxt, &gy_zero);
        if (st != CG_OK) return cg_fail_context(st, "gradient penalty: backward2 of %s (%s)", l->name, l->kind);
    }
    return CG_OK;
}

cg_status cg_grad_penalty_step(cg_ctx *ctx, cg_grad_penalty *gp, float lambda, cg_tensor loss) {
    if (!loss.buf) return cg_fail(CG_ERR_INVALID_ARG, "gradient penalty: no loss view");
    CG_TRY(fit_batch(ctx, gp));
    CG_TRY(cg_seq_forward(ctx, gp->s, 1));
    CG_TRY(input_grad(ctx, gp));
    CG_TRY(weigh(ctx, gp, lambda, loss));
    CG_TRY(tangent_pass(ctx, gp));
    return reverse_pass(ctx, gp);
}

cg_tensor cg_grad_penalty_input_grad(const cg_grad_penalty *gp) { return gp->grad; }
