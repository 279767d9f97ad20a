// test_linear.c — the linear layer (forward, dx, dW, db) against a plain C reference in double
// precision: batch 1, odd sizes, inputs flattened from [C, H, W], DCGAN's and Inception's IS
// logits shapes (full run only), the host gradients against central differences, inputs, outputs
// and input gradients as channel slices of wider tensors (sample strides), the dx == NULL path and
// gradient accumulation.
//
// Tolerances: device values within 1e-5 * B + 1e-6 of the double reference, where B is the sum of
// the magnitudes of the terms of that element; host gradients within 1e-8 relative of central
// differences (the loss is linear in each single coordinate).
// oclgrind: run
#include "layer_test_util.h"

typedef struct {
    int n, c, h, w, out, bias;
    int strided; // x, y, dx as channel slices [1, 1 + C) of wider tensors
    int flags;   // QUICK, BIG
} lin_case;

enum {
    QUICK = 1, // also in the quick (Oclgrind) run, where every GEMM is interpreted
    BIG = 2,   // full run only, no central differences
};

#define RTOL 1e-5
#define ATOL 1e-6

// Reference: y = x W^T + b; with dy: dx = dy W, dW = dy^T x, db = sum_n dy. Bounds as in test_conv.c.
typedef struct {
    const lin_case *c;
    const double *x, *w, *b, *dy;
    double *y, *yb, *dx, *dxb, *dw, *dwb, *db, *dbb;
} ref_io;

static void ref_run(ref_io *io) {
    const lin_case *c = io->c;
    size_t in = (size_t)c->c * c->h * c->w, out = (size_t)c->out, n_n = (size_t)c->n;
    if (io->dy) {
        memset(io->dx, 0, n_n * in * sizeof(double)), memset(io->dxb, 0, n_n * in * sizeof(double));
        memset(io->dw, 0, out * in * sizeof(double)), memset(io->dwb, 0, out * in * sizeof(double));
        memset(io->db, 0, out * sizeof(double)), memset(io->dbb, 0, out * sizeof(double));
    }
    for (size_t n = 0; n < n_n; n++)
        for (size_t o = 0; o < out; o++) {
            double acc = c->bias ? io->b[o] : 0, bound = c->bias ? fabs(io->b[o]) : 0;
            double g = io->dy ? io->dy[n * out + o] : 0;
            for (size_t i = 0; i < in; i++) {
                double t = io->x[n * in + i] * io->w[o * in + i];
                acc += t, bound += fabs(t);
                if (!io->dy) continue;
                double tx = g * io->w[o * in + i], tw = g * io->x[n * in + i];
                io->dx[n * in + i] += tx, io->dxb[n * in + i] += fabs(tx);
                io->dw[o * in + i] += tw, io->dwb[o * in + i] += fabs(tw);
            }
            if (io->y) io->y[n * out + o] = acc, io->yb[n * out + o] = bound;
            if (io->dy && c->bias) io->db[o] += g, io->dbb[o] += fabs(g);
        }
}

typedef struct {
    ref_io io;
    const double *r;
} loss_ctx;

static double loss(void *p) { // L = sum(y * r)
    loss_ctx *lc = p;
    ref_io io = lc->io;
    io.dy = NULL;
    ref_run(&io);
    double l = 0;
    for (size_t i = 0; i < (size_t)io.c->n * io.c->out; i++) l += io.y[i] * lc->r[i];
    return l;
}

// Copies sample-major host data [N, per] into / out of channel slice [1, 1 + C) of [N, C + 2, ...].
static void scatter(float *wide, const float *dense, int n, size_t per, size_t wide_per, size_t at) {
    for (int i = 0; i < n; i++) memcpy(wide + i * wide_per + at, dense + i * per, per * sizeof *dense);
}
static void gather(float *dense, const float *wide, int n, size_t per, size_t wide_per, size_t at) {
    for (int i = 0; i < n; i++) memcpy(dense + i * per, wide + i * wide_per + at, per * sizeof *dense);
}

static void run_case(cg_ctx *ctx, const lin_case *c, int fd) {
    cg_runtime *rt = ctx->rt;
    char label[128];
    snprintf(label, sizeof label, "linear [%d,%d,%d,%d] -> %d%s%s", c->n, c->c, c->h, c->w, c->out,
             c->bias ? " bias" : "", c->strided ? " strided" : "");
    int in_f = c->c * c->h * c->w;
    cg_layer *l = NULL;
    CHECK_OK(cg_linear_create((cg_linear_params){in_f, c->out, c->bias}, &l));
    if (!l) return;
    int in[4] = {c->n, c->c, c->h, c->w}, out[4] = {0};
    CHECK_OK(l->ops->out_shape(l, in, out));
    CHECK(out[0] == c->n && out[1] == c->out && out[2] == 1 && out[3] == 1, "%s: out_shape [%d,%d,%d,%d]", label,
          out[0], out[1], out[2], out[3]);
    CHECK(l->ops->workspace(l, in) == 0, "%s: a linear layer needs no scratch", label);
    size_t xs = (size_t)c->n * in_f, ys = (size_t)c->n * c->out, wsz = (size_t)c->out * in_f, bsz = c->out;
    uint32_t seed = (uint32_t)(xs * 5 + ys * 11 + 3);
    float *x = lt_random(xs, seed), *w = lt_random(wsz, seed + 1), *b = lt_random(bsz, seed + 2);
    float *r = lt_random(ys, seed + 3);
    float *values[2] = {w, b};
    lt_params prm;
    memset(&prm, 0, sizeof prm);
    lt_bind(rt, l, values, &prm);

    // Strided views sit in channels [1, 1 + C) of tensors with 2 more channels.
    int extra = c->strided ? 2 : 0, at = c->strided ? 1 : 0;
    size_t hw = (size_t)c->h * c->w, x_per = (size_t)(c->c + extra) * hw, y_per = (size_t)(c->out + extra);
    float *x_wide = malloc(c->n * x_per * sizeof(float));
    for (size_t i = 0; i < c->n * x_per; i++) x_wide[i] = 9.0f;
    scatter(x_wide, x, c->n, (size_t)in_f, x_per, at * hw);
    cl_mem x_buf = lt_buffer(rt, c->n * x_per, x_wide, 0), dx_buf = lt_buffer(rt, c->n * x_per, NULL, 7.0f);
    cl_mem y_buf = lt_buffer(rt, c->n * y_per, NULL, 7.0f), dy_buf = lt_buffer(rt, ys, r, 0);
    cg_tensor tx = cg_view(x_buf, 0, c->n, c->c, c->h, c->w), tdx = cg_view(dx_buf, 0, c->n, c->c, c->h, c->w);
    cg_tensor ty = cg_view(y_buf, 0, c->n, c->out, 1, 1), tdy = cg_view(dy_buf, 0, c->n, c->out, 1, 1);
    if (c->strided) {
        tx = cg_channels(cg_view(x_buf, 0, c->n, c->c + extra, c->h, c->w), at, c->c);
        tdx = cg_channels(cg_view(dx_buf, 0, c->n, c->c + extra, c->h, c->w), at, c->c);
        ty = cg_channels(cg_view(y_buf, 0, c->n, c->out + extra, 1, 1), at, c->out);
    }
    if (!c->strided) lt_set(rt, tdx, NAN); // every element must be overwritten
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));

    double *xd = lt_to_double(x, xs), *wd = lt_to_double(w, wsz), *bd = lt_to_double(b, bsz);
    double *rd = lt_to_double(r, ys);
    double *ref[8];
    size_t sizes[8] = {ys, ys, xs, xs, wsz, wsz, bsz, bsz};
    for (int i = 0; i < 8; i++) ref[i] = malloc((sizes[i] ? sizes[i] : 1) * sizeof(double));
    ref_io io = {c, xd, wd, bd, rd, ref[0], ref[1], ref[2], ref[3], ref[4], ref[5], ref[6], ref[7]};
    ref_run(&io);

    float *y_wide = lt_read(rt, y_buf, c->n * y_per), *dx_wide = lt_read(rt, dx_buf, c->n * x_per);
    float *y = malloc(ys * sizeof *y), *dx = malloc(xs * sizeof *dx);
    gather(y, y_wide, c->n, (size_t)c->out, y_per, at);
    gather(dx, dx_wide, c->n, (size_t)in_f, x_per, at * hw);
    if (c->strided) {
        size_t touched = 0;
        for (int n = 0; n < c->n; n++) {
            for (size_t i = 0; i < y_per; i++) touched += (i < (size_t)at || i >= at + (size_t)c->out) &&
                                                          y_wide[n * y_per + i] != 7.0f;
            for (size_t i = 0; i < x_per; i++) touched += (i < at * hw || i >= at * hw + (size_t)in_f) &&
                                                          dx_wide[n * x_per + i] != 7.0f;
        }
        CHECK(touched == 0, "%s: %zu elements outside the strided views written", label, touched);
    }
    lt_compare(label, "forward y", y, ref[0], ref[1], ys, RTOL, ATOL);
    lt_compare(label, "dx", dx, ref[2], ref[3], xs, RTOL, ATOL);
    float *dw = lt_read(rt, prm.dw[0], wsz), *db = c->bias ? lt_read(rt, prm.dw[1], bsz) : NULL;
    lt_compare(label, "dW", dw, ref[4], ref[5], wsz, RTOL, ATOL);
    if (c->bias) lt_compare(label, "db", db, ref[6], ref[7], bsz, RTOL, ATOL);

    if (fd) {
        double *ysc = malloc(ys * sizeof(double)), *ybsc = malloc(ys * sizeof(double));
        loss_ctx lc = {{c, xd, wd, bd, NULL, ysc, ybsc, NULL, NULL, NULL, NULL, NULL, NULL}, rd};
        lt_fd_check(label, "dx", xd, xs, ref[2], loss, &lc, 200);
        lt_fd_check(label, "dW", wd, wsz, ref[4], loss, &lc, 200);
        if (c->bias) lt_fd_check(label, "db", bd, bsz, ref[6], loss, &lc, 200);
        free(ysc), free(ybsc);

        // A second backward accumulates: dW and db match twice the reference.
        CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
        for (int i = 4; i < 8; i++)
            for (size_t j = 0; j < sizes[i]; j++) ref[i][j] *= 2;
        float *dw2 = lt_read(rt, prm.dw[0], wsz);
        lt_compare(label, "dW after two passes", dw2, ref[4], ref[5], wsz, RTOL, ATOL);
        if (c->bias) {
            float *db2 = lt_read(rt, prm.dw[1], bsz);
            lt_compare(label, "db after two passes", db2, ref[6], ref[7], bsz, RTOL, ATOL);
            free(db2);
        }
        // dx == NULL: parameter gradients only (from zero: the reference once more), dx untouched.
        for (int i = 4; i < 8; i++)
            for (size_t j = 0; j < sizes[i]; j++) ref[i][j] /= 2;
        lt_zero_grads(rt, l);
        lt_set(rt, cg_view(dx_buf, 0, 1, 1, 1, (int)(c->n * x_per)), 5.0f);
        CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, NULL));
        float *dw3 = lt_read(rt, prm.dw[0], wsz), *dx3 = lt_read(rt, dx_buf, c->n * x_per);
        lt_compare(label, "dW without dx", dw3, ref[4], ref[5], wsz, RTOL, ATOL);
        size_t bad = 0;
        for (size_t i = 0; i < c->n * x_per; i++) bad += dx3[i] != 5.0f;
        CHECK(bad == 0, "%s: backward with dx == NULL wrote %zu elements", label, bad);
        free(dw2), free(dw3), free(dx3);
    }

    for (int i = 0; i < 8; i++) free(ref[i]);
    free(xd), free(wd), free(bd), free(rd), free(x_wide), free(y_wide), free(dx_wide), free(y), free(dx);
    free(dw), free(db), free(x), free(w), free(b), free(r);
    cg_buffer_release(x_buf), cg_buffer_release(dx_buf), cg_buffer_release(y_buf), cg_buffer_release(dy_buf);
    lt_release(l, &prm);
    cg_layer_free(l);
}

static const lin_case cases[] = {
    // n  c  h  w  out bias strided flags
    {1, 1, 1, 1, 1, 1, 0, QUICK},
    {3, 7, 1, 1, 5, 1, 0, QUICK},
    {2, 3, 2, 2, 4, 1, 0, QUICK}, // flattens [3, 2, 2]
    {3, 5, 3, 1, 6, 1, 0, QUICK}, // non-square spatial
    {5, 1, 1, 1, 9, 0, 0, QUICK},
    {1, 17, 1, 1, 31, 1, 0, 0},
    {4, 513, 1, 1, 3, 1, 0, 0},
    {33, 2, 1, 1, 2, 1, 0, 0},
    {16, 100, 1, 1, 1, 1, 0, 0},
    {3, 4, 2, 3, 5, 1, 1, QUICK}, // strided input, output and input gradient
    {2, 6, 1, 1, 3, 0, 1, QUICK},
    {64, 512, 4, 4, 1, 1, 0, BIG},    // a DCGAN-sized critic head over 512x4x4 features
    {7, 2048, 1, 1, 1008, 0, 0, BIG}, // Inception's IS logits: 2048 -> 1008, no bias
};

static void test_errors(void) {
    cg_layer *l = NULL;
    CHECK_FAILS(cg_linear_create((cg_linear_params){0, 3, 1}, &l), CG_ERR_INVALID_ARG, "in=0");
    CHECK(l == NULL, "no layer on failure");
    CHECK_OK(cg_linear_create((cg_linear_params){12, 3, 1}, &l));
    if (!l) return;
    CHECK(strcmp(l->params[0].name, "weight") == 0 && l->params[0].ndim == 2 && l->params[0].shape[0] == 3 &&
              l->params[0].shape[1] == 12,
          "weight declared as [out, in]");
    CHECK(strcmp(l->params[1].name, "bias") == 0 && l->params[1].ndim == 1 && l->params[1].shape[0] == 3,
          "bias declared as [out]");
    int out[4], bad[4] = {2, 5, 2, 1};
    snprintf(l->name, sizeof l->name, "fc");
    CHECK_FAILS(l->ops->out_shape(l, bad, out), CG_ERR_INVALID_ARG, "linear fc: input [2, 5, 2, 1] has 10 features");
    cg_layer_free(l);
}

int main(void) {
    cg_ctx ctx = {test_runtime(), {0}};
    test_errors();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (lt_quick() && !(cases[i].flags & QUICK)) continue;
        run_case(&ctx, &cases[i], !(cases[i].flags & BIG));
    }
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(ctx.rt);
    return test_finish("test_linear");
}
