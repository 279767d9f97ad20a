// cblas_min.h — the few OpenBLAS entry points the benchmarks call, declared here because Debian keeps
// OpenBLAS's cblas.h in a multiarch folder (/usr/include/x86_64-linux-gnu/openblas-pthread/) that
// is not on the include path. Values and types follow OpenBLAS's cblas.h (32-bit blasint).
#ifndef CLGAN_BENCH_CBLAS_MIN_H
#define CLGAN_BENCH_CBLAS_MIN_H

enum { BENCH_CBLAS_ROW_MAJOR = 101 };
enum { BENCH_CBLAS_NO_TRANS = 111, BENCH_CBLAS_TRANS = 112 };

void cblas_sgemm(int layout, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
char *openblas_get_config(void);
int openblas_get_num_threads(void);

#endif
