// program.c — builds OpenCL programs from embedded or on-disk kernel sources, caches them in memory
// (and on disk through program_cache.c), and looks kernels up by name.
#include "runtime_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

// Returns a malloc'd source text for `file` ("rng.cl"): from kernel_dir when set, else embedded.
static cg_status load_source(const char *kernel_dir, const char *file, char **out) {
    if (kernel_dir && kernel_dir[0]) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", kernel_dir, file);
        size_t len;
        return cg_read_file(path, out, &len);
    }
    const char *src = cg_embedded_source(file);
    if (!src) return cg_fail(CG_ERR_NOT_FOUND, "no kernel source named %s is embedded in this build", file);
    *out = str_dup(src);
    return *out ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
}

// common.cl then <family>.cl, each behind a #line marker so compiler messages name the real file and line.
cg_status cg_family_source(const char *kernel_dir, const char *family, char **out) {
    char file[256];
    snprintf(file, sizeof file, "%s.cl", family);
    char *common = NULL, *body = NULL;
    CG_TRY(load_source(kernel_dir, "common.cl", &common));
    cg_status st = load_source(kernel_dir, file, &body);
    if (st != CG_OK) {
        free(common);
        return st;
    }
    size_t len = strlen(common) + strlen(body) + 2 * sizeof file + 64;
    *out = malloc(len);
    if (*out) snprintf(*out, len, "#line 1 \"common.cl\"\n%s\n#line 1 \"%s\"\n%s\n", common, file, body);
    free(common);
    free(body);
    return *out ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
}

const char *const *cg_kernel_families(void) {
    static char names[64][48];
    static const char *families[64];
    if (!families[0]) {
        size_t n = 0;
        for (size_t i = 0; cg_embedded_name(i) && n + 1 < sizeof families / sizeof families[0]; i++) {
            const char *file = cg_embedded_name(i);
            size_t len = strlen(file);
            if (!strcmp(file, "common.cl") || len <= 3 || len - 3 >= sizeof names[0] || strcmp(file + len - 3, ".cl"))
                continue;
            memcpy(names[n], file, len - 3);
            names[n][len - 3] = 0;
            families[n] = names[n];
            n++;
        }
    }
    return families;
}

static cl_program memory_lookup(cg_runtime *rt, const char *key) {
    for (int i = 0; i < rt->n_programs; i++)
        if (!strcmp(rt->programs[i].key, key)) return rt->programs[i].program;
    return NULL;
}

static cg_status memory_store(cg_runtime *rt, const char *key, cl_program prog) {
    if (rt->n_programs == rt->cap_programs) {
        int cap = rt->cap_programs ? 2 * rt->cap_programs : 8;
        cg_program_entry *p = realloc(rt->programs, (size_t)cap * sizeof *p);
        if (!p) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        rt->programs = p;
        rt->cap_programs = cap;
    }
    char *k = str_dup(key);
    if (!k) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    rt->programs[rt->n_programs++] = (cg_program_entry){k, prog};
    return CG_OK;
}

// build_log.c: what the driver's compiler prints to stderr during a build, captured.
typedef struct cg_build_output cg_build_output;
cg_build_output *cg_build_output_begin(void);
char *cg_build_output_end(cg_build_output *c);
int cg_build_verbose(void);

// The program's build log with its lines mapped back to the .cl files (malloc'd; NULL without memory).
static char *build_log_text(cg_runtime *rt, cl_program prog, const char *source) {
    size_t len = 0;
    clGetProgramBuildInfo(prog, rt->dev.device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
    char *log = malloc(len + 1);
    if (!log) return NULL;
    log[0] = 0;
    clGetProgramBuildInfo(prog, rt->dev.device, CL_PROGRAM_BUILD_LOG, len, log, NULL);
    log[len] = 0;
    char *mapped = cg_build_log_map(source, log);
    if (!mapped) return log;
    free(log);
    return mapped;
}

// --verbose: the build log of a successful build (warnings), and what the compiler printed.
static void report_build_log(cg_runtime *rt, cl_program prog, const char *name, const char *source,
                             const char *options, const char *driver_out) {
    char *log = build_log_text(rt, prog, source);
    const char *text = log ? log : "";
    if (strspn(text, " \t\r\n") < strlen(text) || (driver_out && *driver_out))
        fprintf(stderr, "build log of %s for %s (options \"%s\"):\n%s%s", name, rt->dev.name, options,
                text, driver_out ? driver_out : "");
    free(log);
}

static cg_status build_from_source(cg_runtime *rt, const char *name, const char *source, const char *options,
                                   cl_program *out) {
    cl_int err;
    cl_program prog = clCreateProgramWithSource(rt->ctx, 1, &source, NULL, &err);
    if (err != CL_SUCCESS) return cg_fail(err, "clCreateProgramWithSource(%s): %s", name, cg_status_name(err));
    cg_build_output *capture = cg_build_output_begin();
    err = clBuildProgram(prog, 1, &rt->dev.device, options, NULL, NULL);
    char *driver_out = cg_build_output_end(capture);
    if (err == CL_SUCCESS && cg_build_verbose()) report_build_log(rt, prog, name, source, options, driver_out);
    if (err != CL_SUCCESS) {
        char *log = build_log_text(rt, prog, source);
        cg_fail(err == CL_BUILD_PROGRAM_FAILURE ? CG_ERR_BUILD : err,
                "building %s for %s failed (%s, options \"%s\"); build log:\n%s%s%s", name, rt->dev.name,
                cg_status_name(err), options, log ? log : "(no log)",
                driver_out && *driver_out ? "\ncompiler output:\n" : "", driver_out ? driver_out : "");
        free(log);
        free(driver_out);
        clReleaseProgram(prog);
        return err == CL_BUILD_PROGRAM_FAILURE ? CG_ERR_BUILD : err;
    }
    free(driver_out);
    rt->stats.programs_built++;
    *out = prog;
    return CG_OK;
}

// Key naming everything a compiled binary depends on; the disk cache stores it inside each entry.
static char *cache_key(cg_runtime *rt, const char *name, const char *source, const char *options) {
    uint64_t h = cg_fnv1a64(source, strlen(source), CG_FNV_INIT);
    size_t len = strlen(options) + strlen(name) + 1024;
    char *key = malloc(len);
    if (key)
        snprintf(key, len, "clgan=%s\nname=%s\nsource=%016llx\noptions=%s\ndevice=%s\ndriver=%s\nplatform=%s\n",
                 CLGAN_VERSION, name, (unsigned long long)h, options, rt->dev.name, rt->dev.driver,
                 rt->dev.platform_version);
    return key;
}

static cg_status get_program(cg_runtime *rt, const char *name, const char *source, const char *extra,
                             cl_program *out) {
    char options[1024];
    snprintf(options, sizeof options, "%s%s%s", rt->build_options, extra && *extra ? " " : "", extra ? extra : "");
    char *key = cache_key(rt, name, source, options);
    if (!key) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cl_program prog = memory_lookup(rt, key);
    if (prog) {
        rt->stats.memory_hits++;
        free(key);
        *out = prog;
        return CG_OK;
    }
    cg_status st = CG_ERR_NOT_FOUND;
    if (rt->disk_cache) {
        st = cg_disk_cache_load(rt, key, &prog);
        if (st == CG_OK) rt->stats.disk_hits++;
        else if (st != CG_ERR_NOT_FOUND) rt->stats.disk_rejects++;
    }
    if (st != CG_OK) {
        st = build_from_source(rt, name, source, options, &prog);
        if (st != CG_OK) {
            free(key);
            return st;
        }
        // A cache that cannot be written costs only time; never fail the build for it. Say so once,
        // then keep compiled programs in memory only for the rest of the run.
        if (rt->disk_cache) {
            if (cg_disk_cache_store(rt, key, prog) == CG_OK) {
                rt->stats.disk_writes++;
            } else {
                fprintf(stderr, "warning: cannot write the compiled-kernel cache in %s (%s); kernels are kept in "
                                "memory for this run (set CLGAN_CACHE_DIR to a writable folder)\n",
                        rt->cache_dir, cg_last_error());
                rt->disk_cache = 0;
            }
        }
    }
    st = memory_store(rt, key, prog);
    free(key);
    if (st != CG_OK) {
        clReleaseProgram(prog);
        return st;
    }
    *out = prog;
    return CG_OK;
}

cg_status cg_program_get(cg_runtime *rt, const char *family, const char *extra_options, cl_program *out) {
    char *source = NULL;
    CG_TRY(cg_family_source(rt->kernel_dir, family, &source));
    char name[256];
    snprintf(name, sizeof name, "%s.cl", family);
    cg_status st = get_program(rt, name, source, extra_options, out);
    free(source);
    return st;
}

cg_status cg_program_from_source(cg_runtime *rt, const char *name, const char *source, const char *extra_options,
                                 cl_program *out) {
    size_t len = strlen(source) + strlen(name) + 32;
    char *full = malloc(len);
    if (!full) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    snprintf(full, len, "#line 1 \"%s\"\n%s", name, source);
    cg_status st = get_program(rt, name, full, extra_options, out);
    free(full);
    return st;
}

cg_status cg_kernel_get(cg_runtime *rt, const char *family, const char *kernel, cl_kernel *out) {
    for (int i = 0; i < rt->n_kernels; i++)
        if (!strcmp(rt->kernels[i].name, kernel) && !strcmp(rt->kernels[i].family, family)) {
            *out = rt->kernels[i].kernel;
            return CG_OK;
        }
    cl_program prog;
    CG_TRY(cg_program_get(rt, family, NULL, &prog));
    cl_int err;
    cl_kernel k = clCreateKernel(prog, kernel, &err);
    if (err != CL_SUCCESS)
        return cg_fail(err, "kernel %s not found in %s.cl: %s", kernel, family, cg_status_name(err));
    if (rt->n_kernels == rt->cap_kernels) {
        int cap = rt->cap_kernels ? 2 * rt->cap_kernels : 16;
        cg_kernel_entry *p = realloc(rt->kernels, (size_t)cap * sizeof *p);
        if (!p) {
            clReleaseKernel(k);
            return cg_fail(CG_ERR_NOMEM, "out of host memory");
        }
        rt->kernels = p;
        rt->cap_kernels = cap;
    }
    cg_kernel_entry e = {str_dup(family), str_dup(kernel), k};
    if (!e.family || !e.name) {
        free(e.family);
        free(e.name);
        clReleaseKernel(k);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    rt->kernels[rt->n_kernels++] = e;
    *out = k;
    return CG_OK;
}
