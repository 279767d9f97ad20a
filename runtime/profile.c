// profile.c — device profiles: make the runtime treat a device (PoCL's CPU device in CI) as a given
// GPU, so the GPU code paths run without a GPU: the vendor's table row and options, GPU-sized limits
// (work-group, local memory, allocation), the GPU type (GEMM through CLBlast, GPU im2col variants).
// Selected by CLGAN_DEVICE_PROFILE or cg_runtime_options.profile.
#include "runtime_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *platform, *vendor; // what that vendor's driver reports (picks its vendor-table row)
    size_t max_work_group;
    uint64_t local_mem;
    uint64_t max_alloc; // 0: a quarter of global memory, the minimum OpenCL allows and what GPUs report
    size_t kernel_cap;  // every kernel's CL_KERNEL_WORK_GROUP_SIZE lowered to this (0: as reported), as
                        // register pressure does on GPUs; not a power of two, so no launch may assume one
} cg_profile;

#define KIB ((uint64_t)1024)
static const cg_profile profiles[] = {
    {"amd-rdna2", "AMD Accelerated Parallel Processing", "Advanced Micro Devices, Inc.", 256, 64 * KIB, 0, 0},
    {"amd-gcn", "AMD Accelerated Parallel Processing", "Advanced Micro Devices, Inc.", 256, 32 * KIB, 0, 0},
    {"nvidia-ampere", "NVIDIA CUDA", "NVIDIA Corporation", 1024, 48 * KIB, 0, 0},
    {"intel-xe", "Intel(R) OpenCL Graphics", "Intel(R) Corporation", 512, 64 * KIB, 0, 0},
    // Deliberately small limits: every launch and allocation must respect what the device reports,
    // and kernels allow 48 work-items only.
    {"small", "clgan small-limits profile", "clgan", 64, 16 * KIB, 64 * KIB * KIB, 48},
};
#define N_PROFILES (sizeof profiles / sizeof profiles[0])

const char *cg_device_profile_names(void) { return "amd-rdna2|amd-gcn|nvidia-ampere|intel-xe|small"; }

size_t cg_device_profile_kernel_cap(const char *name) {
    for (size_t i = 0; name && i < N_PROFILES; i++)
        if (!strcmp(profiles[i].name, name)) return profiles[i].kernel_cap;
    return 0;
}

static uint64_t min_nonzero(uint64_t a, uint64_t b) { return a == 0 ? b : b == 0 ? a : a < b ? a : b; }

cg_status cg_device_profile_apply(cg_device_info *dev, const char *name) {
    const cg_profile *p = NULL;
    for (size_t i = 0; i < N_PROFILES; i++)
        if (!strcmp(profiles[i].name, name)) p = &profiles[i];
    if (!p)
        return cg_fail(CG_ERR_CONFIG, "unknown device profile '%s' (CLGAN_DEVICE_PROFILE): expected one of %s", name,
                       cg_device_profile_names());
    // Names and vendor strings change, so caches and tuning files keyed by them stay apart.
    char name_buf[sizeof dev->name];
    snprintf(name_buf, sizeof name_buf, "%.100s [profile %s]", dev->name, p->name);
    memcpy(dev->name, name_buf, sizeof name_buf);
    snprintf(dev->platform_name, sizeof dev->platform_name, "%s", p->platform);
    snprintf(dev->vendor, sizeof dev->vendor, "%s", p->vendor);
    dev->type = CL_DEVICE_TYPE_GPU;
    // A profile only lowers limits: the real device must still be able to run every launch.
    if (dev->max_work_group == 0 || p->max_work_group < dev->max_work_group) dev->max_work_group = p->max_work_group;
    dev->local_mem = min_nonzero(dev->local_mem, p->local_mem);
    dev->max_alloc = min_nonzero(dev->max_alloc, p->max_alloc ? p->max_alloc : dev->global_mem / 4);
    return CG_OK;
}
