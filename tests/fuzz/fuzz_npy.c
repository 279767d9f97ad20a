// fuzz_npy.c — .npy arrays through cg_npy_parse (the in-memory parser .npz entries use) and
// cg_npy_read_f32 (`clgan sample --z`).
// fuzz-libs: clgan_metrics
#include "fuzz_util.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_array a;
    if (cg_npy_parse(data, size, "fuzz.npy", &a) == CG_OK) {
        fuzz_touch(a.data, (size_t)a.count * sizeof *a.data);
        cg_array_free(&a);
    }
    float *values = NULL;
    int ndim = 0;
    int64_t shape[CG_NPY_MAX_DIMS];
    if (cg_npy_read_f32(fuzz_file("in.npy", data, size), &values, &ndim, shape) == CG_OK) {
        size_t count = 1;
        for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
        fuzz_touch(values, count * sizeof *values);
        free(values);
    }
    return 0;
}
