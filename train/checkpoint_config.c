// checkpoint_config.c — a training checkpoint's own description of its run (model, step,
// effective configuration), every number range-checked before it becomes an int.
#include "checkpoint_config.h"

#include "nets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static cg_status meta_range(const cg_st_file *f, const char *path, const char *key, long lo, long hi, long *out) {
    const char *v = cg_safetensors_meta(f, key);
    if (!v) return cg_fail(CG_ERR_FORMAT, "checkpoint %s: metadata lacks '%s'", path, key);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return cg_fail(CG_ERR_FORMAT, "checkpoint %s: metadata '%s' = \"%.40s\" is not an integer in %ld..%ld", path,
                       key, v, lo, hi);
    *out = x;
    return CG_OK;
}

cg_status cg_checkpoint_stored(const char *path, cg_ckpt_stored *out) {
    memset(out, 0, sizeof *out);
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    const char *type = cg_safetensors_meta(f, "model_type");
    cg_status st = type ? cg_model_type_parse(type, &out->model.type)
                        : cg_fail(CG_ERR_NOT_FOUND, "checkpoint %s names no model in its metadata", path);
    // The ranges of cg_model_config_read ([model]) and of the trainer's counters.
    static const struct {
        const char *key;
        long lo, hi;
    } keys[] = {{"image_size", 1, 4096}, {"channels", 1, 4}, {"nz", 1, 65536}, {"ngf", 1, 4096},
                {"ndf", 1, 4096},        {"step", 0, 1000000000L}};
    long v[6] = {0};
    for (int i = 0; st == CG_OK && i < 6; i++) st = meta_range(f, path, keys[i].key, keys[i].lo, keys[i].hi, &v[i]);
    if (st == CG_OK) {
        cg_model_config *mc = &out->model;
        mc->image_size = (int)v[0], mc->channels = (int)v[1], mc->nz = (int)v[2], mc->ngf = (int)v[3];
        mc->ndf = (int)v[4];
        out->step = v[5];
        const char *text = cg_safetensors_meta(f, "config");
        out->config_text = strdup(text ? text : "");
        if (!out->config_text) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    cg_safetensors_close(f);
    if (st != CG_OK) cg_ckpt_stored_free(out);
    return st;
}

void cg_ckpt_stored_free(cg_ckpt_stored *s) {
    free(s->config_text);
    s->config_text = NULL;
}
