// test_interop.c — generators move between PyTorch and clgan (Debian's torch under $CLGAN_PYTHON;
// skipped with a message when Python or torch is missing):
//   torch -> clgan: tests/reference/layers_reference.py trains a pytorch/examples DCGAN 64x64
//     generator (nz 100, ngf 64) a few steps, so its BatchNorm running statistics are not the
//     defaults, and saves its state_dict (num_batches_tracked as I64) as safetensors, a z batch
//     as .npy and its eval-mode images. clgan loads it with cg_seq_load into cg_model_generator
//     and must produce the same images from the same z: max |difference| <= 1e-4.
//   clgan -> torch: a clgan generator with DCGAN-initialised weights and running statistics moved
//     by two training-mode forwards, saved with cg_seq_save, loads into the PyTorch model
//     (strict=False: clgan writes no num_batches_tracked) and gives clgan's eval-mode images for
//     the same z: max |difference| <= 1e-4.
#include "metrics.h"
#include "models.h"
#include "parity_util.h"

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

// Eval-mode images of g for z (host [n, nz, 1, 1]), read back into a malloc'd array.
static float *generate(cg_ctx *ctx, cg_seq *g, const float *z, int n) {
    CHECK_OK(cg_seq_set_batch(ctx, g, n));
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(g), z));
    CHECK_OK(cg_seq_forward(ctx, g, 0));
    cg_tensor out = cg_seq_output(g);
    float *img = malloc(cg_numel(out) * sizeof *img);
    CHECK_OK(cg_tensor_read(ctx->rt, out, img));
    return img;
}

static void torch_to_clgan(cg_ctx *ctx, const cg_model_config *mc, const char *dir) {
    char path[600];
    float *z = NULL, *want = NULL;
    int zd = 0, wd = 0;
    int64_t zs[CG_NPY_MAX_DIMS], ws[CG_NPY_MAX_DIMS];
    snprintf(path, sizeof path, "%s/interop_z.npy", dir);
    CHECK_OK(cg_npy_read_f32(path, &z, &zd, zs));
    snprintf(path, sizeof path, "%s/interop_images.npy", dir);
    CHECK_OK(cg_npy_read_f32(path, &want, &wd, ws));
    cg_seq *g = NULL;
    CHECK_OK(cg_model_generator(ctx, mc, &g));
    if (z && want && g && zd == 4 && wd == 4 && zs[1] == mc->nz && ws[1] == mc->channels &&
        ws[2] == mc->image_size) {
        int n = (int)zs[0];
        CHECK_OK(cg_seq_set_batch(ctx, g, n));
        snprintf(path, sizeof path, "%s/interop_G.safetensors", dir);
        CHECK_OK(cg_seq_load(ctx, g, path));
        cg_param *rv = cg_seq_find(g, "main.1.running_var");
        float v[4] = {0};
        if (rv) CHECK_OK(cg_tensor_read(ctx->rt, cg_view(rv->w.buf, rv->w.off, 1, 1, 1, 4), v));
        CHECK(rv && v[0] != 1.0f, "the PyTorch generator's running_var is still the default (%g)", v[0]);
        float *img = generate(ctx, g, z, n);
        size_t count = (size_t)n * mc->channels * mc->image_size * mc->image_size;
        double d = max_diff(img, want, count);
        CHECK(d <= 1e-4, "torch -> clgan: max |difference| %.3g (limit 1e-4)", d);
        fprintf(stderr, "torch -> clgan: %d images, max |difference| %.3g (limit 1e-4)\n", n, d);
        free(img);
    } else {
        CHECK(0, "interop goldens missing or mis-shaped");
    }
    cg_seq_free(g);
    free(z);
    free(want);
}

static void clgan_to_torch(cg_ctx *ctx, const cg_model_config *mc, const char *dir) {
    enum { N = 4 };
    cg_seq *g = NULL;
    CHECK_OK(cg_model_generator(ctx, mc, &g));
    if (!g) return;
    CHECK_OK(cg_seq_set_batch(ctx, g, N));
    CHECK_OK(cg_init_dcgan(ctx, g, (cg_rng){2024, 3}));
    size_t nz = (size_t)N * mc->nz;
    float *z = malloc(nz * sizeof *z);
    for (int pass = 0; pass < 2; pass++) { // moves the running statistics away from (0, 1)
        cg_rng_normal_host((cg_rng){99, (uint64_t)pass}, 0, z, nz, 0.0f, 1.0f);
        CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(g), z));
        CHECK_OK(cg_seq_forward(ctx, g, 1));
    }
    cg_rng_normal_host((cg_rng){99, 7}, 0, z, nz, 0.0f, 1.0f);
    float *img = generate(ctx, g, z, N);
    char gpath[600], zpath[600], opath[600];
    snprintf(gpath, sizeof gpath, "%s/clgan_G.safetensors", dir);
    snprintf(zpath, sizeof zpath, "%s/clgan_z.npy", dir);
    snprintf(opath, sizeof opath, "%s/torch_images.npy", dir);
    CHECK_OK(cg_seq_save(ctx, g, gpath));
    int64_t zs[4] = {N, mc->nz, 1, 1};
    CHECK_OK(cg_npy_write_f32(zpath, z, 4, zs));
    char a_nz[16], a_ngf[16], a_ch[16], a_size[16];
    snprintf(a_nz, sizeof a_nz, "%d", mc->nz);
    snprintf(a_ngf, sizeof a_ngf, "%d", mc->ngf);
    snprintf(a_ch, sizeof a_ch, "%d", mc->channels);
    snprintf(a_size, sizeof a_size, "%d", mc->image_size);
    if (parity_run("layers_reference.py", "generate", gpath, zpath, opath, a_nz, a_ngf, a_ch, a_size, (char *)NULL) ==
        0) {
        float *want = NULL;
        int nd = 0;
        int64_t ws[CG_NPY_MAX_DIMS];
        CHECK_OK(cg_npy_read_f32(opath, &want, &nd, ws));
        size_t count = (size_t)N * mc->channels * mc->image_size * mc->image_size;
        if (want && nd == 4 && ws[0] == N && (size_t)(ws[0] * ws[1] * ws[2] * ws[3]) == count) {
            double d = max_diff(img, want, count);
            CHECK(d <= 1e-4, "clgan -> torch: max |difference| %.3g (limit 1e-4)", d);
            fprintf(stderr, "clgan -> torch: %d images, max |difference| %.3g (limit 1e-4)\n", N, d);
        } else {
            CHECK(0, "torch images missing or mis-shaped");
        }
        free(want);
    }
    free(img);
    free(z);
    cg_seq_free(g);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    char dir[128];
    if (test_tmpdir(dir, sizeof dir, "interop") != 0) return 1;
    const cg_model_config mc = {CG_MODEL_DCGAN, 64, 3, 100, 64, 64};
    if (parity_run("layers_reference.py", "interop", dir, (char *)NULL) == 0) {
        torch_to_clgan(&ctx, &mc, dir);
        clgan_to_torch(&ctx, &mc, dir);
    }
    parity_rmdir(dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_interop");
}
