// gemm_case.c — one checked SGEMM case: random operands on the host and the device, a product on
// the device, and a sampled comparison with double-precision dot products; the shape lists; and
// OpenBLAS SGEMM on the host, the reference the GEMM rows are compared with.
#include "bench.h"
#include "cblas_min.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bench_gemm_case {
    cg_runtime *rt;
    bench_gemm_shape s;
    float *a, *b, *c;
    cl_mem da, db, dc;
    cg_gemm_args g;
};

// DCGAN 64x64, batch 64, ngf = ndf = 64, each layer's three products as one whole-batch GEMM (the
// batch folded into n or k; P = 64 * output positions for D, 64 * input positions for G):
//   D conv  (Cin->Cout, K = 16 Cin):  fwd  Y[Cout,P]  = W[Cout,K] cols[K,P]        nn
//                                     dX   dcols[K,P] = W^T dY                      tn
//                                     dW   dW[Cout,K] = dY cols^T                   nt
//   G convT (Cin->Cout, K = 16 Cout): fwd  cols[K,P]  = W^T[K,Cin] X[Cin,P]         tn
//                                     dX   dX[Cin,P]  = W[Cin,K] dcols[K,P]         nn
//                                     dW   dW[Cin,K]  = X dcols^T                   nt
#define DCONV(id, cin, cout, pos, note)                                                              \
    {id " fwd", 0, 0, cout, 64 * (pos), 16 * (cin), note},                                           \
    {id " dX", 1, 0, 16 * (cin), 64 * (pos), cout, note},                                            \
    {id " dW", 0, 1, cout, 16 * (cin), 64 * (pos), note}
#define GCONV(id, cin, cout, pos, note)                                                              \
    {id " fwd", 1, 0, 16 * (cout), 64 * (pos), cin, note},                                           \
    {id " dX", 0, 0, cin, 64 * (pos), 16 * (cout), note},                                            \
    {id " dW", 0, 1, cin, 16 * (cout), 64 * (pos), note}

static const bench_gemm_shape full_shapes[] = {
    {"1024^3", 0, 0, 1024, 1024, 1024, "square"},
    {"2048^3", 0, 0, 2048, 2048, 2048, "square"},
    DCONV("D1", 3, 64, 32 * 32, "D conv 3->64 k4 s2 p1, 64x64 -> 32x32"),
    DCONV("D2", 64, 128, 16 * 16, "D conv 64->128 k4 s2 p1, 32x32 -> 16x16"),
    DCONV("D3", 128, 256, 8 * 8, "D conv 128->256 k4 s2 p1, 16x16 -> 8x8"),
    DCONV("D4", 256, 512, 4 * 4, "D conv 256->512 k4 s2 p1, 8x8 -> 4x4"),
    DCONV("D5", 512, 1, 1, "D conv 512->1 k4 s1 p0, 4x4 -> 1x1"),
    GCONV("G1", 100, 512, 1, "G convT 100->512 k4 s1 p0, 1x1 -> 4x4"),
    GCONV("G2", 512, 256, 4 * 4, "G convT 512->256 k4 s2 p1, 4x4 -> 8x8"),
    GCONV("G3", 256, 128, 8 * 8, "G convT 256->128 k4 s2 p1, 8x8 -> 16x16"),
    GCONV("G4", 128, 64, 16 * 16, "G convT 128->64 k4 s2 p1, 16x16 -> 32x32"),
    GCONV("G5", 64, 3, 32 * 32, "G convT 64->3 k4 s2 p1, 32x32 -> 64x64"),
};

static const bench_gemm_shape quick_shapes[] = {
    {"64^3", 0, 0, 64, 64, 64, "square"},
    {"odd nt", 0, 1, 37, 29, 53, "odd sizes, B transposed"},
    {"odd tn", 1, 0, 50, 70, 33, "odd sizes, A transposed"},
};

const bench_gemm_shape *bench_gemm_shapes(int quick, int *count) {
    *count = quick ? (int)(sizeof quick_shapes / sizeof quick_shapes[0])
                   : (int)(sizeof full_shapes / sizeof full_shapes[0]);
    return quick ? quick_shapes : full_shapes;
}

cg_status bench_gemm_case_create(cg_runtime *rt, const bench_gemm_shape *s, uint64_t seed, bench_gemm_case **out) {
    *out = NULL;
    bench_gemm_case *c = calloc(1, sizeof *c);
    size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    if (c) {
        c->a = malloc(na * sizeof(float));
        c->b = malloc(nb * sizeof(float));
        c->c = malloc(nc * sizeof(float));
    }
    if (!c || !c->a || !c->b || !c->c) {
        bench_gemm_case_free(c);
        return cg_fail(CG_ERR_NOMEM, "out of host memory for a %zux%zux%zu GEMM", s->m, s->n, s->k);
    }
    c->rt = rt;
    c->s = *s;
    cg_rng r = {seed, 11};
    cg_rng_uniform_host(r, 0, c->a, na);
    cg_rng_uniform_host(r, na, c->b, nb);
    for (size_t i = 0; i < na; i++) c->a[i] = 2.0f * c->a[i] - 1.0f;
    for (size_t i = 0; i < nb; i++) c->b[i] = 2.0f * c->b[i] - 1.0f;
    cg_status st = cg_buffer_alloc(rt, na, &c->da);
    if (st == CG_OK) st = cg_buffer_alloc(rt, nb, &c->db);
    if (st == CG_OK) st = cg_buffer_alloc(rt, nc, &c->dc);
    if (st == CG_OK) st = cg_tensor_write(rt, cg_view(c->da, 0, 1, 1, 1, (int)na), c->a);
    if (st == CG_OK) st = cg_tensor_write(rt, cg_view(c->db, 0, 1, 1, 1, (int)nb), c->b);
    // A sentinel, so an element the product never writes fails the check (not NaN: CLBlast computes
    // beta * C even for beta = 0).
    if (st == CG_OK) st = cg_tensor_fill(rt, cg_view(c->dc, 0, 1, 1, 1, (int)nc), 12345.0f);
    if (st != CG_OK) {
        bench_gemm_case_free(c);
        return st;
    }
    cg_gemm_args g = {.trans_a = s->ta, .trans_b = s->tb, .m = s->m, .n = s->n, .k = s->k, .alpha = 1.0f,
                      .beta = 0.0f, .a = c->da, .lda = s->ta ? s->m : s->k, .b = c->db, .ldb = s->tb ? s->k : s->n,
                      .c = c->dc, .ldc = s->n};
    c->g = g;
    *out = c;
    return CG_OK;
}

void bench_gemm_case_free(bench_gemm_case *c) {
    if (!c) return;
    cg_buffer_release(c->da);
    cg_buffer_release(c->db);
    cg_buffer_release(c->dc);
    free(c->a);
    free(c->b);
    free(c->c);
    free(c);
}

cg_status bench_gemm_case_run(bench_gemm_case *c) {
    CG_TRY(cg_gemm(c->rt, &c->g));
    return cg_runtime_finish(c->rt);
}

double bench_gemm_tolerance(size_t k) {
    // Float accumulation of k products: rounding grows like sqrt(k) eps relative to sum |a b|; a wrong
    // element (bad index, missed tile) is off by O(1).
    return 1e-5 * sqrt((double)k) + 1e-5;
}

double bench_gemm_entry_err(const bench_gemm_shape *s, const float *a, const float *b, const float *c, size_t ldc,
                            size_t i, size_t j) {
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    double acc = 0, mag = 0;
    for (size_t p = 0; p < s->k; p++) {
        double x = s->ta ? a[p * lda + i] : a[i * lda + p];
        double y = s->tb ? b[j * ldb + p] : b[p * ldb + j];
        acc += x * y;
        mag += fabs(x * y);
    }
    double err = fabs(acc - (double)c[i * ldc + j]) / (mag > 0 ? mag : 1.0);
    return err == err ? err : INFINITY; // NaN (an element never written) counts as wrong
}

cg_status bench_gemm_case_check(bench_gemm_case *c, int samples, double *err) {
    const bench_gemm_shape *s = &c->s;
    CG_TRY(cg_tensor_read(c->rt, cg_view(c->dc, 0, 1, 1, 1, (int)(s->m * s->n)), c->c));
    double worst = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < samples; t++) {
        size_t i, j;
        if (t < 4) { // the four corners: first and last tiles, including partial ones
            i = (t & 1) ? s->m - 1 : 0;
            j = (t & 2) ? s->n - 1 : 0;
        } else {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            i = (size_t)(x >> 33) % s->m;
            j = (size_t)(x >> 7) % s->n;
        }
        double e = bench_gemm_entry_err(s, c->a, c->b, c->c, s->n, i, j);
        if (e > worst) worst = e;
    }
    *err = worst;
    if (!(worst <= bench_gemm_tolerance(s->k)))
        return cg_fail(CG_ERR_NUMERIC, "wrong result: worst relative error %.3g > %.3g over %d sampled entries", worst,
                       bench_gemm_tolerance(s->k), samples);
    return CG_OK;
}

const float *bench_gemm_case_a(const bench_gemm_case *c) { return c->a; }
const float *bench_gemm_case_b(const bench_gemm_case *c) { return c->b; }

void bench_blas_sgemm(const bench_gemm_shape *s, const float *a, const float *b, float *c) {
    int lda = (int)(s->ta ? s->m : s->k), ldb = (int)(s->tb ? s->k : s->n);
    cblas_sgemm(BENCH_CBLAS_ROW_MAJOR, s->ta ? BENCH_CBLAS_TRANS : BENCH_CBLAS_NO_TRANS,
                s->tb ? BENCH_CBLAS_TRANS : BENCH_CBLAS_NO_TRANS, (int)s->m, (int)s->n, (int)s->k, 1.0f, a, lda, b, ldb,
                0.0f, c, (int)s->n);
}

void bench_blas_describe(char *buf, size_t len) {
    const char *cfg = openblas_get_config();
    snprintf(buf, len, "%s, %d threads", cfg ? cfg : "OpenBLAS", openblas_get_num_threads());
}
