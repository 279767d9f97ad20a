// cmd_upscale.c — `clgan upscale`: Real-ESRGAN's compact network (nets/srvgg.h) on a folder of images
// (sorted by file name) or an .npy [N, 3, H, W] in [0, 1]; x4 (the weights' scale) images out as
// PNGs in a folder or one .npy [N, 3, sH, sW] float32 (unclamped). Images of one size go to the device
// together; large ones are tiled with overlap (--tile), so memory stays bounded.
#include "cli.h"
#include "inception.h"
#include "metrics.h"
#include "srvgg.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GROUP 16 // images handed to the upscaler at once

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

typedef struct {
    cg_image_source *src; // a folder, or NULL for the .npy
    float *npy;           // [count, 3, h, w]
    int64_t count;
    int h, w;             // the .npy's size
} inputs;

static cg_status open_inputs(const char *path, inputs *in) {
    memset(in, 0, sizeof *in);
    if (!ends_with(path, ".npy")) {
        CG_TRY(cg_source_folder(path, &in->src));
        in->count = in->src->count;
        return CG_OK;
    }
    int nd;
    int64_t sh[CG_NPY_MAX_DIMS];
    CG_TRY(cg_npy_read_f32(path, &in->npy, &nd, sh));
    if (nd != 4 || sh[1] != 3 || sh[0] < 1 || sh[2] < 1 || sh[3] < 1 || sh[2] > 8192 || sh[3] > 8192) {
        free(in->npy);
        in->npy = NULL;
        return cg_fail(CG_ERR_FORMAT, "%s: expected float32 [N, 3, H, W] images in [0, 1] (sides up to 8192)", path);
    }
    in->count = sh[0], in->h = (int)sh[2], in->w = (int)sh[3];
    return CG_OK;
}

// Image i as float [3, h, w] in [0, 1] (malloc'd) and its name stem for the output file.
static cg_status read_image(inputs *in, int64_t i, float **img, int *h, int *w, char *stem, size_t len) {
    if (in->npy) {
        *h = in->h, *w = in->w;
        size_t n = (size_t)3 * in->h * in->w;
        *img = malloc(n * sizeof **img);
        if (!*img) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        memcpy(*img, in->npy + (size_t)i * n, n * sizeof **img);
        snprintf(stem, len, "%06lld", (long long)i);
        return CG_OK;
    }
    cg_image im;
    const char *name = NULL;
    CG_TRY(in->src->get(in->src, i, &im, &name));
    *h = im.h, *w = im.w;
    size_t hw = (size_t)im.h * im.w;
    *img = malloc(3 * hw * sizeof **img);
    if (!*img) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < hw; p++) (*img)[c * hw + p] = im.u8[p * im.c + (im.c < 3 ? 0 : c)] / 255.0f;
    snprintf(stem, len, "%s", name ? name : "image");
    char *dot = strrchr(stem, '.');
    if (dot) *dot = 0;
    return CG_OK;
}

// Writes image y [3, h, w] in [0, 1] (clamped for the PNG) to DIR/<stem>.png.
static cg_status write_png(const char *dir, const char *stem, float *y, int h, int w) {
    size_t n = (size_t)3 * h * w;
    for (size_t k = 0; k < n; k++) y[k] = 2.0f * (y[k] < 0 ? 0 : y[k] > 1 ? 1 : y[k]) - 1.0f;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.png", dir, stem);
    return cg_image_write_png(path, y, 3, h, w);
}

static cg_status upscale(cg_runtime *rt, const char *weights, const char *input, const char *out, int tile) {
    const int to_npy = ends_with(out, ".npy");
    cg_ctx ctx = {rt, {0}};
    cg_srvgg *m = NULL;
    inputs in;
    CG_TRY(open_inputs(input, &in));
    cg_status st = cg_srvgg_load(&ctx, weights, &m);
    if (st == CG_OK)
        fprintf(stderr, "upscale: %s: %d convolutions, %d features, x%d; %lld images, tile %d\n", weights,
                cg_srvgg_convs(m), cg_srvgg_features(m), cg_srvgg_scale(m), (long long)in.count, tile);
    const int s = m ? cg_srvgg_scale(m) : 1;
    if (st == CG_OK && to_npy && in.src) { // every image must have the first one's size
        float *first = NULL;
        char stem[256];
        st = read_image(&in, 0, &first, &in.h, &in.w, stem, sizeof stem);
        free(first);
    }
    float *all = NULL; // the .npy output [count, 3, sH, sW]
    if (st == CG_OK && to_npy) {
        all = malloc((size_t)in.count * 3 * in.h * s * in.w * s * sizeof *all);
        if (!all) st = cg_fail(CG_ERR_NOMEM, "upscale: out of host memory for %lld output images", (long long)in.count);
    }
    if (st == CG_OK && !to_npy) st = cg_mkdir_p(out);
    cg_progress *bar = st == CG_OK ? cg_progress_begin("upscale", (uint64_t)in.count, "img", stderr) : NULL;
    const double t0 = cg_now_s();
    float *x = NULL, *y = NULL, *one[GROUP] = {0};
    char stems[GROUP][256];
    int64_t done = 0;
    while (st == CG_OK && done < in.count) {
        // A group: consecutive images of one size.
        int g = 0, h = 0, w = 0;
        while (st == CG_OK && g < GROUP && done + g < in.count) {
            int ih, iw;
            st = read_image(&in, done + g, &one[g], &ih, &iw, stems[g], sizeof stems[g]);
            if (st != CG_OK) break;
            if (g == 0) h = ih, w = iw;
            if (ih != h || iw != w) {
                if (to_npy)
                    st = cg_fail(CG_ERR_FORMAT, "upscale: image %lld (%s) is %dx%d, the first %dx%d; an .npy output "
                                 "needs images of one size", (long long)(done + g), stems[g], iw, ih, in.w, in.h);
                free(one[g]), one[g] = NULL;
                break;
            }
            g++;
        }
        size_t pin = (size_t)3 * h * w, pout = pin * s * s;
        if (st == CG_OK) {
            free(x), free(y);
            x = malloc(g * pin * sizeof *x), y = to_npy ? NULL : malloc(g * pout * sizeof *y);
            if (!x || (!to_npy && !y)) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        }
        for (int j = 0; st == CG_OK && j < g; j++) memcpy(x + j * pin, one[j], pin * sizeof *x);
        float *dst = to_npy ? all + (size_t)done * pout : y;
        if (st == CG_OK) st = cg_srvgg_upscale(&ctx, m, x, g, h, w, tile, dst);
        for (int j = 0; st == CG_OK && !to_npy && j < g; j++)
            st = write_png(out, stems[j], y + j * pout, h * s, w * s);
        for (int j = 0; j < GROUP; j++) free(one[j]), one[j] = NULL;
        done += g;
        char status[64];
        snprintf(status, sizeof status, "%.2f images/s", done / (cg_now_s() - t0 + 1e-9));
        if (bar && st == CG_OK) cg_progress_update(bar, (uint64_t)done, status);
    }
    if (bar) cg_progress_end(bar);
    if (st == CG_OK && to_npy) {
        int64_t shape[4] = {in.count, 3, (int64_t)in.h * s, (int64_t)in.w * s};
        st = cg_npy_write_f32(out, all, 4, shape);
    }
    if (st == CG_OK)
        fprintf(stderr, "upscale: wrote %lld images to %s in %.2fs (%.2f images/s)\n", (long long)in.count, out,
                cg_now_s() - t0, in.count / (cg_now_s() - t0 + 1e-9));
    free(x), free(y), free(all), free(in.npy);
    cg_source_close(in.src);
    cg_srvgg_free(m);
    cg_workspace_free(&ctx.ws);
    return st;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *weights = NULL, *input = NULL, *out = NULL;
    int tile = 128;
    const cli_opt opts[] = {
        {"weights", OPT_STRING, "W.safetensors", "SRVGGNetCompact weights (tools/convert_realesrgan.py)", &weights},
        {"input", OPT_STRING, "DIR|FILE.npy", "a folder of images (sorted by name) or float32 [N, 3, H, W] in [0, 1]",
         &input},
        {"out", OPT_STRING, "DIR|FILE.npy", "a folder (one PNG per image) or float32 [N, 3, sH, sW], unclamped", &out},
        {"tile", OPT_INT, "N", "tile side in input pixels, run with overlap; 0: whole images (default 128)", &tile},
        {0},
    };
    int rc = cli_parse(&cmd_upscale, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_upscale, opts, stdout);
        return EXIT_OK;
    }
    if (!weights || !input || !out) {
        fprintf(stderr, "clgan upscale: --weights, --input and --out are required\n");
        return EXIT_USAGE;
    }
    if (tile < 0 || tile > 8192) {
        fprintf(stderr, "clgan upscale: --tile %d out of range 0..8192\n", tile);
        return EXIT_USAGE;
    }
    const cli_given inputs_given[] = {{"--input", input}, {"--weights", weights}};
    cg_status st = cli_output_distinct("--out", out, inputs_given, 2);
    if (st != CG_OK) return cli_report("upscale", st);
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    // The runtime reads [device] first, so the printed configuration holds it and a bad value is
    // reported as what it is, not as an unknown key.
    cg_runtime *rt = NULL;
    st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK && cli_print_config(cfg)) {
        cg_runtime_free(rt);
        cg_config_free(cfg);
        return EXIT_USAGE;
    }
    if (st == CG_OK) st = upscale(rt, weights, input, out, tile);
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return cli_report("upscale", st);
}

const cli_command cmd_upscale = {
    "upscale",
    "upscale images x4 with Real-ESRGAN's compact network",
    "--weights W.safetensors --input DIR|FILE.npy --out DIR|FILE.npy [--tile N]",
    "Runs SRVGGNetCompact (Real-ESRGAN's compact network: 3x3 convolutions with PReLU, PixelShuffle,\n"
    "plus the input upsampled by nearest neighbour) with the weights W, converted from Real-ESRGAN's\n"
    ".pth by tools/convert_realesrgan.py; the number of convolutions, the features and the scale come\n"
    "from the weights' shapes. Input images are read in [0, 1]: a folder's in sorted file-name order,\n"
    "or an .npy float32 [N, 3, H, W]. A folder output gets one PNG per image (named like the input,\n"
    "clamped to [0, 1]); an .npy output is float32 [N, 3, sH, sW], unclamped, and needs images of\n"
    "one size. Images of one size run on the device together; each is cut into N x N tiles run with\n"
    "an overlap of the receptive field, so the result equals one pass and memory stays bounded.",
    run,
};
