// test_cli_dataloss.c — clgan never loses data it was not asked to replace (issue 14, item 9):
// preprocess that keeps no image leaves the old dataset; an output path equal to an input is
// refused (preprocess onto a source JPEG or its own dataset, score --out onto --ref); train refuses
// a folder that holds a run (unless --resume/--force), holds a lock against a second trainer,
// stops on SIGTERM/SIGHUP with a checkpoint and exit status 3, cleans temporaries a killed save
// left; --resume refuses a changed configuration or a checkpoint past [train] iterations.
#include "cli_test_util.h"

#define DIR "test-cli-dataloss-out"
#define INI DIR "/base.ini"
#define RUN DIR "/run"
#define CKPT RUN "/checkpoint.safetensors"

static const char *const PP_SETS[] = {"--set", "preprocess.size=32", "--set", "preprocess.frontal=false", "--set",
                                      "preprocess.sunglasses=false", "--set", "preprocess.reject_sheets=false"};

static int preprocess(const char *err, const char *input, const char *out, const char *extra_set) {
    const char *args[20] = {"preprocess", "--input", input, "--out", out};
    int n = 5;
    for (int i = 0; i < 8; i++) args[n++] = PP_SETS[i];
    if (extra_set) args[n++] = "--set", args[n++] = extra_set;
    args[n] = NULL;
    return cli_wait(cli_spawn(err, args));
}

static void test_preprocess_keeps_nothing(void) {
    const char *good = DIR "/good.cgds", *err = DIR "/pp.err";
    CHECK(cli_copy(DIR "/faces.cgds", good), "copying the dataset");
    mkdir(DIR "/empty", 0755);
    mkdir(DIR "/corrupt", 0755);
    cli_spit(DIR "/corrupt/a.jpg", "not a jpeg", 10);
    cli_spit(DIR "/corrupt/b.png", "\x89PNG broken", 11);
    const char *inputs[2] = {DIR "/empty", DIR "/corrupt"};
    for (int i = 0; i < 2; i++) {
        int rc = preprocess(err, inputs[i], good, NULL);
        CHECK(rc == 1, "preprocess --input %s -> %d, want 1", inputs[i], rc);
        CHECK(cli_contains(err, "was not written"), "preprocess --input %s: stderr does not say so", inputs[i]);
        CHECK(cli_same_bytes(good, DIR "/faces.cgds"), "preprocess --input %s replaced the dataset", inputs[i]);
    }
}

static void test_outputs_are_not_inputs(void) {
    const char *err = DIR "/same.err";
    char jpeg[512];
    snprintf(jpeg, sizeof jpeg, "%s/synth/img_align_celeba/000001.jpg", DIR);
    CHECK(cli_copy(jpeg, DIR "/jpeg.orig"), "copying %s", jpeg);
    int rc = preprocess(err, DIR "/synth", jpeg, NULL);
    CHECK(rc == 2 && cli_same_bytes(jpeg, DIR "/jpeg.orig"), "preprocess --out onto a source JPEG -> %d", rc);
    CHECK(cli_contains(err, "image folder"), "preprocess --out onto a JPEG: stderr does not say why");
    // The report onto the dataset being written (existing and new), and onto a landmark list.
    CHECK(cli_copy(DIR "/faces.cgds", DIR "/keep.cgds"), "copying the dataset");
    rc = preprocess(err, DIR "/synth", DIR "/keep.cgds", "preprocess.report=" DIR "/keep.cgds");
    CHECK(rc == 2 && cli_same_bytes(DIR "/keep.cgds", DIR "/faces.cgds"), "report = the dataset -> %d", rc);
    rc = preprocess(err, DIR "/synth", DIR "/new.cgds", "preprocess.report=" DIR "/new.cgds");
    CHECK(rc == 2 && !cli_exists(DIR "/new.cgds"), "report = a new dataset's path -> %d", rc);
    CHECK(cli_copy(DIR "/synth/list_attr_celeba.txt", DIR "/attr.orig"), "copying the attribute list");
    rc = preprocess(err, DIR "/synth", DIR "/new.cgds", "preprocess.report=" DIR "/synth/list_attr_celeba.txt");
    CHECK(rc == 2 && cli_same_bytes(DIR "/synth/list_attr_celeba.txt", DIR "/attr.orig"),
          "report = the attribute list -> %d", rc);
    // score --out onto its --ref statistics.
    cli_spit(DIR "/ref.npz", "PK not really", 13);
    rc = cli_run(err, "score", "--images", DIR "/faces.cgds", "--ref", DIR "/ref.npz", "--out", DIR "/ref.npz", NULL);
    CHECK(rc == 2 && cli_contains(DIR "/ref.npz", "not really"), "score --out onto --ref -> %d", rc);
    CHECK(cli_contains(err, "same file"), "score --out onto --ref: stderr does not say why");
}

static void test_existing_run(void) {
    const char *err = DIR "/existing.err";
    int rc = cli_run(err, "train", "--config", INI, NULL);
    CHECK(rc == 0 && cli_ckpt_step(CKPT) == 4, "the first run -> %d, checkpoint at %ld", rc, cli_ckpt_step(CKPT));
    cli_copy(CKPT, DIR "/ckpt.snapshot");
    cli_copy(RUN "/log.csv", DIR "/log.snapshot");
    rc = cli_run(err, "train", "--config", INI, "--set", "train.iterations=2", NULL);
    CHECK(rc == 2 && cli_contains(err, "already holds a run"), "training into a run's folder -> %d", rc);
    // A continuation that fails (here: its dataset does not exist) must not touch the folder either.
    rc = cli_run(err, "train", "--config", INI, "--set", "train.dataset=" DIR "/missing.cgds", "--resume", CKPT,
                 "--force", NULL);
    CHECK(rc == 1 && cli_contains(err, "missing.cgds"), "resuming on a missing dataset -> %d", rc);
    CHECK(cli_same_bytes(CKPT, DIR "/ckpt.snapshot") && cli_same_bytes(RUN "/log.csv", DIR "/log.snapshot"),
          "the run's checkpoint or log.csv was changed");
    rc = cli_run(err, "train", "--config", INI, "--set", "train.iterations=2", "--force", NULL);
    long last;
    int ordered, rows = cli_log_rows(RUN, &last, &ordered);
    CHECK(rc == 0 && cli_ckpt_step(CKPT) == 2 && rows == 2 && ordered, "--force starts over -> %d (step %ld, %d rows)",
          rc, cli_ckpt_step(CKPT), rows);
    rc = cli_run(err, "train", "--config", INI, "--resume", CKPT, NULL);
    rows = cli_log_rows(RUN, &last, &ordered);
    CHECK(rc == 0 && cli_ckpt_step(CKPT) == 4 && rows == 4 && ordered, "--resume continues -> %d (%d rows)", rc, rows);
}

static void test_resume_mismatch(void) {
    const char *err = DIR "/mismatch.err";
    cli_copy(CKPT, DIR "/ckpt4.snapshot");
    static const char *const sets[][2] = {{"train.lr=0.001", "lr"},          {"train.batch_size=4", "batch_size"},
                                          {"model.type=wgan", "[model] type"}, {"train.optimizer=sgd", "optimizer"},
                                          {"train.dataset=" DIR "/good.cgds", "dataset"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        int rc = cli_run(err, "train", "--config", INI, "--set", "train.iterations=6", "--set", sets[i][0],
                         "--resume", CKPT, NULL);
        CHECK(rc == 2 && cli_contains(err, sets[i][1]), "--resume with %s -> %d (the change must be named)",
              sets[i][0], rc);
        CHECK(cli_same_bytes(CKPT, DIR "/ckpt4.snapshot"), "--resume with %s changed the checkpoint", sets[i][0]);
    }
    int rc = cli_run(err, "train", "--config", INI, "--set", "train.iterations=2", "--resume", CKPT, NULL);
    CHECK(rc == 2 && cli_contains(err, "past the 2"), "--resume at step 4 with iterations = 2 -> %d", rc);
    CHECK(!cli_contains(err, "done at iteration"), "--resume past iterations says 'done'");
    rc = cli_run(err, "train", "--config", INI, "--set", "train.iterations=5", "--set", "train.lr=0.0003", "--force",
                 "--resume", CKPT, NULL);
    CHECK(rc == 0 && cli_contains(err, "warning") && cli_contains(err, "lr") && cli_ckpt_step(CKPT) == 5,
          "--force --resume with a new lr -> %d", rc);
}

// Starts a long run into out, waiting until it has logged `rows` rows; -1 when it did not.
static pid_t start_long_run(const char *out_set, const char *out, const char *err, int resume, int rows) {
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    const char *args[] = {"train", "--config", INI, "--set", out_set, "--set", "train.iterations=1000000",
                          resume ? "--resume" : NULL, ckpt, NULL};
    pid_t pid = cli_spawn(err, args);
    long last;
    int status, exited = 0;
    double t0 = cg_now_s();
    while (cli_log_rows(out, &last, NULL) < rows && !(exited = waitpid(pid, &status, WNOHANG) == pid) &&
           cg_now_s() - t0 < CLI_HANG_S)
        usleep(20000);
    CHECK(!exited && last >= rows, "the long run exited or logged no rows (see %s)", err);
    if (exited || last < rows) {
        if (!exited) kill(pid, SIGKILL), waitpid(pid, &status, 0);
        return -1;
    }
    return pid;
}

static void test_signals_and_lock(void) {
    const char *out = DIR "/sig", *err = DIR "/sig.err", *err2 = DIR "/sig2.err";
    const int sigs[2] = {SIGTERM, SIGHUP};
    for (int i = 0; i < 2; i++) {
        long before;
        cli_log_rows(out, &before, NULL);
        pid_t pid = start_long_run("train.out=" DIR "/sig", out, err, i > 0, (int)(before > 0 ? before : 0) + 3);
        if (pid < 0) return;
        if (i == 0) { // a second trainer into the same folder is refused while the first runs
            int rc = cli_run(err2, "train", "--config", INI, "--set", "train.out=" DIR "/sig", "--force", NULL);
            CHECK(rc == 1 && cli_contains(err2, "another clgan train"), "a second trainer -> %d", rc);
        }
        kill(pid, sigs[i]);
        int rc = cli_wait(pid);
        long last;
        int ordered, rows = cli_log_rows(out, &last, &ordered);
        long step = cli_ckpt_step(DIR "/sig/checkpoint.safetensors");
        CHECK(rc == 3, "train after signal %d -> %d, want 3", sigs[i], rc);
        CHECK(step > 0 && step == last && rows == last && ordered, "signal %d: checkpoint at %ld, %d log rows to %ld",
              sigs[i], step, rows, last);
        CHECK(cli_contains(err, "--resume"), "signal %d: stderr does not say how to continue", sigs[i]);
        // A save killed half-way leaves a temporary file; the next start removes it.
        cli_spit(DIR "/sig/checkpoint.safetensors.tmp.AbC123", "torn", 4);
    }
    int rc = cli_run(err, "train", "--config", INI, "--set", "train.out=" DIR "/sig", "--set", "train.iterations=1000",
                     "--set", "train.max_seconds=0.001", "--resume", DIR "/sig/checkpoint.safetensors", NULL);
    CHECK(rc == 0 && cli_temp_files(out) == 0 && cli_contains(err, "removed"),
          "the next start -> %d with %d temporary files left", rc, cli_temp_files(out));
}

int main(void) {
    cli_setup(DIR);
    if (!cli_make_run_setup(DIR, "40", 4)) return test_finish("cli_dataloss");
    test_preprocess_keeps_nothing();
    test_outputs_are_not_inputs();
    test_existing_run();
    test_resume_mismatch();
    test_signals_and_lock();
    return test_finish("cli_dataloss");
}
