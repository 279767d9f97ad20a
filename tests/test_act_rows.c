// test_act_rows.c — LeakyReLU's CPU variants (cl/act.cl act_leaky_fwd_rows / act_leaky_bwd_rows: a
// work-item per chunk of ACT_ROW = 1024 elements of a sample, 8 lanes and a scalar tail) against a
// plain C reference of the same expression, bit for bit, and against the per-element kernels (GPUs)
// forced with cg_im2col_force. Inputs hold NaN, +-inf and signed zeros (ReLU writes +0 for -0 and
// -inf; NaN stays NaN). The shapes reach what test_act does not: a sample below one vector, vector
// tails, more than one chunk with a short last one (1105 = 1024 + 81), an exact multiple of the
// chunk, sample-stride views whose gaps must stay untouched, and the layer run in place (x = y,
// dy = dx). Negative control: a reference that keeps -0 for ReLU must differ somewhere.
// oclgrind: run
#include "layer_test_util.h"
#include "nets_internal.h"

#define SENTINEL 12345.0f

typedef struct {
    int n, c, h, w, gap;
} shape;

static const shape shapes[] = {{3, 1, 1, 5, 2}, {2, 3, 7, 11, 0}, {2, 5, 13, 17, 3}, {2, 2, 32, 32, 1}, {1, 1, 1, 1, 0}};
static const float slopes[] = {0.0f, 0.2f, -1.5f};

// Buffers live until the end: under Oclgrind a buffer released while cached kernels still hold it
// as an argument loses track of which memory is initialised.
static cl_mem kept[256];
static int n_kept;

static float leaky(float v, float slope) { return v > 0.0f ? v : (slope == 0.0f ? 0.0f : slope * v); }

static float *inputs(size_t n, uint32_t seed) {
    float *v = lt_random(n, seed);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(i * 2654435761u + seed) % 29;
        v[i] = r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 ? INFINITY : r == 3 ? 0.0f : r == 4 ? -0.0f : 4.0f * v[i];
    }
    return v;
}

static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) return i;
    return n;
}

// A strided view of N samples of D floats at offset 1, gaps of `gap` floats (SENTINEL) between.
static cg_tensor upload(cg_runtime *rt, shape s, const float *dense, size_t *span) {
    size_t D = (size_t)s.c * s.h * s.w, sn = D + s.gap;
    *span = 1 + (size_t)s.n * sn + s.gap;
    float *wide = malloc(*span * sizeof *wide);
    for (size_t i = 0; i < *span; i++) wide[i] = SENTINEL;
    for (int q = 0; q < s.n; q++) memcpy(wide + 1 + q * sn, dense + q * D, D * sizeof *wide);
    cl_mem b = lt_buffer(rt, *span, wide, 0.0f);
    kept[n_kept++] = b;
    free(wide);
    cg_tensor t = cg_view(b, 1, s.n, s.c, s.h, s.w);
    t.sn = sn;
    return t;
}

// The dense contents of a view; *clean = 0 when a gap changed.
static float *download(cg_runtime *rt, shape s, cg_tensor t, size_t span, int *clean) {
    size_t D = (size_t)s.c * s.h * s.w, sn = D + s.gap;
    float *all = lt_read(rt, t.buf, span), *dense = malloc((size_t)s.n * D * sizeof *dense);
    for (size_t i = 0; i < span; i++) {
        int inside = i >= 1 && i < 1 + (size_t)s.n * sn && (i - 1) % sn < D;
        if (!inside && memcmp(&all[i], &(float){SENTINEL}, sizeof(float))) *clean = 0;
    }
    for (int q = 0; q < s.n; q++) memcpy(dense + q * D, all + 1 + q * sn, D * sizeof *dense);
    free(all);
    return dense;
}

// Forward and backward of one LeakyReLU in one decomposition: y, dx (and in place when inplace).
static void run(cg_ctx *ctx, shape s, float slope, int rows, int inplace, const float *x, const float *dy, float **y,
                float **dx, int *clean) {
    cg_runtime *rt = ctx->rt;
    cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
    cg_layer *l;
    CHECK_OK(slope == 0.0f ? cg_relu_create(&l) : cg_leaky_relu_create(slope, &l));
    size_t span;
    cg_tensor tx = upload(rt, s, x, &span), tdy = upload(rt, s, dy, &span);
    if (inplace) {
        // dx = dy in place needs x intact, so the backward runs first, then the forward y = x.
        CHECK_OK(l->ops->backward(l, ctx, tx, tx, tdy, &tdy));
        *dx = download(rt, s, tdy, span, clean);
        CHECK_OK(l->ops->forward(l, ctx, tx, tx, 1));
        *y = download(rt, s, tx, span, clean);
    } else {
        cg_tensor ty = upload(rt, s, x, &span), tdx = upload(rt, s, x, &span);
        CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
        CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
        *y = download(rt, s, ty, span, clean);
        *dx = download(rt, s, tdx, span, clean);
    }
    cg_layer_free(l);
    cg_im2col_force(CG_IM2COL_AUTO);
}

static int control_differs; // the -0-keeping reference differs from the kernel somewhere

static void run_case(cg_ctx *ctx, shape s, float slope, int inplace, uint32_t seed) {
    size_t n = (size_t)s.n * s.c * s.h * s.w;
    char tag[96];
    snprintf(tag, sizeof tag, "leaky %g [%d,%d,%d,%d] gap %d%s", slope, s.n, s.c, s.h, s.w, s.gap,
             inplace ? " in place" : "");
    float *x = inputs(n, seed), *dy = inputs(n, seed + 1);
    float *want_y = malloc(n * sizeof *want_y), *want_dx = malloc(n * sizeof *want_dx);
    for (size_t i = 0; i < n; i++) {
        want_y[i] = leaky(x[i], slope);
        want_dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope;
        float keep_zero = x[i] > 0.0f ? x[i] : slope * x[i]; // control: -0 * 0 stays -0
        if (memcmp(&keep_zero, &want_y[i], sizeof(float))) control_differs = 1;
    }
    for (int rows = 0; rows < 2; rows++) {
        float *y, *dx;
        int clean = 1;
        run(ctx, s, slope, rows, inplace, x, dy, &y, &dx, &clean);
        size_t iy = first_diff(y, want_y, n), idx = first_diff(dx, want_dx, n);
        CHECK(iy == n, "%s %s: y[%zu] = %.9g, reference %.9g", tag, rows ? "rows" : "elements", iy,
              iy < n ? y[iy] : 0.0, iy < n ? want_y[iy] : 0.0);
        CHECK(idx == n, "%s %s: dx[%zu] = %.9g, reference %.9g", tag, rows ? "rows" : "elements", idx,
              idx < n ? dx[idx] : 0.0, idx < n ? want_dx[idx] : 0.0);
        CHECK(clean, "%s %s: a gap between samples changed", tag, rows ? "rows" : "elements");
        free(y), free(dx);
    }
    free(x), free(dy), free(want_y), free(want_dx);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    uint32_t seed = 1;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t k = 0; k < sizeof slopes / sizeof slopes[0]; k++)
            for (int inplace = 0; inplace < 2; inplace++) run_case(&ctx, shapes[i], slopes[k], inplace, seed += 7);
    CHECK(control_differs, "negative control: a ReLU reference keeping -0 never differed (no -0 inputs?)");
    for (int i = 0; i < n_kept; i++) cg_buffer_release(kept[i]);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("act_rows");
}
