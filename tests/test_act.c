// test_act.c — ReLU, LeakyReLU, tanh and sigmoid layers against a double-precision C reference on
// odd and real shapes: forward values, the device backward against the host analytic gradient,
// the host gradient against central differences, strided (channel-slice) views, and edge values.
// oclgrind: run
#include "nets.h"
#include "test_util.h"

typedef enum { K_LEAKY, K_TANH, K_SIGMOID } kind;

typedef struct {
    const char *name;
    kind k;
    float slope;
} act_def;

static const act_def acts[] = {
    {"relu", K_LEAKY, 0.0f}, {"leaky_relu", K_LEAKY, 0.2f}, {"tanh", K_TANH, 0.0f}, {"sigmoid", K_SIGMOID, 0.0f}};

typedef struct {
    int n, c, h, w;
    int big;       // skipped in quick mode (Oclgrind)
    unsigned only; // real shapes: bit i runs acts[i] (0: every activation)
} shape;

static const shape shapes[] = {
    {1, 1, 1, 1, 0, 0}, {1, 3, 5, 7, 0, 0},  {2, 5, 3, 1, 0, 0}, {3, 1, 4, 4, 0, 0}, {4, 3, 7, 5, 0, 0},
    {1, 5, 2, 9, 0, 0}, {2, 1, 1, 13, 0, 0}, {5, 3, 3, 3, 0, 0}, {2, 3, 1, 1, 0, 0}, {1, 1, 9, 1, 0, 0},
    // DCGAN: ReLU / LeakyReLU after BatchNorm, tanh on the generated images, sigmoid on D's logits.
    {64, 128, 16, 16, 1, 3}, {64, 3, 64, 64, 1, 4}, {64, 1, 1, 1, 1, 8},
};

static int quick;

static double ref_f(const act_def *a, double x) {
    switch (a->k) {
    case K_LEAKY: return x > 0 ? x : a->slope * x;
    case K_TANH: return tanh(x);
    case K_SIGMOID: return 1.0 / (1.0 + exp(-x));
    }
    return 0;
}

static double ref_df(const act_def *a, double x) {
    switch (a->k) {
    case K_LEAKY: return x > 0 ? 1.0 : a->slope;
    case K_TANH: return 1.0 - tanh(x) * tanh(x);
    case K_SIGMOID: return ref_f(a, x) * (1.0 - ref_f(a, x));
    }
    return 0;
}

// Uniform in [lo, hi) from a small LCG, kept at least 0.01 away from 0 (the ReLU kink).
static void fill(float *v, size_t n, uint32_t seed, float lo, float hi) {
    uint32_t st = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        v[i] = lo + (hi - lo) * (float)((st >> 8) * (1.0 / 16777216.0));
        if (fabsf(v[i]) < 0.01f) v[i] = v[i] < 0 ? -0.01f : 0.01f;
    }
}

// Worst |got - want| / (atol + rtol |want|) over n values; 1 or less passes.
static double worst_ratio(const float *got, const double *want, size_t n, double atol, double rtol, size_t *at) {
    double worst = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)got[i] - want[i]) / (atol + rtol * fabs(want[i]));
        if (!(r <= worst)) {
            worst = r;
            *at = i;
        }
    }
    return worst;
}

// A buffer of off + n + 3 floats: -77 everywhere, host[0, n) (if any) at off. Written whole from
// offset 0: Oclgrind 21.10 marks the wrong bytes initialised for writes at a non-zero offset and
// none for clEnqueueFillBuffer.
static cl_mem upload(cg_runtime *rt, size_t off, const float *host, size_t n) {
    size_t total = off + n + 3;
    float *img = malloc(total * sizeof *img);
    for (size_t i = 0; i < total; i++) img[i] = -77.0f;
    if (host) memcpy(img + off, host, n * sizeof *img);
    cl_mem b = NULL;
    CHECK_OK(cg_buffer_alloc(rt, total, &b));
    CHECK_OK(cg_tensor_write(rt, cg_view(b, 0, 1, 1, 1, (int)total), img));
    free(img);
    return b;
}

static cg_layer *make(const act_def *a) {
    cg_layer *l = NULL;
    switch (a->k) {
    case K_LEAKY: CHECK_OK(a->slope == 0.0f ? cg_relu_create(&l) : cg_leaky_relu_create(a->slope, &l)); break;
    case K_TANH: CHECK_OK(cg_tanh_create(&l)); break;
    case K_SIGMOID: CHECK_OK(cg_sigmoid_create(&l)); break;
    }
    return l;
}

// Forward and backward on contiguous views at non-zero offsets; FD check of the host gradient.
static void run_shape(cg_ctx *ctx, const act_def *a, shape s) {
    cg_runtime *rt = ctx->rt;
    size_t n = (size_t)s.n * s.c * s.h * s.w;
    float *x = malloc(n * 4), *dy = malloc(n * 4), *y = malloc(n * 4), *dx = malloc(n * 4);
    double *want = malloc(n * 8);
    fill(x, n, 1, -4.0f, 4.0f);
    fill(dy, n, 2, -1.0f, 1.0f);
    cl_mem bx = upload(rt, 3, x, n), by = upload(rt, 1, NULL, n), bdy = upload(rt, 2, dy, n), bdx = upload(rt, 5, NULL, n);
    cg_tensor tx = cg_view(bx, 3, s.n, s.c, s.h, s.w), ty = cg_view(by, 1, s.n, s.c, s.h, s.w);
    cg_tensor tdy = cg_view(bdy, 2, s.n, s.c, s.h, s.w), tdx = cg_view(bdx, 5, s.n, s.c, s.h, s.w);
    cg_layer *l = make(a);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, ty, y));
    for (size_t i = 0; i < n; i++) want[i] = ref_f(a, x[i]);
    size_t at;
    double r = worst_ratio(y, want, n, 2e-7, 4e-6, &at);
    CHECK(r <= 1, "%s forward [%d,%d,%d,%d]: y[%zu] = %.9g, want %.9g", a->name, s.n, s.c, s.h, s.w, at, y[at],
          want[at]);

    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
    CHECK_OK(cg_tensor_read(rt, tdx, dx));
    double worst_fd = 0;
    for (size_t i = 0; i < n; i++) {
        want[i] = dy[i] * ref_df(a, x[i]);
        if (i < 4096) { // central differences of L = sum(f(x) * dy), one element at a time
            const double h = 1e-6;
            double fd = dy[i] * (ref_f(a, x[i] + h) - ref_f(a, x[i] - h)) / (2 * h);
            double e = fabs(fd - want[i]) / (1e-8 + 1e-6 * fabs(want[i]));
            if (e > worst_fd) worst_fd = e;
        }
    }
    CHECK(worst_fd <= 1, "%s [%d,%d,%d,%d]: analytic gradient disagrees with central differences (ratio %.3g)",
          a->name, s.n, s.c, s.h, s.w, worst_fd);
    r = worst_ratio(dx, want, n, 1e-6, 1e-5, &at);
    CHECK(r <= 1, "%s backward [%d,%d,%d,%d]: dx[%zu] = %.9g, want %.9g", a->name, s.n, s.c, s.h, s.w, at, dx[at],
          want[at]);
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, NULL)); // dx NULL: nothing to do

    cg_layer_free(l);
    cg_buffer_release(bx);
    cg_buffer_release(by);
    cg_buffer_release(bdy);
    cg_buffer_release(bdx);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(want);
}

// x, y, dy and dx as channel slices [c0, c0 + c) of wider tensors; the other channels stay untouched.
static void run_strided(cg_ctx *ctx, const act_def *a) {
    cg_runtime *rt = ctx->rt;
    const int N = 3, C = 2, H = 3, W = 5, CW = 6;
    size_t plane = (size_t)H * W, wide = (size_t)N * CW * plane;
    float *xw = malloc(wide * 4), *dyw = malloc(wide * 4), *yw = malloc(wide * 4), *dxw = malloc(wide * 4);
    fill(xw, wide, 3, -3.0f, 3.0f);
    fill(dyw, wide, 4, -1.0f, 1.0f);
    cl_mem bx = upload(rt, 0, xw, wide), bdy = upload(rt, 0, dyw, wide);
    cl_mem by = upload(rt, 0, NULL, wide), bdx = upload(rt, 0, NULL, wide);
    cg_tensor wx = cg_view(bx, 0, N, CW, H, W), wdy = cg_view(bdy, 0, N, CW, H, W);
    cg_tensor wy = cg_view(by, 0, N, CW, H, W), wdx = cg_view(bdx, 0, N, CW, H, W);
    cg_tensor tx = cg_channels(wx, 1, C), ty = cg_channels(wy, 3, C), tdy = cg_channels(wdy, 4, C),
              tdx = cg_channels(wdx, 2, C);
    cg_layer *l = make(a);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 0));
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
    CHECK_OK(cg_tensor_read(rt, wy, yw));
    CHECK_OK(cg_tensor_read(rt, wdx, dxw));
    int ok_y = 1, ok_dx = 1;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < CW; c++)
            for (size_t p = 0; p < plane; p++) {
                size_t i = ((size_t)n * CW + c) * plane + p;
                if (c >= 3 && c < 3 + C) {
                    double want = ref_f(a, xw[((size_t)n * CW + c - 2) * plane + p]);
                    if (!(fabs(yw[i] - want) <= 2e-7 + 4e-6 * fabs(want))) ok_y = 0;
                } else if (yw[i] != -77.0f) ok_y = 0;
                if (c >= 2 && c < 2 + C) {
                    size_t xi = ((size_t)n * CW + c - 1) * plane + p, gi = ((size_t)n * CW + c + 2) * plane + p;
                    double want = dyw[gi] * ref_df(a, xw[xi]);
                    if (!(fabs(dxw[i] - want) <= 1e-6 + 1e-5 * fabs(want))) ok_dx = 0;
                } else if (dxw[i] != -77.0f) ok_dx = 0;
            }
    CHECK(ok_y, "%s strided forward: slice values or untouched channels wrong", a->name);
    CHECK(ok_dx, "%s strided backward: slice values or untouched channels wrong", a->name);
    cg_layer_free(l);
    cg_buffer_release(bx);
    cg_buffer_release(by);
    cg_buffer_release(bdy);
    cg_buffer_release(bdx);
    free(xw);
    free(dyw);
    free(yw);
    free(dxw);
}

// Saturation, signed zeros, shape errors and the layer description.
static void run_edges(cg_ctx *ctx) {
    cg_runtime *rt = ctx->rt;
    const float x[6] = {-100.0f, -1e-30f, 0.0f, 1e-30f, 100.0f, -3.0f};
    float y[6];
    cl_mem bx = upload(rt, 0, x, 6), by = upload(rt, 0, NULL, 6);
    cg_tensor tx = cg_view(bx, 0, 1, 1, 1, 6), ty = cg_view(by, 0, 1, 1, 1, 6);
    cg_layer *l;
    CHECK_OK(cg_relu_create(&l));
    CHECK(!strcmp(l->kind, "relu") && l->n_params == 0, "relu layer description");
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, ty, y));
    CHECK(y[0] == 0 && !signbit(y[0]) && y[1] == 0 && !signbit(y[1]) && y[3] == 1e-30f && y[4] == 100.0f,
          "relu writes +0 for negatives and passes positives");
    int in[4] = {2, 3, 4, 5}, out[4];
    CHECK_OK(l->ops->out_shape(l, in, out));
    CHECK(out[0] == 2 && out[1] == 3 && out[2] == 4 && out[3] == 5, "activation keeps the shape");
    CHECK_FAILS(l->ops->forward(l, ctx, tx, cg_view(by, 0, 1, 1, 2, 3), 1), CG_ERR_INVALID_ARG, "differs");
    cg_layer_free(l);
    CHECK_OK(cg_sigmoid_create(&l));
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, ty, y));
    CHECK(y[0] >= 0 && y[0] < 1e-30f && y[4] == 1.0f && y[2] == 0.5f, "sigmoid saturates cleanly: %g %g %g", y[0],
          y[4], y[2]);
    cg_layer_free(l);
    CHECK_OK(cg_tanh_create(&l));
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, ty, y));
    CHECK(fabsf(y[0] + 1.0f) <= 1.2e-7f && fabsf(y[4] - 1.0f) <= 1.2e-7f && y[2] == 0.0f, "tanh saturates: %.9g %.9g %g",
          y[0], y[4], y[2]);
    cg_layer_free(l);
    CHECK_FAILS(cg_leaky_relu_create(NAN, &l), CG_ERR_INVALID_ARG, "NaN");
    cg_buffer_release(bx);
    cg_buffer_release(by);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    const char *q = getenv("CLGAN_TEST_QUICK");
    quick = q && *q && strcmp(q, "0");
    cg_ctx ctx = {rt, {0}};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            if ((!quick || !shapes[i].big) && (!shapes[i].only || (shapes[i].only >> a & 1)))
                run_shape(&ctx, &acts[a], shapes[i]);
        run_strided(&ctx, &acts[a]);
    }
    run_edges(&ctx);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("act");
}
