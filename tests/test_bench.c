// test_bench.c — `clgan bench --quick` end to end (every report parses and holds the expected,
// checked rows of every suite, train, inception and preprocess included) and the pieces behind it: report formats,
// the GEMM check catching a wrong product, and the timing loop (calls per rep counted, not timed:
// a sleep of 25 ms only bounds a slow call from below). Nothing here depends on speed.
#include "bench.h"
#include "test_util.h"

#include <cJSON.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[256];

static char *slurp(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    return cg_read_file(path, &data, &len) == CG_OK ? data : NULL;
}

static int temp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    return n;
}

// Number of fields of each CSV line (quotes respected); -1 when lines disagree. *lines counts them.
static int csv_shape(const char *text, int *lines) {
    int fields = -1, cur = 1, quoted = 0;
    *lines = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '"') quoted = !quoted;
        else if (*p == ',' && !quoted) cur++;
        else if (*p == '\n' && !quoted) {
            if (fields >= 0 && fields != cur) return -1;
            fields = cur;
            cur = 1;
            (*lines)++;
        }
    }
    return fields;
}

static const cJSON *find_row(const cJSON *rows, const char *suite, const char *name) {
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(r, "suite"));
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(r, "case"));
        if (s && c && !strcmp(s, suite) && (!name || !strcmp(c, name))) return r;
    }
    return NULL;
}

// Lines of text that start with prefix (0 for NULL text).
static int count_lines(const char *text, const char *prefix) {
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) n += !strncmp(p, prefix, len);
    return n;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

// Checks the report; returns its number of rows.
static int check_json(const char *text, int n_devices) {
    cJSON *root_json = cJSON_Parse(text);
    CHECK(root_json != NULL, "bench.json does not parse");
    if (!root_json) return -1;
    const cJSON *devs = cJSON_GetObjectItem(root_json, "devices"), *rows = cJSON_GetObjectItem(root_json, "rows");
    CHECK(cJSON_GetArraySize(devs) == n_devices, "%d devices in the header, expected %d", cJSON_GetArraySize(devs),
          n_devices);
    CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(devs, 0), "name")) != NULL, "device name");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(root_json, "host"), "load_start")) == 3,
          "load average in the header");
    int count = 0;
    const bench_gemm_shape *shapes = bench_gemm_shapes(1, &count);
    for (int i = 0; i < count; i++) {
        const cJSON *r = find_row(rows, "gemm", shapes[i].name);
        CHECK(r != NULL, "no gemm row for %s", shapes[i].name);
        if (!r) continue;
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(r, "status"));
        CHECK(status && !strcmp(status, "ok"), "gemm %s: status %s", shapes[i].name, status ? status : "(none)");
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(r, "checked")), "gemm %s not checked", shapes[i].name);
        CHECK(num(r, "check_err") >= 0 && num(r, "check_err") <= bench_gemm_tolerance(shapes[i].k),
              "gemm %s: check error %g", shapes[i].name, num(r, "check_err"));
        CHECK(num(r, "rate") > 0 && num(r, "min_s") <= num(r, "median_s") && num(r, "median_s") <= num(r, "max_s"),
              "gemm %s: rate %g, min/median/max %g %g %g", shapes[i].name, num(r, "rate"), num(r, "min_s"),
              num(r, "median_s"), num(r, "max_s"));
        const cJSON *ref = cJSON_GetObjectItem(r, "reference");
        const char *ref_name = cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name"));
        CHECK(ref_name && !strcmp(ref_name, "openblas") && num(ref, "rate") > 0 && num(r, "ratio") > 0,
              "gemm %s: OpenBLAS reference missing", shapes[i].name);
    }
    // Every other suite is either run or listed as skipped with its reason.
    int n_suites = 0;
    const bench_suite *const *suites = bench_suites(&n_suites);
    for (int i = 1; i < n_suites; i++) {
        const cJSON *r = find_row(rows, suites[i]->name, NULL);
        char reason[256];
        CHECK(r != NULL, "suite %s missing from the report", suites[i]->name);
        const char *status = r ? cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")) : NULL;
        if (!suites[i]->available(reason, sizeof reason))
            CHECK(status && !strncmp(status, "skipped: ", 9) && strstr(status, reason), "suite %s: status '%s'",
                  suites[i]->name, status ? status : "(none)");
        else
            CHECK(status && !strcmp(status, "ok") && cJSON_IsTrue(cJSON_GetObjectItem(r, "checked")),
                  "suite %s: status '%s'", suites[i]->name, status ? status : "(none)");
    }
    // The whole-pipeline suites: every case present, checked, timed.
    static const char *const wired[][2] = {
        {"train", "dcgan"},          {"train", "wgan"},         {"train", "vanilla"},
        {"inception", "features"},   {"inception", "fid"},      {"preprocess", "decode"},
        {"preprocess", "filter"},    {"preprocess", "upload"},  {"preprocess", "crop_resize"},
        {"preprocess", "brightness"}, {"preprocess", "pipeline"}, {"upscale", "srvgg"},
        {"landmarks", "178x218"},    {"landmarks", "640x480"},
    };
    for (size_t i = 0; i < sizeof wired / sizeof wired[0]; i++) {
        const cJSON *r = find_row(rows, wired[i][0], wired[i][1]);
        const char *status = r ? cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")) : NULL;
        CHECK(status && !strcmp(status, "ok") && cJSON_IsTrue(cJSON_GetObjectItem(r, "checked")) &&
                  num(r, "rate") > 0,
              "%s %s: status '%s', rate %g", wired[i][0], wired[i][1], status ? status : "(no row)",
              r ? num(r, "rate") : 0.0);
    }
    int n_rows = cJSON_GetArraySize(rows);
    cJSON_Delete(root_json);
    return n_rows;
}

static void test_cli(void) {
    const char *cli = getenv("CLGAN_CLI");
    if (!cli || access(cli, X_OK) != 0) {
        CHECK(0, "CLGAN_CLI is not set or not executable (run through ctest): the bench run is not tested");
        return;
    }
    char dir[300], all[300], so[320], se[320];
    snprintf(dir, sizeof dir, "%s/out", root);
    snprintf(so, sizeof so, "%s/stdout", root);
    snprintf(se, sizeof se, "%s/stderr", root);
    int rc = test_run(so, se, NULL, cli, "bench", "--suite", "gemm,conv,train,inception,preprocess,upscale,landmarks",
                      "--reps", "1", "--quick", "--out", dir, (char *)NULL);
    CHECK(rc == 0, "clgan bench exited with %d", rc);
    char *json = slurp(dir, "bench.json"), *csv = slurp(dir, "bench.csv"), *md = slurp(dir, "bench.md");
    char *out = slurp(root, "stdout");
    CHECK(json && csv && md && out, "bench reports missing");
    int n_rows = json ? check_json(json, 1) : -1;
    int lines = 0, fields = csv ? csv_shape(csv, &lines) : -1;
    CHECK(fields == 23 && lines == 1 + n_rows && n_rows >= 3 + 4 + 11, "bench.csv: %d fields per line, %d lines, %d rows",
          fields, lines, n_rows);
    CHECK(md && strstr(md, "| gemm | 64^3 |") && strstr(md, "| gemm | odd nt |") && strstr(md, "- device "),
          "bench.md lacks the gemm rows or the device header");
    CHECK(out && strstr(out, "| gemm | odd tn |"), "the table is not on screen");
    char *err = slurp(root, "stderr");
    CHECK(count_lines(err, "device ") == 1 && count_lines(err, "  GEMM: ") == 1,
          "stderr names the device %d times and its GEMM rule %d times, expected once each", count_lines(err, "device "),
          count_lines(err, "  GEMM: "));
    free(err);
    CHECK(temp_files(dir) == 0, "temporary files left in %s", dir);
    free(json);
    free(csv);
    free(md);
    free(out);

    // --devices all: every device appears in the header (conv runs nothing until it is built).
    cg_device_info *devs = NULL;
    int n_devs = 0;
    CHECK_OK(cg_devices_list(&devs, &n_devs));
    free(devs);
    snprintf(all, sizeof all, "%s/all", root);
    rc = test_run("/dev/null", se, NULL, cli, "bench", "--devices", "all", "--suite", "conv", "--reps", "1", "--quick",
                  "--out", all, (char *)NULL);
    CHECK(rc == 0, "clgan bench --devices all exited with %d", rc);
    err = slurp(root, "stderr");
    CHECK(count_lines(err, "device ") == n_devs, "--devices all: %d device lines for %d devices",
          count_lines(err, "device "), n_devs);
    free(err);
    json = slurp(all, "bench.json");
    cJSON *parsed = json ? cJSON_Parse(json) : NULL;
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(parsed, "devices")) == n_devs, "--devices all lists %d of %d",
          cJSON_GetArraySize(cJSON_GetObjectItem(parsed, "devices")), n_devs);
    cJSON_Delete(parsed);
    free(json);

    rc = test_run(NULL, "/dev/null", NULL, cli, "bench", "--suite", "nosuch", "--out", dir, (char *)NULL);
    CHECK(rc == 2, "an unknown suite is a usage error (exit %d)", rc);
}

static void test_formats(void) {
    bench_report rep;
    char *argv[] = {"bench", "--quick"};
    bench_report_init(&rep, 2, argv);
    bench_row *r = bench_report_add(&rep);
    snprintf(r->suite, sizeof r->suite, "gemm");
    snprintf(r->name, sizeof r->name, "a,b");
    snprintf(r->status, sizeof r->status, "failed: said \"no\", twice");
    snprintf(r->unit, sizeof r->unit, "GFLOP/s");
    r->work = 2e9;
    r->median_s = r->min_s = r->max_s = 0.5;
    snprintf(r->ref_name, sizeof r->ref_name, "openblas");
    r->ref_median_s = 0.25;
    CHECK(fabs(bench_row_rate(r) - 4.0) < 1e-9 && fabs(bench_row_ratio(r) - 0.5) < 1e-9, "rate %g ratio %g",
          bench_row_rate(r), bench_row_ratio(r));
    bench_report_finish(&rep);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/formats/nested", root);
    CHECK_OK(bench_report_write(&rep, dir));
    char *json = slurp(dir, "bench.json"), *csv = slurp(dir, "bench.csv");
    cJSON *parsed = json ? cJSON_Parse(json) : NULL;
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(parsed, "rows"), 0);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(row, "status"));
    CHECK(status && !strcmp(status, "failed: said \"no\", twice"), "JSON status round trip: %s", status);
    int lines = 0;
    CHECK(csv && csv_shape(csv, &lines) == 23 && lines == 2, "CSV quoting");
    CHECK(csv && strstr(csv, "\"failed: said \"\"no\"\", twice\""), "CSV quotes doubled");
    cJSON_Delete(parsed);
    free(json);
    free(csv);
    bench_report_free(&rep);
}

static int calls;
static cg_status count_call(void *ctx) {
    (void)ctx;
    return ++calls == 4 ? CG_ERR_NUMERIC : CG_OK;
}

// A call of at least 25 ms (more than a rep's 20 ms minimum).
static cg_status slow_call(void *ctx) {
    (void)ctx;
    calls++;
    struct timespec d = {0, 25 * 1000 * 1000};
    while (nanosleep(&d, &d)) {
    }
    return CG_OK;
}

static void test_timing(void) {
    double med, lo, hi;
    // A call of nanoseconds: one sizing call, the warm-up, then reps of 1000 calls each (the most a
    // rep runs), timed per call.
    calls = -10000;
    CHECK_OK(bench_time(count_call, NULL, 2, 3, BENCH_MIN_REP_S, &med, &lo, &hi));
    CHECK(calls == -10000 + 1 + 2 + 3 * 1000 && lo <= med && med <= hi && hi < 1e-3,
          "instant call: %d calls, per-call %g <= %g <= %g s", calls + 10000, lo, med, hi);
    // A call longer than a rep's minimum: one call per rep.
    calls = 0;
    CHECK_OK(bench_time(slow_call, NULL, 1, 2, BENCH_MIN_REP_S, &med, &lo, &hi));
    CHECK(calls == 1 + 1 + 2 && lo >= 0.025 && lo <= med && med <= hi, "slow call: %d calls, %g <= %g <= %g s",
          calls, lo, med, hi);
    // min_rep_s 0 (training iterations, where every MPI rank must run as many): warm-up + reps calls.
    calls = -10000;
    CHECK_OK(bench_time(count_call, NULL, 2, 3, 0, &med, &lo, &hi));
    CHECK(calls == -10000 + 2 + 3, "one call per rep: %d calls", calls + 10000);
    calls = 0;
    CHECK(bench_time(count_call, NULL, 1, 5, BENCH_MIN_REP_S, &med, &lo, &hi) == CG_ERR_NUMERIC,
          "a failing run stops the timing");
}

static void test_case_filter(void) {
    bench_options o = {1, 0, 1, {CG_GEMM_AUTO}, 1, NULL, NULL, 0};
    CHECK(bench_case_selected(&o, "D2 fwd"), "no filter selects everything");
    o.cases = "1024^3,D2";
    CHECK(bench_case_selected(&o, "1024^3") && bench_case_selected(&o, "D2 fwd") && bench_case_selected(&o, "D2 dW"),
          "named cases and layer prefixes are selected");
    CHECK(!bench_case_selected(&o, "2048^3") && !bench_case_selected(&o, "D3 fwd") && !bench_case_selected(&o, "D"),
          "other cases are not");
}

// The check behind every timed case: a correct product passes, a single wrong element does not.
static void test_check(cg_runtime *rt) {
    int count = 0;
    const bench_gemm_shape *s = &bench_gemm_shapes(1, &count)[1];
    bench_gemm_case *c = NULL;
    CHECK_OK(bench_gemm_case_create(rt, s, 3, &c));
    if (!c) return;
    double err = 1;
    CHECK_OK(bench_gemm_case_run(c));
    CHECK_OK(bench_gemm_case_check(c, 64, &err));
    float *ref = calloc(s->m * s->n, sizeof(float));
    cg_gemm_ref(s->ta, s->tb, s->m, s->n, s->k, 1.0f, bench_gemm_case_a(c), s->ta ? s->m : s->k, bench_gemm_case_b(c),
                s->tb ? s->k : s->n, 0.0f, ref, s->n);
    CHECK(bench_gemm_entry_err(s, bench_gemm_case_a(c), bench_gemm_case_b(c), ref, s->n, 2, 3) <
              bench_gemm_tolerance(s->k), "reference entry rejected");
    ref[2 * s->n + 3] += 0.5f;
    CHECK(bench_gemm_entry_err(s, bench_gemm_case_a(c), bench_gemm_case_b(c), ref, s->n, 2, 3) >
              bench_gemm_tolerance(s->k), "a wrong entry passes the check");
    ref[2 * s->n + 3] = NAN;
    CHECK(!(bench_gemm_entry_err(s, bench_gemm_case_a(c), bench_gemm_case_b(c), ref, s->n, 2, 3) <=
            bench_gemm_tolerance(s->k)), "NaN passes the check");
    free(ref);
    bench_gemm_case_free(c);
}

int main(void) {
    if (test_tmpdir(root, sizeof root, "test-bench") != 0) return 1;
    cg_runtime *rt = test_runtime();
    test_formats();
    test_timing();
    test_case_filter();
    test_check(rt);
    cg_runtime_free(rt);
    test_cli();
    if (!test_failures && test_rm_rf(root) != 0) fprintf(stderr, "note: could not remove %s\n", root);
    return test_finish("bench");
}
