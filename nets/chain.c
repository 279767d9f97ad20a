// chain.c — the passes over a chain of layers: shapes, forward, backward, tangent and the reverse of
// forward and tangent together. The sequential container runs its layers through these, and so do
// composite layers (nets/residual.c) over their inner layers.
//
// Fusion: in the forward, a BatchNorm followed by a ReLU or LeakyReLU runs as one pass
// (cg_batchnorm_forward_act) that writes the activation's output, acts[i + 2], straight from the
// batch-norm input; acts[i + 1], the batch-norm output, is left unwritten. It fuses unless the
// BatchNorm is kept (cg_seq_keep_acts: a caller that reads or rewrites acts between forward and
// backward, as the trainer does under a before_backward hook). The backward fuses exactly the pairs
// whose BatchNorm says its most recent forward was fused (cg_batchnorm_fused): the pair goes from
// dacts[i + 2] to the BatchNorm's input gradient in one pass (dacts[i + 1] unwritten). Both layers
// stay separate objects (names, parameters, checkpoints); the pair's launches carry the BatchNorm's
// profile label. Tangent and backward2 never fuse (BatchNorm has neither: those chains fail as
// before). The fused kernels compute the unfused expressions in the same order: the same bits.
#include "kernel_profile.h"
#include "nets_internal.h"

#include <stdio.h>

static cg_status layer_fail(cg_status st, const cg_layer *l, const char *pass, const int in[4]) {
    return cg_fail_context(st, "%s%s%s (%s) with input [%d, %d, %d, %d]", pass, *pass ? " of " : "", l->name,
                           l->kind, in[0], in[1], in[2], in[3]);
}

static cg_status fail_at(cg_status st, const cg_layer *l, const char *pass, cg_tensor x) {
    int in[4] = {x.n, x.c, x.h, x.w};
    return layer_fail(st, l, pass, in);
}

// Labels the launches of one layer's pass for the kernel profile ("main.2 conv2d bwd").
static void profile_push(cg_ctx *ctx, const cg_layer *l, const char *pass) {
    if (!cg_profile_active(ctx->rt)) return;
    char label[96];
    snprintf(label, sizeof label, "%s %s %s", l->name[0] ? l->name : "-", l->kind, pass);
    cg_profile_push(ctx->rt, label);
}

cg_status cg_chain_shapes(cg_layer *const *layers, int n, const int in[4], int (*shapes)[4]) {
    for (int d = 0; d < 4; d++) shapes[0][d] = in[d];
    for (int i = 0; i < n; i++) {
        const cg_layer *l = layers[i];
        cg_status st = l->ops->out_shape(l, shapes[i], shapes[i + 1]);
        if (st != CG_OK) return layer_fail(st, l, "", shapes[i]);
        const int *o = shapes[i + 1];
        if (o[0] <= 0 || o[1] <= 0 || o[2] <= 0 || o[3] <= 0)
            return layer_fail(cg_fail(CG_ERR_INVALID_ARG, "empty output [%d, %d, %d, %d]", o[0], o[1], o[2], o[3]), l,
                              "", shapes[i]);
    }
    return CG_OK;
}

cg_status cg_chain_forward(cg_ctx *ctx, const cg_chain *c, int training) {
    for (int i = 0; i < c->n; i++) {
        cg_layer *l = c->layers[i];
        float slope;
        int fuse = i + 1 < c->n && cg_batchnorm_can_fuse(l) && cg_act_leaky_slope(c->layers[i + 1], &slope);
        profile_push(ctx, l, "fwd");
        cg_status st = fuse ? cg_batchnorm_forward_act(l, ctx, c->acts[i], c->acts[i + 2], training, slope)
                            : l->ops->forward(l, ctx, c->acts[i], c->acts[i + 1], training);
        cg_profile_pop(ctx->rt);
        if (st != CG_OK) return fail_at(st, l, "", c->acts[i]);
        i += fuse; // the activation ran too
    }
    return CG_OK;
}

cg_status cg_chain_backward(cg_ctx *ctx, const cg_chain *c, const cg_tensor *dx) {
    for (int i = c->n - 1; i >= 0; i--) {
        float slope;
        cg_layer *l = c->layers[i];
        if (i > 0 && cg_batchnorm_fused(c->layers[i - 1]) && cg_act_leaky_slope(l, &slope)) {
            i--; // the pair: BatchNorm i (now) and its activation i + 1
            l = c->layers[i];
            const cg_tensor *din = i > 0 ? &c->dacts[i] : dx;
            profile_push(ctx, l, "bwd");
            cg_status st = cg_batchnorm_backward_act(l, ctx, c->acts[i], c->dacts[i + 2], din);
            cg_profile_pop(ctx->rt);
            if (st != CG_OK) return fail_at(st, l, "", c->acts[i]);
            continue;
        }
        const cg_tensor *din = i > 0 ? &c->dacts[i] : dx;
        profile_push(ctx, l, "bwd");
        cg_status st = l->ops->backward(l, ctx, c->acts[i], c->acts[i + 1], c->dacts[i + 1], din);
        cg_profile_pop(ctx->rt);
        if (st != CG_OK) return fail_at(st, l, "", c->acts[i]);
    }
    return CG_OK;
}

static cg_status no_second_order(const cg_layer *l) {
    return cg_fail(CG_ERR_INVALID_ARG, "layer %s (%s) has no second-order pass", l->name, l->kind);
}

cg_status cg_chain_tangent(cg_ctx *ctx, const cg_chain *c) {
    for (int i = 0; i < c->n; i++) {
        cg_layer *l = c->layers[i];
        if (!l->ops->tangent) return no_second_order(l);
        profile_push(ctx, l, "tangent");
        cg_status st = l->ops->tangent(l, ctx, c->acts[i], c->acts[i + 1], c->tan[i], c->tan[i + 1]);
        cg_profile_pop(ctx->rt);
        if (st != CG_OK) return fail_at(st, l, "tangent", c->acts[i]);
    }
    return CG_OK;
}

// The primal adjoints live in dacts, the tangent adjoints in adj. gy stays zero up the chain as long
// as the layers above report it (linear layers and LeakyReLU under a zero gy), so those layers run
// only their tangent halves.
cg_status cg_chain_backward2(cg_ctx *ctx, const cg_chain *c, int gy_zero, const cg_tensor *gx, const cg_tensor *gxt,
                             int *gx_zero) {
    for (int i = c->n - 1; i >= 0; i--) {
        cg_layer *l = c->layers[i];
        if (!l->ops->backward2) return no_second_order(l);
        const cg_tensor *gy = gy_zero ? NULL : &c->dacts[i + 1];
        const cg_tensor *gxi = i > 0 ? &c->dacts[i] : gx, *gxti = i > 0 ? &c->adj[i] : gxt;
        profile_push(ctx, l, "bwd2");
        cg_status st = l->ops->backward2(l, ctx, c->acts[i], c->acts[i + 1], c->tan[i], c->tan[i + 1], gy,
                                         c->adj[i + 1], gxi, gxti, &gy_zero);
        cg_profile_pop(ctx->rt);
        if (st != CG_OK) return fail_at(st, l, "backward2", c->acts[i]);
    }
    *gx_zero = gy_zero;
    return CG_OK;
}
