// mtcnn.h — MTCNN face detection (P-Net, R-Net, O-Net on nets/ layers, on the OpenCL device), as
// facenet-pytorch runs it: image pyramid, per-scale and cross-scale NMS, square boxes, 24x24 and
// 48x48 area-resampled crops, thresholds, and the five landmarks (CelebA's cg_landmarks order).
#ifndef CLGAN_MTCNN_H
#define CLGAN_MTCNN_H

#include "celeba.h"
#include "runtime.h"

typedef struct {
    float box[4];     // x1, y1, x2, y2 in image pixels
    float prob;       // O-Net face probability
    cg_landmarks lm;  // image pixels
} cg_face;

typedef struct {
    const uint8_t *rgb; // w*h*3
    int w, h;
} cg_mtcnn_image;

typedef struct {
    int min_face;       // pixels (facenet-pytorch: 20)
    double factor;      // pyramid scale step (0.709)
    float thresh[3];    // P-Net, R-Net, O-Net (0.6, 0.7, 0.7)
} cg_mtcnn_params;

cg_mtcnn_params cg_mtcnn_defaults(void);

typedef struct cg_mtcnn cg_mtcnn;
// Loads the weights (tools/convert_mtcnn.py's safetensors) and builds the three nets.
cg_status cg_mtcnn_create(cg_runtime *rt, const char *weights, cg_mtcnn **out);
void cg_mtcnn_free(cg_mtcnn *m);
// Detects faces in n images; faces[i] (malloc'd, counts[i] entries, NULL when none) in decreasing
// probability.
cg_status cg_mtcnn_detect(cg_mtcnn *m, const cg_mtcnn_params *p, const cg_mtcnn_image *imgs, int n, cg_face **faces,
                          int *counts);

#endif
