// gemm.c — row-major SGEMM: dispatch between CLBlast (with our own temporary buffer, strided
// batches) and the own kernels (gemm_own.c), and the plain C reference the tests and benchmarks
// check against.
#include "kernel_profile.h"
#include "runtime_internal.h"

#include <clblast_c.h>
#include <stdlib.h>

static const char *clblast_code_name(CLBlastStatusCode code) {
    switch (code) {
    case CLBlastNotImplemented: return "not implemented";
    case CLBlastInvalidMatrixA: case CLBlastInvalidMatrixB: case CLBlastInvalidMatrixC: return "invalid matrix buffer";
    case CLBlastInvalidDimension: return "invalid dimension (m, n, k must be positive)";
    case CLBlastInvalidLeadDimA: case CLBlastInvalidLeadDimB: case CLBlastInvalidLeadDimC: return "leading dimension too small";
    case CLBlastInsufficientMemoryA: case CLBlastInsufficientMemoryB: case CLBlastInsufficientMemoryC:
        return "a matrix does not fit in its buffer";
    case CLBlastInsufficientMemoryTemp: return "temporary buffer too small";
    case CLBlastInvalidBatchCount: return "invalid batch count";
    case CLBlastInvalidLocalMemUsage: return "not enough local memory on the device";
    case CLBlastDatabaseError: return "no tuning database entry for the device";
    default: return code > -1000 ? cg_status_name((cg_status)code) : "CLBlast error";
    }
}

static cg_status clblast_status(CLBlastStatusCode code, const char *what, const cg_gemm_args *g) {
    if (code == CLBlastSuccess) return CG_OK;
    // CLBlast passes OpenCL codes through and uses -1024..-1007 and -2050..-2039 for its own.
    cg_status st = code > -1000 ? (cg_status)code : CG_ERR_CLBLAST;
    return cg_fail(st, "%s (m=%zu n=%zu k=%zu, trans %d%d) failed: CLBlast status %d (%s)", what, g->m, g->n, g->k,
                   g->trans_a, g->trans_b, (int)code, clblast_code_name(code));
}

// C = beta * C, the whole product when k = 0.
static cg_status scale_c(cg_runtime *rt, const cg_gemm_args *g, size_t c_off) {
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "blas", "gemm_scale_c", &k));
    cl_ulong off = c_off, ldc = g->ldc, m = g->m, n = g->n;
    return cg_launch1d(rt, k, g->m * g->n, CG_ARG(g->c), CG_ARG(off), CG_ARG(ldc), CG_ARG(m), CG_ARG(n),
                       CG_ARG(g->beta));
}

// Checks that every matrix fits in its leading dimension (CLBlast would report it less clearly).
static cg_status check_args(const cg_gemm_args *g) {
    size_t a_cols = g->trans_a ? g->m : g->k, b_cols = g->trans_b ? g->k : g->n;
    if (a_cols == 0) a_cols = 1;
    if (b_cols == 0) b_cols = 1;
    if (g->lda < a_cols || g->ldb < b_cols || g->ldc < g->n)
        return cg_fail(CG_ERR_INVALID_ARG, "gemm m=%zu n=%zu k=%zu: leading dimensions lda=%zu ldb=%zu ldc=%zu are "
                                           "smaller than the rows they hold",
                       g->m, g->n, g->k, g->lda, g->ldb, g->ldc);
    return CG_OK;
}

// The temporary buffer of CLBlast and of the own kernels' packed panels. It grows geometrically
// from 1 MiB, so a sequence of growing products reallocates it a few times only, but never past
// the device's largest allocation. (Oclgrind's uninitialised-value tracking also loses count when
// a buffer still bound as a kernel argument is released and its successor released again; a
// buffer big enough for the tests avoids that.)
cg_status cg_gemm_temp_reserve(cg_runtime *rt, size_t bytes) {
    if (bytes <= rt->gemm_temp_bytes && rt->gemm_temp) return CG_OK;
    size_t max = rt->dev.max_alloc ? (size_t)rt->dev.max_alloc : (size_t)-1;
    if (bytes > max)
        return cg_fail(CL_INVALID_BUFFER_SIZE, "the GEMM temporary buffer needs %zu MiB, more than %s's largest "
                                               "allocation (%zu MiB)",
                       bytes >> 20, rt->dev.name, max >> 20);
    size_t want = rt->gemm_temp_bytes + rt->gemm_temp_bytes / 2;
    if (want < ((size_t)1 << 20)) want = (size_t)1 << 20;
    if (want > max) want = max;
    if (bytes < want) bytes = want;
    cl_int err;
    cl_mem buf = clCreateBuffer(rt->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return cg_fail(err, "allocating %zu bytes for the GEMM temporary buffer failed: %s", bytes,
                       cg_status_name(err));
    if (rt->gemm_temp) clReleaseMemObject(rt->gemm_temp);
    rt->gemm_temp = buf;
    rt->gemm_temp_bytes = bytes;
    return CG_OK;
}

size_t cg_gemm_temp_bytes(const cg_runtime *rt) { return rt->gemm_temp_bytes; }

#define TRANS(t) ((t) ? CLBlastTransposeYes : CLBlastTransposeNo)

const char *cg_gemm_impl_name(cg_gemm_impl impl) {
    return impl == CG_GEMM_CLBLAST ? "clblast" : impl == CG_GEMM_OWN ? "own" : "auto";
}

void cg_gemm_force(cg_runtime *rt, cg_gemm_impl impl) { rt->gemm_policy.force = impl; }

cg_gemm_impl cg_gemm_pick(const cg_runtime *rt, size_t m, size_t n, size_t k) {
    const cg_gemm_policy *p = &rt->gemm_policy;
    if (p->force != CG_GEMM_AUTO) return p->force;
    return p->own && (double)m * (double)n * (double)k >= p->own_min_mnk ? CG_GEMM_OWN : CG_GEMM_CLBLAST;
}

cg_status cg_gemm(cg_runtime *rt, const cg_gemm_args *g) {
    if (g->m == 0 || g->n == 0) return CG_OK;
    CG_TRY(check_args(g));
    if (g->k == 0) return scale_c(rt, g, g->c_off);
    if (cg_gemm_pick(rt, g->m, g->n, g->k) == CG_GEMM_OWN) return cg_gemm_own(rt, g, 0, 0, 0, 1);
    size_t temp = 0;
    CLBlastStatusCode code =
        CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, TRANS(g->trans_a), TRANS(g->trans_b), g->m, g->n, g->k,
                                   g->a_off, g->lda, g->b_off, g->ldb, g->c_off, g->ldc, &rt->queue, &temp);
    CG_TRY(clblast_status(code, "CLBlastSGemmTempBufferSize", g));
    CG_TRY(cg_gemm_temp_reserve(rt, temp));
    cl_event ev, *evp = cg_profile_event_slot(rt, &ev);
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)g->k, 0);
    code = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, TRANS(g->trans_a), TRANS(g->trans_b), g->m, g->n, g->k,
                                      g->alpha, g->a, g->a_off, g->lda, g->b, g->b_off, g->ldb, g->beta, g->c,
                                      g->c_off, g->ldc, &rt->queue, evp, rt->gemm_temp);
    if (code == CLBlastSuccess && evp) cg_profile_record(rt, NULL, "clblast_sgemm", ev);
    return clblast_status(code, "CLBlastSgemm", g);
}

cg_status cg_gemm_batched(cg_runtime *rt, const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t c_stride,
                          size_t batch) {
    if (g->m == 0 || g->n == 0 || batch == 0) return CG_OK;
    CG_TRY(check_args(g));
    if (g->k == 0) {
        for (size_t i = 0; i < batch; i++) CG_TRY(scale_c(rt, g, g->c_off + i * c_stride));
        return CG_OK;
    }
    if (cg_gemm_pick(rt, g->m, g->n, g->k) == CG_GEMM_OWN)
        return cg_gemm_own(rt, g, a_stride, b_stride, c_stride, batch);
    // CLBlast 1.5 has no temp-buffer variant of the strided batched call; it allocates its own.
    cl_event ev;
    cg_profile_work(rt, 2.0 * (double)g->m * (double)g->n * (double)g->k * (double)batch, 0);
    CLBlastStatusCode code = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, TRANS(g->trans_a), TRANS(g->trans_b), g->m, g->n, g->k, g->alpha, g->a, g->a_off,
        g->lda, a_stride, g->b, g->b_off, g->ldb, b_stride, g->beta, g->c, g->c_off, g->ldc, c_stride, batch,
        &rt->queue, cg_profile_event_slot(rt, &ev));
    if (code == CLBlastSuccess && cg_profile_active(rt)) cg_profile_record(rt, NULL, "clblast_sgemm_batched", ev);
    return clblast_status(code, "CLBlastSgemmStridedBatched", g);
}

void cg_gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                 const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0;
            for (size_t p = 0; p < k; p++) {
                float av = trans_a ? a[p * lda + i] : a[i * lda + p];
                float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc += (double)av * bv;
            }
            // beta == 0 overwrites, so NaN garbage in C does not leak through (BLAS convention).
            c[i * ldc + j] = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j]));
        }
}
