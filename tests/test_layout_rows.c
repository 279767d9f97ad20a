// test_layout_rows.c — the data-movement kernels behind convolution (cl/im2col.cl: im2col,
// col2im, nchw_to_wide, wide_to_nchw) and the max / average pools (cl/pool.cl), in both work
// decompositions (a work-item per element for GPUs; the CPU *_rows kernels with their vector
// interiors and scalar borders), against plain C references, bit for bit: copies and max pooling
// exactly, col2im and average pooling summed in the reference's order (kernel rows, then kernel
// columns; window rows, then columns). The shapes put every border case in front of the vector
// paths: widths below, at and just above the vector width (3 .. 33), odd widths, strides 1, 2 and
// 3, padding 0, 1 and 2, 1x1 / 1xk / kx1 / 4x4 windows, a chunk of samples that starts at sample
// 1 of a sample-stride view, views that end exactly at their buffer's end (Oclgrind sees any read
// past it), NaN, -inf and signed zeros for the max pool. Negative controls: the col2im and average
// pool references summed in the reverse order must differ from the kernels somewhere (the
// comparison sees summation order), and a max pool reference without the NaN rule must differ.
// oclgrind: run
#include "nets.h"
#include "nets_internal.h"
#include "test_util.h"

static int quick;

static float *random_floats(size_t n, uint32_t seed, int specials) {
    float *v = malloc((n ? n : 1) * sizeof *v);
    uint32_t st = seed * 2654435761u + 7u;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        v[i] = (float)((st >> 8) * (1.0 / 16777216.0)) * 4.0f - 2.0f;
        if (specials) {
            uint32_t r = (st >> 3) % 53;
            v[i] = r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 ? 0.0f : r == 3 ? -0.0f : v[i];
        }
    }
    return v;
}

// Buffers of CAP floats, allocated once: under Oclgrind a buffer released while cached kernels
// still hold it as an argument loses track of which memory is initialised. Each case writes a
// whole buffer from offset 0 (Oclgrind 21.10 marks partial writes wrongly), its data at the END,
// so a read past a view's last element leaves the buffer.
#define CAP ((size_t)1 << 18)
enum { B_A, B_B, B_C, B_COUNT };
static cl_mem bufs[B_COUNT];

// Writes host[0, n) to the last n floats of buffer `which` (-5 before) and returns their offset.
static size_t upload(cg_runtime *rt, int which, const float *host, size_t n) {
    if (n > CAP) {
        fprintf(stderr, "test_layout_rows: a case needs %zu floats, more than CAP\n", n);
        exit(1);
    }
    if (!bufs[which]) CHECK_OK(cg_buffer_alloc(rt, CAP, &bufs[which]));
    float *all = malloc(CAP * sizeof *all);
    for (size_t i = 0; i < CAP - n; i++) all[i] = -5.0f;
    memcpy(all + CAP - n, host, n * sizeof *host);
    CHECK_OK(cg_tensor_write(rt, cg_view(bufs[which], 0, 1, 1, 1, (int)CAP), all));
    free(all);
    return CAP - n;
}

static float *download(cg_runtime *rt, int which, size_t n) {
    float *h = malloc(n * sizeof *h);
    CHECK_OK(cg_tensor_read(rt, cg_view(bufs[which], CAP - n, 1, 1, 1, (int)n), h));
    return h;
}

// Index of the first element whose bits differ, or n.
static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) return i;
    return n;
}

static const char *mode_name(int rows) { return rows ? "rows" : "elements"; }

typedef struct {
    int c, h, w, kh, kw, s, p;
} geom_case;

// Samples [n0, n0 + nb) of a view of NT samples with sample stride sn (>= C*H*W) at offset off.
typedef struct {
    int nt, n0, nb;
    size_t off, sn;
} batch;

static size_t view_floats(batch b, size_t per) { return b.off + (size_t)(b.nt - 1) * b.sn + per; }

// im2col (cols from the image) and col2im (image from the columns, with and without bias), each
// against its reference.
static int geom_ok(geom_case g) { return g.h + 2 * g.p >= g.kh && g.w + 2 * g.p >= g.kw; }

static void run_im2col(cg_ctx *ctx, geom_case gc, batch bt, int rows, int *order_seen) {
    cg_runtime *rt = ctx->rt;
    int OH = (gc.h + 2 * gc.p - gc.kh) / gc.s + 1, OW = (gc.w + 2 * gc.p - gc.kw) / gc.s + 1;
    cg_im2col_geom g = {gc.c, gc.h, gc.w, gc.kh, gc.kw, gc.s, gc.s, gc.p, gc.p, OH, OW};
    size_t per = (size_t)gc.c * gc.h * gc.w, P = (size_t)OH * OW, R = cg_geom_rows(&g), Q = (size_t)bt.nb * P;
    size_t nimg = view_floats(bt, per), ncols = 3 + R * Q; // the columns at offset 3, up to the end
    cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
    char what[160];
    snprintf(what, sizeof what, "[%d,%d,%d] k%dx%d s%d p%d n0 %d nb %d sn %zu (%s)", gc.c, gc.h, gc.w, gc.kh, gc.kw,
             gc.s, gc.p, bt.n0, bt.nb, bt.sn, mode_name(rows));

    // im2col
    float *img = random_floats(nimg, (uint32_t)(gc.h * 131 + gc.w * 7 + gc.kw + gc.s), 0);
    float *want = malloc(ncols * sizeof *want);
    want[0] = want[1] = want[2] = -5.0f;
    for (size_t r = 0; r < R; r++) {
        int kj = (int)(r % (size_t)gc.kw), ki = (int)(r / (size_t)gc.kw % (size_t)gc.kh), c = (int)(r / (size_t)(gc.kw * gc.kh));
        for (int n = 0; n < bt.nb; n++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    int ih = oh * gc.s - gc.p + ki, iw = ow * gc.s - gc.p + kj;
                    float v = 0.0f;
                    if (ih >= 0 && ih < gc.h && iw >= 0 && iw < gc.w)
                        v = img[bt.off + (size_t)(bt.n0 + n) * bt.sn + ((size_t)c * gc.h + ih) * gc.w + iw];
                    want[3 + r * Q + (size_t)n * P + (size_t)oh * OW + ow] = v;
                }
    }
    float *fill = malloc(ncols * sizeof *fill);
    for (size_t i = 0; i < ncols; i++) fill[i] = -5.0f;
    size_t ib = upload(rt, B_A, img, nimg), cb = upload(rt, B_B, fill, ncols);
    cg_tensor timg = {bufs[B_A], ib + bt.off, bt.nt, gc.c, gc.h, gc.w, bt.sn};
    CHECK_OK(cg_im2col(ctx, &g, timg, bt.n0, bt.nb, bufs[B_B], cb + 3));
    float *got = download(rt, B_B, ncols);
    size_t d = first_diff(got, want, ncols);
    CHECK(d == ncols, "im2col %s: column entry %zu is %.9g, want %.9g", what, d, d < ncols ? got[d] : 0.0,
          d < ncols ? want[d] : 0.0);
    free(got);

    // col2im, into the same view (other samples and the gaps between samples untouched), with and
    // without bias; the reference sums kernel rows, then kernel columns, ascending.
    float *cols = random_floats(ncols, (uint32_t)(gc.h * 17 + gc.w + gc.kh * 5 + gc.p), 0);
    float *bias = random_floats((size_t)gc.c + 1, 99u, 0);
    cb = upload(rt, B_B, cols, ncols);
    cg_tensor tbias = cg_view(bufs[B_C], upload(rt, B_C, bias, (size_t)gc.c + 1) + 1, 1, gc.c, 1, 1);
    for (int has_bias = 0; has_bias < 2; has_bias++) {
        float *wantimg = malloc(nimg * sizeof *wantimg), *reverse = malloc(nimg * sizeof *reverse);
        memcpy(wantimg, img, nimg * sizeof *img);
        memcpy(reverse, img, nimg * sizeof *img);
        for (int n = 0; n < bt.nb; n++)
            for (int c = 0; c < gc.c; c++)
                for (int h = 0; h < gc.h; h++)
                    for (int w = 0; w < gc.w; w++) {
                        float acc = has_bias ? bias[1 + c] : 0.0f, rev = acc;
                        for (int pass = 0; pass < 2; pass++)
                            for (int t = 0; t < gc.kh * gc.kw; t++) {
                                int u = pass ? gc.kh * gc.kw - 1 - t : t, ki = u / gc.kw, kj = u % gc.kw;
                                int a = h + gc.p - ki, b = w + gc.p - kj;
                                if (a < 0 || b < 0 || a % gc.s || b % gc.s || a / gc.s >= OH || b / gc.s >= OW) continue;
                                size_t r = ((size_t)c * gc.kh + ki) * gc.kw + kj;
                                float v = cols[3 + r * Q + (size_t)n * P + (size_t)(a / gc.s) * OW + b / gc.s];
                                if (pass) rev += v;
                                else acc += v;
                            }
                        size_t at = bt.off + (size_t)(bt.n0 + n) * bt.sn + ((size_t)c * gc.h + h) * gc.w + w;
                        wantimg[at] = acc;
                        reverse[at] = rev;
                    }
        upload(rt, B_A, img, nimg);
        CHECK_OK(cg_col2im(ctx, &g, bufs[B_B], cb + 3, timg, bt.n0, bt.nb, has_bias ? &tbias : NULL));
        got = download(rt, B_A, nimg);
        d = first_diff(got, wantimg, nimg);
        CHECK(d == nimg, "col2im %s bias %d: image float %zu is %.9g, want %.9g", what, has_bias, d,
              d < nimg ? got[d] : 0.0, d < nimg ? wantimg[d] : 0.0);
        if (first_diff(got, reverse, nimg) < nimg) *order_seen = 1;
        free(got);
        free(wantimg);
        free(reverse);
    }
    cg_im2col_force(CG_IM2COL_AUTO);
    free(img), free(want), free(fill), free(cols), free(bias);
}

// nchw_to_wide and wide_to_nchw (with and without bias) for one P; the host picks the kernel by
// device type and P, so rows forces the CPU choice through the im2col mode.
static void run_wide(cg_ctx *ctx, int C, int h, int w, batch bt, int rows) {
    cg_runtime *rt = ctx->rt;
    size_t P = (size_t)h * w, per = (size_t)C * P, nsrc = view_floats(bt, per), nwide = 2 + (size_t)C * bt.nb * P;
    cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
    char what[120];
    snprintf(what, sizeof what, "[%d,%d,%d] n0 %d nb %d sn %zu (%s)", C, h, w, bt.n0, bt.nb, bt.sn, mode_name(rows));
    float *src = random_floats(nsrc, (uint32_t)(P * 3 + C), 0), *want = malloc(nwide * sizeof *want);
    float *fill = malloc(nwide * sizeof *fill);
    for (size_t i = 0; i < nwide; i++) fill[i] = want[i] = -5.0f;
    for (int c = 0; c < C; c++)
        for (int n = 0; n < bt.nb; n++)
            for (size_t p = 0; p < P; p++)
                want[2 + ((size_t)c * bt.nb + n) * P + p] = src[bt.off + (size_t)(bt.n0 + n) * bt.sn + c * P + p];
    size_t sb = upload(rt, B_A, src, nsrc), wb = upload(rt, B_B, fill, nwide);
    cg_tensor t = {bufs[B_A], sb + bt.off, bt.nt, C, h, w, bt.sn};
    CHECK_OK(cg_nchw_to_wide(ctx, t, bt.n0, bt.nb, bufs[B_B], wb + 2));
    float *got = download(rt, B_B, nwide);
    size_t d = first_diff(got, want, nwide);
    CHECK(d == nwide, "nchw_to_wide %s: float %zu is %.9g, want %.9g", what, d, d < nwide ? got[d] : 0.0,
          d < nwide ? want[d] : 0.0);
    free(got);

    float *wide = random_floats(nwide, (uint32_t)(P + 5), 0), *bias = random_floats((size_t)C + 2, 7u, 0);
    cg_tensor tbias = cg_view(bufs[B_C], upload(rt, B_C, bias, (size_t)C + 2) + 2, 1, C, 1, 1);
    wb = upload(rt, B_B, wide, nwide);
    for (int has_bias = 0; has_bias < 2; has_bias++) {
        float *wantimg = malloc(nsrc * sizeof *wantimg);
        memcpy(wantimg, src, nsrc * sizeof *src);
        for (int n = 0; n < bt.nb; n++)
            for (int c = 0; c < C; c++)
                for (size_t p = 0; p < P; p++) {
                    float v = wide[2 + ((size_t)c * bt.nb + n) * P + p];
                    if (has_bias) v += bias[2 + c];
                    wantimg[bt.off + (size_t)(bt.n0 + n) * bt.sn + c * P + p] = v;
                }
        upload(rt, B_A, src, nsrc);
        CHECK_OK(cg_wide_to_nchw(ctx, bufs[B_B], wb + 2, t, bt.n0, bt.nb, has_bias ? &tbias : NULL));
        got = download(rt, B_A, nsrc);
        d = first_diff(got, wantimg, nsrc);
        CHECK(d == nsrc, "wide_to_nchw %s bias %d: float %zu is %.9g, want %.9g", what, has_bias, d,
              d < nsrc ? got[d] : 0.0, d < nsrc ? wantimg[d] : 0.0);
        free(got);
        free(wantimg);
    }
    cg_im2col_force(CG_IM2COL_AUTO);
    free(src), free(want), free(fill), free(wide), free(bias);
}

// One max or average pool of x [N, C, H, W] (channels [1, 1 + C) of a [N, C + 1, H, W] view that
// ends at its buffer's end) into y [N, C, OH, OW]; rows picks the kernel (CLGAN_POOL_ROWS).
static void run_pool(cg_ctx *ctx, int is_max, int ceil_mode, int N, int C, int H, int W, int k, int s, int p, int rows,
                     int *order_seen, int *nan_seen) {
    cg_runtime *rt = ctx->rt;
    setenv("CLGAN_POOL_ROWS", rows ? "1" : "0", 1);
    cg_layer *l;
    cg_pool_params pp = {k, s, p};
    CHECK_OK(is_max ? (ceil_mode ? cg_maxpool2d_ceil_create(pp, &l) : cg_maxpool2d_create(pp, &l))
                    : cg_avgpool2d_create(pp, &l));
    int in[4] = {N, C, H, W}, out[4];
    CHECK_OK(l->ops->out_shape(l, in, out));
    int OH = out[2], OW = out[3];
    size_t plane = (size_t)H * W, oplane = (size_t)OH * OW, nx = (size_t)N * (C + 1) * plane, ny = (size_t)N * C * oplane;
    float *x = random_floats(nx, (uint32_t)(H * 31 + W + k * 3 + s), is_max);
    float *want = malloc(ny * sizeof *want), *other = malloc(ny * sizeof *other);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    int h0 = oh * s - p, w0 = ow * s - p, h1 = h0 + k < H ? h0 + k : H, w1 = w0 + k < W ? w0 + k : W;
                    h0 = h0 > 0 ? h0 : 0;
                    w0 = w0 > 0 ? w0 : 0;
                    const float *xp = x + ((size_t)n * (C + 1) + 1 + c) * plane;
                    float m = -INFINITY, plain = -INFINITY, sum = 0.0f, rev = 0.0f;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++) {
                            float v = xp[(size_t)h * W + w];
                            if (v > m || isnan(v)) m = v;
                            if (v > plain) plain = v;
                            sum += v;
                        }
                    for (int h = h1 - 1; h >= h0; h--)
                        for (int w = w1 - 1; w >= w0; w--) rev += xp[(size_t)h * W + w];
                    float count = (float)((h1 - h0) * (w1 - w0));
                    size_t at = (((size_t)n * C + c) * OH + oh) * OW + ow;
                    want[at] = is_max ? m : sum / count;
                    other[at] = is_max ? plain : rev / count;
                }
    float *fill = malloc(ny * sizeof *fill);
    for (size_t i = 0; i < ny; i++) fill[i] = -5.0f;
    size_t xb = upload(rt, B_A, x, nx), yb = upload(rt, B_B, fill, ny);
    cg_tensor tx = cg_channels(cg_view(bufs[B_A], xb, N, C + 1, H, W), 1, C), ty = cg_view(bufs[B_B], yb, N, C, OH, OW);
    CHECK_OK(l->ops->forward(l, ctx, tx, ty, 0));
    float *got = download(rt, B_B, ny);
    size_t d = first_diff(got, want, ny);
    CHECK(d == ny, "%s%s [%d,%d,%d,%d] k%d s%d p%d (%s): y[%zu] is %.9g, want %.9g", l->kind, ceil_mode ? " ceil" : "",
          N, C, H, W, k, s, p, mode_name(rows), d, d < ny ? got[d] : 0.0, d < ny ? want[d] : 0.0);
    if (first_diff(got, other, ny) < ny) *(is_max ? nan_seen : order_seen) = 1;
    cg_layer_free(l);
    free(x), free(want), free(other), free(fill), free(got);
    unsetenv("CLGAN_POOL_ROWS");
}

int main(void) {
    cg_runtime *rt = test_runtime();
    const char *q = getenv("CLGAN_TEST_QUICK");
    quick = q && *q && strcmp(q, "0");
    cg_ctx ctx = {rt, {0}};
    int col2im_order = 0, pool_order = 0, pool_nan = 0;

    // Convolution geometries: widths around the vector widths (4, 8) and the stride-2 load (16).
    const int widths[] = {3, 5, 8, 9, 15, 16, 17, 23, 33};
    const int kernels[][2] = {{3, 3}, {4, 4}, {1, 1}, {1, 3}, {3, 1}, {2, 5}};
    batch bt = {3, 1, 2, 5, 0}; // samples 1 and 2 of 3, at offset 5, sample stride C*H*W + 7
    for (int rows = 0; rows < 2; rows++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (size_t ki = 0; ki < sizeof kernels / sizeof kernels[0]; ki++)
                for (int s = 1; s <= 3; s++)
                    for (int p = 0; p <= 2; p++) {
                        if (quick && (wi % 2 || ki > 1 || p == 2)) continue;
                        geom_case g = {2, 5, widths[wi], kernels[ki][0], kernels[ki][1], s, p};
                        if (!geom_ok(g)) continue;
                        bt.sn = (size_t)g.c * g.h * g.w + 7;
                        run_im2col(&ctx, g, bt, rows, &col2im_order);
                    }
    // DCGAN's 4x4 stride-2 layers (64 -> 32, 16 -> 8, 8 -> 4) and its last 4x4 stride-1 one, dense.
    const geom_case dcgan[] = {{3, 64, 64, 4, 4, 2, 1}, {4, 16, 16, 4, 4, 2, 1}, {4, 8, 8, 4, 4, 2, 1},
                               {4, 4, 4, 4, 4, 1, 0}};
    for (int rows = 0; rows < 2; rows++)
        for (size_t i = quick ? 1 : 0; i < 4; i++) {
            batch dense = {2, 0, 2, 0, (size_t)dcgan[i].c * dcgan[i].h * dcgan[i].w};
            run_im2col(&ctx, dcgan[i], dense, rows, &col2im_order);
        }

    // Layout moves: P below, at and above 4 and 16.
    const int planes[][2] = {{1, 1}, {1, 3}, {2, 2}, {1, 5}, {3, 5}, {4, 4}, {1, 17}, {5, 7}, {8, 8}, {32, 32}};
    for (int rows = 0; rows < 2; rows++)
        for (size_t i = 0; i < sizeof planes / sizeof planes[0]; i++) {
            if (quick && planes[i][0] == 32) continue;
            batch b = {3, 1, 2, 3, (size_t)3 * planes[i][0] * planes[i][1] + 5};
            run_wide(&ctx, 3, planes[i][0], planes[i][1], b, rows);
        }

    // Pools: Inception-v3's 3x3 stride-2 max pools and 3x3 stride-1 padded average pools at small
    // and real widths, plus odd windows, strides and paddings, and ceil mode (MTCNN).
    const int pw[] = {1, 2, 5, 8, 9, 16, 17, 18, 23, 35}, pk[] = {1, 2, 3, 5};
    for (int rows = 0; rows < 2; rows++)
        for (size_t wi = 0; wi < sizeof pw / sizeof pw[0]; wi++)
            for (size_t ki = 0; ki < sizeof pk / sizeof pk[0]; ki++)
                for (int s = 1, k = pk[ki]; s <= 3; s++)
                    for (int p = 0; p <= k / 2; p++) {
                        int H = 5, W = pw[wi];
                        if (H + 2 * p < k || W + 2 * p < k || (quick && (wi % 2 || k == 5))) continue;
                        for (int kind = 0; kind < 3; kind++) // max, max ceil, average
                            run_pool(&ctx, kind < 2, kind == 1, 2, 2, H, W, k, s, p, rows, &pool_order, &pool_nan);
                    }
    if (!quick)
        for (int rows = 0; rows < 2; rows++) {
            run_pool(&ctx, 1, 0, 1, 2, 147, 147, 3, 2, 0, rows, &pool_order, &pool_nan);
            run_pool(&ctx, 1, 0, 1, 3, 71, 71, 3, 2, 0, rows, &pool_order, &pool_nan);
            run_pool(&ctx, 0, 0, 1, 3, 35, 35, 3, 1, 1, rows, &pool_order, &pool_nan);
            run_pool(&ctx, 0, 0, 1, 3, 17, 17, 3, 1, 1, rows, &pool_order, &pool_nan);
        }

    // Negative controls: the bit comparisons see a different summation order and the NaN rule.
    CHECK(col2im_order, "col2im: no shape where summing in reverse order changes a result (the check is blind)");
    CHECK(pool_order, "avg pool: no shape where summing in reverse order changes a result (the check is blind)");
    CHECK(pool_nan, "max pool: the reference without the NaN rule never differs (no NaN reached a window)");
    for (int b = 0; b < B_COUNT; b++)
        if (bufs[b]) cg_buffer_release(bufs[b]);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("layout_rows");
}
