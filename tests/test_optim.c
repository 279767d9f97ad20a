// test_optim.c — SGD (with and without momentum), Adam and RMSprop (with momentum, weight decay)
// over several steps of random gradients, against a double-precision C reference of torch.optim's
// formulas; parity with torch.optim itself through tests/reference/optim_reference.py (Debian's
// torch under $CLGAN_PYTHON; that part is skipped with a message when the interpreter or torch is
// missing); weight clipping (NaN kept); the step counter; argument checks; and Adam training a
// small DCGAN discriminator of the real layers (with cg_seq, cg_init_dcgan and cg_bce_logits).
// oclgrind: run
#include "nets.h"
#include "test_util.h"

#include <stdint.h>
#include <unistd.h>

static int quick(void) {
    const char *q = getenv("CLGAN_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static uint64_t lcg_state = 987654321;
static double urand(void) { // in [0, 1)
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * 0x1p-53;
}

typedef struct {
    const char *label;
    cg_opt_kind kind;
    double lr, beta1, beta2, eps, alpha, momentum, wd; // as a user types them (torch keeps doubles)
} opt_config;

typedef struct {
    const char *label;
    cg_opt_kind kind;
    double lr, beta1, beta2, eps, alpha, momentum, wd;
    int n, steps;
    float *p0, *grads;  // initial parameters; grads[steps][n]
    float *p, *sa, *sb; // device results: parameters and the two state buffers (zeros if absent)
} opt_case;

// torch.optim's formulas in double precision; sa/sb as in optim_reference.py. The *_mag arrays
// follow the same recurrences in absolute values: the size of what was summed into each value,
// the scale of its float rounding error even where terms cancel.
typedef struct {
    double *p, *sa, *sb, *p_mag, *sa_mag, *sb_mag;
} ref_result;

static void reference(const opt_case *c, ref_result *r) {
    for (int i = 0; i < c->n; i++) {
        r->p[i] = c->p0[i], r->sa[i] = r->sb[i] = 0;
        r->p_mag[i] = fabs(c->p0[i]), r->sa_mag[i] = r->sb_mag[i] = 0;
    }
    for (int t = 1; t <= c->steps; t++) {
        const float *g = c->grads + (size_t)(t - 1) * c->n;
        for (int i = 0; i < c->n; i++) {
            double *p = &r->p[i], *a = &r->sa[i], *b = &r->sb[i];
            double *pm = &r->p_mag[i], *am = &r->sa_mag[i], *bm = &r->sb_mag[i];
            double gi = g[i] + c->wd * *p, gm = fabs(g[i]) + c->wd * fabs(*p), step, step_mag;
            if (c->kind == CG_OPT_ADAM) {
                *a = c->beta1 * *a + (1 - c->beta1) * gi;
                *am = c->beta1 * *am + (1 - c->beta1) * gm;
                *b = c->beta2 * *b + (1 - c->beta2) * gi * gi;
                *bm = *b;
                double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
                double denom = sqrt(*b) / sqrt(bc2) + c->eps;
                step = c->lr / bc1 * *a / denom;
                step_mag = c->lr / bc1 * *am / denom;
            } else if (c->kind == CG_OPT_RMSPROP) {
                *a = c->alpha * *a + (1 - c->alpha) * gi * gi;
                *am = *a;
                double avg = sqrt(*a) + c->eps;
                if (c->momentum > 0) {
                    *b = c->momentum * *b + gi / avg;
                    *bm = c->momentum * *bm + gm / avg;
                    step = c->lr * *b;
                    step_mag = c->lr * *bm;
                } else {
                    step = c->lr * gi / avg;
                    step_mag = c->lr * gm / avg;
                }
            } else {
                step = c->lr * gi;
                step_mag = c->lr * gm;
                if (c->momentum != 0) {
                    *a = t == 1 ? gi : c->momentum * *a + gi;
                    *am = t == 1 ? gm : c->momentum * *am + gm;
                    step = c->lr * *a;
                    step_mag = c->lr * *am;
                }
            }
            *p -= step;
            *pm += step_mag;
        }
    }
}

static void fill_case(opt_case *c) {
    size_t n = (size_t)c->n;
    c->p0 = malloc(n * sizeof(float));
    c->grads = malloc(n * (size_t)c->steps * sizeof(float));
    c->p = calloc(n, sizeof(float));
    c->sa = calloc(n, sizeof(float));
    c->sb = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) c->p0[i] = (float)((urand() - 0.5) * 2.0);
    for (size_t i = 0; i < n * (size_t)c->steps; i++) {
        double scale = pow(10.0, -3.0 + 4.0 * urand()); // gradients from 1e-3 to 10
        c->grads[i] = i % 17 == 3 ? 0.0f : (float)((urand() - 0.5) * scale);
    }
}

static void run_device(cg_ctx *ctx, opt_case *c) {
    cg_runtime *rt = ctx->rt;
    cg_opt_params op = {c->kind,       (float)c->lr,    (float)c->beta1,    (float)c->beta2,
                        (float)c->eps, (float)c->alpha, (float)c->momentum, (float)c->wd};
    cg_optimizer *o = NULL;
    cl_mem pb = NULL, gb = NULL;
    CHECK_OK(cg_optimizer_create(ctx, op, (size_t)c->n, &o));
    CHECK_OK(cg_buffer_alloc(rt, (size_t)c->n, &pb));
    CHECK_OK(cg_buffer_alloc(rt, (size_t)c->n, &gb));
    if (!o || !pb || !gb) return;
    cg_tensor pt = cg_view(pb, 0, 1, 1, 1, c->n), gt = cg_view(gb, 0, 1, 1, 1, c->n);
    CHECK_OK(cg_tensor_write(rt, pt, c->p0));
    for (int s = 0; s < c->steps; s++) {
        CHECK_OK(cg_tensor_write(rt, gt, c->grads + (size_t)s * c->n));
        CHECK_OK(cg_optimizer_step(ctx, o, pb, gb));
    }
    CHECK(o->step == c->steps, "%s: step counter %ld after %d steps", c->label, o->step, c->steps);
    CHECK_OK(cg_tensor_read(rt, pt, c->p));
    if (o->m) CHECK_OK(cg_tensor_read(rt, cg_view(o->m, 0, 1, 1, 1, c->n), c->sa));
    if (o->v) CHECK_OK(cg_tensor_read(rt, cg_view(o->v, 0, 1, 1, 1, c->n), c->sb));
    cg_optimizer_free(o);
    cg_buffer_release(pb);
    cg_buffer_release(gb);
}

// Largest |a - b| / mag over the buffer (mag: the magnitude of what was summed into b).
static void compare(const opt_case *c, const char *against, const char *what, const float *a, const double *b,
                    const double *mag, double tol) {
    double worst = 0;
    int at = 0;
    for (int i = 0; i < c->n; i++) {
        double e = fabs(a[i] - b[i]) / (mag[i] + 1e-30);
        if (!(e <= worst)) worst = e, at = i;
    }
    CHECK(worst <= tol, "%s vs %s: %s[%d] = %.9g, expected %.9g (error %.3g of its magnitude %.3g; limit %.3g)",
          c->label, against, what, at, a[at], b[at], worst, mag[at], tol);
    if (getenv("CLGAN_TEST_VERBOSE"))
        fprintf(stderr, "%-22s vs %-6s %-2s max relative error %.3g\n", c->label, against, what, worst);
}

static ref_result ref_alloc(int n) {
    ref_result r;
    double **all[] = {&r.p, &r.sa, &r.sb, &r.p_mag, &r.sa_mag, &r.sb_mag};
    for (int j = 0; j < 6; j++) *all[j] = calloc((size_t)n, sizeof(double));
    return r;
}

static void ref_free(ref_result *r) {
    double *all[] = {r->p, r->sa, r->sb, r->p_mag, r->sa_mag, r->sb_mag};
    for (int j = 0; j < 6; j++) free(all[j]);
}

static void check_reference(const opt_case *c) {
    ref_result r = ref_alloc(c->n);
    reference(c, &r);
    compare(c, "C", "p", c->p, r.p, r.p_mag, 1e-5);
    compare(c, "C", "a", c->sa, r.sa, r.sa_mag, 1e-5);
    compare(c, "C", "b", c->sb, r.sb, r.sb_mag, 1e-5);
    ref_free(&r);
}

static const char *source_dir(void) {
    const char *d = getenv("CLGAN_SOURCE_DIR");
    return d && *d ? d : ".";
}

// Writes every case for optim_reference.py, runs it and compares torch's results with the device's.
static void check_torch(opt_case *cases, int count) {
    const char *py = getenv("CLGAN_PYTHON");
    if (!py || !*py) py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) {
        test_skip_part("torch", "torch parity: no Python interpreter at '%s' (CLGAN_PYTHON)", py);
        return;
    }
    char dir[128];
    if (test_tmpdir(dir, sizeof dir, "optim") != 0) {
        CHECK(0, "no scratch folder");
        return;
    }
    char in[64], out[64], script[1024];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    FILE *f = fopen(in, "wb");
    int32_t cnt = count;
    fwrite(&cnt, 4, 1, f);
    for (int k = 0; k < count; k++) {
        const opt_case *c = &cases[k];
        int32_t head[3] = {c->kind == CG_OPT_SGD ? 0 : c->kind == CG_OPT_ADAM ? 1 : 2, c->n, c->steps};
        double hp[7] = {c->lr, c->beta1, c->beta2, c->eps, c->alpha, c->momentum, c->wd};
        fwrite(head, 4, 3, f);
        fwrite(hp, 8, 7, f);
        fwrite(c->p0, 4, (size_t)c->n, f);
        fwrite(c->grads, 4, (size_t)c->n * c->steps, f);
    }
    fclose(f);
    snprintf(script, sizeof script, "%s/tests/reference/optim_reference.py", source_dir());
    int code = test_run(NULL, NULL, NULL, py, script, in, out, (char *)NULL);
    if (code == TEST_SKIP || code == 127) {
        test_skip_part("torch", "torch parity: %s cannot run optim_reference.py (torch missing?)", py);
    } else {
        CHECK(code == 0, "optim_reference.py exited with %d", code);
        char *data = NULL;
        size_t len = 0, need = 0;
        for (int k = 0; k < count; k++) need += 3 * (size_t)cases[k].n * sizeof(float);
        if (code == 0) CHECK_OK(cg_read_file(out, &data, &len));
        CHECK(!data || len == need, "reference output has %zu bytes, expected %zu", len, need);
        size_t at = 0;
        for (int k = 0; data && len == need && k < count; k++) {
            opt_case *c = &cases[k];
            ref_result r = ref_alloc(c->n);
            reference(c, &r); // for the magnitudes
            double *ref[3];
            const float *mine[3] = {c->p, c->sa, c->sb};
            for (int j = 0; j < 3; j++) {
                ref[j] = malloc((size_t)c->n * sizeof(double));
                for (int i = 0; i < c->n; i++, at += 4) {
                    float v;
                    memcpy(&v, data + at, 4);
                    ref[j][i] = v;
                }
            }
            compare(c, "torch", "p", mine[0], ref[0], r.p_mag, 1e-6);
            compare(c, "torch", "a", mine[1], ref[1], r.sa_mag, 1e-6);
            compare(c, "torch", "b", mine[2], ref[2], r.sb_mag, 1e-6);
            for (int j = 0; j < 3; j++) free(ref[j]);
            ref_free(&r);
        }
        if (data && len == need) fprintf(stderr, "torch parity: %d cases compared with torch.optim\n", count);
        free(data);
    }
    unlink(in);
    unlink(out);
    rmdir(dir);
}

static void check_clip(cg_ctx *ctx) {
    enum { N = 301 };
    float h[N + 1], back[N];
    for (int i = 0; i < N; i++) h[i] = (float)((urand() - 0.5) * 0.05);
    h[7] = NAN;
    h[8] = INFINITY;
    h[9] = -INFINITY;
    cl_mem b;
    CHECK_OK(cg_buffer_alloc(ctx->rt, N + 1, &b));
    float guard = 42.0f;
    h[N] = guard; // one write from offset 0 (Oclgrind 21.10 mistracks writes at an offset)
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(b, 0, 1, 1, 1, N + 1), h));
    CHECK_OK(cg_clip(ctx, b, N, -0.01f, 0.01f));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(b, 0, 1, 1, 1, N), back));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(b, N, 1, 1, 1, 1), &guard));
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float want = h[i] < -0.01f ? -0.01f : h[i] > 0.01f ? 0.01f : h[i];
        if (isnan(h[i]) ? !isnan(back[i]) : back[i] != want) bad++;
    }
    CHECK(bad == 0, "clip: %d values wrong", bad);
    CHECK(guard == 42.0f, "clip wrote past n");
    CHECK_FAILS(cg_clip(ctx, b, N, 0.01f, -0.01f), CG_ERR_INVALID_ARG, "empty range");
    cg_buffer_release(b);
}

static void check_args(cg_ctx *ctx) {
    cg_optimizer *o = NULL;
    cg_opt_params bad_beta = {CG_OPT_ADAM, 1e-3f, 1.0f, 0.999f, 1e-8f, 0, 0, 0};
    CHECK_FAILS(cg_optimizer_create(ctx, bad_beta, 10, &o), CG_ERR_INVALID_ARG, "beta1");
    cg_opt_params bad_lr = {CG_OPT_SGD, -1.0f, 0, 0, 0, 0, 0, 0};
    CHECK_FAILS(cg_optimizer_create(ctx, bad_lr, 10, &o), CG_ERR_INVALID_ARG, "lr");
    cg_opt_params ok = {CG_OPT_RMSPROP, 5e-5f, 0, 0, 1e-8f, 0.99f, 0, 0};
    CHECK_FAILS(cg_optimizer_create(ctx, ok, 0, &o), CG_ERR_INVALID_ARG, "0 parameters");
    CHECK(o == NULL, "failed create left an optimizer");
}

// A small DCGAN generator of the real layers: ConvTranspose weights named and shaped as PyTorch's
// ([Cin, Cout, k, k]), shapes inferred through the net.
static void check_generator_shapes(cg_ctx *ctx) {
    cg_layer *g[5] = {0};
    const cg_conv_params t0 = {4, 8, 4, 4, 1, 0, 0}, t3 = {8, 3, 4, 4, 2, 1, 0};
    const cg_bn_params bn8 = {8, 1e-5f, 0.1f};
    CHECK_OK(cg_conv_transpose2d_create(t0, &g[0]));
    CHECK_OK(cg_batchnorm_create(bn8, &g[1]));
    CHECK_OK(cg_relu_create(&g[2]));
    CHECK_OK(cg_conv_transpose2d_create(t3, &g[3]));
    CHECK_OK(cg_tanh_create(&g[4]));
    const int z[3] = {4, 1, 1};
    cg_seq *s = NULL;
    CHECK_OK(cg_seq_create(ctx, "main", g, NULL, 5, z, &s));
    if (!s) return;
    cg_param *w0 = cg_seq_find(s, "main.0.weight");
    CHECK(w0 && w0->ndim == 4 && w0->shape[0] == 4 && w0->shape[1] == 8, "ConvTranspose weight is [Cin, Cout, k, k]");
    CHECK_OK(cg_seq_set_batch(ctx, s, 2));
    cg_tensor out = cg_seq_output(s);
    CHECK(out.n == 2 && out.c == 3 && out.h == 8 && out.w == 8, "G output [%d,%d,%d,%d]", out.n, out.c, out.h, out.w);
    cg_seq_free(s);
}

// The optimizer in a training loop: a small DCGAN discriminator of the real layers (PyTorch names
// and sizes, BatchNorm defaults) takes a few Adam steps of BCE on a fixed batch, which must lower
// its loss. Quick mode (Oclgrind, where convolutions are slow and the layers' own tests run their
// kernels) checks construction only.
static void check_training_loop(cg_ctx *ctx) {
    cg_layer *d[8] = {0};
    const cg_conv_params c0 = {3, 8, 4, 4, 2, 1, 0}, c2 = {8, 16, 4, 4, 2, 1, 0}, c5 = {16, 1, 4, 4, 1, 0, 0};
    const cg_bn_params bn = {16, 1e-5f, 0.1f};
    CHECK_OK(cg_conv2d_create(c0, &d[0]));
    CHECK_OK(cg_leaky_relu_create(0.2f, &d[1]));
    CHECK_OK(cg_conv2d_create(c2, &d[2]));
    CHECK_OK(cg_batchnorm_create(bn, &d[3]));
    CHECK_OK(cg_leaky_relu_create(0.2f, &d[4]));
    CHECK_OK(cg_conv2d_create(c5, &d[5]));
    const int in[3] = {3, 16, 16};
    cg_seq *s = NULL;
    CHECK_OK(cg_seq_create(ctx, "main", d, NULL, 6, in, &s));
    if (!s) return;
    CHECK(s->n_params == 8 * 3 * 16 + 16 * 8 * 16 + 2 * 16 + 16 * 16 && s->n_buffers == 32, "%zu params, %zu buffers",
          s->n_params, s->n_buffers);
    cg_param *w3 = cg_seq_find(s, "main.3.weight"), *rv = cg_seq_find(s, "main.3.running_var");
    CHECK(w3 && rv && cg_seq_find(s, "main.5.weight") && !cg_seq_find(s, "main.5.bias"), "state_dict names");
    if (!w3 || !rv) {
        cg_seq_free(s);
        return;
    }
    float ones[16];
    CHECK_OK(cg_tensor_read(ctx->rt, w3->w, ones));
    for (int i = 0; i < 16; i++) CHECK(ones[i] == 1.0f, "main.3.weight[%d] = %g", i, ones[i]);
    CHECK_OK(cg_tensor_read(ctx->rt, rv->w, ones));
    for (int i = 0; i < 16; i++) CHECK(ones[i] == 1.0f, "main.3.running_var[%d] = %g", i, ones[i]);

    const int batch = 4;
    CHECK_OK(cg_seq_set_batch(ctx, s, batch));
    cg_tensor out = cg_seq_output(s);
    CHECK(out.n == batch && out.c == 1 && out.h == 1 && out.w == 1, "D output [%d,%d,%d,%d]", out.n, out.c, out.h,
          out.w);
    cg_rng r = {7, 0};
    CHECK_OK(cg_init_dcgan(ctx, s, r));
    if (quick()) {
        cg_seq_free(s);
        return;
    }
    size_t nin = cg_numel(cg_seq_input(s));
    float *x = malloc(nin * sizeof *x);
    for (size_t i = 0; i < nin; i++) x[i] = (float)(urand() * 2.0 - 1.0);
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(s), x));
    cl_mem lb;
    CHECK_OK(cg_buffer_alloc(ctx->rt, 1, &lb));
    cg_tensor loss = cg_view(lb, 0, 1, 1, 1, 1);
    cg_optimizer *opt = NULL;
    cg_opt_params op = {CG_OPT_ADAM, 2e-3f, 0.5f, 0.999f, 1e-8f, 0, 0, 0};
    CHECK_OK(cg_optimizer_create(ctx, op, s->n_params, &opt));
    float first = NAN, last = NAN;
    for (int step = 0; opt && step < 6; step++) {
        CHECK_OK(cg_seq_forward(ctx, s, 1));
        CHECK_OK(cg_bce_logits(ctx, cg_seq_output(s), 1.0f, loss, cg_seq_doutput(s)));
        CHECK_OK(cg_seq_zero_grad(ctx, s));
        CHECK_OK(cg_seq_backward(ctx, s, NULL));
        CHECK_OK(cg_optimizer_step(ctx, opt, s->params, s->grads));
        CHECK_OK(cg_tensor_read(ctx->rt, loss, &last));
        if (step == 0) first = last;
    }
    CHECK(isfinite(first) && isfinite(last) && last < first, "D loss did not fall: %g -> %g", first, last);
    cg_optimizer_free(opt);
    cg_buffer_release(lb);
    free(x);
    cg_seq_free(s);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    int n = quick() ? 97 : 4099, steps = quick() ? 4 : 12;
    static const opt_config configs[] = {
        {"adam default", CG_OPT_ADAM, 0.01, 0.9, 0.999, 1e-8, 0, 0, 0},
        {"adam dcgan + wd", CG_OPT_ADAM, 2e-4, 0.5, 0.999, 1e-8, 0, 0, 0.01},
        {"adam wgan-gp", CG_OPT_ADAM, 1e-4, 0.0, 0.9, 1e-8, 0, 0, 0},
        {"rmsprop wgan", CG_OPT_RMSPROP, 5e-5, 0, 0, 1e-8, 0.99, 0, 0},
        {"rmsprop momentum + wd", CG_OPT_RMSPROP, 0.01, 0, 0, 1e-8, 0.9, 0.9, 0.1},
        {"sgd", CG_OPT_SGD, 0.1, 0, 0, 0, 0, 0, 0},
        {"sgd momentum + wd", CG_OPT_SGD, 0.05, 0, 0, 0, 0, 0.9, 0.05},
    };
    enum { count = sizeof configs / sizeof configs[0] };
    opt_case cases[count];
    memset(cases, 0, sizeof cases);
    for (int k = 0; k < count; k++) {
        const opt_config *g = &configs[k];
        opt_case *c = &cases[k];
        c->label = g->label, c->kind = g->kind, c->lr = g->lr, c->beta1 = g->beta1, c->beta2 = g->beta2;
        c->eps = g->eps, c->alpha = g->alpha, c->momentum = g->momentum, c->wd = g->wd;
        c->n = n, c->steps = steps;
        fill_case(&cases[k]);
        run_device(&ctx, &cases[k]);
        check_reference(&cases[k]);
    }
    check_torch(cases, count);
    check_clip(&ctx);
    check_args(&ctx);
    check_generator_shapes(&ctx);
    check_training_loop(&ctx);
    for (int k = 0; k < count; k++) {
        free(cases[k].p0);
        free(cases[k].grads);
        free(cases[k].p);
        free(cases[k].sa);
        free(cases[k].sb);
    }
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_optim");
}
