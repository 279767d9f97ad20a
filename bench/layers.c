// layers.c — the network benchmarks declared in bench_nets.h: per-layer forward/backward
// timing of the DCGAN nets with GFLOP/s from each layer's ops table (whole training
// iterations are timed through the trainer itself: bench/train_iteration.c).
#include "bench_nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Forward multiply-adds x2 of layer l for input in, from its ops table (0 when it declares none).
static double layer_flops(const cg_layer *l, const int in[4]) { return l->ops->flops ? l->ops->flops(l, in) : 0; }

typedef struct {
    cg_ctx *ctx;
    cg_layer *l;
    cg_tensor x, y, dy, dx;
    int backward;
} layer_call;

static cg_status call(layer_call *c) {
    if (c->backward) return c->l->ops->backward(c->l, c->ctx, c->x, c->y, c->dy, &c->dx);
    return c->l->ops->forward(c->l, c->ctx, c->x, c->y, 1);
}

// Median and minimum of reps timed calls after one warm-up.
static cg_status time_call(layer_call *c, int reps, double *median, double *min) {
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = call(c);
    if (st == CG_OK) st = cg_runtime_finish(c->ctx->rt);
    for (int r = 0; st == CG_OK && r < reps; r++) {
        double t0 = cg_now_s();
        st = call(c);
        if (st == CG_OK) st = cg_runtime_finish(c->ctx->rt);
        t[r] = cg_now_s() - t0;
    }
    if (st == CG_OK) {
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        *median = t[reps / 2], *min = t[0];
    }
    free(t);
    return st;
}

static cg_status check_finite(cg_runtime *rt, cg_tensor t, const char *what) {
    size_t n = cg_numel(t);
    float *h = malloc(n * sizeof *h);
    if (!h) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = cg_tensor_read(rt, t, h);
    for (size_t i = 0; st == CG_OK && i < n; i++)
        if (!isfinite(h[i])) st = cg_fail(CG_ERR_NUMERIC, "bench: %s output [%zu] = %g", what, i, h[i]);
    free(h);
    return st;
}

// z or images in [-1, 1) from a fixed stream.
static cg_status fill_input(cg_ctx *ctx, cg_tensor t, uint64_t stream) {
    return cg_init_uniform(ctx, t, (cg_rng){12345, stream}, -1.0f, 1.0f);
}

static cg_status bench_net(cg_ctx *ctx, cg_seq *s, char net, int reps, cg_bench_layer *out, int cap, int *count) {
    CG_TRY(cg_init_dcgan(ctx, s, (cg_rng){1, (uint64_t)net}));
    CG_TRY(fill_input(ctx, cg_seq_input(s), 7));
    CG_TRY(cg_seq_forward(ctx, s, 1));
    CG_TRY(check_finite(ctx->rt, cg_seq_output(s), net == 'G' ? "generator" : "discriminator"));
    for (int i = 1; i <= s->n_layers; i++) // upstream gradients of every layer
        CG_TRY(cg_tensor_fill(ctx->rt, s->dacts[i], 1e-3f));
    cg_tensor in0 = cg_seq_input(s); // the container keeps no input gradient: layer 0's dx goes here
    cl_mem dx0 = NULL;
    CG_TRY(cg_buffer_alloc(ctx->rt, cg_numel(in0), &dx0));
    cg_status st = CG_OK;
    for (int i = 0; st == CG_OK && i < s->n_layers; i++)
        for (int bw = 0; st == CG_OK && bw < 2; bw++) {
            cg_layer *l = s->layers[i];
            if (l->ops->forward_only) continue;
            cg_tensor dx = i ? s->dacts[i] : cg_view(dx0, 0, in0.n, in0.c, in0.h, in0.w);
            layer_call c = {ctx, l, s->acts[i], s->acts[i + 1], s->dacts[i + 1], dx, bw};
            cg_bench_layer r = {0};
            r.net = net;
            snprintf(r.name, sizeof r.name, "%s", l->name);
            snprintf(r.kind, sizeof r.kind, "%s", l->kind);
            cg_tensor x = s->acts[i], y = s->acts[i + 1];
            int in[4] = {x.n, x.c, x.h, x.w}, o[4] = {y.n, y.c, y.h, y.w};
            memcpy(r.in, in, sizeof in);
            memcpy(r.out, o, sizeof o);
            r.backward = bw;
            r.flops = layer_flops(l, in) * (bw ? 2.0 : 1.0); // backward: input and weight gradients
            st = time_call(&c, reps, &r.median_s, &r.min_s);
            r.gflops = r.flops > 0 && r.median_s > 0 ? r.flops / r.median_s * 1e-9 : 0;
            if (st == CG_OK && *count < cap) out[*count] = r;
            if (st == CG_OK) (*count)++;
        }
    cg_buffer_release(dx0);
    return st;
}

cg_status cg_bench_model_layers(cg_ctx *ctx, const cg_model_config *mc, int batch, int reps, cg_bench_layer *out,
                                int cap, int *count) {
    *count = 0;
    if (batch < 1 || reps < 1) return cg_fail(CG_ERR_INVALID_ARG, "bench: batch %d, reps %d", batch, reps);
    cg_seq *g = NULL, *d = NULL;
    cg_status st = cg_model_generator(ctx, mc, &g);
    if (st == CG_OK) st = cg_model_discriminator(ctx, mc, &d);
    if (st == CG_OK) st = cg_seq_set_batch(ctx, g, batch);
    if (st == CG_OK) st = cg_seq_set_batch(ctx, d, batch);
    if (st == CG_OK) st = bench_net(ctx, g, 'G', reps, out, cap, count);
    if (st == CG_OK) st = bench_net(ctx, d, 'D', reps, out, cap, count);
    if (*count > cap) *count = cap;
    cg_seq_free(g);
    cg_seq_free(d);
    return st;
}
