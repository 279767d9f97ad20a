// inception_input.c — host side of the Inception input pipeline: staging an image on the device,
// launching the resize kernels of cl/inception_input.cl, and the plain C reference of each mode
// (tests compare the two). The reference's filters, taps and bilinear sample are the kernels' own:
// cl/inception_input.cl is included here as C.
#include "inception.h"

#include "../cl/inception_input.cl"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"bilinear", "bicubic", "lanczos"};

cg_status cg_resize_mode_parse(const char *text, cg_resize_mode *out) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(text, mode_names[i])) {
            *out = (cg_resize_mode)i;
            return CG_OK;
        }
    return cg_fail(CG_ERR_CONFIG, "resize mode '%s': expected bilinear, bicubic or lanczos", text);
}

const char *cg_resize_mode_name(cg_resize_mode m) { return (unsigned)m < 3 ? mode_names[m] : "?"; }

struct cg_resizer {
    cg_runtime *rt;
    cl_mem src;        // staging: the image's bytes or floats
    size_t src_floats; // capacity in floats
};

cg_status cg_resizer_create(cg_runtime *rt, cg_resizer **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    (*out)->rt = rt;
    return CG_OK;
}

void cg_resizer_free(cg_resizer *r) {
    if (!r) return;
    if (r->src) cg_buffer_release(r->src);
    free(r);
}

static cg_status grow(cg_runtime *rt, cl_mem *buf, size_t *cap, size_t floats) {
    if (*cap >= floats && *buf) return CG_OK;
    if (*buf) cg_buffer_release(*buf);
    *buf = NULL;
    *cap = 0;
    CG_TRY(cg_buffer_alloc(rt, floats, buf));
    *cap = floats;
    return CG_OK;
}

static cg_status check_image(const cg_image *img) {
    if (img->h < 1 || img->w < 1 || (!img->u8 == !img->f32))
        return cg_fail(CG_ERR_INVALID_ARG, "resize: image %dx%d needs exactly one of u8 / f32 data", img->w, img->h);
    if (img->u8 && img->c != 1 && img->c != 3 && img->c != 4)
        return cg_fail(CG_ERR_INVALID_ARG, "resize: uint8 image with %d channels (1, 3 or 4 expected)", img->c);
    if (img->f32 && img->c != 3)
        return cg_fail(CG_ERR_INVALID_ARG, "resize: float image with %d channels (3 expected)", img->c);
    return CG_OK;
}

cg_status cg_resizer_run_size(cg_resizer *r, const cg_image *img, cg_resize_mode mode, int size, cg_tensor dst) {
    CG_TRY(check_image(img));
    if (dst.c != 3 || dst.h != size || dst.w != size || dst.n != 1)
        return cg_fail(CG_ERR_INVALID_ARG, "resize: destination [%d, %d, %d, %d] is not [1, 3, %d, %d]", dst.n,
                       dst.c, dst.h, dst.w, size, size);
    cg_runtime *rt = r->rt;
    int is_float = img->f32 != NULL, h = img->h, w = img->w, c = img->c;
    size_t bytes = is_float ? (size_t)3 * h * w * sizeof(float) : (size_t)h * w * c;
    CG_TRY(grow(rt, &r->src, &r->src_floats, (bytes + 3) / 4));
    CG_CL(clEnqueueWriteBuffer(cg_runtime_queue(rt), r->src, CL_TRUE, 0, bytes, is_float ? (const void *)img->f32
                                                                                       : (const void *)img->u8,
                               0, NULL, NULL));
    cl_ulong off = dst.off, n = (cl_ulong)3 * size * size;
    cl_kernel k;
    if (mode == CG_RESIZE_BILINEAR) {
        CG_TRY(cg_kernel_get(rt, "inception_input", "incep_resize_bilinear", &k));
        return cg_launch1d(rt, k, n, CG_ARG(r->src), CG_ARG(r->src), CG_ARG(is_float), CG_ARG(h), CG_ARG(w),
                           CG_ARG(c), CG_ARG(size), CG_ARG(dst.buf), CG_ARG(off), CG_ARG(n));
    }
    int kind = mode == CG_RESIZE_BICUBIC ? 0 : 1;
    CG_TRY(cg_kernel_get(rt, "inception_input", "incep_resize_aa", &k));
    return cg_launch1d(rt, k, n, CG_ARG(r->src), CG_ARG(r->src), CG_ARG(is_float), CG_ARG(h), CG_ARG(w), CG_ARG(c),
                       CG_ARG(size), CG_ARG(kind), CG_ARG(dst.buf), CG_ARG(off), CG_ARG(n));
}

cg_status cg_resizer_run(cg_resizer *r, const cg_image *img, cg_resize_mode mode, cg_tensor dst) {
    return cg_resizer_run_size(r, img, mode, CG_INCEPTION_SIZE, dst);
}

// ---------------------------------------------------------------------------------------------
// C reference.

static float pixel(const cg_image *img, int y, int x, int ch, int unit255) {
    return incep_pixel(img->u8, img->f32, img->f32 != NULL, img->h, img->w, img->c, y, x, ch, unit255);
}

// One output position of an antialiased pass: sum over taps of normalised weight * value(tap).
static float aa_sample(int o, int in_size, int size, int kind, const float *line, size_t stride) {
    float center, ss;
    int lo, hi;
    incep_taps(o, in_size, size, kind, &center, &ss, &lo, &hi);
    float ww = 0.0f, acc = 0.0f;
    for (int t = lo; t < hi; t++) ww += incep_filter(((float)t - center + 0.5f) * ss, kind);
    for (int t = lo; t < hi; t++) {
        float k = incep_filter(((float)t - center + 0.5f) * ss, kind);
        if (ww != 0.0f) k = k / ww;
        acc += k * line[(size_t)t * stride];
    }
    return acc;
}

void cg_resize_ref(const cg_image *img, cg_resize_mode mode, int size, float *out) {
    int h = img->h, w = img->w;
    if (mode == CG_RESIZE_BILINEAR) {
        for (int ch = 0; ch < 3; ch++)
            for (int oy = 0; oy < size; oy++)
                for (int ox = 0; ox < size; ox++)
                    out[((size_t)ch * size + oy) * size + ox] =
                        incep_bilinear(img->u8, img->f32, img->f32 != NULL, h, w, img->c, size, ch, oy, ox);
        return;
    }
    int kind = mode == CG_RESIZE_BICUBIC ? 0 : 1;
    float *line = malloc(sizeof(float) * (size_t)(w > h ? w : h));
    float *tmp = malloc(sizeof(float) * (size_t)3 * h * size);
    CG_ASSERT(line && tmp);
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) line[x] = pixel(img, y, x, ch, 1);
            for (int ox = 0; ox < size; ox++)
                tmp[((size_t)ch * h + y) * size + ox] = aa_sample(ox, w, size, kind, line, 1);
        }
    for (int ch = 0; ch < 3; ch++)
        for (int oy = 0; oy < size; oy++)
            for (int ox = 0; ox < size; ox++) {
                float acc = aa_sample(oy, h, size, kind, tmp + (size_t)ch * h * size + ox, (size_t)size);
                acc = acc < 0.0f ? 0.0f : acc > 255.0f ? 255.0f : acc;
                out[((size_t)ch * size + oy) * size + ox] = kind == 0 ? (acc - 128.0f) / 128.0f : acc / 127.5f - 1.0f;
            }
    free(line);
    free(tmp);
}
