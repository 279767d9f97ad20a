// suite_upscale.c — the upscale suite: Real-ESRGAN's compact network (nets/srvgg.h; 64 features,
// 16 + 2 convolutions, x4 as realesr-animevideov3) at 64 -> 256, random weights written to a
// temporary file and loaded as a user's would be. The check before timing: with the last
// convolution zeroed the output must be exactly the input upsampled by nearest neighbour (the same
// work is timed). The row carries PyTorch's time for the same network and batch
// (tests/reference/upscale_reference.py bench, /usr/bin/python3, 2 threads) when torch is importable.
#include "bench.h"
#include "srvgg.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TORCH_SCRIPT "tests/reference/upscale_reference.py"

typedef struct {
    cg_ctx ctx;
    cg_srvgg *m;
    cg_tensor x, y;
} up_case;

static cg_status forward(void *p) {
    up_case *c = p;
    CG_TRY(cg_srvgg_forward(&c->ctx, c->m, c->x, c->y));
    return cg_runtime_finish(c->ctx.rt);
}

// Random weights of the compact network, the last convolution zero.
static cg_status write_weights(const char *path, int feat, int convs, int scale) {
    cg_st_tensor t[2 * 64];
    int shapes[2 * 64][4], n = 0;
    char names[2 * 64][24];
    float *data[2 * 64];
    uint32_t s = 12345;
    for (int k = 0; k < convs; k++)
        for (int part = 0; part < 3 && !(part == 2 && k == convs - 1); part++) {
            int cin = k ? feat : 3, cout = k == convs - 1 ? 3 * scale * scale : feat;
            int *sh = shapes[n], nd = part ? 1 : 4;
            snprintf(names[n], sizeof names[n], "body.%d.%s", part == 2 ? 2 * k + 1 : 2 * k, part == 1 ? "bias" : "weight");
            if (part == 0) sh[0] = cout, sh[1] = cin, sh[2] = sh[3] = 3;
            else sh[0] = part == 1 ? cout : feat;
            size_t m = part ? (size_t)sh[0] : (size_t)cout * cin * 9;
            data[n] = malloc(m * sizeof(float));
            if (!data[n]) break;
            float amp = part == 0 ? 1.0f / (3.0f * cin) : part == 1 ? 0.01f : 0.2f;
            for (size_t i = 0; i < m; i++) {
                s = s * 1664525u + 1013904223u;
                data[n][i] = k == convs - 1 ? 0.0f : amp * ((float)(s >> 8) / 8388608.0f - 1.0f) + (part == 2 ? 0.1f : 0);
            }
            t[n] = (cg_st_tensor){names[n], sh, nd, data[n]};
            n++;
        }
    cg_status st = n == 3 * convs - 1 ? cg_safetensors_write(path, t, n, NULL, NULL, 0)
                                      : cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < n; i++) free(data[i]);
    return st;
}

// Median seconds of PyTorch's forward; 0 and why in reason when it could not be measured.
// Median seconds of PyTorch's same forward (tests/reference/upscale_reference.py bench); 0 and why
// in reason when it could not be measured.
static double torch_time(int batch, int size, int reps, char *reason, size_t len) {
    char a1[16], a2[16], a3[16];
    snprintf(a1, sizeof a1, "%d", batch);
    snprintf(a2, sizeof a2, "%d", size);
    snprintf(a3, sizeof a3, "%d", reps);
    const char *args[] = {"bench", a1, a2, a3, NULL};
    bench_peer peer;
    if (bench_peer_run(TORCH_SCRIPT, args, &peer)) return bench_peer_get(&peer, "median_s");
    snprintf(reason, len, "%s", peer.skip);
    return 0;
}

// The check: y equals x upsampled by nearest neighbour, exactly.
static cg_status check(up_case *c, int batch, int size, int scale, const float *x, double *err) {
    size_t out = (size_t)batch * 3 * size * scale * size * scale;
    float *y = malloc(out * sizeof *y);
    if (!y) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = forward(c);
    if (st == CG_OK) st = cg_tensor_read(c->ctx.rt, c->y, y);
    double worst = 0;
    const int wo = size * scale;
    for (size_t i = 0; st == CG_OK && i < out; i++) {
        size_t plane = i / ((size_t)wo * wo), r = i / wo % wo, q = i % wo;
        double e = y[i] - x[(plane * size + r / scale) * size + q / scale];
        if (!(e * e <= worst * worst)) worst = e < 0 ? -e : e;
    }
    free(y);
    *err = worst;
    if (st == CG_OK && worst != 0) st = cg_fail(CG_ERR_NUMERIC, "upscale: output differs from the nearest-neighbour "
                                                                "image by %g with the last convolution zero", worst);
    return st;
}

static cg_status run_upscale(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    if (!bench_case_selected(opt, "srvgg")) return CG_OK;
    const int feat = opt->quick ? 8 : 64, convs = opt->quick ? 3 : 18, scale = 4, size = opt->quick ? 16 : 64;
    const int batch = opt->quick ? 2 : 16;
    bench_row *row = bench_report_add(rep);
    if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    snprintf(row->suite, sizeof row->suite, "upscale");
    snprintf(row->name, sizeof row->name, "srvgg");
    snprintf(row->shape, sizeof row->shape, "%d->%d batch %d, %d features, %d convs", size, size * scale, batch, feat,
             convs);
    snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
    row->device_index = device_index;
    snprintf(row->impl, sizeof row->impl, "nets");
    row->reps = opt->reps;
    row->work = batch;
    snprintf(row->unit, sizeof row->unit, "images/s");
    char path[] = "/tmp/clgan_bench_upscale_XXXXXX";
    int fd = mkstemp(path);
    up_case c = {{rt, {0}}, NULL, {0}, {0}};
    cl_mem xb = NULL, yb = NULL;
    size_t nin = (size_t)batch * 3 * size * size;
    float *x = malloc(nin * sizeof *x);
    cg_status st = fd >= 0 && x ? CG_OK : cg_fail(CG_ERR_IO, "upscale bench: no temporary file or memory");
    if (fd >= 0) close(fd);
    if (st == CG_OK) st = write_weights(path, feat, convs, scale);
    if (st == CG_OK) st = cg_srvgg_load(&c.ctx, path, &c.m);
    if (st == CG_OK) st = cg_buffer_alloc(rt, nin, &xb);
    if (st == CG_OK) st = cg_buffer_alloc(rt, nin * scale * scale, &yb);
    if (st == CG_OK) {
        for (size_t i = 0; i < nin; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
        c.x = cg_view(xb, 0, batch, 3, size, size);
        c.y = cg_view(yb, 0, batch, 3, size * scale, size * scale);
        st = cg_tensor_write(rt, c.x, x);
    }
    if (st == CG_OK) st = check(&c, batch, size, scale, x, &row->check_err);
    row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
    if (st == CG_OK)
        st = bench_time(forward, &c, opt->warmup, opt->reps, BENCH_MIN_REP_S, &row->median_s, &row->min_s, &row->max_s);
    if (st == CG_OK) snprintf(row->status, sizeof row->status, "ok");
    else snprintf(row->status, sizeof row->status, "failed: %s", cg_last_error());
    char reason[256] = "";
    double ts = st == CG_OK && !opt->quick ? torch_time(batch, size, opt->reps, reason, sizeof reason) : 0;
    if (ts > 0) {
        snprintf(row->ref_name, sizeof row->ref_name, "pytorch");
        row->ref_median_s = row->ref_min_s = row->ref_max_s = ts;
    } else if (st == CG_OK) {
        bench_peer_skip_note(row, "pytorch", opt->quick ? "quick shapes" : reason);
    }
    if (opt->log) {
        fprintf(opt->log, "upscale srvgg %-40s %8.1f images/s  %s\n", row->shape, bench_row_rate(row), row->status);
        if (ts > 0) fprintf(opt->log, "upscale srvgg pytorch %.1f images/s, clgan/pytorch rate %.2f\n", batch / ts,
                            ts / row->median_s);
        else if (st == CG_OK) fprintf(opt->log, "upscale srvgg: PyTorch reference skipped: %s\n",
                                      opt->quick ? "quick shapes" : reason);
    }
    unlink(path);
    free(x);
    cg_buffer_release(xb), cg_buffer_release(yb);
    cg_srvgg_free(c.m);
    cg_workspace_free(&c.ctx.ws);
    return st == CG_ERR_NOMEM ? st : CG_OK;
}

static int upscale_available(char *reason, size_t len) {
    (void)reason;
    (void)len;
    return 1;
}

const bench_suite bench_suite_upscale = {
    "upscale",
    "Real-ESRGAN's compact network (64 features, 18 convolutions, x4) at 64 -> 256, batch 16: images/s, against "
    "PyTorch's same forward on the CPU when torch is importable",
    upscale_available,
    run_upscale,
};
