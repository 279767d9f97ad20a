// gemm_thin.c — the own GEMM's thin products (cl/gemm_thin.cl), split along k with no packing:
// C = A B^T with both operands contiguous along a long k and few tiles of C (weight gradients), or
// with fewer than 6 rows or columns; C = op(A) B with B untransposed, a long k and few tiles of C
// (a matrix-vector product when m = 1), or on CPUs a k of at most CG_GEMM_NB_SHORT_K.
#include "gemm_internal.h"

// Thin A B^T products: k chunk of the split path, and the most 6x16 tiles of C for which it
// replaces packing.
#ifndef CG_GEMM_NT_KC
#define CG_GEMM_NT_KC 1024
#endif
#ifndef CG_GEMM_NT_MAX_TILES
#define CG_GEMM_NT_MAX_TILES 64
#endif
// The same for products with B untransposed (op(A) B): the most 6x16 tiles of C with k >= CG_GEMM_NT_KC.
#ifndef CG_GEMM_NB_MAX_TILES
#define CG_GEMM_NB_MAX_TILES 128
#endif
// Longest k for which a product with B untransposed goes gemm_nb_split8 in one launch on CPU devices
// (a rank-k update: packing op(A) would take a second launch as long as the product).
#ifndef CG_GEMM_NB_SHORT_K
#define CG_GEMM_NB_SHORT_K 8
#endif

// Whether a product goes a split path: one product, and either C = alpha A B^T + beta C (k
// contiguous in both operands) with few tiles of C and a long k (the packed path would run few
// work-items per k block, and pack long operands only to read them once) or a C of fewer than 6
// rows or columns (a 6x16 tile would be mostly padding); or C = alpha op(A) B + beta C with B
// untransposed, a long k and few tiles (B read where it lies, rows contiguous along n), or on CPUs a
// short k (one launch instead of packing op(A) and then multiplying; the same fma chain per element,
// so the same bits as the packed path).
int cg_gemm_thin_fits(const cg_runtime *rt, const cg_gemm_args *g, size_t batch) {
    if (batch != 1) return 0;
    // The partial tiles must fit one allocation (else the packed path, which blocks k, runs it).
    size_t cap = rt->dev.max_alloc ? (size_t)(rt->dev.max_alloc / sizeof(float)) : (size_t)-1;
    if (g->m * g->n > cap / cg_ceil_div(g->k, CG_GEMM_NT_KC)) return 0;
    size_t tiles = cg_ceil_div(g->m, GEMM_MR) * cg_ceil_div(g->n, GEMM_NR);
    if (!g->trans_b)
        return (g->k >= CG_GEMM_NT_KC && tiles <= CG_GEMM_NB_MAX_TILES) ||
               (g->k <= CG_GEMM_NB_SHORT_K && (rt->dev.type & CL_DEVICE_TYPE_CPU));
    if (g->trans_a) return 0;
    return (g->k >= CG_GEMM_NT_KC && tiles <= CG_GEMM_NT_MAX_TILES) || g->m < GEMM_MR || g->n < GEMM_MR;
}

// C = alpha * (chunk sums in the temporary buffer, added in chunk order) + beta * C.
static cg_status split_reduce(cg_runtime *rt, const cg_gemm_args *g, size_t splits) {
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_thin", "gemm_split_reduce", &kern));
    cl_int sp = (cl_int)splits, m = (cl_int)g->m, n = (cl_int)g->n;
    cl_ulong p_off = 0, c_off = g->c_off, ldc = g->ldc;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(rt->gemm_temp), CG_ARG(p_off), CG_ARG(sp), CG_ARG(m), CG_ARG(n),
                                     CG_ARG(g->c), CG_ARG(c_off), CG_ARG(ldc), CG_ARG(g->alpha), CG_ARG(g->beta))));
    size_t rl = cg_kernel_local_size(rt, kern);
    if (rl > 64) rl = 64;
    size_t cb = cg_ceil_div(g->n, 8); // 8-column blocks
    if (rl > cb) rl = cb;
    size_t rlocal[3] = {rl, 1, 1}, rglobal[3] = {cg_ceil_div(cb, rl) * rl, g->m, 1};
    cg_profile_work(rt, (double)g->m * (double)g->n * (double)splits, 0);
    return cg_gemm_enqueue(rt, kern, "gemm_split_reduce", rglobal, rlocal);
}

// m = 1: gemm_nb_gemv, one launch, one work-item per 16 columns over the whole k.
static cg_status thin_gemv(cg_runtime *rt, const cg_gemm_args *g) {
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_thin", "gemm_nb_gemv", &kern));
    cl_ulong a_off = g->a_off, a_sk = g->trans_a ? g->lda : 1, b_off = g->b_off, ldb = g->ldb, c_off = g->c_off;
    cl_int n = (cl_int)g->n, k = (cl_int)g->k, kc = CG_GEMM_NT_KC;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(g->a), CG_ARG(a_off), CG_ARG(a_sk), CG_ARG(g->b), CG_ARG(b_off),
                                     CG_ARG(ldb), CG_ARG(g->c), CG_ARG(c_off), CG_ARG(n), CG_ARG(k), CG_ARG(kc),
                                     CG_ARG(g->alpha), CG_ARG(g->beta))));
    size_t local[3] = {1, 1, 1}, global[3] = {cg_ceil_div(g->n, 16), 1, 1};
    cg_profile_work(rt, 2.0 * (double)g->n * (double)g->k, 0);
    return cg_gemm_enqueue(rt, kern, "gemm_nb_gemv", global, local);
}

// C = alpha op(A) B + beta C with B untransposed: gemm_nb_split8 over chunks of CG_GEMM_NT_KC along
// k, then gemm_split_reduce; m = 1 with a long k goes to gemm_nb_gemv (the same sum order).
static cg_status thin_nb(cg_runtime *rt, const cg_gemm_args *g) {
    if (g->m == 1 && g->k >= CG_GEMM_NT_KC) return thin_gemv(rt, g);
    size_t splits = cg_ceil_div(g->k, CG_GEMM_NT_KC);
    if (splits > 1) CG_TRY(cg_gemm_temp_reserve(rt, splits * g->m * g->n * sizeof(float)));
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_thin", "gemm_nb_split8", &kern));
    cl_ulong a_off = g->a_off, a_si = g->trans_a ? 1 : g->lda, a_sk = g->trans_a ? g->lda : 1;
    cl_ulong b_off = g->b_off, ldb = g->ldb;
    cl_ulong o_off = splits > 1 ? 0 : g->c_off, ldo = splits > 1 ? g->n : g->ldc;
    cl_mem out = splits > 1 ? rt->gemm_temp : g->c;
    float o_alpha = splits > 1 ? 1.0f : g->alpha, o_beta = splits > 1 ? 0.0f : g->beta;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)g->k, kc = CG_GEMM_NT_KC;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(g->a), CG_ARG(a_off), CG_ARG(a_si), CG_ARG(a_sk), CG_ARG(g->b),
                                     CG_ARG(b_off), CG_ARG(ldb), CG_ARG(out), CG_ARG(o_off), CG_ARG(ldo), CG_ARG(m),
                                     CG_ARG(n), CG_ARG(k), CG_ARG(kc), CG_ARG(o_alpha), CG_ARG(o_beta))));
    // A work-group: the column tiles (8x32) of one row block and chunk (up to 4: they share its rows of A).
    size_t nt = cg_ceil_div(g->n, 32), mt = cg_ceil_div(g->m, 8);
    size_t lx = nt < 4 ? nt : 4, kmax = cg_kernel_local_size(rt, kern);
    if (lx > kmax) lx = kmax ? kmax : 1;
    size_t local[3] = {lx, 1, 1}, global[3] = {cg_ceil_div(nt, lx) * lx, mt, splits};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)g->k, 0);
    CG_TRY(cg_gemm_enqueue(rt, kern, "gemm_nb_split8", global, local));
    return splits > 1 ? split_reduce(rt, g, splits) : CG_OK;
}

// The A B^T split kernels: tile rows and columns per work-item.
static const struct {
    const char *name;
    size_t rows, cols;
} nt_kernels[] = {{"gemm_nt_split", 4, 4}, {"gemm_nt_split16", 4, 8}, {"gemm_nt_row16", 1, 16}};

// Test hook: which A B^T kernel the split path takes (-1 the device's rule, else an index of nt_kernels).
static int nt_forced = -1;

int cg_gemm_thin_force_nt(int variant) {
    int old = nt_forced;
    nt_forced = variant;
    return old;
}

// The split paths (cl/gemm_thin.cl; gemm_split_reduce when k has several chunks): chunks of
// CG_GEMM_NT_KC along k, a fixed number for the shape, so the result does not depend on the device.
// A B^T: 4x4 tiles (gemm_nt_split), or where floats have 16-lane native vectors 4x8 (gemm_nt_split16)
// and for one row 1x16 (gemm_nt_row16); all three give the same sums.
cg_status cg_gemm_thin(cg_runtime *rt, const cg_gemm_args *g) {
    if (!g->trans_b) return thin_nb(rt, g);
    int v = nt_forced;
    if (v < 0 || v >= (int)(sizeof nt_kernels / sizeof nt_kernels[0]))
        v = cg_gemm_tile_default(&rt->dev) != CG_GEMM_TILE_6X32 ? 0 : g->m == 1 ? 2 : 1;
    size_t splits = cg_ceil_div(g->k, CG_GEMM_NT_KC);
    size_t mt = cg_ceil_div(g->m, nt_kernels[v].rows), nt = cg_ceil_div(g->n, nt_kernels[v].cols);
    if (splits > 1) CG_TRY(cg_gemm_temp_reserve(rt, splits * g->m * g->n * sizeof(float)));
    const char *name = nt_kernels[v].name;
    cl_kernel kern;
    CG_TRY(cg_kernel_get(rt, "gemm_thin", name, &kern));
    cl_ulong a_off = g->a_off, lda = g->lda, b_off = g->b_off, ldb = g->ldb;
    cl_ulong o_off = splits > 1 ? 0 : g->c_off, ldo = splits > 1 ? g->n : g->ldc;
    cl_mem out = splits > 1 ? rt->gemm_temp : g->c;
    float o_alpha = splits > 1 ? 1.0f : g->alpha, o_beta = splits > 1 ? 0.0f : g->beta;
    cl_int m = (cl_int)g->m, n = (cl_int)g->n, k = (cl_int)g->k, kc = CG_GEMM_NT_KC;
    CG_TRY(cg_set_args(kern, CG_ARGS(CG_ARG(g->a), CG_ARG(a_off), CG_ARG(lda), CG_ARG(g->b), CG_ARG(b_off),
                                     CG_ARG(ldb), CG_ARG(out), CG_ARG(o_off), CG_ARG(ldo), CG_ARG(m), CG_ARG(n),
                                     CG_ARG(k), CG_ARG(kc), CG_ARG(o_alpha), CG_ARG(o_beta))));
    // A work-group: the tiles of one chunk (their operands' chunk stays in one core's cache).
    size_t local[3] = {mt < 8 ? mt : 8, nt < 8 ? nt : 8, 1};
    size_t kmax = cg_kernel_local_size(rt, kern);
    while (local[0] * local[1] > kmax && (local[0] > 1 || local[1] > 1)) {
        if (local[0] >= local[1]) local[0] = (local[0] + 1) / 2;
        else local[1] = (local[1] + 1) / 2;
    }
    size_t global[3] = {cg_ceil_div(mt, local[0]) * local[0], cg_ceil_div(nt, local[1]) * local[1], splits};
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)g->k, 0);
    CG_TRY(cg_gemm_enqueue(rt, kern, name, global, local));
    return splits > 1 ? split_reduce(rt, g, splits) : CG_OK;
}
