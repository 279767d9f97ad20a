// kernel_profile.c — collects OpenCL event times per (layer, kernel) while a profile runs, and
// writes them as a markdown table and JSON (kernel_profile.h). Events are kept until
// CG_PROFILE_PENDING of them wait, then waited for and summed, so a long profile holds few.
#include "kernel_profile.h"
#include "runtime_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CG_PROFILE_PENDING
#define CG_PROFILE_PENDING 4096
#endif
// FMA flops per cycle of one CPU compute unit (AVX2: 2 pipes x 8 lanes x 2; twice that when the
// device's name says AVX-512, as PoCL's "pthread-skylake-avx512" does); the CPU peak is this times
// the compute units and the clock the driver reports. Override with $CLGAN_PEAK_GFLOPS.
#ifndef CG_CPU_FLOPS_PER_CYCLE
#define CG_CPU_FLOPS_PER_CYCLE 32
#endif
#define MAX_DEPTH 8

typedef struct {
    cl_event ev;
    int row;
} pending;

struct cg_kprofile {
    cl_command_queue plain;         // the queue to put back at the end
    char stack[MAX_DEPTH][96];
    int depth;
    double next_flops, next_bytes;
    pending *pend;
    int n_pend, cap_pend;
    cg_kprofile_row *rows;
    int n_rows, cap_rows, last_row;
    long launches;
    double t0;
    cg_status error;                // first failure while recording (out of memory, event query)
};

int cg_profile_active(const cg_runtime *rt) { return rt->prof != NULL; }

static cg_status new_queue(cg_runtime *rt, cl_command_queue_properties props, cl_command_queue *out) {
    cl_int err;
    *out = clCreateCommandQueue(rt->ctx, rt->dev.device, props, &err);
    if (err != CL_SUCCESS)
        return cg_fail(err, "cannot create a %scommand queue on %s: %s", props ? "profiling " : "", rt->dev.name,
                       cg_status_name(err));
    return CG_OK;
}

cg_status cg_profile_begin(cg_runtime *rt) {
    if (rt->prof) return cg_fail(CG_ERR_INVALID_ARG, "kernel profile: already recording");
    struct cg_kprofile *p = calloc(1, sizeof *p);
    if (!p) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    CG_CL(clFinish(rt->queue));
    cl_command_queue q;
    cg_status st = new_queue(rt, CL_QUEUE_PROFILING_ENABLE, &q);
    if (st != CG_OK) {
        free(p);
        return st;
    }
    p->plain = rt->queue;
    p->last_row = -1;
    p->t0 = cg_now_s();
    rt->queue = q;
    rt->prof = p;
    return CG_OK;
}

void cg_profile_push(cg_runtime *rt, const char *label) {
    struct cg_kprofile *p = rt->prof;
    if (!p) return;
    if (p->depth < MAX_DEPTH) snprintf(p->stack[p->depth], sizeof p->stack[0], "%s", label ? label : "-");
    p->depth++;
}

void cg_profile_pop(cg_runtime *rt) {
    struct cg_kprofile *p = rt->prof;
    if (p && p->depth > 0) p->depth--;
}

void cg_profile_work(cg_runtime *rt, double flops, double bytes) {
    struct cg_kprofile *p = rt->prof;
    if (!p) return;
    p->next_flops = flops;
    p->next_bytes = bytes;
}

cl_event *cg_profile_event_slot(cg_runtime *rt, cl_event *slot) {
    *slot = NULL;
    return rt->prof ? slot : NULL;
}

static const char *current_layer(const struct cg_kprofile *p) {
    if (p->depth <= 0) return "-";
    return p->stack[(p->depth < MAX_DEPTH ? p->depth : MAX_DEPTH) - 1];
}

static int find_row(struct cg_kprofile *p, const char *layer, const char *kernel) {
    if (p->last_row >= 0 && !strcmp(p->rows[p->last_row].layer, layer) && !strcmp(p->rows[p->last_row].kernel, kernel))
        return p->last_row;
    for (int i = p->n_rows - 1; i >= 0; i--)
        if (!strcmp(p->rows[i].layer, layer) && !strcmp(p->rows[i].kernel, kernel)) return p->last_row = i;
    if (p->n_rows == p->cap_rows) {
        int cap = p->cap_rows ? 2 * p->cap_rows : 64;
        cg_kprofile_row *r = realloc(p->rows, (size_t)cap * sizeof *r);
        if (!r) return -1;
        p->rows = r;
        p->cap_rows = cap;
    }
    cg_kprofile_row *r = &p->rows[p->n_rows];
    memset(r, 0, sizeof *r);
    snprintf(r->layer, sizeof r->layer, "%s", layer);
    snprintf(r->kernel, sizeof r->kernel, "%s", kernel);
    return p->last_row = p->n_rows++;
}

// Waits for the pending events and adds their times to their rows.
static void drain(struct cg_kprofile *p) {
    for (int i = 0; i < p->n_pend; i++) {
        cl_ulong start = 0, end = 0;
        cl_event ev = p->pend[i].ev;
        cl_int err = clWaitForEvents(1, &ev);
        if (err == CL_SUCCESS) err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
        if (err == CL_SUCCESS) err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
        if (err != CL_SUCCESS && p->error == CG_OK)
            p->error = cg_fail(err, "kernel profile: reading an event's times failed: %s", cg_status_name(err));
        if (err == CL_SUCCESS && end > start) p->rows[p->pend[i].row].ms += (double)(end - start) * 1e-6;
        clReleaseEvent(ev);
    }
    p->n_pend = 0;
}

void cg_profile_record(cg_runtime *rt, cl_kernel k, const char *name, cl_event ev) {
    struct cg_kprofile *p = rt->prof;
    if (!ev) return;
    if (!p) {
        clReleaseEvent(ev);
        return;
    }
    char kname[64] = "?";
    if (name) snprintf(kname, sizeof kname, "%s", name);
    else if (k) clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof kname, kname, NULL);
    int row = find_row(p, current_layer(p), kname);
    if (row < 0 || (p->n_pend == p->cap_pend && p->cap_pend >= CG_PROFILE_PENDING)) drain(p);
    if (row < 0) row = find_row(p, current_layer(p), kname);
    if (row >= 0 && p->n_pend == p->cap_pend) {
        int cap = p->cap_pend ? 2 * p->cap_pend : 256;
        pending *n = realloc(p->pend, (size_t)cap * sizeof *n);
        if (n) {
            p->pend = n;
            p->cap_pend = cap;
        }
    }
    if (row < 0 || p->n_pend == p->cap_pend) {
        if (p->error == CG_OK) p->error = cg_fail(CG_ERR_NOMEM, "kernel profile: out of host memory");
        clWaitForEvents(1, &ev);
        clReleaseEvent(ev);
        return;
    }
    cg_kprofile_row *r = &p->rows[row];
    r->calls++;
    r->flops += p->next_flops;
    r->bytes += p->next_bytes;
    p->next_flops = p->next_bytes = 0;
    p->pend[p->n_pend++] = (pending){ev, row};
    p->launches++;
}

static int by_ms(const void *a, const void *b) {
    double x = ((const cg_kprofile_row *)a)->ms, y = ((const cg_kprofile_row *)b)->ms;
    return (x < y) - (x > y);
}

static double env_number(const char *name) {
    const char *v = getenv(name);
    return v && *v ? strtod(v, NULL) : 0;
}

cg_status cg_profile_end(cg_runtime *rt, cg_kernel_profile *out) {
    memset(out, 0, sizeof *out);
    struct cg_kprofile *p = rt->prof;
    if (!p) return cg_fail(CG_ERR_INVALID_ARG, "kernel profile: not recording");
    clFinish(rt->queue);
    drain(p);
    double wall = cg_now_s() - p->t0;
    clReleaseCommandQueue(rt->queue);
    rt->queue = p->plain;
    rt->prof = NULL;
    cg_status st = p->error;
    free(p->pend);
    qsort(p->rows, (size_t)p->n_rows, sizeof *p->rows, by_ms);
    out->rows = p->rows;
    out->n_rows = p->n_rows;
    out->launches = p->launches;
    for (int i = 0; i < p->n_rows; i++) out->kernel_ms += p->rows[i].ms;
    out->wall_ms = wall * 1e3;
    out->iterations = 1;
    out->peak_gflops = env_number("CLGAN_PEAK_GFLOPS");
    if (out->peak_gflops <= 0 && rt->dev.type == CL_DEVICE_TYPE_CPU)
        out->peak_gflops = (double)rt->dev.compute_units * rt->dev.clock_mhz * 1e-3 * CG_CPU_FLOPS_PER_CYCLE *
                           (strstr(rt->dev.name, "avx512") ? 2 : 1);
    out->peak_gbs = env_number("CLGAN_PEAK_GBS");
    snprintf(out->device, sizeof out->device, "%s", rt->dev.name);
    free(p);
    return st;
}

long cg_kernel_profile_calls(const cg_kernel_profile *p, const char *kernel) {
    long n = 0;
    for (int i = 0; i < p->n_rows; i++)
        if (!strcmp(p->rows[i].kernel, kernel)) n += p->rows[i].calls;
    return n;
}

void cg_kernel_profile_free(cg_kernel_profile *p) {
    if (!p) return;
    free(p->rows);
    memset(p, 0, sizeof *p);
}

// ---------------------------------------------------------------------------------------------
// Output.

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} sbuf;

static void put(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *s, const char *fmt, ...) {
    if (s->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->buf ? s->buf + s->len : NULL, s->buf ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            s->failed = 1;
            return;
        }
        if (s->buf && s->len + (size_t)n < s->cap) {
            s->len += (size_t)n;
            return;
        }
        size_t cap = (s->cap ? 2 * s->cap : 4096) + (size_t)n;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->failed = 1;
            return;
        }
        s->buf = b;
        s->cap = cap;
    }
}

static char *done(sbuf *s) {
    if (s->failed) {
        free(s->buf);
        return NULL;
    }
    return s->buf;
}

// "12.3 (45%)" of a rate against a peak, or "-" without work declared.
static void rate_cell(char *buf, size_t len, double amount, double ms, double scale, double peak) {
    if (amount <= 0 || ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    double rate = amount / (ms * 1e-3) / scale;
    if (peak > 0) snprintf(buf, len, "%.1f (%.0f%%)", rate, 100.0 * rate / peak);
    else snprintf(buf, len, "%.1f", rate);
}

static void table_row(sbuf *s, const cg_kernel_profile *p, const char *layer, const cg_kprofile_row *r) {
    double it = p->iterations > 0 ? p->iterations : 1;
    char gf[32], gb[32];
    rate_cell(gf, sizeof gf, r->flops, r->ms, 1e9, p->peak_gflops);
    rate_cell(gb, sizeof gb, r->bytes, r->ms, 1e9, p->peak_gbs);
    put(s, "| %s | %s | %.1f | %.2f | %.1f%% | %s | %s |\n", layer, r->kernel, r->calls / it, r->ms / it,
        p->kernel_ms > 0 ? 100.0 * r->ms / p->kernel_ms : 0.0, gf, gb);
}

char *cg_kernel_profile_markdown(const cg_kernel_profile *p, int max_rows) {
    sbuf s = {0};
    double it = p->iterations > 0 ? p->iterations : 1;
    put(&s, "Device %s; %d unit(s) profiled; per unit: %.1f ms of kernels in %.1f ms wall (%.0f%%), %.0f launches",
        p->device, p->iterations, p->kernel_ms / it, p->wall_ms / it,
        p->wall_ms > 0 ? 100.0 * p->kernel_ms / p->wall_ms : 0.0, p->launches / it);
    if (p->peak_gflops > 0) put(&s, "; peak %.0f GFLOP/s", p->peak_gflops);
    if (p->peak_gbs > 0) put(&s, ", %.0f GB/s", p->peak_gbs);
    put(&s, ".\n\n| layer | kernel | calls | ms | share | GFLOP/s (of peak) | GB/s%s |\n|---|---|--:|--:|--:|--:|--:|\n",
        p->peak_gbs > 0 ? " (of peak)" : "");
    int shown = p->n_rows < max_rows || max_rows <= 0 ? p->n_rows : max_rows;
    for (int i = 0; i < shown; i++) table_row(&s, p, p->rows[i].layer, &p->rows[i]);
    if (shown < p->n_rows) {
        cg_kprofile_row rest = {.kernel = "(others)"};
        for (int i = shown; i < p->n_rows; i++) {
            rest.calls += p->rows[i].calls;
            rest.ms += p->rows[i].ms;
        }
        table_row(&s, p, "(other layers)", &rest);
    }
    // One row per kernel over all layers.
    cg_kprofile_row *k = calloc((size_t)p->n_rows + 1, sizeof *k);
    if (!k) {
        free(s.buf);
        return NULL;
    }
    int nk = 0;
    for (int i = 0; i < p->n_rows; i++) {
        int j = 0;
        while (j < nk && strcmp(k[j].kernel, p->rows[i].kernel)) j++;
        if (j == nk) snprintf(k[nk++].kernel, sizeof k[0].kernel, "%s", p->rows[i].kernel);
        k[j].calls += p->rows[i].calls;
        k[j].ms += p->rows[i].ms;
        k[j].flops += p->rows[i].flops;
        k[j].bytes += p->rows[i].bytes;
    }
    qsort(k, (size_t)nk, sizeof *k, by_ms);
    put(&s, "\nPer kernel, all layers:\n\n| kernel | calls | ms | share | GFLOP/s (of peak) | GB/s |\n|---|--:|--:|--:|--:|--:|\n");
    for (int j = 0; j < nk; j++) {
        char gf[32], gb[32];
        rate_cell(gf, sizeof gf, k[j].flops, k[j].ms, 1e9, p->peak_gflops);
        rate_cell(gb, sizeof gb, k[j].bytes, k[j].ms, 1e9, p->peak_gbs);
        put(&s, "| %s | %.1f | %.2f | %.1f%% | %s | %s |\n", k[j].kernel, k[j].calls / it, k[j].ms / it,
            p->kernel_ms > 0 ? 100.0 * k[j].ms / p->kernel_ms : 0.0, gf, gb);
    }
    free(k);
    return done(&s);
}

static void json_string(sbuf *s, const char *text) {
    put(s, "\"");
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') put(s, "\\%c", *c);
        else if (*c < 0x20) put(s, "\\u%04x", *c);
        else put(s, "%c", *c);
    }
    put(s, "\"");
}

char *cg_kernel_profile_json(const cg_kernel_profile *p) {
    sbuf s = {0};
    put(&s, "{\"device\": ");
    json_string(&s, p->device);
    put(&s, ", \"iterations\": %d, \"launches\": %ld, \"kernel_ms\": %.4f, \"wall_ms\": %.4f, \"peak_gflops\": %.2f, "
            "\"peak_gbs\": %.2f, \"rows\": [",
        p->iterations, p->launches, p->kernel_ms, p->wall_ms, p->peak_gflops, p->peak_gbs);
    for (int i = 0; i < p->n_rows; i++) {
        const cg_kprofile_row *r = &p->rows[i];
        put(&s, "%s\n  {\"layer\": ", i ? "," : "");
        json_string(&s, r->layer);
        put(&s, ", \"kernel\": ");
        json_string(&s, r->kernel);
        put(&s, ", \"calls\": %ld, \"ms\": %.4f, \"flops\": %.0f, \"bytes\": %.0f}", r->calls, r->ms, r->flops,
            r->bytes);
    }
    put(&s, "]}\n");
    return done(&s);
}

cg_status cg_kernel_profile_write(const cg_kernel_profile *p, const char *dir, int max_rows) {
    CG_TRY(cg_write_text_atomic(dir, "profile.md", cg_kernel_profile_markdown(p, max_rows)));
    return cg_write_text_atomic(dir, "profile.json", cg_kernel_profile_json(p));
}
