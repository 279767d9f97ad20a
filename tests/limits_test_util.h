// limits_test_util.h — the limits tests' runtime: the default device (as test_runtime picks it)
// under a device profile, with its largest allocation and global memory optionally lowered further.
#ifndef CLGAN_LIMITS_TEST_UTIL_H
#define CLGAN_LIMITS_TEST_UTIL_H

#include "test_util.h"

// profile: NULL or a profile name; max_alloc, global_mem: 0 keeps what the device (and profile) say.
static inline cg_runtime *limits_runtime(const char *profile, uint64_t max_alloc, uint64_t global_mem) {
    cg_device_info *devs = NULL;
    int count = 0;
    if (cg_devices_list(&devs, &count) != CG_OK || count == 0)
        test_skip("opencl", "no OpenCL device available (%s)", cg_last_error());
    cg_device_selector sel = {0};
    char storage[256];
    const char *env = getenv("CLGAN_DEVICE");
    int picked = -1;
    if ((env && *env && cg_selector_parse(env, &sel, storage, sizeof storage) != CG_OK) ||
        cg_device_select(devs, count, &sel, &picked) != CG_OK) {
        fprintf(stderr, "device selection failed: %s\n", cg_last_error());
        exit(1);
    }
    cg_device_info dev = devs[picked];
    free(devs);
    if (max_alloc) dev.max_alloc = max_alloc;
    if (global_mem) dev.global_mem = global_mem;
    cg_runtime_options opt = {0};
    opt.profile = profile ? profile : "";
    cg_runtime *rt = NULL;
    if (cg_runtime_create(&dev, &opt, &rt) != CG_OK) {
        fprintf(stderr, "runtime creation failed: %s\n", cg_last_error());
        exit(1);
    }
    return rt;
}

#endif
