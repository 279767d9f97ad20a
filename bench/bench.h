// bench.h — public API of clgan's benchmarks: the suite registry, result rows and reports
// (JSON, CSV, markdown, screen), the checked GEMM cases with OpenBLAS as the host reference, and
// the per-device GEMM tuner behind `clgan tune`, and the timed checks of the other parts (FID,
// Inception, preprocessing stages; the per-layer benchmarks are bench_nets.h).
#ifndef CLGAN_BENCH_H
#define CLGAN_BENCH_H

#include "kernel_profile.h"
#include "models.h"
#include "preprocess.h"
#include "runtime.h"

// ---------------------------------------------------------------------------------------------
// Rows. One row is one case on one device (or one skipped suite). Times are seconds per run.

typedef struct {
    char suite[16];        // "gemm"
    char name[96];         // "1024^3", "D2 fwd"
    char shape[96];        // "m=128 n=16384 k=1024 nn"
    char device[128];      // device name; "-" for a skipped suite
    int device_index;      // -1 for a skipped suite
    char impl[24];         // what ran: "own", "clblast", ...
    char status[200];      // "ok", "skipped: <why>", "failed: <why>"
    int checked;           // the result was compared with a reference before timing
    double check_err;      // worst relative error that check found
    int reps;
    double median_s, min_s, max_s;
    double work;           // per run: flops (unit GFLOP/s) or images (unit images/s)
    char unit[12];
    char ref_name[24];     // reference implementation timed in the same run ("openblas"); "" if none
    double ref_median_s, ref_min_s, ref_max_s, ref_err;
    char ref_skip[240];    // why the row's reference was not measured ("pytorch skipped: ..."); "" if none
} bench_row;

double bench_row_rate(const bench_row *r);     // work / median in the row's unit (0 if not timed)
double bench_row_ref_rate(const bench_row *r); // the reference's rate (0 if none)
double bench_row_ratio(const bench_row *r);    // rate / reference rate, from the medians (0 if none)
double bench_row_ratio_min(const bench_row *r); // the same from the fastest runs of each

typedef struct {
    cg_device_info info;
    char gemm_rule[640];   // cg_gemm_describe at the time of the run
} bench_device;

#define BENCH_MAX_DEVICES 16

typedef struct {
    bench_row *rows;
    int n_rows, cap_rows;
    char started[40];      // UTC, ISO 8601
    char command[1024];
    char host[256];        // CPU model and count
    double load_start[3], load_end[3];
    char blas[256];        // OpenBLAS build and thread count
    int quick;
    int reps;
    bench_device devices[BENCH_MAX_DEVICES];
    int n_devices;
    struct bench_profile *profiles; // --profile: one per profiled case
    int n_profiles;
} bench_report;

// A kernel profile of one case (--profile), formatted when it was added.
typedef struct bench_profile {
    char suite[16], name[96], device[128];
    char *markdown, *json; // cg_kernel_profile_markdown / _json
} bench_profile;
// Formats p and appends it; CG_ERR_NOMEM only.
cg_status bench_report_add_profile(bench_report *r, const char *suite, const char *name, const cg_kernel_profile *p);

void bench_report_init(bench_report *r, int argc, char **argv);
bench_row *bench_report_add(bench_report *r); // zeroed row, or NULL when out of memory
void bench_report_add_device(bench_report *r, cg_runtime *rt);
void bench_report_finish(bench_report *r);    // records the load average at the end
void bench_report_free(bench_report *r);
// Writes DIR/bench.json, DIR/bench.csv and DIR/bench.md, each atomically; creates DIR.
cg_status bench_report_write(const bench_report *r, const char *dir);
void bench_report_print(const bench_report *r, FILE *out); // the markdown table
void bench_report_print_profiles(const bench_report *r, FILE *out); // --profile tables (DIR/profile.md)
char *bench_report_json(const bench_report *r);           // malloc'd
char *bench_report_csv(const bench_report *r);            // malloc'd
char *bench_report_markdown(const bench_report *r);       // malloc'd

// ---------------------------------------------------------------------------------------------
// Suites.

typedef struct {
    int reps;              // timed runs per case
    int warmup;            // untimed runs after the checked one
    int quick;             // tiny shapes (tests, smoke runs)
    cg_gemm_impl impls[3]; // GEMM paths to time; AUTO = what cg_gemm picks
    int n_impls;
    FILE *log;             // one line per case while running (NULL: quiet)
    const char *cases;     // comma-separated case names to run ("1024^3,D2"); NULL: all
    int profile;           // 1: the gemm, train and inception cases also record a kernel profile (after timing)
} bench_options;

// 1 when case `name` is selected by opt->cases: an entry equal to the name or to its first word
// ("D2" selects "D2 fwd", "D2 dX", "D2 dW").
int bench_case_selected(const bench_options *opt, const char *name);

typedef struct {
    const char *name;
    const char *measures;  // one line: what the suite times
    // 1 when the feature it measures is built; otherwise 0 and why in reason.
    int (*available)(char *reason, size_t len);
    // Runs every case on one device and appends rows. A wrong result or a failing case becomes a
    // "failed" row; only infrastructure errors (out of memory) are returned.
    cg_status (*run)(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep);
} bench_suite;

extern const bench_suite bench_suite_gemm; // suite_gemm.c
extern const bench_suite bench_suite_conv; // suite_conv.c
extern const bench_suite bench_suite_train; // suite_train.c
extern const bench_suite bench_suite_inception; // suite_inception.c
extern const bench_suite bench_suite_preprocess; // suite_preprocess.c
extern const bench_suite bench_suite_upscale; // suite_upscale.c
const bench_suite *const *bench_suites(int *count); // in the order `clgan bench` runs them
const bench_suite *bench_suite_find(const char *name);

// ---------------------------------------------------------------------------------------------
// Timing (registry.c): warmup untimed calls, then reps timed reps, each of one call or, with
// min_rep_s > 0, of as many calls as last min_rep_s (sized by one more untimed call first); times
// are per call. Each call must finish its work. BENCH_MIN_REP_S is the suites' min_rep_s; 0 where
// the number of calls must not depend on the time (a training iteration: every MPI rank runs the
// same collectives).
#ifndef BENCH_MIN_REP_S
#define BENCH_MIN_REP_S 0.02
#endif
typedef cg_status (*bench_fn)(void *ctx);
cg_status bench_time(bench_fn fn, void *ctx, int warmup, int reps, double min_rep_s, double *median, double *min,
                     double *max);

// ---------------------------------------------------------------------------------------------
// Python peers (bench_python.c): /usr/bin/python3 SCRIPT ARGS (script relative to $CLGAN_SOURCE_DIR,
// pytorch-fid's wheels from $CLGAN_PYDEPS on PYTHONPATH), reading the `key value` lines it prints.

#define BENCH_PEER_MAX 16
typedef struct {
    char key[BENCH_PEER_MAX][32];
    double value[BENCH_PEER_MAX];
    int n;
    char skip[240];  // why there is no result: the script's `skip REASON`, a missing file, or a failure
    char last[240];  // the last line that was not `key value` (a traceback's last line)
} bench_peer;

// 1 when the script ran and printed a positive median_s; else 0 and out->skip says why.
int bench_peer_run(const char *script, const char *const *args, bench_peer *out);
double bench_peer_get(const bench_peer *p, const char *key); // 0 when the key is missing
// Sets row's reference columns from median_s, min_s, max_s (times work_scale) and err.
void bench_peer_apply(bench_row *row, const char *name, const bench_peer *p, double work_scale);
// Notes on row that reference `name` was skipped and why (reported, never a ratio).
void bench_peer_skip_note(bench_row *row, const char *name, const char *reason);

// ---------------------------------------------------------------------------------------------
// Training iterations (train_iteration.c): the trainer's own iteration (cg_trainer_iterate) with one
// critic step and one generator step, the model type's default hyperparameters (WGAN: clipping;
// WGAN-GP: the gradient penalty), random images; median and minimum of reps after a checked one.

typedef struct {
    cg_model_type type;
    int batch, image_size;
    double median_ms, min_ms; // per iteration
    double images_per_s;      // batch / median
} cg_bench_iter;

cg_status bench_train_iteration(cg_runtime *rt, const cg_model_config *mc, int batch, int reps, cg_bench_iter *out);
// The same; with prof != NULL, `reps` more iterations run after the timed ones under a kernel
// profile (prof->iterations = reps; free with cg_kernel_profile_free).
cg_status bench_train_iteration_profiled(cg_runtime *rt, const cg_model_config *mc, int batch, int reps,
                                         cg_bench_iter *out, cg_kernel_profile *prof);

// The train suite's cases, shared by the single-process and the MPI bodies: one per model type
// (dcgan, wgan, wgan-gp, vanilla) that opt selects, DCGAN 64x64 batch 64 nz 100 ngf = ndf = 64, or
// under --quick 32x32 batch 2 ngf = ndf = 8 (batch is per rank under MPI). Calls run for each in
// order and stops at the first status it returns other than CG_OK.
typedef cg_status (*bench_train_case)(cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                                      const bench_options *opt, bench_report *rep);
cg_status bench_train_cases(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep,
                            bench_train_case run);
// A new row of the train suite for mc at batch: suite, "<type>[ <suffix>]", shape, device, impl, reps,
// work = batch, unit images/s; NULL when out of host memory.
bench_row *bench_train_row(bench_report *rep, cg_runtime *rt, int device_index, const cg_model_config *mc, int batch,
                           const char *suffix, const char *impl, int reps);
// The train suite under mpirun (suite_train_mpi.c; suite_train.c calls it when there are several ranks).
cg_status bench_train_mpi(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep);

// ---------------------------------------------------------------------------------------------
// GEMM cases (gemm_case.c). A case owns random host operands and device buffers for one shape.

typedef struct {
    const char *name;
    int ta, tb;
    size_t m, n, k;
    const char *note;
} bench_gemm_shape;

// The shapes of the gemm suite: 1024^3, 2048^3 and the DCGAN 64x64 batch-64 layer products;
// quick: a few small odd shapes.
const bench_gemm_shape *bench_gemm_shapes(int quick, int *count);

typedef struct bench_gemm_case bench_gemm_case;
cg_status bench_gemm_case_create(cg_runtime *rt, const bench_gemm_shape *s, uint64_t seed, bench_gemm_case **out);
void bench_gemm_case_free(bench_gemm_case *c);
cg_status bench_gemm_case_run(bench_gemm_case *c);         // one product on the device, finished
// Reads C back and compares `samples` entries with double-precision dot products; *err is the worst
// error relative to sum |a b| of the entry. CG_ERR_NUMERIC when above the tolerance.
cg_status bench_gemm_case_check(bench_gemm_case *c, int samples, double *err);
// Relative error of entry (i, j) of c (row-major, ldc) against op(A) op(B) of host a, b.
double bench_gemm_entry_err(const bench_gemm_shape *s, const float *a, const float *b, const float *c, size_t ldc,
                            size_t i, size_t j);
double bench_gemm_tolerance(size_t k);
const float *bench_gemm_case_a(const bench_gemm_case *c); // the case's host operands
const float *bench_gemm_case_b(const bench_gemm_case *c);

// OpenBLAS on the host.
void bench_blas_sgemm(const bench_gemm_shape *s, const float *a, const float *b, float *c);
void bench_blas_describe(char *buf, size_t len);

// ---------------------------------------------------------------------------------------------
// The GEMM tuner (tune.c).

typedef struct {
    int quick;             // a tiny search space and small sizes (tests)
    size_t size;           // the square product the Xgemm and own-kernel searches time
    int reps;              // timed runs per candidate
    FILE *progress;        // progress bar (NULL: none)
    FILE *log;             // one line per candidate and ladder step (NULL: none)
} bench_tune_options;

typedef struct {
    int candidates, valid, rejected;
    double default_gflops;      // CLBlast as found (before this search), at size^3
    double clblast_gflops;      // best CLBlast candidate at size^3
    double own_gflops;          // best own-kernel work-group at size^3
    size_t crossover_direct;    // XGEMM_MIN_INDIRECT_SIZE chosen
    double own_min_mnk;         // chosen threshold for the own kernels (0: always, inf: never)
} bench_tune_summary;

// Searches CLBlast's Xgemm, XgemmDirect and GemmRoutine parameters and the own kernels' work-group
// on rt's device; every candidate's result is checked before it is timed. *out receives the best
// (not yet saved or applied).
cg_status bench_tune(cg_runtime *rt, const bench_tune_options *opt, cg_gemm_tuning *out, bench_tune_summary *sum);

// ---------------------------------------------------------------------------------------------
// Metrics: FID's matrix step (fid_bench.c) and the Inception forward (inception_bench.c).

// FID's matrix step on random full-rank d x d statistics: first checks that FID(s, s) is ~0 and FID
// of two diagonal covariances matches its closed form, then times `reps` FID calls. *best_ms is the
// fastest.
cg_status cg_fid_bench(int d, int reps, double *best_ms);

// Images per second of the forward at `batch` on rt's device, random weights (or `weights`), best
// of `reps` timed passes after one warm-up; the output is checked finite first.
cg_status cg_inception_bench(cg_runtime *rt, const char *weights, int batch, int reps, double *images_per_s);
// The same; with prof != NULL, one more forward after the timed ones runs under a kernel profile.
cg_status cg_inception_bench_profiled(cg_runtime *rt, const char *weights, int batch, int reps, double *images_per_s,
                                      cg_kernel_profile *prof);

// ---------------------------------------------------------------------------------------------
// Preprocessing stages (preprocess_stages.c): images/s of each stage and of the whole pipeline on
// the selected device.

typedef struct {
    size_t images;           // images timed (each stage sees the same images)
    double list_s;           // reading lists and the folder
    double filter_s;         // landmark geometry (frontal metrics, boxes) for all images
    double decode_s;         // host decoding on the pool, wall time
    int threads;
    double upload_s;         // host -> device copies of the packed batches
    double crop_resize_s;    // crop/resize kernel (after upload)
    double brightness_s;     // brightness kernels (after upload)
    double pipeline_s;       // cg_preprocess_run end to end (no output file)
    double decode_ips, filter_ips, upload_ips, crop_resize_ips, brightness_ips, pipeline_ips;
} cg_pp_bench;

// p: input and filter settings (output is ignored); max_images: cap (0: p->limit or all).
cg_status cg_preprocess_bench(cg_runtime *rt, const cg_pp_params *p, size_t max_images, cg_pp_bench *out);

#endif
