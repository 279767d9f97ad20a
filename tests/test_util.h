// test_util.h — the tiny harness every CTest executable uses: CHECK macros, a failure count, honest
// skips (exit 77 = CTest "skipped" when a dependency is missing, a failure when $CLGAN_REQUIRE names
// it), and the runtime on the default device.
#ifndef CLGAN_TEST_UTIL_H
#define CLGAN_TEST_UTIL_H

#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_SKIP 77

static int test_failures = 0;
static int test_checks = 0;
static int test_skipped = 0; // parts skipped for a missing dependency (test_skip_part)

#define CHECK(cond, ...)                                                                             \
    do {                                                                                             \
        test_checks++;                                                                               \
        if (!(cond)) {                                                                               \
            test_failures++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                            \
            fprintf(stderr, "\n");                                                                   \
        }                                                                                            \
    } while (0)

// A call that must succeed; on failure prints the status and detail and counts a failure.
#define CHECK_OK(expr)                                                                               \
    do {                                                                                             \
        cg_status st_ = (expr);                                                                      \
        CHECK(st_ == CG_OK, "%s -> %s: %s", #expr, cg_status_name(st_), cg_last_error());             \
    } while (0)

// A call that must fail with `want` and leave a detail containing `needle` (NULL: any detail).
#define CHECK_FAILS(expr, want, needle)                                                              \
    do {                                                                                             \
        cg_clear_error();                                                                            \
        cg_status st_ = (expr);                                                                      \
        const char *nd_ = (needle);                                                                  \
        CHECK(st_ == (want), "%s -> %s, expected %s (detail: %s)", #expr, cg_status_name(st_),        \
              cg_status_name(want), cg_last_error());                                                \
        CHECK(nd_ == NULL || strstr(cg_last_error(), nd_) != NULL,                                   \
              "%s: detail '%s' lacks '%s'", #expr, cg_last_error(), nd_ ? nd_ : "");                 \
    } while (0)

// Whether $CLGAN_REQUIRE (a comma list of dependency names, or "all") names dep.
static inline int test_required(const char *dep) {
    const char *req = getenv("CLGAN_REQUIRE");
    if (!req) return 0;
    size_t n = strlen(dep);
    for (const char *p = req; *p;) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        size_t len = (size_t)(e - p);
        if ((len == n && !strncmp(p, dep, n)) || (len == 3 && !strncmp(p, "all", 3))) return 1;
        p = e;
    }
    return 0;
}

// Reports a missing dependency ("opencl", "torch", "pytorch-fid", "torch-fidelity", "oclgrind",
// "data", "tensorboard"): SKIP and 1 normally, FAIL and 0 when required. The message is already formatted.
static inline int test_skip_report(const char *dep, const char *fmt, va_list ap) {
    int required = test_required(dep);
    if (required) fprintf(stderr, "FAIL: required dependency %s is missing: ", dep);
    else fprintf(stderr, "SKIP (%s): ", dep);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    return !required;
}

// The rest of the test cannot run without dep: exits 77 (skipped), or 1 when $CLGAN_REQUIRE names
// dep or when a check that ran before (a host-only one) failed.
__attribute__((format(printf, 2, 3))) static inline _Noreturn void test_skip(const char *dep, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int skip = test_skip_report(dep, fmt, ap);
    va_end(ap);
    if (test_failures) fprintf(stderr, "%d of %d checks failed before the skip\n", test_failures, test_checks);
    fflush(stdout);
    exit(skip && !test_failures ? TEST_SKIP : 1);
}

// A part of the test cannot run without dep: recorded so that test_finish returns 77 when nothing
// failed, or counted as a failure when $CLGAN_REQUIRE names dep. Returns TEST_SKIP.
__attribute__((format(printf, 2, 3))) static inline int test_skip_part(const char *dep, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int skip = test_skip_report(dep, fmt, ap);
    va_end(ap);
    if (skip) test_skipped++;
    else test_failures++;
    return TEST_SKIP;
}

// Runs argv[0] with argv through fork/execv (no shell, so any byte may be in an argument); stdout
// into out and stderr into err (NULL: inherited; "/dev/null" discards; err == out: both into one
// file), PYTHONPATH set to
// pythonpath when given. Returns the exit status, 128 + signal when killed, 127 when it cannot run.
static inline int test_spawn(const char *const *argv, const char *out, const char *err, const char *pythonpath) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        int e = err && out && !strcmp(err, out) ? o : err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        if (o >= 0) dup2(o, 1);
        if (e >= 0) dup2(e, 2);
        if (pythonpath) setenv("PYTHONPATH", pythonpath, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

#define TEST_MAX_ARGS 64

// test_spawn with the arguments given as a NULL-terminated list after prog.
static inline int test_run(const char *out, const char *err, const char *pythonpath, const char *prog, ...) {
    const char *argv[TEST_MAX_ARGS + 2] = {prog};
    int n = 1;
    va_list ap;
    va_start(ap, prog);
    for (const char *a; n <= TEST_MAX_ARGS && (a = va_arg(ap, const char *));) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return test_spawn(argv, out, err, pythonpath);
}

static inline int test_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

// Removes path and everything under it without a shell (links are removed, not followed); 0 when
// nothing of it remains.
static inline int test_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define TEST_TMPDIRS 8

// The scratch folders test_tmpdir made, and the process that made each (a forked child's exit
// leaves its parent's folders alone).
static char test_tmpdirs[TEST_TMPDIRS][1024];
static pid_t test_tmpdir_owner[TEST_TMPDIRS];
static int test_tmpdir_count = 0;

// At exit: removes this process's scratch folders, so that a test that skips (test_skip, exit 77)
// or passes leaves nothing behind; after a failed check they stay to be looked at.
static inline void test_tmpdir_cleanup(void) {
    if (test_failures) return;
    for (int i = 0; i < test_tmpdir_count; i++)
        if (test_tmpdir_owner[i] == getpid() && test_rm_rf(test_tmpdirs[i]) != 0)
            fprintf(stderr, "could not remove the scratch folder %s\n", test_tmpdirs[i]);
}

// Makes a new scratch folder "$TMPDIR/clgan-<name>-XXXXXX" (/tmp when TMPDIR is unset or empty),
// unique to this run (mkdtemp), in buf: never a fixed path that parallel runs from other build
// folders would share. 0 when made, else -1 after saying why. It is removed when the test exits
// without a failed check (test_tmpdir_cleanup), whether it passed or skipped.
static inline int test_tmpdir(char *buf, size_t len, const char *name) {
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(buf, len, "%s/clgan-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof test_tmpdirs[0]) {
        fprintf(stderr, "scratch folder name too long under '%s'\n", tmp);
        return -1;
    }
    if (test_tmpdir_count == TEST_TMPDIRS) {
        fprintf(stderr, "more than %d scratch folders in one test\n", TEST_TMPDIRS);
        return -1;
    }
    if (!mkdtemp(buf)) {
        fprintf(stderr, "cannot make the scratch folder %s: %s\n", buf, strerror(errno));
        return -1;
    }
    if (test_tmpdir_count == 0) atexit(test_tmpdir_cleanup);
    snprintf(test_tmpdirs[test_tmpdir_count], sizeof test_tmpdirs[0], "%s", buf);
    test_tmpdir_owner[test_tmpdir_count++] = getpid();
    return 0;
}

// What a reference script's exit 77 stands for: "torch" when py cannot import torch (with
// PYTHONPATH=pythonpath when given), else `other` (say "pytorch-fid"). Only asked after a 77.
static inline const char *test_missing_dep(const char *py, const char *pythonpath, const char *other) {
    int rc = test_run("/dev/null", "/dev/null", pythonpath ? pythonpath : "", py, "-c", "import torch", (char *)NULL);
    return rc == 0 ? other : "torch";
}

// The score tests' random-weights Inception stand-in, made the way a user makes real weights:
// tests/reference/score_cli_reference.py saves a .pth with pytorch-fid's names at pth, and
// tools/convert_inception_weights.py converts it to weights. 0: written; TEST_SKIP: torch or
// pytorch-fid is missing (recorded by test_skip_part); 1: a failure (already counted by CHECK).
static inline int test_inception_stand_in(const char *pth, const char *weights) {
    const char *py = getenv("CLGAN_PYTHON"), *src = getenv("CLGAN_SOURCE_DIR"), *deps = getenv("CLGAN_PYDEPS");
    if (!src || !*src) {
        CHECK(0, "CLGAN_SOURCE_DIR is not set (run through ctest)");
        return 1;
    }
    if (!py || !*py || access(py, X_OK) != 0)
        return test_skip_part("torch", "no Python interpreter at '%s' (CLGAN_PYTHON) for the Inception stand-in",
                              py ? py : "");
    if (!deps || !*deps || access(deps, R_OK) != 0)
        return test_skip_part("pytorch-fid", "CLGAN_PYDEPS is not set or not a folder (the Inception stand-in)");
    char script[4096], convert[4096];
    snprintf(script, sizeof script, "%s/tests/reference/score_cli_reference.py", src);
    snprintf(convert, sizeof convert, "%s/tools/convert_inception_weights.py", src);
    int rc = test_run(NULL, NULL, deps, py, script, pth, (char *)NULL);
    if (rc == TEST_SKIP)
        return test_skip_part(test_missing_dep(py, deps, "pytorch-fid"),
                              "score_cli_reference.py lacks torch, torchvision or pytorch_fid");
    CHECK(rc == 0, "score_cli_reference.py %s exited with %d", pth, rc);
    if (rc == 0) {
        rc = test_run(NULL, NULL, NULL, py, convert, pth, weights, (char *)NULL);
        CHECK(rc == 0, "convert_inception_weights.py %s %s exited with %d", pth, weights, rc);
    }
    return rc == 0 ? 0 : 1;
}

// Opens the runtime on the default device (CLGAN_DEVICE honoured); exits 77 when none exists.
static inline cg_runtime *test_runtime(void) {
    cg_device_info *devs = NULL;
    int count = 0;
    if (cg_devices_list(&devs, &count) != CG_OK || count == 0) {
        test_skip("opencl", "no OpenCL device available (%s)", cg_last_error());
    }
    cg_device_selector sel = {0};
    char storage[256];
    const char *env = getenv("CLGAN_DEVICE");
    if (env && *env && cg_selector_parse(env, &sel, storage, sizeof storage) != CG_OK) {
        fprintf(stderr, "bad CLGAN_DEVICE: %s\n", cg_last_error());
        exit(1);
    }
    int picked = -1;
    if (cg_device_select(devs, count, &sel, &picked) != CG_OK) {
        fprintf(stderr, "device selection failed: %s\n", cg_last_error());
        exit(1);
    }
    cg_runtime *rt = NULL;
    if (cg_runtime_create(&devs[picked], NULL, &rt) != CG_OK) {
        fprintf(stderr, "runtime creation failed: %s\n", cg_last_error());
        exit(1);
    }
    fprintf(stderr, "device: %s (%s)\n", devs[picked].name, devs[picked].platform_name);
    free(devs);
    return rt;
}

// The exit code: 1 when a check failed, 77 when all passed but a part was skipped, else 0.
static inline int test_finish(const char *name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, test_failures, test_checks);
        return 1;
    }
    if (test_skipped) {
        printf("%s: all %d checks passed; %d part(s) skipped for a missing dependency\n", name, test_checks,
               test_skipped);
        return TEST_SKIP;
    }
    printf("%s: all %d checks passed\n", name, test_checks);
    return 0;
}

#endif
