// test_gemm_conv.c — stride-1 and stride-2 convolution products with B read from the image
// (runtime/gemm_conv.c, cl/gemm.cl gemm_conv6x32, gemm_conv6x32_s2 on gemm_phase_image's copies)
// through cg_gemm_image_b, the call conv2d.c's forward makes: C bit for bit equal to the packed
// path's in one k block (CLGAN_GEMM_CONV_DIRECT=1 against =0, own.kc = 0: one fma chain over K per
// element in both) and within rounding of a plain C im2col + GEMM in double. Shapes: grid rows
// narrower than a 16-column half (8x8 padded to 10), between 16 and 32, wide; 1x7 / 7x1 / 5x5 / 3x3
// windows padded and unpadded; 1x1; K = 1170 (over the default k block); m not a multiple of 6;
// samples with a stride and an offset (a view), C with a sample stride and an offset (a branch of a
// concatenation: what lies between is untouched); beta 0 (C full of NaN), beta 1 and alpha 0.5 /
// beta 0.25; A transposed; an unpadded last sample at the very end of its buffer (copied, since the
// kernel reads past its planes) and with room after it (read in place). Stride 2: 3x3 padded and
// unpadded on odd and even sizes (phase images whose last row or column lies past the padded
// input), a 35x35 like Mixed_6a's, 5x5 and 1x1 windows, views of x and C, alpha / beta; every
// sample copied as phase images, never packed. Stride 3 stays packed. The launches show which path
// ran, and the device rule (no override) takes it for a 35x35 3x3, a 17x17 7x1, an 8x8 3x1 and a
// 35x35 3x3 stride 2 (as many grid tiles as packed ones) only with the wide tiles, never for 1x1 (of
// stride 1 or 2), an 8x8 3x3 padded to rows of 10, or a stride 2 whose grid needs more tiles than
// packing (17x17 -> 8x8, 299x299 -> 149x149). The epilogue (bias, ReLU) fused into the direct
// path's store, each by a kernel of its own, equals bias_act's arithmetic on the packed product,
// bit for bit.
// oclgrind: run
#include "gemm_image.h"
#include "gemm_internal.h"
#include "kernel_profile.h"
#include "test_util.h"

#include <stdint.h>

typedef struct {
    int c, h, w, kh, kw, ph, pw, sh;
    size_t m, batch;
    float alpha, beta;
    int trans_a;
    size_t x_gap, x_lead, c_gap, c_lead; // floats between samples / before the first, of x and of C
    size_t x_tail;                       // floats of x's buffer after the last sample
} conv_case;

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

typedef struct {
    long conv, pad, phase, packs; // launches of gemm_conv6x32* (any stride and epilogue), gemm_pad_image,
                                  // gemm_phase_image, gemm_pack_im2col16 / kmajor16
    long fitting;                 // launches of the direct kernel for the call's stride and epilogue
} path_calls;

// The direct kernel of each stride and epilogue: [stride 2][has_bias][relu].
static const char *const conv_kernels[2][2][2] = {
    {{"gemm_conv6x32", "gemm_conv6x32_relu"}, {"gemm_conv6x32_bias", "gemm_conv6x32_bias_relu"}},
    {{"gemm_conv6x32_s2", "gemm_conv6x32_s2_relu"}, {"gemm_conv6x32_s2_bias", "gemm_conv6x32_s2_bias_relu"}}};

// C from c0, then cg_gemm_image_b with CLGAN_GEMM_CONV_DIRECT = mode (and the epilogue ep, which
// must be fused exactly when the image is read directly); C read back into out.
static void run(cg_runtime *rt, const char *mode, const cg_gemm_args *g0, const cg_gemm_image *im, const float *c0,
                size_t c_len, size_t c_stride, size_t batch, const cg_gemm_epilogue *ep, float *out, path_calls *pc) {
    setenv("CLGAN_GEMM_CONV_DIRECT", mode, 1);
    CHECK_OK(cg_tensor_write(rt, cg_view(g0->c, 0, 1, 1, 1, (int)c_len), c0));
    cg_kernel_profile p = {0};
    CHECK_OK(cg_profile_begin(rt));
    int fused = -1;
    CHECK_OK(cg_gemm_image_b(rt, g0, im, c_stride, batch, ep, &fused));
    CHECK(fused == (ep && cg_gemm_conv_fits(rt, im)), "mode %s: fused %d with epilogue %d", mode, fused, ep != NULL);
    CHECK_OK(cg_profile_end(rt, &p));
    pc->conv = 0;
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < 2; b++)
            for (int r = 0; r < 2; r++) pc->conv += cg_kernel_profile_calls(&p, conv_kernels[s][b][r]);
    pc->fitting = cg_kernel_profile_calls(&p, conv_kernels[im->sh == 2][ep && ep->bias][ep && ep->relu]);
    pc->pad = cg_kernel_profile_calls(&p, "gemm_pad_image");
    pc->phase = cg_kernel_profile_calls(&p, "gemm_phase_image");
    pc->packs = cg_kernel_profile_calls(&p, "gemm_pack_im2col16") + cg_kernel_profile_calls(&p, "gemm_pack_kmajor16");
    cg_kernel_profile_free(&p);
    CHECK_OK(cg_tensor_read(rt, cg_view(g0->c, 0, 1, 1, 1, (int)c_len), out));
    unsetenv("CLGAN_GEMM_CONV_DIRECT");
}

static void one(cg_runtime *rt, conv_case c) {
    int oh = (c.h + 2 * c.ph - c.kh) / c.sh + 1, ow = (c.w + 2 * c.pw - c.kw) / c.sh + 1;
    size_t K = (size_t)c.c * c.kh * c.kw, P = (size_t)oh * ow, plane_len = (size_t)c.c * c.h * c.w;
    size_t x_sn = plane_len + c.x_gap, x_len = c.x_lead + c.batch * x_sn - c.x_gap + c.x_tail;
    size_t c_sn = c.m * P + c.c_gap, c_len = c.c_lead + c.batch * c_sn;
    float *x = malloc(x_len * 4), *w = malloc(c.m * K * 4), *c0 = malloc(c_len * 4), *ref = malloc(c_len * 4),
          *direct = malloc(c_len * 4), *packed = malloc(c_len * 4), *cols = malloc(K * P * 4);
    uint32_t seed = (uint32_t)(c.c * 131 + c.h * 17 + c.w * 7 + c.kh * 3 + c.kw + (int)c.m);
    for (size_t i = 0; i < x_len; i++) x[i] = frand(&seed);
    for (size_t i = 0; i < c.m * K; i++) w[i] = frand(&seed);
    for (size_t i = 0; i < c_len; i++) c0[i] = c.beta == 0.0f ? NAN : frand(&seed);
    memcpy(ref, c0, c_len * 4);
    cl_mem dx, dw, dc;
    CHECK_OK(cg_buffer_alloc(rt, x_len, &dx));
    CHECK_OK(cg_buffer_alloc(rt, c.m * K, &dw));
    CHECK_OK(cg_buffer_alloc(rt, c_len, &dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(dx, 0, 1, 1, 1, (int)x_len), x));
    CHECK_OK(cg_tensor_write(rt, cg_view(dw, 0, 1, 1, 1, (int)(c.m * K)), w)); // [m, K], or [K, m] transposed
    cg_gemm_args g = {.m = c.m, .n = P, .k = K, .alpha = c.alpha, .beta = c.beta, .a = dw, .lda = c.trans_a ? c.m : K,
                      .trans_a = c.trans_a, .c = dc, .c_off = c.c_lead, .ldc = P};
    cg_gemm_image im = {dx, c.x_lead, x_sn, c.c, c.h, c.w, c.kh, c.kw, c.sh, c.sh, c.ph, c.pw, oh, ow};
    char what[200];
    snprintf(what, sizeof what,
             "c%d %dx%d k%dx%d s%d p%d,%d m=%zu batch=%zu alpha=%g beta=%g ta=%d gaps %zu/%zu tail %zu", c.c, c.h, c.w,
             c.kh, c.kw, c.sh, c.ph, c.pw, c.m, c.batch, c.alpha, c.beta, c.trans_a, c.x_gap, c.c_gap, c.x_tail);
    path_calls pd, pp;
    run(rt, "1", &g, &im, c0, c_len, c_sn, c.batch, NULL, direct, &pd);
    run(rt, "0", &g, &im, c0, c_len, c_sn, c.batch, NULL, packed, &pp);
    if (c.sh == 1) {
        // Padded samples are copied (in steps); unpadded ones read in place, except a last one that
        // ends its buffer (the kernel reads up to 15 floats past its planes): that one alone is copied.
        int padded = c.ph || c.pw, tail_ok = c.x_tail >= 16;
        long in_place = !padded && (c.batch > 1 || tail_ok);
        CHECK(padded ? pd.pad >= 1 : pd.pad == (tail_ok ? 0 : 1), "%s: %ld gemm_pad_image launches", what, pd.pad);
        CHECK(pd.conv == pd.pad + in_place && pd.packs == 0 && pd.phase == 0,
              "%s: direct: %ld gemm_conv6x32 launches (%ld pads, %ld phase copies), %ld B packs", what, pd.conv,
              pd.pad, pd.phase, pd.packs);
    } else if (c.sh == 2) {
        // Every sample is copied as phase images (in steps), padded or not, and each step runs one launch.
        CHECK(pd.phase >= 1 && pd.conv == pd.phase && pd.fitting == pd.conv && pd.pad == 0 && pd.packs == 0,
              "%s: direct: %ld gemm_conv6x32_s2 of %ld direct launches, %ld phase copies, %ld pads, %ld B packs",
              what, pd.fitting, pd.conv, pd.phase, pd.pad, pd.packs);
    } else {
        CHECK(pd.conv == 0 && pd.phase == 0 && pd.packs > 0, "%s: stride %d took gemm_conv6x32 (%ld launches)",
              what, c.sh, pd.conv);
    }
    CHECK(pp.conv == 0 && pp.pad == 0 && pp.phase == 0,
          "%s: CLGAN_GEMM_CONV_DIRECT=0 still ran gemm_conv6x32 (%ld), a pad (%ld) or a phase copy (%ld)", what,
          pp.conv, pp.pad, pp.phase);
    size_t differ = 0;
    for (size_t i = 0; i < c_len; i++)
        if (memcmp(&direct[i], &packed[i], 4) && !(isnan(direct[i]) && isnan(packed[i]))) differ++;
    CHECK(differ == 0, "%s: %zu of %zu elements differ from the packed path's bits", what, differ, c_len);
    // The reference: im2col in plain C, then the C GEMM (double sums), into the same C layout.
    for (size_t b = 0; b < c.batch; b++) {
        const float *xs = x + c.x_lead + b * x_sn;
        for (size_t row = 0; row < K; row++) {
            int kj = (int)(row % (size_t)c.kw), ki = (int)(row / (size_t)c.kw % (size_t)c.kh),
                ci = (int)(row / ((size_t)c.kw * c.kh));
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int ih = oy * c.sh - c.ph + ki, iw = ox * c.sh - c.pw + kj;
                    cols[row * P + (size_t)oy * ow + ox] =
                        ih >= 0 && ih < c.h && iw >= 0 && iw < c.w ? xs[((size_t)ci * c.h + ih) * c.w + iw] : 0.0f;
                }
        }
        cg_gemm_ref(c.trans_a, 0, c.m, P, K, c.alpha, w, c.trans_a ? c.m : K, cols, P, c.beta,
                    ref + c.c_lead + b * c_sn, P);
    }
    size_t bad = 0, touched = 0;
    for (size_t i = 0; i < c_len; i++) {
        size_t j = i < c.c_lead ? SIZE_MAX : (i - c.c_lead) % c_sn;
        if (j < c.m * P) {
            if (!(fabs((double)direct[i] - ref[i]) <= 1e-5 * (double)(K + 4))) bad++;
        } else if (memcmp(&direct[i], &c0[i], 4)) {
            touched++;
        }
    }
    CHECK(bad == 0, "%s: %zu elements off the C reference", what, bad);
    CHECK(touched == 0, "%s: %zu elements outside the product's blocks changed", what, touched);
    // The epilogue a convolution fuses (alpha 1, as conv2d calls it): + bias (half the values
    // negative) and/or ReLU, bit for bit what bias_act makes of the packed path's product.
    if (c.sh <= 2 && c.alpha == 1.0f) {
        float *bias0 = malloc((c.m + 3) * 4), *bias = bias0 + 3;
        for (size_t i = 0; i < c.m + 3; i++) bias0[i] = frand(&seed);
        cl_mem db;
        CHECK_OK(cg_buffer_alloc(rt, c.m + 3, &db));
        CHECK_OK(cg_tensor_write(rt, cg_view(db, 0, 1, 1, 1, (int)c.m + 3), bias0));
        for (int v = 0; v < 3; v++) {
            int has_bias = v != 2, relu = v != 1;
            cg_gemm_epilogue ep = {has_bias ? db : NULL, 3, relu};
            run(rt, "1", &g, &im, c0, c_len, c_sn, c.batch, &ep, direct, &pd);
            size_t off = 0;
            for (size_t i = 0; i < c_len; i++) {
                size_t j = i < c.c_lead ? SIZE_MAX : (i - c.c_lead) % c_sn;
                float want = packed[i];
                if (j < c.m * P) {
                    if (has_bias) want = want + bias[j / P];
                    if (relu) want = want > 0.0f ? want : 0.0f;
                }
                if (memcmp(&direct[i], &want, 4) && !(isnan(direct[i]) && isnan(want))) off++;
            }
            CHECK(off == 0, "%s: bias %d relu %d: %zu elements differ from bias_act on the packed product", what,
                  has_bias, relu, off);
            CHECK(pd.fitting > 0 && pd.fitting == pd.conv, "%s: bias %d relu %d: %ld of %ld launches were %s", what,
                  has_bias, relu, pd.fitting, pd.conv, conv_kernels[c.sh == 2][has_bias][relu]);
        }
        cg_buffer_release(db);
        free(bias0);
    }
    cg_buffer_release(dx);
    cg_buffer_release(dw);
    cg_buffer_release(dc);
    free(x);
    free(w);
    free(c0);
    free(ref);
    free(direct);
    free(packed);
    free(cols);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_gemm_force(rt, CG_GEMM_OWN);
    // The packed path in one k block, as the direct path sums (own.kc = 1024 would split K = 1170).
    cg_gemm_tuning t;
    cg_gemm_tuning_init(cg_runtime_device(rt), &t);
    t.own_enabled = 1;
    t.own_kc = 0;
    CHECK_OK(cg_gemm_tuning_set(rt, &t, "test"));
    int quick = getenv("CLGAN_TEST_QUICK") != NULL;
    const conv_case cases[] = {
        // c, h, w, kh, kw, ph, pw, sh, m, batch, alpha, beta, ta, x_gap, x_lead, c_gap, c_lead, x_tail
        {3, 23, 19, 3, 3, 1, 1, 1, 10, 3, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},      // grid rows of 21
        {5, 8, 8, 3, 3, 1, 1, 1, 7, 2, 1.0f, 1.0f, 0, 0, 0, 0, 0, 0},         // rows of 10: a half spans 2-3
        {4, 17, 17, 1, 7, 0, 3, 1, 13, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},      // Inception's 1x7 (rows of 23)
        {4, 17, 17, 7, 1, 3, 0, 1, 13, 2, 1.0f, 1.0f, 0, 5, 3, 7, 11, 0},     // 7x1, views of x and C
        {2, 35, 35, 5, 5, 2, 2, 1, 6, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},       // Mixed_5's 5x5
        {3, 13, 40, 3, 3, 0, 0, 1, 9, 3, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},       // unpadded, the last sample copied
        {3, 13, 40, 3, 3, 0, 0, 1, 9, 3, 1.0f, 0.0f, 0, 0, 0, 0, 0, 16},      // unpadded, all read in place
        {70, 9, 9, 1, 1, 0, 0, 1, 6, 4, 1.0f, 0.0f, 0, 9, 4, 81, 5, 40},      // 1x1, views, read in place
        {20, 9, 9, 1, 1, 0, 0, 1, 17, 3, 1.0f, 1.0f, 0, 0, 0, 0, 0, 0},       // 1x1, the last sample copied
        {130, 6, 6, 3, 3, 1, 1, 1, 20, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},      // K = 1170
        {6, 11, 14, 3, 3, 1, 1, 1, 11, 2, 0.5f, 0.25f, 0, 0, 0, 0, 0, 0},     // alpha and beta
        {6, 11, 14, 3, 3, 1, 1, 1, 11, 2, 1.0f, 0.0f, 1, 0, 0, 0, 0, 0},      // A transposed
        {3, 21, 40, 3, 3, 0, 0, 2, 13, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},      // stride 2, unpadded, odd x even
        {3, 20, 31, 3, 3, 0, 0, 2, 8, 3, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},       // stride 2, unpadded, even x odd
        {4, 19, 19, 3, 3, 1, 1, 2, 10, 2, 1.0f, 1.0f, 0, 0, 0, 0, 0, 0},      // stride 2, padded, odd
        {4, 16, 22, 3, 3, 1, 1, 2, 7, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},       // stride 2, padded, even
        {12, 35, 35, 3, 3, 0, 0, 2, 19, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},     // Mixed_6a-like: 35x35 -> 17x17
        {5, 17, 17, 3, 3, 0, 0, 2, 13, 2, 1.0f, 0.0f, 0, 7, 2, 9, 4, 0},      // Mixed_7a-like, views of x and C
        {3, 23, 18, 5, 5, 2, 2, 2, 9, 2, 0.5f, 0.25f, 0, 0, 0, 0, 0, 0},      // stride 2, 5x5, alpha and beta
        {6, 11, 14, 3, 3, 1, 1, 2, 11, 2, 1.0f, 0.0f, 1, 0, 0, 0, 0, 0},      // stride 2, A transposed
        {9, 13, 12, 1, 1, 0, 0, 2, 8, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},       // stride 2, 1x1 (forced only)
        {3, 21, 40, 3, 3, 1, 1, 3, 13, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},      // stride 3: packed
        {32, 37, 37, 3, 3, 1, 1, 1, 64, 2, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0},     // Inception-sized
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        if (!quick || cases[i].c * cases[i].h * cases[i].w * cases[i].m <= 20000) one(rt, cases[i]);
    // The device rule.
    cg_gemm_image r35 = {NULL, 0, 0, 64, 35, 35, 3, 3, 1, 1, 1, 1, 35, 35};
    cg_gemm_image r17 = {NULL, 0, 0, 64, 17, 17, 7, 1, 1, 1, 3, 0, 17, 17};
    cg_gemm_image r8t = {NULL, 0, 0, 64, 8, 8, 3, 1, 1, 1, 1, 0, 8, 8};
    cg_gemm_image r8 = {NULL, 0, 0, 64, 8, 8, 3, 3, 1, 1, 1, 1, 8, 8};
    cg_gemm_image r1 = {NULL, 0, 0, 64, 35, 35, 1, 1, 1, 1, 0, 0, 35, 35};
    cg_gemm_image s2 = {NULL, 0, 0, 64, 35, 35, 3, 3, 2, 2, 0, 0, 17, 17};
    cg_gemm_image s2p = {NULL, 0, 0, 64, 35, 35, 1, 1, 2, 2, 0, 0, 18, 18};
    cg_gemm_image s3 = {NULL, 0, 0, 64, 35, 35, 3, 3, 3, 3, 0, 0, 11, 11};
    cg_gemm_image s2_17 = {NULL, 0, 0, 64, 17, 17, 3, 3, 2, 2, 0, 0, 8, 8};        // 71 grid columns for 64
    cg_gemm_image s2_299 = {NULL, 0, 0, 3, 299, 299, 3, 3, 2, 2, 0, 0, 149, 149}; // 699 tiles for 694
    int wide = cg_gemm_tile_wide(rt);
    CHECK(cg_gemm_conv_fits(rt, &r35) == wide && cg_gemm_conv_fits(rt, &r17) == wide &&
              cg_gemm_conv_fits(rt, &r8t) == wide && cg_gemm_conv_fits(rt, &s2) == CG_GEMM_CONV_S2_RULE * wide,
          "35x35 3x3 / 17x17 7x1 / 8x8 3x1 / 35x35 3x3 stride 2: rule %d %d %d %d, wide tiles %d",
          cg_gemm_conv_fits(rt, &r35), cg_gemm_conv_fits(rt, &r17), cg_gemm_conv_fits(rt, &r8t),
          cg_gemm_conv_fits(rt, &s2), wide);
    CHECK(!cg_gemm_conv_fits(rt, &r8) && !cg_gemm_conv_fits(rt, &r1) && !cg_gemm_conv_fits(rt, &s2p) &&
              !cg_gemm_conv_fits(rt, &s3) && !cg_gemm_conv_fits(rt, &s2_17) && !cg_gemm_conv_fits(rt, &s2_299),
          "the rule takes an 8x8 3x3 (%d), a 1x1 (%d), a 1x1 stride 2 (%d), a stride 3 (%d), or stride 2 "
          "17x17 (%d) / 299x299 (%d)",
          cg_gemm_conv_fits(rt, &r8), cg_gemm_conv_fits(rt, &r1), cg_gemm_conv_fits(rt, &s2p),
          cg_gemm_conv_fits(rt, &s3), cg_gemm_conv_fits(rt, &s2_17), cg_gemm_conv_fits(rt, &s2_299));
    setenv("CLGAN_GEMM_CONV_DIRECT", "1", 1);
    CHECK(cg_gemm_conv_fits(rt, &r8) && cg_gemm_conv_fits(rt, &r1) && cg_gemm_conv_fits(rt, &s2) &&
              cg_gemm_conv_fits(rt, &s2p) && !cg_gemm_conv_fits(rt, &s3),
          "CLGAN_GEMM_CONV_DIRECT=1: 8x8 %d, 1x1 %d, stride 2 %d, 1x1 stride 2 %d, stride 3 %d",
          cg_gemm_conv_fits(rt, &r8), cg_gemm_conv_fits(rt, &r1), cg_gemm_conv_fits(rt, &s2),
          cg_gemm_conv_fits(rt, &s2p), cg_gemm_conv_fits(rt, &s3));
    unsetenv("CLGAN_GEMM_CONV_DIRECT");
    cg_gemm_force(rt, CG_GEMM_AUTO);
    cg_runtime_free(rt);
    return test_finish("gemm_conv");
}
