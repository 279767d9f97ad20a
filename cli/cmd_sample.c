// cmd_sample.c — `clgan sample`: images from a checkpoint's generator (a training checkpoint or a
// generator-only file such as a PyTorch export with "main.0.weight" names) as a PNG grid, a folder
// of PNGs or a raw .npy [N, C, H, W] in [-1, 1]; latent vectors from --z z.npy or Philox (--seed).
#include "cli.h"
#include "metrics.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

// z: from an .npy [N, nz] or [N, nz, 1, 1], or N draws of the normal stream {seed, 0}.
static cg_status latents(const char *zpath, long n, long seed, int nz, float **z, int *count) {
    if (!zpath) {
        *z = malloc((size_t)n * nz * sizeof(float));
        if (!*z) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        cg_generator_latents((uint64_t)seed, 0, n, nz, *z);
        *count = (int)n;
        return CG_OK;
    }
    int ndim;
    int64_t shape[CG_NPY_MAX_DIMS];
    CG_TRY(cg_npy_read_f32(zpath, z, &ndim, shape));
    int ok = (ndim == 2 || (ndim == 4 && shape[2] == 1 && shape[3] == 1)) && shape[1] == nz && shape[0] > 0 &&
             shape[0] <= 65536;
    if (!ok) {
        free(*z);
        *z = NULL;
        return cg_fail(CG_ERR_INVALID_ARG, "%s: expected float32 [N, %d] or [N, %d, 1, 1] latent vectors", zpath, nz,
                       nz);
    }
    *count = (int)shape[0];
    for (size_t i = 0; i < (size_t)*count * nz; i++)
        if (!isfinite((*z)[i])) {
            float v = (*z)[i];
            free(*z);
            *z = NULL;
            return cg_fail(CG_ERR_NUMERIC, "%s: latent vector %zu, element %zu is %s; latent vectors must be "
                           "finite", zpath, i / (size_t)nz, i % (size_t)nz, isnan(v) ? "NaN" : "infinite");
        }
    return CG_OK;
}

// --out names a .png grid, an .npy array or a folder; another image suffix would become a folder
// of that name, so it is refused before anything runs.
static int out_suffix_ok(const char *out) {
    static const char *const images[] = {".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".tif", ".tiff", ".webp", ".ppm"};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        if (ends_with(out, images[i])) return 0;
    return 1;
}

static cg_status write_images(const char *out, const float *img, int n, int c, int h, int w) {
    if (ends_with(out, ".npy") || ends_with(out, ".png")) CG_TRY(cg_mkdir_parent(out));
    if (ends_with(out, ".npy")) {
        int64_t shape[4] = {n, c, h, w};
        return cg_npy_write_f32(out, img, 4, shape);
    }
    if (ends_with(out, ".png")) return cg_grid_write_png(out, img, n, c, h, w);
    CG_TRY(cg_mkdir_p(out));
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%06d.png", out, i);
        CG_TRY(cg_image_write_png(path, img + (size_t)i * c * h * w, c, h, w));
    }
    return CG_OK;
}

static cg_status sample(cg_runtime *rt, cg_config *cfg, const char *ckpt, long n, long seed, const char *zpath,
                        const char *out, int train_mode) {
    cg_model_config mc;
    int from_ckpt = 0;
    CG_TRY(cg_generator_model(ckpt, cfg, &mc, &from_ckpt));
    if (from_ckpt)
        fprintf(stderr, "sample: model from the checkpoint: %s, %dx%d\n", cg_model_type_name(mc.type), mc.image_size,
                mc.image_size);
    if (cli_print_config(cfg)) return cg_fail(CG_ERR_CONFIG, "an unknown --set key (see above)");
    cg_generator *g = NULL;
    float *z = NULL, *img = NULL;
    int count = 0;
    cg_status st = latents(zpath, n, seed, mc.nz, &z, &count);
    if (st == CG_OK) st = cli_safetensors_finite("--checkpoint", ckpt);
    if (st == CG_OK) st = cg_generator_open(rt, ckpt, &mc, count, train_mode, &g);
    size_t per = (size_t)mc.channels * mc.image_size * mc.image_size;
    if (st == CG_OK) {
        img = malloc((size_t)count * per * sizeof(float));
        st = img ? cg_generator_run(g, z, count, img) : cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    if (st == CG_OK) st = write_images(out, img, count, mc.channels, mc.image_size, mc.image_size);
    if (st == CG_OK)
        fprintf(stderr, "sample: wrote %d images of %dx%dx%d to %s\n", count, mc.image_size, mc.image_size,
                mc.channels, out);
    free(img);
    free(z);
    cg_generator_free(g);
    return st;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *ckpt = NULL, *out = NULL, *zpath = NULL;
    int n = 64, seed = 7, train_mode = 0;
    const cli_opt opts[] = {
        {"checkpoint", OPT_STRING, "CKPT", "training checkpoint or generator-only safetensors", &ckpt},
        {"n", OPT_INT, "N", "number of images (default 64; --z sets it from the file)", &n},
        {"out", OPT_STRING, "PATH", "grid .png, raw .npy [N, C, H, W] in [-1, 1], or a folder (one PNG each)", &out},
        {"seed", OPT_INT, "S", "seed of the latent vectors (default 7)", &seed},
        {"z", OPT_STRING, "Z.npy", "latent vectors, float32 [N, nz] or [N, nz, 1, 1]", &zpath},
        {"train-mode", OPT_FLAG, NULL, "BatchNorm with batch statistics (as during training) instead of running ones",
         &train_mode},
        {0},
    };
    int rc = cli_parse(&cmd_sample, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_sample, opts, stdout);
        return EXIT_OK;
    }
    if (!ckpt || !out) {
        fprintf(stderr, "clgan sample: --checkpoint and --out are required\n");
        return EXIT_USAGE;
    }
    if (n < 1 || n > 65536) {
        fprintf(stderr, "clgan sample: --n %d out of range 1..65536\n", n);
        return EXIT_USAGE;
    }
    if (!out_suffix_ok(out)) {
        fprintf(stderr, "clgan sample: --out %s: sample writes a .png grid, an .npy array or a folder of PNGs "
                        "(not another image format)\n", out);
        return EXIT_USAGE;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    cg_runtime *rt = NULL;
    cg_status st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK) st = sample(rt, cfg, ckpt, n, seed, zpath, out, train_mode);
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return cli_report("sample", st);
}

const cli_command cmd_sample = {
    "sample",
    "generate images from a checkpoint's generator",
    "--checkpoint CKPT --n 64 --out grid.png|images.npy|DIR [--seed S] [--z z.npy] [--train-mode]",
    "Loads the generator of CKPT: a `clgan train` checkpoint (its model from the metadata) or a\n"
    "generator-only safetensors file with state_dict names (\"main.0.weight\", e.g. exported from\n"
    "PyTorch's pytorch/examples DCGAN; then [model] comes from --config/--set). Latent vectors are N\n"
    "normal draws of Philox stream (seed, 0), or --z. The same z gives the same images, byte for byte,\n"
    "on the same device. BatchNorm uses its running statistics unless --train-mode.",
    run,
};
