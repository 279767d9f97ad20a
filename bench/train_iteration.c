// train_iteration.c — the train suite's timed unit: one iteration of the trainer itself
// (cg_trainer_iterate, the code `clgan train` runs) with one critic step and one generator step, on
// random in-memory images. The first iteration is the check: its losses are read back and must be
// finite (the trainer fails with CG_ERR_NUMERIC otherwise); the timed ones end with cg_runtime_finish.
// Also the train suite's case list and row header, which its single-process and MPI bodies share.
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
    if (st == CG_OK) st = bench_time(one_iteration, &call, 0, reps, 0, &median, &min, &max);
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

static const cg_model_type train_types[] = {CG_MODEL_DCGAN, CG_MODEL_WGAN, CG_MODEL_WGAN_GP, CG_MODEL_VANILLA};

cg_status bench_train_cases(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep,
                            bench_train_case run) {
    cg_model_config mc = {CG_MODEL_DCGAN, 64, 3, 100, 64, 64};
    int batch = 64;
    if (opt->quick) {
        mc.image_size = 32;
        mc.ngf = mc.ndf = 8;
        batch = 2;
    }
    for (size_t i = 0; i < sizeof train_types / sizeof train_types[0]; i++) {
        mc.type = train_types[i];
        if (!bench_case_selected(opt, cg_model_type_name(mc.type))) continue;
        CG_TRY(run(rt, device_index, &mc, batch, opt, rep));
    }
    return CG_OK;
}

bench_row *bench_train_row(bench_report *rep, cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                           const char *suffix, const char *impl, int reps) {
    bench_row *row = bench_report_add(rep);
    if (!row) return NULL;
    snprintf(row->suite, sizeof row->suite, "train");
    snprintf(row->name, sizeof row->name, "%s%s%s", cg_model_type_name(mc->type), suffix ? " " : "",
             suffix ? suffix : "");
    snprintf(row->shape, sizeof row->shape, "%dx%d batch %d nz %d ngf %d ndf %d", mc->image_size, mc->image_size,
             batch, mc->nz, mc->ngf, mc->ndf);
    snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
    row->device_index = device_index;
    snprintf(row->impl, sizeof row->impl, "%s", impl);
    row->reps = reps;
    row->work = batch;
    snprintf(row->unit, sizeof row->unit, "images/s");
    return row;
}
