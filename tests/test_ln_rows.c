// test_ln_rows.c — LayerNorm's two kernel decompositions (cl/bn.cl): the per-element kernels (GPUs)
// and the CPU variants (chunks of LN_ROW elements of a sample per work-item and blocks of LN_COLS
// elements summed over the batch, BN_VEC lanes with scalar tails), forced in turn with
// cg_im2col_force. Every pass (forward, backward with parameter gradients accumulated onto
// non-zero values, tangent, and the second-order reverse with and without gy) must give the same
// bits in both, and forward, dx, dweight and dbias must match a plain double reference. The shapes
// reach what test_norm does not: sample sizes below one vector, with vector tails (D % 8 = 1, 7),
// more than one chunk with a short last one (D = 1105 = 2 * 512 + 81), an exact multiple of the
// chunk, and sample-stride views with gaps that must stay untouched.
// oclgrind: run
#include "layer_test_util.h"
#include "nets_internal.h"

#define EPS 1e-5
#define SENTINEL -77.0f

typedef struct {
    int n, c, h, w, affine, gap; // gap: extra floats between samples (a sample-stride view)
} shape;

static const shape shapes[] = {
    {4, 1, 1, 5, 1, 3},   {3, 3, 7, 11, 1, 0}, {3, 3, 7, 11, 0, 2}, {2, 5, 13, 17, 1, 5},
    {2, 16, 8, 8, 1, 0},  {5, 3, 3, 3, 1, 1},  {2, 1, 1, 1, 1, 0},
};

// Under Oclgrind a buffer released while cached kernels still hold it as an argument loses track
// of which memory is initialised: every buffer and layer lives until the end.
static cl_mem kept_bufs[512];
static cg_layer *kept_layers[64];
static lt_params kept_params[64];
static int n_kept_bufs, n_kept_layers;

enum { T_X, T_Y, T_DY, T_DX, T_XT, T_YT, T_GY, T_GYT, T_GX, T_GXT, T_COUNT };

typedef struct {
    float *t[T_COUNT];      // dense host copies of every tensor's view after the passes
    float *dw[2], *db[2];   // after backward; after backward2 (affine)
    int untouched;          // the gaps between samples kept their sentinel
} result;

// Runs every pass in one decomposition; inputs from host (dense [N, D]).
static result run(cg_ctx *ctx, shape s, int rows, float *const host[T_COUNT], float *const params[2]) {
    cg_runtime *rt = ctx->rt;
    const int N = s.n, D = s.c * s.h * s.w;
    const size_t sn = (size_t)D + s.gap, span = 2 + (size_t)N * sn;
    cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
    cg_layer *l;
    CHECK_OK(cg_layernorm_create((cg_ln_params){s.c, s.h, s.w, (float)EPS, s.affine}, &l));
    lt_params lp;
    lt_bind(rt, l, params, &lp);
    for (int i = 0; i < l->n_params; i++) lt_set(rt, l->params[i].dw, 0.25f);
    cl_mem bufs[T_COUNT];
    cg_tensor t[T_COUNT];
    float *wide = malloc(span * sizeof *wide);
    for (int k = 0; k < T_COUNT; k++) {
        for (size_t i = 0; i < span; i++) wide[i] = SENTINEL;
        if (host[k])
            for (int q = 0; q < N; q++) memcpy(wide + 2 + q * sn, host[k] + (size_t)q * D, D * sizeof *wide);
        bufs[k] = lt_buffer(rt, span, wide, 0.0f);
        t[k] = cg_view(bufs[k], 2, N, s.c, s.h, s.w);
        t[k].sn = sn;
    }
    result r = {.untouched = 1};
    CHECK_OK(l->ops->forward(l, ctx, t[T_X], t[T_Y], 1));
    CHECK_OK(l->ops->backward(l, ctx, t[T_X], t[T_Y], t[T_DY], &t[T_DX]));
    for (int i = 0; i < l->n_params; i++) {
        float **dst = i == 0 ? r.dw : r.db;
        dst[0] = lt_read(rt, lp.dw[i], (size_t)D);
        lt_set(rt, l->params[i].dw, 0.25f);
    }
    CHECK_OK(l->ops->tangent(l, ctx, t[T_X], t[T_Y], t[T_XT], t[T_YT]));
    int gx_zero = -1;
    CHECK_OK(l->ops->backward2(l, ctx, t[T_X], t[T_Y], t[T_XT], t[T_YT], &t[T_GY], t[T_GYT], &t[T_GX], &t[T_GXT],
                               &gx_zero));
    CHECK(gx_zero == 0, "backward2 reported gx zero");
    // Once more without gy, gxt only: the accumulating parameter gradients see both calls.
    CHECK_OK(l->ops->backward2(l, ctx, t[T_X], t[T_Y], t[T_XT], t[T_YT], NULL, t[T_GYT], NULL, &t[T_DY], &gx_zero));
    for (int i = 0; i < l->n_params; i++) (i == 0 ? r.dw : r.db)[1] = lt_read(rt, lp.dw[i], (size_t)D);
    for (int k = 0; k < T_COUNT; k++) {
        float *all = lt_read(rt, bufs[k], span);
        r.t[k] = malloc((size_t)N * D * sizeof(float));
        for (int q = 0; q < N; q++) memcpy(r.t[k] + (size_t)q * D, all + 2 + q * sn, D * sizeof(float));
        for (size_t i = 0; i < span; i++) {
            size_t rel = i < 2 ? sn : (i - 2) % sn;
            if ((i < 2 || rel >= (size_t)D || i >= 2 + (size_t)N * sn) && all[i] != SENTINEL) r.untouched = 0;
        }
        free(all);
        kept_bufs[n_kept_bufs++] = bufs[k];
    }
    free(wide);
    kept_layers[n_kept_layers] = l;
    kept_params[n_kept_layers++] = lp;
    cg_im2col_force(CG_IM2COL_AUTO);
    return r;
}

static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) return i;
    return n;
}

static void same_bits(const char *tag, const char *what, const float *rows, const float *elems, size_t n) {
    size_t i = first_diff(rows, elems, n);
    CHECK(i == n, "%s: %s: rows and elements differ at [%zu]: %.9g vs %.9g", tag, what, i, i < n ? rows[i] : 0.0,
          i < n ? elems[i] : 0.0);
}

// Plain double reference of the forward and first-order backward.
static void reference(shape s, float *const host[T_COUNT], float *const params[2], double *y, double *dx,
                      double *dw, double *db) {
    const int N = s.n, D = s.c * s.h * s.w;
    for (int j = 0; j < D; j++) dw[j] = db[j] = 0.25;
    for (int q = 0; q < N; q++) {
        const float *x = host[T_X] + (size_t)q * D, *dy = host[T_DY] + (size_t)q * D;
        double mean = 0, var = 0, sg = 0, sgx = 0;
        for (int j = 0; j < D; j++) mean += x[j];
        mean /= D;
        for (int j = 0; j < D; j++) var += (x[j] - mean) * (x[j] - mean);
        double inv = 1.0 / sqrt(var / D + EPS);
        for (int j = 0; j < D; j++) {
            double xhat = (x[j] - mean) * inv, w = s.affine ? params[0][j] : 1.0, g = dy[j] * w;
            y[(size_t)q * D + j] = s.affine ? xhat * w + params[1][j] : xhat;
            sg += g;
            sgx += g * xhat;
            dw[j] += dy[j] * xhat;
            db[j] += dy[j];
        }
        for (int j = 0; j < D; j++) {
            double xhat = (x[j] - mean) * inv, g = dy[j] * (s.affine ? params[0][j] : 1.0);
            dx[(size_t)q * D + j] = inv * (g - sg / D - xhat * sgx / D);
        }
    }
}

static void near(const char *tag, const char *what, const float *got, const double *want, size_t n, double tol) {
    size_t bad = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])))) bad++;
        if (fabs(got[i] - want[i]) > fabs(got[worst] - want[worst])) worst = i;
    }
    CHECK(bad == 0, "%s: %s: %zu of %zu off the reference; worst [%zu] %.9g vs %.9g", tag, what, bad, n, worst,
          n ? got[worst] : 0.0, n ? want[worst] : 0.0);
}

static void run_case(cg_ctx *ctx, shape s, uint32_t seed) {
    const int N = s.n, D = s.c * s.h * s.w;
    const size_t n = (size_t)N * D;
    char tag[96];
    snprintf(tag, sizeof tag, "ln [%d,%d,%d,%d] affine %d gap %d", N, s.c, s.h, s.w, s.affine, s.gap);
    float *host[T_COUNT] = {0};
    const int inputs[] = {T_X, T_DY, T_XT, T_GY, T_GYT};
    for (int k = 0; k < 5; k++) host[inputs[k]] = lt_random(n, seed + (uint32_t)k);
    for (size_t i = 0; i < n; i++) host[T_X][i] = 3.0f * host[T_X][i] + 1.0f;
    float *params[2] = {lt_random((size_t)D, seed + 7), lt_random((size_t)D, seed + 8)};
    for (int j = 0; j < D; j++) params[0][j] = 1.0f + 0.5f * params[0][j];
    result e = run(ctx, s, 0, host, params), r = run(ctx, s, 1, host, params);
    static const char *const names[T_COUNT] = {"x", "y", "gxt (no gy)", "dx", "xt", "yt", "gy", "gyt", "gx", "gxt"};
    for (int k = 0; k < T_COUNT; k++) same_bits(tag, names[k], r.t[k], e.t[k], n);
    CHECK(r.untouched && e.untouched, "%s: a gap between samples changed (rows %d, elements %d)", tag, !r.untouched,
          !e.untouched);
    double *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx), *dw = malloc(D * sizeof *dw),
           *db = malloc(D * sizeof *db);
    reference(s, host, params, y, dx, dw, db);
    near(tag, "forward", r.t[T_Y], y, n, 1e-5);
    near(tag, "dx", r.t[T_DX], dx, n, 1e-4);
    if (s.affine) {
        near(tag, "dweight", r.dw[0], dw, (size_t)D, 1e-4);
        near(tag, "dbias", r.db[0], db, (size_t)D, 1e-4);
        for (int p = 0; p < 2; p++) {
            same_bits(tag, p ? "dweight after backward2" : "dweight", r.dw[p], e.dw[p], (size_t)D);
            same_bits(tag, p ? "dbias after backward2" : "dbias", r.db[p], e.db[p], (size_t)D);
            free(r.dw[p]), free(r.db[p]), free(e.dw[p]), free(e.db[p]);
        }
    }
    for (int k = 0; k < T_COUNT; k++) free(r.t[k]), free(e.t[k]), free(host[k]);
    free(y), free(dx), free(dw), free(db), free(params[0]), free(params[1]);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) run_case(&ctx, shapes[i], 100 + 10 * (uint32_t)i);
    for (int i = 0; i < n_kept_layers; i++) {
        lt_release(kept_layers[i], &kept_params[i]);
        cg_layer_free(kept_layers[i]);
    }
    for (int i = 0; i < n_kept_bufs; i++) cg_buffer_release(kept_bufs[i]);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("ln_rows");
}
