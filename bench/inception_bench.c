// inception_bench.c — images per second of the Inception-v3 forward pass to pool3 features (random
// or given weights), after checking that every feature of a first pass is finite.
#include "bench.h"
#include "inception.h"

#include <math.h>
#include <stdlib.h>

cg_status cg_inception_bench_profiled(cg_runtime *rt, const char *weights, int batch, int reps, double *images_per_s,
                                      cg_kernel_profile *prof) {
    *images_per_s = 0;
    cg_inception *net = NULL;
    CG_TRY(cg_inception_create(rt, batch, &net));
    cl_mem in = NULL;
    float *pool = malloc((size_t)batch * CG_INCEPTION_FEATURES * sizeof *pool);
    cg_status st = pool ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK) st = weights ? cg_inception_load(net, weights) : cg_inception_random(net, 1);
    size_t per = (size_t)3 * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE;
    if (st == CG_OK) st = cg_buffer_alloc(rt, per * batch, &in);
    cg_tensor x = cg_view(in, 0, batch, 3, CG_INCEPTION_SIZE, CG_INCEPTION_SIZE);
    if (st == CG_OK) st = cg_rng_uniform(rt, (cg_rng){3, 0}, 0, x, -1.0f, 1.0f);
    if (st == CG_OK) st = cg_inception_forward(net, x, pool, NULL, NULL);
    for (size_t i = 0; st == CG_OK && i < (size_t)batch * CG_INCEPTION_FEATURES; i++)
        if (!isfinite(pool[i])) st = cg_fail(CG_ERR_NUMERIC, "inception bench: feature %zu is not finite", i);
    double best = 0;
    for (int r = 0; st == CG_OK && r < (reps < 1 ? 1 : reps); r++) {
        double t0 = cg_now_s();
        st = cg_inception_forward(net, x, pool, NULL, NULL);
        double dt = cg_now_s() - t0;
        if (st == CG_OK && (best == 0 || dt < best)) best = dt;
    }
    if (st == CG_OK) *images_per_s = batch / best;
    if (st == CG_OK && prof) {
        st = cg_profile_begin(rt);
        if (st == CG_OK) {
            cg_status fst = cg_inception_forward(net, x, pool, NULL, NULL);
            st = cg_profile_end(rt, prof);
            if (fst != CG_OK) st = fst;
        }
    }
    free(pool);
    if (in) cg_buffer_release(in);
    cg_inception_free(net);
    return st;
}

cg_status cg_inception_bench(cg_runtime *rt, const char *weights, int batch, int reps, double *images_per_s) {
    return cg_inception_bench_profiled(rt, weights, batch, reps, images_per_s, NULL);
}
