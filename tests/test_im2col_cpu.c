// test_im2col_cpu.c — the CPU-only shortcuts of im2col / col2im (cl/im2col.cl), against plain C
// references, bit for bit, in both decompositions (forced with cg_im2col_force).
// Part 1: DCGAN's window (4 x 4, stride 2, padding 1) on images of 2 OH x 2 OW, OW a multiple of
// 4 (im2col_s2k4: one float8 and two neighbours per four positions): OW 4, 8, 12, OH 1 .. 4, a
// chunk starting at sample 1 of a sample-stride view, outputs around the columns untouched.
// Part 2: im2col and col2im when one window covers the whole image without padding
// (one position: a DCGAN discriminator's last convolution, a generator's first transposed one).
// On CPUs these take the transpose kernels (cl/im2col.cl im2col_full / col2im_full, 8 x 8 tiles,
// element by element where K = C*H*W or the chunk's sample count cuts a tile). Both
// decompositions (forced with cg_im2col_force) against a plain C reference, bit for bit:
// cols[r, n] = img[n0 + n, r]; col2im img[n0 + n, r] = b + cols[r, n] with b = bias[r / HW], or
// 0.0f (so -0 comes back +0, as col2im's sum starts at 0). Shapes: K and nb below, at and past
// multiples of 8, a 1x1 image, a non-square one, stride 2 (still one position), a chunk starting at
// sample 1 of a sample-stride view whose gaps and other samples must stay untouched.
// Negative control: the col2im reference without the 0 start (keeping -0) must differ somewhere.
// oclgrind: run
#include "layer_test_util.h"
#include "nets_internal.h"

#define SENTINEL 4321.0f

typedef struct {
    int c, h, w, s, nt, n0, nb, gap; // channels, image, stride; samples in the view, the chunk
} fcase;

static const fcase cases[] = {
    {2, 4, 4, 1, 16, 0, 16, 0}, {3, 3, 3, 1, 7, 1, 5, 2},  {1, 1, 1, 1, 9, 0, 9, 0},  {3, 2, 5, 2, 12, 1, 11, 3},
    {4, 4, 4, 1, 20, 2, 17, 1}, {8, 2, 2, 1, 8, 0, 8, 0},  {5, 4, 4, 1, 64, 0, 64, 0},
};

static cl_mem kept[160]; // alive until the end (Oclgrind loses track of released kernel arguments)
static int n_kept;

static cl_mem buffer(cg_runtime *rt, size_t n, const float *host) {
    cl_mem b = lt_buffer(rt, n, host, SENTINEL);
    kept[n_kept++] = b;
    return b;
}

static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) return i;
    return n;
}

static int control_differs;

static void run_case(cg_ctx *ctx, fcase f, uint32_t seed) {
    cg_runtime *rt = ctx->rt;
    cg_im2col_geom g = {f.c, f.h, f.w, f.h, f.w, f.s, f.s, 0, 0, 1, 1};
    const size_t K = (size_t)f.c * f.h * f.w, sn = K + f.gap, span = 3 + (size_t)f.nt * sn, ncols = K * f.nb;
    char tag[96];
    snprintf(tag, sizeof tag, "full window [%d,%d,%d] stride %d, samples %d..%d of %d, gap %d", f.c, f.h, f.w, f.s,
             f.n0, f.n0 + f.nb - 1, f.nt, f.gap);
    float *img = lt_random(span, seed), *cols = lt_random(ncols + 5, seed + 1), *bias = lt_random((size_t)f.c, seed + 2);
    for (size_t i = 0; i < span; i += 7) img[i] = -0.0f;
    for (size_t i = 0; i < ncols + 5; i += 5) cols[i] = -0.0f;
    float *want_cols = malloc(ncols * sizeof *want_cols), *want_img[2];
    for (size_t r = 0; r < K; r++)
        for (int n = 0; n < f.nb; n++) want_cols[r * f.nb + n] = img[3 + (size_t)(f.n0 + n) * sn + r];
    for (int hb = 0; hb < 2; hb++) { // col2im without and with bias; the rest of the buffer as it was
        want_img[hb] = malloc(span * sizeof(float));
        memcpy(want_img[hb], img, span * sizeof(float));
        for (int n = 0; n < f.nb; n++)
            for (size_t r = 0; r < K; r++) {
                float v = cols[5 + r * f.nb + n], b = hb ? bias[r / ((size_t)f.h * f.w)] : 0.0f;
                want_img[hb][3 + (size_t)(f.n0 + n) * sn + r] = b + v;
                if (!hb && memcmp(&v, &(float){b + v}, sizeof v)) control_differs = 1;
            }
    }
    for (int rows = 0; rows < 2; rows++) {
        const char *mode = rows ? "rows" : "elements";
        cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
        cl_mem ib = buffer(rt, span, img), cb = buffer(rt, ncols + 9, NULL);
        cg_tensor t = cg_view(ib, 3, f.nt, f.c, f.h, f.w);
        t.sn = sn;
        CHECK_OK(cg_im2col(ctx, &g, t, f.n0, f.nb, cb, 4));
        float *got = lt_read(rt, cb, ncols + 9);
        size_t i = first_diff(got + 4, want_cols, ncols);
        CHECK(i == ncols, "%s %s: im2col cols[%zu] = %.9g, reference %.9g", tag, mode, i, i < ncols ? got[4 + i] : 0.0,
              i < ncols ? want_cols[i] : 0.0);
        int clean = 1;
        for (size_t e = 0; e < 4; e++) clean &= got[e] == SENTINEL;
        for (size_t e = 4 + ncols; e < ncols + 9; e++) clean &= got[e] == SENTINEL;
        CHECK(clean, "%s %s: im2col wrote outside its columns", tag, mode);
        free(got);
        for (int hb = 0; hb < 2; hb++) {
            cl_mem ob = buffer(rt, span, img), colb = buffer(rt, ncols + 5, cols), bb = buffer(rt, (size_t)f.c, bias);
            cg_tensor o = cg_view(ob, 3, f.nt, f.c, f.h, f.w), bt = cg_view(bb, 0, 1, f.c, 1, 1);
            o.sn = sn;
            CHECK_OK(cg_col2im(ctx, &g, colb, 5, o, f.n0, f.nb, hb ? &bt : NULL));
            float *back = lt_read(rt, ob, span);
            size_t j = first_diff(back, want_img[hb], span);
            CHECK(j == span, "%s %s: col2im%s image[%zu] = %.9g, reference %.9g", tag, mode, hb ? " with bias" : "", j,
                  j < span ? back[j] : 0.0, j < span ? want_img[hb][j] : 0.0);
            free(back);
        }
        cg_im2col_force(CG_IM2COL_AUTO);
    }
    free(img), free(cols), free(bias), free(want_cols), free(want_img[0]), free(want_img[1]);
}

typedef struct {
    int c, oh, ow, nt, n0, nb, gap;
} s2case;

static const s2case s2cases[] = {
    {3, 4, 4, 2, 0, 2, 0}, {2, 2, 8, 4, 1, 3, 5}, {1, 1, 4, 1, 0, 1, 0}, {2, 3, 12, 3, 1, 2, 1}, {4, 8, 8, 2, 0, 2, 0},
};

static void run_s2(cg_ctx *ctx, s2case f, uint32_t seed) {
    cg_runtime *rt = ctx->rt;
    const int H = 2 * f.oh, W = 2 * f.ow, P = f.oh * f.ow;
    cg_im2col_geom g = {f.c, H, W, 4, 4, 2, 2, 1, 1, f.oh, f.ow};
    const size_t D = (size_t)f.c * H * W, sn = D + f.gap, span = 3 + (size_t)f.nt * sn;
    const size_t ncols = (size_t)f.c * 16 * f.nb * P;
    char tag[96];
    snprintf(tag, sizeof tag, "4x4/2/1 window on [%d,%d,%d], samples %d..%d of %d, gap %d", f.c, H, W, f.n0,
             f.n0 + f.nb - 1, f.nt, f.gap);
    float *img = lt_random(span, seed), *want = malloc(ncols * sizeof *want);
    for (size_t i = 0; i < span; i += 11) img[i] = -0.0f;
    for (int c = 0; c < f.c; c++)
        for (int ki = 0; ki < 4; ki++)
            for (int kj = 0; kj < 4; kj++)
                for (int n = 0; n < f.nb; n++)
                    for (int oh = 0; oh < f.oh; oh++)
                        for (int ow = 0; ow < f.ow; ow++) {
                            int ih = 2 * oh - 1 + ki, iw = 2 * ow - 1 + kj;
                            size_t r = ((size_t)c * 4 + ki) * 4 + kj, q = (size_t)n * P + (size_t)oh * f.ow + ow;
                            want[r * f.nb * P + q] = ih < 0 || ih >= H || iw < 0 || iw >= W
                                                         ? 0.0f
                                                         : img[3 + (f.n0 + n) * sn + ((size_t)c * H + ih) * W + iw];
                        }
    for (int rows = 0; rows < 2; rows++) {
        cg_im2col_force(rows ? CG_IM2COL_ROWS : CG_IM2COL_ELEMENTS);
        cl_mem ib = buffer(rt, span, img), cb = buffer(rt, ncols + 9, NULL);
        cg_tensor t = cg_view(ib, 3, f.nt, f.c, H, W);
        t.sn = sn;
        CHECK_OK(cg_im2col(ctx, &g, t, f.n0, f.nb, cb, 4));
        float *got = lt_read(rt, cb, ncols + 9);
        size_t i = first_diff(got + 4, want, ncols);
        CHECK(i == ncols, "%s %s: cols[%zu] = %.9g, reference %.9g", tag, rows ? "rows" : "elements", i,
              i < ncols ? got[4 + i] : 0.0, i < ncols ? want[i] : 0.0);
        int clean = 1;
        for (size_t e = 0; e < 4; e++) clean &= got[e] == SENTINEL;
        for (size_t e = 4 + ncols; e < ncols + 9; e++) clean &= got[e] == SENTINEL;
        CHECK(clean, "%s %s: im2col wrote outside its columns", tag, rows ? "rows" : "elements");
        free(got);
        cg_im2col_force(CG_IM2COL_AUTO);
    }
    free(img), free(want);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    for (size_t i = 0; i < sizeof s2cases / sizeof s2cases[0]; i++) run_s2(&ctx, s2cases[i], 71 + 5 * (uint32_t)i);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&ctx, cases[i], 31 + 3 * (uint32_t)i);
    CHECK(control_differs, "negative control: a col2im reference keeping -0 never differed");
    for (int i = 0; i < n_kept; i++) cg_buffer_release(kept[i]);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("im2col_cpu");
}
