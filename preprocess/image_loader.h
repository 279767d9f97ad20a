// image_loader.h — host decoding of image files (JPEG with libjpeg-turbo when built with it, the rest
// with stb_image), one file or a pool of threads (image_loader.c).
#ifndef CLGAN_IMAGE_LOADER_H
#define CLGAN_IMAGE_LOADER_H

#include "issues.h"
#include <stdint.h>

// Host decoding (image_loader.c) on a pool of threads. Images are always RGB (3 channels).

typedef struct {
    uint8_t *pixels;  // w*h*3, malloc'd; NULL when the load failed
    int w, h;
    int ok;
    cg_issue_kind issue; // when !ok
    char detail[160];
    double seconds;   // time spent loading this image on its thread
    int state;        // decode pool bookkeeping: 0 idle, 1 queued, 2 done
} cg_decoded;

// The pixels of a w x h image a caller will read: the rectangle r = {x0, y0, x1, y1} (half-open,
// preset to the whole image), chosen once the decoder knows the size; ctx is the caller's. Decoders
// may leave the pixels outside it zero (libjpeg does).
typedef struct {
    void (*fn)(void *ctx, int w, int h, int r[4]);
    void *ctx;
} cg_region;

// Loads one file: refuses empty files, non-images, sides above max_side (from the header, before
// decoding), truncated JPEG/PNG and undecodable data, classifying each.
void cg_image_load(const char *path, int max_side, cg_decoded *out);
// The same, decoding only the region `rows` asks for where the decoder can (JPEG with libjpeg).
void cg_image_load_region(const char *path, int max_side, const cg_region *rows, cg_decoded *out);
// The same with stb_image for every format, as a build without libjpeg decodes (benchmarks, tests).
void cg_image_load_stb(const char *path, int max_side, cg_decoded *out);
void cg_decoded_release(cg_decoded *d);
// The JPEG decoder compiled in: "libjpeg-turbo 2.1.5", or "stb_image (built without libjpeg)".
const char *cg_image_jpeg_decoder(void);

typedef struct cg_decode_pool cg_decode_pool;
cg_status cg_decode_pool_create(int threads, int max_side, cg_decode_pool **out); // threads 0: one per CPU
// Queues a decode of path into slot (both must stay valid until cg_decode_pool_wait returns for it).
cg_status cg_decode_pool_submit(cg_decode_pool *p, const char *path, cg_decoded *slot);
// The same with cg_image_load_region (rows, and what it points to, must stay valid as long).
cg_status cg_decode_pool_submit_region(cg_decode_pool *p, const char *path, const cg_region *rows, cg_decoded *slot);
void cg_decode_pool_wait(cg_decode_pool *p, cg_decoded *slot);
void cg_decode_pool_free(cg_decode_pool *p); // waits for queued work, joins the threads
int cg_decode_pool_threads(const cg_decode_pool *p);

#endif
