// test_gemm_pack.c — the own GEMM's B panels packed straight from images (gemm_pack_im2col16 via
// cg_gemm_pack_image16) against gemm_pack_kmajor16 (cg_gemm_pack_b16) applied to im2col's matrix
// of the same samples, built here in plain C, and against panels laid out here in plain C: equal
// bit for bit, every panel element written and nothing between the packed operands. Awkward
// shapes: strides 1, 2 and 3 (also different per axis), padding, positions P not a multiple of 16
// and output rows narrower or wider than a panel, k0 > 0 chunks, a first sample b0 > 0,
// sample-stride views (an offset and a gap between samples), and panels packed in steps from a
// first panel q0 > 0.
// oclgrind: run
#include "gemm_image.h"
#include "test_util.h"

#include <stdint.h>

#define SENTINEL 777.0f

typedef struct {
    int c, h, w, kh, kw, sh, sw, ph, pw;
} geom;

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

// cols [K, P] of one sample: row (ci*kh + ki)*kw + kj, column oy*ow + ox.
static void host_im2col(const geom *g, int oh, int ow, const float *x, float *cols) {
    size_t P = (size_t)oh * ow;
    for (int ci = 0; ci < g->c; ci++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                size_t row = ((size_t)ci * g->kh + ki) * g->kw + kj;
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int ih = oy * g->sh - g->ph + ki, iw = ox * g->sw - g->pw + kj;
                        float v = ih >= 0 && ih < g->h && iw >= 0 && iw < g->w ? x[((size_t)ci * g->h + ih) * g->w + iw]
                                                                               : 0.0f;
                        cols[row * P + (size_t)oy * ow + ox] = v;
                    }
            }
}

static size_t count_diff(const float *a, const float *b, size_t n, size_t *first) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            if (!bad) *first = i;
            bad++;
        }
    return bad;
}

static void run_geom(cg_runtime *rt, geom g, int quick) {
    int oh = (g.h + 2 * g.ph - g.kh) / g.sh + 1, ow = (g.w + 2 * g.pw - g.kw) / g.sw + 1;
    size_t K = (size_t)g.c * g.kh * g.kw, P = (size_t)oh * ow, np = (P + 15) / 16;
    const size_t batch = 3, off = 7, sn = (size_t)g.c * g.h * g.w + 5;
    size_t img_len = off + batch * sn;
    float *img = malloc(img_len * sizeof(float)), *cols = malloc(batch * K * P * sizeof(float));
    uint32_t seed = (uint32_t)(g.c * 131 + g.h * 17 + g.w * 7 + g.kh * 3 + g.sh);
    for (size_t i = 0; i < img_len; i++) img[i] = frand(&seed);
    for (size_t b = 0; b < batch; b++) host_im2col(&g, oh, ow, img + off + b * sn, cols + b * K * P);

    cl_mem dimg, dcols, d1, d2;
    CHECK_OK(cg_buffer_alloc(rt, img_len, &dimg));
    CHECK_OK(cg_buffer_alloc(rt, batch * K * P, &dcols));
    CHECK_OK(cg_tensor_write(rt, cg_view(dimg, 0, 1, 1, 1, (int)img_len), img));
    CHECK_OK(cg_tensor_write(rt, cg_view(dcols, 0, 1, 1, 1, (int)(batch * K * P)), cols));
    cg_gemm_image im = {dimg, off, sn, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, oh, ow};

    // Whole K; K in chunks of 5 (k0 > 0, chunk ends inside a window); samples from b0 = 1.
    size_t chunks[2] = {K, 5};
    for (int pass = 0; pass < 3; pass++) {
        size_t kc = chunks[pass == 1], b0 = pass == 2 ? 1 : 0, nb = batch - b0;
        for (size_t k0 = 0; k0 < K; k0 += kc) {
            size_t k = K - k0 < kc ? K - k0 : kc;
            size_t dst_off = 3, bstride = np * 16 * k + 9, len = dst_off + nb * bstride;
            float *got = malloc(len * sizeof(float)), *want = malloc(len * sizeof(float)),
                  *host = malloc(len * sizeof(float));
            for (size_t i = 0; i < len; i++) host[i] = SENTINEL;
            for (size_t b = 0; b < nb; b++)
                for (size_t q = 0; q < np; q++)
                    for (size_t kk = 0; kk < k; kk++)
                        for (size_t cc = 0; cc < 16; cc++) {
                            size_t j = q * 16 + cc;
                            host[dst_off + b * bstride + (q * k + kk) * 16 + cc] =
                                j < P ? cols[(b0 + b) * K * P + (k0 + kk) * P + j] : 0.0f;
                        }
            CHECK_OK(cg_buffer_alloc(rt, len, &d1));
            CHECK_OK(cg_buffer_alloc(rt, len, &d2));
            CHECK_OK(cg_tensor_fill(rt, cg_view(d1, 0, 1, 1, 1, (int)len), SENTINEL));
            CHECK_OK(cg_tensor_fill(rt, cg_view(d2, 0, 1, 1, 1, (int)len), SENTINEL));
            CHECK_OK(cg_gemm_pack_image16(rt, &im, b0, k0, k, nb, 0, SIZE_MAX, d1, dst_off, bstride));
            CHECK_OK(cg_gemm_pack_b16(rt, 0, dcols, b0 * K * P + k0 * P, P, K * P, P, k, nb, d2, dst_off, bstride));
            CHECK_OK(cg_tensor_read(rt, cg_view(d1, 0, 1, 1, 1, (int)len), got));
            CHECK_OK(cg_tensor_read(rt, cg_view(d2, 0, 1, 1, 1, (int)len), want));
            size_t first = 0, bad = count_diff(got, want, len, &first);
            CHECK(bad == 0, "c%d %dx%d k%dx%d s%d,%d p%d,%d b0=%zu k0=%zu k=%zu: %zu of %zu panel floats differ from "
                            "kmajor16 on im2col, first at %zu (%g vs %g)",
                  g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, b0, k0, k, bad, len, first, got[first],
                  want[first]);
            bad = count_diff(got, host, len, &first);
            CHECK(bad == 0, "c%d %dx%d k%dx%d s%d,%d p%d,%d b0=%zu k0=%zu k=%zu: %zu of %zu panel floats differ from "
                            "the C layout, first at %zu (%g vs %g)",
                  g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, b0, k0, k, bad, len, first, got[first],
                  host[first]);
            cg_buffer_release(d1);
            cg_buffer_release(d2);
            free(got);
            free(want);
            free(host);
            if (quick && k0 >= 2 * kc) break;
        }
    }
    // Panels in steps of 3 from q0 (the own GEMM's cache-sized steps): panel q0 + i in slot i, the last
    // step clipped at the last panel (nq = 3 asked past it), all samples, the whole K.
    for (size_t q0 = 0; q0 < np; q0 += 3) {
        size_t qn = np - q0 < 3 ? np - q0 : 3, dst_off = 2, bstride = qn * 16 * K + 5, len = dst_off + batch * bstride;
        float *got = malloc(len * sizeof(float)), *host = malloc(len * sizeof(float));
        for (size_t i = 0; i < len; i++) host[i] = SENTINEL;
        for (size_t b = 0; b < batch; b++)
            for (size_t q = 0; q < qn; q++)
                for (size_t kk = 0; kk < K; kk++)
                    for (size_t cc = 0; cc < 16; cc++) {
                        size_t j = (q0 + q) * 16 + cc;
                        host[dst_off + b * bstride + (q * K + kk) * 16 + cc] =
                            j < P ? cols[b * K * P + kk * P + j] : 0.0f;
                    }
        CHECK_OK(cg_buffer_alloc(rt, len, &d1));
        CHECK_OK(cg_tensor_fill(rt, cg_view(d1, 0, 1, 1, 1, (int)len), SENTINEL));
        CHECK_OK(cg_gemm_pack_image16(rt, &im, 0, 0, K, batch, q0, 3, d1, dst_off, bstride));
        CHECK_OK(cg_tensor_read(rt, cg_view(d1, 0, 1, 1, 1, (int)len), got));
        size_t first = 0, bad = count_diff(got, host, len, &first);
        CHECK(bad == 0, "c%d %dx%d k%dx%d s%d,%d p%d,%d panels from %zu: %zu of %zu panel floats differ from the C "
                        "layout, first at %zu (%g vs %g)",
              g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, q0, bad, len, first, got[first], host[first]);
        cg_buffer_release(d1);
        free(got);
        free(host);
        if (quick && q0 >= 6) break;
    }
    cg_buffer_release(dimg);
    cg_buffer_release(dcols);
    free(img);
    free(cols);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    int quick = getenv("CLGAN_TEST_QUICK") != NULL;
    const geom cases[] = {
        {3, 64, 64, 4, 4, 2, 2, 1, 1},  // DCGAN D1: 32-wide output rows, borders on both sides
        {4, 16, 16, 4, 4, 2, 2, 1, 1},  // D3-like: 8-wide rows, two per panel
        {5, 13, 11, 3, 3, 1, 1, 1, 1},  // P = 143, not a multiple of 16
        {2, 17, 19, 5, 5, 1, 1, 2, 2},  // 5x5 pad 2 (Inception branch5x5_2)
        {3, 9, 40, 3, 3, 2, 2, 0, 0},   // stride 2, no padding, 19-wide rows
        {2, 12, 35, 1, 7, 1, 1, 0, 3},  // 1x7 (Inception 17x17 blocks)
        {2, 35, 12, 7, 1, 1, 1, 3, 0},  // 7x1
        {2, 20, 50, 3, 3, 3, 3, 1, 1},  // stride 3
        {2, 21, 40, 3, 3, 2, 1, 1, 0},  // strides differ per axis
        {3, 6, 60, 3, 3, 1, 1, 1, 1},   // 60-wide rows: interior panels and a ragged row end
        {2, 7, 49, 3, 3, 1, 1, 0, 0},   // 47-wide rows, no padding (Conv2d_2a-like)
        {1, 1, 1, 1, 1, 1, 1, 0, 0},    // one position
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (quick && i == 0) continue; // the largest; the others cover its paths
        run_geom(rt, cases[i], quick);
    }
    cg_runtime_free(rt);
    return test_finish("gemm_pack");
}
