// test_mpi_score.c — `mpirun -np 2 clgan stats|score` equal one process (issue 16 items 4 and 5;
// docs/distributed.md). Random Inception weights in the real format (tests/reference/
// score_cli_reference.py, converted by tools/convert_inception_weights.py, as test_score_cli), 40
// synthetic faces (a packed 32x32 dataset and the synth PNG folder) and a DCGAN checkpoint of 2
// iterations; Inception batches of 4, so the ranks' blocks are 2 and 3 batches:
//   - stats of 12 PNGs: mu and sigma of the .npz bitwise equal to one process';
//   - score --images (20 of the dataset) against 12 PNGs, IS, FID and KID: equal within 1e-9
//     relative (and the printed check says whether bitwise);
//   - score --checkpoint (20 samples, generator batches of 4) against the stats: IS and FID the same;
//   - sharding really happened: with $CLGAN_DIST_TRACE each rank names the images it ran itself;
//     the two blocks must tile [0, N) with neither rank running all (a build where every rank does
//     everything fails here even though its numbers are equal);
//   - rank 0 alone prints the device line and the configuration.
// sanitize: plain-only
#include "cli_test_util.h"
#include "mpi_test_util.h"
#include "metrics.h"

#include <cJSON.h>
#include <math.h>

static const char *dir = "test-mpi-score-out";
static char weights[600];

// 0: weights written (test_util.h's stand-in); 77: torch/pytorch-fid missing (a skipped part).
static int make_weights(void) {
    char pth[700];
    snprintf(pth, sizeof pth, "%s/w.pth", dir);
    snprintf(weights, sizeof weights, "%s/w.safetensors", dir);
    return test_inception_stand_in(pth, weights);
}

// Runs `clgan args... --out <name>-<np>.<ext>` with 1 process (np 1) or under mpirun; the status.
static int run_np(int np, const char *name, const char *ext, const char *const *args, char *out, size_t outlen,
                  char *log, size_t loglen) {
    snprintf(out, outlen, "%s/%s-%d.%s", dir, name, np, ext);
    snprintf(log, loglen, "%s/%s-%d.log", dir, name, np);
    const char *argv[CLI_MAX_ARGS];
    int n = 0;
    for (; args[n] && n < CLI_MAX_ARGS - 3; n++) argv[n] = args[n];
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n] = NULL;
    double t0 = cg_now_s();
    int rc = np == 1 ? cli_wait(cli_spawn(log, argv)) : mpi_wait(mpi_spawn(log, np, cli_exe, argv), 900.0);
    printf("  %6.1f s  %s%s %s -> %d\n", cg_now_s() - t0, np == 1 ? "" : "mpirun -np 2 ", "clgan", args[0], rc);
    return rc;
}

// The trace lines of `what` in log: each rank's block must be what it ran, the blocks tile [0, n)
// in rank order, and no rank ran all n.
static void check_shards(const char *log, const char *cmd, const char *what, long n) {
    char *text = cli_slurp(log, NULL);
    long next = 0, ran = 0;
    int ranks = 0;
    for (int r = 0; r < 2; r++) {
        char head[200];
        snprintf(head, sizeof head, "clgan %s: rank %d of 2: %s: Inception features of images [", cmd, r, what);
        const char *at = text ? strstr(text, head) : NULL;
        long a = -1, b = -1, total = -1, k = -1;
        if (at && sscanf(at + strlen(head), "%ld, %ld) of %ld (%ld run)", &a, &b, &total, &k) == 4) {
            printf("    %s rank %d: %s [%ld, %ld) of %ld, ran %ld\n", cmd, r, what, a, b, total, k);
            CHECK(a == next && b >= a && total == n && k == b - a && k < n,
                  "%s: rank %d's %s block [%ld, %ld) of %ld (ran %ld) is not its share of %ld after %ld", log, r,
                  what, a, b, total, k, n, next);
            next = b, ran += k, ranks++;
        }
    }
    CHECK(ranks == 2 && next == n && ran == n, "%s: %d ranks traced %s, blocks end at %ld, ran %ld of %ld", log,
          ranks, what, next, ran, n);
    free(text);
}

// Occurrences of needle in the file.
static int count_in(const char *path, const char *needle) {
    char *text = cli_slurp(path, NULL);
    int c = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle)) c++;
    free(text);
    return c;
}

static void check_rank0_speaks(const char *log) {
    CHECK(count_in(log, "device 0: ") == 1, "%s: %d device lines, expected rank 0's alone", log,
          count_in(log, "device 0: "));
    CHECK(count_in(log, "effective configuration") == 1, "%s: the configuration printed %d times", log,
          count_in(log, "effective configuration"));
}

static void compare_json(const char *a, const char *b, const char *const *keys) {
    char *ta = cli_slurp(a, NULL), *tb = cli_slurp(b, NULL);
    cJSON *ja = ta ? cJSON_Parse(ta) : NULL, *jb = tb ? cJSON_Parse(tb) : NULL;
    CHECK(ja && jb, "%s or %s is missing or not JSON", a, b);
    for (int i = 0; ja && jb && keys[i]; i++) {
        cJSON *x = cJSON_GetObjectItem(ja, keys[i]), *y = cJSON_GetObjectItem(jb, keys[i]);
        CHECK(cJSON_IsNumber(x) && cJSON_IsNumber(y), "%s: %s missing", b, keys[i]);
        if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y)) continue;
        double u = x->valuedouble, v = y->valuedouble, rel = fabs(u - v) / fmax(fabs(u), 1e-300);
        printf("    %-9s 1 rank %.17g  2 ranks %.17g  %s\n", keys[i], u, v, u == v ? "(bitwise equal)" : "");
        CHECK(isfinite(u) && (u == v || rel <= 1e-9), "%s: %s = %.17g with 2 ranks, %.17g with 1 (rel %.3g)", b,
              keys[i], v, u, rel);
    }
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    free(ta);
    free(tb);
}

int main(void) {
    mpi_test_setup();
    cli_setup(dir);
    setbuf(stdout, NULL);
    if (!cli_make_run_setup(dir, "40", 2)) return test_finish("test_mpi_score");
    if (make_weights() != 0) return test_finish("test_mpi_score");
    char ini[600], faces[600], pngs[600], ckpt[600], log[700], err[700];
    snprintf(ini, sizeof ini, "%s/base.ini", dir);
    snprintf(faces, sizeof faces, "%s/faces.cgds", dir);
    snprintf(pngs, sizeof pngs, "%s/synth/img_align_celeba", dir);
    snprintf(ckpt, sizeof ckpt, "%s/run/checkpoint.safetensors", dir);
    snprintf(err, sizeof err, "%s/train.err", dir);
    int rc = cli_run(err, "train", "--config", ini, NULL);
    CHECK(rc == 0 && cli_exists(ckpt), "clgan train -> %d, checkpoint %s", rc, ckpt);
    setenv("CLGAN_DIST_TRACE", "1", 1); // read by clgan under mpirun only

    // stats: mu and sigma bitwise.
    char npz1[700], npz2[700];
    const char *stats[] = {"stats", "--images", pngs, "--n", "12", "--batch", "4", "--weights", weights, NULL};
    CHECK((rc = run_np(1, "stats", "npz", stats, npz1, sizeof npz1, log, sizeof log)) == 0, "stats -> %d (%s)", rc,
          log);
    CHECK((rc = run_np(2, "stats", "npz", stats, npz2, sizeof npz2, log, sizeof log)) == 0, "mpirun stats -> %d (%s)",
          rc, log);
    check_shards(log, "stats", "images", 12);
    check_rank0_speaks(log);
    cg_stats s1 = {0}, s2 = {0};
    if (cg_stats_load(npz1, &s1) == CG_OK && cg_stats_load(npz2, &s2) == CG_OK && s1.d == s2.d) {
        size_t d = (size_t)s1.d;
        CHECK(!memcmp(s1.mu, s2.mu, d * sizeof(double)), "stats: mu differs between 1 and 2 ranks");
        CHECK(!memcmp(s1.sigma, s2.sigma, d * d * sizeof(double)), "stats: sigma differs between 1 and 2 ranks");
        printf("    stats: mu[0] %.17g, sigma[0] %.17g, bitwise compared over %zu and %zu values\n", s1.mu[0],
               s1.sigma[0], d, d * d);
    } else {
        CHECK(0, "cannot read %s and %s as statistics of one size: %s", npz1, npz2, cg_last_error());
    }
    cg_stats_free(&s1);
    cg_stats_free(&s2);

    // score of stored images against images: IS, FID, KID.
    char j1[700], j2[700];
    const char *score[] = {"score", "--images", faces, "--n", "20", "--ref", pngs, "--ref-n", "12", "--metrics",
                           "is,fid,kid", "--batch", "4", "--weights", weights, NULL};
    const char *keys[] = {"n", "ref_n", "is_mean", "is_std", "fid", "kid_mean", "kid_std", NULL};
    CHECK((rc = run_np(1, "score", "json", score, j1, sizeof j1, log, sizeof log)) == 0, "score -> %d (%s)", rc, log);
    CHECK((rc = run_np(2, "score", "json", score, j2, sizeof j2, log, sizeof log)) == 0, "mpirun score -> %d (%s)",
          rc, log);
    check_shards(log, "score", "generated", 20);
    check_shards(log, "score", "reference", 12);
    check_rank0_speaks(log);
    compare_json(j1, j2, keys);

    // score of a checkpoint's samples (generator batches of 4) against the 1-rank statistics.
    const char *ck[] = {"score", "--checkpoint", ckpt, "--n", "20", "--seed", "5", "--ref", npz1, "--metrics", "is,fid",
                        "--batch", "4", "--set", "score.generator_batch=4", "--weights", weights, NULL};
    const char *ckeys[] = {"n", "is_mean", "is_std", "fid", NULL};
    CHECK((rc = run_np(1, "ckpt", "json", ck, j1, sizeof j1, log, sizeof log)) == 0, "score --checkpoint -> %d (%s)",
          rc, log);
    CHECK((rc = run_np(2, "ckpt", "json", ck, j2, sizeof j2, log, sizeof log)) == 0,
          "mpirun score --checkpoint -> %d (%s)", rc, log);
    check_shards(log, "score", "generated", 20);
    compare_json(j1, j2, ckeys);

    // A failure stops every rank with the same status and the reason (not mpirun's abort).
    char bad[700], npzb[700];
    snprintf(bad, sizeof bad, "%s/no-such-folder", dir);
    const char *fail[] = {"stats", "--images", bad, "--n", "12", "--batch", "4", "--weights", weights, NULL};
    rc = run_np(2, "fail", "npz", fail, npzb, sizeof npzb, log, sizeof log);
    CHECK(rc == 1, "mpirun clgan stats of a missing folder -> %d, expected 1 (%s)", rc, log);
    CHECK(count_in(log, "no-such-folder' does not exist") == 2 && count_in(log, "error: rank 0: ") == 1 &&
              count_in(log, "MPI_ABORT") == 0,
          "%s: expected rank 0's error on both ranks (once as 'rank 0: ...') and no MPI_ABORT", log);
    return test_finish("test_mpi_score");
}
