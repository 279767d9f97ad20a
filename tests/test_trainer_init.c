// test_trainer_init.c — what a run starts from and what its checkpoint records, through the
// trainer `clgan train` builds (configuration -> cg_train_params_read -> cg_trainer_create):
//   - a DCGAN checkpoint records opt_g_step == opt_d_step == step (each update counts once);
//   - a checkpoint of the old format (counts doubled) resumes with the counts halved and a note, and
//     3 + 3 resumed iterations then equal 6 uninterrupted ones bit for bit;
//   - [train] init: a clgan checkpoint loads G and D; a bare-named file is one net, loaded into G or D
//     by its names and shapes; a shape mismatch names the tensor, the file and both shapes;
//   - [train] shuffle = false reads batches in the data's order; the default permutes each epoch.
#include "models.h"
#include "test_util.h"
#include "train.h"

#include <fcntl.h>
#include <unistd.h>

#define COUNT 24
#define BATCH 4

static char dir[128];
static float data[COUNT * 3 * 32 * 32];

// Batch indices seen by the data source (shuffle check).
static uint32_t seen[64 * BATCH];
static int n_seen;
static cg_data_source *recorder;

static cg_status record_load(cg_data_source *src, cg_ctx *ctx, const uint32_t *idx, const uint8_t *flip, int n,
                             cg_tensor x) {
    for (int j = 0; j < n && n_seen < 64 * BATCH; j++) seen[n_seen++] = idx[j];
    return recorder->load(recorder, ctx, idx, flip, n, x);
}

static cg_config *config(const char *extra[], int n_extra) {
    cg_config *cfg = cg_config_empty();
    const char *base[] = {"model.type=dcgan", "model.image_size=32", "model.channels=3", "model.nz=8", "model.ngf=4",
                          "model.ndf=4", "train.batch_size=4", "train.iterations=3", "train.log_every=1",
                          "train.sample_every=0", "train.checkpoint_every=0"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) CHECK_OK(cg_config_set(cfg, base[i]));
    for (int i = 0; i < n_extra; i++) CHECK_OK(cg_config_set(cfg, extra[i]));
    return cfg;
}

// A trainer from cfg on the test data (the configuration must outlive it).
static cg_trainer *trainer(cg_ctx *ctx, cg_config *cfg, cg_data_source *src, cg_status *st_out) {
    cg_model_config mc;
    cg_train_params p;
    CHECK_OK(cg_model_config_read(cfg, &mc));
    CHECK_OK(cg_train_params_read(cfg, &mc, &p));
    p.quiet = 1;
    cg_trainer *t = NULL;
    cg_status st = cg_trainer_create(ctx, &p, &mc, NULL, NULL, src, NULL, &t);
    if (st_out) *st_out = st;
    else CHECK_OK(st);
    return t;
}

static float *host(cg_runtime *rt, cl_mem buf, size_t n) {
    float *h = malloc(n * sizeof *h);
    CHECK_OK(cg_tensor_read(rt, cg_view(buf, 0, 1, 1, 1, (int)n), h));
    return h;
}

static int same_buffer(cg_runtime *rt, cl_mem a, cl_mem b, size_t n) {
    float *x = host(rt, a, n), *y = host(rt, b, n);
    int same = !memcmp(x, y, n * sizeof *x);
    free(x);
    free(y);
    return same;
}

static long meta(const char *path, const char *key) {
    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(path, &f));
    const char *v = f ? cg_safetensors_meta(f, key) : NULL;
    long x = v ? strtol(v, NULL, 10) : -1;
    cg_safetensors_close(f);
    return x;
}

// Rewrites a checkpoint as the old format: "clgan-checkpoint-1", optimizer counts doubled, no checksum.
static void make_old_format(const char *from, const char *to) {
    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(from, &f));
    if (!f) return;
    int n = cg_safetensors_count(f);
    cg_st_tensor *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        t[i].name = cg_safetensors_name(f, i);
        CHECK_OK(cg_safetensors_get(f, t[i].name, &t[i].shape, &t[i].ndim, &t[i].data));
    }
    const char *keys[] = {"format", "step", "batches", "noise_batches", "opt_g_step", "opt_d_step", "seed", "rng",
                          "model_type", "image_size", "channels", "nz", "ngf", "ndf", "config"};
    const char *values[15];
    char doubled[2][32];
    for (int i = 0; i < 15; i++) values[i] = cg_safetensors_meta(f, keys[i]);
    values[0] = "clgan-checkpoint-1";
    for (int k = 0; k < 2; k++) {
        snprintf(doubled[k], sizeof doubled[k], "%ld", 2 * strtol(values[4 + k], NULL, 10));
        values[4 + k] = doubled[k];
    }
    CHECK_OK(cg_safetensors_write(to, t, n, keys, values, 15));
    free(t);
    cg_safetensors_close(f);
}

static void test_step_counts(cg_ctx *ctx, cg_data_source *src) {
    char out[200], set_out[240], path[300], old[300];
    snprintf(out, sizeof out, "%s/run3", dir);
    snprintf(set_out, sizeof set_out, "train.out=%s", out);
    const char *extra[] = {set_out};
    cg_config *cfg = config(extra, 1);
    cg_trainer *t = trainer(ctx, cfg, src, NULL);
    if (!t) return;
    CHECK_OK(cg_trainer_run(t, NULL));
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", out);
    CHECK(meta(path, "step") == 3 && meta(path, "opt_g_step") == 3 && meta(path, "opt_d_step") == 3,
          "checkpoint after 3 DCGAN iterations: step %ld, opt_g_step %ld, opt_d_step %ld", meta(path, "step"),
          meta(path, "opt_g_step"), meta(path, "opt_d_step"));

    // The same run written in the old format resumes with halved counts and continues like an
    // uninterrupted one.
    snprintf(old, sizeof old, "%s/old.safetensors", dir);
    make_old_format(path, old);
    CHECK(meta(old, "opt_g_step") == 6, "old-format file has opt_g_step %ld", meta(old, "opt_g_step"));
    const char *six[] = {set_out, "train.iterations=6"};
    cg_config *cfg6 = config(six, 2);
    cg_trainer *resumed = trainer(ctx, cfg6, src, NULL);
    char note[4096] = "";
    if (resumed) {
        char log[300];
        snprintf(log, sizeof log, "%s/stderr.txt", dir);
        fflush(stderr);
        int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        CHECK_OK(cg_trainer_resume(resumed, old));
        cg_trainer *again = trainer(ctx, cfg6, src, NULL); // a second load in the process says nothing
        if (again) CHECK_OK(cg_trainer_resume(again, old));
        cg_trainer_free(again);
        fflush(stderr);
        dup2(saved, 2);
        close(fd);
        close(saved);
        FILE *f = fopen(log, "r");
        size_t got = f ? fread(note, 1, sizeof note - 1, f) : 0;
        note[got] = '\0';
        if (f) fclose(f);
        CHECK(strstr(note, "counted each optimizer update twice") && strstr(note, old),
              "no note about the doubled counts naming %s: '%s'", old, note);
        const char *second = strstr(note, "counted each optimizer update twice");
        CHECK(second && !strstr(second + 1, "counted each optimizer update twice"), "the note came twice: '%s'", note);
        CHECK(cg_trainer_optimizer(resumed, 'G')->step == 3 && cg_trainer_optimizer(resumed, 'D')->step == 3,
              "old format resumed with optimizer steps G %ld, D %ld (want 3)", cg_trainer_optimizer(resumed, 'G')->step,
              cg_trainer_optimizer(resumed, 'D')->step);
        for (int k = 0; k < 3; k++) CHECK_OK(cg_trainer_iterate(resumed, 0));
    }
    cg_trainer *full = trainer(ctx, cfg6, src, NULL);
    for (int k = 0; full && k < 6; k++) CHECK_OK(cg_trainer_iterate(full, 0));
    if (resumed && full) {
        cg_seq *a = cg_trainer_generator(resumed), *b = cg_trainer_generator(full);
        cg_seq *c = cg_trainer_discriminator(resumed), *d = cg_trainer_discriminator(full);
        CHECK(same_buffer(ctx->rt, a->params, b->params, a->n_params) &&
                  same_buffer(ctx->rt, c->params, d->params, c->n_params),
              "3 + 3 iterations resumed from the old format differ from 6 uninterrupted ones");
    }
    cg_trainer_free(resumed);
    cg_trainer_free(full);
    cg_trainer_free(t);
    cg_config_free(cfg);
    cg_config_free(cfg6);
}

static void test_init(cg_ctx *ctx, cg_data_source *src) {
    char set_init[300], gfile[300], dfile[300], ckpt[300], wide[300];
    cg_config *cfg = config(NULL, 0);
    cg_trainer *a = trainer(ctx, cfg, src, NULL), *fresh = trainer(ctx, cfg, src, NULL);
    if (!a || !fresh) return;
    CHECK_OK(cg_trainer_iterate(a, 0)); // weights that differ from the initialiser's
    cg_seq *ga = cg_trainer_generator(a), *da = cg_trainer_discriminator(a);
    snprintf(gfile, sizeof gfile, "%s/g.safetensors", dir);
    snprintf(dfile, sizeof dfile, "%s/d.safetensors", dir);
    snprintf(ckpt, sizeof ckpt, "%s/a.safetensors", dir);
    CHECK_OK(cg_seq_save(ctx, ga, gfile));
    CHECK_OK(cg_seq_save(ctx, da, dfile));
    CHECK_OK(cg_trainer_save(a, ckpt));
    struct { const char *file; int g, d; } cases[] = {{gfile, 1, 0}, {dfile, 0, 1}, {ckpt, 1, 1}};
    for (int i = 0; i < 3; i++) {
        snprintf(set_init, sizeof set_init, "train.init=%s", cases[i].file);
        const char *extra[] = {set_init};
        cg_config *ci = config(extra, 1);
        cg_trainer *b = trainer(ctx, ci, src, NULL);
        if (b) {
            cg_seq *gb = cg_trainer_generator(b), *db = cg_trainer_discriminator(b);
            cg_seq *gf = cg_trainer_generator(fresh), *df = cg_trainer_discriminator(fresh);
            CHECK(same_buffer(ctx->rt, gb->params, (cases[i].g ? ga : gf)->params, gb->n_params) &&
                      same_buffer(ctx->rt, gb->buffers, (cases[i].g ? ga : gf)->buffers, gb->n_buffers),
                  "init %s: G is not %s", cases[i].file, cases[i].g ? "the file's" : "the initialiser's");
            CHECK(same_buffer(ctx->rt, db->params, (cases[i].d ? da : df)->params, db->n_params),
                  "init %s: D is not %s", cases[i].file, cases[i].d ? "the file's" : "the initialiser's");
        }
        cg_trainer_free(b);
        cg_config_free(ci);
    }
    // A generator of another latent size: refused, naming tensor, file and both shapes.
    const char *nz16[] = {"model.nz=16"};
    cg_config *cw = config(nz16, 1);
    cg_trainer *w = trainer(ctx, cw, src, NULL);
    snprintf(wide, sizeof wide, "%s/g_nz16.safetensors", dir);
    if (w) CHECK_OK(cg_seq_save(ctx, cg_trainer_generator(w), wide));
    snprintf(set_init, sizeof set_init, "train.init=%s", wide);
    const char *extra[] = {set_init};
    cg_config *cm = config(extra, 1);
    cg_status st = CG_OK;
    cg_trainer *m = trainer(ctx, cm, src, &st);
    CHECK(m == NULL && st == CG_ERR_FORMAT, "a mismatched init file gave %s", cg_status_name(st));
    const char *msg = cg_last_error();
    CHECK(strstr(msg, "main.0.weight") && strstr(msg, wide) && strstr(msg, "[16, 16, 4, 4]") &&
              strstr(msg, "[8, 16, 4, 4]"),
          "the mismatch error lacks tensor, file or shapes: %s", msg);
    cg_trainer_free(m);
    cg_trainer_free(w);
    cg_trainer_free(a);
    cg_trainer_free(fresh);
    cg_config_free(cfg);
    cg_config_free(cw);
    cg_config_free(cm);
}

static void test_shuffle(cg_ctx *ctx, cg_data_source *src) {
    cg_data_source rec = *src;
    rec.load = record_load;
    rec.destroy = NULL;
    recorder = src;
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        const char *extra[] = {shuffle ? "train.shuffle=true" : "train.shuffle=false", "train.flip=false"};
        cg_config *cfg = config(extra, 2);
        cg_trainer *t = trainer(ctx, cfg, &rec, NULL);
        n_seen = 0;
        int batches = 2 * COUNT / BATCH; // two epochs
        for (int k = 0; t && k < batches; k++) CHECK_OK(cg_trainer_iterate(t, 0));
        int in_order = n_seen == batches * BATCH;
        for (int i = 0; i < n_seen; i++) in_order &= seen[i] == (uint32_t)(i % COUNT);
        CHECK(in_order == !shuffle, "shuffle = %s: batches %s the data's order", shuffle ? "true" : "false",
              in_order ? "follow" : "do not follow");
        cg_trainer_free(t);
        cg_config_free(cfg);
    }
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    if (test_tmpdir(dir, sizeof dir, "trainer-init") != 0) return 1;
    cg_rng r = {3, 0};
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) data[i] = 2.0f * cg_rng_uniform_at(r, i) - 1.0f;
    cg_data_source *src = NULL;
    CHECK_OK(cg_data_memory_create(data, COUNT, 3, 32, 32, &src));
    if (src) {
        test_step_counts(&ctx, src);
        test_init(&ctx, src);
        test_shuffle(&ctx, src);
    }
    cg_data_source_free(src);
    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("trainer_init");
}
