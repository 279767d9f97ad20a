// mtcnn_list.h — the MTCNN detector over a folder of images: where its weights are, and a landmark
// list in CelebA's list_landmarks_align_celeba.txt layout (mtcnn_list.c).
#ifndef CLGAN_MTCNN_LIST_H
#define CLGAN_MTCNN_LIST_H

#include "mtcnn.h"

#include <stdio.h>

#define CG_MTCNN_WEIGHTS_NAME "mtcnn.safetensors"

// The weights file: `configured` when non-empty ([landmarks] weights), else $CLGAN_MTCNN_WEIGHTS
// when set, else <cache dir>/mtcnn.safetensors. The first one set is used; CG_ERR_IO naming every
// place looked at (and how to obtain the weights) when that file does not exist.
cg_status cg_mtcnn_find_weights(const cg_runtime *rt, const char *configured, char *buf, size_t len);

typedef struct {
    size_t images, with_face;
    char **no_face;    // names of readable images without a face
    size_t n_no_face;
    char **unreadable; // names of files that could not be decoded
    size_t n_unreadable;
    double seconds;
} cg_mtcnn_list_result;

// Detects faces in every image of images_dir (sorted by name; `limit` > 0: the first limit) and
// writes out_path atomically: the count line, CelebA's header, one row per image with a face: the
// most probable face's landmarks in the 178x218 reference frame (cg_landmarks_to_image inverts
// it). boxes_path (NULL or ""): also "name,x1,y1,x2,y2,prob" in image pixels. progress: a bar.
cg_status cg_mtcnn_landmark_list(cg_mtcnn *m, const cg_mtcnn_params *p, const char *images_dir, long limit,
                                 int max_side, const char *out_path, const char *boxes_path, FILE *progress,
                                 cg_mtcnn_list_result *r);
void cg_mtcnn_list_result_free(cg_mtcnn_list_result *r);

#endif
