// stb_impl.c — the one translation unit in clgan that compiles the stb image libraries: decoding
// (stb_image), encoding (stb_image_write) and resizing (stb_image_resize). Everyone else includes the
// headers without the *_IMPLEMENTATION defines.
//
// stb relies on signed shifts wrapping (its JPEG writer shifts bits into the sign bit of an int),
// which UBSan rejects; -fwrapv, for this file only, makes that defined behaviour.
#pragma GCC push_options
#pragma GCC optimize("wrapv")

// Zeroed allocations: Debian's stb_image decodes a JPEG scan with a Huffman table the file never
// defined from uninitialised memory, reading far outside the table (found by tests/fuzz); zeroed, such
// a table decodes garbage within bounds. Callers still release stb's buffers with free().
#define STBI_MALLOC(sz) calloc(1, sz)
#define STBI_REALLOC(p, newsz) realloc(p, newsz)
#define STBI_FREE(p) free(p)
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#pragma GCC pop_options
