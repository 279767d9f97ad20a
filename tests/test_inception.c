// test_inception.c — pytorch-fid's Inception-v3 on OpenCL: the resize kernels against their C
// reference (and bilinear against torch's F.interpolate), one Mixed block on a tiny input, the
// weights loader's refusals (missing tensor, wrong shape, truncated file, absent file), and the
// pool3 features and logits of 32 images of five sizes against pytorch-fid with the same random
// weights (tests/reference/inception_reference.py). CLGAN_TEST_QUICK: resize and one block only.
// oclgrind: run
#include "inception_internal.h"
#include "metrics.h"
#include "test_util.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static cg_runtime *rt;
static int quick;

// A deterministic test image: uint8 HWC with c channels, or float CHW (3 channels) in [-1, 1].
static void fill_image(cg_image *img, int h, int w, int c, int is_float, uint8_t **u8, float **f32) {
    size_t n = (size_t)h * w * (is_float ? 3 : c);
    *u8 = NULL, *f32 = NULL;
    if (is_float) {
        *f32 = malloc(n * sizeof **f32);
        for (size_t i = 0; i < n; i++) (*f32)[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    } else {
        *u8 = malloc(n);
        for (size_t i = 0; i < n; i++) (*u8)[i] = (uint8_t)((i * 2654435761u) >> 7);
    }
    *img = (cg_image){h, w, is_float ? 3 : c, *u8, *f32};
}

static void test_resize(void) {
    cg_resizer *rs = NULL;
    CHECK_OK(cg_resizer_create(rt, &rs));
    const int shapes[][4] = {{13, 17, 3, 0}, {61, 45, 3, 0}, {40, 40, 1, 0}, {9, 31, 4, 0}, {37, 23, 3, 1}};
    int n_shapes = 5, size_small = quick ? 11 : 29; // Oclgrind simulates every work-item: keep it small
    cl_mem buf = NULL;
    int big = quick ? 29 : CG_INCEPTION_SIZE;
    CHECK_OK(cg_buffer_alloc(rt, (size_t)3 * big * big, &buf));
    float *got = malloc(sizeof(float) * 3 * big * big), *want = malloc(sizeof(float) * 3 * big * big);
    for (int s = 0; s < n_shapes + (quick ? 0 : 1); s++) {
        int h = s < n_shapes ? shapes[s][0] : 218, w = s < n_shapes ? shapes[s][1] : 178;
        int c = s < n_shapes ? shapes[s][2] : 3, fl = s < n_shapes ? shapes[s][3] : 0;
        int size = s < n_shapes ? size_small : CG_INCEPTION_SIZE;
        uint8_t *u8;
        float *f32;
        cg_image img;
        fill_image(&img, h, w, c, fl, &u8, &f32);
        for (int m = 0; m < 3; m++) {
            cg_tensor dst = cg_view(buf, 0, 1, 3, size, size);
            CHECK_OK(cg_resizer_run_size(rs, &img, (cg_resize_mode)m, size, dst));
            CHECK_OK(cg_tensor_read(rt, dst, got));
            cg_resize_ref(&img, (cg_resize_mode)m, size, want);
            double worst = 0;
            for (size_t i = 0; i < (size_t)3 * size * size; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
            double tol = m == CG_RESIZE_BILINEAR ? 2e-6 : 2e-5;
            CHECK(worst <= tol, "resize %s %dx%dx%d%s -> %d: max |kernel - C| = %.3g > %.1g", cg_resize_mode_name(m), h,
                  w, c, fl ? " float" : "", size, worst, tol);
        }
        free(u8);
        free(f32);
    }
    cg_resize_mode mode;
    CHECK_FAILS(cg_resize_mode_parse("nearest", &mode), CG_ERR_CONFIG, "bilinear, bicubic or lanczos");
    free(got);
    free(want);
    cg_buffer_release(buf);
    cg_resizer_free(rs);
}

// One Mixed block (5b, FIDInceptionA) on a tiny input with random weights: runs, ReLU outputs
// (2x2 quick, for Oclgrind; 3x3 otherwise).
static void test_block(void) {
    cg_inception *net = NULL;
    CHECK_OK(cg_inception_create(rt, 1, &net));
    if (!net) return;
    CHECK_OK(cg_inception_random(net, 3));
    const incep_block *b = &net->blocks[0];
    int s = quick ? 2 : 3;
    cg_tensor x = cg_view(net->buf[0], 0, 1, b->cin, s, s), y = cg_view(net->buf[1], 0, 1, b->cout, s, s);
    CHECK_OK(cg_rng_uniform(rt, (cg_rng){9, 0}, 0, x, 0.0f, 1.0f));
    CHECK_OK(incep_block_forward(net, b, x, y, net->buf[2], net->buf[3]));
    float *out = malloc(cg_numel(y) * sizeof *out);
    CHECK_OK(cg_tensor_read(rt, y, out));
    int bad = 0, pos = 0;
    for (size_t i = 0; i < cg_numel(y); i++) bad += !(out[i] >= 0.0f && isfinite(out[i])), pos += out[i] > 0;
    CHECK(bad == 0 && pos > 0, "Mixed_5b on [1, 192, %d, %d]: %d bad values, %d positive", s, s, bad, pos);
    free(out);
    cg_inception_free(net);
}

static char dir[64];

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static float *load_npy(const char *name, int64_t rows, int64_t cols) {
    char path[256];
    path_in(path, sizeof path, name);
    float *data = NULL;
    int ndim = 0;
    int64_t shape[CG_NPY_MAX_DIMS];
    CHECK_OK(cg_npy_read_f32(path, &data, &ndim, shape));
    int ok = data && (ndim == 2 ? shape[0] == rows && shape[1] == cols
                                : ndim == 3 && shape[0] * shape[1] * shape[2] == rows * cols);
    CHECK(ok, "%s: unexpected shape", name);
    if (!ok) {
        free(data);
        return NULL;
    }
    return data;
}

// Worst per-row |a - b| / |b| over rows of d values.
static double worst_rel(const float *a, const float *b, int64_t rows, int d, int64_t *at) {
    double worst = 0;
    for (int64_t r = 0; r < rows; r++) {
        double num = 0, den = 0;
        for (int j = 0; j < d; j++) {
            double e = (double)a[r * d + j] - b[r * d + j];
            num += e * e, den += (double)b[r * d + j] * b[r * d + j];
        }
        double rel = sqrt(num) / (sqrt(den) > 0 ? sqrt(den) : 1);
        if (rel > worst) worst = rel, *at = r;
    }
    return worst;
}

static void test_weights_refused(cg_inception *net) {
    char path[256];
    path_in(path, sizeof path, "weights_missing.safetensors");
    CHECK_FAILS(cg_inception_load(net, path), CG_ERR_FORMAT, "missing Mixed_6c.branch7x7_2.conv.weight");
    path_in(path, sizeof path, "weights_badshape.safetensors");
    CHECK_FAILS(cg_inception_load(net, path), CG_ERR_FORMAT,
                "Mixed_7b.branch_pool.bn.running_var has shape [191], expected [192]");
    path_in(path, sizeof path, "weights_truncated.safetensors");
    cg_clear_error();
    cg_status st = cg_inception_load(net, path);
    CHECK(st != CG_OK && strstr(cg_last_error(), "weights_truncated.safetensors"),
          "truncated weights: %s: %s", cg_status_name(st), cg_last_error());
    path_in(path, sizeof path, "no_such.safetensors");
    CHECK_FAILS(cg_inception_load(net, path), CG_ERR_NOT_FOUND, "tools/convert_inception_weights.py");
}

static void test_parity(void) {
    const char *python = getenv("CLGAN_PYTHON"), *src = getenv("CLGAN_SOURCE_DIR"), *pydeps = getenv("CLGAN_PYDEPS");
    if (!python || !*python) python = "/usr/bin/python3";
    if (!src || !*src) {
        CHECK(0, "CLGAN_SOURCE_DIR is not set (run through ctest)");
        return;
    }
    if (access(python, X_OK) != 0) {
        test_skip_part("torch", "parity with pytorch-fid: no Python interpreter at '%s' (CLGAN_PYTHON)", python);
        return;
    }
    if (!pydeps || !*pydeps) {
        test_skip_part("pytorch-fid", "parity with pytorch-fid: CLGAN_PYDEPS is not set (scripts/install-pydeps)");
        return;
    }
    const char *n_env = getenv("CLGAN_INCEPTION_IMAGES");
    int n = n_env && atoi(n_env) > 0 ? atoi(n_env) : 32;
    // CLGAN_INCEPTION_REFDIR: reuse the script's output kept from an earlier run (development).
    const char *keep = getenv("CLGAN_INCEPTION_REFDIR");
    char script[1200], n_arg[16];
    int rc = 0;
    double t0 = cg_now_s();
    if (keep && *keep) {
        snprintf(dir, sizeof dir, "%s", keep);
    } else {
        CHECK(test_tmpdir(dir, sizeof dir, "inception") == 0, "no scratch folder");
        snprintf(script, sizeof script, "%s/tests/reference/inception_reference.py", src);
        snprintf(n_arg, sizeof n_arg, "%d", n);
        rc = test_run(NULL, NULL, pydeps, python, script, dir, n_arg, (char *)NULL);
        printf("reference script: %.1f s\n", cg_now_s() - t0);
    }
    if (rc == TEST_SKIP) {
        test_skip_part(test_missing_dep(python, pydeps, "pytorch-fid"),
                       "parity: inception_reference.py lacks torch, torchvision, PIL or pytorch_fid");
    } else {
        CHECK(rc == 0, "inception_reference.py %s %d exited with %d", dir, n, rc);
    }
    if (rc == 0) {
        cg_inception *net = NULL;
        CHECK_OK(cg_inception_create(rt, 16, &net));
        char path[256];
        test_weights_refused(net);
        path_in(path, sizeof path, "weights.safetensors");
        CHECK_OK(cg_inception_load(net, path));
        float *rp = load_npy("pool.npy", n, CG_INCEPTION_FEATURES);
        float *rl = load_npy("logits.npy", n, CG_INCEPTION_CLASSES);
        float *rn = load_npy("logits_nobias.npy", n, CG_INCEPTION_CLASSES);
        float *r0 = load_npy("resized0.npy", 3 * CG_INCEPTION_SIZE, CG_INCEPTION_SIZE);
        cg_image_source *imgs = NULL;
        CHECK_OK(cg_source_folder(dir, &imgs));
        if (imgs && r0) { // bilinear C reference against torch's F.interpolate on img_00
            cg_image img;
            CHECK_OK(imgs->get(imgs, 0, &img, NULL));
            float *mine = malloc(sizeof(float) * 3 * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE);
            cg_resize_ref(&img, CG_RESIZE_BILINEAR, CG_INCEPTION_SIZE, mine);
            double worst = 0;
            for (size_t i = 0; i < (size_t)3 * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE; i++)
                worst = fmax(worst, fabs((double)mine[i] - r0[i]));
            CHECK(worst <= 5e-6, "bilinear C reference vs F.interpolate: max diff %.3g", worst);
            printf("bilinear resize vs F.interpolate: max |diff| %.2g\n", worst);
            for (int i = 0; i < 3; i++) // the antialiased modes against PIL (clean-fid's resize)
                for (int m = CG_RESIZE_BICUBIC; m <= CG_RESIZE_LANCZOS; m++) {
                    char name[32];
                    snprintf(name, sizeof name, "%s%d.npy", m == CG_RESIZE_BICUBIC ? "bicubic" : "lanczos", i);
                    float *pil = load_npy(name, 3 * CG_INCEPTION_SIZE, CG_INCEPTION_SIZE);
                    CHECK_OK(imgs->get(imgs, i, &img, NULL));
                    cg_resize_ref(&img, (cg_resize_mode)m, CG_INCEPTION_SIZE, mine);
                    worst = 0;
                    for (size_t j = 0; pil && j < (size_t)3 * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE; j++)
                        worst = fmax(worst, fabs((double)mine[j] - pil[j]));
                    // PIL accumulates in double; 1e-4 is well under one 8-bit step (2/255).
                    CHECK(pil && worst <= 1e-4, "%s C reference vs PIL on image %d: max diff %.3g", name, i, worst);
                    printf("%s resize of %dx%d vs PIL: max |diff| %.2g\n", cg_resize_mode_name(m), img.w, img.h, worst);
                    free(pil);
                }
            free(mine);
        }
        float *pool = NULL, *logits = NULL, *nobias = NULL;
        int64_t count = 0;
        t0 = cg_now_s();
        if (imgs && net && rp && rl && rn) {
            CHECK_OK(cg_inception_features(net, imgs, CG_RESIZE_BILINEAR, 0, NULL, &pool, &logits, &nobias, &count));
            double dt = cg_now_s() - t0;
            printf("clgan: %lld images in %.1f s (%.2f images/s)\n", (long long)count, dt, count / dt);
            CHECK(count == n, "%lld images scored, expected %d", (long long)count, n);
        }
        if (pool && count == n) {
            int64_t at = -1;
            double e = worst_rel(pool, rp, n, CG_INCEPTION_FEATURES, &at);
            printf("pool3 features: worst relative error %.3g (image %lld)\n", e, (long long)at);
            CHECK(e <= 1e-4, "pool3 features: relative error %.3g at image %lld", e, (long long)at);
            e = worst_rel(logits, rl, n, CG_INCEPTION_CLASSES, &at);
            printf("logits: worst relative error %.3g (image %lld)\n", e, (long long)at);
            CHECK(e <= 1e-4, "logits: relative error %.3g at image %lld", e, (long long)at);
            e = worst_rel(nobias, rn, n, CG_INCEPTION_CLASSES, &at);
            printf("logits without bias: worst relative error %.3g (image %lld)\n", e, (long long)at);
            CHECK(e <= 1e-4, "logits without bias: relative error %.3g at image %lld", e, (long long)at);
        }
        free(pool), free(logits), free(nobias), free(rp), free(rl), free(rn), free(r0);
        cg_source_close(imgs);
        cg_inception_free(net);
    }
    if (keep && *keep) return;
    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    quick = getenv("CLGAN_TEST_QUICK") != NULL;
    rt = test_runtime();
    test_resize();
    test_block();
    if (!quick) test_parity();
    cg_runtime_free(rt);
    return test_finish("test_inception");
}
