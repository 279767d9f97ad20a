// test_gemm_own.c — clgan's own GEMM kernels (cl/gemm.cl, forced with cg_gemm_force) against the
// plain C reference: partial 6x16 tiles, every transpose pair, offsets, padded leading dimensions,
// alpha/beta (beta = 0 must not read C), strided batches, batches sharing one operand, and k
// split into blocks that accumulate into C; untransposed B with a short k read in place, unpacked;
// thin A B^T products with a long k (the k-split path); thin op(A) B products with a long k and an
// untransposed B (gemm_nb_split8, and gemm_nb_gemv for one row);
// every product twice, bit for bit the same.
// oclgrind: run
#include "test_util.h"

typedef struct {
    int ta, tb;
    size_t m, n, k;
    size_t off;   // element offset of each matrix
    size_t pad;   // extra columns in each leading dimension
    float alpha, beta;
    size_t batch;
    int share;    // 1: A shared by the batch (stride 0), 2: B shared
} own_case;

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

static void run_case(cg_runtime *rt, own_case c) {
    size_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
    size_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
    size_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
    size_t a_stride = c.share == 1 ? 0 : a_rows * lda + 5, b_stride = c.share == 2 ? 0 : b_rows * ldb + 3;
    size_t c_stride = c.m * ldc + 1;
    size_t a_len = c.off + (c.batch - 1) * a_stride + a_rows * lda;
    size_t b_len = c.off + (c.batch - 1) * b_stride + b_rows * ldb;
    size_t c_len = c.off + c.batch * c_stride;
    float *a = malloc(a_len * 4), *b = malloc(b_len * 4), *cc = malloc(c_len * 4), *ref = malloc(c_len * 4);
    uint32_t seed = (uint32_t)(c.m * 7 + c.n * 13 + c.k * 17 + c.batch);
    for (size_t i = 0; i < a_len; i++) a[i] = frand(&seed);
    for (size_t i = 0; i < b_len; i++) b[i] = frand(&seed);
    // beta = 0 must overwrite: NaN in C would leak into a kernel that reads it.
    for (size_t i = 0; i < c_len; i++) cc[i] = ref[i] = c.beta == 0.0f ? NAN : frand(&seed);

    cl_mem da, db, dc;
    CHECK_OK(cg_buffer_alloc(rt, a_len, &da));
    CHECK_OK(cg_buffer_alloc(rt, b_len, &db));
    CHECK_OK(cg_buffer_alloc(rt, c_len, &dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(da, 0, 1, 1, 1, (int)a_len), a));
    CHECK_OK(cg_tensor_write(rt, cg_view(db, 0, 1, 1, 1, (int)b_len), b));
    CHECK_OK(cg_tensor_write(rt, cg_view(dc, 0, 1, 1, 1, (int)c_len), cc));
    cg_gemm_args g = {.trans_a = c.ta, .trans_b = c.tb, .m = c.m, .n = c.n, .k = c.k, .alpha = c.alpha,
                      .beta = c.beta, .a = da, .a_off = c.off, .lda = lda, .b = db, .b_off = c.off, .ldb = ldb,
                      .c = dc, .c_off = c.off, .ldc = ldc};
    if (c.batch == 1 && !c.share) CHECK_OK(cg_gemm(rt, &g));
    else CHECK_OK(cg_gemm_batched(rt, &g, a_stride, b_stride, c_stride, c.batch));
    CHECK_OK(cg_tensor_read(rt, cg_view(dc, 0, 1, 1, 1, (int)c_len), cc));
    // Run to run bit for bit: the same product again on the original C.
    float *again = malloc(c_len * 4);
    CHECK_OK(cg_tensor_write(rt, cg_view(dc, 0, 1, 1, 1, (int)c_len), ref));
    if (c.batch == 1 && !c.share) CHECK_OK(cg_gemm(rt, &g));
    else CHECK_OK(cg_gemm_batched(rt, &g, a_stride, b_stride, c_stride, c.batch));
    CHECK_OK(cg_tensor_read(rt, cg_view(dc, 0, 1, 1, 1, (int)c_len), again));
    CHECK(memcmp(cc, again, c_len * 4) == 0, "own gemm ta=%d tb=%d m=%zu n=%zu k=%zu: a second run differs", c.ta,
          c.tb, c.m, c.n, c.k);
    free(again);
    for (size_t i = 0; i < c.batch; i++)
        cg_gemm_ref(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a + c.off + i * a_stride, lda, b + c.off + i * b_stride, ldb,
                    c.beta, ref + c.off + i * c_stride, ldc);
    double tol = 1e-5 * (double)(c.k + 4), worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < c_len; i++) {
        double d = fabs((double)cc[i] - ref[i]);
        int both_nan = isnan(cc[i]) && isnan(ref[i]); // untouched padding and offsets keep their NaN
        if (!both_nan && !(d <= tol)) bad++;
        if (!both_nan && d > worst) worst = d;
    }
    CHECK(bad == 0, "own gemm ta=%d tb=%d m=%zu n=%zu k=%zu off=%zu pad=%zu alpha=%g beta=%g batch=%zu share=%d: "
                    "%zu elements off, worst %.3g",
          c.ta, c.tb, c.m, c.n, c.k, c.off, c.pad, c.alpha, c.beta, c.batch, c.share, bad, worst);
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
    int quick = getenv("CLGAN_TEST_QUICK") != NULL; // Oclgrind: the same paths on smaller sizes
    cg_gemm_force(rt, CG_GEMM_OWN);
    CHECK(cg_gemm_pick(rt, 1, 1, 1) == CG_GEMM_OWN, "forcing the own kernels");
    const own_case cases[] = {
        {0, 0, 1, 1, 1, 0, 0, 1.0f, 0.0f, 1, 0},
        {0, 0, 6, 16, 4, 0, 0, 1.0f, 0.0f, 1, 0},    // exactly one tile, k a multiple of the unroll
        {0, 0, 7, 17, 5, 0, 0, 1.0f, 0.0f, 1, 0},    // one row and one column into the next tiles
        {1, 0, 5, 15, 3, 2, 1, 2.0f, 0.5f, 1, 0},
        {0, 1, 13, 33, 9, 1, 3, -1.0f, 1.0f, 1, 0},
        {1, 1, 19, 40, 11, 7, 2, 0.5f, -2.0f, 1, 0},
        {0, 0, 64, 64, 64, 0, 0, 1.0f, 0.0f, 1, 0},
        {1, 0, 61, 70, 129, 3, 5, 1.0f, 0.0f, 1, 0}, // k > 8 with a tail in the packing kernels
        {0, 1, 100, 3, 250, 0, 1, 1.0f, 0.25f, 1, 0},
        {0, 0, 3, 100, 1, 0, 0, 1.0f, 0.0f, 1, 0},
        {0, 0, 9, 20, 7, 4, 2, 1.0f, 0.5f, 3, 0},    // strided batches
        {1, 1, 8, 18, 10, 1, 1, 1.0f, 0.0f, 4, 0},
        {0, 0, 12, 35, 6, 0, 0, 1.0f, 0.0f, 3, 1},   // A shared (convolution weights)
        {0, 1, 7, 16, 9, 2, 0, 1.0f, 1.0f, 2, 2},    // B shared
        {0, 0, 128, 96, 160, 0, 0, 1.0f, 0.0f, 1, 0},
        {1, 0, 150, 200, 64, 0, 3, 1.0f, 0.0f, 2, 1},
        // Untransposed B with k <= CG_GEMM_UB_MAX_K (64) is read in place (gemm_stripe16): B shared
        // by a batch, and either side of the threshold with partial tiles and padded rows.
        {0, 0, 11, 37, 13, 1, 2, 1.0f, 1.0f, 3, 2},
        {1, 0, 13, 45, 64, 2, 1, -0.5f, 0.5f, 1, 0},
        {0, 0, 13, 45, 65, 2, 1, -0.5f, 0.5f, 1, 0},
        // Thin A B^T with a long k (weight gradients): the split path, k chunks with a tail, partial
        // 4x4 tiles, beta = 0 and 1.
        {0, 1, 13, 30, 2500, 1, 3, -1.0f, 1.0f, 1, 0},
        {0, 1, 5, 3, 1029, 0, 0, 1.0f, 0.0f, 1, 0},
        {0, 1, 64, 48, 8192, 0, 0, 1.0f, 1.0f, 1, 0},
        // A B^T with fewer than 6 rows or columns (one k chunk, straight into C).
        {0, 1, 1, 203, 64, 2, 1, 1.0f, 0.0f, 1, 0},
        {0, 1, 3, 41, 5, 0, 0, 0.5f, 2.0f, 1, 0},
        {0, 1, 37, 2, 1100, 0, 0, 1.0f, 0.0f, 1, 0},
        // op(A) B with B untransposed, k >= 1024 and few tiles (gemm_thin.c thin_nb): 8-row blocks
        // with partial rows and columns, one chunk (straight into C) or several (summed by
        // gemm_split_reduce), A untransposed and transposed, beta = 0 and not.
        {0, 0, 100, 64, 8192, 0, 0, 1.0f, 0.0f, 1, 0}, // G1 dX
        {1, 0, 13, 45, 2100, 3, 2, -1.0f, 0.5f, 1, 0},
        {0, 0, 9, 7, 1024, 1, 1, 0.5f, 2.0f, 1, 0},
        {1, 0, 17, 89, 1500, 0, 5, 1.0f, 0.0f, 1, 0},  // last 32 columns: 16 + 9
        {0, 0, 3, 17, 1100, 2, 3, 1.0f, 1.0f, 1, 0},
        // m = 1 (gemm_nb_gemv): 8 whole chunks side by side, then groups with fewer or shorter
        // chunks, partial 16-column stripes, a transposed A (x strided by lda).
        {0, 0, 1, 64, 8192, 0, 0, 1.0f, 0.0f, 1, 0},   // D5 fwd
        {1, 0, 1, 37, 3000, 3, 2, 0.5f, 1.5f, 1, 0},
        {0, 0, 1, 5, 1030, 1, 0, 1.0f, 0.0f, 1, 0},
        {0, 0, 1, 48, 17500, 0, 1, -2.0f, 0.25f, 1, 0},
        {0, 0, 1, 3, 9300, 2, 0, 1.0f, 0.0f, 1, 0},
    };
    // Whole k at once, then k in blocks of 7 (odd, so blocks end inside the unrolled loop and the
    // packing kernels' 8-wide chunks); later blocks accumulate into C.
    for (int pass = 0; pass < 2; pass++) {
        cg_gemm_tuning t;
        cg_gemm_tuning_init(cg_runtime_device(rt), &t);
        t.own_enabled = 1;
        t.own_kc = pass ? 7 : 0;
        CHECK_OK(cg_gemm_tuning_set(rt, &t, "test"));
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            own_case c = cases[i];
            if (quick && c.m * c.n * c.k * c.batch > 70000) continue;
            run_case(rt, c);
        }
    }
    // k = 0 keeps its meaning (C = beta C) whichever implementation is forced.
    run_case(rt, (own_case){0, 0, 5, 7, 0, 0, 1, 1.0f, 0.5f, 1, 0});
    cg_gemm_force(rt, CG_GEMM_AUTO);
    cg_runtime_free(rt);
    return test_finish("gemm_own");
}
