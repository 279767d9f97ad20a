// fuzz_image.c — image files through cg_image_load (stb_image behind clgan's header checks and
// per-side limit), the loader `preprocess` and, for folders, `score` and `stats` use.
// fuzz-libs: clgan_preprocess
#include "fuzz_util.h"
#include "preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_decoded d;
    memset(&d, 0, sizeof d);
    cg_image_load(fuzz_file("in.img", data, size), 512, &d); // small limit: keeps executions fast
    if (d.ok) fuzz_touch(d.pixels, (size_t)d.w * (size_t)d.h * 3);
    cg_decoded_release(&d);
    return 0;
}
