// test_mpi_bench.c — `mpirun -np 2 clgan bench --suite train` (issue 16 item 6; docs/distributed.md):
// quick DCGAN shapes, both ranks on device 0. bench.json holds, for dcgan, "1 rank" (rank 0 alone),
// "rank 0 of 2", "rank 1 of 2" (each at the per-rank batch, referenced to the single rank) and
// "2 ranks" (twice the batch, the slowest rank's time, referenced to 2 x 1 rank so that its ratio
// is the scaling efficiency); the numbers are checked for consistency with each other (no timing
// assertion), and rank 0 alone prints the table and the device line.
// sanitize: plain-only
#include "cli_test_util.h"
#include "mpi_test_util.h"

#include <cJSON.h>
#include <math.h>

static const char *dir = "test-mpi-bench-out";

static cJSON *find_row(cJSON *rows, const char *name) {
    cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        cJSON *c = cJSON_GetObjectItem(r, "case");
        if (cJSON_IsString(c) && !strcmp(c->valuestring, name)) return r;
    }
    return NULL;
}

static double num(cJSON *o, const char *key) {
    cJSON *x = o ? cJSON_GetObjectItem(o, key) : NULL;
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int count_in(const char *path, const char *needle) {
    char *text = cli_slurp(path, NULL);
    int c = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle)) c++;
    free(text);
    return c;
}

int main(void) {
    mpi_test_setup();
    cli_setup(dir);
    char out[600], log[600], json[700];
    snprintf(out, sizeof out, "%s/bench", dir);
    snprintf(log, sizeof log, "%s/bench.log", dir);
    snprintf(json, sizeof json, "%s/bench.json", out);
    const char *args[] = {"bench", "--suite", "train", "--quick", "--reps", "2", "--cases", "dcgan", "--device", "0,0",
                          "--out", out, NULL};
    int rc = mpi_wait(mpi_spawn(log, 2, cli_exe, args), 600.0);
    CHECK(rc == 0, "mpirun -np 2 clgan bench --suite train -> %d (%s)", rc, log);
    CHECK(count_in(log, "| suite |") == 1, "%s: the table printed %d times, expected once (rank 0)", log,
          count_in(log, "| suite |"));
    // Rank 0 names its device once; rank 1 names none.
    char *all = cli_slurp(log, NULL);
    int lines = count_in(log, "\ndevice 0: ") + (all && !strncmp(all, "device 0: ", 10));
    free(all);
    CHECK(lines == 1, "%s: %d device lines, expected rank 0's alone, once", log, lines);
    char *text = cli_slurp(json, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(j != NULL, "%s missing or not JSON", json);
    cJSON *rows = j ? cJSON_GetObjectItem(j, "rows") : NULL;
    CHECK(cJSON_GetArraySize(rows) == 4, "%d rows, expected 4 (1 rank, 2 per rank, total)", cJSON_GetArraySize(rows));
    cJSON *one = find_row(rows, "dcgan 1 rank"), *r0 = find_row(rows, "dcgan rank 0 of 2"),
          *r1 = find_row(rows, "dcgan rank 1 of 2"), *tot = find_row(rows, "dcgan 2 ranks");
    CHECK(one && r0 && r1 && tot, "rows: 1 rank %p, rank 0 %p, rank 1 %p, 2 ranks %p", (void *)one, (void *)r0,
          (void *)r1, (void *)tot);
    if (one && r0 && r1 && tot) {
        double w1 = num(one, "work"), t1 = num(one, "median_s"), wt = num(tot, "work"), tt = num(tot, "median_s");
        double m0 = num(r0, "median_s"), m1 = num(r1, "median_s");
        printf("1 rank %.1f images/s; 2 ranks %.1f images/s total (rank 0 %.1f, rank 1 %.1f), efficiency %.2f\n",
               w1 / t1, wt / tt, num(r0, "work") / m0, num(r1, "work") / m1, num(tot, "ratio"));
        CHECK(w1 > 0 && t1 > 0 && num(r0, "work") == w1 && num(r1, "work") == w1 && wt == 2 * w1,
              "work: 1 rank %g, ranks %g and %g, total %g", w1, num(r0, "work"), num(r1, "work"), wt);
        CHECK(tt == fmax(m0, m1), "total time %g is not the slowest rank's (%g, %g)", tt, m0, m1);
        cJSON *ref0 = cJSON_GetObjectItem(r0, "reference"), *reft = cJSON_GetObjectItem(tot, "reference");
        CHECK(num(ref0, "median_s") == t1 && num(reft, "median_s") == t1, "references are not the single rank's time");
        double eff = (wt / tt) / (2 * w1 / t1), ratio = num(tot, "ratio");
        CHECK(fabs(ratio - eff) <= 1e-9 * eff, "total row's ratio %g is not the scaling efficiency %g", ratio, eff);
        CHECK(fabs(num(r0, "ratio") - (w1 / m0) / (w1 / t1)) <= 1e-9, "rank 0's ratio %g", num(r0, "ratio"));
    }
    cJSON_Delete(j);
    return test_finish("test_mpi_bench");
}
