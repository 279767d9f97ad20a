// encode.h — images to PNG or JPEG bytes in memory (stb_image_write), and PNG files written atomically.
#ifndef CLGAN_ENCODE_H
#define CLGAN_ENCODE_H

#include "runtime.h"

// A growing byte buffer that stb_image_write's *_to_func writers append to (cg_membuf_put).
// Reusable: set len to 0 to encode again into the same allocation; free(data) when done.
typedef struct {
    unsigned char *data;
    size_t len, cap;
    int oom; // an append failed for want of memory; the content is incomplete
} cg_membuf;

void cg_membuf_put(void *ctx, void *data, int size);

// A grey, grey+alpha, RGB or RGBA uint8 picture (w x h x comp, rows packed) as PNG bytes in *out,
// which is emptied first. CG_ERR_NOMEM when memory runs out (out->data is then freed).
cg_status cg_png_encode(const unsigned char *pix, int w, int h, int comp, cg_membuf *out);
// The same picture as a PNG file, written atomically; errors name the path.
cg_status cg_png_write(const char *path, const unsigned char *pix, int w, int h, int comp);

#endif
