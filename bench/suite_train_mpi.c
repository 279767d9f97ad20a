// suite_train_mpi.c — the train suite under mpirun (docs/distributed.md): per model type, rank 0
// first times the trainer's iteration alone (solo, the others waiting idle) at the per-rank batch,
// then every rank times the same iteration data-parallel with the global batch = ranks x that batch
// (gradient allreduce, SyncBN). Rows, the same on every rank (rank 0 writes them): "1 rank", each
// rank's own images/s (reference: the single rank, ratio = its efficiency), and the total images/s
// with "N x 1 rank" as the reference, so the ratio column is the scaling efficiency.
#include "bench.h"
#include "dist.h"

#include <stdlib.h>
#include <string.h>

static bench_row *add_row(bench_report *rep, cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                          const char *name, int reps) {
    bench_row *row = bench_train_row(rep, rt, device_index, mc, batch, name, "nets+mpi", reps);
    if (!row) return NULL;
    row->checked = 1; // bench_train_iteration's first iteration: finite losses
    snprintf(row->status, sizeof row->status, "ok");
    return row;
}

static cg_status bench_type(cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                            const bench_options *opt, bench_report *rep) {
    int ranks = cg_dist_size(), rank = cg_dist_rank(), lead = rank == 0;
    char name[64];
    // 1. Rank 0 alone, at the per-rank batch.
    cg_bench_iter one = {0};
    cg_status st = CG_OK;
    if (lead) {
        cg_dist_set_solo(1);
        st = bench_train_iteration(rt, mc, batch, opt->reps, &one);
        cg_dist_set_solo(0);
    }
    CG_TRY(cg_dist_barrier_idle());
    int stop = 0, failed = -1;
    st = cg_dist_agree(st, &stop, &failed);
    double t1[2] = {one.median_ms * 1e-3, one.min_ms * 1e-3};
    if (st == CG_OK) st = cg_dist_bcast(t1, sizeof t1, 0);
    bench_row *row = add_row(rep, rt, device_index, mc, batch, "1 rank", opt->reps);
    if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st != CG_OK) {
        row->checked = st == CG_ERR_NUMERIC;
        snprintf(row->status, sizeof row->status, "failed: %s", cg_last_error());
        return st == CG_ERR_NOMEM ? st : CG_OK;
    }
    row->median_s = row->max_s = t1[0];
    row->min_s = t1[1];
    if (opt->log && lead)
        fprintf(opt->log, "train %-8s 1 rank alone  %8.1f ms/iter %8.1f images/s\n", cg_model_type_name(mc->type),
                t1[0] * 1e3, batch / t1[0]);

    // 2. Every rank, data-parallel; a failure here ends the job (the others may sit in a collective).
    cg_bench_iter all = {0};
    CG_TRY(bench_train_iteration(rt, mc, batch * ranks, opt->reps, &all));
    double mine[2] = {all.median_ms * 1e-3, all.min_ms * 1e-3};
    double *times = malloc((size_t)ranks * sizeof mine);
    if (!times) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    st = cg_dist_allgather(mine, sizeof mine, times);
    double slowest = 0, slowest_min = 0;
    for (int r = 0; st == CG_OK && r < ranks; r++) {
        snprintf(name, sizeof name, "rank %d of %d", r, ranks);
        if (!(row = add_row(rep, rt, device_index, mc, batch, name, opt->reps))) {
            st = cg_fail(CG_ERR_NOMEM, "out of host memory");
            break;
        }
        row->median_s = row->max_s = times[2 * r];
        row->min_s = times[2 * r + 1];
        snprintf(row->ref_name, sizeof row->ref_name, "1 rank");
        row->ref_median_s = row->ref_max_s = t1[0];
        row->ref_min_s = t1[1];
        if (times[2 * r] > slowest) slowest = times[2 * r];
        if (times[2 * r + 1] > slowest_min) slowest_min = times[2 * r + 1];
    }
    free(times);
    if (st != CG_OK) return st;
    snprintf(name, sizeof name, "%d ranks", ranks);
    if (!(row = add_row(rep, rt, device_index, mc, batch * ranks, name, opt->reps)))
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    // The slowest rank sets the pace; the reference is N single ranks (N x batch images in t1).
    row->median_s = row->max_s = slowest;
    row->min_s = slowest_min;
    snprintf(row->ref_name, sizeof row->ref_name, "%d x 1 rank", ranks);
    row->ref_median_s = row->ref_max_s = t1[0];
    row->ref_min_s = t1[1];
    if (opt->log && lead)
        fprintf(opt->log, "train %-8s %d ranks      %8.1f ms/iter %8.1f images/s total, %.1f per rank, efficiency "
                "%.0f %%\n", cg_model_type_name(mc->type), ranks, slowest * 1e3, batch * ranks / slowest,
                batch / slowest, 100.0 * bench_row_ratio(row));
    return CG_OK;
}

// The train suite's body when the process is one of several MPI ranks (suite_train.c calls it); the
// batch of each case is per rank.
cg_status bench_train_mpi(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    return bench_train_cases(rt, device_index, opt, rep, bench_type);
}
