// fuzz_checkpoint.c — training checkpoints' self-description, read without a device as `sample
// --checkpoint`, `train --resume` and `score --checkpoint` read it first: cg_checkpoint_model and
// cg_checkpoint_stored (model, step, effective configuration) over the safetensors container.
// fuzz-libs: clgan_train
#include "fuzz_util.h"
#include "checkpoint_config.h"
#include "train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("in.ckpt", data, size);
    cg_model_config mc;
    memset(&mc, 0, sizeof mc);
    if (cg_checkpoint_model(path, &mc) == CG_OK) fuzz_touch(&mc, sizeof mc);
    cg_ckpt_stored s;
    if (cg_checkpoint_stored(path, &s) == CG_OK) {
        fuzz_touch(s.config_text, strlen(s.config_text));
        fuzz_sink += (uint64_t)s.step;
        cg_ckpt_stored_free(&s);
    }
    return 0;
}
