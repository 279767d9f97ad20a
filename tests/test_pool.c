// test_pool.c — max pooling, average pooling (count_include_pad = False), global average pooling
// and flatten against a C reference on odd and real Inception-v3 shapes; outputs written into a
// channel slice of a wider tensor (the rest untouched), strided inputs, NaN and padding
// semantics, and the errors of forward-only layers.
// oclgrind: run
#include "nets.h"
#include "test_util.h"

typedef struct {
    int n, c, h, w, k, s, p;
    int big; // skipped in quick mode (Oclgrind)
} pool_case;

static const pool_case small_cases[] = {
    {1, 1, 5, 5, 3, 1, 0, 0},  {2, 3, 7, 6, 3, 2, 1, 0},  {1, 5, 4, 9, 2, 2, 0, 0}, {3, 3, 8, 8, 3, 1, 1, 0},
    {1, 1, 1, 1, 1, 1, 0, 0},  {2, 5, 10, 7, 5, 3, 2, 0}, {1, 3, 6, 6, 4, 2, 2, 0}, {2, 2, 3, 5, 3, 1, 1, 0},
    {1, 4, 11, 11, 3, 2, 0, 0}, {1, 3, 9, 4, 5, 1, 2, 0}, {2, 1, 2, 2, 2, 1, 1, 0}, {1, 3, 7, 7, 1, 2, 0, 0},
};
// Inception-v3 (pytorch-fid): the stem's max pools, Mixed_7c's max pool, and the branch average pools.
static const pool_case max_real[] = {
    {2, 64, 147, 147, 3, 2, 0, 1}, {2, 192, 71, 71, 3, 2, 0, 1}, {2, 2048, 8, 8, 3, 1, 1, 1}};
static const pool_case avg_real[] = {
    {2, 192, 35, 35, 3, 1, 1, 1}, {2, 768, 17, 17, 3, 1, 1, 1}, {2, 1280, 8, 8, 3, 1, 1, 1}};

static int quick;

static void fill(float *v, size_t n, uint32_t seed, float lo, float hi) {
    uint32_t st = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        v[i] = lo + (hi - lo) * (float)((st >> 8) * (1.0 / 16777216.0));
    }
}

// Writes a whole buffer of `total` floats from offset 0: guard everywhere, host[0, n) at off.
// (Oclgrind 21.10 marks the wrong bytes initialised for writes at a non-zero offset and none for
// clEnqueueFillBuffer, so the tests never use either.)
static void write_image(cg_runtime *rt, cl_mem buf, size_t total, size_t off, const float *host, size_t n,
                        float guard) {
    float *img = malloc(total * sizeof *img);
    for (size_t i = 0; i < total; i++) img[i] = guard;
    if (host) memcpy(img + off, host, n * sizeof *img);
    CHECK_OK(cg_tensor_write(rt, cg_view(buf, 0, 1, 1, 1, (int)total), img));
    free(img);
}

static cl_mem alloc_image(cg_runtime *rt, size_t total, size_t off, const float *host, size_t n, float guard) {
    cl_mem b = NULL;
    CHECK_OK(cg_buffer_alloc(rt, total, &b));
    write_image(rt, b, total, off, host, n, guard);
    return b;
}

static cl_mem alloc_filled(cg_runtime *rt, size_t n, float value) { return alloc_image(rt, n, 0, NULL, 0, value); }

// Reference pooling of dense x [N, C, H, W] into dense y [N, C, OH, OW].
static void ref_pool(int is_max, const float *x, pool_case c, int oh_n, int ow_n, double *y) {
    for (int n = 0; n < c.n; n++)
        for (int ch = 0; ch < c.c; ch++)
            for (int oh = 0; oh < oh_n; oh++)
                for (int ow = 0; ow < ow_n; ow++) {
                    double best = -INFINITY, sum = 0;
                    int count = 0;
                    for (int i = 0; i < c.k; i++)
                        for (int j = 0; j < c.k; j++) {
                            int h = oh * c.s - c.p + i, w = ow * c.s - c.p + j;
                            if (h < 0 || h >= c.h || w < 0 || w >= c.w) continue;
                            double v = x[(((size_t)n * c.c + ch) * c.h + h) * c.w + w];
                            if (v > best || isnan(v)) best = v;
                            sum += v;
                            count++;
                        }
                    y[(((size_t)n * c.c + ch) * oh_n + oh) * ow_n + ow] = is_max ? best : sum / count;
                }
}

// Runs one pool. strided: x is channels [1, 1 + C) of a [N, C + 2, H, W] tensor and y is channels
// [3, 3 + C) of a [N, C + 5, OH, OW] tensor whose other channels must stay untouched.
static void run_pool(cg_ctx *ctx, int is_max, pool_case c, int strided) {
    cg_runtime *rt = ctx->rt;
    cg_layer *l;
    cg_pool_params pp = {c.k, c.s, c.p};
    CHECK_OK(is_max ? cg_maxpool2d_create(pp, &l) : cg_avgpool2d_create(pp, &l));
    int in[4] = {c.n, c.c, c.h, c.w}, out[4];
    CHECK_OK(l->ops->out_shape(l, in, out));
    const int OH = out[2], OW = out[3];
    CHECK(out[0] == c.n && out[1] == c.c && OH == (c.h + 2 * c.p - c.k) / c.s + 1 &&
              OW == (c.w + 2 * c.p - c.k) / c.s + 1,
          "%s out_shape", l->kind);
    const int CXW = strided ? c.c + 2 : c.c, CYW = strided ? c.c + 5 : c.c, cx0 = strided ? 1 : 0,
              cy0 = strided ? 3 : 0;
    const size_t plane = (size_t)c.h * c.w, oplane = (size_t)OH * OW;
    const size_t nx = (size_t)c.n * c.c * plane, ny = (size_t)c.n * c.c * oplane;
    const size_t xwide = (size_t)c.n * CXW * plane, ywide = (size_t)c.n * CYW * oplane;
    float *xw = malloc(xwide * 4), *x = malloc(nx * 4), *yw = malloc(ywide * 4);
    double *want = malloc(ny * 8);
    fill(xw, xwide, (uint32_t)(c.h * 7 + c.w + c.k), -3.0f, 2.0f);
    for (int n = 0; n < c.n; n++)
        memcpy(x + (size_t)n * c.c * plane, xw + ((size_t)n * CXW + cx0) * plane, c.c * plane * 4);
    cl_mem bx = alloc_image(rt, xwide + 4, 4, xw, xwide, 0), by = alloc_filled(rt, ywide + 6, -77.0f);
    cg_tensor wx = cg_view(bx, 4, c.n, CXW, c.h, c.w), wy = cg_view(by, 6, c.n, CYW, OH, OW);
    CHECK_OK(l->ops->forward(l, ctx, cg_channels(wx, cx0, c.c), cg_channels(wy, cy0, c.c), 0));
    CHECK_OK(cg_tensor_read(rt, wy, yw));
    ref_pool(is_max, x, c, OH, OW, want);
    double worst = 0;
    size_t bad_at = 0, touched = 0;
    for (int n = 0; n < c.n; n++)
        for (int ch = 0; ch < CYW; ch++)
            for (size_t e = 0; e < oplane; e++) {
                float got = yw[((size_t)n * CYW + ch) * oplane + e];
                if (ch < cy0 || ch >= cy0 + c.c) {
                    touched += got != -77.0f;
                    continue;
                }
                size_t i = ((size_t)n * c.c + ch - cy0) * oplane + e;
                double r = fabs(got - want[i]) / (is_max ? 1e-30 : 1e-6 + 1e-6 * fabs(want[i]));
                if (!(r <= worst)) {
                    worst = r;
                    bad_at = i;
                }
            }
    CHECK(worst <= 1, "%s [%d,%d,%d,%d] k%d s%d p%d strided %d: y[%zu] wrong (want %.9g; %.3g of the tolerance)",
          l->kind, c.n, c.c, c.h, c.w, c.k, c.s, c.p, strided, bad_at, want[bad_at], worst);
    CHECK(touched == 0, "%s [%d,%d,%d,%d] strided: %zu elements outside the output slice changed", l->kind, c.n, c.c,
          c.h, c.w, touched);
    cg_layer_free(l);
    cg_buffer_release(bx);
    cg_buffer_release(by);
    free(xw), free(x), free(yw), free(want);
}

// The row and element kernels give bit-identical outputs (same operations in the same order).
static void same_both_ways(cg_ctx *ctx, int is_max, pool_case c) {
    cg_layer *l;
    CHECK_OK(is_max ? cg_maxpool2d_create((cg_pool_params){c.k, c.s, c.p}, &l)
                    : cg_avgpool2d_create((cg_pool_params){c.k, c.s, c.p}, &l));
    int in[4] = {c.n, c.c, c.h, c.w}, out[4];
    CHECK_OK(l->ops->out_shape(l, in, out));
    size_t nx = (size_t)c.n * c.c * c.h * c.w, ny = (size_t)out[0] * out[1] * out[2] * out[3];
    float *x = malloc(nx * 4), *y[2] = {malloc(ny * 4), malloc(ny * 4)};
    fill(x, nx, 99, -3.0f, 2.0f);
    cl_mem bx = alloc_image(ctx->rt, nx, 0, x, nx, 0), by = alloc_filled(ctx->rt, ny, 0.0f);
    for (int rows = 0; rows < 2; rows++) {
        setenv("CLGAN_POOL_ROWS", rows ? "1" : "0", 1);
        CHECK_OK(l->ops->forward(l, ctx, cg_view(bx, 0, c.n, c.c, c.h, c.w),
                                 cg_view(by, 0, out[0], out[1], out[2], out[3]), 0));
        CHECK_OK(cg_tensor_read(ctx->rt, cg_view(by, 0, out[0], out[1], out[2], out[3]), y[rows]));
    }
    size_t at = 0;
    while (at < ny && !memcmp(&y[0][at], &y[1][at], 4)) at++;
    CHECK(at == ny, "%s [%d,%d,%d,%d] k%d s%d p%d: row and element kernels differ at %zu: %.9g vs %.9g", l->kind,
          c.n, c.c, c.h, c.w, c.k, c.s, c.p, at, at < ny ? y[0][at] : 0.0, at < ny ? y[1][at] : 0.0);
    cg_layer_free(l);
    cg_buffer_release(bx);
    cg_buffer_release(by);
    free(x), free(y[0]), free(y[1]);
}

// Global average pooling into channels [2, 2 + C) of a [N, C + 5, 1, 1] feature tensor.
static void run_global(cg_ctx *ctx, int N, int C, int H, int W) {
    cg_runtime *rt = ctx->rt;
    cg_layer *l;
    CHECK_OK(cg_global_avgpool_create(&l));
    int in[4] = {N, C, H, W}, out[4];
    CHECK_OK(l->ops->out_shape(l, in, out));
    CHECK(out[0] == N && out[1] == C && out[2] == 1 && out[3] == 1, "global_avgpool out_shape");
    const size_t plane = (size_t)H * W, nx = (size_t)N * C * plane, CW = (size_t)C + 5;
    float *x = malloc(nx * 4), *yw = malloc(N * CW * 4);
    fill(x, nx, (uint32_t)(C + H), -1.0f, 3.0f);
    cl_mem bx = alloc_image(rt, nx + 1, 1, x, nx, 0), by = alloc_filled(rt, N * CW, -77.0f);
    cg_tensor tx = cg_view(bx, 1, N, C, H, W), wy = cg_view(by, 0, N, (int)CW, 1, 1);
    CHECK_OK(l->ops->forward(l, ctx, tx, cg_channels(wy, 2, C), 0));
    CHECK_OK(cg_tensor_read(rt, wy, yw));
    int ok = 1;
    for (int n = 0; n < N; n++)
        for (size_t ch = 0; ch < CW; ch++) {
            float got = yw[n * CW + ch];
            if (ch < 2 || ch >= 2 + (size_t)C) {
                ok &= got == -77.0f;
                continue;
            }
            double s = 0;
            for (size_t e = 0; e < plane; e++) s += x[((size_t)n * C + ch - 2) * plane + e];
            ok &= fabs(got - s / plane) <= 1e-6 + 1e-5 * fabs(s / plane);
        }
    CHECK(ok, "global_avgpool [%d,%d,%d,%d] into a channel slice", N, C, H, W);
    cg_layer_free(l);
    cg_buffer_release(bx);
    cg_buffer_release(by);
    free(x), free(yw);
}

// Flatten: contiguous, strided input, strided output, backward as the reverse copy.
static void run_flatten(cg_ctx *ctx) {
    cg_runtime *rt = ctx->rt;
    const int N = 3, C = 4, H = 2, W = 5, D = C * H * W, CXW = C + 3, DYW = D + 7;
    const size_t wx_n = (size_t)N * CXW * H * W, wy_n = (size_t)N * DYW;
    cg_layer *l;
    CHECK_OK(cg_flatten_create(&l));
    int in[4] = {N, C, H, W}, out[4];
    CHECK_OK(l->ops->out_shape(l, in, out));
    CHECK(out[0] == N && out[1] == D && out[2] == 1 && out[3] == 1, "flatten out_shape");
    float *xw = malloc(wx_n * 4), *yw = malloc(wy_n * 4), *back = malloc(wx_n * 4);
    fill(xw, wx_n, 5, -1.0f, 1.0f);
    cl_mem bx = alloc_filled(rt, wx_n, 0), by = alloc_filled(rt, wy_n, -77.0f), bd = alloc_filled(rt, wx_n, -77.0f);
    cg_tensor wx = cg_view(bx, 0, N, CXW, H, W), wy = cg_view(by, 0, N, DYW, 1, 1);
    CHECK_OK(cg_tensor_write(rt, wx, xw));
    // Strided in (channels 2..5 of 7) and strided out (features 3..3+D of D+7).
    cg_tensor x = cg_channels(wx, 2, C), y = cg_channels(wy, 3, D);
    CHECK_OK(l->ops->forward(l, ctx, x, y, 0));
    CHECK_OK(cg_tensor_read(rt, wy, yw));
    int ok = 1;
    for (int n = 0; n < N; n++)
        for (int f = 0; f < DYW; f++) {
            float want = f >= 3 && f < 3 + D ? xw[((size_t)n * CXW + 2) * H * W + f - 3] : -77.0f;
            ok &= yw[(size_t)n * DYW + f] == want;
        }
    CHECK(ok, "flatten with strided input and output");
    // Backward: dy (the strided y) back into channels 2..5 of a [N, 7, H, W] gradient tensor.
    cg_tensor wd = cg_view(bd, 0, N, CXW, H, W), dx = cg_channels(wd, 2, C);
    CHECK_OK(l->ops->backward(l, ctx, x, y, y, &dx));
    CHECK_OK(cg_tensor_read(rt, wd, back));
    ok = 1;
    for (size_t i = 0; i < wx_n; i++) {
        size_t ch = (i / (H * W)) % CXW;
        ok &= back[i] == (ch >= 2 && ch < 2 + (size_t)C ? xw[i] : -77.0f);
    }
    CHECK(ok, "flatten backward copies dy back into the input layout");
    // Contiguous both ways, and a copy onto itself.
    cg_tensor cx = cg_view(bx, 0, N, C, H, W), cy = cg_view(by, 1, N, D, 1, 1);
    CHECK_OK(l->ops->forward(l, ctx, cx, cy, 0));
    CHECK_OK(cg_tensor_read(rt, cy, yw));
    CHECK(memcmp(yw, xw, (size_t)N * D * 4) == 0, "flatten contiguous");
    CHECK_OK(l->ops->forward(l, ctx, cx, cg_view(bx, 0, N, D, 1, 1), 0));
    CHECK_FAILS(l->ops->forward(l, ctx, cx, cg_view(by, 0, N, D - 1, 1, 1), 0), CG_ERR_INVALID_ARG, "should be");
    cg_layer_free(l);
    cg_buffer_release(bx);
    cg_buffer_release(by);
    cg_buffer_release(bd);
    free(xw), free(yw), free(back);
}

// NaN propagation, padding as -inf, parameter checks and forward-only errors.
static void run_edges(cg_ctx *ctx) {
    cg_runtime *rt = ctx->rt;
    cg_layer *l;
    cg_pool_params pp = {3, 2, 1};
    CHECK_OK(cg_maxpool2d_create(pp, &l));
    float x[16], y[4];
    for (int i = 0; i < 16; i++) x[i] = -5.0f - (float)i;
    cl_mem bx = alloc_filled(rt, 16, 0), by = alloc_filled(rt, 4, 0);
    cg_tensor tx = cg_view(bx, 0, 1, 1, 4, 4), ty = cg_view(by, 0, 1, 1, 2, 2);
    CHECK_OK(cg_tensor_write(rt, tx, x));
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 0));
    CHECK_OK(cg_tensor_read(rt, ty, y));
    CHECK(y[0] == -5.0f && y[1] == -6.0f && y[2] == -9.0f && y[3] == -10.0f,
          "max pool padding never wins (%g %g %g %g)", y[0], y[1], y[2], y[3]);
    x[5] = NAN; // inside the windows of outputs 0, 1, 2 and 3
    CHECK_OK(cg_tensor_write(rt, tx, x));
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 0));
    CHECK_OK(cg_tensor_read(rt, ty, y));
    CHECK(isnan(y[0]) && isnan(y[3]), "max pool propagates NaN");
    CHECK_FAILS(l->ops->backward(l, ctx, tx, ty, ty, NULL), CG_ERR_INVALID_ARG, "forward only");
    CHECK_FAILS(l->ops->forward(l, ctx, tx, cg_view(by, 0, 1, 1, 1, 2), 0), CG_ERR_INVALID_ARG, "should be");
    int small[4] = {1, 1, 1, 0}, out[4];
    CHECK_FAILS(l->ops->out_shape(l, small, out), CG_ERR_INVALID_ARG, "cannot take");
    cg_layer_free(l);
    cg_pool_params nopad = {3, 1, 0};
    CHECK_OK(cg_avgpool2d_create(nopad, &l));
    int tiny[4] = {1, 2, 2, 5};
    CHECK_FAILS(l->ops->out_shape(l, tiny, out), CG_ERR_INVALID_ARG, "smaller than");
    CHECK_FAILS(l->ops->backward(l, ctx, tx, ty, ty, NULL), CG_ERR_INVALID_ARG, "forward only");
    cg_layer_free(l);
    CHECK_OK(cg_global_avgpool_create(&l));
    CHECK_FAILS(l->ops->backward(l, ctx, tx, ty, ty, NULL), CG_ERR_INVALID_ARG, "forward only");
    cg_layer_free(l);
    cg_pool_params badpad = {3, 1, 2}, badk = {0, 1, 0}, bads = {2, 0, 0};
    CHECK_FAILS(cg_maxpool2d_create(badpad, &l), CG_ERR_INVALID_ARG, "pad <= k/2");
    CHECK_FAILS(cg_avgpool2d_create(badk, &l), CG_ERR_INVALID_ARG, "k >= 1");
    CHECK_FAILS(cg_avgpool2d_create(bads, &l), CG_ERR_INVALID_ARG, "stride >= 1");
    cg_buffer_release(bx);
    cg_buffer_release(by);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    const char *q = getenv("CLGAN_TEST_QUICK");
    quick = q && *q && strcmp(q, "0");
    cg_ctx ctx = {rt, {0}};
    // Both kernel shapes: a work-item per output element (GPUs) and per output row (CPUs); under
    // Oclgrind (quick) the row kernels only, the element kernels there through same_both_ways.
    for (int rows = quick; rows < 2; rows++) {
        setenv("CLGAN_POOL_ROWS", rows ? "1" : "0", 1);
        for (int is_max = 1; is_max >= 0; is_max--) {
            for (size_t i = 0; i < sizeof small_cases / sizeof small_cases[0]; i++) {
                run_pool(&ctx, is_max, small_cases[i], 0);
                run_pool(&ctx, is_max, small_cases[i], 1);
            }
            const pool_case *real = is_max ? max_real : avg_real;
            for (size_t i = 0; i < 3 && !quick; i++) run_pool(&ctx, is_max, real[i], i == 0);
        }
    }
    const pool_case last = small_cases[sizeof small_cases / sizeof small_cases[0] - 1];
    for (int is_max = 1; is_max >= 0; is_max--)
        same_both_ways(&ctx, is_max, quick ? last : is_max ? max_real[0] : avg_real[0]);
    unsetenv("CLGAN_POOL_ROWS");
    const int globals[][4] = {{1, 1, 1, 1}, {2, 3, 4, 5}, {1, 5, 7, 1},  {3, 1, 1, 9},   {1, 3, 13, 11},
                              {4, 5, 2, 2}, {2, 7, 3, 3}, {1, 1, 17, 17}, {3, 3, 1, 1}, {2, 2048, 8, 8}};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (!quick || globals[i][1] < 100) run_global(&ctx, globals[i][0], globals[i][1], globals[i][2], globals[i][3]);
    run_flatten(&ctx);
    run_edges(&ctx);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("pool");
}
