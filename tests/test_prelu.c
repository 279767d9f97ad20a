// test_prelu.c — per-channel PReLU (nets/prelu.c): against a C reference (forward, input gradient and
// slope gradient, on a contiguous batch and on a channel slice of a wider tensor), against PyTorch's
// nn.PReLU (tests/reference/upscale_reference.py prelu; skipped as "torch" when missing), and the
// refusals (no channels, an input with the wrong channel count).
// oclgrind: run
#include "parity_util.h"

#include <stdlib.h>

// One PReLU layer as net "main" over [c, h, w], slopes a (host), batch n.
static cg_seq *make(cg_ctx *ctx, int n, int c, int h, int w, const float *a) {
    cg_layer *l = NULL;
    cg_seq *s = NULL;
    CHECK_OK(cg_prelu_create(c, &l));
    if (!l) return NULL;
    CHECK(l->n_params == 1 && !strcmp(l->params[0].name, "weight") && l->params[0].ndim == 1 &&
              l->params[0].shape[0] == c && l->params[0].role == CG_ROLE_WEIGHT,
          "prelu: parameter is not weight [%d]", c);
    const int in[3] = {c, h, w};
    CHECK_OK(cg_seq_create(ctx, "main", &l, NULL, 1, in, &s));
    if (!s) return NULL;
    CHECK_OK(cg_seq_set_batch(ctx, s, n));
    cg_param *p = cg_seq_find(s, "main.0.weight");
    CHECK(p != NULL, "main.0.weight not found");
    if (p && a) CHECK_OK(cg_tensor_write(ctx->rt, p->w, a));
    return s;
}

static void check_close(const char *what, const float *got, const float *want, size_t n, double tol) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
    CHECK(worst <= tol, "%s: max |diff| %.3g (limit %.1g)", what, worst, tol);
}

// The layer against loops over the same random data; then the layer on a channel slice.
static void check_host(cg_ctx *ctx) {
    const int n = 3, c = 4, h = 5, w = 6, hw = h * w;
    const size_t m = (size_t)n * c * hw;
    float a[4] = {0.25f, -0.5f, 0.0f, 1.5f};
    float *x = malloc(m * sizeof *x), *dy = malloc(m * sizeof *dy), *y = malloc(m * sizeof *y);
    float *dx = malloc(m * sizeof *dx), *ry = malloc(m * sizeof *ry), *rdx = malloc(m * sizeof *rdx);
    double rdw[4] = {0};
    srand(5);
    for (size_t i = 0; i < m; i++) {
        x[i] = (float)rand() / RAND_MAX * 2 - 1;
        dy[i] = (float)rand() / RAND_MAX * 2 - 1;
        int ch = (int)(i / hw % c);
        ry[i] = x[i] > 0 ? x[i] : a[ch] * x[i];
        rdx[i] = x[i] > 0 ? dy[i] : a[ch] * dy[i];
        if (x[i] <= 0) rdw[ch] += (double)x[i] * dy[i];
    }
    cg_seq *s = make(ctx, n, c, h, w, a);
    cl_mem dxb = NULL;
    if (!s) goto done;
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(s), x));
    CHECK_OK(cg_seq_forward(ctx, s, 1));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_seq_output(s), y));
    check_close("host y", y, ry, m, 0);
    CHECK_OK(cg_buffer_alloc(ctx->rt, m, &dxb));
    cg_tensor dxt = cg_view(dxb, 0, n, c, h, w);
    CHECK_OK(cg_seq_zero_grad(ctx, s));
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_doutput(s), dy));
    CHECK_OK(cg_seq_backward(ctx, s, &dxt));
    CHECK_OK(cg_tensor_read(ctx->rt, dxt, dx));
    check_close("host dx", dx, rdx, m, 0);
    float dw[4], want[4];
    CHECK_OK(cg_tensor_read(ctx->rt, cg_seq_find(s, "main.0.weight")->dw, dw));
    for (int i = 0; i < 4; i++) want[i] = (float)rdw[i];
    check_close("host dweight", dw, want, 4, 1e-4);

    // Channels 1..2 of a [n, c, h, w] buffer, through a 2-channel layer: only that slice changes.
    cg_layer *l = NULL;
    CHECK_OK(cg_prelu_create(2, &l));
    cl_mem wb = NULL, yb = NULL;
    CHECK_OK(cg_buffer_alloc(ctx->rt, 2, &wb));
    CHECK_OK(cg_buffer_alloc(ctx->rt, m, &yb));
    if (l && wb && yb) {
        l->params[0].w = cg_view(wb, 0, 1, 1, 1, 2);
        CHECK_OK(cg_tensor_write(ctx->rt, l->params[0].w, a + 1));
        cg_tensor xs = cg_channels(cg_view(cg_seq_input(s).buf, 0, n, c, h, w), 1, 2);
        cg_tensor yfull = cg_view(yb, 0, n, c, h, w);
        CHECK_OK(cg_tensor_fill(ctx->rt, yfull, 7.0f));
        CHECK_OK(l->ops->forward(l, ctx, xs, cg_channels(yfull, 1, 2), 0));
        CHECK_OK(cg_tensor_read(ctx->rt, yfull, y));
        int bad = 0;
        for (size_t i = 0; i < m; i++) {
            int ch = (int)(i / hw % c);
            float want1 = ch == 1 || ch == 2 ? ry[i] : 7.0f;
            bad += y[i] != want1;
        }
        CHECK(bad == 0, "prelu on a channel slice: %d elements differ", bad);
    }
    cg_layer_free(l);
    cg_buffer_release(wb);
    cg_buffer_release(yb);
done:
    cg_buffer_release(dxb);
    cg_seq_free(s);
    free(x), free(dy), free(y), free(dx), free(ry), free(rdx);
}

static void check_torch(cg_ctx *ctx, const char *dir) {
    const int n = 2, c = 5, h = 7, w = 9;
    if (parity_run("upscale_reference.py", "prelu", dir, "2", "5", "7", "9", (char *)NULL) != 0) return;
    char path[600];
    cg_st_file *g = NULL;
    cg_seq *s = make(ctx, n, c, h, w, NULL);
    cl_mem dxb = NULL;
    snprintf(path, sizeof path, "%s/prelu_W.safetensors", dir);
    if (s) CHECK_OK(cg_seq_load(ctx, s, path));
    snprintf(path, sizeof path, "%s/prelu.safetensors", dir);
    CHECK_OK(cg_safetensors_open(path, &g));
    if (!s || !g) goto done;
    size_t k;
    const float *x = golden(g, "x", &k, 0), *dy = golden(g, "dy", &k, 0), *want;
    if (!x || !dy) goto done;
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(s), x));
    CHECK_OK(cg_seq_forward(ctx, s, 1));
    if ((want = golden(g, "y", &k, 0))) parity_compare_dev(ctx->rt, "prelu y", cg_seq_output(s), want, k, 1e-6);
    CHECK_OK(cg_buffer_alloc(ctx->rt, (size_t)n * c * h * w, &dxb));
    cg_tensor dxt = cg_view(dxb, 0, n, c, h, w);
    CHECK_OK(cg_seq_zero_grad(ctx, s));
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_doutput(s), dy));
    CHECK_OK(cg_seq_backward(ctx, s, &dxt));
    if ((want = golden(g, "dx", &k, 0))) parity_compare_dev(ctx->rt, "prelu dx", dxt, want, k, 1e-6);
    if ((want = golden(g, "dweight", &k, 0)))
        parity_compare_dev(ctx->rt, "prelu dweight", cg_seq_find(s, "main.0.weight")->dw, want, k, 1e-5);
done:
    cg_buffer_release(dxb);
    cg_safetensors_close(g);
    cg_seq_free(s);
}

static void check_refusals(cg_ctx *ctx) {
    cg_layer *l = NULL;
    CHECK_FAILS(cg_prelu_create(0, &l), CG_ERR_INVALID_ARG, "0 channels");
    CHECK(l == NULL, "a 0-channel prelu was made");
    CHECK_OK(cg_prelu_create(4, &l));
    cg_seq *s = NULL;
    const int in[3] = {3, 2, 2};
    if (l) CHECK_FAILS(cg_seq_create(ctx, "main", &l, NULL, 1, in, &s), CG_ERR_INVALID_ARG, "input has 3 channels");
    CHECK(s == NULL, "a net was made around a prelu of the wrong width");
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    char dir[128];
    if (test_tmpdir(dir, sizeof dir, "prelu") != 0) return 1;
    check_refusals(&ctx);
    check_host(&ctx);
    check_torch(&ctx, dir);
    parity_rmdir(dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_prelu");
}
