// test_device.c — device listing and selection by index, name, type, and the error for no match.
// oclgrind: run
#include "test_util.h"

// Fake devices so selection is tested on a mixed machine even when only PoCL is installed.
static cg_device_info fake(int index, int plat, int dev, const char *pname, const char *name, cl_device_type t) {
    cg_device_info d;
    memset(&d, 0, sizeof d);
    d.index = index;
    d.platform_index = plat;
    d.device_index = dev;
    snprintf(d.platform_name, sizeof d.platform_name, "%s", pname);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.vendor, sizeof d.vendor, "%s", pname);
    d.type = t;
    return d;
}

static int pick(const cg_device_info *devs, int n, const char *text) {
    cg_device_selector sel;
    char storage[128];
    if (cg_selector_parse(text, &sel, storage, sizeof storage) != CG_OK) return -2;
    int picked = -1;
    return cg_device_select(devs, n, &sel, &picked) == CG_OK ? picked : -1;
}

static void test_selection_rules(void) {
    cg_device_info devs[4] = {
        fake(0, 0, 0, "Portable Computing Language", "pthread-haswell-AMD EPYC", CL_DEVICE_TYPE_CPU),
        fake(1, 1, 0, "NVIDIA CUDA", "NVIDIA H100", CL_DEVICE_TYPE_GPU),
        fake(2, 1, 1, "NVIDIA CUDA", "NVIDIA A10", CL_DEVICE_TYPE_GPU),
        fake(3, 2, 0, "Intel(R) OpenCL Graphics", "Intel(R) Arc(TM) A770", CL_DEVICE_TYPE_GPU),
    };
    CHECK(pick(devs, 4, "") == 1, "default picks the first GPU");
    CHECK(pick(devs, 4, "cpu") == 0, "type cpu");
    CHECK(pick(devs, 4, "gpu") == 1, "type gpu");
    CHECK(pick(devs, 4, "2") == 2, "global index");
    CHECK(pick(devs, 4, "a10") == 2, "case-insensitive device name substring");
    CHECK(pick(devs, 4, "intel") == 3, "platform name substring");
    CHECK(pick(devs, 4, "1:1") == 2, "platform index : device index");
    CHECK(pick(devs, 4, "nvidia:a10") == 2, "platform name : device name");
    CHECK(pick(devs, 4, "portable:0") == 0, "platform name : device index");
    CHECK(pick(devs, 1, "") == 0, "no GPU: the first CPU");

    cg_device_selector sel = {.platform = "nvidia", .device = "h100", .type = CG_DEVICE_CPU};
    int picked;
    CHECK_FAILS(cg_device_select(devs, 4, &sel, &picked), CG_ERR_NOT_FOUND, "type=cpu");
    cg_device_selector bad = {.device = "radeon"};
    CHECK_FAILS(cg_device_select(devs, 4, &bad, &picked), CG_ERR_NOT_FOUND, "device='radeon'");
    CHECK(strstr(cg_last_error(), "NVIDIA A10") != NULL, "the error lists the devices present: %s", cg_last_error());
    cg_device_selector idx = {.device = "9"};
    CHECK_FAILS(cg_device_select(devs, 4, &idx, &picked), CG_ERR_NOT_FOUND, "'9'");
}

static void test_real_devices(void) {
    cg_device_info *devs = NULL;
    int n = 0;
    cg_status st = cg_devices_list(&devs, &n);
    if (st == CG_ERR_NO_DEVICE) test_skip("opencl", "%s", cg_last_error());
    CHECK_OK(st);
    CHECK(n >= 1, "at least one device");
    for (int i = 0; i < n; i++) {
        CHECK(devs[i].index == i, "stable index");
        CHECK(devs[i].name[0] && devs[i].platform_name[0], "names present");
        CHECK(devs[i].compute_units > 0 && devs[i].global_mem > 0 && devs[i].max_work_group > 0,
              "capabilities of %s", devs[i].name);
        CHECK(strstr(devs[i].opencl_c, "OpenCL C") != NULL, "OpenCL C version '%s'", devs[i].opencl_c);
        // Selecting by the device's own index and name finds it.
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        CHECK(pick(devs, n, idx) == i, "select by index %d", i);
        CHECK(pick(devs, n, devs[i].name) >= 0, "select by name %s", devs[i].name);
    }
    int want_cpu = -1;
    for (int i = 0; i < n && want_cpu < 0; i++)
        if (devs[i].type & CL_DEVICE_TYPE_CPU) want_cpu = i;
    if (want_cpu >= 0) CHECK(pick(devs, n, "cpu") == want_cpu, "type cpu picks the first CPU");
    CHECK(pick(devs, n, "no-such-device-xyz") == -1, "a selector that matches nothing fails");
    free(devs);
}

int main(void) {
    test_selection_rules();
    test_real_devices();
    return test_finish("device");
}
