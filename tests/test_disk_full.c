// test_disk_full.c — a full disk, without privileges: the child's RLIMIT_FSIZE with SIGXFSZ ignored
// makes every write past the limit fail with EFBIG. A failing checkpoint, dataset, report, .npy or
// sample-grid write is reported with its path and the errno text, the previous file stays intact,
// and no temporary file is left. Training stops (exit 1) when a checkpoint or a sample grid cannot
// be written, and --resume continues from the last checkpoint. Every path here holds a space, quotes and
// non-ASCII letters, so they also go through every command unharmed.
#include "cli_test_util.h"

#define OUT "test-disk-full-out/it's \"quoted\" dür"
#define INI OUT "/base.ini"
#define RUN OUT "/run"
#define CKPT RUN "/checkpoint.safetensors"
#define EFBIG_TEXT "File too large"

static const char *err = OUT "/err.txt";

// Runs clgan args under a file-size limit of `limit` bytes (0: none); its exit status.
static int run_limited(long limit, const char *const *args) {
    cli_child_fsize_limit = limit;
    int rc = cli_wait(cli_spawn(err, args));
    cli_child_fsize_limit = 0;
    return rc;
}

#define RUN_LIMITED(limit, ...) run_limited(limit, (const char *const[]){__VA_ARGS__, NULL})

static void expect_reported(const char *what, const char *path) {
    char *text = cli_slurp(err, NULL);
    CHECK(text && strstr(text, path) && strstr(text, EFBIG_TEXT), "%s: stderr does not name '%s' and '%s': %.600s",
          what, path, EFBIG_TEXT, text ? text : "");
    free(text);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

// A checkpoint that cannot be written stops training cleanly; the last good one survives.
static void train_checkpoint(void) {
    int rc = RUN_LIMITED(0, "train", "--config", INI);
    CHECK(rc == 0, "train (2 iterations) -> %d", rc);
    CHECK(cli_copy(CKPT, OUT "/ckpt.orig"), "copying the checkpoint");
    long size = file_size(CKPT);
    CHECK(size > 4096, "checkpoint of %ld bytes", size);
    rc = RUN_LIMITED(size / 2, "train", "--config", INI, "--resume", CKPT, "--set", "train.iterations=4");
    CHECK(rc == 1, "train whose checkpoint cannot be written -> %d, want 1", rc);
    expect_reported("train --resume under a full disk", CKPT);
    CHECK(cli_same_bytes(CKPT, OUT "/ckpt.orig"), "the failed save damaged the previous checkpoint");
    CHECK(cli_ckpt_step(CKPT) == 2, "checkpoint at step %ld, want 2", cli_ckpt_step(CKPT));
    CHECK(cli_temp_files(RUN) == 0, "%d temporary files left in %s", cli_temp_files(RUN), RUN);
    // The run continues from that checkpoint once there is room again.
    rc = RUN_LIMITED(0, "train", "--config", INI, "--resume", CKPT, "--set", "train.iterations=4");
    CHECK(rc == 0 && cli_ckpt_step(CKPT) == 4, "resuming after the failure -> %d, step %ld", rc,
          cli_ckpt_step(CKPT));
}

// A sample grid that cannot be written stops training like a checkpoint would (exit 1, path and
// errno text); the checkpoint saved before it is intact and --resume finishes the run. The grid of
// 1024 samples is larger than the limit (half the grid), the checkpoint of this small model is not;
// PoCL's compiler writes objects of about 1 MB, so a smaller limit would stop it first.
#define GRID_SETS "--set", "train.sample_every=2", "--set", "train.samples=1024", "--set", "train.checkpoint_every=1"
static void train_sample_grid(void) {
    int rc = RUN_LIMITED(0, "train", "--config", INI, "--set", "train.out=" OUT "/grid-run", GRID_SETS);
    CHECK(rc == 0, "train with sample grids -> %d", rc);
    long grid = file_size(OUT "/grid-run/samples.png"), ckpt = file_size(OUT "/grid-run/checkpoint.safetensors");
    CHECK(grid > 2 * ckpt && ckpt > 0, "grid of %ld bytes, checkpoint of %ld: the case cannot be arranged", grid,
          ckpt);
    const char *ckpt2 = OUT "/grid-run2/checkpoint.safetensors";
    rc = RUN_LIMITED(grid / 2, "train", "--config", INI, "--set", "train.out=" OUT "/grid-run2", GRID_SETS);
    CHECK(rc == 1, "train whose sample grid cannot be written -> %d, want 1", rc);
    expect_reported("train under a full disk (grid)", OUT "/grid-run2/samples");
    long step = cli_ckpt_step(ckpt2);
    CHECK(step >= 1, "no intact checkpoint after the failed grid (step %ld)", step);
    CHECK(cli_temp_files(OUT "/grid-run2") == 0 && cli_temp_files(OUT "/grid-run2/samples") == 0,
          "temporary files left after the failed grid");
    rc = RUN_LIMITED(0, "train", "--config", INI, "--set", "train.out=" OUT "/grid-run2", GRID_SETS, "--resume", ckpt2);
    CHECK(rc == 0 && cli_ckpt_step(ckpt2) == 2, "--resume after the failed grid -> %d, step %ld", rc,
          cli_ckpt_step(ckpt2));
}

// sample: a .png grid and an .npy array that do not fit leave the previous file.
static void sample_outputs(void) {
    const char *outs[2] = {OUT "/grid ü.png", OUT "/images ü.npy"};
    for (int i = 0; i < 2; i++) {
        int rc = RUN_LIMITED(0, "sample", "--checkpoint", CKPT, "--n", "16", "--out", outs[i]);
        CHECK(rc == 0, "sample --out %s -> %d", outs[i], rc);
        CHECK(cli_copy(outs[i], OUT "/sample.orig"), "copying %s", outs[i]);
        long size = file_size(outs[i]);
        rc = RUN_LIMITED(size / 2, "sample", "--checkpoint", CKPT, "--n", "16", "--seed", "9", "--out", outs[i]);
        CHECK(rc == 1, "sample --out %s under a full disk -> %d, want 1", outs[i], rc);
        expect_reported("sample under a full disk", outs[i]);
        CHECK(cli_same_bytes(outs[i], OUT "/sample.orig"), "%s was damaged", outs[i]);
    }
    CHECK(cli_temp_files(OUT) == 0, "temporary files left in %s", OUT);
}

// preprocess: the dataset, then the report, that cannot be written leave the previous ones.
static void preprocess_outputs(void) {
    const char *out = OUT "/faces 2.cgds", *report = OUT "/faces 2_report.json";
    const char *sets[] = {"--set", "preprocess.size=32", "--set", "preprocess.frontal=false", "--set",
                          "preprocess.sunglasses=false", "--set", "preprocess.reject_sheets=false"};
#define PP(limit) \
    RUN_LIMITED(limit, "preprocess", "--input", OUT "/synth", "--out", out, sets[0], sets[1], sets[2], sets[3], \
                sets[4], sets[5], sets[6], sets[7])
    int rc = PP(0);
    CHECK(rc == 0, "preprocess -> %d", rc);
    long dataset = file_size(out), rep = file_size(report);
    CHECK(dataset > 0 && rep > 0, "dataset %ld bytes, report %ld bytes", dataset, rep);
    CHECK(cli_copy(out, OUT "/dataset.orig") && cli_copy(report, OUT "/report.orig"), "copying the outputs");
    rc = PP(dataset / 2);
    CHECK(rc == 1, "preprocess whose dataset cannot be written -> %d, want 1", rc);
    expect_reported("preprocess under a full disk", out);
    CHECK(cli_same_bytes(out, OUT "/dataset.orig"), "the failed write damaged the dataset");
    CHECK(cli_same_bytes(report, OUT "/report.orig"), "the failed run replaced the report");
    if (rep > dataset) { // the report is the larger file: it alone fails
        rc = PP((dataset + rep) / 2);
        CHECK(rc == 1, "preprocess whose report cannot be written -> %d, want 1", rc);
        expect_reported("preprocess report under a full disk", report);
        CHECK(cli_same_bytes(report, OUT "/report.orig"), "the failed write damaged the report");
    }
    CHECK(cli_temp_files(OUT) == 0, "temporary files left in %s", OUT);
#undef PP
}

int main(void) {
    mkdir("test-disk-full-out", 0755);
    cli_setup(OUT);
    if (!cli_make_run_setup(OUT, "40", 2)) return test_finish("disk_full");
    train_checkpoint();
    train_sample_grid();
    sample_outputs();
    preprocess_outputs();
    return test_finish("disk_full");
}
