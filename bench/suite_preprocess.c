// suite_preprocess.c — the preprocess suite: synthetic CelebA-style faces (preprocess/ cg_synth_write)
// in a temporary folder, then cg_preprocess_bench: images/s of each stage and of the whole pipeline.
// The entry point checks its first batch (decodable images, crop means in range) before timing
// and times each stage once over all images, so every row is one run.
#define _XOPEN_SOURCE 700
#include "bench.h"
#include "preprocess.h"
#include "synth.h"

#include <ftw.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static cg_status synth_and_time(cg_runtime *rt, int n, int *size, cg_pp_bench *out) {
    char dir[] = "/tmp/clgan-bench-preprocess-XXXXXX";
    if (!mkdtemp(dir)) return cg_fail(CG_ERR_IO, "cannot create a temporary folder in /tmp");
    cg_status st = cg_synth_write(dir, n, 2024, 0, NULL);
    if (st == CG_OK) {
        cg_pp_params p;
        cg_pp_params_default(&p);
        p.input = dir;
        p.output = "";
        p.reject_sheets = 0;
        *size = p.size;
        st = cg_preprocess_bench(rt, &p, (size_t)n, out);
    }
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    return st;
}

typedef struct {
    const char *name;
    size_t offset; // of the stage's seconds in cg_pp_bench
} stage;

static const stage stages[] = {
    {"decode", offsetof(cg_pp_bench, decode_s)},           {"filter", offsetof(cg_pp_bench, filter_s)},
    {"upload", offsetof(cg_pp_bench, upload_s)},           {"crop_resize", offsetof(cg_pp_bench, crop_resize_s)},
    {"brightness", offsetof(cg_pp_bench, brightness_s)},   {"pipeline", offsetof(cg_pp_bench, pipeline_s)},
};

static cg_status run_preprocess(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    int n = opt->quick ? 20 : 200;
    cg_pp_bench b;
    memset(&b, 0, sizeof b);
    int size = 0;
    cg_status st = synth_and_time(rt, n, &size, &b);
    char why[sizeof ((bench_row *)0)->status] = "";
    if (st != CG_OK) snprintf(why, sizeof why, "failed: %s", cg_last_error());
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        if (!bench_case_selected(opt, stages[i].name)) continue;
        bench_row *row = bench_report_add(rep);
        if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        snprintf(row->suite, sizeof row->suite, "preprocess");
        snprintf(row->name, sizeof row->name, "%s", stages[i].name);
        snprintf(row->shape, sizeof row->shape, "%d synthetic 178x218 JPEGs -> %dx%d, %d threads", n,
                 size, size, b.threads);
        snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
        row->device_index = device_index;
        snprintf(row->impl, sizeof row->impl, "preprocess");
        row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
        row->reps = 1;
        row->work = (double)b.images;
        snprintf(row->unit, sizeof row->unit, "images/s");
        double s = *(const double *)((const char *)&b + stages[i].offset);
        if (st == CG_OK && s > 0) {
            row->median_s = row->min_s = row->max_s = s;
            snprintf(row->status, sizeof row->status, "ok");
        } else {
            snprintf(row->status, sizeof row->status, "%s", why[0] ? why : "failed: no time reported");
        }
        if (opt->log)
            fprintf(opt->log, "preprocess %-12s %-44s %10.1f images/s  %s\n", row->name, row->shape,
                    bench_row_rate(row), row->status);
    }
    return st == CG_ERR_NOMEM ? st : CG_OK;
}

static int preprocess_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_preprocess = {
    "preprocess",
    "CelebA preprocessing on synthetic faces (200): decode, filter, upload, crop/resize, brightness and the "
    "whole pipeline, images/s",
    preprocess_available,
    run_preprocess,
};
