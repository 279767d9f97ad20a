// faceness.h — a face-ness score that needs no Inception weights: the share of images in which the
// MTCNN detector finds a face with probability >= 0.9, each image resized to 160x160 first (the
// detector cannot work on 32x32 or 64x64 samples), and the mean of each image's best probability.
#ifndef CLGAN_FACENESS_H
#define CLGAN_FACENESS_H

#include "inception.h"
#include "mtcnn.h"

#define CG_FACENESS_SIZE 160
#define CG_FACENESS_THRESHOLD 0.9f

typedef struct {
    int64_t n;        // images scored
    int64_t faces;    // images whose best face has probability >= CG_FACENESS_THRESHOLD
    double share;     // faces / n
    double mean_prob; // mean over images of the best face probability (0 without a face)
} cg_faceness_result;

// Scores up to n images (n <= 0: all) of src, each resized to 160x160 on the host with `mode`
// (cg_resize_ref's arithmetic, back to 8 bits). probs (may be NULL): malloc'd [out->n] per-image
// best probabilities. progress (may be NULL) receives a progress bar.
cg_status cg_faceness(cg_mtcnn *m, const cg_mtcnn_params *p, cg_image_source *src, cg_resize_mode mode, int64_t n,
                      FILE *progress, cg_faceness_result *out, float **probs);

#endif
