// jpeg_decode.h — JPEG decoding with libjpeg(-turbo) (jpeg_decode.c), compiled when CMake finds libjpeg
// (CLGAN_HAVE_JPEG: the file compiles to nothing without it, and image_loader.c decodes JPEGs with
// stb_image). Private to preprocess/.
#ifndef CLGAN_JPEG_DECODE_H
#define CLGAN_JPEG_DECODE_H

#include "image_loader.h"
#include <stddef.h>
#include <stdint.h>

// Decodes the JPEG in b[0..n) to RGB into out (pixels malloc'd, w, h, ok = 1) and returns 1, or
// records the issue and a detail (ok = 0) and returns 0: sides above max_side (from the header,
// before any pixel is allocated), errors (corrupt), and any warning libjpeg raises while decoding
// (corrupt data, or a premature end: truncated). Greyscale is expanded to RGB, CMYK/YCCK converted
// (Adobe's inverted CMYK when the file has an Adobe marker). Thread-safe: no state outside the call.
// rows (NULL: all) names the rectangle the caller will read, once the size is known: only its rows
// are decoded (libjpeg skips the rows above and stops after the last), and of those only its columns
// widened by CG_JPEG_COL_MARGIN on each side (jpeg_crop_scanline, which widens them further to iMCU
// boundaries and treats them as the image's edges in fancy upsampling: the margin keeps that away
// from the rectangle). The rectangle gets exactly the full decode's pixels
// (tests/test_preprocess_partial.c); the rest is zero. Damage in the part never decoded goes
// unnoticed.
int cg_jpeg_decode(const uint8_t *b, size_t n, int max_side, const cg_region *rows, cg_decoded *out);

// "libjpeg-turbo 2.1.5" (or "libjpeg 62" for another libjpeg): the library compiled in.
const char *cg_jpeg_library(void);

#endif
