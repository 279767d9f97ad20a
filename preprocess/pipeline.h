// pipeline.h — the preprocessing pipeline (pipeline.c) from list files to packed dataset, with
// each entry's outcome, the stages' counts and the timing.
#ifndef CLGAN_PIPELINE_H
#define CLGAN_PIPELINE_H

#include "celeba.h"
#include "filters.h"
#include "runtime.h"
#include <stdio.h>

// Pipeline (pipeline.c): list -> landmarks -> frontal -> decode -> sunglasses -> crop/resize -> write.

typedef enum {
    CG_PP_KEPT,           // written to the dataset
    CG_PP_PARTITION,      // not in the selected partition
    CG_PP_MISSING,        // listed, no file
    CG_PP_NO_LANDMARKS,   // the landmark filters need a landmark row
    CG_PP_NOT_FRONTAL,
    CG_PP_BROKEN,         // could not be decoded (see the issues)
    CG_PP_SUNGLASSES,
    CG_PP_BEYOND_LIMIT,   // after the first `limit` entries
    CG_PP_OUTCOMES
} cg_pp_outcome;

typedef struct {
    uint8_t outcome;
    cg_frontal_metrics fm;  // when the entry has landmarks
    float eye_left, eye_right, ref_mean; // grey means (0..255) when decoded, else NAN
    float sun_score;        // cg_sunglasses_score, NAN when not measured
} cg_pp_item;

typedef struct {
    const char *name;
    size_t kept, removed;
    char note[160];
} cg_pp_stage;

typedef struct {
    double total_s, list_s, decode_thread_s, device_s, write_s;
    size_t decoded;   // images decoded (including sheet-only ones)
} cg_pp_timing;

typedef struct {
    cg_celeba_set set;  // names, landmarks, attributes of every entry
    cg_pp_item *items;  // one per set entry
    cg_issue_list issues; // malformed rows (copied from the reader) and broken/missing images
    cg_pp_stage stages[8];
    int n_stages;
    size_t written;
    uint64_t checksum;  // of the written dataset
    char images_dir[1024], output[1024];
    char landmarks[1024], attributes[1024], partitions[1024]; // list files used ("" = none)
    int landmark_filters; // 0 when no landmarks were available (plain folder)
    char notes[8][CG_NOTE_LEN];
    int n_notes;
    // Contact sheets of rejects: up to sheet_max crops each (size x size x 3), in input order.
    uint8_t *sheet[2];    // 0: frontal, 1: sunglasses
    int sheet_n[2];
    cg_pp_timing timing;
} cg_pp_result;

// The folder and list files p names: explicit values win ("none" disables a list), else the
// standard CelebA names inside p->input when they exist; images default to <input>/img_align_celeba
// if that folder exists, else <input> itself (a plain folder of images).
void cg_pp_resolve_paths(const cg_pp_params *p, char images[1024], char landmarks[1024], char attributes[1024],
                         char partitions[1024]);
// The part of a w x h image the pipeline's device work reads under p, for an entry with the landmarks
// `official` (the list's 178x218 frame; NULL: landmarks are not used): the crop box and the resize
// filter's reach around it, the eye boxes and the brightness reference, as a cg_region rectangle
// r = {x0, y0, x1, y1}; r is left as preset (the whole image) without landmarks or when the
// reference is the whole image. cg_preprocess_run decodes only this part (unless p->whole_images).
void cg_pp_needed_region(const cg_pp_params *p, const cg_landmarks *official, int w, int h, int r[4]);
cg_status cg_preprocess_run(cg_runtime *rt, const cg_pp_params *p, FILE *progress, cg_pp_result **out);
void cg_pp_result_free(cg_pp_result *r);
const char *cg_pp_outcome_name(cg_pp_outcome o);

#endif
