// runtime.h — public API of clgan's OpenCL runtime: devices, programs and kernels, launches,
// tensors, GEMM and its tuning, random numbers. Knows nothing about nets. What needs no OpenCL
// (status, configuration, clock, progress, files, hashing) is in base.h, included here.
#ifndef CLGAN_RUNTIME_H
#define CLGAN_RUNTIME_H

#include "base.h"

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

// Evaluate an OpenCL call; on error record which call failed and return its status.
#define CG_CL(call)                                                                                  \
    do {                                                                                             \
        cl_int cg_cl_err_ = (call);                                                                  \
        if (cg_cl_err_ != CL_SUCCESS)                                                                \
            return cg_fail(cg_cl_err_, "%s failed: %s (%s:%d)", #call,                               \
                           cg_status_name(cg_cl_err_), __FILE__, __LINE__);                          \
    } while (0)
// ---------------------------------------------------------------------------------------------
// Devices.

typedef enum { CG_DEVICE_ANY = 0, CG_DEVICE_GPU, CG_DEVICE_CPU } cg_device_type;

typedef struct {
    int index;             // stable index over all platforms (platform order, then device order)
    int platform_index;
    int device_index;      // index within its platform
    cl_platform_id platform;
    cl_device_id device;
    char platform_name[128];
    char platform_version[128];
    char name[128];
    char vendor[128];
    char driver[64];
    char opencl_c[64];
    cl_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem;
    uint64_t local_mem;
    uint64_t max_alloc;
    size_t max_work_group;
    int fp16;
    int fp64;
} cg_device_info;

// Lists every device of every platform. *out is malloc'd; free it with free().
cg_status cg_devices_list(cg_device_info **out, int *count);

typedef struct {
    const char *platform; // NULL/"" = any; an index ("0") or a case-insensitive name substring
    const char *device;   // NULL/"" = any; an index within the platform or a name substring
    cg_device_type type;  // any, gpu or cpu
} cg_device_selector;

// Parses a compact selector: "1" (global index), "gpu", "cpu", "any", "nvidia" (name substring of
// device or platform), or "PLATFORM:DEVICE" (each an index or substring).
cg_status cg_selector_parse(const char *text, cg_device_selector *sel, char *storage, size_t storage_len);
// Picks a device: first match of sel; with an empty selector the first GPU, else the first CPU,
// else the first device. Fails with CG_ERR_NOT_FOUND naming the selector and the devices present.
cg_status cg_device_select(const cg_device_info *devs, int count, const cg_device_selector *sel, int *picked);
// This process's rank among the MPI ranks on its host (train/dist.c): selector lists and empty
// selectors then pick per rank (device.c). Default 0 of 1: the selection above, unchanged.
void cg_device_set_rank(int local_rank, int local_size);
const char *cg_device_type_name(cl_device_type t);

// ---------------------------------------------------------------------------------------------
// Runtime: one device, one context, one in-order queue, program and kernel caches.

typedef struct cg_runtime cg_runtime;

typedef struct {
    int programs_built;   // compiled from source in this process
    int disk_hits;        // loaded from the on-disk binary cache
    int disk_writes;      // binaries written to the on-disk cache
    int disk_rejects;     // cache entries found corrupt or foreign and rebuilt
    int memory_hits;      // served from the in-memory program cache
} cg_program_stats;

typedef struct {
    const char *cache_dir;  // NULL: $CLGAN_CACHE_DIR, else $XDG_CACHE_HOME/clgan, else ~/.cache/clgan
    int disable_disk_cache; // 1: never read or write binaries on disk
    const char *kernel_dir; // NULL: embedded sources; else read cl/*.cl from this folder ($CLGAN_KERNEL_DIR)
    const char *profile;    // NULL: $CLGAN_DEVICE_PROFILE; else a device profile name (cg_device_profile_apply)
} cg_runtime_options;

cg_status cg_runtime_create(const cg_device_info *dev, const cg_runtime_options *opt, cg_runtime **out);
void cg_runtime_free(cg_runtime *rt);

cl_context cg_runtime_context(const cg_runtime *rt);
cl_command_queue cg_runtime_queue(const cg_runtime *rt);
const cg_device_info *cg_runtime_device(const cg_runtime *rt);
const char *cg_runtime_cache_dir(const cg_runtime *rt);
cg_program_stats cg_runtime_program_stats(const cg_runtime *rt);
size_t cg_runtime_work_group(const cg_runtime *rt);   // preferred 1-D work-group size (vendor table)
cg_status cg_runtime_finish(cg_runtime *rt);

// The vendor table (vendor.c): one row per vendor family, matched against the platform name first,
// then the device vendor. cg_vendor_name is the row's match text ("nvidia", "portable computing
// language", "default"); cg_vendor_build_options the row's own options.
const char *cg_vendor_name(const cg_device_info *dev);
const char *cg_vendor_build_options(const cg_device_info *dev);
size_t cg_vendor_work_group(const cg_device_info *dev);
// The device's OpenCL C version from CL_DEVICE_OPENCL_C_VERSION: 120 for "OpenCL C 1.2 ...", 0 unknown.
int cg_device_opencl_c_version(const cg_device_info *dev);
// The options every program built for dev gets, exactly: "-cl-std=CL1.2 -DCG_WG=64" (CL1.1 for an
// OpenCL C 1.1 device). Fails with CG_ERR_BUILD and a clear message for a device below OpenCL C 1.1.
cg_status cg_device_build_options(const cg_device_info *dev, char *buf, size_t len);
// Device profiles (profile.c): treat dev as a given GPU ("amd-rdna2", "amd-gcn", "nvidia-ampere",
// "intel-xe", or "small": work-group 64, kernels allowing 48, 16 KiB local memory, 64 MiB
// allocations). Sets the
// vendor's platform and vendor strings, the GPU type, and lowers the limits; CG_ERR_CONFIG for an
// unknown name. cg_runtime_create applies $CLGAN_DEVICE_PROFILE this way.
cg_status cg_device_profile_apply(cg_device_info *dev, const char *name);
const char *cg_device_profile_names(void); // "amd-rdna2|amd-gcn|..."
// The source of one kernel family exactly as the runtime builds it (common.cl, then FAMILY.cl, with
// #line markers), from kernel_dir (NULL: the embedded copies). *out is malloc'd.
cg_status cg_family_source(const char *kernel_dir, const char *family, char **out);
// The kernel families (the embedded cl/*.cl files except common.cl), NULL-terminated.
const char *const *cg_kernel_families(void);

// Programs. A program is one kernel family: common.cl followed by <family>.cl, with #line markers
// so build logs name the .cl file and line. Built once per (runtime, family, options).
cg_status cg_program_get(cg_runtime *rt, const char *family, const char *extra_options, cl_program *out);
// Builds arbitrary source (named for logs), through the same memory and disk caches.
cg_status cg_program_from_source(cg_runtime *rt, const char *name, const char *source,
                                 const char *extra_options, cl_program *out);
// Kernels are looked up once by (family, name) and cached; do not release the returned kernel.
cg_status cg_kernel_get(cg_runtime *rt, const char *family, const char *kernel, cl_kernel *out);

// The embedded kernel sources (generated at build time from cl/*.cl).
const char *cg_embedded_source(const char *file); // "rng.cl" -> source text, or NULL
const char *cg_embedded_name(size_t i);           // the i-th embedded file name, NULL past the end

// Kernel arguments: CG_ARG(x) passes variable x by value (its own size), CG_LOCAL(bytes) reserves
// local memory. Launches take them as a list: cg_launch1d(rt, k, n, CG_ARG(buf), CG_ARG(count)).
typedef struct {
    size_t size;
    const void *value; // NULL: local memory of `size` bytes
} cg_arg;
#define CG_ARG(x) ((cg_arg){sizeof(x), &(x)})
#define CG_LOCAL(bytes) ((cg_arg){(bytes), NULL})
// Expands to (array, count) for the *_args functions below.
#define CG_ARGS(...) (const cg_arg[]){__VA_ARGS__}, sizeof((const cg_arg[]){__VA_ARGS__}) / sizeof(cg_arg)
// Sets arguments 0..count-1 of k; an error names the kernel and the argument.
cg_status cg_set_args(cl_kernel k, const cg_arg *args, size_t count);

// Launch helper: 1-D global size rounded up to the work-group size; kernels guard `if (i >= n)`.
// The local size is the vendor's, or less where the kernel allows less; more than CG_LAUNCH_SPLIT
// work-items run as several enqueues with global offsets (kernels index with get_global_id).
#define cg_launch1d(rt, k, n, ...) cg_launch1d_args(rt, k, n, CG_ARGS(__VA_ARGS__))
cg_status cg_launch1d_args(cg_runtime *rt, cl_kernel k, size_t n, const cg_arg *args, size_t count);
// Work-group launch for reductions: `groups` work-groups of the largest power-of-two size the vendor
// table, the kernel and the device's local memory allow; one float of local scratch per work-item
// is added as the last argument. The kernel may use get_group_id and any tree over the group.
#define cg_launch_groups(rt, k, groups, ...) cg_launch_groups_args(rt, k, groups, CG_ARGS(__VA_ARGS__))
cg_status cg_launch_groups_args(cg_runtime *rt, cl_kernel k, size_t groups, const cg_arg *args, size_t count);
// `groups` work-groups of the size cg_launch1d would use for k (not necessarily a power of two),
// no scratch argument: for kernels with one group per item (bias_grad: one per channel).
#define cg_launch_per_group(rt, k, groups, ...) cg_launch_per_group_args(rt, k, groups, CG_ARGS(__VA_ARGS__))
cg_status cg_launch_per_group_args(cg_runtime *rt, cl_kernel k, size_t groups, const cg_arg *args, size_t count);
// Most work-items of one 1-D enqueue, and most work-groups of one enqueue in dimensions 1 and 2
// (NVIDIA allows 65,535), before a launch is split. -D tunables; cg_runtime_set_launch_split lowers
// them for tests (0 restores the default).
#ifndef CG_LAUNCH_SPLIT
#define CG_LAUNCH_SPLIT ((size_t)1 << 30)
#endif
#ifndef CG_GRID_SPLIT
#define CG_GRID_SPLIT ((size_t)65535)
#endif
void cg_runtime_set_launch_split(cg_runtime *rt, size_t items, size_t groups);
size_t cg_runtime_grid_split(const cg_runtime *rt);

// ---------------------------------------------------------------------------------------------
// Tensors: a view (buffer + element offset + NCHW shape) into a buffer the caller owns. float32.

typedef struct {
    cl_mem buf;
    size_t off; // in elements (floats)
    int n, c, h, w;
    // Elements between consecutive samples; 0 means contiguous (c*h*w). A non-zero stride lets a
    // branch write its channels straight into a wider concatenated output ([N, Ctotal, H, W]).
    size_t sn;
} cg_tensor;

static inline size_t cg_numel(cg_tensor t) { return (size_t)t.n * t.c * t.h * t.w; }
static inline size_t cg_sample_size(cg_tensor t) { return (size_t)t.c * t.h * t.w; }
static inline size_t cg_sample_stride(cg_tensor t) { return t.sn ? t.sn : cg_sample_size(t); }
static inline int cg_is_contiguous(cg_tensor t) { return t.sn == 0 || t.sn == cg_sample_size(t) || t.n <= 1; }
static inline cg_tensor cg_view(cl_mem buf, size_t off, int n, int c, int h, int w) {
    cg_tensor t = {buf, off, n, c, h, w, 0};
    return t;
}
// Channels [c0, c0 + c) of t, as a strided view (for concatenation without copies).
static inline cg_tensor cg_channels(cg_tensor t, int c0, int c) {
    cg_tensor v = {t.buf, t.off + (size_t)c0 * t.h * t.w, t.n, c, t.h, t.w, cg_sample_stride(t)};
    return v;
}

cg_status cg_buffer_alloc(cg_runtime *rt, size_t floats, cl_mem *out); // device buffer of floats
void cg_buffer_release(cl_mem buf);
// Read/write/fill/copy take contiguous views (CG_ASSERT); host arrays are dense NCHW.
cg_status cg_tensor_write(cg_runtime *rt, cg_tensor t, const float *host);  // blocking
cg_status cg_tensor_read(cg_runtime *rt, cg_tensor t, float *host);         // blocking
cg_status cg_tensor_fill(cg_runtime *rt, cg_tensor t, float value);
cg_status cg_tensor_copy(cg_runtime *rt, cg_tensor dst, cg_tensor src);     // same numel

// A growable scratch buffer (im2col columns, ...) shared by layers; contents are not preserved.
typedef struct {
    cl_mem buf;
    size_t floats;
} cg_workspace;
cg_status cg_workspace_reserve(cg_runtime *rt, cg_workspace *ws, size_t floats);
void cg_workspace_free(cg_workspace *ws);

// ---------------------------------------------------------------------------------------------
// GEMM over CLBlast, row-major: C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C.
// Offsets are in elements; lda/ldb/ldc are row strides of the stored (untransposed) matrices.

typedef struct {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    cl_mem a; size_t a_off, lda;
    cl_mem b; size_t b_off, ldb;
    cl_mem c; size_t c_off, ldc;
} cg_gemm_args;

cg_status cg_gemm(cg_runtime *rt, const cg_gemm_args *g);
// batch products; matrix i uses offsets off + i * stride.
cg_status cg_gemm_batched(cg_runtime *rt, const cg_gemm_args *g, size_t a_stride, size_t b_stride,
                          size_t c_stride, size_t batch);
// Plain C reference with the same conventions (host arrays; offsets applied by the caller).
void cg_gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);

// Which implementation runs a product: CLBlast, or clgan's own packed-panel kernels (cl/gemm.cl),
// chosen per device and shape: the own kernels for m*n*k >= own_min_mnk where the device's rule
// enables them (defaults by device type, replaced by `clgan tune` measurements; gemm_tuning.c).
typedef enum { CG_GEMM_AUTO = 0, CG_GEMM_CLBLAST, CG_GEMM_OWN } cg_gemm_impl;
const char *cg_gemm_impl_name(cg_gemm_impl impl);            // "auto", "clblast", "own"
void cg_gemm_force(cg_runtime *rt, cg_gemm_impl impl);       // benchmarks, tuning; AUTO = the rule
cg_gemm_impl cg_gemm_pick(const cg_runtime *rt, size_t m, size_t n, size_t k);
// One line on how this runtime picks: "own kernels for m*n*k >= 32768 (wg 32x2), else CLBlast;
// tuning: <file> | defaults for a CPU device".
void cg_gemm_describe(const cg_runtime *rt, char *buf, size_t len);

// Per-device GEMM tuning, stored as one small text file per device in the cache directory and
// applied when a runtime is created. CLBlast parameters are "Kernel.NAME" (Xgemm.MWG,
// XgemmDirect.WGD, GemmRoutine.XGEMM_MIN_INDIRECT_SIZE); every kernel named must list all of its
// parameters (CLBlastOverrideParameters rejects partial sets).
#define CG_TUNE_MAX_PARAMS 48
typedef struct {
    char name[48];
    size_t value;
} cg_tune_param;

// Register tiles of the own micro-kernel (cl/gemm.cl): rows x columns of C per work-item.
enum { CG_GEMM_TILE_AUTO = 0, CG_GEMM_TILE_6X16, CG_GEMM_TILE_6X32, CG_GEMM_TILE_12X32, CG_GEMM_TILE_COUNT };
const char *cg_gemm_tile_name(int tile);  // its kernel, "gemm_6x32"; "auto" for AUTO
int cg_gemm_tile_parse(const char *name); // "gemm_6x32" or "6x32" -> its CG_GEMM_TILE_*, "auto" -> 0; -1 unknown

typedef struct {
    char device[128], driver[64], platform[128]; // key: the device the values were measured on
    int n_params;
    cg_tune_param params[CG_TUNE_MAX_PARAMS];
    int own_enabled;            // the own kernels may run
    double own_min_mnk;         // ... for m*n*k at least this
    int own_lx, own_ly;         // work-group of the own micro-kernel
    int own_kc;                 // k block of the own kernels (0: the whole k at once)
    int own_tile;               // micro-kernel tile (CG_GEMM_TILE_*; 0: the device's rule, gemm_tuning.c)
    char note[512];             // what was measured (free text, one line)
} cg_gemm_tuning;

void cg_gemm_tuning_init(const cg_device_info *dev, cg_gemm_tuning *t); // key set, defaults for its type
int cg_gemm_tuning_matches(const cg_gemm_tuning *t, const cg_device_info *dev);
// <cache dir>/gemm-tuning-<hash of the key>.txt
void cg_gemm_tuning_path(const cg_runtime *rt, char *buf, size_t len);
cg_status cg_gemm_tuning_save(const char *path, const cg_gemm_tuning *t); // atomic, with a checksum
// CG_ERR_NOT_FOUND: no file; CG_ERR_FORMAT: malformed, truncated or checksum mismatch.
cg_status cg_gemm_tuning_load(const char *path, cg_gemm_tuning *t);
// Applies t to rt (CLBlast overrides for rt's device, own-kernel rule); refuses a foreign key.
cg_status cg_gemm_tuning_set(cg_runtime *rt, const cg_gemm_tuning *t, const char *source);

// ---------------------------------------------------------------------------------------------
// Philox4x32-10 counter-based RNG. Element i of the stream (seed, stream) is identical on the host
// and on every OpenCL device, bit for bit: uniform in (0, 1) and standard normal.

typedef struct {
    uint64_t seed;
    uint64_t stream; // selects an independent sequence for the same seed
} cg_rng;

void cg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
float cg_rng_uniform_at(cg_rng r, uint64_t i);
float cg_rng_normal_at(cg_rng r, uint64_t i);
// Host: out[j] = value at index (first + j).
void cg_rng_uniform_host(cg_rng r, uint64_t first, float *out, size_t n);
void cg_rng_normal_host(cg_rng r, uint64_t first, float *out, size_t n, float mean, float std);
// Device: t[j] = value at index (first + j); uniform scaled to [lo, hi), normal to (mean, std).
cg_status cg_rng_uniform(cg_runtime *rt, cg_rng r, uint64_t first, cg_tensor t, float lo, float hi);
cg_status cg_rng_normal(cg_runtime *rt, cg_rng r, uint64_t first, cg_tensor t, float mean, float std);

#endif
