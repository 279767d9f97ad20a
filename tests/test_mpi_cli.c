// test_mpi_cli.c — `mpirun -np 2 clgan train` end to end (issue 16 items 3 and 5; docs/distributed.md),
// on 40 synthetic faces at 32x32 (DCGAN, global batch 8, a checkpoint every 2 iterations):
//   - 2 ranks train 4 iterations: exit 0, rank 0 wrote log.csv (4 rows) and a checkpoint at step 4;
//   - checkpoints do not depend on N: a 2-rank checkpoint resumed by 1 rank, and a 1-rank checkpoint
//     resumed by 2 ranks, both to 6 iterations, equal 6 iterations of 1 rank within 1e-4 of each
//     tensor's max (Adam's near-zero-gradient steps of size lr allowed as in test_mpi_train: an
//     element may differ by 2 lr x the updates since the switch);
//   - a rank killed (SIGKILL) mid-run: mpirun ends the other, exits non-zero within 120 s naming
//     the dead rank, and the last checkpoint rank 0 wrote is still whole and readable;
//   - SIGINT to one rank: every rank stops after the iteration, rank 0 saves, mpirun exits 3.
// sanitize: plain-only
#include "cli_test_util.h"
#include "mpi_test_util.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

static const char *dir = "test-mpi-cli-out";
static char ini[600];

static int mpi_clgan(const char *log, int np, const char *const *args) {
    return mpi_wait(mpi_spawn(log, np, cli_exe, args), 600.0);
}

// Worst |a - b| over tol of every tensor of two checkpoints (tol = 1e-4 of b's max + 2 lr * steps).
static double ckpt_diff(const char *pa, const char *pb, double lr_steps, char *where, size_t wl) {
    cg_st_file *a = NULL, *b = NULL;
    double worst = 1e9;
    if (cg_safetensors_open(pa, &a) == CG_OK && cg_safetensors_open(pb, &b) == CG_OK) {
        worst = 0;
        for (int i = 0; i < cg_safetensors_count(b); i++) {
            const char *name = cg_safetensors_name(b, i);
            const int *sa, *sb;
            int na, nb;
            const float *da, *db;
            if (cg_safetensors_get(a, name, &sa, &na, &da) != CG_OK ||
                cg_safetensors_get(b, name, &sb, &nb, &db) != CG_OK || na != nb) {
                worst = 1e9;
                snprintf(where, wl, "%s missing or reshaped", name);
                break;
            }
            size_t n = 1;
            for (int d = 0; d < nb; d++) n *= (size_t)sb[d];
            double mx = 0;
            for (size_t e = 0; e < n; e++) mx = fmax(mx, fabs(db[e]));
            int moment = strstr(name, "optimizer.") != NULL; // Adam's v of near-zero gradients is tiny noise
            double tol = 1e-4 * (mx > 0 ? mx : 1) + (moment ? 0 : lr_steps);
            for (size_t e = 0; e < n && !moment; e++) {
                double r = fabs((double)da[e] - db[e]) / tol;
                if (r > worst) {
                    worst = r;
                    snprintf(where, wl, "%s[%zu]: %.9g vs %.9g", name, e, (double)da[e], (double)db[e]);
                }
            }
        }
    }
    cg_safetensors_close(a);
    cg_safetensors_close(b);
    return worst;
}

static void run_and_resume(void) {
    char runA[600], runB[600], runR[600], log[700], ck[700], ckR[700], setA[700], setB[700], setR[700];
    snprintf(runA, sizeof runA, "%s/two", dir);
    snprintf(runB, sizeof runB, "%s/one", dir);
    snprintf(runR, sizeof runR, "%s/ref", dir);
    snprintf(setA, sizeof setA, "train.out=%s", runA);
    snprintf(setB, sizeof setB, "train.out=%s", runB);
    snprintf(setR, sizeof setR, "train.out=%s", runR);
    snprintf(log, sizeof log, "%s/two.log", dir);
    const char *a2[] = {"train", "--config", ini, "--set", setA, NULL};
    int rc = mpi_clgan(log, 2, a2);
    CHECK(rc == 0, "mpirun -np 2 clgan train -> %d (%s)", rc, log);
    long last = 0;
    int ordered = 0;
    CHECK(cli_log_rows(runA, &last, &ordered) == 4 && last == 4 && ordered, "2 ranks: log.csv rows to %ld", last);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", runA);
    CHECK(cli_ckpt_step(ck) == 4, "2 ranks: checkpoint at step %ld", cli_ckpt_step(ck));
    CHECK(cli_contains(log, "2 MPI ranks, 4 images each of a global batch of 8"), "rank 0 names the split");

    // 1 rank, 4 iterations (resumed by 2 below); 1 rank, 6 iterations straight (the reference).
    snprintf(log, sizeof log, "%s/one.err", dir);
    CHECK((rc = cli_run(log, "train", "--config", ini, "--set", setB, NULL)) == 0, "1 rank -> %d", rc);
    CHECK((rc = cli_run(log, "train", "--config", ini, "--set", setR, "--set", "train.iterations=6", NULL)) == 0,
          "1 rank, 6 iterations -> %d", rc);
    snprintf(ckR, sizeof ckR, "%s/checkpoint.safetensors", runR);

    // 2 -> 1: the 2-rank checkpoint continued by one process.
    snprintf(log, sizeof log, "%s/resume1.err", dir);
    rc = cli_run(log, "train", "--config", ini, "--set", setA, "--set", "train.iterations=6", "--resume", ck, NULL);
    CHECK(rc == 0, "2 -> 1 rank resume -> %d (%s)", rc, log);
    char where[300] = "";
    double lr2 = 2 * 2e-4 * 2; // 2 lr per update since the switch, 2 updates
    double w = ckpt_diff(ck, ckR, lr2, where, sizeof where);
    printf("resume 2 -> 1 rank at step 4, to 6: worst %.3g of the tolerance (%s)\n", w, where);
    CHECK(w <= 1.0, "2 -> 1 rank resume differs from 1 rank: %s", where);

    // 1 -> 2: the 1-rank checkpoint continued by two.
    char ckB[700];
    snprintf(ckB, sizeof ckB, "%s/checkpoint.safetensors", runB);
    snprintf(log, sizeof log, "%s/resume2.log", dir);
    const char *r2[] = {"train", "--config", ini, "--set", setB, "--set", "train.iterations=6", "--resume", ckB, NULL};
    rc = mpi_clgan(log, 2, r2);
    CHECK(rc == 0, "1 -> 2 rank resume -> %d (%s)", rc, log);
    w = ckpt_diff(ckB, ckR, lr2, where, sizeof where);
    printf("resume 1 -> 2 ranks at step 4, to 6: worst %.3g of the tolerance (%s)\n", w, where);
    CHECK(w <= 1.0, "1 -> 2 rank resume differs from 1 rank: %s", where);
    CHECK(cli_ckpt_step(ckB) == 6, "1 -> 2: checkpoint at step %ld", cli_ckpt_step(ckB));
}

// The pid of the clgan rank `rank` among the processes whose parent is mpirun `parent`, or -1.
static pid_t find_rank(pid_t parent, int rank) {
    DIR *d = opendir("/proc");
    pid_t found = -1;
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    for (struct dirent *e; d && found < 0 && (e = readdir(d));) {
        pid_t pid = (pid_t)atol(e->d_name);
        if (pid <= 0) continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        int ppid = -1;
        if (f) {
            if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1) ppid = -1;
            fclose(f);
        }
        if (ppid != parent) continue;
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
        f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
            buf[n] = 0;
            if (!strcmp(buf + i, want)) found = pid;
        }
    }
    if (d) closedir(d);
    return found;
}

// Starts a long 2-rank run, waits for its first checkpoint, sends sig to rank 1; the exit status.
static int signal_rank(const char *name, int sig, char *log, size_t ll, char *ck, size_t cl) {
    char out[600], set[700];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    snprintf(set, sizeof set, "train.out=%s", out);
    snprintf(log, ll, "%s/%s.log", dir, name);
    snprintf(ck, cl, "%s/checkpoint.safetensors", out);
    const char *args[] = {"train", "--config", ini, "--set", set, "--set", "train.iterations=1000000", NULL};
    pid_t pid = mpi_spawn(log, 2, cli_exe, args);
    double t0 = cg_now_s();
    while (!cli_exists(ck) && cg_now_s() - t0 < 300) usleep(50000);
    CHECK(cli_exists(ck), "%s: no checkpoint within 300 s", name);
    pid_t victim = find_rank(pid, 1);
    CHECK(victim > 0, "%s: rank 1 not found among mpirun's children", name);
    if (victim > 0) kill(victim, sig);
    return mpi_wait(pid, 120.0);
}

int main(void) {
    cli_setup(dir);
    mpi_test_setup();
    if (!cli_make_run_setup(dir, "40", 4)) return test_finish("test_mpi_cli");
    snprintf(ini, sizeof ini, "%s/base.ini", dir);
    run_and_resume();

    char log[700], ck[700];
    int rc = signal_rank("killed", SIGKILL, log, sizeof log, ck, sizeof ck);
    CHECK(rc > 0, "a rank killed: mpirun -> %d (want non-zero within 120 s; -1 = hung)", rc);
    CHECK(cli_contains(log, "rank 1") || cli_contains(log, "signal 9"), "the killed rank is named (%s)", log);
    CHECK(cli_ckpt_step(ck) >= 2, "after the kill the last checkpoint is readable (step %ld)", cli_ckpt_step(ck));
    printf("rank 1 killed: mpirun exited %d\n", rc);

    rc = signal_rank("interrupted", SIGINT, log, sizeof log, ck, sizeof ck);
    CHECK(rc == 3, "SIGINT to rank 1: mpirun -> %d, want 3 (%s)", rc, log);
    CHECK(cli_contains(log, "stopped by signal 2"), "rank 0 reports the stop (%s)", log);
    long s = cli_ckpt_step(ck);
    CHECK(s >= 2, "after SIGINT the checkpoint is at step %ld", s);
    return test_finish("test_mpi_cli");
}
