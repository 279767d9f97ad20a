// blas.cl — small matrix helpers around CLBlast.
//
// gemm_scale_c: C[m, n] (row stride ldc, starting at element off) = beta * C, the whole GEMM when
// k = 0 (CLBlast rejects k = 0). beta = 0 writes zeros, so NaN in C does not survive (BLAS rule).
// One work-item per element of C.
__kernel void gemm_scale_c(__global float *c, ulong off, ulong ldc, ulong m, ulong n, float beta) {
    size_t i = get_global_id(0);
    if (i >= m * n) return;
    size_t at = off + (i / n) * ldc + i % n;
    c[at] = beta == 0.0f ? 0.0f : beta * c[at];
}
