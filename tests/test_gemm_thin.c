// test_gemm_thin.c — the own GEMM's thin path (runtime/gemm_thin.c, cl/gemm_thin.cl) bit for bit:
// C = A B^T split along k through gemm_nt_split (4x4 tiles), gemm_nt_split16 (4x8 tiles, two
// elements per float16) and gemm_nt_row16 (1x16; each forced with cg_gemm_thin_force_nt) gives the
// same bits on all three and equals a
// plain C model of the kernels' sum order (per chunk of 1024: eight lanes along k, each an fma
// chain, folded in a fixed tree, the tail added in k order; chunks summed in order); C = op(A) B
// with a short k (one gemm_nb_split8 launch on CPUs) equals the packed path (the same product run
// as a batch of two sharing operands, which the thin path never takes) and a C model of one fma
// chain per element. Shapes: odd m, n, k, m = 1, n < 8, partial tiles, offsets, padded leading
// dimensions, beta = 0 (C is NaN and must not be read) and not. alpha and beta are powers of two,
// so the model's final alpha * sum + beta * C is exact however the device contracts it. Each
// product is also checked against the double-precision reference (cg_gemm_ref, gemm_test_util.h).
// oclgrind: run
#include "gemm_internal.h"
#include "gemm_test_util.h"

#define KC 1024 // CG_GEMM_NT_KC, the chunk the model splits k into

static float fold8(const float v[8]) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

static float store(float alpha, float sum, float beta, float c) { return alpha * sum + (beta == 0.0f ? 0.0f : beta * c); }

// C = alpha A B^T + beta C as gemm_nt_split sums it: A [m, k] rows at lda, B [n, k] rows at ldb.
static void model_nt(const gemm_test_case *c, const gemm_test_operands *o, float *out) {
    memcpy(out, o->c0, o->c_len * 4);
    size_t splits = (c->k + KC - 1) / KC;
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < c->n; j++) {
            const float *a = o->a + c->off + i * o->lda, *b = o->b + c->off + j * o->ldb;
            float total = 0.0f, chunk = 0.0f;
            for (size_t s = 0; s < splits; s++) {
                size_t k0 = s * KC, len = c->k - k0 < KC ? c->k - k0 : KC, kk = 0;
                float lane[8] = {0};
                for (; kk + 8 <= len; kk += 8)
                    for (int l = 0; l < 8; l++) lane[l] = fmaf(a[k0 + kk + l], b[k0 + kk + l], lane[l]);
                chunk = fold8(lane);
                for (; kk < len; kk++) chunk = fmaf(a[k0 + kk], b[k0 + kk], chunk);
                total += store(1.0f, chunk, 0.0f, 0.0f); // the partial tile: alpha 1, beta 0
            }
            float *e = out + c->off + i * o->ldc + j;
            *e = store(c->alpha, splits > 1 ? total : chunk, c->beta, *e);
        }
}

// C = alpha op(A) B + beta C as one fma chain per element in k order (the packed path and gemm_nb_split8).
static void model_chain(const gemm_test_case *c, const gemm_test_operands *o, float *out) {
    memcpy(out, o->c0, o->c_len * 4);
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < c->n; j++) {
            float acc = 0.0f;
            for (size_t kk = 0; kk < c->k; kk++) {
                float x = c->ta ? o->a[c->off + kk * o->lda + i] : o->a[c->off + i * o->lda + kk];
                acc = fmaf(x, o->b[c->off + kk * o->ldb + j], acc);
            }
            float *e = out + c->off + i * o->ldc + j;
            *e = store(c->alpha, acc, c->beta, *e);
        }
}

// Elements of x and y with different bits (NaN in both with the same bits counts as equal).
static size_t differ(const float *x, const float *y, size_t len, size_t *first) {
    size_t bad = 0;
    for (size_t i = 0; i < len; i++)
        if (memcmp(x + i, y + i, 4) != 0 && !bad++) *first = i;
    return bad;
}

static void check_ref(const gemm_test_case *c, const gemm_test_operands *o, const float *out, const char *what) {
    double worst;
    size_t bad = gemm_test_off_ref(c, o, out, &worst);
    CHECK(bad == 0, "%s ta=%d tb=%d m=%zu n=%zu k=%zu: %zu elements off the reference, worst %.3g", what, c->ta,
          c->tb, c->m, c->n, c->k, bad, worst);
}

static void check_same(const gemm_test_case *c, const float *got, const float *want, size_t len, const char *what) {
    size_t first = 0, bad = differ(got, want, len, &first);
    CHECK(bad == 0, "%s m=%zu n=%zu k=%zu off=%zu pad=%zu alpha=%g beta=%g: %zu elements differ, first at %zu "
                    "(%.9g, want %.9g)",
          what, c->m, c->n, c->k, c->off, c->pad, c->alpha, c->beta, bad, first, bad ? got[first] : 0.0,
          bad ? want[first] : 0.0);
}

// A B^T through both split kernels and the model.
static void run_nt(cg_runtime *rt, gemm_test_case c) {
    gemm_test_operands o;
    gemm_test_operands_make(rt, &c, &o);
    cg_gemm_args g = {.trans_b = 1, .m = c.m, .n = c.n, .k = c.k};
    CHECK(cg_gemm_thin_fits(rt, &g, 1), "A B^T m=%zu n=%zu k=%zu should take the thin path", c.m, c.n, c.k);
    float *narrow = malloc(o.c_len * 4), *wide = malloc(o.c_len * 4), *row = malloc(o.c_len * 4);
    float *model = malloc(o.c_len * 4);
    cg_gemm_thin_force_nt(0);
    gemm_test_product(rt, &c, &o, narrow);
    cg_gemm_thin_force_nt(1);
    gemm_test_product(rt, &c, &o, wide);
    cg_gemm_thin_force_nt(2);
    gemm_test_product(rt, &c, &o, row);
    cg_gemm_thin_force_nt(-1);
    model_nt(&c, &o, model);
    check_same(&c, narrow, model, o.c_len, "gemm_nt_split against the C model of its sum order");
    check_same(&c, wide, narrow, o.c_len, "gemm_nt_split16 against gemm_nt_split");
    check_same(&c, row, narrow, o.c_len, "gemm_nt_row16 against gemm_nt_split");
    check_ref(&c, &o, wide, "gemm_nt_split16");
    check_ref(&c, &o, row, "gemm_nt_row16");
    free(narrow);
    free(wide);
    free(row);
    free(model);
    gemm_test_operands_free(&o);
}

// op(A) B with a short k: one launch on CPUs; the same bits as the packed path and the model.
static void run_short_k(cg_runtime *rt, gemm_test_case c) {
    gemm_test_operands o;
    gemm_test_operands_make(rt, &c, &o);
    cg_gemm_args g = {.trans_a = c.ta, .m = c.m, .n = c.n, .k = c.k};
    if (cg_runtime_device(rt)->type & CL_DEVICE_TYPE_CPU)
        CHECK(cg_gemm_thin_fits(rt, &g, 1), "op(A) B m=%zu n=%zu k=%zu should take the thin path", c.m, c.n, c.k);
    CHECK(!cg_gemm_thin_fits(rt, &g, 2), "a batch of op(A) B m=%zu n=%zu k=%zu should be packed", c.m, c.n, c.k);
    float *thin = malloc(o.c_len * 4), *model = malloc(o.c_len * 4), *packed = malloc(2 * o.c_len * 4);
    gemm_test_product(rt, &c, &o, thin);
    model_chain(&c, &o, model);
    check_same(&c, thin, model, o.c_len, "short-k op(A) B against the C model of one fma chain");
    check_ref(&c, &o, thin, "short-k op(A) B");
    // The packed path: the same operands twice (batch strides 0), C twice, c_len floats apart (one
    // write: Oclgrind 21.10 reports a buffer written at an offset as uninitialized).
    cl_mem dc2;
    memcpy(packed, o.c0, o.c_len * 4);
    memcpy(packed + o.c_len, o.c0, o.c_len * 4);
    CHECK_OK(cg_buffer_alloc(rt, 2 * o.c_len, &dc2));
    CHECK_OK(cg_tensor_write(rt, cg_view(dc2, 0, 1, 1, 1, (int)(2 * o.c_len)), packed));
    cg_gemm_args p = {.trans_a = c.ta, .m = c.m, .n = c.n, .k = c.k, .alpha = c.alpha, .beta = c.beta, .a = o.da,
                      .a_off = c.off, .lda = o.lda, .b = o.db, .b_off = c.off, .ldb = o.ldb, .c = dc2,
                      .c_off = c.off, .ldc = o.ldc};
    CHECK_OK(cg_gemm_batched(rt, &p, 0, 0, o.c_len, 2));
    CHECK_OK(cg_tensor_read(rt, cg_view(dc2, 0, 1, 1, 1, (int)(2 * o.c_len)), packed));
    check_same(&c, thin, packed, o.c_len, "short-k op(A) B against the packed path");
    check_same(&c, packed + o.c_len, packed, o.c_len, "the packed path's second product against its first");
    cg_buffer_release(dc2);
    free(thin);
    free(model);
    free(packed);
    gemm_test_operands_free(&o);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    int quick = getenv("CLGAN_TEST_QUICK") != NULL; // Oclgrind: the same paths on smaller sizes
    cg_gemm_force(rt, CG_GEMM_OWN);
    // {ta, tb, m, n, k, off, pad, alpha, beta, batch, share}
    const gemm_test_case nt[] = {
        {0, 1, 64, 48, 4100, 0, 0, 1.0f, 0.0f, 1, 0},   // G5 dW's m and n; 5 chunks, the last of 4 (tail only)
        {0, 1, 13, 30, 2500, 1, 3, -1.0f, 1.0f, 1, 0},  // partial 4x8 tiles both ways, tail of 4
        {0, 1, 5, 3, 1029, 0, 0, 2.0f, 0.0f, 1, 0},     // n < 8: one partial tile
        {0, 1, 9, 17, 2053, 2, 1, 0.5f, -2.0f, 1, 0},   // n = 17: a tile of one column
        {0, 1, 1, 203, 64, 2, 1, 1.0f, 0.0f, 1, 0},     // m = 1, one chunk straight into C
        {0, 1, 1, 8192, 64, 0, 0, 1.0f, 0.0f, 1, 0},    // D5 dW
        {0, 1, 1, 37, 2100, 1, 0, -1.0f, 0.5f, 1, 0},   // m = 1, three chunks
        {0, 1, 3, 41, 5, 0, 0, 0.5f, 2.0f, 1, 0},       // k < 8: the tail only
        {0, 1, 37, 2, 1100, 0, 0, 1.0f, 0.5f, 1, 0},
        {0, 1, 5, 9, 13, 3, 2, -4.0f, 0.25f, 1, 0},     // m < 6: the thin path with a short k
    };
    const gemm_test_case nb[] = {
        {1, 0, 8192, 64, 1, 0, 0, 1.0f, 0.0f, 1, 0},    // D5 dX
        {1, 0, 13, 45, 3, 2, 1, -1.0f, 0.5f, 1, 0},
        {0, 0, 17, 89, 8, 1, 3, 2.0f, 0.0f, 1, 0},      // k at the bound; last 32 columns: 16 + 9
        {0, 0, 9, 7, 1, 0, 2, 0.5f, 2.0f, 1, 0},        // n < 8
        {1, 0, 1, 37, 5, 3, 2, 1.0f, 1.0f, 1, 0},       // m = 1 (gemm_nb_split8, not the long-k gemv)
        {0, 0, 33, 16, 2, 0, 0, 1.0f, 0.0f, 1, 0},
    };
    for (size_t i = 0; i < sizeof nt / sizeof nt[0]; i++)
        if (!quick || nt[i].m * nt[i].n * nt[i].k <= 400000) run_nt(rt, nt[i]);
    for (size_t i = 0; i < sizeof nb / sizeof nb[0]; i++)
        if (!quick || nb[i].m * nb[i].n * nb[i].k <= 400000) run_short_k(rt, nb[i]);
    cg_gemm_force(rt, CG_GEMM_AUTO);
    cg_runtime_free(rt);
    return test_finish("gemm_thin");
}
