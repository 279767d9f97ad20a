// fuzz_npz.c — .npz archives (pytorch-fid statistics) through cg_stats_load, as `clgan score --ref`
// reads them, and cg_npz_read of one key.
// fuzz-libs: clgan_metrics
#include "fuzz_util.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("in.npz", data, size);
    cg_stats s;
    memset(&s, 0, sizeof s);
    if (cg_stats_load(path, &s) == CG_OK) {
        fuzz_touch(s.mu, (size_t)s.d * sizeof *s.mu);
        fuzz_touch(s.sigma, (size_t)s.d * (size_t)s.d * sizeof *s.sigma);
        cg_stats_free(&s);
    }
    cg_array a;
    if (cg_npz_read(path, "x", &a) == CG_OK) {
        fuzz_touch(a.data, (size_t)a.count * sizeof *a.data);
        cg_array_free(&a);
    }
    return 0;
}
