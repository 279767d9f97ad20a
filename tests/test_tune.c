// test_tune.c — per-device GEMM tuning: the stored file round-trips; corrupt, truncated and
// malformed files are refused; a runtime applies its device's entry at creation and keeps the
// defaults (with a warning) for a corrupt file or another device's entry; a quick tune checks
// every candidate and yields a complete entry. Nothing here depends on speed.
#include "bench.h"
#include "test_util.h"

#include <unistd.h>

static char root[256];

static void file_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", root, name); }

static void design_params(cg_gemm_tuning *t) {
    static const char *const names[] = {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
                                        "NDIMC", "NWG",  "SA",  "SB",  "STRM",  "STRN",  "VWM", "VWN"};
    static const size_t values[] = {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4};
    t->n_params = 16;
    for (int i = 0; i < 16; i++) {
        snprintf(t->params[i].name, sizeof t->params[i].name, "Xgemm.%s", names[i]);
        t->params[i].value = values[i];
    }
}

static int same(const cg_gemm_tuning *a, const cg_gemm_tuning *b) {
    if (strcmp(a->device, b->device) || strcmp(a->driver, b->driver) || strcmp(a->platform, b->platform) ||
        a->own_enabled != b->own_enabled || a->own_min_mnk != b->own_min_mnk || a->own_lx != b->own_lx ||
        a->own_ly != b->own_ly || a->own_kc != b->own_kc || a->n_params != b->n_params || strcmp(a->note, b->note))
        return 0;
    for (int i = 0; i < a->n_params; i++)
        if (strcmp(a->params[i].name, b->params[i].name) || a->params[i].value != b->params[i].value) return 0;
    return 1;
}

static void write_text(const char *path, const char *text) {
    CHECK_OK(cg_write_file_atomic(path, text, strlen(text)));
}

static void test_storage(const cg_device_info *dev) {
    cg_gemm_tuning t, back;
    cg_gemm_tuning_init(dev, &t);
    CHECK(cg_gemm_tuning_matches(&t, dev), "a fresh entry matches its device");
    design_params(&t);
    t.own_enabled = 1;
    t.own_min_mnk = 262144;
    t.own_lx = 16;
    t.own_ly = 4;
    t.own_kc = 768;
    snprintf(t.note, sizeof t.note, "measured: 1024^3 = 65.0 GFLOP/s");
    char path[400];
    file_path(path, sizeof path, "sub/dir/t.txt");
    CHECK_OK(cg_gemm_tuning_save(path, &t));
    CHECK_OK(cg_gemm_tuning_load(path, &back));
    CHECK(same(&t, &back), "round trip changed the entry");
    t.own_min_mnk = INFINITY; // "never": the own kernels stay off for every size
    CHECK_OK(cg_gemm_tuning_save(path, &t));
    CHECK_OK(cg_gemm_tuning_load(path, &back));
    CHECK(isinf(back.own_min_mnk), "infinite threshold round trip: %g", back.own_min_mnk);

    char *text = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(path, &text, &len));
    char bad[400];
    file_path(bad, sizeof bad, "bad.txt");
    char *flip = text ? strstr(text, "own.lx = 16") : NULL;
    if (flip) {
        flip[9] = '3'; // own.lx = 36: the content no longer matches its checksum
        write_text(bad, text);
        CHECK_FAILS(cg_gemm_tuning_load(bad, &back), CG_ERR_FORMAT, "checksum");
        flip[9] = '1';
    }
    if (text) {
        text[len / 2] = '\0';
        write_text(bad, text);
        CHECK_FAILS(cg_gemm_tuning_load(bad, &back), CG_ERR_FORMAT, "truncated");
    }
    free(text);
    // A well-formed checksum over an unknown key is still refused.
    const char *body = "version = 1\ndevice = x\nbogus.key = 3\n";
    char forged[256];
    snprintf(forged, sizeof forged, "%schecksum = %016llx\n", body,
             (unsigned long long)cg_fnv1a64(body, strlen(body), CG_FNV_INIT));
    write_text(bad, forged);
    CHECK_FAILS(cg_gemm_tuning_load(bad, &back), CG_ERR_FORMAT, "line 3");
    file_path(bad, sizeof bad, "missing.txt");
    CHECK_FAILS(cg_gemm_tuning_load(bad, &back), CG_ERR_NOT_FOUND, "missing.txt");
}

static void describe(cg_runtime *rt, char *buf, size_t len) { cg_gemm_describe(rt, buf, len); }

// Writes t where runtimes look for this device's entry, then creates a runtime; it must not fail.
static cg_runtime *runtime_with(const cg_device_info *dev, const char *path, const cg_gemm_tuning *t,
                                const char *raw) {
    if (t) CHECK_OK(cg_gemm_tuning_save(path, t));
    if (raw) write_text(path, raw);
    cg_runtime *rt = NULL;
    CHECK_OK(cg_runtime_create(dev, NULL, &rt));
    return rt;
}

static void test_hook(cg_runtime *rt) {
    const cg_device_info *dev = cg_runtime_device(rt);
    char path[1100], text[800];
    cg_gemm_tuning_path(rt, path, sizeof path);
    const char *dir = cg_runtime_cache_dir(rt);
    CHECK(!strncmp(path, dir, strlen(dir)), "%s is not in the cache dir", path);

    cg_gemm_tuning t;
    cg_gemm_tuning_init(dev, &t);
    t.own_enabled = 1;
    t.own_min_mnk = 12345;
    t.own_lx = 4;
    t.own_ly = 2;
    t.own_kc = 96;
    cg_runtime *r = runtime_with(dev, path, &t, NULL);
    describe(r, text, sizeof text);
    CHECK(strstr(text, "12345") && strstr(text, "4x2") && strstr(text, "k blocks of 96") && strstr(text, path),
          "entry not applied: %s", text);
    CHECK(cg_gemm_pick(r, 10, 10, 10) == CG_GEMM_CLBLAST && cg_gemm_pick(r, 100, 100, 100) == CG_GEMM_OWN,
          "the own-kernel threshold is not used");
    cg_runtime_free(r);

    r = runtime_with(dev, path, NULL, "version = 1\ndevice = x\nchecksum = 0000000000000000\n");
    describe(r, text, sizeof text);
    CHECK(strstr(text, "defaults") != NULL, "a corrupt entry was applied: %s", text);
    cg_runtime_free(r);

    cg_gemm_tuning foreign = t;
    snprintf(foreign.device, sizeof foreign.device, "some other device");
    r = runtime_with(dev, path, &foreign, NULL);
    describe(r, text, sizeof text);
    CHECK(strstr(text, "defaults") != NULL, "another device's entry was applied: %s", text);
    CHECK_FAILS(cg_gemm_tuning_set(r, &foreign, "test"), CG_ERR_INVALID_ARG, "does not match");
    cg_runtime_free(r);

    // CLBlast refuses a partial parameter set: creation still succeeds, the rest applies.
    cg_gemm_tuning partial = t;
    partial.n_params = 1;
    snprintf(partial.params[0].name, sizeof partial.params[0].name, "Xgemm.MWG");
    partial.params[0].value = 64;
    r = runtime_with(dev, path, &partial, NULL);
    CHECK_FAILS(cg_gemm_tuning_set(r, &partial, "test"), CG_ERR_CLBLAST, "Xgemm");
    cg_runtime_free(r);

    // A complete Xgemm set is applied, and CLBlast products stay correct with it. (Direct and
    // routine parameters as the quick tune below starts, so CLBlast compiles its program once.)
    design_params(&t);
    static const char *const direct[] = {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                         "PADA", "PADB",   "VWMD",   "VWND",   "WGD"};
    static const size_t direct_values[] = {2, 8, 8, 8, 8, 0, 0, 4, 4, 32};
    int cpu = (dev->type & CL_DEVICE_TYPE_CPU) != 0;
    for (int i = 0; cpu && i < 10; i++) {
        snprintf(t.params[t.n_params].name, sizeof t.params[0].name, "XgemmDirect.%s", direct[i]);
        t.params[t.n_params++].value = direct_values[i];
    }
    if (cpu) {
        snprintf(t.params[t.n_params].name, sizeof t.params[0].name, "GemmRoutine.XGEMM_MIN_INDIRECT_SIZE");
        t.params[t.n_params++].value = 1;
    }
    r = runtime_with(dev, path, &t, NULL);
    int count = 0;
    const bench_gemm_shape *s = &bench_gemm_shapes(1, &count)[0];
    bench_gemm_case *c = NULL;
    double err = 1;
    CHECK_OK(bench_gemm_case_create(r, s, 9, &c));
    cg_gemm_force(r, CG_GEMM_CLBLAST);
    if (c) CHECK_OK(bench_gemm_case_run(c));
    if (c) CHECK_OK(bench_gemm_case_check(c, 64, &err));
    bench_gemm_case_free(c);
    cg_runtime_free(r);
    unlink(path);
}

static void test_quick_tune(cg_runtime *rt) {
    bench_tune_options o = {1, 64, 1, NULL, NULL};
    bench_tune_summary sum;
    cg_gemm_tuning t, back;
    CHECK_OK(bench_tune(rt, &o, &t, &sum));
    CHECK(sum.candidates >= 3 && sum.valid + sum.rejected == sum.candidates && sum.valid >= 1,
          "candidates %d, valid %d, rejected %d", sum.candidates, sum.valid, sum.rejected);
    CHECK(cg_gemm_tuning_matches(&t, cg_runtime_device(rt)), "the tuned entry carries another key");
    CHECK(t.n_params == 16 + 10 + 1, "%d CLBlast parameters", t.n_params);
    CHECK(t.own_lx >= 1 && t.own_ly >= 1 && t.own_kc >= 0, "own work-group %dx%d, k block %d", t.own_lx, t.own_ly,
          t.own_kc);
    char path[400];
    file_path(path, sizeof path, "tuned.txt");
    CHECK_OK(cg_gemm_tuning_save(path, &t));
    CHECK_OK(cg_gemm_tuning_load(path, &back));
    CHECK(same(&t, &back), "tuned entry round trip");
    CHECK_OK(cg_gemm_tuning_set(rt, &back, path));
}

int main(void) {
    if (test_tmpdir(root, sizeof root, "test-tune") != 0) return 1;
    cg_runtime *rt = test_runtime();
    test_storage(cg_runtime_device(rt));
    test_hook(rt);
    test_quick_tune(rt);
    cg_runtime_free(rt);
    if (!test_failures && test_rm_rf(root) != 0) fprintf(stderr, "note: could not remove %s\n", root);
    return test_finish("tune");
}
