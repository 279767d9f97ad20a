// fuzz_safetensors.c — safetensors files (weights, checkpoints, --set train.init files) through
// cg_safetensors_open, then every tensor, its shape and data and the metadata, as loaders read them.
// fuzz-libs: clgan_nets
#include "fuzz_util.h"
#include "nets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_st_file *f = NULL;
    if (cg_safetensors_open(fuzz_file("in.safetensors", data, size), &f) != CG_OK) return 0;
    for (int i = 0; i < cg_safetensors_count(f); i++) {
        const char *name = cg_safetensors_name(f, i);
        const int *shape = NULL;
        const float *values = NULL;
        int ndim = 0;
        if (cg_safetensors_get(f, name, &shape, &ndim, &values) != CG_OK) continue;
        size_t count = 1;
        for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
        fuzz_touch(values, count * sizeof *values);
    }
    static const char *const keys[] = {"format", "step", "model_type", "image_size", "nz", "config", "checksum"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = cg_safetensors_meta(f, keys[k]);
        if (v) fuzz_touch(v, strlen(v));
    }
    cg_safetensors_close(f);
    return 0;
}
