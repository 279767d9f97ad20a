// test_conv.c — conv2d and conv_transpose2d layers (forward, dx, dW, db) against plain C references
// in double precision written straight from PyTorch's definitions: odd shapes (batch 1,
// non-square, stride 1 and 2, padding 0-3, 1/3/odd channels, 1x7 / 7x1 kernels with (0, 3) /
// (3, 0) padding), the real DCGAN 64x64 and Inception-v3 shapes (full run only), the host
// gradients against central differences, an output written into a wider tensor, the dx == NULL
// path, gradient accumulation, deterministic dx, batches split into chunks, and both work
// decompositions of im2col / col2im (per element for GPUs, per row segment for CPUs).
//
// Tolerances: device values within 1e-5 * B + 1e-6 of the double reference, where B is the sum of
// the magnitudes of the terms of that element (float rounding grows with B, not with the value);
// host gradients within 1e-8 relative of central differences (the loss is linear in each single
// coordinate, so differences are exact up to rounding).
// oclgrind: run
#include "layer_test_util.h"
#include "nets_internal.h"

typedef struct {
    const char *label;
    int transposed;
    int n, cin, cout, h, w, kh, kw, stride, ph, pw, bias;
    int flags; // QUICK, EXTRAS, BIG
} conv_case;

enum {
    QUICK = 1,  // also in the quick (Oclgrind) run, where every GEMM is interpreted
    EXTRAS = 2, // dx == NULL path, accumulation, deterministic dx
    BIG = 4,    // full run only, no central differences (the host loss is too slow)
};

#define RTOL 1e-5
#define ATOL 1e-6

// Output size by PyTorch's formulas (floor for Conv2d; no output_padding for ConvTranspose2d).
static void out_hw(const conv_case *c, int *oh, int *ow) {
    if (c->transposed) {
        *oh = (c->h - 1) * c->stride - 2 * c->ph + c->kh;
        *ow = (c->w - 1) * c->stride - 2 * c->pw + c->kw;
    } else {
        *oh = (c->h + 2 * c->ph - c->kh) / c->stride + 1;
        *ow = (c->w + 2 * c->pw - c->kw) / c->stride + 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Reference. Every (input element, weight element, output element) triple the layer connects is
// visited once; forward sums x*w into y, backward sums dy*w into dx and dy*x into dW. Each result
// also gets its bound: the sum of the magnitudes of its terms.

typedef struct {
    const double *x, *w, *b, *dy;       // inputs; dy NULL skips the backward sums
    double *y, *yb;                     // forward (y NULL skips it)
    double *dx, *dxb, *dw, *dwb, *db, *dbb;
} ref_io;

static inline void visit(ref_io *io, size_t xi, size_t wi, size_t yi) {
    if (io->y) {
        double t = io->x[xi] * io->w[wi];
        io->y[yi] += t, io->yb[yi] += fabs(t);
    }
    if (io->dy) {
        double tx = io->dy[yi] * io->w[wi], tw = io->dy[yi] * io->x[xi];
        io->dx[xi] += tx, io->dxb[xi] += fabs(tx);
        io->dw[wi] += tw, io->dwb[wi] += fabs(tw);
    }
}

static void ref_run(const conv_case *c, ref_io *io) {
    int oh_n, ow_n, H = c->h, W = c->w;
    out_hw(c, &oh_n, &ow_n);
    size_t xs = (size_t)c->n * c->cin * H * W, ys = (size_t)c->n * c->cout * oh_n * ow_n;
    size_t ws = (size_t)c->cin * c->cout * c->kh * c->kw;
    if (io->y) memset(io->y, 0, ys * sizeof(double)), memset(io->yb, 0, ys * sizeof(double));
    if (io->dy) {
        memset(io->dx, 0, xs * sizeof(double)), memset(io->dxb, 0, xs * sizeof(double));
        memset(io->dw, 0, ws * sizeof(double)), memset(io->dwb, 0, ws * sizeof(double));
        memset(io->db, 0, c->cout * sizeof(double)), memset(io->dbb, 0, c->cout * sizeof(double));
    }
    for (int n = 0; n < c->n; n++)
        for (int ci = 0; ci < c->cin; ci++)
            for (int co = 0; co < c->cout; co++)
                for (int ki = 0; ki < c->kh; ki++)
                    for (int kj = 0; kj < c->kw; kj++) {
                        if (!c->transposed) {
                            // Conv2d: y[n, co, oh, ow] += x[n, ci, oh*s - ph + ki, ow*s - pw + kj] * w[co, ci, ki, kj]
                            size_t wi = (((size_t)co * c->cin + ci) * c->kh + ki) * c->kw + kj;
                            for (int oh = 0; oh < oh_n; oh++) {
                                int ih = oh * c->stride - c->ph + ki;
                                if (ih < 0 || ih >= H) continue;
                                for (int ow = 0; ow < ow_n; ow++) {
                                    int iw = ow * c->stride - c->pw + kj;
                                    if (iw < 0 || iw >= W) continue;
                                    visit(io, (((size_t)n * c->cin + ci) * H + ih) * W + iw, wi,
                                          (((size_t)n * c->cout + co) * oh_n + oh) * ow_n + ow);
                                }
                            }
                        } else {
                            // ConvTranspose2d:
                            // y[n, co, ih*s - p + ki, iw*s - p + kj] += x[n, ci, ih, iw] * w[ci, co, ki, kj]
                            size_t wi = (((size_t)ci * c->cout + co) * c->kh + ki) * c->kw + kj;
                            for (int ih = 0; ih < H; ih++) {
                                int oh = ih * c->stride - c->ph + ki;
                                if (oh < 0 || oh >= oh_n) continue;
                                for (int iw = 0; iw < W; iw++) {
                                    int ow = iw * c->stride - c->pw + kj;
                                    if (ow < 0 || ow >= ow_n) continue;
                                    visit(io, (((size_t)n * c->cin + ci) * H + ih) * W + iw, wi,
                                          (((size_t)n * c->cout + co) * oh_n + oh) * ow_n + ow);
                                }
                            }
                        }
                    }
    if (!c->bias) return;
    size_t p_n = (size_t)oh_n * ow_n;
    for (int n = 0; n < c->n; n++)
        for (int co = 0; co < c->cout; co++)
            for (size_t p = 0; p < p_n; p++) {
                size_t yi = ((size_t)n * c->cout + co) * p_n + p;
                if (io->y) io->y[yi] += io->b[co], io->yb[yi] += fabs(io->b[co]);
                if (io->dy) io->db[co] += io->dy[yi], io->dbb[co] += fabs(io->dy[yi]);
            }
}

// L = sum(y * r), the loss whose gradients backward computes when dy = r.
typedef struct {
    const conv_case *c;
    double *x, *w, *b;
    const double *r;
    double *y, *yb;
    size_t ys;
} loss_ctx;

static double loss(void *p) {
    loss_ctx *lc = p;
    ref_io io = {lc->x, lc->w, lc->b, NULL, lc->y, lc->yb, NULL, NULL, NULL, NULL, NULL, NULL};
    ref_run(lc->c, &io);
    double l = 0;
    for (size_t i = 0; i < lc->ys; i++) l += lc->y[i] * lc->r[i];
    return l;
}

// ---------------------------------------------------------------------------------------------
// Device side.

typedef struct {
    int fd;          // check the host gradients by central differences
    int wide_out;    // forward into channels [2, 2 + Cout) of a wider tensor
    int extras;      // dx == NULL path, accumulation, deterministic dx
    size_t chunk_cap; // != 0: force this workspace cap (floats)
    cg_im2col_mode mode; // AUTO: by device type
    float **y_out, **dx_out; // != NULL: receive copies of y and dx (malloc'd)
} case_opts;

static cg_status make_layer(const conv_case *c, cg_layer **l) {
    cg_conv_params p = {c->cin, c->cout, c->kh, c->kw, c->stride, c->ph, c->bias};
    if (c->transposed) return cg_conv_transpose2d_create(p, l);
    if (c->ph == c->pw) return cg_conv2d_create(p, l);
    return cg_conv2d_create2(p, c->ph, c->pw, l);
}

static void run_case(cg_ctx *ctx, const conv_case *c, case_opts o) {
    cg_runtime *rt = ctx->rt;
    char label[160];
    snprintf(label, sizeof label, "%s %s [%d,%d,%d,%d] -> %d k%dx%d s%d p(%d,%d)%s", c->label,
             c->transposed ? "convT" : "conv", c->n, c->cin, c->h, c->w, c->cout, c->kh, c->kw, c->stride, c->ph,
             c->pw, c->bias ? " bias" : "");
    cg_layer *l = NULL;
    CHECK_OK(make_layer(c, &l));
    if (!l) return;
    int oh, ow, in[4] = {c->n, c->cin, c->h, c->w}, out[4] = {0};
    out_hw(c, &oh, &ow);
    CHECK_OK(l->ops->out_shape(l, in, out));
    CHECK(out[0] == c->n && out[1] == c->cout && out[2] == oh && out[3] == ow,
          "%s: out_shape [%d,%d,%d,%d], expected [%d,%d,%d,%d]", label, out[0], out[1], out[2], out[3], c->n,
          c->cout, oh, ow);
    CHECK(l->n_params == (c->bias ? 2 : 1), "%s: %d parameters", label, l->n_params);
    size_t xs = (size_t)c->n * c->cin * c->h * c->w, ys = (size_t)c->n * c->cout * oh * ow;
    size_t wsz = cg_param_numel(&l->params[0]), bsz = (size_t)c->cout;
    uint32_t seed = (uint32_t)(xs * 7 + ys * 13 + wsz);
    float *x = lt_random(xs, seed), *w = lt_random(wsz, seed + 1), *b = lt_random(bsz, seed + 2);
    float *r = lt_random(ys, seed + 3);

    size_t old_cap = 0;
    if (o.chunk_cap) old_cap = cg_set_chunk_cap(o.chunk_cap);
    cg_im2col_mode old_mode = cg_im2col_force(o.mode);
    float *values[2] = {w, b};
    lt_params prm;
    memset(&prm, 0, sizeof prm);
    lt_bind(rt, l, values, &prm);
    const int extra_c = o.wide_out ? 3 : 0; // the output view sits in channels [2, 2 + Cout)
    size_t yw = (size_t)c->n * (c->cout + extra_c) * oh * ow;
    cl_mem dx_buf = lt_buffer(rt, xs, NULL, NAN), x_buf = lt_buffer(rt, xs, x, 0);
    cl_mem y_buf = lt_buffer(rt, yw, NULL, o.wide_out ? 7.0f : NAN), dy_buf = lt_buffer(rt, ys, r, 0);
    cg_tensor tx = cg_view(x_buf, 0, c->n, c->cin, c->h, c->w), tdx = cg_view(dx_buf, 0, c->n, c->cin, c->h, c->w);
    cg_tensor ty = cg_view(y_buf, 0, c->n, c->cout, oh, ow), tdy = cg_view(dy_buf, 0, c->n, c->cout, oh, ow);
    if (o.wide_out) ty = cg_channels(cg_view(y_buf, 0, c->n, c->cout + extra_c, oh, ow), 2, c->cout);

    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 1));
    CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));

    // The reference and its gradients.
    double *xd = lt_to_double(x, xs), *wd = lt_to_double(w, wsz), *bd = lt_to_double(b, bsz);
    double *rd = lt_to_double(r, ys);
    double *ref[8];
    size_t sizes[8] = {ys, ys, xs, xs, wsz, wsz, bsz, bsz};
    for (int i = 0; i < 8; i++) ref[i] = malloc((sizes[i] ? sizes[i] : 1) * sizeof(double));
    ref_io io = {xd, wd, bd, rd, ref[0], ref[1], ref[2], ref[3], ref[4], ref[5], ref[6], ref[7]};
    ref_run(c, &io);

    float *y_all = lt_read(rt, y_buf, yw), *y = malloc(ys * sizeof *y);
    size_t p_n = (size_t)oh * ow;
    int outside_ok = 1;
    for (int n = 0; n < c->n; n++)
        for (int ch = 0; ch < c->cout + extra_c; ch++)
            for (size_t p = 0; p < p_n; p++) {
                float v = y_all[((size_t)n * (c->cout + extra_c) + ch) * p_n + p];
                int inside = o.wide_out ? ch >= 2 && ch < 2 + c->cout : 1, at = o.wide_out ? ch - 2 : ch;
                if (inside) y[((size_t)n * c->cout + at) * p_n + p] = v;
                else if (v != 7.0f) outside_ok = 0;
            }
    CHECK(outside_ok, "%s: forward wrote outside its channels of the wider output", label);
    lt_compare(label, "forward y", y, ref[0], ref[1], ys, RTOL, ATOL);
    float *dx = lt_read(rt, dx_buf, xs), *dw = lt_read(rt, prm.dw[0], wsz);
    lt_compare(label, "dx", dx, ref[2], ref[3], xs, RTOL, ATOL);
    lt_compare(label, "dW", dw, ref[4], ref[5], wsz, RTOL, ATOL);
    float *db = NULL;
    if (c->bias) {
        db = lt_read(rt, prm.dw[1], bsz);
        lt_compare(label, "db", db, ref[6], ref[7], bsz, RTOL, ATOL);
    }

    if (o.fd) {
        double *yscratch = malloc(ys * sizeof(double)), *ybscratch = malloc(ys * sizeof(double));
        loss_ctx lc = {c, xd, wd, bd, rd, yscratch, ybscratch, ys};
        lt_fd_check(label, "dx", xd, xs, ref[2], loss, &lc, 200);
        lt_fd_check(label, "dW", wd, wsz, ref[4], loss, &lc, 200);
        if (c->bias) lt_fd_check(label, "db", bd, bsz, ref[6], loss, &lc, 200);
        free(yscratch);
        free(ybscratch);
    }

    if (o.extras) {
        // A second backward accumulates (dW and db double) and writes the same dx bit for bit.
        lt_set(rt, tdx, NAN);
        CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, &tdx));
        float *dx2 = lt_read(rt, dx_buf, xs), *dw2 = lt_read(rt, prm.dw[0], wsz);
        CHECK(memcmp(dx, dx2, xs * sizeof *dx) == 0, "%s: dx differs between two identical backward passes", label);
        for (int i = 4; i < 8; i++)
            for (size_t j = 0; j < sizes[i]; j++) ref[i][j] *= 2;
        lt_compare(label, "dW after two passes", dw2, ref[4], ref[5], wsz, RTOL, ATOL);
        if (c->bias) {
            float *db2 = lt_read(rt, prm.dw[1], bsz);
            lt_compare(label, "db after two passes", db2, ref[6], ref[7], bsz, RTOL, ATOL);
            free(db2);
        }
        for (int i = 4; i < 8; i++)
            for (size_t j = 0; j < sizes[i]; j++) ref[i][j] /= 2;
        // dx == NULL: the same parameter gradients, dx left alone.
        lt_zero_grads(rt, l);
        lt_set(rt, tdx, 5.0f);
        CHECK_OK(l->ops->backward(l, ctx, tx, ty, tdy, NULL));
        float *dw3 = lt_read(rt, prm.dw[0], wsz), *dx3 = lt_read(rt, dx_buf, xs);
        lt_compare(label, "dW without dx", dw3, ref[4], ref[5], wsz, RTOL, ATOL);
        size_t bad = 0;
        for (size_t i = 0; i < xs; i++) bad += dx3[i] != 5.0f;
        CHECK(bad == 0, "%s: backward with dx == NULL wrote %zu input-gradient elements", label, bad);
        free(dx2), free(dw2), free(dw3), free(dx3);
    }

    if (o.chunk_cap) cg_set_chunk_cap(old_cap);
    cg_im2col_force(old_mode);
    if (o.y_out) *o.y_out = y, y = NULL;
    if (o.dx_out) *o.dx_out = dx, dx = NULL;
    for (int i = 0; i < 8; i++) free(ref[i]);
    free(xd), free(wd), free(bd), free(rd), free(y_all), free(y), free(dx), free(dw), free(db);
    free(x), free(w), free(b), free(r);
    cg_buffer_release(x_buf), cg_buffer_release(dx_buf), cg_buffer_release(y_buf), cg_buffer_release(dy_buf);
    lt_release(l, &prm);
    cg_layer_free(l);
}

// ---------------------------------------------------------------------------------------------

static const conv_case small_cases[] = {
    // label      T  n cin cout h  w kh kw s ph pw bias flags
    {"1x1 image", 0, 1, 1, 1, 5, 5, 3, 3, 1, 0, 0, 1, QUICK | EXTRAS},
    {"odd s2", 0, 2, 3, 4, 7, 6, 3, 3, 2, 1, 1, 1, EXTRAS},
    {"pad2", 0, 3, 5, 3, 9, 11, 3, 3, 1, 2, 2, 1, 0},
    {"dcgan-like", 0, 2, 1, 5, 8, 8, 4, 4, 2, 1, 1, 0, QUICK},
    {"1x1 kernel", 0, 2, 3, 2, 6, 9, 1, 1, 1, 0, 0, 1, 0},
    {"k5 p2", 0, 2, 2, 3, 5, 4, 5, 5, 1, 2, 2, 0, 0},
    {"1x7 p(0,3)", 0, 2, 3, 2, 5, 9, 1, 7, 1, 0, 3, 1, 0},
    {"1x7 p(0,3) small", 0, 1, 1, 2, 3, 7, 1, 7, 1, 0, 3, 1, QUICK},
    {"7x1 p(3,0)", 0, 2, 2, 3, 9, 5, 7, 1, 1, 3, 0, 0, 0},
    {"to 1x1", 0, 1, 6, 1, 4, 4, 4, 4, 1, 0, 0, 0, 0},
    {"s2 p0", 0, 3, 3, 3, 10, 7, 3, 3, 2, 0, 0, 1, 0},
    {"k2 s2 rect", 0, 2, 1, 3, 5, 8, 2, 3, 2, 1, 0, 1, QUICK},
    {"1 pixel", 1, 1, 1, 1, 3, 3, 3, 3, 1, 0, 0, 1, QUICK},
    {"k4 s2 p1", 1, 2, 3, 2, 4, 5, 4, 4, 2, 1, 1, 1, EXTRAS},
    {"k3 s2 p0", 1, 2, 2, 3, 3, 2, 3, 3, 2, 0, 0, 0, 0},
    {"k3 s1 p1", 1, 3, 5, 1, 5, 5, 3, 3, 1, 1, 1, 1, 0},
    {"from 1x1", 1, 2, 4, 3, 1, 1, 4, 4, 1, 0, 0, 0, QUICK},
    {"k5 s2 p2", 1, 2, 3, 3, 6, 4, 5, 5, 2, 2, 2, 1, 0},
    {"k2 s2", 1, 1, 1, 4, 2, 3, 2, 2, 2, 0, 0, 0, QUICK},
    {"k3 s1 p2", 1, 2, 3, 2, 5, 3, 3, 3, 1, 2, 2, 1, 0},
    {"odd ch", 1, 2, 7, 3, 3, 3, 4, 4, 2, 1, 1, 0, 0},
    {"k4 s2 p1 n4", 1, 4, 2, 2, 2, 2, 4, 4, 2, 1, 1, 1, QUICK | EXTRAS},
    {"k4 s3 p1", 1, 2, 2, 3, 3, 4, 4, 3, 3, 1, 1, 1, 0},
};

static const conv_case big_cases[] = {
    // DCGAN 64x64 discriminator (ndf 64) and generator (nz 100, ngf 64); PyTorch's have no bias.
    {"DCGAN D.0", 0, 2, 3, 64, 64, 64, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN D.2", 0, 2, 64, 128, 32, 32, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN D.5", 0, 2, 128, 256, 16, 16, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN D.8", 0, 2, 256, 512, 8, 8, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN D.11", 0, 2, 512, 1, 4, 4, 4, 4, 1, 0, 0, 0, BIG},
    {"DCGAN G.0", 1, 2, 100, 512, 1, 1, 4, 4, 1, 0, 0, 0, BIG},
    {"DCGAN G.3", 1, 2, 512, 256, 4, 4, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN G.6", 1, 2, 256, 128, 8, 8, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN G.9", 1, 2, 128, 64, 16, 16, 4, 4, 2, 1, 1, 0, BIG},
    {"DCGAN G.12", 1, 2, 64, 3, 32, 32, 4, 4, 2, 1, 1, 1, BIG},
    // Inception-v3 (pytorch-fid): Conv2d_1a_3x3, a 1x1 branch of Mixed_5b, the 1x7 / 7x1 pairs of Mixed_6b.
    {"Inception 1a", 0, 1, 3, 32, 299, 299, 3, 3, 2, 0, 0, 0, BIG},
    {"Inception 1x1", 0, 2, 192, 64, 35, 35, 1, 1, 1, 0, 0, 0, BIG},
    {"Inception 1x7", 0, 2, 128, 128, 17, 17, 1, 7, 1, 0, 3, 0, BIG},
    {"Inception 7x1", 0, 1, 128, 192, 17, 17, 7, 1, 1, 3, 0, 0, BIG},
};

static void test_cases(cg_ctx *ctx) {
    int quick = lt_quick();
    for (size_t i = 0; i < sizeof small_cases / sizeof small_cases[0]; i++) {
        const conv_case *c = &small_cases[i];
        if (quick && !(c->flags & QUICK)) continue;
        // Under Oclgrind one case with the extras is enough: they add GEMMs, not kernels.
        int extras = (c->flags & EXTRAS) && (!quick || !c->transposed);
        case_opts o = {.fd = 1, .extras = extras};
        run_case(ctx, c, o);
    }
    if (quick) return;
    for (size_t i = 0; i < sizeof big_cases / sizeof big_cases[0]; i++) {
        case_opts o = {0};
        run_case(ctx, &big_cases[i], o);
    }
}

// Outputs written into channels [2, 2 + Cout) of a wider tensor (Inception's concatenations).
static const conv_case wide_cases[] = {
    {"wide out", 0, 2, 1, 2, 4, 4, 3, 3, 1, 1, 1, 1, 0},
    {"wide out", 1, 1, 2, 1, 2, 2, 4, 4, 2, 1, 1, 1, 0},
};

static void test_wide_outputs(cg_ctx *ctx) {
    case_opts o = {.wide_out = 1};
    for (int i = 0; i < 2; i++) run_case(ctx, &wide_cases[i], o);
}

// A workspace cap of two samples' scratch splits a batch of 5 into chunks of 2, 2 and 1.
static const conv_case chunk_cases[] = {
    {"chunked", 0, 5, 1, 2, 5, 4, 3, 3, 2, 1, 1, 1, 0},
    {"chunked", 1, 5, 2, 1, 2, 2, 4, 4, 2, 1, 1, 1, 0},
};

static void test_chunks(cg_ctx *ctx) {
    for (int i = 0; i < 2; i++) {
        const conv_case *c = &chunk_cases[i];
        cg_layer *l = NULL;
        CHECK_OK(make_layer(c, &l));
        if (!l) continue;
        int one[4] = {1, c->cin, c->h, c->w}, all[4] = {c->n, c->cin, c->h, c->w};
        size_t per = l->ops->workspace(l, one), cap = 2 * per + per / 2;
        size_t old = cg_set_chunk_cap(cap);
        CHECK(l->ops->workspace(l, all) == 2 * per, "%s: workspace %zu for 5 samples under a cap of %zu, expected %zu",
              c->label, l->ops->workspace(l, all), cap, 2 * per);
        cg_set_chunk_cap(old);
        CHECK(l->ops->workspace(l, all) == 5 * per, "chunked: default cap keeps the whole batch in one chunk");
        cg_layer_free(l);
        case_opts o = {.extras = !lt_quick(), .chunk_cap = cap};
        run_case(ctx, c, o);
    }
}

// Both decompositions of im2col / col2im (per element, per row segment) against the reference
// and against each other, bit for bit: same copies, same sums in the same order.
static const conv_case decomposition_cases[] = {
    {"decomposition", 0, 2, 2, 3, 7, 6, 3, 3, 2, 1, 1, 1, 0},
    {"decomposition", 0, 1, 1, 2, 3, 7, 1, 7, 1, 0, 3, 0, 0},
    {"decomposition", 1, 2, 2, 2, 3, 4, 4, 4, 2, 1, 1, 1, 0},
    {"decomposition", 1, 1, 2, 1, 3, 2, 3, 3, 2, 0, 0, 0, 0},
};

static void test_decompositions(cg_ctx *ctx) {
    const conv_case *cases = decomposition_cases;
    for (int i = 0; i < 4; i++) {
        float *y[2] = {NULL, NULL}, *dx[2] = {NULL, NULL};
        for (int m = 0; m < 2; m++) {
            case_opts o = {.mode = m ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS, .y_out = &y[m], .dx_out = &dx[m]};
            run_case(ctx, &cases[i], o);
        }
        const conv_case *c = &cases[i];
        int oh, ow;
        out_hw(c, &oh, &ow);
        size_t ys = (size_t)c->n * c->cout * oh * ow, xs = (size_t)c->n * c->cin * c->h * c->w;
        CHECK(y[0] && y[1] && memcmp(y[0], y[1], ys * sizeof(float)) == 0, "case %d: y differs between decompositions",
              i);
        CHECK(dx[0] && dx[1] && memcmp(dx[0], dx[1], xs * sizeof(float)) == 0,
              "case %d: dx differs between decompositions", i);
        free(y[0]), free(y[1]), free(dx[0]), free(dx[1]);
    }
}

// Scratch stays bounded for Inception's largest columns (batch 50) and DCGAN's (batch 128).
static void test_workspace_bounds(void) {
    cg_layer *l = NULL;
    CHECK_OK(cg_conv2d_create((cg_conv_params){32, 64, 3, 3, 1, 1, 0}, &l));
    if (l) {
        int in[4] = {50, 32, 147, 147};
        size_t need = l->ops->workspace(l, in);
        CHECK(need <= CG_CHUNK_CAP_DEFAULT && need > 0, "Inception 3x3 at 147x147, batch 50: %zu floats", need);
        cg_layer_free(l);
    }
    CHECK_OK(cg_conv_transpose2d_create((cg_conv_params){128, 64, 4, 4, 2, 1, 0}, &l));
    if (l) {
        int in[4] = {128, 128, 16, 16};
        size_t need = l->ops->workspace(l, in);
        CHECK(need <= CG_CHUNK_CAP_DEFAULT && need > 0, "DCGAN G.9, batch 128: %zu floats", need);
        cg_layer_free(l);
    }
}

static void test_errors(void) {
    cg_layer *l = NULL;
    CHECK_FAILS(cg_conv2d_create((cg_conv_params){3, 4, 3, 3, 0, 1, 0}, &l), CG_ERR_INVALID_ARG, "stride 0");
    CHECK(l == NULL, "no layer on failure");
    CHECK_FAILS(cg_conv_transpose2d_create((cg_conv_params){3, 4, 3, 3, 1, -1, 0}, &l), CG_ERR_INVALID_ARG,
                "padding -1");
    CHECK_OK(cg_conv2d_create((cg_conv_params){3, 4, 5, 5, 1, 0, 1}, &l));
    if (l) {
        int out[4], wrong_c[4] = {2, 4, 9, 9}, too_small[4] = {2, 3, 4, 9};
        snprintf(l->name, sizeof l->name, "main.0");
        CHECK_FAILS(l->ops->out_shape(l, wrong_c, out), CG_ERR_INVALID_ARG, "conv2d main.0: input [2, 4, 9, 9] has 4");
        CHECK_FAILS(l->ops->out_shape(l, too_small, out), CG_ERR_INVALID_ARG, "smaller than the 5x5 kernel");
        cg_layer_free(l);
    }
    CHECK_OK(cg_conv_transpose2d_create((cg_conv_params){3, 4, 2, 2, 1, 1, 1}, &l));
    if (l) {
        int out[4], tiny[4] = {1, 3, 1, 1};
        CHECK_FAILS(l->ops->out_shape(l, tiny, out), CG_ERR_INVALID_ARG, "empty 0x0 output");
        cg_layer_free(l);
    }
}

// The workspace every case fits in, reserved once: a workspace that grows mid-run releases a
// buffer that cached kernels still hold as an argument, and Oclgrind then loses track of which
// memory is initialised (it reports the next GEMM's reads of freshly written columns).
static size_t max_workspace(void) {
    const conv_case *lists[5] = {small_cases, big_cases, wide_cases, chunk_cases, decomposition_cases};
    size_t counts[5] = {sizeof small_cases / sizeof small_cases[0], sizeof big_cases / sizeof big_cases[0], 2, 2, 4};
    size_t most = 1;
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            const conv_case *c = &lists[k][i];
            cg_layer *l = NULL;
            if (make_layer(c, &l) != CG_OK) continue;
            int in[4] = {c->n, c->cin, c->h, c->w};
            size_t need = l->ops->workspace(l, in);
            if (need > most) most = need;
            cg_layer_free(l);
        }
    return most;
}

int main(void) {
    cg_ctx ctx = {test_runtime(), {0}};
    CHECK_OK(cg_workspace_reserve(ctx.rt, &ctx.ws, max_workspace()));
    cl_mem ws = ctx.ws.buf;
    test_errors();
    test_workspace_bounds();
    test_cases(&ctx);
    test_wide_outputs(&ctx);
    test_chunks(&ctx);
    test_decompositions(&ctx);
    // The own GEMM kernels for every product, small ones too: the forward's direct path (a strided
    // batch into y, pointwise without im2col, bias in the epilogue) on every case and output view.
    cg_gemm_force(ctx.rt, CG_GEMM_OWN);
    test_cases(&ctx);
    test_wide_outputs(&ctx);
    test_chunks(&ctx);
    cg_gemm_force(ctx.rt, CG_GEMM_AUTO);
    CHECK(ctx.ws.buf == ws, "a layer grew the workspace beyond what its workspace callback asked for");
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(ctx.rt);
    return test_finish("test_conv");
}
