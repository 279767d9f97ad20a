// test_train_cli.c — `clgan train` and `clgan sample` end to end on a small synthetic-face dataset
// (clgan synth + preprocess, 32x32): corrupt checkpoints (truncated, a payload byte flipped, a
// garbage header) are refused by both commands naming the file, nothing overwritten; a
// generator-only file samples the same .npy as its full checkpoint; SIGINT saves a checkpoint at the
// logged step that --resume continues; epochs = 2 runs 2 * floor(N / B) iterations; WGAN's
// Wasserstein estimate rises; and through the C API: a NaN in the data stops training naming the
// iteration (the losses stay finite) and the loss plot's legend carries text.
#include "nets.h"
#include "test_util.h"
#include "train.h"
#include "train_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stb/stb_image.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR "test-train-cli-out"
#define BATCH 16
#define HANG_S 600.0 // only a guard against a hung child, never a performance limit

static const char *cli;
static char cfg[] = DIR "/base.ini";

// Runs `clgan ARGS` (printf-style, arguments split at spaces: every path here is under DIR and has
// none; no shell) with stderr into errfile; returns the exit status (-1: abnormal).
static int clgan(const char *errfile, const char *fmt, ...) {
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *argv[64] = {cli};
    int n = 1;
    for (char *save = NULL, *a = strtok_r(args, " ", &save); a && n < 63; a = strtok_r(NULL, " ", &save))
        argv[n++] = a;
    argv[n] = NULL;
    return test_spawn(argv, "/dev/null", errfile, NULL);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (d) d[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return d;
}

static int spit(const char *path, const char *d, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(d, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static int contains(const char *path, const char *needle) {
    char *d = slurp(path, NULL);
    int r = d && strstr(d, needle);
    free(d);
    return r;
}

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int r = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return r;
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    char *d = slurp(from, &n);
    CHECK(d && spit(to, d, n), "copying %s to %s", from, to);
    free(d);
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

// log.csv's data rows: count and last step.
static int log_rows(const char *out, long *last) {
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/log.csv", out);
    FILE *f = fopen(path, "r");
    int n = 0;
    *last = -1;
    while (f && fgets(line, sizeof line, f)) {
        long s;
        if (sscanf(line, "%ld,", &s) == 1) n++, *last = s;
    }
    if (f) fclose(f);
    return n;
}

static long ckpt_step(const char *path) {
    cg_st_file *f = NULL;
    if (cg_safetensors_open(path, &f) != CG_OK) return -1;
    const char *v = cg_safetensors_meta(f, "step");
    long s = v ? atol(v) : -1;
    cg_safetensors_close(f);
    return s;
}

static int make_dataset(void) {
    const char *e = DIR "/prep.err";
    int rc = clgan(e, "synth --n 75 --seed 3 --out " DIR "/synth");
    CHECK(rc == 0, "clgan synth -> %d", rc);
    rc = clgan(e, "preprocess --input " DIR "/synth --out " DIR "/faces.cgds --set preprocess.size=32 "
                  "--set preprocess.frontal=false --set preprocess.sunglasses=false --set preprocess.reject_sheets=false");
    CHECK(rc == 0, "clgan preprocess -> %d", rc);
    FILE *f = fopen(cfg, "w");
    if (!f) return 0;
    fprintf(f, "[model]\ntype = dcgan\nimage_size = 32\nchannels = 3\nnz = 16\nngf = 8\nndf = 8\n\n"
               "[train]\ndataset = %s/faces.cgds\nout = %s/good\niterations = 4\nepochs = 0\nbatch_size = %d\n"
               "seed = 3\nlog_every = 1\nsample_every = 0\ncheckpoint_every = 0\nnan_check_every = 1\nsamples = 16\n",
            DIR, DIR, BATCH);
    return fclose(f) == 0 && rc == 0;
}

static void test_corrupt(void) {
    const char *good = DIR "/good/checkpoint.safetensors", *e = DIR "/corrupt.err";
    int rc = clgan(e, "train --config %s", cfg);
    CHECK(rc == 0 && exists(good), "training the good checkpoint -> %d", rc);
    if (rc != 0) {
        char *err = slurp(e, NULL);
        fprintf(stderr, "--- %s:\n%s\n---\n", e, err ? err : "(none)");
        free(err);
    }
    size_t n;
    char *d = slurp(good, &n);
    if (!d || n < 200) return;
    const char *bad[3] = {DIR "/bad_truncated.safetensors", DIR "/bad_flipped.safetensors",
                          DIR "/bad_header.safetensors"};
    spit(bad[0], d, n / 2);
    d[n - 101] ^= 0x5a; // inside the last tensor's payload
    spit(bad[1], d, n);
    d[n - 101] ^= 0x5a;
    for (int i = 8; i < 40; i++) d[i] = (char)(i * 37 + 11); // the JSON header's start
    spit(bad[2], d, n);
    free(d);
    copy_file(good, DIR "/good.snapshot");
    copy_file(DIR "/good/log.csv", DIR "/log.snapshot");
    for (int i = 0; i < 3; i++) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s.orig", bad[i]);
        copy_file(bad[i], copy);
        rc = clgan(e, "train --config %s --resume %s", cfg, bad[i]);
        CHECK(rc != 0 && rc != -1, "train --resume %s -> %d", bad[i], rc);
        CHECK(contains(e, bad[i]), "train --resume: stderr does not name %s", bad[i]);
        remove(DIR "/bad.npy");
        rc = clgan(e, "sample --config %s --checkpoint %s --n 4 --out " DIR "/bad.npy", cfg, bad[i]);
        CHECK(rc != 0 && rc != -1, "sample --checkpoint %s -> %d", bad[i], rc);
        CHECK(contains(e, bad[i]), "sample: stderr does not name %s", bad[i]);
        CHECK(!exists(DIR "/bad.npy"), "sample wrote %s from %s", DIR "/bad.npy", bad[i]);
        CHECK(same_file(bad[i], copy), "%s was changed", bad[i]);
        CHECK(same_file(good, DIR "/good.snapshot"), "the run's checkpoint was overwritten (%s)", bad[i]);
        CHECK(same_file(DIR "/good/log.csv", DIR "/log.snapshot"), "the run's log.csv was changed (%s)", bad[i]);
    }
}

// The generator tensors of the good checkpoint under their bare state_dict names, no metadata.
static void test_generator_only(void) {
    const char *good = DIR "/good/checkpoint.safetensors", *gonly = DIR "/generator.safetensors";
    const char *e = DIR "/gonly.err";
    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(good, &f));
    if (!f) return;
    cg_st_tensor t[64];
    int n = 0;
    for (int i = 0; i < cg_safetensors_count(f) && n < 64; i++) {
        const char *name = cg_safetensors_name(f, i);
        if (strncmp(name, "generator.", 10)) continue;
        t[n].name = name + 10;
        CHECK_OK(cg_safetensors_get(f, name, &t[n].shape, &t[n].ndim, &t[n].data));
        n++;
    }
    CHECK(n >= 8, "only %d generator tensors in %s", n, good);
    CHECK_OK(cg_safetensors_write(gonly, t, n, NULL, NULL, 0));
    cg_safetensors_close(f);
    int rc = clgan(e, "sample --config %s --checkpoint %s --n 8 --seed 11 --out " DIR "/full.npy", cfg, good);
    CHECK(rc == 0, "sample from the full checkpoint -> %d", rc);
    rc = clgan(e, "sample --config %s --checkpoint %s --n 8 --seed 11 --out " DIR "/gonly.npy", cfg, gonly);
    CHECK(rc == 0, "sample from the generator-only file -> %d", rc);
    CHECK(same_file(DIR "/full.npy", DIR "/gonly.npy"), "the generator-only file samples other images");
    rc = clgan(e, "sample --config %s --checkpoint %s --n 8 --seed 12 --out " DIR "/other.npy", cfg, gonly);
    CHECK(rc == 0 && !same_file(DIR "/full.npy", DIR "/other.npy"), "--seed 12 gives the same images as --seed 11");
}

static void test_sigint(void) {
    const char *out = DIR "/sig", *e = DIR "/sig.err";
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 2);
        execl(cli, "clgan", "train", "--config", cfg, "--set", "train.out=" DIR "/sig", "--set",
              "train.iterations=1000000", (char *)NULL);
        _exit(127);
    }
    // Events, not durations: the log's rows appearing, then the process exiting. HANG_S only stops
    // a hung run from hanging the suite.
    long last = -1;
    int status = 0, exited = 0;
    double t0 = cg_now_s();
    while (log_rows(out, &last) < 4 && !(exited = waitpid(pid, &status, WNOHANG) == pid) && cg_now_s() - t0 < HANG_S)
        usleep(50000);
    CHECK(!exited, "train exited (status %d) before logging 4 rows", status);
    CHECK(last >= 1, "no iterations logged (gave up after %.0f s)", cg_now_s() - t0);
    if (!exited) kill(pid, SIGINT);
    t0 = cg_now_s();
    while (!exited && !(exited = waitpid(pid, &status, WNOHANG) == pid) && cg_now_s() - t0 < HANG_S) usleep(20000);
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    fprintf(stderr, "sigint: exited %.2f s after SIGINT\n", cg_now_s() - t0);
    CHECK(exited && WIFEXITED(status) && WEXITSTATUS(status) == 3, "train after SIGINT: status %d (want exit 3)%s",
          status, exited ? "" : " (killed: still running long after SIGINT)");
    int rows = log_rows(out, &last);
    long step = ckpt_step(DIR "/sig/checkpoint.safetensors");
    CHECK(step > 0 && step == last, "the checkpoint is at step %ld, the log's last row at %ld", step, last);
    CHECK(rows == last, "log.csv has %d rows up to step %ld", rows, last);
    char msg[64];
    snprintf(msg, sizeof msg, "interrupted at iteration %ld", step);
    CHECK(contains(e, msg), "stderr lacks '%s'", msg);
    int rc = clgan(e, "train --config %s --set train.out=%s --set train.iterations=%ld --resume %s/checkpoint.safetensors",
                   cfg, out, step + 3, out);
    snprintf(msg, sizeof msg, "at iteration %ld", step);
    CHECK(rc == 0 && contains(e, "resumed") && contains(e, msg), "--resume after SIGINT -> %d", rc);
    rows = log_rows(out, &last);
    CHECK(last == step + 3 && rows == step + 3, "after resuming: %d rows, last step %ld (want %ld)", rows, last,
          step + 3);
    CHECK(ckpt_step(DIR "/sig/checkpoint.safetensors") == step + 3, "the resumed run's checkpoint is not at %ld",
          step + 3);
}

// The trainer drops the last partial batch of an epoch: one generator step per batch (n_critic 1).
static void test_epochs(int count) {
    int rc = clgan(DIR "/epochs.err", "train --config %s --set train.out=" DIR "/epochs --set train.iterations=0 "
                   "--set train.epochs=2", cfg);
    CHECK(rc == 0, "train with epochs = 2 -> %d", rc);
    long last, want = 2 * (count / BATCH);
    int rows = log_rows(DIR "/epochs", &last);
    CHECK(rows == want && last == want, "epochs = 2 over %d images at batch %d: %d rows up to step %ld, want %ld",
          count, BATCH, rows, last, want);
}

// The critic maximises W = E D(x) - E D(G(z)) = -Loss_D: from about 0 at initialisation it must
// stay positive and rise during the warm-up (10 critic steps per generator step, RMSprop 5e-5,
// clip 0.01); measured 0.0026 -> 0.025 over 12 steps. A critic gradient of the wrong sign drives W
// below 0.
static void test_wgan(void) {
    const char *out = DIR "/wgan";
    int rc = clgan(DIR "/wgan.err", "train --config %s --set model.type=wgan --set train.out=%s --set "
                   "train.iterations=12 --set train.n_critic_warmup=10 --set train.warmup_steps=12",
                   cfg, out);
    CHECK(rc == 0, "wgan training -> %d", rc);
    FILE *f = fopen(DIR "/wgan/log.csv", "r");
    char line[512];
    double w[16];
    int n = 0;
    while (f && fgets(line, sizeof line, f) && n < 16) {
        long s;
        double ld, lg;
        if (sscanf(line, "%ld,%lf,%lf", &s, &ld, &lg) == 3) w[n++] = -ld;
    }
    if (f) fclose(f);
    CHECK(n == 12, "%d log rows", n);
    if (n < 12) return;
    fprintf(stderr, "wgan: W estimate %g at step 1, %g at step %d\n", w[0], w[n - 1], n);
    int positive = 1;
    for (int i = 0; i < n; i++) positive &= w[i] > 0;
    CHECK(positive, "the W estimate went negative");
    CHECK(w[n - 1] > 3 * w[0] && w[n - 1] > 0.01, "W did not rise: %g -> %g", w[0], w[n - 1]);
}

// ---- C API ------------------------------------------------------------------------------------

// One NaN sample, met in batch 5 of epoch 0: its NaN reaches D's first-layer weight gradients
// while ReLU zeroes it in the forward pass, so every loss stays finite.
static void test_nan_batch(cg_ctx *ctx) {
    enum { N = 256, B = 32, BAD_BATCH = 5 };
    float *d = malloc(N * 2 * sizeof(float));
    cg_rng r = {5, 0};
    cg_rng_normal_host(r, 0, d, N * 2, 0.0f, 1.0f);
    uint32_t perm[N];
    cg_train_params p = {0};
    p.out = DIR "/nan";
    p.iterations = 20;
    p.batch_size = B;
    p.seed = 9;
    p.loss = CG_LOSS_BCE;
    cg_opt_params adam = {CG_OPT_ADAM, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.99f, 0.0f, 0.0f};
    p.opt_g = p.opt_d = adam;
    p.n_critic = p.n_critic_warmup = 1;
    p.log_every = p.checkpoint_every = p.nan_check_every = 1;
    p.n_samples = 16;
    p.quiet = 1;
    cg_data_permutation((uint64_t)p.seed, 0, perm, N);
    d[2 * perm[BAD_BATCH * B + 3]] = NAN;
    cg_data_source *src = NULL;
    CHECK_OK(cg_data_memory_create(d, N, 2, 1, 1, &src));
    free(d);
    cg_model_config mc = {CG_MODEL_VANILLA, 1, 2, 4, 32, 32};
    cg_trainer *t = NULL;
    cg_seq *G = test_mlp(ctx, 4, 32, 2, 21), *D = test_mlp(ctx, 2, 32, 1, 21);
    CHECK_OK(cg_trainer_create(ctx, &p, &mc, G, D, src, NULL, &t));
    if (!t) return;
    char want[64];
    snprintf(want, sizeof want, "at iteration %d", BAD_BATCH + 1);
    CHECK_FAILS(cg_trainer_run(t, NULL), CG_ERR_NUMERIC, want);
    CHECK(strstr(cg_last_error(), DIR "/nan/checkpoint.safetensors") != NULL, "the detail names no last checkpoint");
    int nh = 0;
    const cg_train_record *h = cg_trainer_history(t, &nh);
    CHECK(nh == BAD_BATCH, "%d log rows before stopping", nh);
    for (int i = 0; i < nh; i++) CHECK(isfinite(h[i].loss_d) && isfinite(h[i].loss_g), "row %d not finite", i);
    CHECK(ckpt_step(DIR "/nan/checkpoint.safetensors") == BAD_BATCH, "the last good checkpoint is at step %ld",
          ckpt_step(DIR "/nan/checkpoint.safetensors"));
    cg_trainer_free(t);
    cg_data_source_free(src);
}

// Dark pixels right of the legend's colour bars: the labels Loss_D and Loss_G.
static void test_plot_legend(void) {
    cg_train_record r[50];
    for (int i = 0; i < 50; i++)
        r[i] = (cg_train_record){.step = 10 * (i + 1), .loss_d = 1.5f - 0.01f * i, .loss_g = 0.7f + 0.02f * i};
    const char *path = DIR "/loss.png";
    CHECK_OK(cg_plot_losses(path, r, 50));
    int w = 0, h = 0, comp = 0;
    unsigned char *img = stbi_load(path, &w, &h, &comp, 3);
    CHECK(img && w == 800 && h == 450, "loss.png: %dx%d", w, h);
    if (!img || w != 800 || h != 450) return;
    int dark = 0;
    for (int y = 20; y < 70; y++)
        for (int x = 800 - 200; x < 800 - 20; x++) {
            const unsigned char *px = img + ((size_t)y * w + x) * 3;
            dark += px[0] < 96 && px[1] < 96 && px[2] < 96;
        }
    fprintf(stderr, "plot: %d text pixels in the legend\n", dark);
    CHECK(dark >= 60, "only %d dark pixels in the legend area: no labels", dark);
    stbi_image_free(img);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cli = getenv("CLGAN_CLI");
    if (!cli || !*cli) {
        fprintf(stderr, "CLGAN_CLI is not set (run through ctest)\n");
        return 1;
    }
    if (test_rm_rf(DIR) != 0 || mkdir(DIR, 0755) != 0) return 1;
    cg_ctx ctx = {rt, {0}};
    double t0 = cg_now_s();
    test_plot_legend();
    test_nan_batch(&ctx);
    fprintf(stderr, "C API tests: %.1f s\n", cg_now_s() - t0);
    if (make_dataset()) {
        cg_data_source *src = NULL;
        CHECK_OK(cg_data_packed_open(rt, DIR "/faces.cgds", &src));
        int count = src ? src->count : 0;
        cg_data_source_free(src);
        CHECK(count == 75, "the dataset holds %d images", count);
        double t1 = cg_now_s();
        test_corrupt();
        fprintf(stderr, "corrupt: %.1f s\n", cg_now_s() - t1), t1 = cg_now_s();
        test_generator_only();
        fprintf(stderr, "generator-only: %.1f s\n", cg_now_s() - t1), t1 = cg_now_s();
        test_sigint();
        fprintf(stderr, "sigint: %.1f s\n", cg_now_s() - t1), t1 = cg_now_s();
        test_epochs(count);
        fprintf(stderr, "epochs: %.1f s\n", cg_now_s() - t1), t1 = cg_now_s();
        test_wgan();
        fprintf(stderr, "wgan: %.1f s\n", cg_now_s() - t1);
    }
    fprintf(stderr, "total: %.1f s\n", cg_now_s() - t0);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("train_cli");
}
