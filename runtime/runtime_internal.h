// runtime_internal.h — the cg_runtime struct, shared by the runtime's own files only.
#ifndef CLGAN_RUNTIME_INTERNAL_H
#define CLGAN_RUNTIME_INTERNAL_H

#include "runtime.h"

typedef struct {
    char *key; // family name + options, or source hash + options
    cl_program program;
} cg_program_entry;

typedef struct {
    char *family;
    char *name;
    cl_kernel kernel;
} cg_kernel_entry;

// How cg_gemm chooses between CLBlast and the own kernels (set by gemm_tuning.c, read by gemm.c).
typedef struct {
    cg_gemm_impl force;   // AUTO: the rule below
    int own;              // the own kernels may run on this device
    double own_min_mnk;   // ... for products with m*n*k at least this
    int own_lx, own_ly;   // work-group of the own micro-kernel
    int own_kc;           // k block of the own kernels (0: the whole k at once)
    int own_tile;         // micro-kernel tile, CG_GEMM_TILE_6X16 .. (never AUTO once set)
    char source[320];     // where the rule came from (tuning file or defaults)
} cg_gemm_policy;

struct cg_runtime {
    cg_device_info dev;
    cl_context ctx;
    cl_command_queue queue;
    char cache_dir[1024];
    int disk_cache;
    char kernel_dir[1024]; // "" = embedded sources
    size_t work_group;
    size_t kernel_work_group_cap; // a profile's stand-in for kernels limited by registers (0: none)
    size_t launch_split;          // most work-items of one 1-D enqueue (CG_LAUNCH_SPLIT)
    size_t grid_split;            // most work-groups of one enqueue in dimensions 1 and 2 (CG_GRID_SPLIT)
    char build_options[512];

    cg_program_entry *programs;
    int n_programs, cap_programs;
    cg_kernel_entry *kernels;
    int n_kernels, cap_kernels;
    cg_program_stats stats;

    cl_mem gemm_temp; // CLBlast's temporary buffer, grown on demand
    size_t gemm_temp_bytes;
    cg_gemm_policy gemm_policy;
    struct cg_kprofile *prof; // kernel profile being recorded (kernel_profile.c), NULL when none
};

// A profile's cap on every kernel's work-group (profile.c): 0 when the profile has none.
size_t cg_device_profile_kernel_cap(const char *name);
// The local size a 1-D launch of k uses: the vendor's, or less where the kernel or profile allows less.
size_t cg_kernel_local_size(const cg_runtime *rt, cl_kernel k);

// Program cache on disk (program_cache.c). Both return CG_OK or a status with a detail message;
// a missing, corrupt or foreign entry is reported as CG_ERR_NOT_FOUND / CG_ERR_FORMAT and never used.
cg_status cg_disk_cache_load(cg_runtime *rt, const char *key, cl_program *out);
cg_status cg_disk_cache_store(cg_runtime *rt, const char *key, cl_program prog);

// Returns a malloc'd copy of a compiler log whose positions name the files behind the #line
// markers of `source` (build_log.c).
char *cg_build_log_map(const char *source, const char *log);

// GEMM (gemm.c, gemm_own.c, gemm_tuning.c). cg_gemm_tuning_apply sets the default rule for the
// device and applies its stored tuning; it warns (once per process) instead of failing.
cg_status cg_gemm_temp_reserve(cg_runtime *rt, size_t bytes);
size_t cg_gemm_temp_bytes(const cg_runtime *rt); // its size now (tests)
cg_status cg_gemm_own(cg_runtime *rt, const cg_gemm_args *g, size_t a_stride, size_t b_stride, size_t c_stride,
                      size_t batch);
cg_status cg_gemm_tuning_apply(cg_runtime *rt);

#endif
