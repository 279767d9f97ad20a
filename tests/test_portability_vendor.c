// test_portability_vendor.c — the vendor table matches the platform before the vendor (PoCL on an
// AMD or Intel CPU is PoCL), the OpenCL C version decides -cl-std, device profiles, and a runtime
// created under a profile on the real device.
// oclgrind: run
#include "test_util.h"

static cg_device_info fake(const char *platform, const char *vendor, const char *opencl_c, size_t max_wg) {
    cg_device_info d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform_name, sizeof d.platform_name, "%s", platform);
    snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
    snprintf(d.name, sizeof d.name, "fake device");
    snprintf(d.opencl_c, sizeof d.opencl_c, "%s", opencl_c);
    d.max_work_group = max_wg;
    d.type = CL_DEVICE_TYPE_GPU;
    return d;
}

static void expect_options(cg_device_info d, const char *want) {
    char buf[256] = "";
    CHECK_OK(cg_device_build_options(&d, buf, sizeof buf));
    CHECK(!strcmp(buf, want), "%s / %s / %s: options '%s', expected '%s'", d.platform_name, d.vendor, d.opencl_c,
          buf, want);
}

static void test_vendor_rows(void) {
    // PoCL reports the host CPU's vendor; its platform decides.
    cg_device_info pocl_amd = fake("Portable Computing Language", "AuthenticAMD", "OpenCL C 1.2 pocl", 4096);
    cg_device_info pocl_intel = fake("Portable Computing Language", "GenuineIntel", "OpenCL C 1.2 pocl", 4096);
    CHECK(!strcmp(cg_vendor_name(&pocl_amd), "portable computing language"), "PoCL on AMD: %s", cg_vendor_name(&pocl_amd));
    CHECK(!strcmp(cg_vendor_name(&pocl_intel), "portable computing language"), "PoCL on Intel: %s",
          cg_vendor_name(&pocl_intel));
    expect_options(pocl_amd, "-cl-std=CL1.2 -DCG_WG=64");
    expect_options(pocl_intel, "-cl-std=CL1.2 -DCG_WG=64");
    cg_device_info grind = fake("Oclgrind", "University of Bristol", "OpenCL C 1.2", 1024);
    CHECK(!strcmp(cg_vendor_name(&grind), "oclgrind"), "Oclgrind: %s", cg_vendor_name(&grind));

    cg_device_info nv = fake("NVIDIA CUDA", "NVIDIA Corporation", "OpenCL C 1.2 ", 1024);
    expect_options(nv, "-cl-std=CL1.2 -DCG_WG=256");
    cg_device_info amd = fake("AMD Accelerated Parallel Processing", "Advanced Micro Devices, Inc.", "OpenCL C 2.0 ", 256);
    expect_options(amd, "-cl-std=CL1.2 -DCG_WG=256");
    cg_device_info intel = fake("Intel(R) OpenCL Graphics", "Intel(R) Corporation", "OpenCL C 3.0 ", 512);
    expect_options(intel, "-cl-std=CL1.2 -DCG_WG=128");
    // A platform no row names: the vendor decides (Mesa's rusticl on a Radeon).
    cg_device_info rusticl = fake("rusticl", "AMD", "OpenCL C 1.2 ", 256);
    CHECK(!strcmp(cg_vendor_name(&rusticl), "amd"), "rusticl on AMD: %s", cg_vendor_name(&rusticl));
    cg_device_info unknown = fake("Mystery", "Nobody", "OpenCL C 1.2", 1024);
    CHECK(!strcmp(cg_vendor_name(&unknown), "default"), "unknown: %s", cg_vendor_name(&unknown));
    expect_options(unknown, "-cl-std=CL1.2 -DCG_WG=64");
    // The vendor's size never exceeds the device's maximum.
    cg_device_info tiny = fake("NVIDIA CUDA", "NVIDIA Corporation", "OpenCL C 1.2", 32);
    CHECK(cg_vendor_work_group(&tiny) == 32, "clamped to the device: %zu", cg_vendor_work_group(&tiny));
}

static void test_opencl_c_version(void) {
    cg_device_info d = fake("NVIDIA CUDA", "NVIDIA Corporation", "OpenCL C 1.2 ", 1024);
    CHECK(cg_device_opencl_c_version(&d) == 120, "1.2: %d", cg_device_opencl_c_version(&d));
    d = fake("Intel(R) OpenCL Graphics", "Intel(R) Corporation", "OpenCL C 3.0 ", 512);
    CHECK(cg_device_opencl_c_version(&d) == 300, "3.0: %d", cg_device_opencl_c_version(&d));
    // An OpenCL C 1.1 device builds the kernels as 1.1 instead of failing on -cl-std=CL1.2.
    cg_device_info old = fake("NVIDIA CUDA", "NVIDIA Corporation", "OpenCL C 1.1 ", 1024);
    CHECK(cg_device_opencl_c_version(&old) == 110, "1.1: %d", cg_device_opencl_c_version(&old));
    expect_options(old, "-cl-std=CL1.1 -DCG_WG=256");
    // Below 1.1: a clear message naming the device and its version.
    cg_device_info ancient = fake("Apple", "Apple", "OpenCL C 1.0 ", 256);
    char buf[128];
    CHECK_FAILS(cg_device_build_options(&ancient, buf, sizeof buf), CG_ERR_BUILD, "OpenCL C 1.0");
    // Unreadable: taken as 1.2 (the version the API requires).
    cg_device_info odd = fake("Portable Computing Language", "GenuineIntel", "", 4096);
    CHECK(cg_device_opencl_c_version(&odd) == 0, "unknown version");
    expect_options(odd, "-cl-std=CL1.2 -DCG_WG=64");
}

static void test_profiles(void) {
    cg_device_info d = fake("Portable Computing Language", "AuthenticAMD", "OpenCL C 1.2 pocl", 4096);
    d.type = CL_DEVICE_TYPE_CPU;
    d.local_mem = 1 << 20;
    d.global_mem = (uint64_t)8 << 30;
    d.max_alloc = (uint64_t)4 << 30;
    cg_device_info p = d;
    CHECK_OK(cg_device_profile_apply(&p, "nvidia-ampere"));
    CHECK(p.type == CL_DEVICE_TYPE_GPU, "a profile makes the device a GPU");
    CHECK(!strcmp(cg_vendor_name(&p), "nvidia"), "nvidia row: %s", cg_vendor_name(&p));
    CHECK(p.max_work_group == 1024 && p.local_mem == 48 * 1024, "limits %zu %llu", p.max_work_group,
          (unsigned long long)p.local_mem);
    CHECK(p.max_alloc == ((uint64_t)2 << 30), "max alloc a quarter of global memory: %llu",
          (unsigned long long)p.max_alloc);
    CHECK(strstr(p.name, "[profile nvidia-ampere]") != NULL, "name marks the profile: %s", p.name);
    expect_options(p, "-cl-std=CL1.2 -DCG_WG=256");
    p = d;
    CHECK_OK(cg_device_profile_apply(&p, "amd-rdna2"));
    CHECK(!strcmp(cg_vendor_name(&p), "amd") && p.max_work_group == 256 && p.local_mem == 65536,
          "amd-rdna2: %s %zu %llu", cg_vendor_name(&p), p.max_work_group, (unsigned long long)p.local_mem);
    p = d;
    CHECK_OK(cg_device_profile_apply(&p, "intel-xe"));
    expect_options(p, "-cl-std=CL1.2 -DCG_WG=128");
    p = d;
    CHECK_OK(cg_device_profile_apply(&p, "small"));
    CHECK(p.max_work_group == 64 && p.local_mem == 16384 && p.max_alloc == ((uint64_t)64 << 20), "small: %zu %llu %llu",
          p.max_work_group, (unsigned long long)p.local_mem, (unsigned long long)p.max_alloc);
    // A profile never raises a limit above the real device's.
    p = d;
    p.max_work_group = 128;
    p.local_mem = 32768;
    CHECK_OK(cg_device_profile_apply(&p, "nvidia-ampere"));
    CHECK(p.max_work_group == 128 && p.local_mem == 32768, "lowered only: %zu %llu", p.max_work_group,
          (unsigned long long)p.local_mem);
    p = d;
    CHECK_FAILS(cg_device_profile_apply(&p, "cray-1"), CG_ERR_CONFIG, "amd-rdna2");
}

// On the real device: the runtime under each profile reports the profile's work-group and type.
static void test_runtime_profiles(void) {
    cg_device_info *devs = NULL;
    int n = 0;
    if (cg_devices_list(&devs, &n) != CG_OK || n == 0) {
        test_skip_part("opencl", "no OpenCL device: %s", cg_last_error());
        return;
    }
    const char *names[] = {"amd-rdna2", "nvidia-ampere", "intel-xe", "small"};
    const size_t wg[] = {256, 256, 128, 64};
    for (int i = 0; i < 4; i++) {
        cg_runtime_options opt = {.disable_disk_cache = 1, .profile = names[i]};
        cg_runtime *rt = NULL;
        CHECK_OK(cg_runtime_create(&devs[0], &opt, &rt));
        if (!rt) continue;
        size_t want = wg[i] < devs[0].max_work_group ? wg[i] : devs[0].max_work_group;
        CHECK(cg_runtime_work_group(rt) == want, "%s: work-group %zu, expected %zu", names[i],
              cg_runtime_work_group(rt), want);
        CHECK(cg_runtime_device(rt)->type == CL_DEVICE_TYPE_GPU, "%s: GPU type", names[i]);
        CHECK(cg_gemm_pick(rt, 1024, 1024, 1024) == CG_GEMM_CLBLAST, "%s: GEMM through CLBlast", names[i]);
        // A kernel builds and runs with the profile's options.
        cl_mem buf = NULL;
        CHECK_OK(cg_buffer_alloc(rt, 1000, &buf));
        float host[1000];
        CHECK_OK(cg_tensor_fill(rt, cg_view(buf, 0, 1, 1, 1, 1000), 2.5f));
        CHECK_OK(cg_tensor_read(rt, cg_view(buf, 0, 1, 1, 1, 1000), host));
        CHECK(host[0] == 2.5f && host[999] == 2.5f, "%s: fill", names[i]);
        cg_buffer_release(buf);
        cg_runtime_free(rt);
    }
    cg_runtime_options bad = {.disable_disk_cache = 1, .profile = "nonsense"};
    cg_runtime *rt = NULL;
    CHECK_FAILS(cg_runtime_create(&devs[0], &bad, &rt), CG_ERR_CONFIG, "nonsense");
    free(devs);
}

int main(void) {
    test_vendor_rows();
    test_opencl_c_version();
    test_profiles();
    test_runtime_profiles();
    return test_finish("test_portability_vendor");
}
