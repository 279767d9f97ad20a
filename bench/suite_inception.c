// suite_inception.c — the inception suite: Inception-v3 (pytorch-fid variant) feature extraction
// through metrics/ cg_inception_bench (random weights, output checked finite first) and FID's d x d
// matrix step through cg_fid_bench (checked against FID(s, s) = 0 and a closed form first). Both
// entry points report the fastest of their timed runs, so median, min and max are that run. Their
// references are pytorch-fid's InceptionV3 (same structure, random weights, same batch and input)
// and its calculate_frechet_distance at the same d, from bench/peers.py, also their fastest runs.
#include "bench.h"
#include "inception.h"
#include "metrics.h"

#include <string.h>

static bench_row *new_row(bench_report *rep, cg_runtime *rt, int device_index, const bench_options *opt,
                          const char *name, const char *impl) {
    bench_row *row = bench_report_add(rep);
    if (!row) return NULL;
    snprintf(row->suite, sizeof row->suite, "inception");
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
    row->device_index = device_index;
    snprintf(row->impl, sizeof row->impl, "%s", impl);
    row->reps = opt->reps;
    return row;
}

static void finish_row(bench_row *row, cg_status st, double best_s, const bench_options *opt) {
    row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
    if (st == CG_OK && best_s > 0) {
        row->median_s = row->min_s = row->max_s = best_s;
        snprintf(row->status, sizeof row->status, "ok");
    } else {
        snprintf(row->status, sizeof row->status, "failed: %s", st == CG_OK ? "no time reported" : cg_last_error());
    }
    if (opt->log)
        fprintf(opt->log, "inception %-10s %-36s %10.3f ms  %s\n", row->name, row->shape, row->median_s * 1e3,
                row->status);
}

// The Python peer's fastest run as the row's reference (both sides report their fastest run), or
// the reason it is missing. Under --quick the shapes are the peer's too.
static void add_peer(bench_row *row, const char *what, const char *name, int size, const bench_options *opt) {
    if (strcmp(row->status, "ok")) return;
    char a1[16], a2[16];
    snprintf(a1, sizeof a1, "%d", size);
    snprintf(a2, sizeof a2, "%d", opt->reps);
    const char *args[] = {what, a1, a2, NULL};
    bench_peer peer;
    if (bench_peer_run("bench/peers.py", args, &peer)) {
        bench_peer_apply(row, name, &peer, 1.0);
        row->ref_median_s = row->ref_max_s = row->ref_min_s;
    } else {
        bench_peer_skip_note(row, name, peer.skip);
    }
    if (!opt->log) return;
    if (row->ref_name[0])
        fprintf(opt->log, "inception %-10s %s %.3f ms, clgan/%s rate %.2f\n", row->name, name, row->ref_median_s * 1e3,
                name, bench_row_ratio(row));
    else
        fprintf(opt->log, "inception %-10s %s\n", row->name, row->ref_skip);
}

static cg_status run_inception(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    int batch = opt->quick ? 2 : 50, d = opt->quick ? 256 : 2048;
    if (bench_case_selected(opt, "features")) {
        bench_row *row = new_row(rep, rt, device_index, opt, "features", "metrics");
        if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        snprintf(row->shape, sizeof row->shape, "299x299 batch %d, random weights, best of reps", batch);
        row->work = batch;
        snprintf(row->unit, sizeof row->unit, "images/s");
        double ips = 0;
        cg_kernel_profile prof = {0};
        cg_status st = cg_inception_bench_profiled(rt, NULL, batch, opt->reps, &ips, opt->profile ? &prof : NULL);
        finish_row(row, st, ips > 0 ? batch / ips : 0, opt);
        add_peer(row, "inception", "pytorch-fid", batch, opt);
        if (st == CG_OK && opt->profile) st = bench_report_add_profile(rep, "inception", "features", &prof);
        cg_kernel_profile_free(&prof);
        if (st == CG_ERR_NOMEM) return st;
    }
    if (bench_case_selected(opt, "fid")) {
        bench_row *row = new_row(rep, rt, device_index, opt, "fid", "lapack");
        if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        snprintf(row->shape, sizeof row->shape, "d=%d, host, best of reps", d);
        row->work = 1;
        snprintf(row->unit, sizeof row->unit, "FID/s");
        double ms = 0;
        cg_status st = cg_fid_bench(d, opt->reps, &ms);
        finish_row(row, st, ms * 1e-3, opt);
        add_peer(row, "fid", "pytorch-fid", d, opt);
        if (st == CG_ERR_NOMEM) return st;
    }
    return CG_OK;
}

static int inception_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_inception = {
    "inception",
    "Inception-v3 (pytorch-fid variant) features at batch 50, random weights: images/s; FID matrix step at "
    "d = 2048: ms",
    inception_available,
    run_inception,
};
