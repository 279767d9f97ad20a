// parity_util.h — helpers shared by the PyTorch parity tests (test_parity.c, test_interop.c, test_gp.c):
// run tests/reference/<script> under $CLGAN_PYTHON (when Python or torch is missing the part is
// skipped through test_skip_part("torch"), so the test exits 77, or fails under CLGAN_REQUIRE), fetch
// golden tensors from safetensors, and compare within a tolerance relative to the golden tensor's
// largest magnitude.
#ifndef CLGAN_PARITY_UTIL_H
#define CLGAN_PARITY_UTIL_H

#include "nets.h"
#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

static inline const char *parity_python(void) {
    const char *py = getenv("CLGAN_PYTHON");
    return py && *py ? py : "/usr/bin/python3";
}

// Runs tests/reference/<script> with the arguments that follow (NULL-terminated, no shell); 0 ok,
// 77 skipped (recorded by test_skip_part, so the test's exit code says so), else a failure.
static inline int parity_run(const char *script, ...) {
    const char *py = parity_python();
    if (access(py, X_OK) != 0)
        return test_skip_part("torch", "%s: no Python interpreter at '%s' (CLGAN_PYTHON)", script, py);
    const char *src = getenv("CLGAN_SOURCE_DIR");
    char path[1200], shown[1200] = "";
    snprintf(path, sizeof path, "%s/tests/reference/%s", src && *src ? src : ".", script);
    const char *argv[TEST_MAX_ARGS + 3] = {py, path};
    int n = 2;
    va_list ap;
    va_start(ap, script);
    for (const char *a; n < TEST_MAX_ARGS + 2 && (a = va_arg(ap, const char *)); n++) {
        argv[n] = a;
        size_t used = strlen(shown);
        snprintf(shown + used, sizeof shown - used, " %s", a);
    }
    va_end(ap);
    argv[n] = NULL;
    int code = test_spawn(argv, NULL, NULL, NULL);
    if (code == TEST_SKIP || code == 127)
        return test_skip_part("torch", "%s: %s cannot run the reference (torch missing?)", script, py);
    CHECK(code == 0, "%s%s exited with %d", script, shown, code);
    return code;
}

// The golden tensor `name` (NULL and a failure when absent, unless optional).
static inline const float *golden(const cg_st_file *f, const char *name, size_t *numel, int optional) {
    const int *shape;
    int nd;
    const float *d;
    *numel = 0;
    if (cg_safetensors_get(f, name, &shape, &nd, &d) != CG_OK) {
        if (!optional) CHECK(0, "golden tensor %s missing: %s", name, cg_last_error());
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
    *numel = n;
    return d;
}

// max |a - b| / max |b| (max |b| floored at 1e-30); returns it and checks it against tol.
static inline double parity_compare(const char *what, const float *a, const float *b, size_t n, double tol) {
    double worst = 0, mag = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) mag = fmax(mag, fabs(b[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= worst)) worst = e, at = i;
    }
    double rel = worst / fmax(mag, 1e-30);
    CHECK(rel <= tol, "%s: [%zu] = %.9g, torch %.9g; max error %.3g of max |torch| %.3g (limit %.1g)", what, at,
          n ? a[at] : 0.0, n ? b[at] : 0.0, rel, mag, tol);
    fprintf(stderr, "  %-40s max |err| / max |torch| = %.2e (limit %.0e)\n", what, rel, tol);
    return rel;
}

// Device tensor t against golden data, relative to the golden's max magnitude.
static inline double parity_compare_dev(cg_runtime *rt, const char *what, cg_tensor t, const float *want, size_t n,
                                 double tol) {
    if (cg_numel(t) != n) {
        CHECK(0, "%s: %zu floats on the device, %zu in torch", what, cg_numel(t), n);
        return INFINITY;
    }
    float *h = malloc(n * sizeof *h);
    CHECK_OK(cg_tensor_read(rt, t, h));
    double r = parity_compare(what, h, want, n, tol);
    free(h);
    return r;
}

// Removes a temporary folder and everything in it.
static inline void parity_rmdir(const char *dir) {
    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif
