// test_loss.c — BCE-with-logits and Wasserstein losses against a double-precision C reference
// (batch 1, odd sizes, multi-dimensional scores, extreme logits ±50/±100, label smoothing), strided
// views with untouched guard cells, run-to-run determinism, central finite differences of the
// device loss against the device gradient, and argument checks.
// oclgrind: run
#include "nets.h"
#include "test_util.h"

static int quick(void) {
    const char *q = getenv("CLGAN_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static uint64_t lcg_state = 12345;
static double urand(void) { // in [0, 1)
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * 0x1p-53;
}

static void ref_bce(const float *x, size_t n, double t, double *loss, double *grad) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i], e = exp(-fabs(v));
        sum += fmax(v, 0.0) - t * v + log1p(e);
        double sig = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        grad[i] = (sig - t) / (double)n;
    }
    *loss = sum / (double)n;
}

static void ref_wasserstein(const float *x, size_t n, double sign, double *loss, double *grad) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        grad[i] = sign / (double)n;
    }
    *loss = sign * sum / (double)n;
}

typedef struct {
    cg_ctx *ctx;
    cl_mem in, grad, loss; // in: [n, c, h, w]; loss: 8 floats, the result at index 5
} bufs;

// Runs one loss on host data x (n*c*h*w floats) and returns loss and gradient on the host.
static cg_status run_loss(bufs *b, int is_bce, float a, const int shape[4], const float *x, float *loss, float *grad) {
    cg_runtime *rt = b->ctx->rt;
    cg_tensor in = cg_view(b->in, 3, shape[0], shape[1], shape[2], shape[3]);
    cg_tensor g = cg_view(b->grad, 1, shape[0], shape[1], shape[2], shape[3]);
    cg_tensor l = cg_view(b->loss, 5, 1, 1, 1, 1);
    // Written whole from offset 0: Oclgrind 21.10 loses track of which bytes a write at a non-zero
    // offset initialised.
    size_t n = cg_numel(in);
    float *image = malloc((n + 3) * sizeof *image);
    image[0] = image[1] = image[2] = -77.0f;
    memcpy(image + 3, x, n * sizeof *x);
    cg_status st = cg_tensor_write(rt, cg_view(b->in, 0, 1, 1, 1, (int)n + 3), image);
    free(image);
    CG_TRY(st);
    if (is_bce)
        CG_TRY(cg_bce_logits(b->ctx, in, a, l, g));
    else
        CG_TRY(cg_wasserstein(b->ctx, in, a, l, g));
    CG_TRY(cg_tensor_read(rt, l, loss));
    return cg_tensor_read(rt, g, grad);
}

static void check_case(bufs *b, int is_bce, float a, const int shape[4], int extremes) {
    size_t n = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
    float *x = malloc(n * sizeof *x), *grad = malloc(n * sizeof *grad);
    double *rgrad = malloc(n * sizeof *rgrad);
    for (size_t i = 0; i < n; i++) x[i] = (float)((urand() - 0.5) * 8.0);
    if (extremes) {
        static const float ext[] = {50.0f, -50.0f, 100.0f, -100.0f, 0.0f, 88.0f, -88.0f, 17.0f};
        for (size_t i = 0; i < n && i < sizeof ext / sizeof ext[0]; i++) x[i] = ext[i];
    }
    double rloss;
    if (is_bce)
        ref_bce(x, n, a, &rloss, rgrad);
    else
        ref_wasserstein(x, n, a, &rloss, rgrad);
    float loss = NAN;
    CHECK_OK(run_loss(b, is_bce, a, shape, x, &loss, grad));
    const char *name = is_bce ? "bce" : "wasserstein";
    double tol = 2e-6 * fabs(rloss) + 1e-6 + (n > 10000 ? 2e-5 * fabs(rloss) : 0);
    CHECK(isfinite(loss) && fabs(loss - rloss) <= tol, "%s n=%zu a=%g: loss %.9g, reference %.9g", name, n, a, loss,
          rloss);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(grad[i] - rgrad[i]);
        if (!(d <= 1e-6 * fabs(rgrad[i]) + 2e-7 / (double)n)) {
            if (bad++ < 3)
                fprintf(stderr, "%s n=%zu: grad[%zu] = %.9g, reference %.9g (x %g)\n", name, n, i, grad[i], rgrad[i],
                        x[i]);
        }
    }
    CHECK(bad == 0, "%s n=%zu a=%g: %d gradients off", name, n, a, bad);
    free(x);
    free(grad);
    free(rgrad);
}

// Central differences of the device loss in each logit against the device gradient.
static void check_finite_differences(bufs *b, int is_bce, float a) {
    const int shape[4] = {5, 1, 1, 1};
    float x[5], grad[5], g0[5], lp, lm, l0;
    for (int i = 0; i < 5; i++) x[i] = (float)((urand() - 0.5) * 6.0);
    CHECK_OK(run_loss(b, is_bce, a, shape, x, &l0, g0));
    const float h = 1e-2f;
    for (int i = 0; i < 5; i++) {
        float xi = x[i];
        x[i] = xi + h;
        CHECK_OK(run_loss(b, is_bce, a, shape, x, &lp, grad));
        x[i] = xi - h;
        CHECK_OK(run_loss(b, is_bce, a, shape, x, &lm, grad));
        x[i] = xi;
        double fd = ((double)lp - (double)lm) / (2.0 * h);
        CHECK(fabs(fd - g0[i]) < 5e-5, "%s: d loss / d x[%d]: finite difference %.7g, gradient %.7g",
              is_bce ? "bce" : "wasserstein", i, fd, g0[i]);
    }
}

// Views with a sample stride (channel 1 of [n, 3, 1, 1]); guards around them must survive.
static void check_strided(cg_ctx *ctx) {
    cg_runtime *rt = ctx->rt;
    enum { N = 9 };
    cl_mem xb, gb, lb;
    CHECK_OK(cg_buffer_alloc(rt, 3 * N, &xb));
    CHECK_OK(cg_buffer_alloc(rt, 3 * N, &gb));
    CHECK_OK(cg_buffer_alloc(rt, 1, &lb));
    float host[3 * N], gh[3 * N], loss;
    for (int i = 0; i < 3 * N; i++) host[i] = (float)((urand() - 0.5) * 4.0);
    for (int i = 0; i < 3 * N; i++) gh[i] = -7.0f;
    CHECK_OK(cg_tensor_write(rt, cg_view(xb, 0, N, 3, 1, 1), host));
    CHECK_OK(cg_tensor_write(rt, cg_view(gb, 0, N, 3, 1, 1), gh));
    cg_tensor x = cg_channels(cg_view(xb, 0, N, 3, 1, 1), 1, 1);
    cg_tensor g = cg_channels(cg_view(gb, 0, N, 3, 1, 1), 2, 1);
    CHECK_OK(cg_bce_logits(ctx, x, 1.0f, cg_view(lb, 0, 1, 1, 1, 1), g));
    CHECK_OK(cg_tensor_read(rt, cg_view(lb, 0, 1, 1, 1, 1), &loss));
    CHECK_OK(cg_tensor_read(rt, cg_view(gb, 0, N, 3, 1, 1), gh));
    float xs[N];
    double rl, rg[N];
    for (int i = 0; i < N; i++) xs[i] = host[3 * i + 1];
    ref_bce(xs, N, 1.0, &rl, rg);
    CHECK(fabs(loss - rl) < 1e-6 * (1 + fabs(rl)), "strided loss %.9g, reference %.9g", loss, rl);
    for (int i = 0; i < N; i++) {
        CHECK(fabs(gh[3 * i + 2] - rg[i]) < 1e-7, "strided grad %d: %g vs %g", i, gh[3 * i + 2], rg[i]);
        CHECK(gh[3 * i] == -7.0f && gh[3 * i + 1] == -7.0f, "guard cells of sample %d overwritten", i);
    }
    cg_buffer_release(xb);
    cg_buffer_release(gb);
    cg_buffer_release(lb);
}

static void check_determinism_and_args(bufs *b, size_t n) {
    const int shape[4] = {(int)n, 1, 1, 1};
    float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), l1, l2;
    for (size_t i = 0; i < n; i++) x[i] = (float)((urand() - 0.5) * 10.0);
    CHECK_OK(run_loss(b, 1, 1.0f, shape, x, &l1, g));
    CHECK_OK(run_loss(b, 1, 1.0f, shape, x, &l2, g));
    CHECK(memcmp(&l1, &l2, sizeof l1) == 0, "two runs differ: %.9g vs %.9g", l1, l2);
    free(x);
    free(g);

    cg_tensor in = cg_view(b->in, 0, 4, 1, 1, 1), loss = cg_view(b->loss, 0, 1, 1, 1, 1);
    CHECK_FAILS(cg_bce_logits(b->ctx, in, 1.0f, loss, cg_view(b->grad, 0, 5, 1, 1, 1)), CG_ERR_INVALID_ARG,
                "does not match");
    CHECK_FAILS(cg_wasserstein(b->ctx, cg_view(b->in, 0, 0, 1, 1, 1), 1.0f, loss, cg_view(b->grad, 0, 0, 1, 1, 1)),
                CG_ERR_INVALID_ARG, "empty input");
    CHECK_FAILS(cg_bce_logits(b->ctx, in, 1.0f, cg_view(b->loss, 0, 0, 1, 1, 1), cg_view(b->grad, 0, 4, 1, 1, 1)),
                CG_ERR_INVALID_ARG, "loss view");
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    size_t big = quick() ? 300 : 100003;
    bufs b = {&ctx, NULL, NULL, NULL};
    CHECK_OK(cg_buffer_alloc(rt, big + 8, &b.in));
    CHECK_OK(cg_buffer_alloc(rt, big + 8, &b.grad));
    CHECK_OK(cg_buffer_alloc(rt, 8, &b.loss));

    const int shapes[][4] = {{1, 1, 1, 1}, {7, 1, 1, 1}, {64, 1, 1, 1}, {3, 2, 5, 7}, {(int)big, 1, 1, 1}};
    const float targets[] = {1.0f, 0.0f, 0.9f};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) check_case(&b, 1, targets[t], shapes[s], 1);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        check_case(&b, 0, 1.0f, shapes[s], 0);
        check_case(&b, 0, -1.0f, shapes[s], 1);
    }
    check_finite_differences(&b, 1, 1.0f);
    check_finite_differences(&b, 1, 0.0f);
    check_finite_differences(&b, 1, 0.9f);
    check_finite_differences(&b, 0, -1.0f);
    check_strided(&ctx);
    check_determinism_and_args(&b, quick() ? 200 : 5000);

    cg_buffer_release(b.in);
    cg_buffer_release(b.grad);
    cg_buffer_release(b.loss);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_loss");
}
