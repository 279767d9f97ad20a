// test_score_cli.c — `clgan score --checkpoint` as a user runs it, through the CLI binary
// (CLGAN_CLI): a small DCGAN checkpoint (two training steps through the C API), random Inception
// weights saved by torch with pytorch-fid's names and converted by tools/convert_inception_weights.py,
// IS/FID/KID of the checkpoint's generator; the same numbers (within PNG rounding) from the folder
// `clgan sample` writes; a generator-only file with [model] from --set; and the errors for a
// missing or corrupt checkpoint and missing weights. Without torch/pytorch-fid only the errors run.
#include "inception.h"
#include "test_util.h"
#include "train.h"

#include <cJSON.h>
#include <math.h>
#include <sys/wait.h>
#include <time.h>

#define N_IMAGES 20 // IS has 10 splits: 2 images each
#define N_REF 6
#define SEED 3

static const char *cli;
static char dir[512];

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

// The arguments joined by spaces, for messages.
static const char *shown(const char *const *args) {
    static char text[4096];
    text[0] = 0;
    for (size_t used = 0; *args && used < sizeof text; args++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%s", used ? " " : "", *args);
    return text;
}

// Runs clgan with args (no shell) and stderr in dir/err.txt (stdout discarded); the exit status.
static int run_cli(const char *const *args) {
    const char *argv[64] = {cli};
    int n = 1;
    for (; args[n - 1] && n < 63; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    char err[600];
    snprintf(err, sizeof err, "%s/err.txt", dir);
    double t0 = cg_now_s();
    int rc = test_spawn(argv, "/dev/null", err, NULL);
    printf("  %5.1f s  clgan %s\n", cg_now_s() - t0, shown(args));
    return rc;
}

static char *read_text(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    if (cg_read_file(path, &text, NULL) != CG_OK) return NULL;
    return text;
}

static void expect_failure(const char *const *argv, int want_rc, const char *needle1, const char *needle2) {
    int rc = run_cli(argv);
    const char *args = shown(argv);
    char *err = read_text("err.txt");
    CHECK(rc == want_rc, "clgan %s exited with %d, expected %d (stderr: %s)", args, rc, want_rc, err ? err : "");
    CHECK(err && strstr(err, needle1), "clgan %s: stderr lacks '%s': %s", args, needle1, err ? err : "");
    CHECK(!needle2 || (err && strstr(err, needle2)), "clgan %s: stderr lacks '%s': %s", args, needle2,
          err ? err : "");
    free(err);
}

// A DCGAN 32x32 trained for two steps on noise images (learning rate raised so the samples
// differ visibly from the initial gray), saved as dir/ckpt.safetensors, and its generator alone
// (bare "main.*" names, no model metadata) as dir/gen.safetensors.
static const cg_model_config model = {CG_MODEL_DCGAN, 32, 3, 16, 16, 16};

static void make_checkpoints(cg_runtime *rt) {
    enum { COUNT = 32 };
    float *data = malloc(sizeof(float) * COUNT * 3 * 32 * 32);
    cg_rng_uniform_host((cg_rng){9, 1}, 0, data, (size_t)COUNT * 3 * 32 * 32);
    for (size_t i = 0; i < (size_t)COUNT * 3 * 32 * 32; i++) data[i] = 2 * data[i] - 1;
    cg_data_source *src = NULL;
    CHECK_OK(cg_data_memory_create(data, COUNT, 3, 32, 32, &src));
    free(data);
    char out[600];
    snprintf(out, sizeof out, "%s/train", dir);
    cg_train_params p = {0};
    p.dataset = "", p.out = out, p.iterations = 100, p.batch_size = 16, p.seed = 4, p.loss = CG_LOSS_BCE;
    cg_opt_params adam = {CG_OPT_ADAM, 0.002f, 0.5f, 0.999f, 1e-8f, 0.99f, 0.0f, 0.0f};
    p.opt_g = p.opt_d = adam;
    p.n_critic = p.n_critic_warmup = 1;
    p.log_every = 1, p.sample_every = 1000, p.checkpoint_every = 1000, p.nan_check_every = 1;
    p.n_samples = 4, p.quiet = 1;
    cg_ctx ctx = {rt, {0}};
    cg_trainer *t = NULL;
    CHECK_OK(cg_trainer_create(&ctx, &p, &model, NULL, NULL, src, "[test]\n", &t));
    char path[700];
    if (t) {
        CHECK_OK(cg_trainer_run(t, NULL));
        snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
        CHECK_OK(cg_trainer_save(t, path));
        snprintf(path, sizeof path, "%s/gen.safetensors", dir);
        CHECK_OK(cg_seq_save(&ctx, cg_trainer_generator(t), path));
    }
    cg_trainer_free(t);
    cg_data_source_free(src);
    cg_workspace_free(&ctx.ws);
}

static void check_errors(void) {
    char absent[700], weights[700], path[700], ckpt[700], no_weights[700];
    snprintf(absent, sizeof absent, "%s/absent.safetensors", dir);
    snprintf(weights, sizeof weights, "%s/w.safetensors", dir);
    snprintf(path, sizeof path, "%s/corrupt.safetensors", dir);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    snprintf(no_weights, sizeof no_weights, "%s/absent-weights.safetensors", dir);
    expect_failure(ARGS("score", "--checkpoint", absent, "--weights", weights, "--metrics", "is"), 1,
                   "absent.safetensors", "does not exist");
    CHECK_OK(cg_write_file_atomic(path, "not a safetensors file at all", 29));
    expect_failure(ARGS("score", "--checkpoint", path, "--weights", weights, "--metrics", "is"), 1,
                   "corrupt.safetensors", NULL);
    expect_failure(ARGS("score", "--checkpoint", ckpt, "--weights", no_weights, "--metrics", "is", "--n", "10"), 1,
                   "absent-weights.safetensors", "convert_inception_weights.py");
    expect_failure(ARGS("score", "--checkpoint", ckpt, "--images", dir), 2, "either --images or --checkpoint", NULL);

    // Default Inception weights ($CLGAN_INCEPTION_WEIGHTS, then the cache) with a NaN are refused
    // like --weights: by score and stats, naming the file, tensor and element, before any output.
    char nan_w[700], imgs[700], npz[700], json[700], cached[1200];
    snprintf(nan_w, sizeof nan_w, "%s/nan-weights.safetensors", dir);
    snprintf(imgs, sizeof imgs, "%s/nan-imgs", dir);
    snprintf(npz, sizeof npz, "%s/nan.npz", dir);
    snprintf(json, sizeof json, "%s/nan.json", dir);
    float wv[4] = {0.1f, 0.2f, NAN, 0.3f};
    int shape[1] = {4};
    cg_st_tensor t = {"Conv2d_1a_3x3.conv.weight", shape, 1, wv};
    CHECK_OK(cg_safetensors_write(nan_w, &t, 1, NULL, NULL, 0));
    const char *const *args = ARGS("sample", "--checkpoint", ckpt, "--n", "2", "--out", imgs);
    CHECK(run_cli(args) == 0, "clgan %s failed", shown(args));
    const char *want = "tensor Conv2d_1a_3x3.conv.weight holds NaN at element 2";
    setenv("CLGAN_INCEPTION_WEIGHTS", nan_w, 1);
    expect_failure(ARGS("score", "--checkpoint", ckpt, "--metrics", "is", "--n", "10", "--out", json), 1, nan_w,
                   want);
    expect_failure(ARGS("stats", "--images", imgs, "--out", npz), 1, nan_w, want);
    unsetenv("CLGAN_INCEPTION_WEIGHTS");
    const char *cache = getenv("CLGAN_CACHE_DIR");
    if (cache && *cache) { // ctest gives each test its own cache folder
        CHECK_OK(cg_mkdir_p(cache));
        snprintf(cached, sizeof cached, "%s/%s", cache, CG_INCEPTION_WEIGHTS_NAME);
        CHECK_OK(cg_safetensors_write(cached, &t, 1, NULL, NULL, 0));
        expect_failure(ARGS("stats", "--images", imgs, "--out", npz), 1, cached, want);
        expect_failure(ARGS("score", "--images", imgs, "--metrics", "fid", "--ref", imgs, "--out", json), 1, cached,
                       want);
        remove(cached);
    }
    CHECK(access(npz, F_OK) != 0 && access(json, F_OK) != 0, "output written despite NaN Inception weights");
}

// The user's path to weights (test_util.h's stand-in). 0: done; 77: torch or pytorch-fid missing.
static int make_weights(void) {
    char pth[700], weights[700];
    snprintf(pth, sizeof pth, "%s/w.pth", dir);
    snprintf(weights, sizeof weights, "%s/w.safetensors", dir);
    return test_inception_stand_in(pth, weights);
}

typedef struct {
    double is, fid, kid;
    int n;
} result;

static int read_result(const char *name, result *r) {
    char *text = read_text(name);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(j != NULL, "%s/%s is missing or not JSON", dir, name);
    if (!j) return 0;
    const char *keys[4] = {"is_mean", "fid", "kid_mean", "n"};
    double v[4] = {NAN, NAN, NAN, NAN};
    for (int k = 0; k < 4; k++) {
        cJSON *x = cJSON_GetObjectItem(j, keys[k]);
        if (cJSON_IsNumber(x)) v[k] = x->valuedouble;
    }
    cJSON_Delete(j);
    *r = (result){v[0], v[1], v[2], (int)v[3]};
    return 1;
}

static void check_scores(void) {
    char weights[700], ckpt[700], ref[700], gen[700], ckpt_json[700], png_json[700], gen_file[700], gen_json[700];
    char seed[16], n_ref[16], n_img[16], set_size[64], set_nz[64], set_ngf[64];
    snprintf(weights, sizeof weights, "%s/w.safetensors", dir);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(gen, sizeof gen, "%s/gen", dir);
    snprintf(ckpt_json, sizeof ckpt_json, "%s/ckpt.json", dir);
    snprintf(png_json, sizeof png_json, "%s/png.json", dir);
    snprintf(gen_file, sizeof gen_file, "%s/gen.safetensors", dir);
    snprintf(gen_json, sizeof gen_json, "%s/gen.json", dir);
    snprintf(seed, sizeof seed, "%d", SEED);
    snprintf(n_ref, sizeof n_ref, "%d", N_REF);
    snprintf(n_img, sizeof n_img, "%d", N_IMAGES);
    const char *const *args = ARGS("sample", "--checkpoint", ckpt, "--seed", "99", "--n", n_ref, "--out", ref);
    CHECK(run_cli(args) == 0, "clgan %s failed", shown(args));
    args = ARGS("score", "--checkpoint", ckpt, "--seed", seed, "--n", n_img, "--weights", weights, "--batch", "10",
                "--metrics", "is,fid,kid", "--ref", ref, "--out", ckpt_json);
    CHECK(run_cli(args) == 0, "clgan %s failed", shown(args));
    char *err = read_text("err.txt"); // 20 and 6 images: KID says they are fewer than its subsets
    CHECK(err && strstr(err, "KID on 20 and 6 images, fewer than its subset size of 1000"),
          "score --metrics kid on 20 images: no subset-size warning: %s", err ? err : "");
    free(err);
    result a = {0}, b = {0}, g = {0};
    if (!read_result("ckpt.json", &a)) return;
    CHECK(a.n == N_IMAGES && isfinite(a.is) && isfinite(a.fid) && isfinite(a.kid) && a.is >= 1 && a.fid >= 0,
          "score --checkpoint: n %d, IS %g, FID %g, KID %g", a.n, a.is, a.fid, a.kid);

    args = ARGS("sample", "--checkpoint", ckpt, "--seed", seed, "--n", n_img, "--out", gen);
    CHECK(run_cli(args) == 0, "clgan %s failed", shown(args));
    args = ARGS("score", "--images", gen, "--weights", weights, "--batch", "10", "--metrics", "is,fid,kid", "--ref",
                ref, "--out", png_json);
    CHECK(run_cli(args) == 0, "clgan %s failed", shown(args));
    if (!read_result("png.json", &b)) return;
    // The checkpoint's floats and the PNGs differ by 8-bit rounding only (at most 1/510 of the
    // range per pixel). Measured: FID 0.2% apart (relative), IS 4e-6, KID 5e-6 (absolute). Feeding
    // the floats with the wrong range ([-1, 1] taken as [0, 1]) gave FID 10323 instead of 1.1,
    // swapped colour channels FID 68.8.
    double dfid = fabs(a.fid - b.fid) / fmax(b.fid, 1e-12), dis = fabs(a.is - b.is) / b.is, dkid = fabs(a.kid - b.kid);
    printf("  checkpoint: IS %.6f FID %.6f KID %.6g | PNG folder: IS %.6f FID %.6f KID %.6g\n", a.is, a.fid, a.kid,
           b.is, b.fid, b.kid);
    CHECK(dfid < 0.01 && dis < 0.01 && dkid < 1e-3,
          "checkpoint vs its PNGs: FID %g vs %g (rel %.3g), IS %g vs %g (rel %.3g), KID %g vs %g", a.fid, b.fid, dfid,
          a.is, b.is, dis, a.kid, b.kid);

    if (getenv("CLGAN_TEST_QUICK")) return;
    snprintf(set_size, sizeof set_size, "model.image_size=%d", model.image_size);
    snprintf(set_nz, sizeof set_nz, "model.nz=%d", model.nz);
    snprintf(set_ngf, sizeof set_ngf, "model.ngf=%d", model.ngf);
    args = ARGS("score", "--checkpoint", gen_file, "--set", "model.type=dcgan", "--set", set_size, "--set", set_nz,
                "--set", set_ngf, "--seed", seed, "--n", n_img, "--weights", weights, "--batch", "10", "--metrics",
                "is", "--out", gen_json);
    CHECK(run_cli(args) == 0, "clgan %s failed", shown(args));
    if (read_result("gen.json", &g))
        CHECK(fabs(g.is - a.is) <= 1e-9 * a.is, "generator-only file: IS %.9g, the checkpoint's %.9g", g.is, a.is);
}

int main(void) {
    cli = getenv("CLGAN_CLI");
    if (!cli || !*cli) {
        fprintf(stderr, "CLGAN_CLI is not set (run through ctest)\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "test-score-cli-out");
    CHECK_OK(cg_mkdir_p(dir));
    cg_runtime *rt = test_runtime();
    make_checkpoints(rt);
    cg_runtime_free(rt);
    check_errors();
    if (make_weights() == 0) check_scores();
    return test_finish("test_score_cli");
}
