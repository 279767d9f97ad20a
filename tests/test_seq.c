// test_seq.c — the sequential container with toy layers defined here (host-computed, so the test
// checks the container, not kernels): PyTorch names with and without an index map, packing of
// parameters/gradients/statistics, fresh-module defaults, activation views per batch size, the
// workspace reservation, forward/backward against a host chain, gradient accumulation and
// zero_grad, shape errors naming the layer, cg_seq_find, and the DCGAN initialiser. (A net of the
// real layers trained by Adam is in test_optim.c.)
// oclgrind: run
#include "nets.h"
#include "test_util.h"

static uint64_t lcg_state = 4242;
static float frand(void) { // in [-1, 1)
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(lcg_state >> 11) * 0x1p-52 - 1.0);
}

// ---------------------------------------------------------------------------------------------
// Toy layers. Each reads its tensors to the host, computes there and writes back.
//   "conv2d" 1x1: y[n,o,p] = b[o] + sum_i W[o,i] x[n,i,p]          (weight [O, I, 1, 1], bias [O])
//   "batchnorm2d" (fake): y = w[c] x + b[c]; training moves running_mean toward the batch mean
//   "scale": y = s x                                              (weight [1])
//   "halfw": [N, C, H, W] -> [N, C, H, W/2], y = x[.., 2j] + x[.., 2j+1]; W must be even; it
//            asks for one workspace float per input element and checks that it got them.

typedef struct {
    int in_c, out_c;
} toy_state;

static float *host_read(cg_ctx *ctx, cg_tensor t) {
    float *h = malloc(cg_numel(t) * sizeof *h + 1);
    if (cg_tensor_read(ctx->rt, t, h) != CG_OK) abort();
    return h;
}

static void host_write(cg_ctx *ctx, cg_tensor t, const float *h) {
    if (cg_tensor_write(ctx->rt, t, h) != CG_OK) abort();
}

// Host math shared by the toy layers and the reference chain. p = positions per sample.
static void conv_fwd(const float *x, const float *w, const float *b, float *y, int n, int ci, int co, int p) {
    for (int s = 0; s < n; s++)
        for (int o = 0; o < co; o++)
            for (int q = 0; q < p; q++) {
                double acc = b[o];
                for (int i = 0; i < ci; i++) acc += (double)w[o * ci + i] * x[((size_t)s * ci + i) * p + q];
                y[((size_t)s * co + o) * p + q] = (float)acc;
            }
}

static void conv_bwd(const float *x, const float *w, const float *dy, float *dw, float *db, float *dx, int n, int ci,
                     int co, int p) {
    for (int s = 0; s < n; s++)
        for (int o = 0; o < co; o++)
            for (int q = 0; q < p; q++) {
                float g = dy[((size_t)s * co + o) * p + q];
                db[o] += g;
                for (int i = 0; i < ci; i++) {
                    dw[o * ci + i] += g * x[((size_t)s * ci + i) * p + q];
                    if (dx) dx[((size_t)s * ci + i) * p + q] += w[o * ci + i] * g;
                }
            }
}

static cg_status same_shape(const cg_layer *l, const int in[4], int out[4]) {
    memcpy(out, in, 4 * sizeof(int));
    return CG_OK;
}

static cg_status conv_shape(const cg_layer *l, const int in[4], int out[4]) {
    const toy_state *s = l->state;
    if (in[1] != s->in_c) return cg_fail(CG_ERR_INVALID_ARG, "expected %d input channels, got %d", s->in_c, in[1]);
    out[0] = in[0], out[1] = s->out_c, out[2] = in[2], out[3] = in[3];
    return CG_OK;
}

static cg_status conv_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    const toy_state *s = l->state;
    float *hx = host_read(ctx, x), *hw = host_read(ctx, l->params[0].w), *hb = host_read(ctx, l->params[1].w);
    float *hy = malloc(cg_numel(y) * sizeof *hy);
    conv_fwd(hx, hw, hb, hy, x.n, s->in_c, s->out_c, x.h * x.w);
    host_write(ctx, y, hy);
    free(hx), free(hw), free(hb), free(hy);
    return CG_OK;
}

static cg_status conv_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    const toy_state *s = l->state;
    float *hx = host_read(ctx, x), *hw = host_read(ctx, l->params[0].w), *hdy = host_read(ctx, dy);
    float *hdw = host_read(ctx, l->params[0].dw), *hdb = host_read(ctx, l->params[1].dw);
    float *hdx = dx ? calloc(cg_numel(*dx), sizeof *hdx) : NULL;
    conv_bwd(hx, hw, hdy, hdw, hdb, hdx, x.n, s->in_c, s->out_c, x.h * x.w);
    host_write(ctx, l->params[0].dw, hdw);
    host_write(ctx, l->params[1].dw, hdb);
    if (dx) host_write(ctx, *dx, hdx);
    free(hx), free(hw), free(hdy), free(hdw), free(hdb), free(hdx);
    return CG_OK;
}

static cg_status bn_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    int c = x.c, p = x.h * x.w;
    float *hx = host_read(ctx, x), *hw = host_read(ctx, l->params[0].w), *hb = host_read(ctx, l->params[1].w);
    float *rm = host_read(ctx, l->params[2].w), *hy = malloc(cg_numel(y) * sizeof *hy);
    for (int ch = 0; ch < c; ch++) {
        double mean = 0;
        for (int s = 0; s < x.n; s++)
            for (int q = 0; q < p; q++) {
                size_t at = ((size_t)s * c + ch) * p + q;
                hy[at] = hw[ch] * hx[at] + hb[ch];
                mean += hx[at];
            }
        rm[ch] = (float)(0.9 * rm[ch] + 0.1 * mean / ((double)x.n * p));
    }
    host_write(ctx, y, hy);
    if (training) host_write(ctx, l->params[2].w, rm);
    free(hx), free(hw), free(hb), free(rm), free(hy);
    return CG_OK;
}

static cg_status bn_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    int c = x.c, p = x.h * x.w;
    float *hx = host_read(ctx, x), *hw = host_read(ctx, l->params[0].w), *hdy = host_read(ctx, dy);
    float *hdw = host_read(ctx, l->params[0].dw), *hdb = host_read(ctx, l->params[1].dw);
    float *hdx = malloc(cg_numel(x) * sizeof *hdx);
    for (int s = 0; s < x.n; s++)
        for (int ch = 0; ch < c; ch++)
            for (int q = 0; q < p; q++) {
                size_t at = ((size_t)s * c + ch) * p + q;
                hdw[ch] += hdy[at] * hx[at];
                hdb[ch] += hdy[at];
                hdx[at] = hdy[at] * hw[ch];
            }
    host_write(ctx, l->params[0].dw, hdw);
    host_write(ctx, l->params[1].dw, hdb);
    if (dx) host_write(ctx, *dx, hdx);
    free(hx), free(hw), free(hdy), free(hdw), free(hdb), free(hdx);
    return CG_OK;
}

static cg_status scale_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    float *hx = host_read(ctx, x), s;
    CG_TRY(cg_tensor_read(ctx->rt, l->params[0].w, &s));
    for (size_t i = 0; i < cg_numel(x); i++) hx[i] *= s;
    host_write(ctx, y, hx);
    free(hx);
    return CG_OK;
}

static cg_status scale_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    float *hx = host_read(ctx, x), *hdy = host_read(ctx, dy), s, ds;
    CG_TRY(cg_tensor_read(ctx->rt, l->params[0].w, &s));
    CG_TRY(cg_tensor_read(ctx->rt, l->params[0].dw, &ds));
    for (size_t i = 0; i < cg_numel(x); i++) {
        ds += hdy[i] * hx[i];
        hdy[i] *= s;
    }
    host_write(ctx, l->params[0].dw, &ds);
    if (dx) host_write(ctx, *dx, hdy);
    free(hx), free(hdy);
    return CG_OK;
}

static cg_status halfw_shape(const cg_layer *l, const int in[4], int out[4]) {
    if (in[3] % 2) return cg_fail(CG_ERR_INVALID_ARG, "width %d is odd", in[3]);
    out[0] = in[0], out[1] = in[1], out[2] = in[2], out[3] = in[3] / 2;
    return CG_OK;
}

static size_t halfw_workspace(const cg_layer *l, const int in[4]) { return (size_t)in[0] * in[1] * in[2] * in[3]; }

static cg_status halfw_forward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training) {
    if (!ctx->ws.buf || ctx->ws.floats < cg_numel(x)) return cg_fail(CG_ERR_INVALID_ARG, "workspace too small");
    float *hx = host_read(ctx, x), *hy = malloc(cg_numel(y) * sizeof *hy);
    for (size_t i = 0; i < cg_numel(y); i++) hy[i] = hx[2 * i] + hx[2 * i + 1];
    host_write(ctx, y, hy);
    free(hx), free(hy);
    return CG_OK;
}

static cg_status halfw_backward(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx) {
    if (!dx) return CG_OK;
    float *hdy = host_read(ctx, dy), *hdx = malloc(cg_numel(x) * sizeof *hdx);
    for (size_t i = 0; i < cg_numel(dy); i++) hdx[2 * i] = hdx[2 * i + 1] = hdy[i];
    host_write(ctx, *dx, hdx);
    free(hdy), free(hdx);
    return CG_OK;
}

static void toy_destroy(cg_layer *l) { free(l->state); }

static void declare(cg_layer *l, const char *name, cg_param_role role, cg_init_rule init, int ndim, int s0, int s1) {
    CHECK_OK(cg_layer_add_param(l, (cg_param_decl){name, role, init, s1, ndim, {s0, s1, 1, 1}}));
}

static const cg_layer_ops toy_conv_ops = {.out_shape = conv_shape, .forward = conv_forward, .backward = conv_backward,
                                          .destroy = toy_destroy};
static const cg_layer_ops toy_bn_ops = {.out_shape = same_shape, .forward = bn_forward, .backward = bn_backward};
static const cg_layer_ops toy_scale_ops = {.out_shape = same_shape, .forward = scale_forward,
                                           .backward = scale_backward};
static const cg_layer_ops toy_halfw_ops = {.out_shape = halfw_shape, .workspace = halfw_workspace,
                                           .forward = halfw_forward, .backward = halfw_backward};

static cg_layer *toy_conv(int in_c, int out_c) {
    cg_layer *l = calloc(1, sizeof *l);
    toy_state *s = calloc(1, sizeof *s);
    s->in_c = in_c, s->out_c = out_c;
    l->ops = &toy_conv_ops, l->kind = "conv2d", l->state = s;
    declare(l, "weight", CG_ROLE_WEIGHT, CG_INIT_FAN_IN, 4, out_c, in_c);
    declare(l, "bias", CG_ROLE_BIAS, CG_INIT_FAN_IN, 1, out_c, 1);
    return l;
}

static cg_layer *toy_bn(int c) {
    cg_layer *l = calloc(1, sizeof *l);
    l->ops = &toy_bn_ops, l->kind = "batchnorm2d";
    declare(l, "weight", CG_ROLE_NORM_SCALE, CG_INIT_NORM, 1, c, 1);
    declare(l, "bias", CG_ROLE_NORM_SHIFT, CG_INIT_NORM, 1, c, 1);
    declare(l, "running_mean", CG_ROLE_RUNNING_MEAN, CG_INIT_KEEP, 1, c, 1);
    declare(l, "running_var", CG_ROLE_RUNNING_VAR, CG_INIT_KEEP, 1, c, 1);
    return l;
}

static cg_layer *toy_scale(void) {
    cg_layer *l = calloc(1, sizeof *l);
    l->ops = &toy_scale_ops, l->kind = "scale";
    declare(l, "weight", CG_ROLE_WEIGHT, CG_INIT_KEEP, 1, 1, 1);
    return l;
}

static cg_layer *toy_halfw(void) {
    cg_layer *l = calloc(1, sizeof *l);
    l->ops = &toy_halfw_ops, l->kind = "halfw";
    return l;
}

// ---------------------------------------------------------------------------------------------
// The test net: main.0 conv 3->4, main.1 bn(4), main.2 scale, main.4 halfw, main.6 conv 4->2, on
// input [N, 3, 5, W] (PyTorch would number activations in between, hence the gaps).

enum { NP = 35, NB = 8 }; // trainable floats, statistics floats

static cg_status make_net(cg_ctx *ctx, const char *prefix, const int *index, int width, cg_seq **out) {
    cg_layer *layers[] = {toy_conv(3, 4), toy_bn(4), toy_scale(), toy_halfw(), toy_conv(4, 2)};
    const int in[3] = {3, 5, width};
    return cg_seq_create(ctx, prefix, layers, index, 5, in, out);
}

static void check_names_and_packing(cg_ctx *ctx) {
    static const int index[] = {0, 1, 2, 4, 6};
    cg_seq *s = NULL;
    CHECK_OK(make_net(ctx, "main", index, 6, &s));
    if (!s) return;
    static const char *const names[] = {"main.0", "main.1", "main.2", "main.4", "main.6"};
    for (int i = 0; i < 5; i++)
        CHECK(!strcmp(s->layers[i]->name, names[i]), "layer %d named '%s', expected '%s'", i, s->layers[i]->name,
              names[i]);
    CHECK(s->n_params == NP && s->n_buffers == NB, "%zu params, %zu buffers", s->n_params, s->n_buffers);
    static const struct {
        const char *name;
        int trainable;
        size_t off;
        int n, c;
    } want[] = {{"main.0.weight", 1, 0, 4, 3},  {"main.0.bias", 1, 12, 4, 1},        {"main.1.weight", 1, 16, 4, 1},
                {"main.1.bias", 1, 20, 4, 1},   {"main.1.running_mean", 0, 0, 4, 1}, {"main.1.running_var", 0, 4, 4, 1},
                {"main.2.weight", 1, 24, 1, 1}, {"main.6.weight", 1, 25, 2, 4},      {"main.6.bias", 1, 33, 2, 1}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        cg_param *p = cg_seq_find(s, want[k].name);
        CHECK(p != NULL, "cg_seq_find('%s') failed", want[k].name);
        if (!p) continue;
        cl_mem buf = want[k].trainable ? s->params : s->buffers;
        CHECK(p->w.buf == buf && p->w.off == want[k].off, "%s: value view at %zu (buffer ok %d), expected %zu",
              want[k].name, p->w.off, p->w.buf == buf, want[k].off);
        CHECK(p->w.n == want[k].n && p->w.c == want[k].c && p->w.h == 1 && p->w.w == 1, "%s: view [%d,%d,%d,%d]",
              want[k].name, p->w.n, p->w.c, p->w.h, p->w.w);
        if (want[k].trainable)
            CHECK(p->dw.buf == s->grads && p->dw.off == p->w.off && cg_numel(p->dw) == cg_numel(p->w),
                  "%s: gradient view does not mirror the value view", want[k].name);
        else
            CHECK(p->dw.buf == NULL, "%s: a statistic has a gradient view", want[k].name);
    }
    CHECK(cg_seq_find(s, "main.3.weight") == NULL, "found a parameter of a layer that does not exist");
    CHECK(cg_seq_find(s, "main.1.weigh") == NULL, "found a truncated name");
    CHECK(cg_seq_find(s, "main.1") == NULL, "found a layer name as a parameter");
    CHECK(cg_seq_find(s, "main.10.weight") == NULL, "found main.10.weight");

    // Fresh-module defaults: only the BatchNorm weight and running_var are 1.
    float p[NP], b[NB], g[NP];
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->params, 0, 1, 1, 1, NP), p));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, NB), b));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, NP), g));
    for (int i = 0; i < NP; i++) {
        float expect = i >= 16 && i < 20 ? 1.0f : 0.0f;
        CHECK(p[i] == expect && g[i] == 0.0f, "param %d = %g (grad %g), expected %g", i, p[i], g[i], expect);
    }
    for (int i = 0; i < NB; i++) CHECK(b[i] == (i < 4 ? 0.0f : 1.0f), "buffer %d = %g", i, b[i]);
    CHECK(cg_seq_input(s).buf == NULL, "an input view before cg_seq_set_batch");
    CHECK_FAILS(cg_seq_forward(ctx, s, 1), CG_ERR_INVALID_ARG, "cg_seq_set_batch");
    cg_seq_free(s);

    CHECK_OK(make_net(ctx, "", NULL, 6, &s));
    if (s) {
        CHECK(!strcmp(s->layers[4]->name, "4"), "unprefixed layer 4 named '%s'", s->layers[4]->name);
        CHECK(cg_seq_find(s, "1.running_var") != NULL, "1.running_var not found");
        cg_seq_free(s);
    }
}

typedef struct {
    float *a[6]; // a[0] input, a[i] output of layer i-1 (host chain)
    float *d[6]; // gradients
    float grads[NP];
} host_chain;

static void chain_run(host_chain *h, const float *P, int n, int w, const float *x, const float *dy) {
    const int p = 5 * w, p2 = 5 * (w / 2);
    size_t sizes[6] = {(size_t)n * 3 * p, (size_t)n * 4 * p,  (size_t)n * 4 * p,
                       (size_t)n * 4 * p, (size_t)n * 4 * p2, (size_t)n * 2 * p2};
    for (int i = 0; i < 6; i++) {
        h->a[i] = calloc(sizes[i], sizeof(float));
        h->d[i] = calloc(sizes[i], sizeof(float));
    }
    memcpy(h->a[0], x, sizes[0] * sizeof(float));
    memcpy(h->d[5], dy, sizes[5] * sizeof(float));
    memset(h->grads, 0, sizeof h->grads);
    conv_fwd(h->a[0], P + 0, P + 12, h->a[1], n, 3, 4, p);
    for (size_t i = 0; i < sizes[1]; i++) {
        int ch = (int)(i / p % 4);
        h->a[2][i] = P[16 + ch] * h->a[1][i] + P[20 + ch];
        h->a[3][i] = P[24] * h->a[2][i];
    }
    for (size_t i = 0; i < sizes[4]; i++) h->a[4][i] = h->a[3][2 * i] + h->a[3][2 * i + 1];
    conv_fwd(h->a[4], P + 25, P + 33, h->a[5], n, 4, 2, p2);

    conv_bwd(h->a[4], P + 25, h->d[5], h->grads + 25, h->grads + 33, h->d[4], n, 4, 2, p2);
    for (size_t i = 0; i < sizes[4]; i++) h->d[3][2 * i] = h->d[3][2 * i + 1] = h->d[4][i];
    for (size_t i = 0; i < sizes[3]; i++) {
        int ch = (int)(i / p % 4);
        h->grads[24] += h->d[3][i] * h->a[2][i];
        h->d[2][i] = P[24] * h->d[3][i];
        h->grads[16 + ch] += h->d[2][i] * h->a[1][i];
        h->grads[20 + ch] += h->d[2][i];
        h->d[1][i] = h->d[2][i] * P[16 + ch];
    }
    conv_bwd(h->a[0], P + 0, h->d[1], h->grads + 0, h->grads + 12, h->d[0], n, 3, 4, p);
}

static void chain_free(host_chain *h) {
    for (int i = 0; i < 6; i++) free(h->a[i]), free(h->d[i]);
}

static int close_all(const float *a, const float *b, size_t n, double tol, const char *what) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= tol * (1.0 + fabs(b[i])))) {
            if (bad++ < 3) fprintf(stderr, "%s[%zu] = %.7g, expected %.7g\n", what, i, a[i], b[i]);
        }
    return bad == 0;
}

// Forward and backward of one batch size against the host chain.
static void check_pass(cg_ctx *ctx, cg_seq *s, int n, const float *P) {
    const int w = 6;
    CHECK_OK(cg_seq_set_batch(ctx, s, n));
    if (!s->acts) return;
    cg_tensor in = cg_seq_input(s), out = cg_seq_output(s), dout = cg_seq_doutput(s);
    CHECK(in.n == n && in.c == 3 && in.h == 5 && in.w == w, "input view [%d,%d,%d,%d]", in.n, in.c, in.h, in.w);
    CHECK(out.n == n && out.c == 2 && out.h == 5 && out.w == 3, "output view [%d,%d,%d,%d]", out.n, out.c, out.h,
          out.w);
    CHECK(dout.buf == s->dact_buf && dout.off == s->dacts[5].off && cg_numel(dout) == cg_numel(out),
          "doutput view is not dacts[n]");
    CHECK(ctx->ws.buf && ctx->ws.floats >= (size_t)n * 4 * 5 * w, "workspace of %zu floats", ctx->ws.floats);
    // The views of one buffer must not overlap.
    for (int i = 0; i < 5; i++) {
        CHECK(s->acts[i].off + cg_numel(s->acts[i]) <= s->acts[i + 1].off, "acts %d and %d overlap", i, i + 1);
        if (i > 0)
            CHECK(s->dacts[i].off + cg_numel(s->dacts[i]) <= s->dacts[i + 1].off, "dacts %d and %d overlap", i, i + 1);
    }
    size_t nin = cg_numel(in), nout = cg_numel(out);
    float *x = malloc(nin * sizeof *x), *dy = malloc(nout * sizeof *dy), *y = malloc(nout * sizeof *y);
    float *dx = malloc(nin * sizeof *dx), grads[NP];
    for (size_t i = 0; i < nin; i++) x[i] = frand();
    for (size_t i = 0; i < nout; i++) dy[i] = frand();
    host_chain h;
    chain_run(&h, P, n, w, x, dy);

    CHECK_OK(cg_tensor_write(ctx->rt, in, x));
    CHECK_OK(cg_seq_forward(ctx, s, 1));
    CHECK_OK(cg_tensor_read(ctx->rt, out, y));
    CHECK(close_all(y, h.a[5], nout, 1e-5, "output"), "batch %d: forward differs from the host chain", n);
    for (int i = 1; i <= 4; i++) {
        float *a = host_read(ctx, s->acts[i]);
        CHECK(close_all(a, h.a[i], cg_numel(s->acts[i]), 1e-5, "activation"), "batch %d: activation %d differs", n, i);
        free(a);
    }

    cl_mem dxb;
    CHECK_OK(cg_buffer_alloc(ctx->rt, nin + 2, &dxb));
    cg_tensor dxt = cg_view(dxb, 2, n, 3, 5, w);
    CHECK_OK(cg_seq_zero_grad(ctx, s));
    CHECK_OK(cg_tensor_write(ctx->rt, dout, dy));
    CHECK_OK(cg_seq_backward(ctx, s, &dxt));
    CHECK_OK(cg_tensor_read(ctx->rt, dxt, dx));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, NP), grads));
    CHECK(close_all(dx, h.d[0], nin, 1e-5, "dx"), "batch %d: input gradient differs", n);
    CHECK(close_all(grads, h.grads, NP, 1e-5, "grad"), "batch %d: parameter gradients differ", n);

    // Gradients accumulate; dx == NULL skips the input gradient; zero_grad clears.
    CHECK_OK(cg_seq_backward(ctx, s, NULL));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, NP), grads));
    float twice[NP];
    for (int i = 0; i < NP; i++) twice[i] = 2 * h.grads[i];
    CHECK(close_all(grads, twice, NP, 1e-5, "grad x2"), "batch %d: gradients do not accumulate", n);
    CHECK_OK(cg_seq_zero_grad(ctx, s));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, NP), grads));
    int nonzero = 0;
    for (int i = 0; i < NP; i++) nonzero += grads[i] != 0.0f;
    CHECK(nonzero == 0, "zero_grad left %d gradients", nonzero);
    cg_tensor wrong = cg_view(dxb, 0, n, 3, 5, w - 1);
    CHECK_FAILS(cg_seq_backward(ctx, s, &wrong), CG_ERR_INVALID_ARG, "does not match input");

    cg_buffer_release(dxb);
    chain_free(&h);
    free(x), free(dy), free(y), free(dx);
}

static void check_forward_backward(cg_ctx *ctx) {
    static const int index[] = {0, 1, 2, 4, 6};
    cg_seq *s = NULL;
    CHECK_OK(make_net(ctx, "main", index, 6, &s));
    if (!s) return;
    float P[NP];
    for (int i = 0; i < NP; i++) P[i] = frand();
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(s->params, 0, 1, 1, 1, NP), P));
    check_pass(ctx, s, 2, P);
    cg_tensor first = cg_seq_input(s);
    CHECK_OK(cg_seq_set_batch(ctx, s, 2)); // same batch: views kept
    CHECK(cg_seq_input(s).buf == first.buf, "set_batch with the same size reallocated");
    check_pass(ctx, s, 1, P);
    check_pass(ctx, s, 3, P);

    // Running statistics move in training mode only.
    float rm0[4], rm1[4], rm2[4];
    cg_param *rm = cg_seq_find(s, "main.1.running_mean");
    CHECK_OK(cg_tensor_read(ctx->rt, rm->w, rm0));
    CHECK_OK(cg_seq_forward(ctx, s, 0));
    CHECK_OK(cg_tensor_read(ctx->rt, rm->w, rm1));
    CHECK(!memcmp(rm0, rm1, sizeof rm0), "eval forward changed running_mean");
    CHECK_OK(cg_seq_forward(ctx, s, 1));
    CHECK_OK(cg_tensor_read(ctx->rt, rm->w, rm2));
    CHECK(memcmp(rm1, rm2, sizeof rm1) != 0, "training forward left running_mean alone");
    CHECK_FAILS(cg_seq_set_batch(ctx, s, 0), CG_ERR_INVALID_ARG, "batch size 0");
    cg_seq_free(s);
}

static void check_shape_errors(cg_ctx *ctx) {
    static const int index[] = {0, 1, 2, 4, 6};
    cg_seq *s = NULL;
    CHECK_FAILS(make_net(ctx, "main", index, 7, &s), CG_ERR_INVALID_ARG, "main.4 (halfw)");
    CHECK(strstr(cg_last_error(), "width 7 is odd") != NULL, "detail lacks the layer's reason: %s", cg_last_error());
    CHECK(s == NULL, "a failed create returned a net");
    cg_layer *bad[] = {toy_conv(3, 4), toy_scale(), toy_conv(5, 2)};
    const int in[3] = {3, 2, 2};
    CHECK_FAILS(cg_seq_create(ctx, "main", bad, NULL, 3, in, &s), CG_ERR_INVALID_ARG, "main.2 (conv2d)");
    CHECK(strstr(cg_last_error(), "expected 5 input channels") != NULL, "detail: %s", cg_last_error());
    cg_layer *holes[] = {toy_scale(), NULL}; // a constructor failed: the others are freed
    CHECK_FAILS(cg_seq_create(ctx, "main", holes, NULL, 2, in, &s), CG_ERR_INVALID_ARG, "layer 1 is missing");
}

// DCGAN initialisation: conv weights N(0, 0.02), BN weight N(1, 0.02), biases 0, other kinds and
// statistics untouched; reproducible; a parameter's values depend only on its name.
static void check_init_dcgan(cg_ctx *ctx) {
    enum { CI = 16, CO = 32, NW = CI * CO };
    cg_layer *l1[] = {toy_conv(CI, CO), toy_bn(CO), toy_scale()};
    cg_layer *l2[] = {toy_conv(CI, CO)};
    const int in[3] = {CI, 1, 1};
    cg_seq *a = NULL, *b = NULL;
    CHECK_OK(cg_seq_create(ctx, "main", l1, NULL, 3, in, &a));
    CHECK_OK(cg_seq_create(ctx, "main", l2, NULL, 1, in, &b));
    if (!a || !b) return;
    size_t np = a->n_params;
    float *before = malloc(np * sizeof(float)), *after = malloc(np * sizeof(float));
    float *again = malloc(np * sizeof(float)), *other = malloc(NW * sizeof(float));
    for (size_t i = 0; i < np; i++) before[i] = 5.0f;
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(a->params, 0, 1, 1, 1, (int)np), before));
    cg_rng r = {2024, 3};
    CHECK_OK(cg_init_dcgan(ctx, a, r));
    CHECK_OK(cg_init_dcgan(ctx, b, r));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(a->params, 0, 1, 1, 1, (int)np), after));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(b->params, 0, 1, 1, 1, NW), other));
    double sum = 0, sq = 0;
    for (int i = 0; i < NW; i++) sum += after[i], sq += (double)after[i] * after[i];
    double mean = sum / NW, sd = sqrt(sq / NW - mean * mean);
    CHECK(fabs(mean) < 0.004 && sd > 0.017 && sd < 0.023, "conv weight mean %g std %g", mean, sd);
    int bad = 0;
    for (int i = NW; i < NW + CO; i++) bad += after[i] != 0.0f;                         // conv bias
    for (int i = NW + CO; i < NW + 2 * CO; i++) bad += !(fabs(after[i] - 1.0f) < 0.1f); // bn weight
    for (int i = NW + 2 * CO; i < NW + 3 * CO; i++) bad += after[i] != 0.0f;            // bn bias
    bad += after[NW + 3 * CO] != 5.0f;                                                  // scale
    CHECK(bad == 0, "%d initialised values out of place", bad);
    CHECK(!memcmp(after, other, NW * sizeof(float)), "main.0.weight depends on the rest of the net");
    float stats[2 * CO];
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(a->buffers, 0, 1, 1, 1, 2 * CO), stats));
    for (int i = 0; i < 2 * CO; i++) bad += stats[i] != (i < CO ? 0.0f : 1.0f);
    CHECK(bad == 0, "running statistics touched by the initialiser");
    CHECK_OK(cg_init_dcgan(ctx, a, r));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(a->params, 0, 1, 1, 1, (int)np), again));
    CHECK(!memcmp(after, again, np * sizeof(float)), "same seed, different values");
    cg_rng r2 = {2025, 3};
    CHECK_OK(cg_init_dcgan(ctx, a, r2));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(a->params, 0, 1, 1, 1, (int)np), again));
    CHECK(memcmp(after, again, NW * sizeof(float)) != 0, "another seed, same values");

    // The plain initialisers match the host Philox stream.
    float host[NW];
    cg_rng_uniform_host(r, 0, host, NW);
    for (int i = 0; i < NW; i++) host[i] = -0.5f + 1.5f * host[i];
    CHECK_OK(cg_init_uniform(ctx, cg_view(b->params, 0, CO, CI, 1, 1), r, -0.5f, 1.0f));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(b->params, 0, 1, 1, 1, NW), other));
    CHECK(close_all(other, host, NW, 1e-6, "uniform"), "cg_init_uniform differs from the host stream");
    cg_rng_normal_host(r, 0, host, NW, 0.5f, 2.0f);
    CHECK_OK(cg_init_normal(ctx, cg_view(b->params, 0, CO, CI, 1, 1), r, 0.5f, 2.0f));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(b->params, 0, 1, 1, 1, NW), other));
    CHECK(!memcmp(other, host, NW * sizeof(float)), "cg_init_normal differs from the host stream");
    free(before), free(after), free(again), free(other);
    cg_seq_free(a);
    cg_seq_free(b);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    check_names_and_packing(&ctx);
    check_forward_backward(&ctx);
    check_shape_errors(&ctx);
    check_init_dcgan(&ctx);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_seq");
}
