// image_ops.h — device image work on batches of decoded images: crop/resize and brightness sums
// (image_ops.c, cl/image.cl).
#ifndef CLGAN_IMAGE_OPS_H
#define CLGAN_IMAGE_OPS_H

#include "filters.h"
#include "runtime.h"
#include <stdint.h>

// Device image work (image_ops.c, cl/image.cl). A batch is n RGB uint8 images packed back to back.
// Crop/resize: a separable triangle (tent) filter whose radius is max(1, scale) source pixels,
// scale = box side / output side, so shrinking takes a tent-weighted average of every covered
// pixel (antialiasing) and enlarging is bilinear; reads beyond the image repeat its edge; results
// round to nearest.
// Brightness: exact integer sums of grey*1000 = 299 R + 587 G + 114 B over three pixel rectangles per
// image: the reference (the crop or the whole image) and the two eye boxes.

typedef struct {
    int n;
    const uint8_t *pixels;  // packed images
    const uint64_t *offset; // n byte offsets into pixels
    const int *wh;          // n (w, h) pairs
    const cg_box *crop;     // n crop boxes
    const cg_ibox *boxes;   // 3n rectangles to sum: reference, left eye, right eye (inside the image)
    size_t pixel_bytes;     // total bytes of pixels
} cg_image_batch;

typedef struct cg_image_ops cg_image_ops;
cg_status cg_image_ops_create(cg_runtime *rt, cg_image_ops **out);
void cg_image_ops_free(cg_image_ops *ops);
// Enqueues upload, crop/resize into out (n * size * size * 3, NHWC) and the grey sums into sums
// (n * 3: one per rectangle of b->boxes). With done NULL it blocks; else every host array (batch and
// outputs) must stay untouched until *done completes (then release it with clReleaseEvent).
cg_status cg_image_ops_run(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                           cl_event *done);
// The same, blocking, adding the seconds of the upload, the crop/resize and the brightness kernels
// (each finished before the next starts) to seconds[0..2]; for benchmarks.
cg_status cg_image_ops_time(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                            double seconds[3]);

#endif
