// test_gemm_own.c — clgan's own GEMM kernels (cl/gemm.cl, forced with cg_gemm_force) against the
// plain C reference: partial 6x16 tiles, every transpose pair, offsets, padded leading dimensions,
// alpha/beta (beta = 0 must not read C), strided batches, batches sharing one operand, and k
// split into blocks that accumulate into C; untransposed B with a short k read in place, unpacked;
// thin A B^T products with a long k (the k-split path); thin op(A) B products with a long k and an
// untransposed B (gemm_nb_split8, and gemm_nb_gemv for one row); op(A) B with a short k (one
// gemm_nb_split8 launch on CPUs);
// every product twice, bit for bit the same.
// oclgrind: run
#include "gemm_test_util.h"

// One case through the own kernels: twice, bit for bit the same, and against the C reference.
static void run_case(cg_runtime *rt, gemm_test_case c) {
    gemm_test_operands o;
    gemm_test_operands_make(rt, &c, &o);
    float *cc = malloc(o.c_len * 4), *again = malloc(o.c_len * 4);
    gemm_test_product(rt, &c, &o, cc);
    gemm_test_product(rt, &c, &o, again); // run to run bit for bit: the same product again on the original C
    CHECK(memcmp(cc, again, o.c_len * 4) == 0, "own gemm ta=%d tb=%d m=%zu n=%zu k=%zu: a second run differs", c.ta,
          c.tb, c.m, c.n, c.k);
    double worst;
    size_t bad = gemm_test_off_ref(&c, &o, cc, &worst);
    CHECK(bad == 0, "own gemm ta=%d tb=%d m=%zu n=%zu k=%zu off=%zu pad=%zu alpha=%g beta=%g batch=%zu share=%d: "
                    "%zu elements off, worst %.3g",
          c.ta, c.tb, c.m, c.n, c.k, c.off, c.pad, c.alpha, c.beta, c.batch, c.share, bad, worst);
    free(cc);
    free(again);
    gemm_test_operands_free(&o);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    int quick = getenv("CLGAN_TEST_QUICK") != NULL; // Oclgrind: the same paths on smaller sizes
    cg_gemm_force(rt, CG_GEMM_OWN);
    CHECK(cg_gemm_pick(rt, 1, 1, 1) == CG_GEMM_OWN, "forcing the own kernels");
    const gemm_test_case cases[] = {
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
        // op(A) B with k <= 8 (CG_GEMM_NB_SHORT_K): one gemm_nb_split8 launch on CPUs (bit for bit
        // against the packed path in test_gemm_thin); a batch of them is packed.
        {1, 0, 8192, 64, 1, 0, 0, 1.0f, 0.0f, 1, 0}, // D5 dX
        {0, 0, 19, 23, 7, 3, 1, 0.5f, 1.5f, 1, 0},
        {1, 0, 19, 23, 7, 3, 1, 0.5f, 1.5f, 2, 0},
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
            gemm_test_case c = cases[i];
            if (quick && c.m * c.n * c.k * c.batch > 70000) continue;
            run_case(rt, c);
        }
    }
    // k = 0 keeps its meaning (C = beta C) whichever implementation is forced.
    run_case(rt, (gemm_test_case){0, 0, 5, 7, 0, 0, 1, 1.0f, 0.5f, 1, 0});
    cg_gemm_force(rt, CG_GEMM_AUTO);
    cg_runtime_free(rt);
    return test_finish("gemm_own");
}
