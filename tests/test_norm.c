// test_norm.c — BatchNorm (2d and 1d) and LayerNorm against a double-precision C reference on odd
// and real shapes: training forward, running statistics after two steps (PyTorch's momentum rule
// with the unbiased variance), eval forward from the running statistics, the device backward
// against the host analytic gradient (both modes; parameter gradients accumulate), the host
// gradient of L = sum(y * r) against central differences, strided views, determinism and errors.
// LayerNorm's second-order passes (the gradient penalty): the tangent against a double reference,
// backward2's gx, gxt, dweight and dbias against central differences of <gy, y> + <gyt, yt>, with
// and without gy.
// oclgrind: run
#include "nets.h"
#include "test_util.h"

typedef struct {
    int n, c, h, w;
    int big;    // skipped in quick mode (Oclgrind)
    int affine; // layer norm only
} shape;

static const shape bn_shapes[] = {
    {2, 3, 4, 5, 0, 1},   {1, 5, 3, 3, 0, 1},     {1, 3, 1, 2, 0, 1},     {3, 1, 2, 7, 0, 1},
    {2, 3, 9, 9, 0, 1},   {2, 2, 13, 11, 0, 1},   {2, 3, 8, 8, 0, 1},     {4, 5, 1, 1, 0, 1},
    {7, 3, 1, 1, 0, 1},   {2, 1, 1, 1, 0, 1},     {3, 2, 1, 70, 0, 1},    {64, 128, 16, 16, 1, 1},
    {64, 512, 4, 4, 1, 1}, {128, 512, 1, 1, 1, 1},
};

static const shape ln_shapes[] = {
    {2, 3, 4, 5, 0, 1},  {1, 1, 2, 3, 0, 1},  {3, 5, 1, 1, 0, 1},   {4, 3, 7, 5, 0, 1},    {2, 1, 9, 9, 0, 1},
    {1, 3, 8, 8, 0, 1},  {5, 2, 3, 3, 0, 1},  {3, 4, 5, 6, 0, 0},   {2, 7, 1, 13, 0, 1},   {1, 5, 3, 3, 0, 0},
    {64, 128, 16, 16, 1, 1},
};

static int quick;
static const double EPS = 1e-5, MOMENTUM = 0.1;

// ---- host helpers --------------------------------------------------------------------------------

// Uniform in [lo, hi) from a small LCG (the host Philox is too slow for millions of values).
static void fill(float *v, size_t n, uint32_t seed, float lo, float hi) {
    uint32_t st = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        v[i] = lo + (hi - lo) * (float)((st >> 8) * (1.0 / 16777216.0));
    }
}

static double *to_double(const float *v, size_t n) {
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = v[i];
    return d;
}

// Checks got against want within atol + rtol |want| and reports the worst element.
static void check_close(const char *tag, const char *what, const float *got, const double *want, size_t n, double atol,
                        double rtol) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)got[i] - want[i]) / (atol + rtol * fabs(want[i]));
        if (!(r <= worst)) {
            worst = r;
            at = i;
        }
    }
    CHECK(worst <= 1, "%s %s: [%zu] = %.9g, want %.9g (%.3g of the tolerance)", tag, what, at, n ? got[at] : 0.0,
          n ? want[at] : 0.0, worst);
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

// Central differences of loss() with respect to every element of v (in place, restored), against
// the analytic gradient; at most `limit` elements are probed.
typedef double (*loss_fn)(void *ctx);
static void check_fd(const char *tag, const char *what, loss_fn loss, void *ctx, double *v, const double *grad,
                     size_t n, size_t limit) {
    const double h = 1e-5;
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n && i < limit; i++) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = loss(ctx);
        v[i] = keep - h;
        double lm = loss(ctx);
        v[i] = keep;
        double fd = (lp - lm) / (2 * h);
        double r = fabs(fd - grad[i]) / (1e-6 + 1e-5 * fabs(grad[i]));
        if (r > worst) {
            worst = r;
            at = i;
        }
    }
    CHECK(worst <= 1, "%s %s: analytic gradient [%zu] = %.9g disagrees with central differences (%.3g of tolerance)",
          tag, what, at, n ? grad[at] : 0.0, worst);
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

// Binds every parameter of l into one value buffer and one gradient buffer at odd offsets:
// values from init[i], gradients (trainable only) filled with grad0.
typedef struct {
    cl_mem vals, grads;
} bound;

static bound bind(cg_runtime *rt, cg_layer *l, float *const init[], float grad0) {
    bound b;
    size_t total = 8;
    for (int i = 0; i < l->n_params; i++) total += cg_param_numel(&l->params[i]) + 3;
    float *vals = malloc(total * 4), *grads = malloc(total * 4);
    for (size_t i = 0; i < total; i++) vals[i] = grads[i] = -55.0f;
    CHECK_OK(cg_buffer_alloc(rt, total, &b.vals));
    CHECK_OK(cg_buffer_alloc(rt, total, &b.grads));
    size_t off = 3;
    for (int i = 0; i < l->n_params; i++) {
        cg_param *p = &l->params[i];
        int n = (int)cg_param_numel(p);
        p->w = cg_view(b.vals, off, 1, n, 1, 1);
        memcpy(vals + off, init[i], n * 4);
        if (p->trainable) {
            p->dw = cg_view(b.grads, off + 1, 1, n, 1, 1);
            for (int j = 0; j < n; j++) grads[off + 1 + j] = grad0;
        }
        off += (size_t)n + 3;
    }
    write_image(rt, b.vals, total, 0, vals, total, 0);
    write_image(rt, b.grads, total, 0, grads, total, 0);
    free(vals);
    free(grads);
    return b;
}

static void unbind(bound b) {
    cg_buffer_release(b.vals);
    cg_buffer_release(b.grads);
}

// ---- batch norm reference ------------------------------------------------------------------------

typedef struct {
    int N, C, HW;
    double *x, *g, *b, *r;
} bn_problem;

// Training forward: batch mean and biased variance per channel; y may be NULL.
static void bn_ref_fwd(const bn_problem *p, double *y, double *mean, double *var) {
    size_t m = (size_t)p->N * p->HW;
    for (int c = 0; c < p->C; c++) {
        double s = 0, q = 0;
        for (int n = 0; n < p->N; n++)
            for (int j = 0; j < p->HW; j++) s += p->x[((size_t)n * p->C + c) * p->HW + j];
        double mu = s / m;
        for (int n = 0; n < p->N; n++)
            for (int j = 0; j < p->HW; j++) {
                double d = p->x[((size_t)n * p->C + c) * p->HW + j] - mu;
                q += d * d;
            }
        mean[c] = mu;
        var[c] = q / m;
        if (!y) continue;
        double inv = 1.0 / sqrt(var[c] + EPS);
        for (int n = 0; n < p->N; n++)
            for (int j = 0; j < p->HW; j++) {
                size_t i = ((size_t)n * p->C + c) * p->HW + j;
                y[i] = (p->x[i] - mu) * inv * p->g[c] + p->b[c];
            }
    }
}

static double bn_loss(void *ctx) {
    const bn_problem *p = ctx;
    size_t n = (size_t)p->N * p->C * p->HW;
    double *y = malloc(n * 8), *mean = malloc(p->C * 8), *var = malloc(p->C * 8), l = 0;
    bn_ref_fwd(p, y, mean, var);
    for (size_t i = 0; i < n; i++) l += y[i] * p->r[i];
    free(y);
    free(mean);
    free(var);
    return l;
}

// Training backward of L = sum(y * r) (dy = r): dx, dgamma, dbeta.
static void bn_ref_bwd(const bn_problem *p, double *dx, double *dg, double *db) {
    double *mean = malloc(p->C * 8), *var = malloc(p->C * 8);
    bn_ref_fwd(p, NULL, mean, var);
    double m = (double)p->N * p->HW;
    for (int c = 0; c < p->C; c++) {
        double inv = 1.0 / sqrt(var[c] + EPS), sdy = 0, sdyx = 0;
        for (int n = 0; n < p->N; n++)
            for (int j = 0; j < p->HW; j++) {
                size_t i = ((size_t)n * p->C + c) * p->HW + j;
                sdy += p->r[i];
                sdyx += p->r[i] * (p->x[i] - mean[c]) * inv;
            }
        dg[c] = sdyx;
        db[c] = sdy;
        for (int n = 0; n < p->N; n++)
            for (int j = 0; j < p->HW; j++) {
                size_t i = ((size_t)n * p->C + c) * p->HW + j;
                double xhat = (p->x[i] - mean[c]) * inv;
                dx[i] = p->g[c] * inv * (p->r[i] - sdy / m - xhat * sdyx / m);
            }
    }
    free(mean);
    free(var);
}

// ---- batch norm ---------------------------------------------------------------------------------

static void bn_case(cg_ctx *ctx, shape s) {
    cg_runtime *rt = ctx->rt;
    const int N = s.n, C = s.c, HW = s.h * s.w;
    const size_t n = (size_t)N * C * HW;
    char tag[64];
    snprintf(tag, sizeof tag, "bn [%d,%d,%d,%d]", N, C, s.h, s.w);
    float *x1 = malloc(n * 4), *x2 = malloc(n * 4), *dy = malloc(n * 4), *out = malloc(n * 4);
    float *g = malloc(C * 4), *b = malloc(C * 4), *zeros = calloc(C, 4), *ones = malloc(C * 4), *pc = malloc(C * 4);
    fill(x1, n, 1, 1.0f, 5.0f); // mean ~3: the variance must not come from E[x^2] - E[x]^2
    fill(x2, n, 2, -2.0f, 0.5f);
    fill(dy, n, 3, -1.0f, 1.0f);
    fill(g, C, 4, 0.5f, 1.5f);
    fill(b, C, 5, -0.5f, 0.5f);
    for (int c = 0; c < C; c++) ones[c] = 1.0f;

    cg_layer *l;
    cg_bn_params bp = {C, (float)EPS, (float)MOMENTUM};
    CHECK_OK(cg_batchnorm_create(bp, &l));
    float *init[4] = {g, b, zeros, ones};
    bound bb = bind(rt, l, init, 0.25f);
    cl_mem bx = alloc_filled(rt, n + 9, 0), by = alloc_filled(rt, n + 9, 0);
    cl_mem bdy = alloc_filled(rt, n + 9, 0), bdx = alloc_filled(rt, n + 9, 0);
    cg_tensor tx = cg_view(bx, 5, N, C, s.h, s.w), ty = cg_view(by, 7, N, C, s.h, s.w);
    cg_tensor tdy = cg_view(bdy, 2, N, C, s.h, s.w), tdx = cg_view(bdx, 4, N, C, s.h, s.w);
    write_image(rt, bdy, n + 9, 2, dy, n, 0);

    bn_problem p1 = {N, C, HW, to_double(x1, n), to_double(g, C), to_double(b, C), to_double(dy, n)};
    bn_problem p2 = p1;
    p2.x = to_double(x2, n);
    double *want = malloc(n * 8), *m1 = malloc(C * 8), *v1 = malloc(C * 8), *m2 = malloc(C * 8), *v2 = malloc(C * 8);
    double *rm = malloc(C * 8), *rv = malloc(C * 8), *dg = malloc(C * 8), *db = malloc(C * 8);
    double *dx = malloc(n * 8);

    // Two training steps: y from batch statistics; running statistics by PyTorch's rule.
    write_image(rt, bx, n + 9, 5, x1, n, 0);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, ty, out));
    bn_ref_fwd(&p1, want, m1, v1);
    check_close(tag, "training forward 1", out, want, n, 2e-5 * max_abs(want, n), 1e-5);
    write_image(rt, bx, n + 9, 5, x2, n, 0);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, ty, out));
    bn_ref_fwd(&p2, want, m2, v2);
    check_close(tag, "training forward 2", out, want, n, 2e-5 * max_abs(want, n), 1e-5);
    double m = (double)N * HW;
    for (int c = 0; c < C; c++) {
        rm[c] = (1 - MOMENTUM) * (MOMENTUM * m1[c]) + MOMENTUM * m2[c];
        rv[c] = (1 - MOMENTUM) * ((1 - MOMENTUM) * 1.0 + MOMENTUM * v1[c] * m / (m - 1)) + MOMENTUM * v2[c] * m / (m - 1);
    }
    CHECK_OK(cg_tensor_read(rt, l->params[2].w, pc));
    check_close(tag, "running_mean after two steps", pc, rm, C, 1e-6, 1e-5);
    CHECK_OK(cg_tensor_read(rt, l->params[3].w, pc));
    check_close(tag, "running_var after two steps", pc, rv, C, 1e-6, 1e-5);

    // Training backward after the second step; parameter gradients add to their 0.25 start.
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
    CHECK_OK(cg_tensor_read(rt, tdx, out));
    bn_ref_bwd(&p2, dx, dg, db);
    // dx cancels terms of size |w| * invstd * |dy| (nearly all of them when M = 2): scale by those.
    double term = 0;
    for (int c = 0; c < C; c++) term = fmax(term, fabs(g[c]) / sqrt(v2[c] + EPS));
    check_close(tag, "training dx", out, dx, n, 1e-4 * max_abs(dx, n) + 1e-5 * term, 1e-4);
    if (n <= 600) { // the host analytic gradient against central differences (x, gamma, beta)
        check_fd(tag, "dL/dx", bn_loss, &p2, p2.x, dx, n, n);
        check_fd(tag, "dL/dweight", bn_loss, &p2, p2.g, dg, C, C);
        check_fd(tag, "dL/dbias", bn_loss, &p2, p2.b, db, C, C);
    }
    for (int c = 0; c < C; c++) {
        dg[c] += 0.25;
        db[c] += 0.25;
    }
    CHECK_OK(cg_tensor_read(rt, l->params[0].dw, pc));
    check_close(tag, "training dweight", pc, dg, C, 1e-6 * m + 1e-6, 1e-5);
    CHECK_OK(cg_tensor_read(rt, l->params[1].dw, pc));
    check_close(tag, "training dbias", pc, db, C, 1e-6 * m + 1e-6, 1e-5);

    // Eval: normalise x1 with the running statistics; backward is the affine gradient.
    write_image(rt, bx, n + 9, 5, x1, n, 0);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 0));
    CHECK_OK(cg_tensor_read(rt, ty, out));
    double *sdy = calloc(C, 8), *sdyx = calloc(C, 8);
    for (int k = 0; k < N; k++)
        for (int c = 0; c < C; c++) {
            double inv = 1.0 / sqrt(rv[c] + EPS);
            for (int j = 0; j < HW; j++) {
                size_t i = ((size_t)k * C + c) * HW + j;
                double xhat = (x1[i] - rm[c]) * inv;
                want[i] = xhat * g[c] + b[c];
                dx[i] = dy[i] * g[c] * inv;
                sdy[c] += dy[i];
                sdyx[c] += dy[i] * xhat;
            }
        }
    check_close(tag, "eval forward", out, want, n, 2e-5 * max_abs(want, n), 1e-5);
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
    CHECK_OK(cg_tensor_read(rt, tdx, out));
    check_close(tag, "eval dx", out, dx, n, 1e-5 * max_abs(dx, n), 1e-5);
    for (int c = 0; c < C; c++) {
        dg[c] += sdyx[c];
        db[c] += sdy[c];
    }
    CHECK_OK(cg_tensor_read(rt, l->params[0].dw, pc));
    check_close(tag, "eval dweight (accumulated)", pc, dg, C, 2e-6 * m + 1e-6, 1e-5);
    CHECK_OK(cg_tensor_read(rt, l->params[1].dw, pc));
    check_close(tag, "eval dbias (accumulated)", pc, db, C, 2e-6 * m + 1e-6, 1e-5);

    cg_layer_free(l);
    unbind(bb);
    cg_buffer_release(bx), cg_buffer_release(by), cg_buffer_release(bdy), cg_buffer_release(bdx);
    free(p1.x), free(p1.g), free(p1.b), free(p1.r), free(p2.x);
    free(x1), free(x2), free(dy), free(out), free(g), free(b), free(zeros), free(ones), free(pc);
    free(want), free(m1), free(v1), free(m2), free(v2), free(rm), free(rv), free(dg), free(db), free(dx);
    free(sdy), free(sdyx);
}

// x, y, dy, dx as channel slices of wider tensors: values match, other channels stay untouched;
// the same batch twice gives bit-identical outputs (deterministic reductions).
static void bn_strided(cg_ctx *ctx) {
    cg_runtime *rt = ctx->rt;
    const int N = 3, C = 4, H = 5, W = 3, CW = 9, HW = H * W;
    const size_t wide = (size_t)N * CW * HW, n = (size_t)N * C * HW;
    float *xw = malloc(wide * 4), *dyw = malloc(wide * 4), *yw = malloc(wide * 4), *dxw = malloc(wide * 4);
    float *y1 = malloc(wide * 4), g[4] = {1.0f, 0.5f, 2.0f, -1.0f}, b[4] = {0.0f, 0.1f, -0.2f, 0.3f};
    float zeros[4] = {0}, ones[4] = {1, 1, 1, 1};
    fill(xw, wide, 7, -1.0f, 3.0f);
    fill(dyw, wide, 8, -1.0f, 1.0f);
    cg_layer *l;
    cg_bn_params bp = {C, (float)EPS, (float)MOMENTUM};
    CHECK_OK(cg_batchnorm_create(bp, &l));
    float *init[4] = {g, b, zeros, ones};
    bound bb = bind(rt, l, init, 0.0f);
    cl_mem bx = alloc_filled(rt, wide, 0), bdy = alloc_filled(rt, wide, 0);
    cl_mem by = alloc_filled(rt, wide, -77.0f), bdx = alloc_filled(rt, wide, -77.0f);
    cg_tensor wx = cg_view(bx, 0, N, CW, H, W), wdy = cg_view(bdy, 0, N, CW, H, W);
    cg_tensor wy = cg_view(by, 0, N, CW, H, W), wdx = cg_view(bdx, 0, N, CW, H, W);
    CHECK_OK(cg_tensor_write(rt, wx, xw));
    CHECK_OK(cg_tensor_write(rt, wdy, dyw));
    const int cx = 1, cy = 5, cdy = 2, cdx = 3;
    cg_tensor tx = cg_channels(wx, cx, C), ty = cg_channels(wy, cy, C), tdy = cg_channels(wdy, cdy, C),
              tdx = cg_channels(wdx, cdx, C);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(cg_tensor_read(rt, wy, y1));
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
    CHECK_OK(cg_tensor_read(rt, wy, yw));
    CHECK_OK(cg_tensor_read(rt, wdx, dxw));
    CHECK(memcmp(y1, yw, wide * 4) == 0, "bn: the same batch twice gives bit-identical outputs");

    // Dense copies of the slices for the reference.
    bn_problem p = {N, C, HW, malloc(n * 8), to_double(g, C), to_double(b, C), malloc(n * 8)};
    for (int k = 0; k < N; k++)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < HW; j++) {
                p.x[((size_t)k * C + c) * HW + j] = xw[((size_t)k * CW + cx + c) * HW + j];
                p.r[((size_t)k * C + c) * HW + j] = dyw[((size_t)k * CW + cdy + c) * HW + j];
            }
    double *y = malloc(n * 8), *dx = malloc(n * 8), mean[4], var[4], dg[4], db[4];
    bn_ref_fwd(&p, y, mean, var);
    bn_ref_bwd(&p, dx, dg, db);
    int ok_y = 1, ok_dx = 1;
    for (int k = 0; k < N; k++)
        for (int c = 0; c < CW; c++)
            for (int j = 0; j < HW; j++) {
                size_t i = ((size_t)k * CW + c) * HW + j;
                if (c >= cy && c < cy + C) {
                    double want = y[((size_t)k * C + c - cy) * HW + j];
                    if (!(fabs(yw[i] - want) <= 1e-4)) ok_y = 0;
                } else if (yw[i] != -77.0f) ok_y = 0;
                if (c >= cdx && c < cdx + C) {
                    double want = dx[((size_t)k * C + c - cdx) * HW + j];
                    if (!(fabs(dxw[i] - want) <= 1e-4)) ok_dx = 0;
                } else if (dxw[i] != -77.0f) ok_dx = 0;
            }
    CHECK(ok_y, "bn strided forward: slice values or untouched channels wrong");
    CHECK(ok_dx, "bn strided backward: slice values or untouched channels wrong");
    cg_layer_free(l);
    unbind(bb);
    cg_buffer_release(bx), cg_buffer_release(by), cg_buffer_release(bdy), cg_buffer_release(bdx);
    free(xw), free(dyw), free(yw), free(dxw), free(y1), free(p.x), free(p.g), free(p.b), free(p.r), free(y), free(dx);
}

static void bn_errors(cg_ctx *ctx) {
    cg_runtime *rt = ctx->rt;
    cg_layer *l;
    cg_bn_params bad = {0, 1e-5f, 0.1f};
    CHECK_FAILS(cg_batchnorm_create(bad, &l), CG_ERR_INVALID_ARG, "c >= 1");
    cg_bn_params bp = {3, 1e-5f, 0.1f};
    CHECK_OK(cg_batchnorm_create(bp, &l));
    CHECK(l->n_params == 4 && !strcmp(l->params[0].name, "weight") && !strcmp(l->params[1].name, "bias") &&
              !strcmp(l->params[2].name, "running_mean") && !strcmp(l->params[3].name, "running_var"),
          "bn parameter names");
    CHECK(l->params[0].trainable && l->params[1].trainable && !l->params[2].trainable && !l->params[3].trainable &&
              l->params[0].ndim == 1 && l->params[0].shape[0] == 3,
          "bn parameter shapes and trainable flags");
    int in[4] = {2, 3, 4, 5}, out[4], wrong[4] = {2, 4, 4, 5};
    CHECK_OK(l->ops->out_shape(l, in, out));
    CHECK(out[0] == 2 && out[1] == 3 && out[2] == 4 && out[3] == 5, "bn keeps the shape");
    CHECK_FAILS(l->ops->out_shape(l, wrong, out), CG_ERR_INVALID_ARG, "3 channels");
    cl_mem buf = alloc_filled(rt, 64, 1.0f);
    cg_tensor x = cg_view(buf, 0, 2, 3, 2, 2), y = cg_view(buf, 24, 2, 3, 2, 2);
    CHECK_FAILS(l->ops->forward(l, ctx, x, y, 1), CG_ERR_INVALID_ARG, "not bound");
    float g[3] = {1, 1, 1}, z[3] = {0, 0, 0};
    float *init[4] = {g, z, z, g};
    bound bb = bind(rt, l, init, 0.0f);
    CHECK_FAILS(l->ops->backward(l, ctx, x, y, y, NULL), CG_ERR_INVALID_ARG, "before any forward");
    cg_tensor one = cg_view(buf, 0, 1, 3, 1, 1), one_y = cg_view(buf, 8, 1, 3, 1, 1);
    CHECK_FAILS(l->ops->forward(l, ctx, one, one_y, 1), CG_ERR_INVALID_ARG, "more than one value");
    CHECK_OK(l->ops->forward(l, ctx, one, one_y, 0)); // eval takes a single value per channel
    CHECK_FAILS(l->ops->forward(l, ctx, cg_view(buf, 0, 2, 4, 2, 2), cg_view(buf, 32, 2, 4, 2, 2), 1), CG_ERR_INVALID_ARG,
                "channels");
    cg_layer_free(l);
    unbind(bb);
    cg_buffer_release(buf);
}

// ---- layer norm ---------------------------------------------------------------------------------

typedef struct {
    int N, D, affine;
    double *x, *w, *b, *r;
} ln_problem;

static void ln_ref_fwd(const ln_problem *p, double *y, double *mean, double *inv) {
    for (int s = 0; s < p->N; s++) {
        const double *x = p->x + (size_t)s * p->D;
        double mu = 0, q = 0;
        for (int j = 0; j < p->D; j++) mu += x[j];
        mu /= p->D;
        for (int j = 0; j < p->D; j++) q += (x[j] - mu) * (x[j] - mu);
        mean[s] = mu;
        inv[s] = 1.0 / sqrt(q / p->D + EPS);
        if (y)
            for (int j = 0; j < p->D; j++) {
                double xhat = (x[j] - mu) * inv[s];
                y[(size_t)s * p->D + j] = p->affine ? xhat * p->w[j] + p->b[j] : xhat;
            }
    }
}

static double ln_loss(void *ctx) {
    const ln_problem *p = ctx;
    size_t n = (size_t)p->N * p->D;
    double *y = malloc(n * 8), *mean = malloc(p->N * 8), *inv = malloc(p->N * 8), l = 0;
    ln_ref_fwd(p, y, mean, inv);
    for (size_t i = 0; i < n; i++) l += y[i] * p->r[i];
    free(y);
    free(mean);
    free(inv);
    return l;
}

static void ln_ref_bwd(const ln_problem *p, double *dx, double *dw, double *db) {
    double *mean = malloc(p->N * 8), *inv = malloc(p->N * 8);
    ln_ref_fwd(p, NULL, mean, inv);
    for (int j = 0; j < p->D; j++) dw[j] = db[j] = 0;
    for (int s = 0; s < p->N; s++) {
        size_t base = (size_t)s * p->D;
        double sg = 0, sgx = 0;
        for (int j = 0; j < p->D; j++) {
            double xhat = (p->x[base + j] - mean[s]) * inv[s], g = p->r[base + j] * (p->affine ? p->w[j] : 1.0);
            sg += g;
            sgx += g * xhat;
            dw[j] += p->r[base + j] * xhat;
            db[j] += p->r[base + j];
        }
        for (int j = 0; j < p->D; j++) {
            double xhat = (p->x[base + j] - mean[s]) * inv[s], g = p->r[base + j] * (p->affine ? p->w[j] : 1.0);
            dx[base + j] = inv[s] * (g - sg / p->D - xhat * sgx / p->D);
        }
    }
    free(mean);
    free(inv);
}

static void ln_case(cg_ctx *ctx, shape s, int strided) {
    cg_runtime *rt = ctx->rt;
    const int N = s.n, D = s.c * s.h * s.w, CW = strided ? s.c + 3 : s.c;
    const size_t n = (size_t)N * D, wide = (size_t)N * CW * s.h * s.w, plane = (size_t)s.h * s.w;
    const size_t c0 = strided ? 2 * plane : 0; // the slice starts at channel 2 of the wide tensors
    char tag[64];
    snprintf(tag, sizeof tag, "ln [%d,%d,%d,%d] affine %d strided %d", N, s.c, s.h, s.w, s.affine, strided);
    float *x = malloc(n * 4), *dy = malloc(n * 4), *out = malloc(n * 4), *w = malloc(D * 4), *b = malloc(D * 4);
    float *wide_host = malloc(wide * 4), *pd = malloc(D * 4);
    fill(x, n, 11, -2.0f, 6.0f);
    fill(dy, n, 12, -1.0f, 1.0f);
    fill(w, D, 13, 0.5f, 1.5f);
    fill(b, D, 14, -0.5f, 0.5f);
    cg_layer *l;
    cg_ln_params lp = {s.c, s.h, s.w, (float)EPS, s.affine};
    CHECK_OK(cg_layernorm_create(lp, &l));
    float *init[2] = {w, b};
    bound bb = bind(rt, l, init, 0.5f);
    cl_mem bufs[4];
    cg_tensor t[4]; // x, y, dy, dx: slices of [N, CW, H, W] tensors starting at channel 2 when strided
    const float *host[4] = {x, NULL, dy, NULL};
    for (int k = 0; k < 4; k++) {
        cg_tensor full;
        for (size_t i = 0; i < wide; i++) wide_host[i] = -77.0f;
        if (host[k])
            for (int q = 0; q < N; q++) memcpy(wide_host + q * CW * plane + c0, host[k] + (size_t)q * D, D * 4);
        bufs[k] = alloc_image(rt, wide + 8, 3 + k, wide_host, wide, -77.0f);
        full = cg_view(bufs[k], 3 + k, N, CW, s.h, s.w);
        t[k] = strided ? cg_channels(full, 2, s.c) : full;
    }
    ln_problem p = {N, D, s.affine, to_double(x, n), to_double(w, D), to_double(b, D), to_double(dy, n)};
    double *want = malloc(n * 8), *dx = malloc(n * 8), *dw = malloc(D * 8), *db = malloc(D * 8);
    double *mean = malloc(N * 8), *inv = malloc(N * 8);

    // Reads a (possibly strided) device tensor into a dense host array; checks the rest is untouched.
    int untouched = 1;
#define READ_SLICE(k, dst)                                                                           \
    do {                                                                                             \
        CHECK_OK(cg_tensor_read(rt, cg_view(bufs[k], 3 + k, N, CW, s.h, s.w), wide_host));           \
        for (int q = 0; q < N; q++) {                                                                \
            memcpy((dst) + (size_t)q * D, wide_host + q * CW * plane + c0, D * 4);                   \
            for (size_t e = 0; e < (size_t)CW * plane; e++)                                          \
                if ((e < c0 || e >= c0 + (size_t)D) && wide_host[q * CW * plane + e] != -77.0f)      \
                    untouched = 0;                                                                   \
        }                                                                                            \
    } while (0)

    for (int mode = 1; mode >= 0; mode--) { // training and eval are the same computation
        CHECK_OK(l->ops->forward(l, ctx, t[0], t[1], mode));
        READ_SLICE(1, out);
        ln_ref_fwd(&p, want, mean, inv);
        check_close(tag, mode ? "forward (training)" : "forward (eval)", out, want, n, 2e-5 * max_abs(want, n), 1e-5);
    }
    CHECK_OK(l->ops->backward(l, ctx, t[0], t[1], t[2], &t[3]));
    READ_SLICE(3, out);
    ln_ref_bwd(&p, dx, dw, db);
    double term = 0; // dx cancels terms of size invstd * |w| * |dy|
    for (int q = 0; q < N; q++) term = fmax(term, inv[q] * (s.affine ? 1.5 : 1.0));
    check_close(tag, "dx", out, dx, n, 1e-4 * max_abs(dx, n) + 1e-5 * term, 1e-4);
    CHECK(untouched, "ln [%d,%d,%d,%d]: elements outside the slices changed", N, s.c, s.h, s.w);
    if (s.affine) {
        for (int j = 0; j < D; j++) {
            dw[j] += 0.5;
            db[j] += 0.5;
        }
        CHECK_OK(cg_tensor_read(rt, l->params[0].dw, pd));
        check_close(tag, "dweight (accumulated)", pd, dw, D, 1e-6 * N + 1e-6, 1e-5);
        CHECK_OK(cg_tensor_read(rt, l->params[1].dw, pd));
        check_close(tag, "dbias (accumulated)", pd, db, D, 1e-6 * N + 1e-6, 1e-5);
        for (int j = 0; j < D; j++) {
            dw[j] -= 0.5;
            db[j] -= 0.5;
        }
    }
    if (n <= 600) {
        check_fd(tag, "dL/dx", ln_loss, &p, p.x, dx, n, n);
        if (s.affine) {
            check_fd(tag, "dL/dweight", ln_loss, &p, p.w, dw, D, D);
            check_fd(tag, "dL/dbias", ln_loss, &p, p.b, db, D, D);
        }
    }
    // dx NULL: parameter gradients only (accumulate once more).
    CHECK_OK(l->ops->backward(l, ctx, t[0], t[1], t[2], NULL));
    if (s.affine) {
        CHECK_OK(cg_tensor_read(rt, l->params[1].dw, pd));
        for (int j = 0; j < D; j++) db[j] = 2 * db[j] + 0.5;
        check_close(tag, "dbias after a second backward", pd, db, D, 2e-6 * N + 1e-6, 1e-5);
    }
#undef READ_SLICE
    cg_layer_free(l);
    unbind(bb);
    for (int k = 0; k < 4; k++) cg_buffer_release(bufs[k]);
    free(x), free(dy), free(out), free(w), free(b), free(wide_host), free(pd), free(p.x), free(p.w), free(p.b);
    free(p.r), free(want), free(dx), free(dw), free(db), free(mean), free(inv);
}

// ---- layer norm, second order (the gradient penalty) ------------------------------------------
// A plain double reference of the tangent yt = J(x) xt (analytic, the derivative of the forward
// above), and central differences of L2 = <gy, y> + <gyt, yt> for backward2's gx, gxt, dweight and
// dbias.

typedef struct {
    ln_problem p;   // x, w, b; r unused
    double *xt, *gy, *gyt;
} ln2_problem;

static void ln_ref_tangent(const ln2_problem *q, double *yt) {
    const ln_problem *p = &q->p;
    double *mean = malloc(p->N * 8), *inv = malloc(p->N * 8);
    ln_ref_fwd(p, NULL, mean, inv);
    for (int s = 0; s < p->N; s++) {
        size_t base = (size_t)s * p->D;
        double s1 = 0, s2 = 0;
        for (int j = 0; j < p->D; j++) {
            s1 += q->xt[base + j];
            s2 += (p->x[base + j] - mean[s]) * inv[s] * q->xt[base + j];
        }
        for (int j = 0; j < p->D; j++) {
            double xhat = (p->x[base + j] - mean[s]) * inv[s];
            double u = inv[s] * (q->xt[base + j] - s1 / p->D - xhat * s2 / p->D);
            yt[base + j] = p->affine ? p->w[j] * u : u;
        }
    }
    free(mean);
    free(inv);
}

static double ln2_loss(void *ctx) {
    const ln2_problem *q = ctx;
    size_t n = (size_t)q->p.N * q->p.D;
    double *y = malloc(n * 8), *yt = malloc(n * 8), *mean = malloc(q->p.N * 8), *inv = malloc(q->p.N * 8), l = 0;
    ln_ref_fwd(&q->p, y, mean, inv);
    ln_ref_tangent(q, yt);
    for (size_t i = 0; i < n; i++) l += (q->gy ? q->gy[i] * y[i] : 0.0) + q->gyt[i] * yt[i];
    free(y), free(yt), free(mean), free(inv);
    return l;
}

// Central differences of ln2_loss over all of v into g.
static void ln2_fd(ln2_problem *q, double *v, size_t n, double *g) {
    const double h = 1e-5;
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = ln2_loss(q);
        v[i] = keep - h;
        double lm = ln2_loss(q);
        v[i] = keep;
        g[i] = (lp - lm) / (2 * h);
    }
}

// Oclgrind 21.10 keeps stale shadow memory for a buffer id that is released and handed out again,
// so the second-order cases hold their layers and buffers until the end: no id is reused between
// them (the same shape was flagged or not depending on the case before it).
#define LN2_CASES 32
static cg_layer *kept_layers[LN2_CASES];
static bound kept_bound[LN2_CASES];
static cl_mem kept_bufs[LN2_CASES][8];
static int n_kept;

static void keep_until_exit(cg_layer *l, bound bb, const cl_mem bufs[8]) {
    if (n_kept == LN2_CASES) abort();
    kept_layers[n_kept] = l;
    kept_bound[n_kept] = bb;
    memcpy(kept_bufs[n_kept++], bufs, sizeof kept_bufs[0]);
}

static void release_kept(void) {
    for (int i = 0; i < n_kept; i++) {
        cg_layer_free(kept_layers[i]);
        unbind(kept_bound[i]);
        for (int k = 0; k < 8; k++) cg_buffer_release(kept_bufs[i][k]);
    }
    n_kept = 0;
}

static void ln2_case(cg_ctx *ctx, shape s, int with_gy) {
    cg_runtime *rt = ctx->rt;
    const int N = s.n, D = s.c * s.h * s.w;
    const size_t n = (size_t)N * D;
    char tag[80];
    snprintf(tag, sizeof tag, "ln2 [%d,%d,%d,%d] affine %d gy %d", N, s.c, s.h, s.w, s.affine, with_gy);
    float *h[4], *w = malloc(D * 4), *b = malloc(D * 4), *out = malloc(n * 4), *pd = malloc(D * 4);
    for (int k = 0; k < 4; k++) h[k] = malloc(n * 4); // x, xt, gy, gyt
    fill(h[0], n, 21, -2.0f, 6.0f);
    fill(h[1], n, 22, -1.0f, 1.0f);
    fill(h[2], n, 23, -1.0f, 1.0f);
    fill(h[3], n, 24, -1.0f, 1.0f);
    fill(w, D, 25, 0.5f, 1.5f);
    fill(b, D, 26, -0.5f, 0.5f);
    cg_layer *l;
    CHECK_OK(cg_layernorm_create((cg_ln_params){s.c, s.h, s.w, (float)EPS, s.affine}, &l));
    float *init[2] = {w, b};
    bound bb = bind(rt, l, init, 0.0f);
    cl_mem bufs[8]; // x, xt, gy, gyt, y, yt, gx, gxt: whole buffers written from the host (Oclgrind)
    cg_tensor t[8];
    for (int k = 0; k < 8; k++) {
        bufs[k] = alloc_image(rt, n, 0, k < 4 ? h[k] : NULL, k < 4 ? n : 0, -77.0f);
        t[k] = cg_view(bufs[k], 0, N, s.c, s.h, s.w);
    }
    ln2_problem q = {{N, D, s.affine, to_double(h[0], n), to_double(w, D), to_double(b, D), NULL},
                     to_double(h[1], n), with_gy ? to_double(h[2], n) : NULL, to_double(h[3], n)};
    double *want = malloc(n * 8), *gw = malloc(D * 8), *gb = malloc(D * 8), *gx = malloc(n * 8), *gxt = malloc(n * 8);
    CHECK_OK(l->ops->forward(l, ctx, t[0], t[4], 1));
    CHECK_OK(l->ops->tangent(l, ctx, t[0], t[4], t[1], t[5]));
    CHECK_OK(cg_tensor_read(rt, t[5], out));
    ln_ref_tangent(&q, want);
    check_close(tag, "tangent", out, want, n, 1e-5 * max_abs(want, n), 1e-5);
    int gx_zero = -1;
    CHECK_OK(l->ops->backward2(l, ctx, t[0], t[4], t[1], t[5], with_gy ? &t[2] : NULL, t[3], &t[6], &t[7], &gx_zero));
    CHECK(gx_zero == 0, "%s: gx reported zero", tag);
    ln2_fd(&q, q.p.x, n, gx);
    ln2_fd(&q, q.xt, n, gxt);
    CHECK_OK(cg_tensor_read(rt, t[6], out));
    check_close(tag, "gx (central differences)", out, gx, n, 1e-4 * max_abs(gx, n) + 1e-6, 1e-4);
    CHECK_OK(cg_tensor_read(rt, t[7], out));
    check_close(tag, "gxt (central differences)", out, gxt, n, 1e-4 * max_abs(gxt, n) + 1e-6, 1e-4);
    if (s.affine) {
        ln2_fd(&q, q.p.w, D, gw);
        ln2_fd(&q, q.p.b, D, gb);
        CHECK_OK(cg_tensor_read(rt, l->params[0].dw, pd));
        check_close(tag, "dweight (central differences)", pd, gw, D, 1e-4 * max_abs(gw, D) + 1e-6, 1e-4);
        CHECK_OK(cg_tensor_read(rt, l->params[1].dw, pd));
        check_close(tag, "dbias (central differences)", pd, gb, D, 1e-4 * max_abs(gb, D) + 1e-6, 1e-4);
    }
    keep_until_exit(l, bb, bufs);
    for (int k = 0; k < 4; k++) free(h[k]);
    free(w), free(b), free(out), free(pd), free(q.p.x), free(q.p.w), free(q.p.b), free(q.xt), free(q.gy), free(q.gyt);
    free(want), free(gw), free(gb), free(gx), free(gxt);
}

static void ln_errors(cg_ctx *ctx) {
    cg_layer *l;
    cg_ln_params bad = {3, 0, 4, 1e-5f, 1};
    CHECK_FAILS(cg_layernorm_create(bad, &l), CG_ERR_INVALID_ARG, "c, h, w >= 1");
    cg_ln_params lp = {3, 4, 5, 1e-5f, 1};
    CHECK_OK(cg_layernorm_create(lp, &l));
    CHECK(l->n_params == 2 && !strcmp(l->params[0].name, "weight") && l->params[0].ndim == 3 &&
              l->params[0].shape[0] == 3 && l->params[0].shape[1] == 4 && l->params[0].shape[2] == 5 &&
              l->params[1].trainable,
          "ln parameters [C, H, W]");
    int in[4] = {2, 3, 4, 6}, out[4];
    CHECK_FAILS(l->ops->out_shape(l, in, out), CG_ERR_INVALID_ARG, "[N,3,4,5]");
    cg_layer_free(l);
    lp.affine = 0;
    CHECK_OK(cg_layernorm_create(lp, &l));
    CHECK(l->n_params == 0, "ln without affine has no parameters");
    cl_mem buf = alloc_filled(ctx->rt, 200, 1.0f);
    cg_tensor x = cg_view(buf, 0, 1, 3, 4, 5), y = cg_view(buf, 60, 1, 3, 4, 5);
    CHECK_FAILS(l->ops->backward(l, ctx, x, y, y, &y), CG_ERR_INVALID_ARG, "without a matching forward");
    cg_layer_free(l);
    cg_buffer_release(buf);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    const char *q = getenv("CLGAN_TEST_QUICK");
    quick = q && *q && strcmp(q, "0");
    cg_ctx ctx = {rt, {0}};
    for (size_t i = 0; i < sizeof bn_shapes / sizeof bn_shapes[0]; i++)
        if (!quick || !bn_shapes[i].big) bn_case(&ctx, bn_shapes[i]);
    bn_strided(&ctx);
    bn_errors(&ctx);
    for (size_t i = 0; i < sizeof ln_shapes / sizeof ln_shapes[0]; i++)
        if (!quick || !ln_shapes[i].big) ln_case(&ctx, ln_shapes[i], 0);
    ln_case(&ctx, ln_shapes[0], 1);
    ln_case(&ctx, ln_shapes[7], 1);
    for (int i = 0; i < 10; i++) // the small shapes: central differences cost O(n^2)
        if ((size_t)ln_shapes[i].n * ln_shapes[i].c * ln_shapes[i].h * ln_shapes[i].w <= 300)
            for (int with_gy = 0; with_gy < 2; with_gy++) ln2_case(&ctx, ln_shapes[i], with_gy);
    release_kept();
    ln_errors(&ctx);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("norm");
}
