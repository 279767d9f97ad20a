// suite_preprocess.c — the preprocess suite: synthetic CelebA-style faces (preprocess/ cg_synth_write)
// in a temporary folder, then cg_preprocess_bench: images/s of each stage and of the whole pipeline.
// The entry point checks its first batch (decodable images, crop means in range) before timing
// and times each stage once over all images, so every row is one run. The pipeline row's reference is
// PIL doing the same per-image work in a process per core (bench/peers.py pil, --reps runs).
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

// PIL doing the same decode/crop/zoom/resize/brightness work over the folder, a process per core.
static void pil_peer(const char *dir, int size, int reps, bench_peer *peer) {
    char a2[16], a3[16];
    snprintf(a2, sizeof a2, "%d", reps);
    snprintf(a3, sizeof a3, "%d", size);
    const char *args[] = {"pil", dir, a2, a3, NULL};
    if (!bench_peer_run("bench/peers.py", args, peer) && !peer->skip[0]) snprintf(peer->skip, sizeof peer->skip, "?");
}

static cg_status synth_and_time(cg_runtime *rt, int n, int reps, int *size, cg_pp_bench *out, bench_peer *peer) {
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
        if (st == CG_OK) pil_peer(dir, p.size, reps, peer);
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
    bench_peer peer;
    memset(&peer, 0, sizeof peer);
    snprintf(peer.skip, sizeof peer.skip, "not run (the clgan pipeline failed)");
    cg_status st = synth_and_time(rt, n, opt->reps, &size, &b, &peer);
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
        double peer_images = bench_peer_get(&peer, "images");
        if (!strcmp(stages[i].name, "pipeline") && !strcmp(row->status, "ok")) {
            // Per image: PIL's time scaled to the images clgan's pipeline kept.
            if (!peer.skip[0] && peer_images > 0) bench_peer_apply(row, "pil", &peer, row->work / peer_images);
            else bench_peer_skip_note(row, "pil", peer.skip);
        }
        if (opt->log)
            fprintf(opt->log, "preprocess %-12s %-44s %10.1f images/s  %s\n", row->name, row->shape,
                    bench_row_rate(row), row->status);
        if (opt->log && row->ref_name[0])
            fprintf(opt->log, "preprocess pipeline PIL (%d processes) %.1f images/s, clgan/PIL %.2f\n",
                    (int)bench_peer_get(&peer, "threads"), bench_row_ref_rate(row), bench_row_ratio(row));
        else if (opt->log && row->ref_skip[0])
            fprintf(opt->log, "preprocess pipeline %s\n", row->ref_skip);
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
