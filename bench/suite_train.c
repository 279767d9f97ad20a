// suite_train.c — the train suite: one training iteration of the trainer itself (one critic step with
// its clipping or gradient penalty, one generator step, optimizer updates) per model type through
// bench_train_iteration (train_iteration.c), which checks the losses are finite before timing. The dcgan
// and wgan-gp rows carry PyTorch's time for the same iteration (bench/peers.py through bench_python.c)
// as their reference, or the reason it is missing.
#include "bench.h"
#include "dist.h"

#include <stdlib.h>
#include <string.h>

static const char *row_name(const cg_model_config *mc) { return cg_model_type_name(mc->type); }

static cg_status bench_type(cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                            const bench_options *opt, bench_report *rep) {
    bench_row *row = bench_train_row(rep, rt, device_index, mc, batch, NULL, "nets", opt->reps);
    if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_bench_iter it;
    memset(&it, 0, sizeof it);
    cg_kernel_profile prof = {0};
    cg_status st = bench_train_iteration_profiled(rt, mc, batch, opt->reps, &it, opt->profile ? &prof : NULL);
    if (st == CG_OK && opt->profile) st = bench_report_add_profile(rep, "train", row_name(mc), &prof);
    cg_kernel_profile_free(&prof);
    // The warm-up iteration is the check (finite losses); only it can fail with CG_ERR_NUMERIC.
    row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
    if (st == CG_OK) {
        row->median_s = it.median_ms * 1e-3;
        row->min_s = it.min_ms * 1e-3;
        row->max_s = row->median_s; // the entry point reports median and min only
        snprintf(row->status, sizeof row->status, "ok");
    } else {
        snprintf(row->status, sizeof row->status, "failed: %s", cg_last_error());
    }
    if (opt->log)
        fprintf(opt->log, "train %-8s %-40s %8.1f ms/iter %8.1f images/s  %s\n", row->name, row->shape,
                row->median_s * 1e3, bench_row_rate(row), row->status);
    return st == CG_ERR_NOMEM ? st : CG_OK;
}

// PyTorch's same iteration (bench/peers.py train MODEL) as the row's reference, or the reason it is
// missing. Only DCGAN and WGAN-GP have a PyTorch peer.
static void add_torch(bench_row *row, cg_model_type type, const bench_options *opt) {
    const char *model = type == CG_MODEL_DCGAN ? "dcgan" : "wgan-gp";
    bench_peer peer;
    if (opt->quick) {
        bench_peer_skip_note(row, "pytorch", "quick shapes differ from the PyTorch DCGAN");
    } else {
        char reps[16];
        snprintf(reps, sizeof reps, "%d", opt->reps);
        const char *args[] = {"train", model, reps, NULL};
        if (bench_peer_run("bench/peers.py", args, &peer)) bench_peer_apply(row, "pytorch", &peer, 1.0);
        else bench_peer_skip_note(row, "pytorch", peer.skip);
    }
    if (!opt->log) return;
    if (row->ref_name[0])
        fprintf(opt->log, "train %s pytorch %.1f ms/iter, clgan/pytorch rate %.2f\n", model, row->ref_median_s * 1e3,
                bench_row_ratio(row));
    else
        fprintf(opt->log, "train %s: %s\n", model, row->ref_skip);
}

// One case: the row, then PyTorch's time as its reference where there is a peer and the row is ok.
static cg_status run_case(cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                          const bench_options *opt, bench_report *rep) {
    CG_TRY(bench_type(rt, device_index, mc, batch, opt, rep));
    bench_row *row = &rep->rows[rep->n_rows - 1];
    if ((mc->type == CG_MODEL_DCGAN || mc->type == CG_MODEL_WGAN_GP) && !strcmp(row->status, "ok"))
        add_torch(row, mc->type, opt);
    return CG_OK;
}

static cg_status run_train(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    if (cg_dist_size() > 1) return bench_train_mpi(rt, device_index, opt, rep); // suite_train_mpi.c
    return bench_train_cases(rt, device_index, opt, rep, run_case);
}

static int train_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_train = {
    "train",
    "one trainer iteration (one critic step with clipping or penalty, one generator step, optimizer updates) per "
    "model type, DCGAN 64x64 batch 64: ms and "
    "images/s; dcgan against PyTorch's same iteration on the CPU when torch is importable",
    train_available,
    run_train,
};
