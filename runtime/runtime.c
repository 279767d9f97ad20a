// runtime.c — creates the context and queue for one device (options from vendor.c, profile.c) and launches kernels.
#include "kernel_profile.h"
#include "fault.h"
#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

static void default_cache_dir(char *buf, size_t len) {
    const char *env = getenv("CLGAN_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (env && *env) snprintf(buf, len, "%s", env);
    else if (xdg && *xdg) snprintf(buf, len, "%s/clgan", xdg);
    else if (home && *home) snprintf(buf, len, "%s/.cache/clgan", home);
    else snprintf(buf, len, "/tmp/clgan-cache");
}

cg_status cg_runtime_create(const cg_device_info *dev, const cg_runtime_options *opt, cg_runtime **out) {
    *out = NULL;
    cg_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    rt->dev = *dev;
    const char *profile = opt && opt->profile ? opt->profile : getenv("CLGAN_DEVICE_PROFILE");
    if (profile && *profile) {
        cg_status pst = cg_device_profile_apply(&rt->dev, profile);
        if (pst != CG_OK) {
            free(rt);
            return pst;
        }
    }
    cg_status vst = cg_device_build_options(&rt->dev, rt->build_options, sizeof rt->build_options);
    if (vst != CG_OK) {
        free(rt);
        return vst;
    }
    rt->work_group = cg_vendor_work_group(&rt->dev);
    rt->kernel_work_group_cap = profile && *profile ? cg_device_profile_kernel_cap(profile) : 0;
    cg_runtime_set_launch_split(rt, 0, 0);
    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    rt->ctx = clCreateContext(props, 1, &dev->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        free(rt);
        return cg_fail(err, "cannot create an OpenCL context on %s: %s", dev->name, cg_status_name(err));
    }
    rt->queue = clCreateCommandQueue(rt->ctx, dev->device, 0, &err);
    if (err != CL_SUCCESS) {
        clReleaseContext(rt->ctx);
        free(rt);
        return cg_fail(err, "cannot create a command queue on %s: %s", dev->name, cg_status_name(err));
    }
    if (opt && opt->cache_dir) snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", opt->cache_dir);
    else default_cache_dir(rt->cache_dir, sizeof rt->cache_dir);
    const char *no_cache = getenv("CLGAN_NO_DISK_CACHE");
    rt->disk_cache = !(opt && opt->disable_disk_cache) && !(no_cache && *no_cache && strcmp(no_cache, "0"));
    const char *kdir = opt && opt->kernel_dir ? opt->kernel_dir : getenv("CLGAN_KERNEL_DIR");
    if (kdir) snprintf(rt->kernel_dir, sizeof rt->kernel_dir, "%s", kdir);
    (void)cg_gemm_tuning_apply(rt); // warns and keeps the defaults when the stored tuning cannot be used
    *out = rt;
    return CG_OK;
}

void cg_runtime_free(cg_runtime *rt) {
    if (!rt) return;
    if (rt->prof) {
        cg_kernel_profile unused;
        (void)cg_profile_end(rt, &unused);
        cg_kernel_profile_free(&unused);
    }
    clFinish(rt->queue);
    for (int i = 0; i < rt->n_kernels; i++) {
        clReleaseKernel(rt->kernels[i].kernel);
        free(rt->kernels[i].family);
        free(rt->kernels[i].name);
    }
    for (int i = 0; i < rt->n_programs; i++) {
        clReleaseProgram(rt->programs[i].program);
        free(rt->programs[i].key);
    }
    free(rt->kernels);
    free(rt->programs);
    if (rt->gemm_temp) clReleaseMemObject(rt->gemm_temp);
    clReleaseCommandQueue(rt->queue);
    clReleaseContext(rt->ctx);
    free(rt);
}

cl_context cg_runtime_context(const cg_runtime *rt) { return rt->ctx; }
cl_command_queue cg_runtime_queue(const cg_runtime *rt) { return rt->queue; }
const cg_device_info *cg_runtime_device(const cg_runtime *rt) { return &rt->dev; }
const char *cg_runtime_cache_dir(const cg_runtime *rt) { return rt->cache_dir; }
cg_program_stats cg_runtime_program_stats(const cg_runtime *rt) { return rt->stats; }
size_t cg_runtime_work_group(const cg_runtime *rt) { return rt->work_group; }

cg_status cg_runtime_finish(cg_runtime *rt) {
    CG_CL(clFinish(rt->queue));
    return CG_OK;
}

cg_status cg_set_args(cl_kernel k, const cg_arg *args, size_t count) {
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char name[128] = "?";
            clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
            return cg_fail(err, "setting argument %zu of kernel %s failed: %s", i, name, cg_status_name(err));
        }
    }
    return CG_OK;
}

size_t cg_kernel_local_size(const cg_runtime *rt, cl_kernel k) {
    size_t local = rt->work_group, kernel_max = 0;
    if (clGetKernelWorkGroupInfo(k, rt->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max,
                                 NULL) == CL_SUCCESS && kernel_max > 0 && kernel_max < local)
        local = kernel_max;
    if (rt->kernel_work_group_cap && rt->kernel_work_group_cap < local) local = rt->kernel_work_group_cap;
    return local ? local : 1;
}

void cg_runtime_set_launch_split(cg_runtime *rt, size_t items, size_t groups) {
    rt->launch_split = items ? items : CG_LAUNCH_SPLIT;
    rt->grid_split = groups ? groups : CG_GRID_SPLIT;
}

size_t cg_runtime_grid_split(const cg_runtime *rt) { return rt->grid_split; }

static cg_status enqueue(cg_runtime *rt, cl_kernel k, size_t offset, size_t global, size_t local) {
    cl_event ev, *evp = cg_profile_event_slot(rt, &ev);
    cl_int err = cg_fault_launch(k);
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(rt->queue, k, 1, offset ? &offset : NULL, &global, &local, 0, NULL, evp);
    if (err == CL_SUCCESS) {
        if (evp) cg_profile_record(rt, k, NULL, ev);
        return CG_OK;
    }
    char name[128] = "?";
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    return cg_fail(err, "launching kernel %s (global %zu at offset %zu, local %zu) on %s failed: %s", name, global,
                   offset, local, rt->dev.name, cg_status_name(err));
}

// Kernels of 1-D launches index with get_global_id, which includes the offset: a launch of more
// than launch_split items runs as several enqueues of whole work-groups.
cg_status cg_launch1d_args(cg_runtime *rt, cl_kernel k, size_t n, const cg_arg *args, size_t count) {
    cg_status st = cg_set_args(k, args, count);
    if (st != CG_OK || n == 0) return st;
    size_t local = cg_kernel_local_size(rt, k);
    size_t global = (n + local - 1) / local * local;
    size_t step = rt->launch_split / local * local;
    if (step == 0) step = local;
    for (size_t at = 0; at < global; at += step)
        CG_TRY(enqueue(rt, k, at, global - at < step ? global - at : step, local));
    return CG_OK;
}

// Kernels of group launches index with get_group_id, which ignores offsets: one enqueue. Their
// group counts are channels or samples, far below any device's limit.
static cg_status launch_groups(cg_runtime *rt, cl_kernel k, size_t groups, size_t local) {
    if (groups > rt->launch_split / local)
        return cg_fail(CG_ERR_INVALID_ARG, "%zu work-groups of %zu exceed the %zu work-items one launch may have",
                       groups, local, rt->launch_split);
    return enqueue(rt, k, 0, groups * local, local);
}

cg_status cg_launch_groups_args(cg_runtime *rt, cl_kernel k, size_t groups, const cg_arg *args, size_t count) {
    cg_status st = cg_set_args(k, args, count);
    if (st != CG_OK || groups == 0) return st;
    // A power of two: the kernels' tree reductions need none, but their fixed order depends on it.
    size_t limit = cg_kernel_local_size(rt, k), local = 1;
    cl_ulong static_local = 0;
    clGetKernelWorkGroupInfo(k, rt->dev.device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof static_local, &static_local, NULL);
    if (rt->dev.local_mem > static_local) {
        size_t fit = (size_t)((rt->dev.local_mem - static_local) / sizeof(float));
        if (fit < limit) limit = fit;
    }
    while (local * 2 <= limit) local *= 2;
    CG_CL(clSetKernelArg(k, (cl_uint)count, local * sizeof(float), NULL));
    return launch_groups(rt, k, groups, local);
}

cg_status cg_launch_per_group_args(cg_runtime *rt, cl_kernel k, size_t groups, const cg_arg *args,
                                   size_t count) {
    cg_status st = cg_set_args(k, args, count);
    if (st != CG_OK || groups == 0) return st;
    return launch_groups(rt, k, groups, cg_kernel_local_size(rt, k));
}
