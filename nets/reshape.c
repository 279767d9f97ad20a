// reshape.c — the reshape layer: [N, K, 1, 1] (a Linear layer's output) -> [N, C, H, W] with
// C*H*W == K, the same floats in the same order (PyTorch's nn.Unflatten(1, (C, H, W))). The
// vanilla generator ends with it so that its output is an image batch. No parameters.
#include "models.h"

#include <stdlib.h>

typedef struct {
    int c, h, w;
} reshape_state;

static cg_status reshape_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const reshape_state *s = l->state;
    if ((long)in[1] * in[2] * in[3] != (long)s->c * s->h * s->w)
        return cg_fail(CG_ERR_INVALID_ARG, "reshape %s: input [%d, %d, %d, %d] has %ld floats per sample, expected %ld",
                       l->name, in[0], in[1], in[2], in[3], (long)in[1] * in[2] * in[3], (long)s->c * s->h * s->w);
    out[0] = in[0], out[1] = s->c, out[2] = s->h, out[3] = s->w;
    return CG_OK;
}

static size_t reshape_workspace(const cg_layer *l, const int in[4]) {
    (void)l, (void)in;
    return 0;
}

// x: [N, K, 1, 1] -> y: [N, C, H, W]
static cg_status reshape_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    (void)training;
    CG_TRY(reshape_out_shape(l, (const int[4]){x.n, x.c, x.h, x.w}, (int[4]){0}));
    if (cg_numel(x) != cg_numel(y))
        return cg_fail(CG_ERR_INVALID_ARG, "reshape %s: y has %zu floats, x %zu", l->name, cg_numel(y), cg_numel(x));
    return cg_tensor_copy(ctx->rt, y, x);
}

// dy: [N, C, H, W] -> dx: [N, K, 1, 1]
static cg_status reshape_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy,
                                  const cg_tensor *dx) {
    (void)y;
    if (!dx) return CG_OK;
    if (cg_numel(dy) != cg_numel(x) || cg_numel(*dx) != cg_numel(x))
        return cg_fail(CG_ERR_INVALID_ARG, "reshape %s backward: dy %zu, dx %zu floats, x %zu", l->name, cg_numel(dy),
                       cg_numel(*dx), cg_numel(x));
    return cg_tensor_copy(ctx->rt, *dx, dy);
}

static void reshape_destroy(cg_layer *l) {
    free(l->state);
    l->state = NULL;
}

static const cg_layer_ops reshape_ops = {
    .out_shape = reshape_out_shape,
    .workspace = reshape_workspace,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .destroy = reshape_destroy,
};

cg_status cg_reshape_create(int c, int h, int w, cg_layer **out) {
    *out = NULL;
    if (c < 1 || h < 1 || w < 1) return cg_fail(CG_ERR_INVALID_ARG, "reshape: bad target [%d, %d, %d]", c, h, w);
    cg_layer *l = calloc(1, sizeof *l);
    reshape_state *s = calloc(1, sizeof *s);
    if (!l || !s) {
        free(l);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating a reshape layer");
    }
    s->c = c, s->h = h, s->w = w;
    l->ops = &reshape_ops;
    l->kind = "reshape";
    l->state = s;
    *out = l;
    return CG_OK;
}
