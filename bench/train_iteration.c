// train_iteration.c — the train suite's timed unit: one iteration of the trainer itself
// (cg_trainer_iterate, the code `clgan train` runs) with one critic step and one generator step, on
// random in-memory images. The first iteration is the check: its losses are read back and must be
// finite (the trainer fails with CG_ERR_NUMERIC otherwise); the timed ones end with cg_runtime_finish.
#include "bench.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    cg_trainer *t;
    cg_runtime *rt;
} iteration_call;

static cg_status one_iteration(void *arg) {
    iteration_call *c = arg;
    CG_TRY(cg_trainer_iterate(c->t, 0));
    return cg_runtime_finish(c->rt);
}

// 2 * batch images [C, S, S] uniform in [-1, 1) from a fixed host Philox stream.
static cg_status random_images(const cg_model_config *mc, int batch, cg_data_source **out) {
    int count = 2 * batch, side = mc->image_size;
    size_t n = (size_t)count * mc->channels * side * side;
    float *x = malloc(n * sizeof *x);
    if (!x) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_rng r = {1, 100};
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * cg_rng_uniform_at(r, i) - 1.0f;
    cg_status st = cg_data_memory_create(x, count, mc->channels, side, side, out);
    free(x);
    return st;
}

cg_status bench_train_iteration_profiled(cg_runtime *rt, const cg_model_config *mc, int batch, int reps,
                                         cg_bench_iter *out, cg_kernel_profile *prof) {
    if (batch < 2 || reps < 1) return cg_fail(CG_ERR_INVALID_ARG, "bench: batch %d (at least 2), reps %d", batch, reps);
    cg_config *cfg = cg_config_empty();
    cg_ctx ctx = {rt, {0}};
    cg_data_source *data = NULL;
    cg_trainer *t = NULL;
    cg_train_params p;
    cg_status st = cfg ? cg_train_params_read(cfg, mc, &p) : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK) {
        p.batch_size = batch;
        p.n_critic = p.n_critic_warmup = 1; // the unit timed: one critic step and one generator step
        p.warmup_steps = p.warmup_every = 0;
        p.quiet = 1;
        st = random_images(mc, batch, &data);
    }
    if (st == CG_OK) st = cg_trainer_create(&ctx, &p, mc, NULL, NULL, data, NULL, &t);
    iteration_call call = {t, rt};
    if (st == CG_OK) st = cg_trainer_iterate(t, 1); // the check: finite losses
    double median = 0, min = 0, max = 0;
    if (st == CG_OK) st = bench_time(one_iteration, &call, 0, reps, &median, &min, &max);
    if (st == CG_OK) *out = (cg_bench_iter){mc->type, batch, mc->image_size, 1e3 * median, 1e3 * min, batch / median};
    if (st == CG_OK && prof) {
        st = cg_profile_begin(rt);
        if (st == CG_OK) {
            cg_status ist = CG_OK;
            for (int i = 0; i < reps && ist == CG_OK; i++) ist = one_iteration(&call);
            st = cg_profile_end(rt, prof);
            prof->iterations = reps;
            if (ist != CG_OK) st = ist;
        }
    }
    cg_trainer_free(t);
    cg_data_source_free(data);
    cg_workspace_free(&ctx.ws);
    cg_config_free(cfg);
    return st;
}

cg_status bench_train_iteration(cg_runtime *rt, const cg_model_config *mc, int batch, int reps, cg_bench_iter *out) {
    return bench_train_iteration_profiled(rt, mc, batch, reps, out, NULL);
}
