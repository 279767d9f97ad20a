// checkpoint_config.h — what a training checkpoint says about the run that wrote it, read with
// every value range-checked: the model, the step and the effective configuration text.
#ifndef CLGAN_CHECKPOINT_CONFIG_H
#define CLGAN_CHECKPOINT_CONFIG_H

#include "models.h"

typedef struct {
    cg_model_config model;
    long step;
    char *config_text; // malloc'd; "" when the checkpoint stores none
} cg_ckpt_stored;

// Reads path's metadata. CG_ERR_NOT_FOUND when it names no model (e.g. a generator-only export); a
// value outside the range [model] accepts (e.g. ngf = 99999999999) or a missing key fails with
// CG_ERR_FORMAT naming the file and the key.
cg_status cg_checkpoint_stored(const char *path, cg_ckpt_stored *out);
void cg_ckpt_stored_free(cg_ckpt_stored *s);

#endif
