// inception.h — pytorch-fid's Inception-v3 (the FID variant, 1008 classes) on OpenCL: the network
// with BatchNorm folded into its convolutions, its safetensors weights, the input pipeline (resize
// to 299 by bilinear / bicubic / lanczos from uint8 or float images of any size), image sources
// (a folder, a packed dataset, or a caller's callback such as a generator) and the feature pass
// that yields 2048-d pool3 features and 1008-class logits for IS, FID and KID.
#ifndef CLGAN_INCEPTION_H
#define CLGAN_INCEPTION_H

#include "nets.h"

#include <stdint.h>

#define CG_INCEPTION_SIZE 299
#define CG_INCEPTION_FEATURES 2048
#define CG_INCEPTION_CLASSES 1008
// The file pytorch-fid downloads (FID_WEIGHTS_URL) and tools/convert_inception_weights.py converts.
#define CG_INCEPTION_PTH_NAME "pt_inception-2015-12-05-6726825d.pth"
#define CG_INCEPTION_WEIGHTS_NAME "pt_inception-2015-12-05.safetensors"

typedef struct cg_inception cg_inception;

// A network for batches of up to max_batch images (forward chunks larger inputs); weights unset.
cg_status cg_inception_create(cg_runtime *rt, int max_batch, cg_inception **out);
void cg_inception_free(cg_inception *net);
// Loads pytorch-fid's state_dict names from safetensors (num_batches_tracked ignored), folds each
// BatchNorm (eps 0.001) into its convolution. Every missing, mis-shaped or non-F32 tensor is listed.
cg_status cg_inception_load(cg_inception *net, const char *path);
// Random weights of the same shapes (benchmarks, kernels checks): reproducible from seed.
cg_status cg_inception_random(cg_inception *net, uint64_t seed);
int cg_inception_max_batch(const cg_inception *net);
cg_runtime *cg_inception_runtime(const cg_inception *net);

// x: [N, 3, 299, 299] in the network's range [-1, 1] -> host outputs, each may be NULL:
// pool [N, 2048], logits [N, 1008] = pool W^T + b, logits_nobias [N, 1008] = pool W^T
// (torch-fidelity's IS convention).
cg_status cg_inception_forward(cg_inception *net, cg_tensor x, float *pool, float *logits, float *logits_nobias);

// Where to look for the weights when none is given: $CLGAN_INCEPTION_WEIGHTS, else
// <cache dir>/CG_INCEPTION_WEIGHTS_NAME. A missing file fails with how to obtain and convert it.
void cg_inception_default_weights(const cg_runtime *rt, char *buf, size_t len);
cg_status cg_inception_check_weights_file(const char *path);

// ---------------------------------------------------------------------------------------------
// Input pipeline (cl/inception_input.cl).

typedef enum {
    CG_RESIZE_BILINEAR = 0, // pytorch-fid: [0,1] -> F.interpolate bilinear, align_corners=False -> 2x-1
    CG_RESIZE_BICUBIC,      // clean-fid: PIL bicubic (a = -0.5) with antialias on 0..255, clip, (x-128)/128
    CG_RESIZE_LANCZOS,      // PIL Lanczos-3 with antialias on 0..255, clip, x/127.5 - 1
} cg_resize_mode;

cg_status cg_resize_mode_parse(const char *text, cg_resize_mode *out); // "bilinear" | "bicubic" | "lanczos"
const char *cg_resize_mode_name(cg_resize_mode m);

// One image on the host: uint8 HWC (c = 1, 3 or 4; gray is replicated, alpha ignored) or float
// CHW with 3 channels in [-1, 1] (a generator's output). Exactly one of u8 / f32 is set.
typedef struct {
    int h, w, c;
    const uint8_t *u8;
    const float *f32;
} cg_image;

typedef struct cg_resizer cg_resizer;
cg_status cg_resizer_create(cg_runtime *rt, cg_resizer **out);
void cg_resizer_free(cg_resizer *r);
// img -> dst [1, 3, 299, 299] (a contiguous view, e.g. one sample of the network's input).
cg_status cg_resizer_run(cg_resizer *r, const cg_image *img, cg_resize_mode mode, cg_tensor dst);
// The plain C references of the three modes (the same arithmetic in float): out [3, size, size].
void cg_resize_ref(const cg_image *img, cg_resize_mode mode, int size, float *out);
// Any output size (tests): like cg_resizer_run but to [1, 3, size, size].
cg_status cg_resizer_run_size(cg_resizer *r, const cg_image *img, cg_resize_mode mode, int size, cg_tensor dst);

// ---------------------------------------------------------------------------------------------
// Image sources: a sequence of images read one at a time. The image handed out stays valid until
// the next call or close.

typedef struct cg_image_source cg_image_source;
struct cg_image_source {
    int64_t count; // images available
    // Image i (0 <= i < count, called in increasing order); name may be NULL.
    cg_status (*get)(cg_image_source *s, int64_t i, cg_image *img, const char **name);
    void (*close)(cg_image_source *s); // frees its state and s itself
    void *state;
};

// A folder of PNG/JPEG/BMP/TGA images (sorted by name; not recursive), a packed dataset file
// (preprocess.h), or either, decided by what `path` is.
cg_status cg_source_folder(const char *dir, cg_image_source **out);
cg_status cg_source_dataset(const char *path, cg_image_source **out);
cg_status cg_source_open(const char *path, cg_image_source **out);
// The hook for generators and other producers: fill(user, i, img) writes image i (e.g. a float
// CHW [-1, 1] sample); close_user (may be NULL) releases user at close.
cg_status cg_source_callback(int64_t count, cg_status (*fill)(void *user, int64_t i, cg_image *img), void *user,
                             void (*close_user)(void *user), cg_image_source **out);
typedef struct cg_srvgg cg_srvgg; // the learned upscaler, nets/srvgg.h
// src's images upscaled by m (nets/srvgg.h; tile as cg_srvgg_upscale), as float CHW in [-1, 1]
// (the output clamped to [0, 1]); ownership of src is taken, even on failure; m stays the caller's.
cg_status cg_source_upscaled(cg_runtime *rt, cg_srvgg *m, int tile, cg_image_source *src, cg_image_source **out);
static inline void cg_source_close(cg_image_source *s) {
    if (s) s->close(s);
}

// Runs up to n images (n <= 0: all) of src through resize + network. *pool [count, 2048],
// *logits [count, 1008] (with bias) and *logits_nobias [count, 1008] are malloc'd (any pointer may
// be NULL to skip that output). progress (may be NULL) receives a progress bar.
cg_status cg_inception_features(cg_inception *net, cg_image_source *src, cg_resize_mode mode, int64_t n,
                                FILE *progress, float **pool, float **logits, float **logits_nobias,
                                int64_t *count);

// Creates a network and loads `weights` (NULL or "": cg_inception_default_weights); a missing file
// fails with where it was looked for and how to obtain and convert it.
cg_status cg_inception_open(cg_runtime *rt, const char *weights, int max_batch, cg_inception **out);

#endif
