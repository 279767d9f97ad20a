// residual.c — the residual block y = body(x) + skip(x), a composite layer: body is a chain of inner
// layers run through the container's passes (nets/chain.c), skip one inner layer (a 1x1 conv2d) or
// the identity. Like PyTorch's module {body: nn.Sequential, skip}, its parameters are named
// "body.<i>.<name>" and "skip.<name>"; they are the inner layers' own, so the container binds,
// initialises and saves them through the block. The body's intermediate activations, their
// gradients and tangents live in the block's buffers, sized for the batch of the latest call.
// Sums are GEMMs against a one-float 1.0 (C = A * 1 + C): exact float adds, without a kernel.
#include "nets_internal.h"

#include <stdlib.h>

typedef struct {
    int n;          // body layers l->inner[0..n-1]; the skip is l->inner[n] when has_skip
    int has_skip;
    int batch;      // batch the buffers are sized for (0: none)
    cl_mem one;     // 1.0f
    cl_mem abuf, dbuf, tbuf, jbuf; // activations, gradients, tangents, tangent adjoints
    cg_tensor *acts, *dacts, *tan, *adj; // the body chain's views (n + 1 each); [0] and [n] of dacts, adj: caller's
    cg_tensor sk, dsk, tsk, jsk;   // skip output, skip input gradient, skip output tangent, skip input tangent adjoint
    int (*shapes)[4];              // acts[0..n] of the latest fit
} res_state;

static cg_layer *skip_of(const cg_layer *l) {
    const res_state *s = l->state;
    return s->has_skip ? l->inner[s->n] : NULL;
}

static cg_status res_out_shape(const cg_layer *l, const int in[4], int out[4]) {
    const res_state *s = l->state;
    int(*shapes)[4] = malloc(((size_t)s->n + 1) * sizeof *shapes);
    if (!shapes) return cg_fail(CG_ERR_NOMEM, "residual: out of host memory");
    cg_status st = cg_chain_shapes(l->inner, s->n, in, shapes);
    int skip[4] = {in[0], in[1], in[2], in[3]};
    if (st == CG_OK && s->has_skip) st = skip_of(l)->ops->out_shape(skip_of(l), in, skip);
    if (st == CG_OK) {
        const int *b = shapes[s->n];
        if (b[0] != skip[0] || b[1] != skip[1] || b[2] != skip[2] || b[3] != skip[3]) {
            char label[96];
            st = cg_fail(CG_ERR_INVALID_ARG, "%s: the body makes [%d, %d, %d, %d], the skip [%d, %d, %d, %d]",
                         cg_layer_label(l, label, sizeof label), b[0], b[1], b[2], b[3], skip[0], skip[1], skip[2],
                         skip[3]);
        }
        for (int d = 0; d < 4; d++) out[d] = b[d];
    }
    free(shapes);
    return st;
}

// The inner layers' largest scratch (each reserves its own as it runs; this sizes it up front).
static size_t res_workspace(const cg_layer *l, const int in[4]) {
    const res_state *s = l->state;
    int(*shapes)[4] = malloc(((size_t)s->n + 1) * sizeof *shapes);
    size_t ws = 0;
    if (shapes && cg_chain_shapes(l->inner, s->n, in, shapes) == CG_OK)
        for (int i = 0; i <= s->n; i++) {
            const cg_layer *c = i < s->n ? l->inner[i] : skip_of(l);
            const int *at = i < s->n ? shapes[i] : in;
            size_t need = c && c->ops->workspace ? c->ops->workspace(c, at) : 0;
            if (need > ws) ws = need;
        }
    free(shapes);
    return ws;
}

static double res_flops(const cg_layer *l, const int in[4]) {
    const res_state *s = l->state;
    int(*shapes)[4] = malloc(((size_t)s->n + 1) * sizeof *shapes);
    double f = 0;
    if (shapes && cg_chain_shapes(l->inner, s->n, in, shapes) == CG_OK)
        for (int i = 0; i <= s->n; i++) {
            const cg_layer *c = i < s->n ? l->inner[i] : skip_of(l);
            if (c && c->ops->flops) f += c->ops->flops(c, i < s->n ? shapes[i] : in);
        }
    free(shapes);
    return f;
}

static void release(res_state *s) {
    cg_buffer_release(s->abuf);
    cg_buffer_release(s->dbuf);
    cg_buffer_release(s->tbuf);
    cg_buffer_release(s->jbuf);
    s->abuf = s->dbuf = s->tbuf = s->jbuf = NULL;
    s->batch = 0;
}

static size_t numel4(const int d[4]) { return (size_t)d[0] * d[1] * d[2] * d[3]; }

static cg_tensor view4(cl_mem buf, size_t off, const int d[4]) { return cg_view(buf, off, d[0], d[1], d[2], d[3]); }

// Lays acts[1..n] (+ the skip output) in one buffer and dacts[1..n-1] (+ the skip input gradient)
// in another, or with second set, tan[1..n] (+ skip) and adj[1..n-1] (+ skip), for x's batch.
static cg_status lay_out(cg_ctx *ctx, res_state *s, cg_tensor x, int second, cl_mem *fwd, cl_mem *rev) {
    const int n = s->n, *in = s->shapes[0], *out = s->shapes[n];
    size_t fwd_n = s->has_skip ? numel4(out) : 0, rev_n = s->has_skip ? cg_numel(x) : 0;
    for (int i = 1; i <= n; i++) fwd_n += numel4(s->shapes[i]);
    for (int i = 1; i < n; i++) rev_n += numel4(s->shapes[i]);
    CG_TRY(cg_buffer_alloc(ctx->rt, fwd_n ? fwd_n : 1, fwd));
    CG_TRY(cg_buffer_alloc(ctx->rt, rev_n ? rev_n : 1, rev));
    cg_tensor *f = second ? s->tan : s->acts, *r = second ? s->adj : s->dacts;
    size_t fo = 0, ro = 0;
    for (int i = 1; i <= n; i++) {
        f[i] = view4(*fwd, fo, s->shapes[i]);
        fo += numel4(s->shapes[i]);
        if (i < n) r[i] = view4(*rev, ro, s->shapes[i]), ro += numel4(s->shapes[i]);
    }
    *(second ? &s->tsk : &s->sk) = view4(*fwd, fo, out);
    *(second ? &s->jsk : &s->dsk) = view4(*rev, ro, in);
    return CG_OK;
}

// Buffers for x's batch (the tangents only when second is set).
static cg_status fit(cg_ctx *ctx, cg_layer *l, cg_tensor x, int second) {
    res_state *s = l->state;
    if (!cg_is_contiguous(x)) {
        char label[96];
        return cg_fail(CG_ERR_INVALID_ARG, "%s: strided views are not supported", cg_layer_label(l, label, sizeof label));
    }
    if (!s->one) {
        CG_TRY(cg_buffer_alloc(ctx->rt, 1, &s->one));
        CG_TRY(cg_tensor_fill(ctx->rt, cg_view(s->one, 0, 1, 1, 1, 1), 1.0f));
    }
    if (s->batch != x.n) {
        release(s);
        int in[4] = {x.n, x.c, x.h, x.w};
        CG_TRY(cg_chain_shapes(l->inner, s->n, in, s->shapes));
        cg_status st = lay_out(ctx, s, x, 0, &s->abuf, &s->dbuf);
        if (st != CG_OK) {
            release(s);
            return st;
        }
        s->batch = x.n;
    }
    if (second && !s->tbuf) {
        cg_status st = lay_out(ctx, s, x, 1, &s->tbuf, &s->jbuf);
        if (st != CG_OK) {
            cg_buffer_release(s->tbuf);
            cg_buffer_release(s->jbuf);
            s->tbuf = s->jbuf = NULL;
            return st;
        }
    }
    s->acts[0] = x;
    return CG_OK;
}

// y += a (same shape, contiguous): y [m, 1] = a [m, 1] * one [1, 1] + y
static cg_status add_to(cg_ctx *ctx, const res_state *s, cg_tensor y, cg_tensor a) {
    cg_gemm_args g = {.m = cg_numel(y), .n = 1, .k = 1, .alpha = 1.0f, .beta = 1.0f, .a = a.buf, .a_off = a.off,
                      .lda = 1, .b = s->one, .ldb = 1, .c = y.buf, .c_off = y.off, .ldc = 1};
    return cg_gemm(ctx->rt, &g);
}

// y = a + b
static cg_status sum_into(cg_ctx *ctx, const res_state *s, cg_tensor y, cg_tensor a, cg_tensor b) {
    CG_TRY(cg_tensor_copy(ctx->rt, y, a));
    return add_to(ctx, s, y, b);
}

static cg_chain body(const cg_layer *l) {
    const res_state *s = l->state;
    cg_chain c = {l->inner, s->n, s->acts, s->dacts, s->tan, s->adj};
    return c;
}

// x: [N, C, H, W] -> y: body(x) + skip(x), [N, C', H', W']
static cg_status res_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    res_state *s = l->state;
    CG_TRY(cg_check_output(l, x, y, "output"));
    CG_TRY(fit(ctx, l, x, 0));
    cg_chain c = body(l);
    CG_TRY(cg_chain_forward(ctx, &c, training));
    cg_layer *k = skip_of(l);
    if (!k) return sum_into(ctx, s, y, s->acts[s->n], x);
    CG_TRY(k->ops->forward(k, ctx, x, s->sk, training));
    return sum_into(ctx, s, y, s->acts[s->n], s->sk);
}

// dy: like y -> dx = body'(x)^T dy + skip'(x)^T dy (optional); the inner layers' dw accumulate
static cg_status res_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    res_state *s = l->state;
    CG_TRY(cg_check_output(l, x, dy, "dy"));
    if (dx) CG_TRY(cg_check_same_shape(l, *dx, x, "dx"));
    if (s->batch != x.n) return cg_fail(CG_ERR_INVALID_ARG, "residual %s: backward without a matching forward", l->name);
    CG_TRY(fit(ctx, l, x, 0));
    s->dacts[s->n] = dy;
    cg_chain c = body(l);
    CG_TRY(cg_chain_backward(ctx, &c, dx));
    cg_layer *k = skip_of(l);
    if (!k) return dx ? add_to(ctx, s, *dx, dy) : CG_OK;
    CG_TRY(k->ops->backward(k, ctx, x, s->sk, dy, dx ? &s->dsk : NULL));
    return dx ? add_to(ctx, s, *dx, s->dsk) : CG_OK;
}

// xt: like x -> yt = body'(x) xt + skip'(x) xt
static cg_status res_tangent(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt) {
    res_state *s = l->state;
    CG_TRY(cg_check_same_shape(l, xt, x, "xt"));
    CG_TRY(cg_check_output(l, x, yt, "yt"));
    if (s->batch != x.n) return cg_fail(CG_ERR_INVALID_ARG, "residual %s: tangent without a matching forward", l->name);
    CG_TRY(fit(ctx, l, x, 1));
    s->tan[0] = xt;
    cg_chain c = body(l);
    CG_TRY(cg_chain_tangent(ctx, &c));
    cg_layer *k = skip_of(l);
    if (!k) return sum_into(ctx, s, yt, s->tan[s->n], xt);
    CG_TRY(k->ops->tangent(k, ctx, x, s->sk, xt, s->tsk));
    return sum_into(ctx, s, yt, s->tan[s->n], s->tsk);
}

// Adds the skip's share g (NULL: zero) to gx, which the body left unwritten when *gx_zero.
static cg_status merge_gx(cg_ctx *ctx, const res_state *s, const cg_tensor *gx, const cg_tensor *g, int *gx_zero) {
    if (!gx || !g) return CG_OK;
    CG_TRY(*gx_zero ? cg_tensor_copy(ctx->rt, *gx, *g) : add_to(ctx, s, *gx, *g));
    *gx_zero = 0;
    return CG_OK;
}

// Reverse of (y, yt): gy (NULL: zero), gyt -> gx, gxt (each optional) through body and skip
static cg_status res_backward2(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt,
                               const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx, const cg_tensor *gxt,
                               int *gx_zero) {
    res_state *s = l->state;
    CG_TRY(cg_check_output(l, x, gyt, "gyt"));
    if (s->batch != x.n || !s->tbuf)
        return cg_fail(CG_ERR_INVALID_ARG, "residual %s: backward2 without a matching tangent", l->name);
    CG_TRY(fit(ctx, l, x, 1));
    s->tan[0] = xt;
    if (gy) s->dacts[s->n] = *gy;
    s->adj[s->n] = gyt;
    cg_chain c = body(l);
    CG_TRY(cg_chain_backward2(ctx, &c, gy == NULL, gx, gxt, gx_zero));
    cg_layer *k = skip_of(l);
    if (!k) {
        if (gxt) CG_TRY(add_to(ctx, s, *gxt, gyt));
        return merge_gx(ctx, s, gx, gy, gx_zero);
    }
    int skip_zero = 1;
    CG_TRY(k->ops->backward2(k, ctx, x, s->sk, xt, s->tsk, gy, gyt, gx ? &s->dsk : NULL, gxt ? &s->jsk : NULL,
                             &skip_zero));
    if (gxt) CG_TRY(add_to(ctx, s, *gxt, s->jsk));
    return merge_gx(ctx, s, gx, skip_zero ? NULL : &s->dsk, gx_zero);
}

static void res_destroy(cg_layer *l) {
    res_state *s = l->state;
    if (!s) return;
    release(s);
    cg_buffer_release(s->one);
    free(s->acts);
    free(s->dacts);
    free(s->tan);
    free(s->adj);
    free(s->shapes);
    free(s);
    l->state = NULL;
}

static const cg_layer_ops residual_ops = {
    .out_shape = res_out_shape,
    .workspace = res_workspace,
    .forward = res_forward,
    .backward = res_backward,
    .tangent = res_tangent,
    .backward2 = res_backward2,
    .flops = res_flops,
    .destroy = res_destroy,
};

cg_status cg_residual_create(cg_layer **body_layers, int n, cg_layer *skip, cg_layer **out) {
    *out = NULL;
    int total = n + (skip != NULL);
    cg_layer *l = calloc(1, sizeof *l);
    res_state *s = calloc(1, sizeof *s);
    cg_layer **all = calloc((size_t)total + 1, sizeof *all);
    char(*names)[16] = calloc((size_t)total + 1, sizeof *names);
    const char **np = calloc((size_t)total + 1, sizeof *np);
    cg_status st = l && s && all && names && np ? CG_OK : cg_fail(CG_ERR_NOMEM, "residual: out of host memory");
    if (st == CG_OK && n < 1) st = cg_fail(CG_ERR_INVALID_ARG, "residual: the body needs at least one layer");
    if (st == CG_OK) {
        s->n = n;
        s->has_skip = skip != NULL;
        s->acts = calloc((size_t)n + 1, sizeof *s->acts);
        s->dacts = calloc((size_t)n + 1, sizeof *s->dacts);
        s->tan = calloc((size_t)n + 1, sizeof *s->tan);
        s->adj = calloc((size_t)n + 1, sizeof *s->adj);
        s->shapes = calloc((size_t)n + 1, sizeof *s->shapes);
        if (!s->acts || !s->dacts || !s->tan || !s->adj || !s->shapes) st = cg_fail(CG_ERR_NOMEM, "residual: out of host memory");
    }
    if (l) {
        l->ops = &residual_ops;
        l->kind = "residual";
        l->state = s;
    }
    if (st != CG_OK) {
        for (int i = 0; i < n; i++) cg_layer_free(body_layers[i]);
        cg_layer_free(skip);
        if (l) cg_layer_free(l);
        else free(s);
    } else {
        for (int i = 0; i < n; i++) {
            all[i] = body_layers[i];
            snprintf(names[i], sizeof names[i], "body.%d", i);
            np[i] = names[i];
        }
        if (skip) all[n] = skip, np[n] = "skip";
        st = cg_layer_adopt(l, all, np, total);
        if (st != CG_OK) cg_layer_free(l);
    }
    free(all);
    free(names);
    free(np);
    if (st != CG_OK) return cg_fail_context(st, "creating a residual block");
    *out = l;
    return CG_OK;
}
