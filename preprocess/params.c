// params.c — preprocessing parameters: the defaults (the shipped thresholds) and the [preprocess]
// section of an INI configuration, with ranges checked by the runtime's typed getters.
#include "filters.h"

#include <string.h>

void cg_pp_params_default(cg_pp_params *p) {
    memset(p, 0, sizeof *p);
    p->input = "data/celeba";
    p->images = p->landmarks = p->attributes = p->partitions = "";
    p->partition = "all";
    p->output = "data/celeba64.cgds";
    p->report = "";
    p->size = 64;
    p->frontal = 1;
    p->eye_dy_max = CG_PP_EYE_DY_MAX;
    p->nose_dx_max = CG_PP_NOSE_DX_MAX;
    p->mouth_dy_max = CG_PP_MOUTH_DY_MAX;
    p->sunglasses = 1;
    p->eye_box = CG_PP_EYE_BOX;
    p->sunglasses_ratio_max = CG_PP_SUNGLASSES_RATIO_MAX;
    p->sunglasses_grey_max = CG_PP_SUNGLASSES_GREY_MAX;
    p->sunglasses_reference = CG_PP_SUNGLASSES_REFERENCE;
    p->zoom = 1;
    p->zoom_factor = CG_PP_ZOOM_FACTOR;
    p->batch = 64;
    p->threads = 0;
    p->limit = 0;
    p->max_side = 8192;
    p->reject_sheets = 1;
    p->sheet_max = 64;
}

cg_status cg_pp_params_from_config(cg_config *cfg, cg_pp_params *p) {
    cg_pp_params_default(p);
    const char *S = "preprocess";
    long v;
    CG_TRY(cg_config_str(cfg, S, "input", p->input, NULL, &p->input));
    CG_TRY(cg_config_str(cfg, S, "images", p->images, NULL, &p->images));
    CG_TRY(cg_config_str(cfg, S, "landmarks", p->landmarks, NULL, &p->landmarks));
    CG_TRY(cg_config_str(cfg, S, "attributes", p->attributes, NULL, &p->attributes));
    CG_TRY(cg_config_str(cfg, S, "partitions", p->partitions, NULL, &p->partitions));
    CG_TRY(cg_config_str(cfg, S, "partition", p->partition, "all|train|val|test", &p->partition));
    CG_TRY(cg_config_str(cfg, S, "output", p->output, NULL, &p->output));
    CG_TRY(cg_config_str(cfg, S, "report", p->report, NULL, &p->report));
    CG_TRY(cg_config_int(cfg, S, "size", p->size, 8, 1024, &v));
    p->size = (int)v;
    CG_TRY(cg_config_bool(cfg, S, "frontal", p->frontal, &p->frontal));
    CG_TRY(cg_config_float(cfg, S, "eye_dy_max", p->eye_dy_max, 0, 10, &p->eye_dy_max));
    CG_TRY(cg_config_float(cfg, S, "nose_dx_max", p->nose_dx_max, 0, 10, &p->nose_dx_max));
    CG_TRY(cg_config_float(cfg, S, "mouth_dy_max", p->mouth_dy_max, 0, 10, &p->mouth_dy_max));
    CG_TRY(cg_config_bool(cfg, S, "sunglasses", p->sunglasses, &p->sunglasses));
    CG_TRY(cg_config_float(cfg, S, "eye_box", p->eye_box, 0.05, 2, &p->eye_box));
    CG_TRY(cg_config_float(cfg, S, "sunglasses_ratio_max", p->sunglasses_ratio_max, 0, 10, &p->sunglasses_ratio_max));
    CG_TRY(cg_config_float(cfg, S, "sunglasses_grey_max", p->sunglasses_grey_max, 0, 256, &p->sunglasses_grey_max));
    CG_TRY(cg_config_str(cfg, S, "sunglasses_reference", p->sunglasses_reference, "crop|image",
                         &p->sunglasses_reference));
    CG_TRY(cg_config_bool(cfg, S, "zoom", p->zoom, &p->zoom));
    CG_TRY(cg_config_float(cfg, S, "zoom_factor", p->zoom_factor, 0.5, 10, &p->zoom_factor));
    CG_TRY(cg_config_int(cfg, S, "batch", p->batch, 1, 4096, &v));
    p->batch = (int)v;
    CG_TRY(cg_config_int(cfg, S, "threads", p->threads, 0, 256, &v));
    p->threads = (int)v;
    CG_TRY(cg_config_int(cfg, S, "limit", p->limit, 0, 1L << 40, &p->limit));
    CG_TRY(cg_config_int(cfg, S, "max_side", p->max_side, 16, 1 << 16, &v));
    p->max_side = (int)v;
    CG_TRY(cg_config_bool(cfg, S, "reject_sheets", p->reject_sheets, &p->reject_sheets));
    CG_TRY(cg_config_int(cfg, S, "sheet_max", p->sheet_max, 1, 1024, &v));
    p->sheet_max = (int)v;
    return CG_OK;
}
