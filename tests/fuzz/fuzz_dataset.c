// fuzz_dataset.c — packed datasets (`clgan train`, `score`/`stats` on a .bin) through
// cg_dataset_open with and without checksum verification, then every image and name.
// fuzz-libs: clgan_preprocess
#include "fuzz_util.h"
#include "preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("in.bin", data, size);
    for (int verify = 0; verify < 2; verify++) {
        cg_dataset *ds = NULL;
        if (cg_dataset_open(path, verify, &ds) != CG_OK) continue;
        uint32_t h, w, c;
        cg_dataset_shape(ds, &h, &w, &c);
        for (uint32_t i = 0; i < cg_dataset_count(ds); i++) {
            fuzz_touch(cg_dataset_image(ds, i), (size_t)h * w * c);
            const char *name = cg_dataset_name(ds, i);
            fuzz_touch(name, strlen(name));
        }
        fuzz_sink += cg_dataset_checksum(ds);
        cg_dataset_close(ds);
    }
    return 0;
}
