// suite_train.c — the train suite: one training iteration of the trainer itself (one critic step with
// its clipping or gradient penalty, one generator step, optimizer updates) per model type through
// bench_train_iteration (train_iteration.c), which checks the losses are finite before timing. The dcgan row carries PyTorch's time for the same iteration
// (bench/dcgan_torch_step.py, run by /usr/bin/python3) as its reference when torch is importable.
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
#define TORCH_SCRIPT "bench/dcgan_torch_step.py"

static const cg_model_type types[] = {CG_MODEL_DCGAN, CG_MODEL_WGAN, CG_MODEL_WGAN_GP, CG_MODEL_VANILLA};

// Median seconds of the PyTorch iteration; 0 and why in reason when it could not be measured.
static double torch_time(int reps, char *reason, size_t len) {
    const char *dir = getenv("CLGAN_SOURCE_DIR");
    char script[1024], cmd[1200];
    if (dir && *dir) snprintf(script, sizeof script, "%s/%s", dir, TORCH_SCRIPT);
    else snprintf(script, sizeof script, "%s", TORCH_SCRIPT);
    if (access(PYTHON, X_OK) != 0) {
        snprintf(reason, len, "%s not found", PYTHON);
        return 0;
    }
    if (access(script, R_OK) != 0) {
        snprintf(reason, len, "%s not found (set CLGAN_SOURCE_DIR)", script);
        return 0;
    }
    snprintf(cmd, sizeof cmd, PYTHON " '%s' --reps %d 2>&1", script, reps);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(reason, len, "could not start %s", PYTHON);
        return 0;
    }
    char line[512], last[512] = "";
    double s = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0]) snprintf(last, sizeof last, "%s", line);
        const char *key = strstr(line, "\"median_s\":");
        if (key) s = strtod(key + 11, NULL);
    }
    int rc = pclose(p);
    if (rc != 0 || !(s > 0)) {
        snprintf(reason, len, "%s failed: %.150s", TORCH_SCRIPT, last[0] ? last : "no output");
        return 0;
    }
    return s;
}

static cg_status bench_type(cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                            const bench_options *opt, bench_report *rep) {
    bench_row *row = bench_report_add(rep);
    if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    snprintf(row->suite, sizeof row->suite, "train");
    snprintf(row->name, sizeof row->name, "%s", cg_model_type_name(mc->type));
    snprintf(row->shape, sizeof row->shape, "%dx%d batch %d nz %d ngf %d ndf %d", mc->image_size, mc->image_size,
             batch, mc->nz, mc->ngf, mc->ndf);
    snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
    row->device_index = device_index;
    snprintf(row->impl, sizeof row->impl, "nets");
    row->reps = opt->reps;
    row->work = batch;
    snprintf(row->unit, sizeof row->unit, "images/s");
    cg_bench_iter it;
    memset(&it, 0, sizeof it);
    cg_status st = bench_train_iteration(rt, mc, batch, opt->reps, &it);
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

static void add_torch(bench_row *row, const bench_options *opt, FILE *log) {
    char reason[256] = "";
    double s = opt->quick ? 0 : torch_time(opt->reps, reason, sizeof reason);
    if (opt->quick) snprintf(reason, sizeof reason, "quick shapes differ from the PyTorch DCGAN");
    if (s > 0) {
        snprintf(row->ref_name, sizeof row->ref_name, "pytorch");
        row->ref_median_s = row->ref_min_s = row->ref_max_s = s;
        if (log)
            fprintf(log, "train dcgan pytorch %.1f ms/iter, clgan/pytorch time %.2f\n", s * 1e3,
                    row->median_s / s);
    } else if (log) {
        fprintf(log, "train dcgan: PyTorch reference skipped: %s\n", reason);
    }
}

static cg_status run_train(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    cg_model_config mc = {CG_MODEL_DCGAN, 64, 3, 100, 64, 64};
    int batch = 64;
    if (opt->quick) {
        mc.image_size = 32;
        mc.ngf = mc.ndf = 8;
        batch = 2;
    }
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        mc.type = types[i];
        if (!bench_case_selected(opt, cg_model_type_name(mc.type))) continue;
        CG_TRY(bench_type(rt, device_index, &mc, batch, opt, rep));
        bench_row *row = &rep->rows[rep->n_rows - 1];
        if (mc.type == CG_MODEL_DCGAN && !strcmp(row->status, "ok")) add_torch(row, opt, opt->log);
    }
    return CG_OK;
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
