// cmd_kernels.c — `clgan kernels`: lists the kernel families, and with --emit writes each family's
// source and the build options exactly as the runtime passes them for a device or a device profile,
// so they can be compiled offline for GPUs this machine lacks (tools/kernel_report.py).
#include "cli.h"

#include <stdlib.h>
#include <string.h>

// A device described only by a profile: what the runtime would see on that vendor's GPU.
static cg_status profile_device(const char *profile, cg_device_info *dev) {
    memset(dev, 0, sizeof *dev);
    snprintf(dev->name, sizeof dev->name, "offline");
    snprintf(dev->opencl_c, sizeof dev->opencl_c, "OpenCL C 1.2");
    dev->max_work_group = 4096;
    dev->local_mem = (uint64_t)1 << 20;
    dev->global_mem = (uint64_t)16 << 30;
    dev->max_alloc = (uint64_t)4 << 30;
    return cg_device_profile_apply(dev, profile);
}

static cg_status emit(const char *dir, const char *options) {
    CG_TRY(cg_mkdir_p(dir));
    char path[1200];
    snprintf(path, sizeof path, "%s/options.txt", dir);
    char line[600];
    snprintf(line, sizeof line, "%s\n", options);
    CG_TRY(cg_write_file_atomic(path, line, strlen(line)));
    const char *kdir = getenv("CLGAN_KERNEL_DIR");
    for (const char *const *f = cg_kernel_families(); *f; f++) {
        char *src = NULL;
        CG_TRY(cg_family_source(kdir, *f, &src));
        snprintf(path, sizeof path, "%s/%s.cl", dir, *f);
        cg_status st = cg_write_file_atomic(path, src, strlen(src));
        free(src);
        CG_TRY(st);
    }
    return CG_OK;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *out = NULL, *profile = NULL;
    int list_profiles = 0;
    const cli_opt opts[] = {
        {"emit", OPT_STRING, "DIR", "write FAMILY.cl (the runtime's exact source) and options.txt into DIR", &out},
        {"profile", OPT_STRING, "NAME", "options for a device profile instead of a real device", &profile},
        {"profiles", OPT_FLAG, NULL, "list the device profiles", &list_profiles},
        {0},
    };
    int rc = cli_parse(&cmd_kernels, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_kernels, opts, stdout);
        return EXIT_OK;
    }
    if (list_profiles) {
        printf("%s\n", cg_device_profile_names());
        return EXIT_OK;
    }
    char options[512];
    cg_status st;
    if (profile) {
        cg_device_info dev;
        st = profile_device(profile, &dev);
        if (st == CG_OK) st = cg_device_build_options(&dev, options, sizeof options);
        if (st != CG_OK) {
            cli_report("kernels", st);
            return EXIT_USAGE;
        }
    } else {
        cg_config *cfg = cli_load_config(&common);
        if (!cfg) return EXIT_USAGE;
        cg_runtime *rt = NULL;
        st = cli_open_runtime(cfg, &common, &rt);
        rc = st == CG_OK ? cli_check_unknown(cfg) : EXIT_OK;
        cg_config_free(cfg);
        if (st != CG_OK) return cli_report("kernels", st);
        if (rc != EXIT_OK) {
            cg_runtime_free(rt);
            return rc;
        }
        st = cg_device_build_options(cg_runtime_device(rt), options, sizeof options);
        cg_runtime_free(rt);
        if (st != CG_OK) return cli_report("kernels", st);
    }
    if (out) {
        st = emit(out, options);
        if (st != CG_OK) return cli_report("kernels", st);
        return EXIT_OK;
    }
    printf("options: %s\nfamilies:", options);
    for (const char *const *f = cg_kernel_families(); *f; f++) printf(" %s", *f);
    printf("\n");
    return EXIT_OK;
}

const cli_command cmd_kernels = {
    "kernels",
    "the kernel families and their exact build options, for offline compilation",
    "[--emit DIR] [--profile NAME | --device SEL] [--profiles]",
    "Prints the build options the runtime passes to every program on the selected device (or on\n"
    "a device profile: amd-rdna2, amd-gcn, nvidia-ampere, intel-xe, small) and the kernel families.\n"
    "--emit DIR writes each family's source exactly as the runtime builds it (common.cl, then the\n"
    "family, with #line markers) and options.txt. tools/kernel_report.py compiles them with clang\n"
    "for AMD (amdgcn) and NVIDIA (nvptx64) targets and reports registers, scratch and local memory;\n"
    "CLGAN_DEVICE_PROFILE=NAME makes every command treat the device as that GPU profile.",
    run,
};
