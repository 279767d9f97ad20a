// test_gemm.c — CLBlast SGEMM through cg_gemm against the plain C reference: 1x1x1, odd sizes, both
// transposes, non-zero offsets, padded leading dimensions, alpha/beta, and strided batches.
// oclgrind: run
#include "test_util.h"

typedef struct {
    int ta, tb;
    size_t m, n, k;
    size_t a_off, b_off, c_off; // element offsets
    size_t pad;                 // extra columns in every leading dimension
    float alpha, beta;
} gemm_case;

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

// Runs one case (batch >= 1, matrices laid out at off + i * stride) and compares with the reference.
static void run_case(cg_runtime *rt, gemm_case c, size_t batch) {
    size_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
    size_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
    size_t lda = (a_cols ? a_cols : 1) + c.pad, ldb = (b_cols ? b_cols : 1) + c.pad, ldc = c.n + c.pad;
    size_t a_stride = a_rows * lda + 3, b_stride = b_rows * ldb + 1, c_stride = c.m * ldc + 2;
    size_t a_len = c.a_off + batch * a_stride, b_len = c.b_off + batch * b_stride, c_len = c.c_off + batch * c_stride;
    float *a = malloc(a_len * 4), *b = malloc(b_len * 4), *cc = malloc(c_len * 4), *ref = malloc(c_len * 4);
    uint32_t seed = (uint32_t)(c.m * 131 + c.n * 17 + c.k + batch);
    for (size_t i = 0; i < a_len; i++) a[i] = frand(&seed);
    for (size_t i = 0; i < b_len; i++) b[i] = frand(&seed);
    for (size_t i = 0; i < c_len; i++) cc[i] = ref[i] = frand(&seed);

    cl_mem da, db, dc;
    CHECK_OK(cg_buffer_alloc(rt, a_len, &da));
    CHECK_OK(cg_buffer_alloc(rt, b_len, &db));
    CHECK_OK(cg_buffer_alloc(rt, c_len, &dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(da, 0, 1, 1, 1, (int)a_len), a));
    CHECK_OK(cg_tensor_write(rt, cg_view(db, 0, 1, 1, 1, (int)b_len), b));
    CHECK_OK(cg_tensor_write(rt, cg_view(dc, 0, 1, 1, 1, (int)c_len), cc));
    cg_gemm_args g = {.trans_a = c.ta, .trans_b = c.tb, .m = c.m, .n = c.n, .k = c.k, .alpha = c.alpha,
                      .beta = c.beta, .a = da, .a_off = c.a_off, .lda = lda, .b = db, .b_off = c.b_off, .ldb = ldb,
                      .c = dc, .c_off = c.c_off, .ldc = ldc};
    if (batch == 1) CHECK_OK(cg_gemm(rt, &g));
    else CHECK_OK(cg_gemm_batched(rt, &g, a_stride, b_stride, c_stride, batch));
    CHECK_OK(cg_tensor_read(rt, cg_view(dc, 0, 1, 1, 1, (int)c_len), cc));
    for (size_t i = 0; i < batch; i++)
        cg_gemm_ref(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a + c.a_off + i * a_stride, lda, b + c.b_off + i * b_stride,
                    ldb, c.beta, ref + c.c_off + i * c_stride, ldc);

    // Tolerance: float accumulation over k terms of magnitude <= 1.
    double tol = 1e-5 * (double)(c.k + 4), worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < c_len; i++) {
        double d = fabs((double)cc[i] - ref[i]);
        if (d > worst) worst = d;
        if (!(d <= tol)) bad++;
    }
    CHECK(bad == 0, "gemm ta=%d tb=%d m=%zu n=%zu k=%zu offs=%zu/%zu/%zu pad=%zu alpha=%g beta=%g batch=%zu: %zu "
                    "elements off, worst %.3g > %.3g",
          c.ta, c.tb, c.m, c.n, c.k, c.a_off, c.b_off, c.c_off, c.pad, c.alpha, c.beta, batch, bad, worst, tol);
    cg_buffer_release(da);
    cg_buffer_release(db);
    cg_buffer_release(dc);
    free(a);
    free(b);
    free(cc);
    free(ref);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    int quick = getenv("CLGAN_TEST_QUICK") != NULL; // Oclgrind: same coverage, smaller matrices
    const gemm_case cases[] = {
        {0, 0, 1, 1, 1, 0, 0, 0, 0, 1.0f, 0.0f},
        {1, 1, 1, 1, 1, 5, 7, 9, 0, 2.0f, 0.5f},
        {0, 0, 3, 5, 7, 0, 0, 0, 0, 1.0f, 0.0f},
        {0, 1, 3, 5, 7, 1, 2, 3, 0, 1.0f, 0.0f},
        {1, 0, 3, 5, 7, 0, 0, 0, 2, 1.0f, 1.0f},
        {1, 1, 3, 5, 7, 11, 0, 4, 1, -1.0f, 0.25f},
        {0, 0, 17, 1, 33, 0, 0, 0, 0, 1.0f, 0.0f},
        {0, 0, 1, 29, 13, 3, 3, 3, 0, 1.0f, 0.0f},
        {0, 1, 64, 64, 64, 0, 0, 0, 0, 1.0f, 0.0f},
        {1, 0, 63, 65, 67, 13, 17, 19, 3, 0.5f, 2.0f},
        {0, 0, 100, 3, 1, 0, 0, 0, 0, 1.0f, 0.0f},
        {1, 1, 31, 47, 129, 1, 1, 1, 5, 1.0f, -1.0f},
        // DCGAN-like shapes: conv as [Cout, Cin*kh*kw] x [Cin*kh*kw, H*W], and its two gradients.
        {0, 0, 64, 256, 48, 0, 0, 0, 0, 1.0f, 0.0f},
        {0, 1, 64, 48, 256, 0, 0, 0, 0, 1.0f, 1.0f},
        {1, 0, 48, 256, 64, 0, 0, 0, 0, 1.0f, 0.0f},
        {0, 0, 128, 64, 1024, 7, 0, 0, 0, 1.0f, 0.0f},
        {1, 1, 200, 100, 150, 0, 0, 0, 0, 1.0f, 0.0f},
        {0, 0, 257, 255, 129, 2, 4, 8, 0, 1.0f, 0.0f},
        {0, 0, 5, 5, 0, 0, 0, 3, 0, 1.0f, 0.5f}, // k = 0: C = beta * C
        {0, 0, 4, 6, 0, 0, 0, 1, 2, 1.0f, 0.0f}, // k = 0, beta = 0: C = 0
        {1, 0, 1, 1000, 1, 0, 0, 0, 0, 1.0f, 0.0f},
    };
    const size_t ncases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < ncases; i++) {
        gemm_case c = cases[i];
        if (quick && c.m * c.n * c.k > 70000) continue;
        run_case(rt, c, 1);
    }
    // Strided batched products.
    run_case(rt, (gemm_case){0, 0, 3, 5, 7, 0, 0, 0, 0, 1.0f, 0.0f}, 4);
    run_case(rt, (gemm_case){1, 1, 9, 4, 6, 2, 3, 5, 1, 1.5f, 0.5f}, 3);
    run_case(rt, (gemm_case){0, 1, 16, 33, 8, 0, 0, 0, 0, 1.0f, 0.0f}, quick ? 2 : 17);

    // Bad leading dimension: a clear error rather than a CLBlast code.
    cl_mem buf;
    CHECK_OK(cg_buffer_alloc(rt, 64, &buf));
    cg_gemm_args bad = {.m = 4, .n = 4, .k = 4, .alpha = 1.0f, .beta = 0.0f, .a = buf, .lda = 2, .b = buf, .ldb = 4,
                        .c = buf, .ldc = 4};
    CHECK_FAILS(cg_gemm(rt, &bad), CG_ERR_INVALID_ARG, "lda=2");
    cg_buffer_release(buf);
    cg_runtime_free(rt);
    return test_finish("gemm");
}
