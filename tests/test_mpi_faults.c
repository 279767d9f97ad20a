// test_mpi_faults.c — one rank of `mpirun -np 2 clgan train` fails and every rank stops with the
// reason (issue 16 item 3; docs/distributed.md "Failures"), on 40 synthetic faces at 32x32 (DCGAN,
// global batch 8, 4 iterations, a checkpoint every 2). $CLGAN_FAULT (runtime/fault.c) is set for
// one rank only (mpirun's MPMD form), aimed at iteration 3, after the step-2 checkpoint:
//   - "nan:6" on rank 1: a NaN in its generator gradients (the 6th averaging: D, G, D, G, D, G);
//   - "nan:5" on rank 0: a NaN in its discriminator gradients (rank 0 is the one that writes);
//   - a failed kernel launch on rank 1 in iteration 3 (aimed with the launch counts of clean runs
//     of 2 and 4 iterations on that rank, CLGAN_FAULT=count), while rank 0 waits for it in a
//     collective (SyncBN or the gradient allreduce);
//   - a failed read-back of the losses after the last iteration on rank 1 (its last read), while
//     rank 0 waits in the loss agreement before its final save (log.csv then has 4 rows).
// Each job must end by itself (bounded wait: a hang fails) with exit 1, both ranks printing the
// reason with the failing rank's number (the other rank's line "rank R: ..."), the net and the
// iteration; rank 0 must have written nothing after step 2: its checkpoint is the step-2 one, bit
// for bit the checkpoint of a clean 2-iteration job, log.csv has 2 rows (4 when the failure comes
// after the last iteration), no temporary files. The
// clean 4-iteration job (exit 0, checkpoint at step 4) is the negative control.
// sanitize: plain-only
#include "cli_test_util.h"
#include "mpi_test_util.h"

static const char *dir = "test-mpi-faults-out";
static char ini[600];

// Starts the 2-rank job into dir/name (`extra` another --set, or NULL), `env` set for rank
// `which` (or on both with which < 0 and env NULL); the exit status, -1 when it hung.
static int job(const char *name, const char *extra, int which, const char *env) {
    char set[700], log[700];
    snprintf(set, sizeof set, "train.out=%s/%s", dir, name);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    const char *args[] = {"train", "--config", ini, "--set", set, extra ? "--set" : NULL, extra, NULL};
    pid_t pid = env ? mpi_spawn_env1(log, cli_exe, args, which, env) : mpi_spawn(log, 2, cli_exe, args);
    return mpi_wait(pid, 300.0);
}

// Rank 1's launches and reads in a clean job of `iterations` (CLGAN_FAULT=count on rank 1); -1 when
// unread.
static void count_events(const char *name, const char *iterations, long *launch, long *read) {
    char log[700];
    int rc = job(name, iterations, 1, "CLGAN_FAULT=count");
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    char *text = cli_slurp(log, NULL);
    const char *line = text ? strstr(text, "clgan fault counts: ") : NULL;
    long alloc;
    if (!line || sscanf(line, "clgan fault counts: alloc %ld launch %ld read %ld", &alloc, launch, read) != 3)
        *launch = *read = -1;
    CHECK(rc == 0 && *launch > 0 && *read > 0, "counting job %s -> %d, launches %ld, reads %ld", name, rc, *launch,
          *read);
    free(text);
}

// The faulted job `name`'s outcome: exit 1, the needles in its output (both ranks' lines), and
// rank 0's run folder as it was after step 2 (clean2: the clean 2-iteration job's checkpoint).
static void expect_stop(const char *name, int rc, const char *clean2, int want_rows, const char *const *needles) {
    char log[700], out[700], ck[800], why[300] = "";
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    snprintf(out, sizeof out, "%s/%s", dir, name);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    CHECK(rc == 1, "%s: mpirun -> %d, want 1 (-1: hung for 300 s; > 128: a signal) (%s)", name, rc, log);
    for (int i = 0; needles[i]; i++) CHECK(cli_contains(log, needles[i]), "%s: no '%s' in %s", name, needles[i], log);
    CHECK(!cli_contains(log, "MPI_ABORT"), "%s: the job was aborted instead of agreeing (%s)", name, log);
    long step = cli_ckpt_step(ck), last = 0;
    CHECK(step == 2, "%s: rank 0's checkpoint is at step %ld, want 2", name, step);
    CHECK(cli_same_tensors(ck, clean2, why, sizeof why), "%s: the step-2 checkpoint is not the clean one: %s", name, why);
    int rows = cli_log_rows(out, &last, NULL);
    CHECK(rows == want_rows && last == want_rows, "%s: log.csv has %d rows up to %ld, want %d", name, rows, last,
          want_rows);
    CHECK(cli_temp_files(out) == 0, "%s: temporary files left in %s", name, out);
    char *text = cli_slurp(log, NULL);
    const char *e = text ? strstr(text, "error:") : NULL;
    printf("%s: exit %d; %.300s\n", name, rc, e ? e : "(no error line)");
    free(text);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

int main(void) {
    cli_setup(dir);
    mpi_test_setup();
    if (!cli_make_run_setup(dir, "40", 4)) return test_finish("test_mpi_faults");
    snprintf(ini, sizeof ini, "%s/base.ini", dir);

    // Negative control and references: clean jobs of 4 and 2 iterations (counting rank 1's launches).
    char clean2[700], ck4[700];
    long l4, r4, l2, r2;
    count_events("clean4", NULL, &l4, &r4);
    count_events("clean2", "train.iterations=2", &l2, &r2);
    snprintf(ck4, sizeof ck4, "%s/clean4/checkpoint.safetensors", dir);
    snprintf(clean2, sizeof clean2, "%s/clean2/checkpoint.safetensors", dir);
    CHECK(cli_ckpt_step(ck4) == 4, "the clean job's checkpoint is at step %ld, want 4", cli_ckpt_step(ck4));
    char log4[700];
    snprintf(log4, sizeof log4, "%s/clean4.log", dir);
    CHECK(!cli_contains(log4, "error:"), "the clean job reported an error (%s)", log4);

    int rc = job("nan-g-rank1", NULL, 1, "CLGAN_FAULT=nan:6");
    expect_stop("nan-g-rank1", rc, clean2, 2,
                NEEDLES("error: training diverged: the generator's gradients on rank 1 are not finite in iteration 3",
                        "error: rank 1: training diverged: the generator's gradients on rank 1",
                        "images [4, 8) of 8", "the last good checkpoint is"));

    rc = job("nan-d-rank0", NULL, 0, "CLGAN_FAULT=nan:5");
    expect_stop("nan-d-rank0", rc, clean2, 2,
                NEEDLES("error: training diverged: the discriminator's gradients on rank 0 are not finite in iteration 3",
                        "error: rank 0: training diverged: the discriminator's gradients on rank 0",
                        "images [0, 4) of 8"));

    // A launch in the middle of iteration 3 on rank 1 (rank 1 writes nothing, so its launches
    // grow by the same count per iteration).
    if (l2 > 0 && l4 > l2) {
        char fault[64];
        snprintf(fault, sizeof fault, "CLGAN_FAULT=launch:%ld", l2 + (l4 - l2) / 4);
        rc = job("device-rank1", NULL, 1, fault);
        expect_stop("device-rank1", rc, clean2, 2,
                    NEEDLES("error: rank 1: in iteration 3: the ", "CL_OUT_OF_RESOURCES", "launching kernel"));
        char log[700];
        snprintf(log, sizeof log, "%s/device-rank1.log", dir);
        CHECK(cli_contains(log, "the generator's") || cli_contains(log, "the discriminator's"),
              "device-rank1: the message names no net (%s)", log);
        char *text = cli_slurp(log, NULL);
        int lines = 0;
        for (const char *p = text; p && (p = strstr(p, "error: rank 1: in iteration 3: ")); p++) lines++;
        free(text);
        CHECK(lines == 2, "device-rank1: %d ranks print the failure, want both", lines);
    }
    // Rank 1's last read-back, the losses after the loop (rank 1 writes nothing, so it is its last
    // read): rank 0 waits for it in the loss agreement and then saves nothing, so its checkpoint
    // stays the step-2 one while log.csv has all 4 rows.
    if (r4 > 0) {
        char fault[64];
        snprintf(fault, sizeof fault, "CLGAN_FAULT=read:%ld", r4);
        rc = job("final-read-rank1", NULL, 1, fault);
        expect_stop("final-read-rank1", rc, clean2, 4,
                    NEEDLES("error: rank 1: reading back the losses of iteration 4", "CL_OUT_OF_RESOURCES"));
    }
    return test_finish("test_mpi_faults");
}
