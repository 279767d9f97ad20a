// test_gemm_steps.c — the own GEMM packing and multiplying B in cache-sized steps (gemm_own.c;
// CLGAN_GEMM_B_BLOCK bytes of packed panels per step) against whole-operand packing
// (CLGAN_GEMM_B_BLOCK=0): C bit for bit the same for steps of one panel, of a few panels with a
// partial last step, of one product and of two products with a partial last one; B from matrices
// (both transposes, per-product and shared, A shared and per product) and from images (odd
// positions, stride 2, several samples); beta 0 (C full of NaN) and beta 0.5; k whole and in blocks
// of 7. The whole-operand result is also checked against the plain C reference, and the number of
// B packing launches shows the steps really ran.
#include "gemm_image.h"
#include "kernel_profile.h"
#include "test_util.h"

#include <stdint.h>

typedef struct {
    int ta, tb;
    size_t m, n, k, batch;
    int share; // 1: A shared by the batch, 2: B shared
    float beta;
} mat_case;

typedef struct {
    int c, h, w, kh, kw, sh, sw, ph, pw;
    size_t m, batch;
    float beta;
} img_case;

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

static void set_budget(size_t bytes) {
    char v[32];
    snprintf(v, sizeof v, "%zu", bytes);
    setenv("CLGAN_GEMM_B_BLOCK", v, 1);
}

// Launches of the B packing kernels in a profile.
static long b_pack_calls(const cg_kernel_profile *p) {
    return cg_kernel_profile_calls(p, "gemm_pack_kmajor16") + cg_kernel_profile_calls(p, "gemm_pack_rmajor16") +
           cg_kernel_profile_calls(p, "gemm_pack_im2col16");
}

// Budgets (bytes) for a product of np panels per packed operand and kc rows per k block: one float
// (one panel per step, whatever the k block), four panels, one product and a panel, two products and
// three panels.
static void budgets(size_t np, size_t kc, size_t out[4]) {
    size_t panel = 16 * kc * sizeof(float);
    out[0] = sizeof(float);
    out[1] = 4 * panel;
    out[2] = (np + 1) * panel;
    out[3] = (2 * np + 3) * panel;
}

// Runs `run` (which writes C from c0 and reads it back into out) whole and in steps; compares.
typedef void (*run_fn)(cg_runtime *rt, const void *ctx, float *out, long *packs);

static void compare_steps(cg_runtime *rt, run_fn run, const void *ctx, size_t c_len, size_t np, size_t kc,
                          long kblocks, size_t b_ops, const char *what, float *whole) {
    long packs = 0;
    set_budget(0);
    run(rt, ctx, whole, &packs);
    CHECK(packs == kblocks, "%s: whole operands: %ld B packing launches, expected %ld (one per k block)", what, packs,
          kblocks);
    size_t bud[4];
    budgets(np, kc, bud);
    float *got = malloc(c_len * sizeof(float));
    for (int i = 0; i < 4; i++) {
        set_budget(bud[i]);
        run(rt, ctx, got, &packs);
        CHECK(memcmp(got, whole, c_len * sizeof(float)) == 0, "%s: steps of %zu bytes differ from whole operands", what,
              bud[i]);
        // One-panel steps: every panel of every packed operand on its own, in every k block.
        if (i == 0)
            CHECK(packs == kblocks * (long)(np * b_ops), "%s: one-panel steps: %ld B packing launches, expected %ld",
                  what, packs, kblocks * (long)(np * b_ops));
        else
            CHECK(packs > kblocks || np * b_ops * 16 * kc * sizeof(float) <= bud[i],
                  "%s: steps of %zu bytes: %ld B packing launches, no steps", what, bud[i], packs);
    }
    free(got);
    unsetenv("CLGAN_GEMM_B_BLOCK");
}

typedef struct {
    mat_case c;
    cl_mem da, db, dc;
    const float *c0;
    size_t lda, ldb, ldc, a_stride, b_stride, c_stride, c_len;
} mat_ctx;

static void run_mat(cg_runtime *rt, const void *vctx, float *out, long *packs) {
    const mat_ctx *x = vctx;
    CHECK_OK(cg_tensor_write(rt, cg_view(x->dc, 0, 1, 1, 1, (int)x->c_len), x->c0));
    cg_gemm_args g = {.trans_a = x->c.ta, .trans_b = x->c.tb, .m = x->c.m, .n = x->c.n, .k = x->c.k, .alpha = 1.0f,
                      .beta = x->c.beta, .a = x->da, .lda = x->lda, .b = x->db, .ldb = x->ldb, .c = x->dc,
                      .ldc = x->ldc};
    cg_kernel_profile p = {0};
    CHECK_OK(cg_profile_begin(rt));
    CHECK_OK(cg_gemm_batched(rt, &g, x->a_stride, x->b_stride, x->c_stride, x->c.batch));
    CHECK_OK(cg_profile_end(rt, &p));
    *packs = b_pack_calls(&p);
    cg_kernel_profile_free(&p);
    CHECK_OK(cg_tensor_read(rt, cg_view(x->dc, 0, 1, 1, 1, (int)x->c_len), out));
}

static void mat(cg_runtime *rt, mat_case c, size_t kc) {
    mat_ctx x = {.c = c};
    size_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k, b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
    x.lda = a_cols + 1, x.ldb = b_cols + 2, x.ldc = c.n + 3;
    x.a_stride = c.share == 1 ? 0 : a_rows * x.lda + 5, x.b_stride = c.share == 2 ? 0 : b_rows * x.ldb + 3;
    x.c_stride = c.m * x.ldc + 1;
    size_t a_len = (c.batch - 1) * x.a_stride + a_rows * x.lda, b_len = (c.batch - 1) * x.b_stride + b_rows * x.ldb;
    x.c_len = c.batch * x.c_stride;
    float *a = malloc(a_len * 4), *b = malloc(b_len * 4), *c0 = malloc(x.c_len * 4), *ref = malloc(x.c_len * 4),
          *whole = malloc(x.c_len * 4);
    uint32_t seed = (uint32_t)(c.m * 7 + c.n * 13 + c.k * 17 + c.batch + (size_t)c.share);
    for (size_t i = 0; i < a_len; i++) a[i] = frand(&seed);
    for (size_t i = 0; i < b_len; i++) b[i] = frand(&seed);
    for (size_t i = 0; i < x.c_len; i++) c0[i] = ref[i] = c.beta == 0.0f ? NAN : frand(&seed);
    x.c0 = c0;
    CHECK_OK(cg_buffer_alloc(rt, a_len, &x.da));
    CHECK_OK(cg_buffer_alloc(rt, b_len, &x.db));
    CHECK_OK(cg_buffer_alloc(rt, x.c_len, &x.dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(x.da, 0, 1, 1, 1, (int)a_len), a));
    CHECK_OK(cg_tensor_write(rt, cg_view(x.db, 0, 1, 1, 1, (int)b_len), b));
    char what[160];
    snprintf(what, sizeof what, "ta=%d tb=%d m=%zu n=%zu k=%zu batch=%zu share=%d beta=%g kc=%zu", c.ta, c.tb, c.m,
             c.n, c.k, c.batch, c.share, c.beta, kc);
    size_t kb = kc && kc < c.k ? kc : c.k, np = (c.n + 15) / 16;
    compare_steps(rt, run_mat, &x, x.c_len, np, kb, (long)((c.k + kb - 1) / kb), c.share == 2 ? 1 : c.batch, what,
                  whole);
    for (size_t i = 0; i < c.batch; i++)
        cg_gemm_ref(c.ta, c.tb, c.m, c.n, c.k, 1.0f, a + i * x.a_stride, x.lda, b + i * x.b_stride, x.ldb, c.beta,
                    ref + i * x.c_stride, x.ldc);
    size_t bad = 0;
    for (size_t i = 0; i < x.c_len; i++)
        if (!(isnan(whole[i]) && isnan(ref[i])) && !(fabs((double)whole[i] - ref[i]) <= 1e-5 * (double)(c.k + 4)))
            bad++;
    CHECK(bad == 0, "%s: %zu elements off the C reference", what, bad);
    cg_buffer_release(x.da);
    cg_buffer_release(x.db);
    cg_buffer_release(x.dc);
    free(a);
    free(b);
    free(c0);
    free(ref);
    free(whole);
}

typedef struct {
    img_case c;
    cg_gemm_image im;
    cl_mem dw, dc;
    const float *c0;
    size_t K, P, c_len;
} img_ctx;

static void run_img(cg_runtime *rt, const void *vctx, float *out, long *packs) {
    const img_ctx *x = vctx;
    CHECK_OK(cg_tensor_write(rt, cg_view(x->dc, 0, 1, 1, 1, (int)x->c_len), x->c0));
    cg_gemm_args g = {.m = x->c.m, .n = x->P, .k = x->K, .alpha = 1.0f, .beta = x->c.beta, .a = x->dw, .lda = x->K,
                      .c = x->dc, .ldc = x->P};
    cg_kernel_profile p = {0};
    CHECK_OK(cg_profile_begin(rt));
    CHECK_OK(cg_gemm_image_b(rt, &g, &x->im, x->c.m * x->P, x->c.batch, NULL, NULL));
    CHECK_OK(cg_profile_end(rt, &p));
    *packs = b_pack_calls(&p);
    cg_kernel_profile_free(&p);
    CHECK_OK(cg_tensor_read(rt, cg_view(x->dc, 0, 1, 1, 1, (int)x->c_len), out));
}

static void img(cg_runtime *rt, img_case c, size_t kc) {
    img_ctx x = {.c = c};
    int oh = (c.h + 2 * c.ph - c.kh) / c.sh + 1, ow = (c.w + 2 * c.pw - c.kw) / c.sw + 1;
    x.K = (size_t)c.c * c.kh * c.kw, x.P = (size_t)oh * ow, x.c_len = c.batch * c.m * x.P;
    size_t sn = (size_t)c.c * c.h * c.w, img_len = c.batch * sn;
    float *im = malloc(img_len * 4), *w = malloc(c.m * x.K * 4), *c0 = malloc(x.c_len * 4),
          *ref = malloc(x.c_len * 4), *whole = malloc(x.c_len * 4), *cols = malloc(x.K * x.P * 4);
    uint32_t seed = (uint32_t)(c.c * 131 + c.h * 17 + c.w * 7 + c.sh);
    for (size_t i = 0; i < img_len; i++) im[i] = frand(&seed);
    for (size_t i = 0; i < c.m * x.K; i++) w[i] = frand(&seed);
    for (size_t i = 0; i < x.c_len; i++) c0[i] = ref[i] = c.beta == 0.0f ? NAN : frand(&seed);
    x.c0 = c0;
    cl_mem dimg;
    CHECK_OK(cg_buffer_alloc(rt, img_len, &dimg));
    CHECK_OK(cg_buffer_alloc(rt, c.m * x.K, &x.dw));
    CHECK_OK(cg_buffer_alloc(rt, x.c_len, &x.dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(dimg, 0, 1, 1, 1, (int)img_len), im));
    CHECK_OK(cg_tensor_write(rt, cg_view(x.dw, 0, 1, 1, 1, (int)(c.m * x.K)), w));
    x.im = (cg_gemm_image){dimg, 0, sn, c.c, c.h, c.w, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, oh, ow};
    char what[160];
    snprintf(what, sizeof what, "image c%d %dx%d k%dx%d s%d p%d m=%zu batch=%zu beta=%g kc=%zu", c.c, c.h, c.w, c.kh,
             c.kw, c.sh, c.ph, c.m, c.batch, c.beta, kc);
    size_t kb = kc && kc < x.K ? kc : x.K, np = (x.P + 15) / 16;
    compare_steps(rt, run_img, &x, x.c_len, np, kb, (long)((x.K + kb - 1) / kb), c.batch, what, whole);
    // The reference: im2col in plain C, then the C GEMM.
    for (size_t b = 0; b < c.batch; b++) {
        for (size_t row = 0; row < x.K; row++) {
            int kj = (int)(row % (size_t)c.kw), ki = (int)(row / (size_t)c.kw % (size_t)c.kh),
                ci = (int)(row / ((size_t)c.kw * c.kh));
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int ih = oy * c.sh - c.ph + ki, iw = ox * c.sw - c.pw + kj;
                    cols[row * x.P + (size_t)oy * ow + ox] =
                        ih >= 0 && ih < c.h && iw >= 0 && iw < c.w ? im[b * sn + ((size_t)ci * c.h + ih) * c.w + iw]
                                                                   : 0.0f;
                }
        }
        cg_gemm_ref(0, 0, c.m, x.P, x.K, 1.0f, w, x.K, cols, x.P, c.beta, ref + b * c.m * x.P, x.P);
    }
    size_t bad = 0;
    for (size_t i = 0; i < x.c_len; i++)
        if (!(fabs((double)whole[i] - ref[i]) <= 1e-5 * (double)(x.K + 4))) bad++;
    CHECK(bad == 0, "%s: %zu elements off the C reference", what, bad);
    cg_buffer_release(dimg);
    cg_buffer_release(x.dw);
    cg_buffer_release(x.dc);
    free(im);
    free(w);
    free(c0);
    free(ref);
    free(whole);
    free(cols);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_gemm_force(rt, CG_GEMM_OWN);
    // Stride-1 convolutions packed too (not read from the image by gemm_conv6x32: test_gemm_conv).
    setenv("CLGAN_GEMM_CONV_DIRECT", "0", 1);
    const mat_case mats[] = {
        {0, 0, 13, 83, 70, 3, 1, 0.0f},   // B packed (k > 64), A shared: 6 panels, the last partial
        {1, 1, 19, 100, 9, 2, 0, 0.5f},   // B transposed (rmajor16), A per product
        {0, 1, 7, 47, 33, 3, 2, 0.0f},    // B shared by the batch
        {1, 0, 26, 161, 80, 1, 0, 0.5f},  // one product, 11 panels
    };
    const img_case imgs[] = {
        {3, 23, 19, 3, 3, 1, 1, 1, 1, 10, 3, 0.0f}, // P = 437: 28 panels, the last partial
        {2, 21, 40, 3, 3, 2, 2, 0, 0, 13, 2, 0.5f}, // stride 2, 19-wide rows
        {70, 9, 9, 1, 1, 1, 1, 0, 0, 6, 4, 0.0f},   // 1x1 (x itself as B, packed since k > 64): P = 81
    };
    for (int pass = 0; pass < 2; pass++) {
        size_t kc = pass ? 7 : 0;
        cg_gemm_tuning t;
        cg_gemm_tuning_init(cg_runtime_device(rt), &t);
        t.own_enabled = 1;
        t.own_kc = (int)kc;
        CHECK_OK(cg_gemm_tuning_set(rt, &t, "test"));
        // Untransposed B in k blocks of 7 is read in place (gemm_stripe16): nothing to step.
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            if (!kc || mats[i].tb) mat(rt, mats[i], kc);
        for (size_t i = 0; i < sizeof imgs / sizeof imgs[0]; i++)
            if (!kc || imgs[i].kh * imgs[i].kw > 1) img(rt, imgs[i], kc); // 1x1 is such a B
    }
    // A malformed budget is refused, naming the variable.
    setenv("CLGAN_GEMM_B_BLOCK", "12kb", 1);
    cl_mem d;
    CHECK_OK(cg_buffer_alloc(rt, 100 * 100, &d));
    cg_gemm_args g = {.m = 90, .n = 90, .k = 90, .alpha = 1.0f, .a = d, .lda = 100, .b = d, .ldb = 100, .c = d,
                      .ldc = 100, .trans_b = 1};
    CHECK_FAILS(cg_gemm(rt, &g), CG_ERR_INVALID_ARG, "CLGAN_GEMM_B_BLOCK='12kb'");
    unsetenv("CLGAN_GEMM_B_BLOCK");
    cg_buffer_release(d);
    cg_gemm_force(rt, CG_GEMM_AUTO);
    cg_runtime_free(rt);
    return test_finish("gemm_steps");
}
