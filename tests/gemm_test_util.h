// gemm_test_util.h — the set-up test_gemm_own and test_gemm_tile share: a product case (transposes,
// sizes, offsets, padded leading dimensions, alpha/beta, a batch with or without a shared operand),
// its operands laid out and filled from one seeded generator and uploaded, the product run through
// cg_gemm / cg_gemm_batched (the calls the layers make), and the comparison with cg_gemm_ref.
#ifndef CLGAN_GEMM_TEST_UTIL_H
#define CLGAN_GEMM_TEST_UTIL_H

#include "test_util.h"

typedef struct {
    int ta, tb;
    size_t m, n, k;
    size_t off; // element offset of each matrix
    size_t pad; // extra columns in each leading dimension
    float alpha, beta;
    size_t batch;
    int share; // 1: A shared by the batch (stride 0), 2: B shared
} gemm_test_case;

typedef struct {
    size_t lda, ldb, ldc, a_stride, b_stride, c_stride, a_len, b_len, c_len;
    float *a, *b;
    float *c0;  // C before the product: NaN everywhere when beta = 0 (a kernel that reads it leaks NaN)
    float *ref; // C after cg_gemm_ref (untouched padding and offsets keep c0's values)
    cl_mem da, db, dc;
} gemm_test_operands;

static float gemm_test_rand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

// Lays out, fills, uploads A and B, and computes the reference C on the host.
static void gemm_test_operands_make(cg_runtime *rt, const gemm_test_case *c, gemm_test_operands *o) {
    size_t a_rows = c->ta ? c->k : c->m, a_cols = c->ta ? c->m : c->k;
    size_t b_rows = c->tb ? c->n : c->k, b_cols = c->tb ? c->k : c->n;
    o->lda = a_cols + c->pad, o->ldb = b_cols + c->pad, o->ldc = c->n + c->pad;
    o->a_stride = c->share == 1 ? 0 : a_rows * o->lda + 5, o->b_stride = c->share == 2 ? 0 : b_rows * o->ldb + 3;
    o->c_stride = c->m * o->ldc + 1;
    o->a_len = c->off + (c->batch - 1) * o->a_stride + a_rows * o->lda;
    o->b_len = c->off + (c->batch - 1) * o->b_stride + b_rows * o->ldb;
    o->c_len = c->off + c->batch * o->c_stride;
    o->a = malloc(o->a_len * 4), o->b = malloc(o->b_len * 4), o->c0 = malloc(o->c_len * 4);
    o->ref = malloc(o->c_len * 4);
    uint32_t seed = (uint32_t)(c->m * 7 + c->n * 13 + c->k * 17 + c->batch);
    for (size_t i = 0; i < o->a_len; i++) o->a[i] = gemm_test_rand(&seed);
    for (size_t i = 0; i < o->b_len; i++) o->b[i] = gemm_test_rand(&seed);
    for (size_t i = 0; i < o->c_len; i++) o->c0[i] = o->ref[i] = c->beta == 0.0f ? NAN : gemm_test_rand(&seed);
    CHECK_OK(cg_buffer_alloc(rt, o->a_len, &o->da));
    CHECK_OK(cg_buffer_alloc(rt, o->b_len, &o->db));
    CHECK_OK(cg_buffer_alloc(rt, o->c_len, &o->dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(o->da, 0, 1, 1, 1, (int)o->a_len), o->a));
    CHECK_OK(cg_tensor_write(rt, cg_view(o->db, 0, 1, 1, 1, (int)o->b_len), o->b));
    for (size_t i = 0; i < c->batch; i++)
        cg_gemm_ref(c->ta, c->tb, c->m, c->n, c->k, c->alpha, o->a + c->off + i * o->a_stride, o->lda,
                    o->b + c->off + i * o->b_stride, o->ldb, c->beta, o->ref + c->off + i * o->c_stride, o->ldc);
}

// C (all c_len floats) after the product on the device, starting from c0.
static void gemm_test_product(cg_runtime *rt, const gemm_test_case *c, const gemm_test_operands *o, float *out) {
    CHECK_OK(cg_tensor_write(rt, cg_view(o->dc, 0, 1, 1, 1, (int)o->c_len), o->c0));
    cg_gemm_args g = {.trans_a = c->ta, .trans_b = c->tb, .m = c->m, .n = c->n, .k = c->k, .alpha = c->alpha,
                      .beta = c->beta, .a = o->da, .a_off = c->off, .lda = o->lda, .b = o->db, .b_off = c->off,
                      .ldb = o->ldb, .c = o->dc, .c_off = c->off, .ldc = o->ldc};
    if (c->batch == 1 && !c->share) CHECK_OK(cg_gemm(rt, &g));
    else CHECK_OK(cg_gemm_batched(rt, &g, o->a_stride, o->b_stride, o->c_stride, c->batch));
    CHECK_OK(cg_tensor_read(rt, cg_view(o->dc, 0, 1, 1, 1, (int)o->c_len), out));
}

// Elements of out farther than 1e-5 (k + 4) from the reference (both NaN: equal); *worst the largest distance.
static size_t gemm_test_off_ref(const gemm_test_case *c, const gemm_test_operands *o, const float *out,
                                double *worst) {
    double tol = 1e-5 * (double)(c->k + 4);
    size_t bad = 0;
    *worst = 0;
    for (size_t i = 0; i < o->c_len; i++) {
        int both_nan = isnan(out[i]) && isnan(o->ref[i]); // untouched padding and offsets keep their NaN
        double d = fabs((double)out[i] - o->ref[i]);
        if (!both_nan && !(d <= tol)) bad++;
        if (!both_nan && d > *worst) *worst = d;
    }
    return bad;
}

static void gemm_test_operands_free(gemm_test_operands *o) {
    cg_buffer_release(o->da);
    cg_buffer_release(o->db);
    cg_buffer_release(o->dc);
    free(o->a);
    free(o->b);
    free(o->c0);
    free(o->ref);
}

#endif
