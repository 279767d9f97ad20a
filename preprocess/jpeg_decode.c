// jpeg_decode.c — JPEG to RGB with libjpeg(-turbo), the decoder PIL uses: libjpeg's defaults (the
// accurate integer IDCT, fancy chroma upsampling), so clgan and PIL see the same pixels. libjpeg
// reports fatal errors through error_exit, which must not return: it longjmps back to this call's
// setjmp (one jmp_buf per decode, on the stack, so threads never share state). Warnings (corrupt
// entropy data, a premature end) are counted and fail the decode, so damaged files are reported
// instead of being padded with grey.
#include "jpeg_decode.h"

#ifdef CLGAN_HAVE_JPEG
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#ifndef CG_JPEG_COL_MARGIN
#define CG_JPEG_COL_MARGIN 16
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

const char *cg_jpeg_library(void) {
#ifdef LIBJPEG_TURBO_VERSION
    return "libjpeg-turbo " STR(LIBJPEG_TURBO_VERSION);
#else
    return "libjpeg " STR(JPEG_LIB_VERSION);
#endif
}

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int warnings, first_code;
    char first[JMSG_LENGTH_MAX];
} error_mgr;

static void on_error(j_common_ptr c) {
    error_mgr *e = (error_mgr *)c->err;
    longjmp(e->jump, 1);
}

// Level -1 is a warning; levels >= 0 are trace messages, ignored.
static void on_message(j_common_ptr c, int level) {
    error_mgr *e = (error_mgr *)c->err;
    if (level >= 0) return;
    if (e->warnings++ == 0) {
        e->first_code = e->pub.msg_code;
        e->pub.format_message(c, e->first);
    }
}

static void set_issue(cg_decoded *out, cg_issue_kind kind, const char *what, const char *msg) {
    snprintf(out->detail, sizeof out->detail, "%s: %s (libjpeg)", what, msg);
    out->ok = 0;
    out->issue = kind;
}

// CMYK (or YCCK, converted to CMYK by libjpeg) row to RGB. Adobe's files store the inks inverted
// (255 = no ink), others store them as they are.
static void cmyk_row(const uint8_t *in, uint8_t *rgb, int w, int inverted) {
    for (int x = 0; x < w; x++, in += 4, rgb += 3) {
        unsigned k = inverted ? in[3] : 255u - in[3];
        for (int ch = 0; ch < 3; ch++) {
            unsigned v = inverted ? in[ch] : 255u - in[ch];
            rgb[ch] = (uint8_t)((v * k + 127) / 255);
        }
    }
}

int cg_jpeg_decode(const uint8_t *b, size_t n, int max_side, const cg_region *rows, cg_decoded *out) {
    struct jpeg_decompress_struct c;
    error_mgr e;
    memset(&e, 0, sizeof e);
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.pub.emit_message = on_message;
    uint8_t *volatile px = NULL, *volatile row = NULL;
    if (setjmp(e.jump)) {
        char msg[JMSG_LENGTH_MAX];
        e.pub.format_message((j_common_ptr)&c, msg);
        jpeg_destroy_decompress(&c);
        free(px);
        free(row);
        set_issue(out, CG_ISSUE_CORRUPT, "cannot decode", msg);
        return 0;
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, b, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    if (c.image_width > (JDIMENSION)max_side || c.image_height > (JDIMENSION)max_side) {
        snprintf(out->detail, sizeof out->detail, "%ux%u exceeds the %d pixel limit per side", c.image_width,
                 c.image_height, max_side);
        out->ok = 0;
        out->issue = CG_ISSUE_TOO_LARGE;
        jpeg_destroy_decompress(&c);
        return 0;
    }
    int cmyk = c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK;
    c.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&c);
    int w = (int)c.output_width, h = (int)c.output_height, reg[4] = {0, 0, w, h};
    if (rows && rows->fn) rows->fn(rows->ctx, w, h, reg);
    int x0 = reg[0] < 0 ? 0 : reg[0] > w ? w : reg[0], x1 = reg[2] < x0 ? x0 : reg[2] > w ? w : reg[2];
    int y0 = reg[1] < 0 ? 0 : reg[1] > h ? h : reg[1], y1 = reg[3] < y0 ? y0 : reg[3] > h ? h : reg[3];
    size_t stride = (size_t)w * 3;
    int partial = x0 > 0 || x1 < w || y0 > 0 || y1 < h;
    px = partial ? calloc((size_t)h, stride) : malloc(stride * (size_t)h);
    if (cmyk) row = malloc((size_t)w * 4);
    if (!px || (cmyk && !row)) ERREXIT1(&c, JERR_OUT_OF_MEMORY, 0);
    JDIMENSION xoff = 0, cw = (JDIMENSION)w;
    if (x1 > x0 && (x0 > CG_JPEG_COL_MARGIN || x1 + CG_JPEG_COL_MARGIN < w)) {
        xoff = (JDIMENSION)(x0 > CG_JPEG_COL_MARGIN ? x0 - CG_JPEG_COL_MARGIN : 0);
        cw = (JDIMENSION)(x1 + CG_JPEG_COL_MARGIN < w ? x1 + CG_JPEG_COL_MARGIN : w) - xoff;
        jpeg_crop_scanline(&c, &xoff, &cw); // moves xoff left and widens cw to iMCU boundaries
    }
    if (y0 > 0 && jpeg_skip_scanlines(&c, (JDIMENSION)y0) != (JDIMENSION)y0) ERREXIT(&c, JERR_BAD_STATE);
    while (c.output_scanline < (JDIMENSION)y1) {
        uint8_t *dst = px + (size_t)c.output_scanline * stride + (size_t)xoff * 3;
        JSAMPROW r = cmyk ? row : dst;
        if (jpeg_read_scanlines(&c, &r, 1) != 1) break; // only with a suspending source; not jpeg_mem_src
        if (cmyk) cmyk_row(row, dst, (int)cw, c.saw_Adobe_marker);
    }
    if (y1 == h) jpeg_finish_decompress(&c); // reads to the end-of-image marker: warnings about the tail
    else jpeg_abort_decompress(&c);
    jpeg_destroy_decompress(&c);
    free(row);
    if (e.warnings) {
        free(px);
        set_issue(out, e.first_code == JWRN_JPEG_EOF ? CG_ISSUE_TRUNCATED : CG_ISSUE_CORRUPT, "damaged JPEG data",
                  e.first);
        return 0;
    }
    out->pixels = px;
    out->w = w;
    out->h = h;
    out->ok = 1;
    return 1;
}

#else
typedef int cg_jpeg_decode_not_built; // built without libjpeg: image_loader.c uses stb_image
#endif
