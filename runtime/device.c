// device.c — enumerates OpenCL platforms and devices with a stable index, and selects one by
// index, name substring or type.
#include "runtime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 64

static void info_str(cl_device_id d, cl_device_info what, char *buf, size_t len) {
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, len, buf, NULL) != CL_SUCCESS) buf[0] = 0;
    buf[len - 1] = 0;
    // Drivers pad some strings with trailing spaces.
    for (size_t n = strlen(buf); n > 0 && isspace((unsigned char)buf[n - 1]); n--) buf[n - 1] = 0;
}

static uint64_t info_u64(cl_device_id d, cl_device_info what) {
    cl_ulong v = 0;
    clGetDeviceInfo(d, what, sizeof v, &v, NULL);
    return v;
}

static unsigned info_uint(cl_device_id d, cl_device_info what) {
    cl_uint v = 0;
    clGetDeviceInfo(d, what, sizeof v, &v, NULL);
    return v;
}

static int has_extension(cl_device_id d, const char *ext) {
    size_t len = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &len) != CL_SUCCESS || len == 0) return 0;
    char *s = malloc(len + 1);
    if (!s) return 0;
    int found = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, len, s, NULL) == CL_SUCCESS) {
        s[len] = 0;
        found = strstr(s, ext) != NULL;
    }
    free(s);
    return found;
}

static void describe(cg_device_info *di, cl_platform_id p, cl_device_id d) {
    di->platform = p;
    di->device = d;
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof di->platform_name, di->platform_name, NULL);
    clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof di->platform_version, di->platform_version, NULL);
    di->platform_name[sizeof di->platform_name - 1] = 0;
    di->platform_version[sizeof di->platform_version - 1] = 0;
    info_str(d, CL_DEVICE_NAME, di->name, sizeof di->name);
    info_str(d, CL_DEVICE_VENDOR, di->vendor, sizeof di->vendor);
    info_str(d, CL_DRIVER_VERSION, di->driver, sizeof di->driver);
    info_str(d, CL_DEVICE_OPENCL_C_VERSION, di->opencl_c, sizeof di->opencl_c);
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof di->type, &di->type, NULL);
    di->compute_units = info_uint(d, CL_DEVICE_MAX_COMPUTE_UNITS);
    di->clock_mhz = info_uint(d, CL_DEVICE_MAX_CLOCK_FREQUENCY);
    di->global_mem = info_u64(d, CL_DEVICE_GLOBAL_MEM_SIZE);
    di->local_mem = info_u64(d, CL_DEVICE_LOCAL_MEM_SIZE);
    di->max_alloc = info_u64(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof di->max_work_group, &di->max_work_group, NULL);
    di->fp16 = has_extension(d, "cl_khr_fp16");
    di->fp64 = has_extension(d, "cl_khr_fp64");
}

cg_status cg_devices_list(cg_device_info **out, int *count) {
    *out = NULL;
    *count = 0;
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint nplat = 0;
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &nplat);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no platform */ || (err == CL_SUCCESS && nplat == 0))
        return cg_fail(CG_ERR_NO_DEVICE, "no OpenCL platform found: install a driver (for the CPU: "
                                         "apt-get install pocl-opencl-icd) and check /etc/OpenCL/vendors");
    if (err != CL_SUCCESS) return cg_fail(err, "clGetPlatformIDs failed: %s", cg_status_name(err));
    if (nplat > MAX_PLATFORMS) nplat = MAX_PLATFORMS;

    cg_device_info *list = calloc((size_t)nplat * MAX_DEVICES_PER_PLATFORM, sizeof *list);
    if (!list) return cg_fail(CG_ERR_NOMEM, "out of host memory listing devices");
    int n = 0;
    for (cl_uint p = 0; p < nplat; p++) {
        cl_device_id devs[MAX_DEVICES_PER_PLATFORM];
        cl_uint ndev = 0;
        // A platform without devices answers CL_DEVICE_NOT_FOUND; skip it.
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, devs, &ndev) != CL_SUCCESS)
            continue;
        if (ndev > MAX_DEVICES_PER_PLATFORM) ndev = MAX_DEVICES_PER_PLATFORM;
        for (cl_uint d = 0; d < ndev; d++) {
            cg_device_info *di = &list[n];
            di->index = n;
            di->platform_index = (int)p;
            di->device_index = (int)d;
            describe(di, plats[p], devs[d]);
            n++;
        }
    }
    if (n == 0) {
        free(list);
        return cg_fail(CG_ERR_NO_DEVICE, "%u OpenCL platform(s) found but no device on any of them", nplat);
    }
    *out = list;
    *count = n;
    return CG_OK;
}

const char *cg_device_type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "gpu";
    if (t & CL_DEVICE_TYPE_CPU) return "cpu";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

// ------------------------------------------------------------------------------------------------
// Selection. With several ranks of an MPI job on one host (cg_device_set_rank), a comma-separated
// selector ("0,1,2,3") gives local rank r its element r modulo the list's length, and an empty
// selector gives it device r modulo the count of the default kind (GPUs, else CPUs, else any).

static int rank_local;

void cg_device_set_rank(int local_rank, int local_size) { rank_local = local_rank > 0 && local_size > 1 ? local_rank : 0; }

static int is_index(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

static int type_matches(cg_device_type want, cl_device_type t) {
    if (want == CG_DEVICE_GPU) return (t & CL_DEVICE_TYPE_GPU) != 0;
    if (want == CG_DEVICE_CPU) return (t & CL_DEVICE_TYPE_CPU) != 0;
    return 1;
}

static int part_matches(const char *sel, int index, const char *name_a, const char *name_b) {
    if (!sel || !*sel) return 1;
    if (is_index(sel)) return atoi(sel) == index;
    return contains_nocase(name_a, sel) || (name_b && contains_nocase(name_b, sel));
}

cg_status cg_selector_parse(const char *text, cg_device_selector *sel, char *storage, size_t storage_len) {
    memset(sel, 0, sizeof *sel);
    if (!text || !*text) return CG_OK;
    if (strlen(text) + 1 > storage_len) return cg_fail(CG_ERR_INVALID_ARG, "device selector '%s' is too long", text);
    if (strchr(text, ',')) { // a list: this rank's element
        int n = 1;
        for (const char *c = text; *c; c++) n += *c == ',';
        const char *start = text;
        for (int i = 0; i < rank_local % n; i++) start = strchr(start, ',') + 1;
        size_t len = strcspn(start, ",");
        if (len == 0) return cg_fail(CG_ERR_INVALID_ARG, "device list '%s' has an empty element", text);
        memcpy(storage, start, len);
        storage[len] = 0;
        if (strchr(storage, ',')) return cg_fail(CG_ERR_INVALID_ARG, "device list '%s' is malformed", text);
    } else {
        strcpy(storage, text);
    }
    if (!strcasecmp(storage, "gpu")) sel->type = CG_DEVICE_GPU;
    else if (!strcasecmp(storage, "cpu")) sel->type = CG_DEVICE_CPU;
    else if (!strcasecmp(storage, "any")) sel->type = CG_DEVICE_ANY;
    else {
        char *colon = strchr(storage, ':');
        if (colon) {
            *colon = 0;
            sel->platform = storage;
            sel->device = colon + 1;
        } else {
            // A bare index is the global index from `clgan devices`; a bare word matches either name.
            sel->device = storage;
            sel->platform = NULL;
        }
    }
    return CG_OK;
}

static void list_devices(const cg_device_info *devs, int count, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < count && used + 1 < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s  %d: %s / %s (%s)", i ? "\n" : "", devs[i].index,
                                 devs[i].platform_name, devs[i].name, cg_device_type_name(devs[i].type));
}

static int matches(const cg_device_info *d, const cg_device_selector *sel) {
    if (!type_matches(sel->type, d->type)) return 0;
    if (!sel->platform && is_index(sel->device)) return atoi(sel->device) == d->index;
    if (sel->platform) {
        if (!part_matches(sel->platform, d->platform_index, d->platform_name, NULL)) return 0;
        return part_matches(sel->device, d->device_index, d->name, d->vendor);
    }
    return part_matches(sel->device, d->index, d->name, d->platform_name) ||
           (sel->device && contains_nocase(d->vendor, sel->device));
}

cg_status cg_device_select(const cg_device_info *devs, int count, const cg_device_selector *sel, int *picked) {
    *picked = -1;
    int empty = (!sel->platform || !*sel->platform) && (!sel->device || !*sel->device);
    if (empty && sel->type == CG_DEVICE_ANY) {
        for (int pass = 0; pass < 3 && *picked < 0; pass++) {
            cg_device_type want = pass == 0 ? CG_DEVICE_GPU : pass == 1 ? CG_DEVICE_CPU : CG_DEVICE_ANY;
            int n = 0;
            for (int i = 0; i < count; i++) n += type_matches(want, devs[i].type);
            for (int i = 0, k = 0; n > 0 && i < count && *picked < 0; i++)
                if (type_matches(want, devs[i].type) && k++ == rank_local % n) *picked = i;
        }
    } else {
        for (int i = 0; i < count && *picked < 0; i++)
            if (matches(&devs[i], sel)) *picked = i;
    }
    if (*picked >= 0) return CG_OK;
    char avail[2048];
    list_devices(devs, count, avail, sizeof avail);
    return cg_fail(CG_ERR_NOT_FOUND, "no OpenCL device matches platform='%s' device='%s' type=%s; available:\n%s",
                   sel->platform ? sel->platform : "", sel->device ? sel->device : "",
                   sel->type == CG_DEVICE_GPU ? "gpu" : sel->type == CG_DEVICE_CPU ? "cpu" : "any", avail);
}
