// layer_test_util.h — what the layer tests (test_conv.c, test_linear.c) share: quick mode, random
// host data, device buffers bound to a layer's parameters, and the two comparisons: device floats
// against a double reference with an error bound, and an analytic gradient against central
// differences of a double loss.
#ifndef CLGAN_LAYER_TEST_UTIL_H
#define CLGAN_LAYER_TEST_UTIL_H

#include "nets.h"
#include "test_util.h"

#include <stdint.h>

// CLGAN_TEST_QUICK=1 (the Oclgrind run): small shapes only.
static inline int lt_quick(void) {
    const char *q = getenv("CLGAN_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static inline float lt_rand(uint32_t *s) { // uniform in [-1, 1)
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) / 8388608.0 - 1.0);
}

static inline float *lt_random(size_t n, uint32_t seed) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = lt_rand(&seed);
    return a;
}

static inline double *lt_to_double(const float *a, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

// Sets every element of t to value. Written from the host rather than with cg_tensor_fill:
// Oclgrind does not count memory set by clEnqueueFillBuffer as initialised, and a kernel that
// then reads it (a GEMM with beta = 1 accumulating into a zeroed gradient) would be reported.
static inline void lt_set(cg_runtime *rt, cg_tensor t, float value) {
    size_t n = cg_numel(t);
    float *h = malloc((n ? n : 1) * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = value;
    CHECK_OK(cg_tensor_write(rt, t, h));
    free(h);
}

// A device buffer of n floats: a copy of host, or every element `fill` when host is NULL.
static inline cl_mem lt_buffer(cg_runtime *rt, size_t n, const float *host, float fill) {
    cl_mem b = NULL;
    CHECK_OK(cg_buffer_alloc(rt, n, &b));
    if (!b) exit(1);
    cg_tensor t = cg_view(b, 0, 1, 1, 1, (int)n);
    if (host) CHECK_OK(cg_tensor_write(rt, t, host));
    else lt_set(rt, t, fill);
    return b;
}

static inline float *lt_read(cg_runtime *rt, cl_mem b, size_t n) {
    float *h = malloc((n ? n : 1) * sizeof *h);
    CHECK_OK(cg_tensor_read(rt, cg_view(b, 0, 1, 1, 1, (int)n), h));
    return h;
}

// Each parameter of a layer in its own value and gradient buffers (the container's job in a net).
typedef struct {
    cl_mem *w, *dw; // n_params each
} lt_params;

// Binds parameter i to a copy of values[i]; gradients start at zero.
static inline void lt_bind(cg_runtime *rt, cg_layer *l, float *const values[], lt_params *p) {
    p->w = calloc((size_t)l->n_params + 1, sizeof *p->w);
    p->dw = calloc((size_t)l->n_params + 1, sizeof *p->dw);
    for (int i = 0; i < l->n_params; i++) {
        int n = (int)cg_param_numel(&l->params[i]);
        p->w[i] = lt_buffer(rt, (size_t)n, values[i], 0.0f);
        p->dw[i] = lt_buffer(rt, (size_t)n, NULL, 0.0f);
        l->params[i].w = cg_view(p->w[i], 0, 1, 1, 1, n);
        l->params[i].dw = cg_view(p->dw[i], 0, 1, 1, 1, n);
    }
}

static inline void lt_zero_grads(cg_runtime *rt, cg_layer *l) {
    for (int i = 0; i < l->n_params; i++) lt_set(rt, l->params[i].dw, 0.0f);
}

static inline void lt_release(const cg_layer *l, lt_params *p) {
    for (int i = 0; i < l->n_params; i++) {
        cg_buffer_release(p->w[i]);
        cg_buffer_release(p->dw[i]);
    }
    free(p->w);
    free(p->dw);
}

// Device result against a double reference: |dev - ref| <= rtol * bound + atol, where bound is
// the sum of the magnitudes of the terms that make up ref (float rounding grows with it).
static inline void lt_compare(const char *label, const char *what, const float *dev, const double *ref,
                              const double *bound, size_t n, double rtol, double atol) {
    size_t bad = 0, worst_i = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)dev[i] - ref[i]), tol = rtol * bound[i] + atol;
        if (!(err <= tol)) bad++;
        double ratio = err / tol;
        if (!(ratio <= worst)) worst = ratio, worst_i = i;
    }
    CHECK(bad == 0, "%s: %s: %zu of %zu elements off; worst [%zu] device %.9g reference %.9g (error %.3g of tolerance)",
          label, what, bad, n, worst_i, n ? (double)dev[worst_i] : 0.0, n ? ref[worst_i] : 0.0, worst);
}

// Checks grad (analytic dL/dv) against central differences of loss(ctx) in double precision, on at
// most max_coords coordinates of v spread over the tensor. The losses tested are linear in each
// single coordinate, so the differences are exact up to rounding: tolerance 1e-8 * (1 + |g|).
typedef double (*lt_loss_fn)(void *ctx);
static inline void lt_fd_check(const char *label, const char *what, double *v, size_t n, const double *grad,
                               lt_loss_fn loss, void *ctx, size_t max_coords) {
    const double h = 1e-3;
    size_t step = n > max_coords ? (n + max_coords - 1) / max_coords : 1, bad = 0, checked = 0;
    double worst = 0;
    for (size_t j = (n / 3) % step; j < n; j += step) {
        double keep = v[j];
        v[j] = keep + h;
        double lp = loss(ctx);
        v[j] = keep - h;
        double lm = loss(ctx);
        v[j] = keep;
        double fd = (lp - lm) / (2 * h), err = fabs(fd - grad[j]) / (1 + fabs(grad[j]));
        if (!(err <= 1e-8)) bad++;
        if (err > worst) worst = err;
        checked++;
    }
    CHECK(bad == 0 && checked > 0, "%s: host gradient %s disagrees with central differences at %zu of %zu points "
                                   "(worst relative error %.3g)", label, what, bad, checked, worst);
}

#endif
