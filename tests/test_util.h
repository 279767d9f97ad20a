// test_util.h — the tiny harness every CTest executable uses: CHECK macros, a failure count, and
// the runtime on the default device (exit 77 = CTest "skipped" only when no OpenCL device exists).
#ifndef CLGAN_TEST_UTIL_H
#define CLGAN_TEST_UTIL_H

#include "runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SKIP 77

static int test_failures = 0;
static int test_checks = 0;

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

// Opens the runtime on the default device (CLGAN_DEVICE honoured); exits 77 when none exists.
static inline cg_runtime *test_runtime(void) {
    cg_device_info *devs = NULL;
    int count = 0;
    if (cg_devices_list(&devs, &count) != CG_OK || count == 0) {
        fprintf(stderr, "SKIP: no OpenCL device available (%s)\n", cg_last_error());
        exit(TEST_SKIP);
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

static inline int test_finish(const char *name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, test_failures, test_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, test_checks);
    return 0;
}

#endif
