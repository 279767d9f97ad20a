// test_score_cli.c — `clgan score --checkpoint` as a user runs it, through the CLI binary
// (CLGAN_CLI): a small DCGAN checkpoint (two training steps through the C API), random Inception
// weights saved by torch with pytorch-fid's names and converted by tools/convert_inception_weights.py,
// IS/FID/KID of the checkpoint's generator; the same numbers (within PNG rounding) from the folder
// `clgan sample` writes; a generator-only file with [model] from --set; and the errors for a
// missing or corrupt checkpoint and missing weights. Without torch/pytorch-fid only the errors run.
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

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Runs `clgan ARGS` with stderr in dir/err.txt (stdout discarded); returns the exit status.
static int run_cli(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>'%s/err.txt'", cli, args, dir);
    double t0 = now_s();
    int rc = system(cmd);
    printf("  %5.1f s  clgan %s\n", now_s() - t0, args);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *read_text(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    if (cg_read_file(path, &text, NULL) != CG_OK) return NULL;
    return text;
}

static void expect_failure(const char *args, int want_rc, const char *needle1, const char *needle2) {
    int rc = run_cli(args);
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
    char args[2048];
    snprintf(args, sizeof args, "score --checkpoint '%s/absent.safetensors' --weights '%s/w.safetensors' --metrics is",
             dir, dir);
    expect_failure(args, 1, "absent.safetensors", "does not exist");
    char path[700];
    snprintf(path, sizeof path, "%s/corrupt.safetensors", dir);
    CHECK_OK(cg_write_file_atomic(path, "not a safetensors file at all", 29));
    snprintf(args, sizeof args, "score --checkpoint '%s' --weights '%s/w.safetensors' --metrics is", path, dir);
    expect_failure(args, 1, "corrupt.safetensors", NULL);
    snprintf(args, sizeof args, "score --checkpoint '%s/ckpt.safetensors' --weights '%s/absent-weights.safetensors' "
                                "--metrics is --n 10",
             dir, dir);
    expect_failure(args, 1, "absent-weights.safetensors", "convert_inception_weights.py");
    snprintf(args, sizeof args, "score --checkpoint '%s/ckpt.safetensors' --images '%s'", dir, dir);
    expect_failure(args, 2, "either --images or --checkpoint", NULL);
}

// The user's path to weights: a .pth with pytorch-fid's names, converted. 0: done; 77: torch or
// pytorch-fid is missing (recorded by test_skip_part).
static int make_weights(void) {
    const char *py = getenv("CLGAN_PYTHON"), *src = getenv("CLGAN_SOURCE_DIR"), *deps = getenv("CLGAN_PYDEPS");
    if (!src || !*src) {
        CHECK(0, "CLGAN_SOURCE_DIR is not set (run through ctest)");
        return 1;
    }
    if (!py || !*py || access(py, X_OK) != 0)
        return test_skip_part("torch", "scoring not checked: no Python interpreter at '%s' (CLGAN_PYTHON)",
                              py ? py : "");
    if (!deps || !*deps || access(deps, R_OK) != 0)
        return test_skip_part("pytorch-fid", "scoring not checked: CLGAN_PYDEPS is not set or not a folder");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "PYTHONPATH='%s' '%s' '%s/tests/reference/score_cli_reference.py' '%s/w.pth'",
             deps ? deps : "", py, src, dir);
    int rc = system(cmd);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == TEST_SKIP)
        return test_skip_part(test_missing_dep(py, deps, "pytorch-fid"),
                              "scoring not checked: score_cli_reference.py lacks torch, torchvision or pytorch_fid");
    CHECK(rc == 0, "%s exited with %d", cmd, rc);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tools/convert_inception_weights.py' '%s/w.pth' '%s/w.safetensors'", py, src,
             dir, dir);
    rc = system(cmd);
    CHECK(rc == 0, "%s exited with %d", cmd, rc);
    return rc == 0 ? 0 : 1;
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
    char args[2048], common[1200];
    snprintf(common, sizeof common, "--weights '%s/w.safetensors' --batch 10", dir);
    snprintf(args, sizeof args, "sample --checkpoint '%s/ckpt.safetensors' --seed 99 --n %d --out '%s/ref'", dir,
             N_REF, dir);
    CHECK(run_cli(args) == 0, "clgan %s failed", args);
    snprintf(args, sizeof args, "score --checkpoint '%s/ckpt.safetensors' --seed %d --n %d %s --metrics is,fid,kid "
                                "--ref '%s/ref' --out '%s/ckpt.json'", dir, SEED, N_IMAGES, common, dir, dir);
    CHECK(run_cli(args) == 0, "clgan %s failed", args);
    result a = {0}, b = {0}, g = {0};
    if (!read_result("ckpt.json", &a)) return;
    CHECK(a.n == N_IMAGES && isfinite(a.is) && isfinite(a.fid) && isfinite(a.kid) && a.is >= 1 && a.fid >= 0,
          "score --checkpoint: n %d, IS %g, FID %g, KID %g", a.n, a.is, a.fid, a.kid);

    snprintf(args, sizeof args, "sample --checkpoint '%s/ckpt.safetensors' --seed %d --n %d --out '%s/gen'", dir, SEED,
             N_IMAGES, dir);
    CHECK(run_cli(args) == 0, "clgan %s failed", args);
    snprintf(args, sizeof args, "score --images '%s/gen' %s --metrics is,fid,kid --ref '%s/ref' --out '%s/png.json'",
             dir, common, dir, dir);
    CHECK(run_cli(args) == 0, "clgan %s failed", args);
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
    snprintf(args, sizeof args, "score --checkpoint '%s/gen.safetensors' --set model.type=dcgan "
                                "--set model.image_size=%d --set model.nz=%d --set model.ngf=%d --seed %d --n %d %s "
                                "--metrics is --out '%s/gen.json'",
             dir, model.image_size, model.nz, model.ngf, SEED, N_IMAGES, common, dir);
    CHECK(run_cli(args) == 0, "clgan %s failed", args);
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
