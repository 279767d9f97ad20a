// test_bn_fuse.c — BatchNorm followed by ReLU / LeakyReLU, fused by the chain runner (nets/chain.c)
// and unfused (cg_seq_keep_acts), through the sequential container as the trainer runs it:
//   * fused and unfused give the same bits: output, running statistics, input gradient and the
//     parameter gradients (the fused kernels compute the unfused expressions in the same order);
//   * both match a double-precision C reference of y = act(batchnorm(x)) and its gradients;
//   * fused runs are bit-identical run to run, and the fused chain did fuse (and the kept did not);
// in training and evaluation mode, on the per-row (CPU) and per-element (GPU) kernels alike, for
// shapes whose H*W is and is not a multiple of the vector width (8), and for a chain of two pairs.
// Channel 0 sits exactly on the activation's kink, so a fused mask that differs from the unfused one
// at v = 0 fails the bit comparison. Buffers are written whole from the host (as Oclgrind wants),
// but the test has no Oclgrind run yet: Oclgrind still reports uninitialised values here that it
// does not report for test_norm (the same kernels through the layer's ops); to be understood.
#include "layer_test_util.h"
#include "nets_internal.h"

#include <math.h>

typedef struct {
    int n, c, h, w;
} shape;

static const shape shapes[] = {{2, 3, 5, 7}, {4, 5, 4, 4}, {3, 2, 9, 9}, {1, 4, 3, 1}, {6, 3, 8, 8}, {2, 2, 1, 17}};

#define EPS 1e-5f
#define MOMENTUM 0.1f

static int quick;

static float *read_t(cg_ctx *ctx, cg_tensor t) {
    float *h = malloc(cg_numel(t) * sizeof *h + 1);
    CHECK_OK(cg_tensor_read(ctx->rt, t, h));
    return h;
}

static float *read_buf(cg_ctx *ctx, cl_mem b, size_t n) {
    float *h = malloc(n * sizeof *h + 1);
    if (n) CHECK_OK(cg_tensor_read(ctx->rt, cg_view(b, 0, 1, 1, 1, (int)n), h));
    return h;
}

// A net of `pairs` BatchNorm + activation pairs (slope < 0: ReLU, else LeakyReLU(slope)) on C
// channels, with random affine parameters (weights of both signs) and running statistics; channel 0
// has bias 0 and running mean 0.5 (with an input of 0.5 there, its batch-norm outputs are exactly
// 0, at the activation's kink, in both modes).
static cg_seq *make_net(cg_ctx *ctx, shape sh, int pairs, float slope, uint32_t seed) {
    cg_layer *layers[4];
    for (int p = 0; p < pairs; p++) {
        CHECK_OK(cg_batchnorm_create((cg_bn_params){sh.c, EPS, MOMENTUM}, &layers[2 * p]));
        if (slope < 0) CHECK_OK(cg_relu_create(&layers[2 * p + 1]));
        else CHECK_OK(cg_leaky_relu_create(slope, &layers[2 * p + 1]));
    }
    cg_seq *s = NULL;
    CHECK_OK(cg_seq_create(ctx, "", layers, NULL, 2 * pairs, (const int[3]){sh.c, sh.h, sh.w}, &s));
    if (!s) exit(1);
    CHECK_OK(cg_seq_set_batch(ctx, s, sh.n));
    // Whole-buffer host writes (Oclgrind counts neither fills nor the rest of a partly written buffer
    // as initialised).
    float *params = read_buf(ctx, s->params, s->n_params), *stats = read_buf(ctx, s->buffers, s->n_buffers);
    for (int p = 0; p < pairs; p++) {
        const char *names[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4; k++) {
            char name[64];
            snprintf(name, sizeof name, "%d.%s", 2 * p, names[k]);
            cg_param *prm = cg_seq_find(s, name);
            CHECK(prm != NULL, "parameter %s", name);
            if (!prm) exit(1);
            float *v = lt_random((size_t)sh.c, seed + 17u * (uint32_t)(4 * p + k));
            for (int i = 0; i < sh.c; i++)
                if (k == 3) v[i] = 0.5f + fabsf(v[i]);
                else if (k == 0) v[i] = v[i] < 0 ? -0.5f + v[i] : 0.5f + v[i]; // |w| >= 0.5, both signs
            if (k == 1 || k == 2) v[0] = k == 1 ? 0.0f : 0.5f;
            memcpy((prm->trainable ? params : stats) + prm->w.off, v, (size_t)sh.c * sizeof *v);
            free(v);
        }
    }
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(s->params, 0, 1, 1, 1, (int)s->n_params), params));
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, (int)s->n_buffers), stats));
    free(params), free(stats);
    return s;
}

// One pass of net s: forward (training or eval) of x, backward of dy into dx; the results read back.
typedef struct {
    float *y, *dx, *grads, *stats;
} result;

static result run(cg_ctx *ctx, cg_seq *s, const float *x, const float *dy, int training, cl_mem dxb) {
    cg_tensor in = cg_seq_input(s), out = cg_seq_output(s);
    cg_tensor dx = cg_view(dxb, 0, in.n, in.c, in.h, in.w);
    size_t acts_total = out.off + cg_numel(out); // the activation buffer, written whole
    float *a = calloc(acts_total, sizeof *a);
    memcpy(a + in.off, x, cg_numel(in) * sizeof *a);
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(s->act_buf, 0, 1, 1, 1, (int)acts_total), a));
    free(a);
    float *zeros = calloc(s->n_params, sizeof *zeros);
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params), zeros));
    free(zeros);
    CHECK_OK(cg_seq_forward(ctx, s, training));
    cg_tensor dout = cg_seq_doutput(s); // the last view of the gradient buffer, written whole
    size_t total = dout.off + cg_numel(dout);
    float *g = calloc(total, sizeof *g);
    memcpy(g + dout.off, dy, cg_numel(dout) * sizeof *g);
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(s->dact_buf, 0, 1, 1, 1, (int)total), g));
    free(g);
    CHECK_OK(cg_seq_backward(ctx, s, &dx));
    result r = {read_t(ctx, out), read_t(ctx, dx), read_buf(ctx, s->grads, s->n_params),
                read_buf(ctx, s->buffers, s->n_buffers)};
    return r;
}

static void free_result(result *r) {
    free(r->y), free(r->dx), free(r->grads), free(r->stats);
}

static int same_bits(const float *a, const float *b, size_t n, const char *what, const char *at) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i])) {
            CHECK(0, "%s: %s[%zu] fused %.9g, unfused %.9g", at, what, i, a[i], b[i]);
            return 0;
        }
    return 1;
}

// Double reference of one pair: y = act(w * xhat + b) and, from dy, dx and the sums dw, db.
// stats (mean, var of the running statistics) are used in evaluation mode.
static void reference(shape sh, const float *x, const float *dy, const float *w, const float *b, const float *rm,
                      const float *rv, float slope, int training, double *y, double *dx, double *dw, double *db) {
    size_t hw = (size_t)sh.h * sh.w, m = (size_t)sh.n * hw;
    for (int c = 0; c < sh.c; c++) {
        double mean = 0, var = 0;
        for (int n = 0; n < sh.n; n++)
            for (size_t p = 0; p < hw; p++) mean += x[((size_t)n * sh.c + c) * hw + p];
        mean /= (double)m;
        for (int n = 0; n < sh.n; n++)
            for (size_t p = 0; p < hw; p++) {
                double d = x[((size_t)n * sh.c + c) * hw + p] - mean;
                var += d * d;
            }
        var /= (double)m;
        if (!training) mean = rm[c], var = rv[c];
        double invstd = 1.0 / sqrt(var + (double)EPS), sg = 0, sgx = 0;
        double sl = slope < 0 ? 0.0 : slope;
        for (int n = 0; n < sh.n; n++)
            for (size_t p = 0; p < hw; p++) {
                size_t i = ((size_t)n * sh.c + c) * hw + p;
                double xhat = (x[i] - mean) * invstd, v = xhat * w[c] + b[c];
                y[i] = v > 0 ? v : sl * v;
                double g = v > 0 ? dy[i] : sl * dy[i];
                sg += g;
                sgx += g * xhat;
            }
        dw[c] = sgx;
        db[c] = sg;
        for (int n = 0; n < sh.n; n++)
            for (size_t p = 0; p < hw; p++) {
                size_t i = ((size_t)n * sh.c + c) * hw + p;
                double xhat = (x[i] - mean) * invstd, v = xhat * w[c] + b[c];
                double g = v > 0 ? dy[i] : sl * dy[i];
                if (training) g = g - sg / (double)m - xhat * sgx / (double)m;
                dx[i] = w[c] * invstd * g;
            }
    }
}

// |got - want| <= tol * (1 + max |want|) over all n.
static void close_to(const float *got, const double *want, size_t n, double tol, const char *what, const char *at) {
    double scale = 0, worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e, wi = i;
    }
    CHECK(worst <= tol * (1 + scale), "%s: %s[%zu] = %.9g, reference %.9g (error %.3g, scale %.3g)", at, what, wi,
          n ? got[wi] : 0.0, n ? want[wi] : 0.0, worst, scale);
}

static void pair_case(cg_ctx *ctx, shape sh, int pairs, float slope, int training, int rows) {
    char at[160];
    snprintf(at, sizeof at, "[%d,%d,%d,%d] %d pair(s) %s %s %s kernels", sh.n, sh.c, sh.h, sh.w, pairs,
             slope < 0 ? "relu" : "leaky_relu(0.2)", training ? "training" : "eval", rows ? "per-row" : "per-element");
    cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
    uint32_t seed = (uint32_t)(sh.n * 1000 + sh.c * 100 + sh.h * 10 + sh.w);
    cg_seq *fused = make_net(ctx, sh, pairs, slope, seed), *kept = make_net(ctx, sh, pairs, slope, seed);
    cg_seq *again = make_net(ctx, sh, pairs, slope, seed);
    cg_seq_keep_acts(kept, 1);
    size_t n = (size_t)sh.n * sh.c * sh.h * sh.w;
    float *x = lt_random(n, seed + 1), *dy = lt_random(n, seed + 2);
    for (size_t i = 0; i < n; i++) x[i] = 3.0f * x[i] + 0.5f; // off-centre: means and variances not 0 and 1
    size_t hw = (size_t)sh.h * sh.w;
    for (int s = 0; s < sh.n; s++) // channel 0 constant: xhat = 0, batch-norm output 0, the kink
        for (size_t p = 0; p < hw; p++) x[(size_t)s * sh.c * hw + p] = 0.5f;
    float *w = read_t(ctx, fused->layers[0]->params[0].w), *b = read_t(ctx, fused->layers[0]->params[1].w);
    float *rm = read_t(ctx, fused->layers[0]->params[2].w), *rv = read_t(ctx, fused->layers[0]->params[3].w);
    cl_mem dxb = lt_buffer(ctx->rt, n, NULL, 0.0f);

    result f = run(ctx, fused, x, dy, training, dxb);
    for (int p = 0; p < pairs; p++)
        CHECK(cg_batchnorm_fused(fused->layers[2 * p]), "%s: pair %d of the fused net did not fuse", at, p);
    result k = run(ctx, kept, x, dy, training, dxb);
    for (int p = 0; p < pairs; p++)
        CHECK(!cg_batchnorm_fused(kept->layers[2 * p]), "%s: pair %d of the kept net fused", at, p);
    result g = run(ctx, again, x, dy, training, dxb);

    same_bits(f.y, k.y, n, "output", at);
    same_bits(f.dx, k.dx, n, "input gradient", at);
    same_bits(f.grads, k.grads, fused->n_params, "parameter gradient", at);
    same_bits(f.stats, k.stats, fused->n_buffers, "running statistic", at);
    same_bits(f.y, g.y, n, "output (second fused run)", at);
    same_bits(f.dx, g.dx, n, "input gradient (second fused run)", at);
    same_bits(f.grads, g.grads, fused->n_params, "parameter gradient (second fused run)", at);
    if (pairs == 1) { // the unfused BatchNorm output is readable in the kept net only
        float *bn_out = read_t(ctx, kept->acts[1]);
        size_t neg = 0;
        for (size_t i = 0; i < n; i++) neg += bn_out[i] <= 0.0f;
        CHECK(neg > 0 && neg < n, "%s: %zu of %zu batch-norm outputs are not positive: both branches of the "
              "activation are exercised", at, neg, n);
        free(bn_out);

        double *ry = malloc(n * sizeof *ry), *rdx = malloc(n * sizeof *rdx);
        double *rdw = malloc((size_t)sh.c * sizeof *rdw), *rdb = malloc((size_t)sh.c * sizeof *rdb);
        reference(sh, x, dy, w, b, rm, rv, slope, training, ry, rdx, rdw, rdb);
        close_to(f.y, ry, n, 1e-5, "output", at);
        close_to(f.dx, rdx, n, 2e-5, "input gradient", at);
        close_to(f.grads, rdw, (size_t)sh.c, 2e-5, "weight gradient", at);
        close_to(f.grads + sh.c, rdb, (size_t)sh.c, 2e-5, "bias gradient", at);
        free(ry), free(rdx), free(rdw), free(rdb);
    }
    free_result(&f), free_result(&k), free_result(&g);
    free(x), free(dy), free(w), free(b), free(rm), free(rv);
    cg_buffer_release(dxb);
    cg_seq_free(fused), cg_seq_free(kept), cg_seq_free(again);
    cg_im2col_force(CG_IM2COL_AUTO);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    quick = lt_quick();
    cg_ctx ctx = {rt, {0}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int rows = 1; rows >= 0; rows--)
            for (int training = 1; training >= 0; training--) {
                if (quick && (i > 1 || !training)) continue;
                pair_case(&ctx, shapes[i], 1, -1.0f, training, rows);
                pair_case(&ctx, shapes[i], 1, 0.2f, training, rows);
            }
    for (int rows = 1; rows >= 0; rows--) pair_case(&ctx, shapes[0], 2, 0.2f, 1, rows);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("bn_fuse");
}
