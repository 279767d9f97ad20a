// vendor.c — the vendor table (work-group size and options per vendor family) and the build
// options every program on a device gets, including the OpenCL C standard the device supports.
#include "runtime_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *match; // case-insensitive substring of the platform name, else of the device vendor
    size_t work_group;
    const char *options; // vendor-specific options, after -cl-std
} cg_vendor_row;

// CPU runtimes come first: PoCL reports the host CPU's vendor ("AuthenticAMD", "GenuineIntel") as
// the device vendor, so only its platform name tells it apart from a GPU driver.
static const cg_vendor_row vendor_table[] = {
    {"portable computing language", 64, ""},
    {"oclgrind", 64, ""},
    {"nvidia", 256, ""},
    {"advanced micro devices", 256, ""},
    {"amd", 256, ""},
    {"intel", 128, ""},
    {"apple", 128, ""},
};
static const cg_vendor_row vendor_default = {"", 64, ""};
#define N_ROWS (sizeof vendor_table / sizeof vendor_table[0])

static int has_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return 0;
}

// The platform decides first (a PoCL platform on an AMD CPU is PoCL); the vendor only when no row
// names the platform (Mesa's Clover or rusticl platforms on an AMD GPU).
static const cg_vendor_row *vendor_row(const cg_device_info *dev) {
    for (size_t i = 0; i < N_ROWS; i++)
        if (has_nocase(dev->platform_name, vendor_table[i].match)) return &vendor_table[i];
    for (size_t i = 0; i < N_ROWS; i++)
        if (has_nocase(dev->vendor, vendor_table[i].match)) return &vendor_table[i];
    return &vendor_default;
}

const char *cg_vendor_name(const cg_device_info *dev) {
    const cg_vendor_row *r = vendor_row(dev);
    return r->match[0] ? r->match : "default";
}

size_t cg_vendor_work_group(const cg_device_info *dev) {
    size_t wg = vendor_row(dev)->work_group;
    if (dev->max_work_group && wg > dev->max_work_group) wg = dev->max_work_group;
    return wg ? wg : 1;
}

const char *cg_vendor_build_options(const cg_device_info *dev) { return vendor_row(dev)->options; }

int cg_device_opencl_c_version(const cg_device_info *dev) {
    int major = 0, minor = 0;
    const char *at = strstr(dev->opencl_c, "OpenCL C ");
    if (!at || sscanf(at + 9, "%d.%d", &major, &minor) != 2 || major < 1 || minor < 0 || minor > 9) return 0;
    return major * 100 + minor * 10;
}

cg_status cg_device_build_options(const cg_device_info *dev, char *buf, size_t len) {
    int version = cg_device_opencl_c_version(dev);
    // The kernels are OpenCL C 1.2 and avoid what 1.1 lacks (static functions, printf), so a 1.1
    // device builds them as 1.1. An unreadable version is taken as 1.2, the version the API requires.
    const char *std = version == 0 || version >= 120 ? "-cl-std=CL1.2" : version >= 110 ? "-cl-std=CL1.1" : NULL;
    if (!std)
        return cg_fail(CG_ERR_BUILD, "%s supports only '%s'; clgan's kernels need OpenCL C 1.1 or later", dev->name,
                       dev->opencl_c);
    const char *extra = cg_vendor_build_options(dev);
    int n = snprintf(buf, len, "%s%s%s -DCG_WG=%zu", std, *extra ? " " : "", extra, cg_vendor_work_group(dev));
    if (n < 0 || (size_t)n >= len) return cg_fail(CG_ERR_INVALID_ARG, "build options for %s do not fit", dev->name);
    return CG_OK;
}
