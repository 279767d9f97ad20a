// suite_conv.c — the conv suite: forward and backward (input and weight gradients) of every DCGAN
// 64x64 layer at batch 64 through nets/ (Conv2d, ConvTranspose2d), each result checked on sampled
// elements against a direct double-precision convolution on the host before it is timed.
#include "bench.h"
#include "nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64
#define QUICK_BATCH 2
#define SAMPLES 48

typedef struct {
    const char *name;
    int transposed;
    int in_c, out_c, k, stride, pad, in_hw;
} conv_layer;

static const conv_layer layers[] = {
    {"D1", 0, 3, 64, 4, 2, 1, 64},      {"D2", 0, 64, 128, 4, 2, 1, 32}, {"D3", 0, 128, 256, 4, 2, 1, 16},
    {"D4", 0, 256, 512, 4, 2, 1, 8},    {"D5", 0, 512, 1, 4, 1, 0, 4},   {"G1", 1, 100, 512, 4, 1, 0, 1},
    {"G2", 1, 512, 256, 4, 2, 1, 4},    {"G3", 1, 256, 128, 4, 2, 1, 8}, {"G4", 1, 128, 64, 4, 2, 1, 16},
    {"G5", 1, 64, 3, 4, 2, 1, 32},
};
static const conv_layer quick_layers[] = {
    {"D odd", 0, 3, 5, 4, 2, 1, 9},
    {"G odd", 1, 4, 3, 4, 2, 1, 5},
};

// Both layer kinds seen from their "small" side (the conv's output, the transposed conv's input)
// and "big" side: big position = small position * stride - pad + tap. The weight is
// [small channels][big channels][k][k] in both PyTorch layouts (Conv2d [Cout, Cin, k, k],
// ConvTranspose2d [Cin, Cout, k, k]).
typedef struct {
    int n, cs, cb, hs, hb, k, stride, pad;
    const float *small, *big, *w; // host copies, NCHW
} conv_geom;

static double mag_err(double acc, double mag, float got) {
    double e = fabs(acc - (double)got) / (mag > 0 ? mag : 1.0);
    return e == e ? e : INFINITY;
}

// small[n, s, o] = sum over b, taps of w[s, b, tap] big[n, b, o*stride - pad + tap]
static double gather(const conv_geom *g, int n, int s, int oy, int ox, double *mag) {
    double acc = 0;
    *mag = 0;
    for (int b = 0; b < g->cb; b++)
        for (int ky = 0; ky < g->k; ky++)
            for (int kx = 0; kx < g->k; kx++) {
                int y = oy * g->stride - g->pad + ky, x = ox * g->stride - g->pad + kx;
                if (y < 0 || y >= g->hb || x < 0 || x >= g->hb) continue;
                double t = (double)g->w[((size_t)s * g->cb + b) * g->k * g->k + ky * g->k + kx] *
                           g->big[(((size_t)n * g->cb + b) * g->hb + y) * g->hb + x];
                acc += t;
                *mag += fabs(t);
            }
    return acc;
}

// big[n, b, y, x] = sum over s and the small positions o with o*stride - pad + tap = (y, x)
static double scatter(const conv_geom *g, int n, int b, int y, int x, double *mag) {
    double acc = 0;
    *mag = 0;
    for (int s = 0; s < g->cs; s++)
        for (int ky = 0; ky < g->k; ky++)
            for (int kx = 0; kx < g->k; kx++) {
                int ty = y + g->pad - ky, tx = x + g->pad - kx;
                if (ty < 0 || tx < 0 || ty % g->stride || tx % g->stride) continue;
                int oy = ty / g->stride, ox = tx / g->stride;
                if (oy >= g->hs || ox >= g->hs) continue;
                double t = (double)g->w[((size_t)s * g->cb + b) * g->k * g->k + ky * g->k + kx] *
                           g->small[(((size_t)n * g->cs + s) * g->hs + oy) * g->hs + ox];
                acc += t;
                *mag += fabs(t);
            }
    return acc;
}

// dw[s, b, tap] = sum over n, o of small[n, s, o] big[n, b, o*stride - pad + tap]
static double weight_grad(const conv_geom *g, int s, int b, int ky, int kx, double *mag) {
    double acc = 0;
    *mag = 0;
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->hs; oy++)
            for (int ox = 0; ox < g->hs; ox++) {
                int y = oy * g->stride - g->pad + ky, x = ox * g->stride - g->pad + kx;
                if (y < 0 || y >= g->hb || x < 0 || x >= g->hb) continue;
                double t = (double)g->small[(((size_t)n * g->cs + s) * g->hs + oy) * g->hs + ox] *
                           g->big[(((size_t)n * g->cb + b) * g->hb + y) * g->hb + x];
                acc += t;
                *mag += fabs(t);
            }
    return acc;
}

typedef enum { FORM_GATHER, FORM_SCATTER, FORM_WEIGHT } form;

// Worst relative error of `samples` entries of got (laid out as the form's result) against g.
static double check_form(const conv_geom *g, form f, const float *got, int samples) {
    int d0 = f == FORM_WEIGHT ? g->cs : g->n, d1 = f == FORM_GATHER ? g->cs : g->cb;
    int d1w = f == FORM_WEIGHT ? g->cb : d1, hw = f == FORM_WEIGHT ? g->k : f == FORM_GATHER ? g->hs : g->hb;
    double worst = 0;
    uint64_t x = 0x51ed270b27a9f6c5ull;
    for (int t = 0; t < samples; t++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((x >> 40) % (uint64_t)d0), j = (int)((x >> 20) % (uint64_t)d1w);
        int yy = (int)((x >> 8) % (uint64_t)hw), xx = (int)((x >> 30) % (uint64_t)hw);
        if (t == 0) i = j = yy = xx = 0;
        double mag, ref = f == FORM_GATHER ? gather(g, i, j, yy, xx, &mag)
                        : f == FORM_SCATTER ? scatter(g, i, j, yy, xx, &mag)
                                            : weight_grad(g, i, j, yy, xx, &mag);
        double e = mag_err(ref, mag, got[(((size_t)i * d1w + j) * hw + yy) * hw + xx]);
        if (e > worst) worst = e;
    }
    return worst;
}

typedef struct {
    cg_ctx ctx;
    cg_seq *seq;
    cl_mem dx;
    cg_tensor dx_t;
    cg_param *w;
} conv_run;

static cg_status run_forward(void *p) {
    conv_run *r = p;
    CG_TRY(cg_seq_forward(&r->ctx, r->seq, 1));
    return cg_runtime_finish(r->ctx.rt);
}

static cg_status run_backward(void *p) {
    conv_run *r = p;
    CG_TRY(cg_seq_zero_grad(&r->ctx, r->seq));
    CG_TRY(cg_seq_backward(&r->ctx, r->seq, &r->dx_t));
    return cg_runtime_finish(r->ctx.rt);
}

static cg_status read_all(cg_runtime *rt, cg_tensor t, float **out) {
    *out = malloc(cg_numel(t) * sizeof(float));
    if (!*out) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    return cg_tensor_read(rt, t, *out);
}

// Random input, weight and output gradient; one forward and backward; every result checked.
static cg_status setup_and_check(conv_run *r, const conv_layer *L, int batch, double *err) {
    cg_runtime *rt = r->ctx.rt;
    cg_rng rng = {2024, 3};
    CG_TRY(cg_init_uniform(&r->ctx, r->w->w, rng, -1.0f, 1.0f));
    CG_TRY(cg_rng_uniform(rt, rng, 1u << 30, cg_seq_input(r->seq), -1.0f, 1.0f));
    CG_TRY(run_forward(r));
    CG_TRY(cg_rng_uniform(rt, rng, 3u << 29, cg_seq_doutput(r->seq), -1.0f, 1.0f));
    CG_TRY(run_backward(r));
    float *x = NULL, *y = NULL, *w = NULL, *dy = NULL, *dx = NULL, *dw = NULL;
    cg_status st = read_all(rt, cg_seq_input(r->seq), &x);
    if (st == CG_OK) st = read_all(rt, cg_seq_output(r->seq), &y);
    if (st == CG_OK) st = read_all(rt, r->w->w, &w);
    if (st == CG_OK) st = read_all(rt, cg_seq_doutput(r->seq), &dy);
    if (st == CG_OK) st = read_all(rt, r->dx_t, &dx);
    if (st == CG_OK) st = read_all(rt, r->w->dw, &dw);
    if (st == CG_OK) {
        int out_hw = cg_seq_output(r->seq).h;
        // Forward: small from big (conv) or big from small (transposed); backward the other way.
        conv_geom fwd = {batch, L->transposed ? L->in_c : L->out_c, L->transposed ? L->out_c : L->in_c,
                         L->transposed ? L->in_hw : out_hw, L->transposed ? out_hw : L->in_hw, L->k, L->stride,
                         L->pad, L->transposed ? x : y, L->transposed ? y : x, w};
        conv_geom bwd = fwd;
        bwd.small = L->transposed ? x : dy;
        bwd.big = L->transposed ? dy : x;
        double e[3];
        e[0] = check_form(&fwd, L->transposed ? FORM_SCATTER : FORM_GATHER, y, SAMPLES);
        e[1] = check_form(&bwd, L->transposed ? FORM_GATHER : FORM_SCATTER, dx, SAMPLES);
        e[2] = check_form(&bwd, FORM_WEIGHT, dw, SAMPLES);
        *err = fmax(e[0], fmax(e[1], e[2]));
        size_t terms = (size_t)fwd.cb * L->k * L->k * (size_t)batch;
        if (!(*err <= bench_gemm_tolerance(terms)))
            st = cg_fail(CG_ERR_NUMERIC, "wrong result: worst relative error forward %.3g, dX %.3g, dW %.3g", e[0],
                         e[1], e[2]);
    }
    free(x);
    free(y);
    free(w);
    free(dy);
    free(dx);
    free(dw);
    return st;
}

static void fill_row(bench_row *row, const conv_layer *L, const char *pass, int batch, const cg_device_info *dev,
                     int device_index, const bench_options *opt, double flops) {
    memset(row, 0, sizeof *row);
    snprintf(row->suite, sizeof row->suite, "conv");
    snprintf(row->name, sizeof row->name, "%s %s", L->name, pass);
    snprintf(row->shape, sizeof row->shape, "%s %d->%d k%d s%d p%d %dx%d, batch %d",
             L->transposed ? "convT" : "conv", L->in_c, L->out_c, L->k, L->stride, L->pad, L->in_hw, L->in_hw, batch);
    snprintf(row->device, sizeof row->device, "%s", dev->name);
    row->device_index = device_index;
    snprintf(row->impl, sizeof row->impl, "nets");
    row->reps = opt->reps;
    row->work = flops;
    snprintf(row->unit, sizeof row->unit, "GFLOP/s");
}

static cg_status bench_layer(cg_runtime *rt, int device_index, const conv_layer *L, int batch,
                             const bench_options *opt, bench_report *rep) {
    conv_run r;
    memset(&r, 0, sizeof r);
    r.ctx.rt = rt;
    cg_layer *layer = NULL;
    cg_conv_params p = {L->in_c, L->out_c, L->k, L->k, L->stride, L->pad, 0};
    cg_status st = L->transposed ? cg_conv_transpose2d_create(p, &layer) : cg_conv2d_create(p, &layer);
    int in_chw[3] = {L->in_c, L->in_hw, L->in_hw};
    if (st == CG_OK) st = cg_seq_create(&r.ctx, "bench", &layer, NULL, 1, in_chw, &r.seq);
    if (st == CG_OK) st = cg_seq_set_batch(&r.ctx, r.seq, batch);
    if (st == CG_OK) {
        r.w = &r.seq->layers[0]->params[0];
        size_t n = (size_t)batch * L->in_c * L->in_hw * L->in_hw;
        st = cg_buffer_alloc(rt, n, &r.dx);
        r.dx_t = cg_view(r.dx, 0, batch, L->in_c, L->in_hw, L->in_hw);
    }
    double err = 0;
    if (st == CG_OK) st = setup_and_check(&r, L, batch, &err);
    // Multiply-adds of one pass: every small-side position meets every big-side channel and tap.
    double small = L->transposed ? (double)L->in_c * L->in_hw * L->in_hw
                                 : (double)L->out_c * cg_seq_output(r.seq).h * cg_seq_output(r.seq).w;
    double flops = r.seq ? 2.0 * batch * small * (L->transposed ? L->out_c : L->in_c) * L->k * L->k : 0;
    const char *passes[2] = {"fwd", "bwd"};
    for (int i = 0; i < 2; i++) {
        bench_row *row = bench_report_add(rep);
        if (!row) {
            st = cg_fail(CG_ERR_NOMEM, "out of host memory");
            break;
        }
        fill_row(row, L, passes[i], batch, cg_runtime_device(rt), device_index, opt, i ? 2 * flops : flops);
        row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
        row->check_err = err;
        cg_status ts = st;
        if (ts == CG_OK)
            ts = bench_time(i ? run_backward : run_forward, &r, opt->warmup, opt->reps, BENCH_MIN_REP_S,
                            &row->median_s, &row->min_s, &row->max_s);
        if (ts == CG_OK) snprintf(row->status, sizeof row->status, "ok");
        else snprintf(row->status, sizeof row->status, "failed: %s", cg_last_error());
        if (opt->log)
            fprintf(opt->log, "conv %-8s %-40s %8.1f GFLOP/s  %s\n", row->name, row->shape, bench_row_rate(row),
                    row->status);
    }
    cg_buffer_release(r.dx);
    cg_seq_free(r.seq);
    cg_workspace_free(&r.ctx.ws);
    return st == CG_ERR_NOMEM ? st : CG_OK;
}

static cg_status run_conv(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    const conv_layer *list = opt->quick ? quick_layers : layers;
    int n = opt->quick ? (int)(sizeof quick_layers / sizeof quick_layers[0])
                       : (int)(sizeof layers / sizeof layers[0]);
    int batch = opt->quick ? QUICK_BATCH : BATCH;
    for (int i = 0; i < n; i++)
        if (bench_case_selected(opt, list[i].name)) CG_TRY(bench_layer(rt, device_index, &list[i], batch, opt, rep));
    return CG_OK;
}

static int conv_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_conv = {
    "conv",
    "forward and backward (dX + dW) GFLOP/s of each DCGAN 64x64 layer (nets/ Conv2d, ConvTranspose2d) at "
    "batch 64, checked against a direct convolution on the host",
    conv_available,
    run_conv,
};
