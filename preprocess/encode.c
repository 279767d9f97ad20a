// encode.c — the one in-memory image encoder: stb_image_write appends to a cg_membuf; PNG files
// are encoded in memory, then written atomically.
#include "encode.h"

#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>

void cg_membuf_put(void *ctx, void *data, int size) {
    cg_membuf *b = ctx;
    if (b->oom || size <= 0) return;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + (size_t)size) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len += (size_t)size;
}

cg_status cg_png_encode(const unsigned char *pix, int w, int h, int comp, cg_membuf *out) {
    out->len = 0;
    out->oom = 0;
    int ok = stbi_write_png_to_func(cg_membuf_put, out, w, h, comp, pix, w * comp);
    if (ok && !out->oom) return CG_OK;
    free(out->data);
    *out = (cg_membuf){0};
    return cg_fail(CG_ERR_NOMEM, "encoding a %dx%d PNG failed: out of memory", w, h);
}

cg_status cg_png_write(const char *path, const unsigned char *pix, int w, int h, int comp) {
    cg_membuf m = {0};
    cg_status st = cg_png_encode(pix, w, h, comp, &m);
    if (st == CG_OK) st = cg_write_file_atomic(path, m.data, m.len);
    else cg_fail_context(st, "%s", path);
    free(m.data);
    return st;
}
