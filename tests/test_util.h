// test_util.h — the tiny harness every CTest executable uses: CHECK macros, a failure count, honest
// skips (exit 77 = CTest "skipped" when a dependency is missing, a failure when $CLGAN_REQUIRE names
// it), and the runtime on the default device.
#ifndef CLGAN_TEST_UTIL_H
#define CLGAN_TEST_UTIL_H

#include "runtime.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
// "data"): SKIP and 1 normally, FAIL and 0 when required. The message is already formatted.
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

// What a reference script's exit 77 stands for: "torch" when py cannot import torch (with
// PYTHONPATH=pythonpath when given), else `other` (say "pytorch-fid"). Only asked after a 77.
static inline const char *test_missing_dep(const char *py, const char *pythonpath, const char *other) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "PYTHONPATH='%s' '%s' -c 'import torch' >/dev/null 2>&1", pythonpath ? pythonpath : "",
             py);
    return system(cmd) == 0 ? other : "torch";
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
