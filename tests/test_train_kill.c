// test_train_kill.c — a killed training run loses only the work since its last checkpoint (issue
// 14, item 3). Each trial starts `clgan train` (DCGAN 32x32, 8 iterations, a checkpoint every 2),
// sends SIGKILL at a moment picked by the trial (after k logged rows plus a pause, as soon as a
// checkpoint's temporary file appears, i.e. during its write, or right after a checkpoint lands), then continues
// with --resume (--force when no checkpoint was saved yet). Every trial must: leave a checkpoint
// that opens (never torn), resume with exit 0, end with parameters and optimizer state equal bit
// for bit to an uninterrupted run's, have log.csv rows 1..8 exactly once each, and leave no
// temporary file. Trials: $CLGAN_KILL_TRIALS (default 20; CI sets fewer, e.g. 5).
#include "cli_test_util.h"

#define OUT_DIR "test-train-kill-out"
#define INI OUT_DIR "/base.ini"
#define ITERATIONS 8

static uint64_t lcg = 12345;
static unsigned pick(unsigned n) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(lcg >> 33) % n;
}

typedef enum { AFTER_ROWS, DURING_WRITE, AFTER_CHECKPOINT } kill_moment;

// A checkpoint being written: its temporary file exists.
static int checkpoint_temp(const char *out) {
    DIR *d = opendir(out);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += !strncmp(e->d_name, "checkpoint.safetensors.tmp.", 27);
    if (d) closedir(d);
    return n;
}

// Waits for the trial's moment (or the run's end), then SIGKILLs the run. Returns 1 when the run
// was still alive when killed, and whether a temporary file was seen at that moment.
static int kill_at(pid_t pid, const char *out, kill_moment how, int *in_write) {
    char ckpt[512], samples[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    snprintf(samples, sizeof samples, "%s/samples", out);
    int rows_wanted = (int)pick(ITERATIONS), status;
    long last, pause_us = (long)pick(200) * 1000, step_wanted = 2 + 2 * (long)pick(3);
    double t0 = cg_now_s();
    *in_write = 0;
    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid) return 0;
        if (cg_now_s() - t0 > CLI_HANG_S) break;
        if (how == AFTER_ROWS && cli_log_rows(out, &last, NULL) >= rows_wanted) {
            usleep((useconds_t)pause_us);
            break;
        }
        if (how == DURING_WRITE && checkpoint_temp(out)) break;
        if (how == AFTER_CHECKPOINT && cli_ckpt_step(ckpt) >= step_wanted) break;
        if (how != DURING_WRITE) usleep(2000);
    }
    *in_write = checkpoint_temp(out);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
}

static void trial(int i, const char *reference, int *killed, int *in_writes) {
    char out[256], out_set[300], ckpt[300], err[300], why[256];
    snprintf(out, sizeof out, OUT_DIR "/trial%02d", i);
    snprintf(out_set, sizeof out_set, "train.out=%s", out);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    snprintf(err, sizeof err, "%s.err", out);
    const char *args[] = {"train", "--config", INI, "--set", out_set, NULL};
    pid_t pid = cli_spawn(err, args);
    int in_write = 0;
    kill_moment how = (kill_moment)(i % 3);
    *killed += kill_at(pid, out, how, &in_write);
    *in_writes += in_write;
    long at = cli_exists(ckpt) ? cli_ckpt_step(ckpt) : 0, last;
    int rows_before = cli_log_rows(out, &last, NULL);
    CHECK(at >= 0 && at % 2 == 0 && at <= ITERATIONS, "trial %d: the checkpoint after the kill is torn or odd "
          "(step %ld)", i, at);
    CHECK(at <= rows_before, "trial %d: the checkpoint (step %ld) is ahead of log.csv (%d rows)", i, at, rows_before);
    int rc = at > 0 ? cli_run(err, "train", "--config", INI, "--set", out_set, "--resume", ckpt, NULL)
                    : cli_run(err, "train", "--config", INI, "--set", out_set, "--force", NULL);
    fprintf(stderr, "trial %2d: kill %s (%s), checkpoint at %ld, %d rows -> %s exit %d\n", i,
            how == AFTER_ROWS ? "after rows" : how == DURING_WRITE ? "in a write" : "after a checkpoint",
            in_write ? "checkpoint being written" : "no checkpoint write", at, rows_before, at ? "--resume" : "--force",
            rc);
    CHECK(rc == 0, "trial %d: continuing -> %d (see %s)", i, rc, err);
    CHECK(cli_same_tensors(reference, ckpt, why, sizeof why), "trial %d: the final checkpoint differs from the "
          "uninterrupted run's: %s", i, why);
    int ordered, rows = cli_log_rows(out, &last, &ordered);
    CHECK(rows == ITERATIONS && ordered, "trial %d: log.csv has %d rows (ordered %d), want 1..%d", i, rows, ordered,
          ITERATIONS);
    char samples[300];
    snprintf(samples, sizeof samples, "%s/samples", out);
    CHECK(cli_temp_files(out) == 0 && cli_temp_files(samples) == 0, "trial %d: temporary files left", i);
}

int main(void) {
    cli_setup(OUT_DIR);
    const char *env = getenv("CLGAN_KILL_TRIALS");
    int trials = env && atoi(env) > 0 ? atoi(env) : 20;
    if (!cli_make_run_setup(OUT_DIR, "40", ITERATIONS)) return test_finish("train_kill");
    const char *reference = OUT_DIR "/ref/checkpoint.safetensors";
    int rc = cli_run(OUT_DIR "/ref.err", "train", "--config", INI, "--set", "train.out=" OUT_DIR "/ref", NULL);
    CHECK(rc == 0 && cli_ckpt_step(reference) == ITERATIONS, "the uninterrupted run -> %d", rc);
    if (rc != 0) return test_finish("train_kill");
    int killed = 0, in_writes = 0;
    for (int i = 0; i < trials; i++) trial(i, reference, &killed, &in_writes);
    fprintf(stderr, "%d trials: %d killed while running, %d of them during a checkpoint write\n", trials, killed,
            in_writes);
    return test_finish("train_kill");
}
