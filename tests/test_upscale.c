// test_upscale.c — Real-ESRGAN's compact upscaler (nets/srvgg.c, nets/srvgg_tile.c, the PixelShuffle
// and nearest-upsampling layers, tools/convert_realesrgan.py, `clgan upscale`):
//   - the PixelShuffle and upsampling layers against loops (forward and backward);
//   - parity with a PyTorch SRVGGNetCompact (tests/reference/upscale_reference.py, which loads the
//     weights with strict=True) on CelebA faces resized to 32x32 and 64x64: random weights saved as
//     a Real-ESRGAN .pth and the real realesr-animevideov3.pth from $CLGAN_SHARED_DATA, both through
//     the converter; max |diff| <= 1e-4 (skipped as "torch" or "data" when missing);
//   - tiling (windows of every position, batched) equals one pass within 1e-5;
//   - broken weight files refused naming the file and the tensor;
//   - the command: an .npy out of the right shape equal to the library's, a PNG folder, usage errors.
#include "cli_test_util.h"
#include "inception.h"
#include "metrics.h"
#include "parity_util.h"
#include "srvgg.h"
#include "srvgg_test_util.h"

#include <stdlib.h>

static char dir[128];

// n CelebA faces (the first of the 100-image subset) resized to size x size, [n, 3, size, size] in
// [0, 1]; NULL (part skipped as "data") without the shared data.
static float *faces(int n, int size) {
    const char *root = getenv("CLGAN_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/celeba_align_fullres_100/img_align_celeba", root && *root ? root : ".");
    cg_image_source *src = NULL;
    if (cg_source_folder(path, &src) != CG_OK) {
        test_skip_part("data", "no CelebA faces at %s ($CLGAN_SHARED_DATA)", path);
        return NULL;
    }
    size_t per = (size_t)3 * size * size;
    float *x = malloc(n * per * sizeof *x);
    for (int i = 0; i < n && i < src->count; i++) {
        cg_image im;
        CHECK_OK(src->get(src, i, &im, NULL));
        cg_resize_ref(&im, CG_RESIZE_BILINEAR, size, x + i * per);
    }
    for (size_t k = 0; k < n * per; k++) x[k] = (x[k] + 1) / 2;
    cg_source_close(src);
    return x;
}

static int convert(const char *pth, const char *out) {
    const char *srcdir = getenv("CLGAN_SOURCE_DIR");
    char tool[1100];
    snprintf(tool, sizeof tool, "%s/tools/convert_realesrgan.py", srcdir && *srcdir ? srcdir : ".");
    const char *argv[] = {parity_python(), tool, pth, out, NULL};
    int code = test_spawn(argv, NULL, NULL, NULL);
    CHECK(code == 0, "convert_realesrgan.py %s exited with %d", pth, code);
    return code;
}

// The upscaler of weights W (safetensors) against upscale_reference.py's on pth, for faces of size.
static void parity(cg_ctx *ctx, const char *label, const char *pth, const char *w, int n, int size) {
    float *x = faces(n, size);
    if (!x) return;
    char xp[600], yp[600], what[200];
    snprintf(xp, sizeof xp, "%s/x_%s_%d.npy", dir, label, size);
    snprintf(yp, sizeof yp, "%s/y_%s_%d.npy", dir, label, size);
    int64_t sh[4] = {n, 3, size, size};
    CHECK_OK(cg_npy_write_f32(xp, x, 4, sh));
    cg_srvgg *m = NULL;
    float *want = NULL, *got = NULL;
    int nd;
    int64_t ysh[CG_NPY_MAX_DIMS];
    if (parity_run("upscale_reference.py", "srvgg", pth, xp, yp, (char *)NULL) != 0) goto done;
    CHECK_OK(cg_npy_read_f32(yp, &want, &nd, ysh));
    CHECK_OK(cg_srvgg_load(ctx, w, &m));
    if (!m || !want) goto done;
    const int s = cg_srvgg_scale(m);
    size_t count = (size_t)n * 3 * size * s * size * s;
    CHECK(nd == 4 && ysh[0] == n && ysh[2] == size * s && ysh[3] == size * s, "%s: torch's output shape", label);
    got = malloc(count * sizeof *got);
    CHECK_OK(cg_srvgg_upscale(ctx, m, x, n, size, size, 0, got));
    double worst = 0, mag = 0;
    for (size_t k = 0; k < count; k++) worst = fmax(worst, fabs((double)got[k] - want[k])), mag = fmax(mag, fabs(want[k]));
    snprintf(what, sizeof what, "%s %dx%d -> %dx%d", label, size, size, size * s, size * s);
    CHECK(worst <= 1e-4, "%s: max |diff| %.3g against torch (limit 1e-4)", what, worst);
    CHECK(mag > 0.1, "%s: torch's output is all but zero (max %.3g): the comparison says nothing", what, mag);
    fprintf(stderr, "  %-40s max |diff| = %.2e (max |torch| %.2f, limit 1e-4)\n", what, worst, mag);
done:
    cg_srvgg_free(m);
    free(x), free(want), free(got);
}

// Tiles of 8, 13 and 40 input pixels (windows shifted at the borders, several per batch) against one
// pass, on two 37x50 images.
static void check_tiling(cg_ctx *ctx, const char *w) {
    cg_srvgg *m = NULL;
    CHECK_OK(cg_srvgg_load(ctx, w, &m));
    if (!m) return;
    const int n = 2, h = 37, wd = 50, s = cg_srvgg_scale(m);
    size_t in = (size_t)n * 3 * h * wd, out = in * s * s;
    float *x = malloc(in * sizeof *x), *one = malloc(out * sizeof *one), *tiled = malloc(out * sizeof *tiled);
    uint32_t seed = 9;
    for (size_t k = 0; k < in; k++) x[k] = (lcg(&seed) + 1) / 2;
    CHECK_OK(cg_srvgg_upscale(ctx, m, x, n, h, wd, 0, one));
    const int tiles[] = {8, 13, 40};
    for (int t = 0; t < 3; t++) {
        for (size_t k = 0; k < out; k++) tiled[k] = NAN;
        CHECK_OK(cg_srvgg_upscale(ctx, m, x, n, h, wd, tiles[t], tiled));
        double worst = 0;
        for (size_t k = 0; k < out; k++) {
            double e = fabs((double)tiled[k] - one[k]);
            if (!(e <= worst)) worst = e; // NaN (a pixel no tile wrote) counts as the worst
        }
        CHECK(worst <= 1e-5, "tile %d: max |diff| %.3g against one pass (limit 1e-5)", tiles[t], worst);
    }
    free(x), free(one), free(tiled);
    cg_srvgg_free(m);
}

static void refused(cg_ctx *ctx, const char *label, damage d, int scale, cg_status want, const char *needle) {
    char path[600];
    snprintf(path, sizeof path, "%s/broken_%s.safetensors", dir, label);
    CHECK_OK(write_weights(path, 8, 4, scale, 3, d));
    cg_srvgg *m = NULL;
    CHECK_FAILS(cg_srvgg_load(ctx, path, &m), want, needle);
    CHECK(m == NULL, "%s: a model was returned", label);
    if (!strstr(cg_last_error(), path)) CHECK(0, "%s: the error does not name the file: %s", label, cg_last_error());
}

static void check_refusals(cg_ctx *ctx) {
    refused(ctx, "missing_prelu", (damage){"body.3.weight", NULL, NULL}, 4, CG_ERR_FORMAT, "missing tensor 'body.3.weight'");
    refused(ctx, "missing_conv", (damage){"body.4.weight", NULL, NULL}, 4, CG_ERR_FORMAT, "body.4.weight");
    refused(ctx, "shape", (damage){NULL, "body.3.weight", NULL}, 4, CG_ERR_FORMAT, "body.3.weight");
    refused(ctx, "scale", (damage){NULL, "body.6.weight", NULL}, 4, CG_ERR_FORMAT, "body.6.weight");
    refused(ctx, "nan", (damage){NULL, NULL, "body.2.bias"}, 4, CG_ERR_NUMERIC, "body.2.bias");
    // A truncated file: the good one less its last 100 bytes.
    char good[600], cut[600];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(cut, sizeof cut, "%s/truncated.safetensors", dir);
    CHECK_OK(write_weights(good, 8, 4, 4, 3, (damage){0}));
    size_t len = 0;
    char *bytes = cli_slurp(good, &len);
    CHECK(bytes && len > 100 && cli_spit(cut, bytes, len - 100), "cannot write %s", cut);
    free(bytes);
    cg_srvgg *m = NULL;
    CHECK(cg_srvgg_load(ctx, cut, &m) != CG_OK && m == NULL, "a truncated file was accepted");
    CHECK(strstr(cg_last_error(), cut) != NULL, "the truncation error does not name the file: %s", cg_last_error());
}

// PixelShuffle(2) and nearest x3 against loops, forward and backward, on a [2, 8, 3, 5] input.
static void check_layers(cg_ctx *ctx) {
    const int n = 2, c = 8, h = 3, w = 5;
    size_t m = (size_t)n * c * h * w;
    float *x = malloc(m * sizeof *x), *y = malloc(9 * m * sizeof *y), *back = malloc(m * sizeof *back);
    uint32_t seed = 4;
    for (size_t k = 0; k < m; k++) x[k] = lcg(&seed);
    cl_mem xb = NULL, yb = NULL, db = NULL;
    CHECK_OK(cg_buffer_alloc(ctx->rt, m, &xb));
    CHECK_OK(cg_buffer_alloc(ctx->rt, 9 * m, &yb));
    CHECK_OK(cg_buffer_alloc(ctx->rt, m, &db));
    cg_layer *ps = NULL, *up = NULL;
    CHECK_OK(cg_pixel_shuffle_create(2, &ps));
    CHECK_OK(cg_upsample_nearest_create(3, &up));
    if (!xb || !yb || !db || !ps || !up) goto done;
    cg_tensor xt = cg_view(xb, 0, n, c, h, w), dxt = cg_view(db, 0, n, c, h, w);
    CHECK_OK(cg_tensor_write(ctx->rt, xt, x));
    // PixelShuffle: y[n, c/4, 2h + a, 2w + b] = x[n, 4 (c/4) + 2a + b, h, w]; backward(y) = x.
    cg_tensor yt = cg_view(yb, 0, n, c / 4, 2 * h, 2 * w);
    CHECK_OK(ps->ops->forward(ps, ctx, xt, yt, 0));
    CHECK_OK(cg_tensor_read(ctx->rt, yt, y));
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
            for (int r = 0; r < h; r++)
                for (int q = 0; q < w; q++) {
                    int oc = k / 4, a = k % 4 / 2, b = k % 2;
                    float want = x[(((size_t)i * c + k) * h + r) * w + q];
                    bad += y[(((size_t)i * (c / 4) + oc) * 2 * h + 2 * r + a) * 2 * w + 2 * q + b] != want;
                }
    CHECK(bad == 0, "pixel_shuffle forward: %d elements misplaced", bad);
    CHECK_OK(ps->ops->backward(ps, ctx, xt, yt, yt, &dxt));
    CHECK_OK(cg_tensor_read(ctx->rt, dxt, back));
    CHECK(!memcmp(back, x, m * sizeof *x), "pixel_shuffle backward is not the inverse permutation");
    int in_bad[4] = {n, 6, h, w}, out[4];
    CHECK_FAILS(ps->ops->out_shape(ps, in_bad, out), CG_ERR_INVALID_ARG, "must divide by 4");
    // Nearest x3: y[.., 3r + a, 3q + b] = x[.., r, q]; backward sums the 9 (all ones -> 9).
    cg_tensor ut = cg_view(yb, 0, n, c, 3 * h, 3 * w);
    CHECK_OK(up->ops->forward(up, ctx, xt, ut, 0));
    CHECK_OK(cg_tensor_read(ctx->rt, ut, y));
    bad = 0;
    for (size_t p = 0; p < (size_t)n * c; p++)
        for (int r = 0; r < 3 * h; r++)
            for (int q = 0; q < 3 * w; q++)
                bad += y[(p * 3 * h + r) * 3 * w + q] != x[(p * h + r / 3) * w + q / 3];
    CHECK(bad == 0, "upsample_nearest forward: %d elements differ", bad);
    CHECK_OK(cg_upsample_nearest_add(ctx, xt, 3, ut));
    CHECK_OK(cg_tensor_read(ctx->rt, ut, y));
    CHECK(y[7] == 2 * x[2], "upsample_nearest_add: y[0, 0, 0, 7] = %g, expected 2 x[0, 0, 0, 2]",
          y[7]);
    CHECK_OK(cg_tensor_fill(ctx->rt, ut, 1.0f));
    CHECK_OK(up->ops->backward(up, ctx, xt, ut, ut, &dxt));
    CHECK_OK(cg_tensor_read(ctx->rt, dxt, back));
    bad = 0;
    for (size_t k = 0; k < m; k++) bad += back[k] != 9.0f;
    CHECK(bad == 0, "upsample_nearest backward: %d sums are not 9", bad);
done:
    cg_layer_free(ps);
    cg_layer_free(up);
    cg_buffer_release(xb), cg_buffer_release(yb), cg_buffer_release(db);
    free(x), free(y), free(back);
}

// The command: .npy in and out (equal to the library's result), a PNG folder, usage and load errors.
static void check_cli(cg_ctx *ctx, const char *w) {
    cli_exe = getenv("CLGAN_CLI");
    if (!cli_exe || !*cli_exe) {
        CHECK(0, "CLGAN_CLI is not set (run through ctest)");
        return;
    }
    char xp[600], yp[600], pngs[600], err[600], png[700];
    snprintf(xp, sizeof xp, "%s/cli_x.npy", dir);
    snprintf(yp, sizeof yp, "%s/cli_y.npy", dir);
    snprintf(pngs, sizeof pngs, "%s/pngs", dir);
    snprintf(err, sizeof err, "%s/cli_err.txt", dir);
    const int n = 3, h = 12, wd = 9;
    size_t in = (size_t)n * 3 * h * wd;
    float *x = malloc(in * sizeof *x), *want = malloc(16 * in * sizeof *want), *got = NULL;
    uint32_t seed = 11;
    for (size_t k = 0; k < in; k++) x[k] = (lcg(&seed) + 1) / 2;
    int64_t sh[4] = {n, 3, h, wd};
    CHECK_OK(cg_npy_write_f32(xp, x, 4, sh));
    cg_srvgg *m = NULL;
    CHECK_OK(cg_srvgg_load(ctx, w, &m));
    if (m) CHECK_OK(cg_srvgg_upscale(ctx, m, x, n, h, wd, 0, want));
    cg_srvgg_free(m);
    int rc = cli_run(err, "upscale", "--weights", w, "--input", xp, "--out", yp, "--tile", "5", (char *)NULL);
    CHECK(rc == 0, "clgan upscale to .npy exited with %d", rc);
    int nd;
    int64_t ysh[CG_NPY_MAX_DIMS];
    if (rc == 0 && cg_npy_read_f32(yp, &got, &nd, ysh) == CG_OK) {
        CHECK(nd == 4 && ysh[0] == n && ysh[1] == 3 && ysh[2] == 4 * h && ysh[3] == 4 * wd, "clgan upscale: .npy shape");
        double worst = 0;
        for (size_t k = 0; nd == 4 && k < 16 * in; k++) worst = fmax(worst, fabs((double)got[k] - want[k]));
        CHECK(worst <= 1e-5, "clgan upscale --tile 5: max |diff| %.3g against the library's one pass", worst);
    } else {
        CHECK(0, "clgan upscale wrote no readable %s", yp);
    }
    CHECK(cli_contains(err, "images/s"), "clgan upscale does not report images/s");
    rc = cli_run(err, "upscale", "--weights", w, "--input", xp, "--out", pngs, (char *)NULL);
    CHECK(rc == 0, "clgan upscale to a folder exited with %d", rc);
    snprintf(png, sizeof png, "%s/000002.png", pngs);
    CHECK(cli_exists(png), "clgan upscale wrote no %s", png);
    rc = cli_run(err, "upscale", "--weights", w, "--input", xp, (char *)NULL);
    CHECK(rc == 2, "clgan upscale without --out exited with %d, expected 2", rc);
    rc = cli_run(err, "upscale", "--weights", w, "--input", xp, "--out", yp, "--tile", "-1", (char *)NULL);
    CHECK(rc == 2, "clgan upscale --tile -1 exited with %d, expected 2", rc);
    rc = cli_run(err, "upscale", "--weights", xp, "--input", xp, "--out", yp, (char *)NULL);
    CHECK(rc == 1, "clgan upscale with an .npy as weights exited with %d, expected 1", rc);
    rc = cli_run(err, "upscale", "--help", (char *)NULL);
    CHECK(rc == 0, "clgan upscale --help exited with %d", rc);
    free(x), free(want), free(got);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    if (test_tmpdir(dir, sizeof dir, "upscale") != 0) return 1;
    char w[600], pth[600], conv[600];
    snprintf(w, sizeof w, "%s/random.safetensors", dir);
    CHECK_OK(write_weights(w, 8, 4, 4, 1, (damage){0}));
    check_layers(&ctx);
    check_refusals(&ctx);
    check_tiling(&ctx, w);
    check_cli(&ctx, w);

    // Random weights saved by PyTorch as a Real-ESRGAN release, converted, against PyTorch.
    snprintf(pth, sizeof pth, "%s/random.pth", dir);
    snprintf(conv, sizeof conv, "%s/random_conv.safetensors", dir);
    if (parity_run("upscale_reference.py", "random", pth, "16", "3", "4", "5", (char *)NULL) == 0 &&
        convert(pth, conv) == 0) {
        parity(&ctx, "random", pth, conv, 2, 32);
        parity(&ctx, "random", pth, conv, 1, 64);
    }
    // The real weights.
    const char *root = getenv("CLGAN_SHARED_DATA");
    snprintf(pth, sizeof pth, "%s/realesrgan_srvgg/realesr-animevideov3.pth", root && *root ? root : ".");
    snprintf(conv, sizeof conv, "%s/anime.safetensors", dir);
    if (access(pth, R_OK) != 0)
        test_skip_part("data", "no Real-ESRGAN weights at %s ($CLGAN_SHARED_DATA)", pth);
    else if (access(parity_python(), X_OK) == 0 && convert(pth, conv) == 0) {
        parity(&ctx, "realesr-animevideov3", pth, conv, 2, 32);
        parity(&ctx, "realesr-animevideov3", pth, conv, 1, 64);
    }
    parity_rmdir(dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_upscale");
}
