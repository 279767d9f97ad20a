// kernel_profile.h — per-kernel, per-layer device time from OpenCL events (`clgan bench --profile`,
// `[train] profile = N`). While a profile runs, the runtime's queue is a CL_QUEUE_PROFILING_ENABLE
// queue and every launch through the runtime (cg_launch*, the own GEMM, CLBlast's last kernel)
// keeps its event, labelled with the kernel name and the layer on top of the label stack; at the end
// the events' START..END times are summed per (layer, kernel). Without a profile nothing of this
// runs: the queue is a plain one and launches take no event.
#ifndef CLGAN_KERNEL_PROFILE_H
#define CLGAN_KERNEL_PROFILE_H

#include "runtime.h"

typedef struct {
    char layer[96];   // "main.2 conv2d fwd", "Mixed_5b.branch1x1", "-" outside any layer
    char kernel[64];  // kernel function name ("gemm_6x16", "clblast_sgemm")
    long calls;
    double ms;        // summed device time (START to END of each event)
    double flops;     // summed flops the launches declared (0: none declared)
    double bytes;     // summed bytes read and written the launches declared (0: none declared)
} cg_kprofile_row;

typedef struct {
    cg_kprofile_row *rows; // sorted by ms, largest first
    int n_rows;
    long launches;
    double kernel_ms;   // sum of rows' ms
    double wall_ms;     // host time from begin to end
    int iterations;     // units the profile covers (tables show per-unit ms); set by the caller, 1 default
    double peak_gflops; // device FMA peak (0: unknown)
    double peak_gbs;    // device memory bandwidth assumed for the share column (0: unknown)
    char device[128];
} cg_kernel_profile;

// Starts recording: finishes the queue and replaces it with a profiling one. CG_ERR_INVALID_ARG when
// already recording.
cg_status cg_profile_begin(cg_runtime *rt);
// Finishes the queue, sums every event into *out (malloc'd rows; free with cg_kernel_profile_free)
// and puts a plain queue back.
cg_status cg_profile_end(cg_runtime *rt, cg_kernel_profile *out);
int cg_profile_active(const cg_runtime *rt);
// The layer the following launches belong to: push before a layer's pass, pop after (nesting:
// a composite's inner layers). No-ops when no profile runs.
void cg_profile_push(cg_runtime *rt, const char *label);
void cg_profile_pop(cg_runtime *rt);
// Work of the next launch, for the GFLOP/s and GB/s columns. No-op when no profile runs.
void cg_profile_work(cg_runtime *rt, double flops, double bytes);
// Records a launch's event (runtime internals: called by the enqueue paths; takes ownership).
void cg_profile_record(cg_runtime *rt, cl_kernel k, const char *name, cl_event ev);
// Where the enqueue paths put the event: NULL when no profile runs.
cl_event *cg_profile_event_slot(cg_runtime *rt, cl_event *slot);

void cg_kernel_profile_free(cg_kernel_profile *p);
// Launches of `kernel` over all layers.
long cg_kernel_profile_calls(const cg_kernel_profile *p, const char *kernel);
// Markdown: the top max_rows (layer, kernel) rows, then one row per kernel over all layers. Per
// iteration: calls, ms, share of kernel time, GFLOP/s and GB/s with their share of the peak.
char *cg_kernel_profile_markdown(const cg_kernel_profile *p, int max_rows); // malloc'd
char *cg_kernel_profile_json(const cg_kernel_profile *p);                   // malloc'd, every row
// DIR/profile.md (the top max_rows) and DIR/profile.json, each written atomically.
cg_status cg_kernel_profile_write(const cg_kernel_profile *p, const char *dir, int max_rows);

#endif
