// test_tensorboard.c — TensorBoard event files of `clgan train` read by TensorBoard itself
// (tests/reference/tensorboard_reference.py: EventAccumulator, PIL, TensorBoard's CRC): every scalar
// of log.csv at every logged step with its value, the sample grids as PNGs equal to
// samples/step_N.png, the configuration as text; a resume appends without duplicating steps, a
// resume from an earlier checkpoint drops the abandoned continuation's events, a torn last record
// (a killed run) is skipped by TensorBoard and removed by the next resume; scores of a checkpoint
// land at its step (a second score of the step replaces the first); tensorboard = false writes
// nothing. The framing (CRC32C, masked CRCs, the file_version record) is also checked in C, so a
// machine without tensorboard still tests the writer.
#include "cli_test_util.h"
#include "tb_events.h"
#include "train.h"

#include <cJSON.h>
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>

#define OUT "test-tensorboard-out"
#define RUN OUT "/run"
#define LOGDIR RUN "/tensorboard"

static const char *python, *pydeps;
static int have_tb;

// ---- C-side checks of the framing.

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Intact records of an events file; *torn: bytes after them; first: the first payload (copied).
static int count_records(const char *path, size_t *torn, char *first, size_t first_len) {
    size_t len = 0, at = 0;
    unsigned char *d = (unsigned char *)cli_slurp(path, &len);
    int n = 0;
    while (d && len - at >= 12) {
        uint64_t m = 0;
        for (int i = 0; i < 8; i++) m |= (uint64_t)d[at + i] << (8 * i);
        if (le32(d + at + 8) != cg_tb_masked_crc(d + at, 8) || len - at - 12 < m + 4) break;
        if (le32(d + at + 12 + m) != cg_tb_masked_crc(d + at + 12, (size_t)m)) break;
        if (n == 0 && first) memcpy(first, d + at + 12, m < first_len ? (size_t)m : first_len);
        n++;
        at += 12 + (size_t)m + 4;
    }
    *torn = d ? len - at : 0;
    free(d);
    return n;
}

// The one events file of dir with the suffix; "" when there is none or more than one.
static int find_events(const char *dir, const char *suffix, char *path, size_t len) {
    DIR *d = opendir(dir);
    int n = 0;
    path[0] = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (strncmp(e->d_name, "events.out.tfevents.", 20) || l < sl || strcmp(e->d_name + l - sl, suffix)) continue;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        n++;
    }
    if (d) closedir(d);
    if (n != 1) path[0] = 0;
    return n;
}

static void test_framing(void) {
    CHECK(cg_crc32c("123456789", 9) == 0xe3069283u, "CRC32C check value: %08x", cg_crc32c("123456789", 9));
    uint32_t c = 0xe3069283u, masked = ((c >> 15) | (c << 17)) + 0xa282ead8u;
    CHECK(cg_tb_masked_crc("123456789", 9) == masked, "masked CRC");
    const char *dir = OUT "/unit";
    cg_tb_writer *w = NULL;
    CHECK_OK(cg_tb_open(dir, "train", -1, NULL, NULL, &w));
    if (!w) return;
    for (long s = 1; s <= 5; s++) {
        const char *tags[2] = {"a", "b"};
        float v[2] = {(float)s, -(float)s};
        CHECK_OK(cg_tb_scalars(w, s, tags, v, 2));
    }
    cg_tb_close(w);
    char path[600], first[64] = {0};
    size_t torn = 0;
    CHECK(find_events(dir, ".train", path, sizeof path) == 1, "one events file in %s", dir);
    CHECK(count_records(path, &torn, first, sizeof first) == 6 && torn == 0, "%s: 6 intact records (torn %zu)", path,
          torn);
    CHECK(memmem(first, sizeof first, "brain.Event:2", 13) != NULL, "the first record carries brain.Event:2");
    CHECK(truncate(path, (off_t)file_size(path) - 3) == 0, "truncating %s", path);
    char stale[700]; // a killed rewrite's temporary, which TensorBoard would read as events
    snprintf(stale, sizeof stale, "%s.tmp.Ab12Cd", path);
    CHECK(cli_spit(stale, "x", 1), "writing %s", stale);
    // Resuming at step 3: steps 1..3 carried, 4 dropped, the torn 5 skipped; the old file replaced.
    w = NULL;
    CHECK_OK(cg_tb_open(dir, "train", 3, NULL, NULL, &w));
    cg_tb_close(w);
    CHECK(find_events(dir, ".train", path, sizeof path) == 1, "one events file after the resume");
    CHECK(count_records(path, &torn, NULL, 0) == 4 && torn == 0, "file_version + steps 1..3, nothing torn (%zu)", torn);
    CHECK(!cli_exists(stale), "the stale temporary %s was removed", stale);
    w = NULL;
    CHECK_OK(cg_tb_open(dir, "train", -1, NULL, NULL, &w)); // a fresh start
    cg_tb_close(w);
    CHECK(find_events(dir, ".train", path, sizeof path) == 1 && count_records(path, &torn, NULL, 0) == 1,
          "a fresh start keeps only its file_version record");
}

// ---- TensorBoard's reader.

static cJSON *read_run_in(const char *name, const char *run) {
    if (!have_tb) return NULL;
    char out[300], err[300];
    snprintf(out, sizeof out, OUT "/%s.json", name);
    snprintf(err, sizeof err, OUT "/%s.py.err", name);
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/reference/tensorboard_reference.py", getenv("CLGAN_SOURCE_DIR"));
    char logdir[300], samples[300];
    snprintf(logdir, sizeof logdir, "%s/tensorboard", run);
    snprintf(samples, sizeof samples, "%s/samples", run);
    int rc = test_run("/dev/null", err, pydeps, python, script, logdir, samples, out, (char *)NULL);
    CHECK(rc == 0, "tensorboard_reference.py (%s) -> %d (see %s)", name, rc, err);
    char *text = cli_slurp(out, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(j != NULL, "%s: no JSON report", name);
    return j;
}

static cJSON *read_run(const char *name) { return read_run_in(name, RUN); }

typedef struct {
    long step;
    double v[6];
} row;

static int read_csv(const char *run, row *rows, int max) {
    char path[300];
    snprintf(path, sizeof path, "%s/log.csv", run);
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    while (f && n < max && fgets(line, sizeof line, f)) {
        row *r = &rows[n];
        if (sscanf(line, "%ld,%lf,%lf,%lf,%lf,%lf,%lf", &r->step, &r->v[0], &r->v[1], &r->v[2], &r->v[3], &r->v[4],
                   &r->v[5]) == 7)
            n++;
    }
    if (f) fclose(f);
    return n;
}

// Every column of log.csv (the penalty only for WGAN-GP) at every row's step, once, and nothing else.
static void check_scalars_in(cJSON *j, const char *what, const char *run, int gp) {
    const char *tags[6] = {"Loss_D", "Loss_G", "D(x)", "D(G(z))", gp ? "penalty" : NULL, "images_per_s"};
    row rows[64];
    int n = read_csv(run, rows, 64);
    CHECK(n > 0, "%s: log.csv has rows", what);
    cJSON *sc = cJSON_GetObjectItem(j, "scalars"), *t;
    int train_tags = 0;
    cJSON_ArrayForEach(t, sc) train_tags += strncmp(t->string, "score/", 6) != 0;
    CHECK(train_tags == 5 + gp, "%s: %d training scalar tags, want %d", what, train_tags, 5 + gp);
    for (int k = 0; k < 6; k++) {
        if (!tags[k]) continue;
        cJSON *ev = cJSON_GetObjectItem(sc, tags[k]);
        CHECK(cJSON_GetArraySize(ev) == n, "%s: %s has %d events, log.csv %d rows", what, tags[k],
              cJSON_GetArraySize(ev), n);
        for (int i = 0; i < n && i < cJSON_GetArraySize(ev); i++) {
            cJSON *e = cJSON_GetArrayItem(ev, i);
            long step = (long)cJSON_GetArrayItem(e, 0)->valuedouble;
            double v = cJSON_GetArrayItem(e, 1)->valuedouble, want = rows[i].v[k];
            CHECK(step == rows[i].step && fabs(v - want) <= 1e-6 * fabs(want) + 1e-12,
                  "%s: %s event %d: step %ld value %.9g, log.csv step %ld value %.9g", what, tags[k], i, step, v,
                  rows[i].step, want);
        }
    }
}

// The sample grids (4 images of 32x32: 2 a row, 2-pixel padding): at the given steps, decoded at
// their stated size, equal to samples/step_N.png.
static void check_images(cJSON *j, const char *what, const long *steps, int n) {
    cJSON *ev = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "images"), "samples");
    CHECK(cJSON_GetArraySize(ev) == n, "%s: %d images, want %d", what, cJSON_GetArraySize(ev), n);
    for (int i = 0; i < n && i < cJSON_GetArraySize(ev); i++) {
        cJSON *e = cJSON_GetArrayItem(ev, i);
        long step = (long)cJSON_GetArrayItem(e, 0)->valuedouble;
        int w = cJSON_GetArrayItem(e, 1)->valueint, h = cJSON_GetArrayItem(e, 2)->valueint;
        int dw = cJSON_GetArrayItem(e, 3)->valueint, dh = cJSON_GetArrayItem(e, 4)->valueint;
        CHECK(step == steps[i], "%s: image %d at step %ld, want %ld", what, i, step, steps[i]);
        CHECK(w == 70 && h == 70 && dw == w && dh == h, "%s: image %d is %dx%d, decodes to %dx%d (want 70x70)", what,
              i, w, h, dw, dh);
        CHECK(cJSON_IsTrue(cJSON_GetArrayItem(e, 5)), "%s: image at step %ld differs from samples/step_%06ld.png",
              what, step, step);
    }
}

static void check_scalars(cJSON *j, const char *what) { check_scalars_in(j, what, RUN, 0); }

// One intact train file, nothing torn, each (tag, step) once.
static void check_files(cJSON *j, const char *what) {
    cJSON *files = cJSON_GetObjectItem(j, "files");
    int train = 0;
    cJSON *f;
    cJSON_ArrayForEach(f, files) {
        train += strstr(f->string, ".train") != NULL;
        CHECK(cJSON_GetObjectItem(f, "torn")->valueint == 0, "%s: %s has a torn tail", what, f->string);
    }
    CHECK(train == 1, "%s: %d train event files, want 1", what, train);
    CHECK(cJSON_GetObjectItem(j, "duplicates")->valueint == 0, "%s: %d (tag, step) pairs twice", what,
          cJSON_GetObjectItem(j, "duplicates")->valueint);
}

static int train(const char *name, ...) {
    const char *args[CLI_MAX_ARGS + 1] = {"train", "--config", OUT "/base.ini", "--set", "train.sample_every=2"};
    int n = 5;
    va_list ap;
    va_start(ap, name);
    for (const char *a; n < CLI_MAX_ARGS && (a = va_arg(ap, const char *));) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    char err[300];
    snprintf(err, sizeof err, OUT "/%s.err", name);
    int rc = cli_wait(cli_spawn(err, args));
    CHECK(rc == 0, "train (%s) -> %d (see %s)", name, rc, err);
    return rc;
}

static void test_runs(void) {
    char path[600];
    size_t torn = 0;
    // 3 iterations (grids at 2 and at the end, 3), then resumed to 6 (grids at 4 and 6).
    train("first", "--set", "train.iterations=3", NULL);
    CHECK(cli_copy(RUN "/checkpoint.safetensors", OUT "/ckpt3.safetensors"), "keeping the step-3 checkpoint");
    train("resumed", "--resume", OUT "/ckpt3.safetensors", NULL);
    CHECK(find_events(LOGDIR, ".train", path, sizeof path) == 1, "one train events file");
    CHECK(count_records(path, &torn, NULL, 0) > 0 && torn == 0, "%s: intact records", path);
    cJSON *j = read_run("resumed");
    if (j) {
        check_scalars(j, "resumed");
        check_images(j, "resumed", (const long[]){2, 3, 4, 6}, 4);
        check_files(j, "resumed");
        cJSON *cfg = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "text"), "config");
        CHECK(cJSON_GetArraySize(cfg) == 2, "config text at the start and at the resume: %d", cJSON_GetArraySize(cfg));
        cJSON *c0 = cJSON_GetArrayItem(cfg, 0);
        CHECK(c0 && (long)cJSON_GetArrayItem(c0, 0)->valuedouble == 0 &&
                  strstr(cJSON_GetArrayItem(c0, 1)->valuestring, "[train]") &&
                  strstr(cJSON_GetArrayItem(c0, 1)->valuestring, "iterations = 3"),
              "the first configuration text, at step 0");
        cJSON_Delete(j);
    }
    // Back to step 3 and on to 5: the events of steps 4..6 of the abandoned continuation go.
    train("again", "--set", "train.iterations=5", "--resume", OUT "/ckpt3.safetensors", NULL);
    j = read_run("again");
    if (j) {
        check_scalars(j, "again");
        check_images(j, "again", (const long[]){2, 3, 4, 5}, 4);
        check_files(j, "again");
        cJSON_Delete(j);
    }
    // A killed writer's torn last record (the grid of step 5): TensorBoard reads the rest, the next
    // resume drops it.
    CHECK(find_events(LOGDIR, ".train", path, sizeof path) == 1 && truncate(path, file_size(path) - 9) == 0,
          "truncating the events file");
    j = read_run("torn");
    if (j) {
        check_scalars(j, "torn");
        check_images(j, "torn", (const long[]){2, 3, 4}, 3);
        cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "files"), 0);
        CHECK(f && cJSON_GetObjectItem(f, "torn")->valueint > 0, "the reference sees the torn tail");
        cJSON_Delete(j);
    }
    train("after-torn", "--set", "train.iterations=6", "--resume", RUN "/checkpoint.safetensors", NULL);
    CHECK(find_events(LOGDIR, ".train", path, sizeof path) == 1 && count_records(path, &torn, NULL, 0) > 0 &&
              torn == 0, "after the resume nothing is torn");
    j = read_run("after-torn");
    if (j) {
        check_scalars(j, "after-torn");
        check_images(j, "after-torn", (const long[]){2, 3, 4, 6}, 4);
        check_files(j, "after-torn");
        cJSON_Delete(j);
    }
    // Scores of the step-6 checkpoint, twice: the second replaces the first.
    const char *tags[3] = {"score/IS", "score/FID", "score/KID"};
    char written[1500];
    CHECK_OK(cg_tb_log_scores(RUN "/checkpoint.safetensors", tags, (const double[]){1.5, 200.0, NAN}, 3, written,
                              sizeof written));
    CHECK(strstr(written, ".score") != NULL, "scores written to '%s'", written);
    CHECK_OK(cg_tb_log_scores(RUN "/checkpoint.safetensors", tags, (const double[]){1.25, 150.0, 0.5}, 3, written,
                              sizeof written));
    j = read_run("scores");
    if (j) {
        cJSON *sc = cJSON_GetObjectItem(j, "scalars");
        cJSON *fid = cJSON_GetObjectItem(sc, "score/FID"), *kid = cJSON_GetObjectItem(sc, "score/KID");
        CHECK(cJSON_GetArraySize(fid) == 1 && (long)cJSON_GetArrayItem(cJSON_GetArrayItem(fid, 0), 0)->valuedouble == 6 &&
                  cJSON_GetArrayItem(cJSON_GetArrayItem(fid, 0), 1)->valuedouble == 150.0,
              "score/FID: one value, 150 at step 6");
        CHECK(cJSON_GetArraySize(kid) == 1, "score/KID: one value");
        check_scalars(j, "scores"); // still the training's own scalars, plus the three scores
        cJSON_Delete(j);
    }
    // WGAN-GP: the penalty too, nonzero.
    train("gp", "--set", "model.type=wgan-gp", "--set", "train.iterations=2", "--set", "train.out=" OUT "/gp", NULL);
    j = read_run_in("gp", OUT "/gp");
    if (j) {
        check_scalars_in(j, "gp", OUT "/gp", 1);
        cJSON *pen = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "scalars"), "penalty");
        CHECK(cJSON_GetArraySize(pen) == 2 && cJSON_GetArrayItem(cJSON_GetArrayItem(pen, 0), 1)->valuedouble > 0,
              "gp: the penalty is logged and positive");
        cJSON_Delete(j);
    }
    // Off: no folder.
    train("off", "--set", "train.tensorboard=false", "--set", "train.out=" OUT "/off", NULL);
    CHECK(cli_exists(OUT "/off/log.csv") && !cli_exists(OUT "/off/tensorboard"), "tensorboard = false: no events");
    written[0] = 'x';
    CHECK_OK(cg_tb_log_scores(OUT "/off/checkpoint.safetensors", tags, (const double[]){1, 2, 3}, 3, written,
                              sizeof written));
    CHECK(written[0] == 0 && !cli_exists(OUT "/off/tensorboard"), "no scores for a run without TensorBoard");
}

int main(void) {
    cli_setup(OUT);
    test_framing();
    python = getenv("CLGAN_PYTHON");
    pydeps = getenv("CLGAN_PYDEPS");
    if (!python || !*python) python = "/usr/bin/python3";
    int rc = test_run("/dev/null", OUT "/import.err", pydeps ? pydeps : "", python, "-c",
                      "from tensorboard.backend.event_processing import event_accumulator; import PIL", (char *)NULL);
    have_tb = rc == 0;
    if (!have_tb)
        test_skip_part("tensorboard", "%s cannot import tensorboard's EventAccumulator (PYTHONPATH=%s; "
                                      "scripts/install-pydeps): the events are checked in C only", python,
                       pydeps ? pydeps : "");
    if (cli_make_run_setup(OUT, "40", 6)) test_runs();
    return test_finish("test_tensorboard");
}
