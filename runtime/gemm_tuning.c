// gemm_tuning.c — per-device GEMM tuning: the default rule for a device, the stored entry (one text
// file per device in the cache directory, with a checksum), and applying it when a runtime is created.
#include "gemm_internal.h"

#include <clblast_c.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TUNING_VERSION 1

void cg_gemm_tuning_init(const cg_device_info *dev, cg_gemm_tuning *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->device, sizeof t->device, "%s", dev->name);
    snprintf(t->driver, sizeof t->driver, "%s", dev->driver);
    snprintf(t->platform, sizeof t->platform, "%s", dev->platform_name);
    // CPUs: CLBlast's kernels lean on local memory and work-item parallelism that CPU compilers emulate
    // in RAM and loops; the packed-panel kernels measured 4-6x faster on PoCL (bench/README.md).
    t->own_enabled = (dev->type & CL_DEVICE_TYPE_CPU) != 0;
    t->own_min_mnk = 32.0 * 32.0 * 32.0;
    t->own_lx = 32;
    t->own_ly = 2;
    // Blocks of k keep a tile's panels in L2 for the long-k weight gradients (k = 16384 measured
    // 1.3-1.5x faster on PoCL with 1024 than unblocked); no effect for k <= 1024.
    t->own_kc = 1024;
    // The register tile follows the device (cg_gemm_tile_default) unless a file names one.
    t->own_tile = CG_GEMM_TILE_AUTO;
}

int cg_gemm_tuning_matches(const cg_gemm_tuning *t, const cg_device_info *dev) {
    return !strcmp(t->device, dev->name) && !strcmp(t->driver, dev->driver) && !strcmp(t->platform, dev->platform_name);
}

void cg_gemm_tuning_path(const cg_runtime *rt, char *buf, size_t len) {
    uint64_t h = CG_FNV_INIT;
    h = cg_fnv1a64(rt->dev.name, strlen(rt->dev.name) + 1, h);
    h = cg_fnv1a64(rt->dev.driver, strlen(rt->dev.driver) + 1, h);
    h = cg_fnv1a64(rt->dev.platform_name, strlen(rt->dev.platform_name) + 1, h);
    snprintf(buf, len, "%s/gemm-tuning-%016llx.txt", rt->cache_dir, (unsigned long long)h);
}

// Values are single lines: control characters become spaces.
static void put_line(FILE *f, const char *key, const char *value) {
    fprintf(f, "%s = ", key);
    for (const char *c = value; *c; c++) fputc((unsigned char)*c < 32 ? ' ' : *c, f);
    fputc('\n', f);
}

cg_status cg_gemm_tuning_save(const char *path, const cg_gemm_tuning *t) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    fprintf(f, "# clgan GEMM tuning, written by `clgan tune`; the checksum covers every line above it\n");
    fprintf(f, "version = %d\n", TUNING_VERSION);
    put_line(f, "device", t->device);
    put_line(f, "driver", t->driver);
    put_line(f, "platform", t->platform);
    fprintf(f, "own.enabled = %d\nown.min_mnk = %.17g\nown.lx = %d\nown.ly = %d\nown.kc = %d\n", t->own_enabled,
            t->own_min_mnk, t->own_lx, t->own_ly, t->own_kc);
    fprintf(f, "own.tile = %s\n", cg_gemm_tile_name(t->own_tile));
    for (int i = 0; i < t->n_params; i++) fprintf(f, "param.%s = %zu\n", t->params[i].name, t->params[i].value);
    put_line(f, "note", t->note);
    fclose(f);
    char tail[64];
    snprintf(tail, sizeof tail, "checksum = %016llx\n", (unsigned long long)cg_fnv1a64(text, len, CG_FNV_INIT));
    size_t total = len + strlen(tail);
    char *all = malloc(total + 1);
    if (!all) {
        free(text);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    memcpy(all, text, len);
    memcpy(all + len, tail, strlen(tail) + 1);
    free(text);
    size_t slash = strlen(path);
    while (slash > 0 && path[slash - 1] != '/') slash--;
    cg_status st = CG_OK;
    if (slash > 1) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - 1), path);
        st = cg_mkdir_p(dir);
    }
    if (st == CG_OK) st = cg_write_file_atomic(path, all, total);
    free(all);
    return st;
}

static cg_status bad(const char *path, int line, const char *what) {
    return cg_fail(CG_ERR_FORMAT, "GEMM tuning file %s, line %d: %s", path, line, what);
}

static int parse_long(const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) return 0;
    *out = x;
    return 1;
}

// One "key = value" line into t; 0 when the key or value is not acceptable.
static int parse_entry(cg_gemm_tuning *t, const char *key, const char *v, int *version) {
    long x;
    if (!strcmp(key, "version")) return parse_long(v, 0, 1000, &x) && (*version = (int)x) == TUNING_VERSION;
    if (!strcmp(key, "device")) return snprintf(t->device, sizeof t->device, "%s", v) >= 0;
    if (!strcmp(key, "driver")) return snprintf(t->driver, sizeof t->driver, "%s", v) >= 0;
    if (!strcmp(key, "platform")) return snprintf(t->platform, sizeof t->platform, "%s", v) >= 0;
    if (!strcmp(key, "note")) return snprintf(t->note, sizeof t->note, "%s", v) >= 0;
    if (!strcmp(key, "own.enabled")) return parse_long(v, 0, 1, &x) && ((t->own_enabled = (int)x), 1);
    if (!strcmp(key, "own.lx")) return parse_long(v, 1, 4096, &x) && ((t->own_lx = (int)x), 1);
    if (!strcmp(key, "own.ly")) return parse_long(v, 1, 4096, &x) && ((t->own_ly = (int)x), 1);
    if (!strcmp(key, "own.kc")) return parse_long(v, 0, 1L << 30, &x) && ((t->own_kc = (int)x), 1);
    if (!strcmp(key, "own.tile")) return (t->own_tile = cg_gemm_tile_parse(v)) >= 0;
    if (!strcmp(key, "own.min_mnk")) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !(d >= 0)) return 0;
        t->own_min_mnk = d;
        return 1;
    }
    if (!strncmp(key, "param.", 6)) {
        const char *name = key + 6;
        if (t->n_params == CG_TUNE_MAX_PARAMS || !strchr(name, '.') || strlen(name) >= sizeof t->params[0].name ||
            !parse_long(v, 0, 1L << 30, &x))
            return 0;
        snprintf(t->params[t->n_params].name, sizeof t->params[0].name, "%s", name);
        t->params[t->n_params++].value = (size_t)x;
        return 1;
    }
    return 0;
}

cg_status cg_gemm_tuning_load(const char *path, cg_gemm_tuning *t) {
    memset(t, 0, sizeof *t);
    char *text = NULL;
    size_t len = 0;
    cg_status st = cg_read_file(path, &text, &len);
    if (st != CG_OK) {
        FILE *probe = fopen(path, "rb");
        if (!probe) return cg_fail(CG_ERR_NOT_FOUND, "no GEMM tuning file %s", path);
        fclose(probe);
        return st;
    }
    const char *mark = strstr(text, "\nchecksum = ");
    unsigned long long want = 0;
    int tail = 0;
    if (!mark || sscanf(mark + 12, "%16llx%n", &want, &tail) != 1 || tail != 16 || strcmp(mark + 12 + 16, "\n") ||
        cg_fnv1a64(text, (size_t)(mark - text) + 1, CG_FNV_INIT) != want) {
        free(text);
        return cg_fail(CG_ERR_FORMAT, "GEMM tuning file %s is truncated or corrupt (checksum missing or wrong)", path);
    }
    mark++; // the checksum line itself is not parsed below
    int line = 0, version = 0, seen_key = 0;
    st = CG_OK;
    for (char *p = text; st == CG_OK && p < mark;) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        line++;
        char *eq = strstr(p, " = ");
        if (*p == '#' || *p == '\0') {
        } else if (!eq) {
            st = bad(path, line, "expected 'key = value'");
        } else {
            *eq = '\0';
            if (!parse_entry(t, p, eq + 3, &version)) st = bad(path, line, "unknown key or bad value");
            if (!strcmp(p, "device")) seen_key = 1;
        }
        p = nl + 1;
    }
    free(text);
    if (st == CG_OK && (version != TUNING_VERSION || !seen_key))
        st = cg_fail(CG_ERR_FORMAT, "GEMM tuning file %s lacks its version or device key", path);
    return st;
}

// Passes every "Kernel.NAME" group of t to CLBlastOverrideParameters for rt's device.
static cg_status override_clblast(cg_runtime *rt, const cg_gemm_tuning *t) {
    int done[CG_TUNE_MAX_PARAMS] = {0};
    for (int i = 0; i < t->n_params; i++) {
        if (done[i]) continue;
        const char *dot = strchr(t->params[i].name, '.');
        size_t klen = (size_t)(dot - t->params[i].name);
        char kernel[48];
        snprintf(kernel, sizeof kernel, "%.*s", (int)klen, t->params[i].name);
        const char *names[CG_TUNE_MAX_PARAMS];
        size_t values[CG_TUNE_MAX_PARAMS], n = 0;
        for (int j = i; j < t->n_params; j++)
            if (!strncmp(t->params[j].name, kernel, klen) && t->params[j].name[klen] == '.') {
                names[n] = t->params[j].name + klen + 1;
                values[n++] = t->params[j].value;
                done[j] = 1;
            }
        CLBlastStatusCode code =
            CLBlastOverrideParameters(rt->dev.device, kernel, CLBlastPrecisionSingle, n, names, values);
        if (code != CLBlastSuccess)
            return cg_fail(CG_ERR_CLBLAST, "CLBlast refused the %zu %s parameters (status %d%s)", n, kernel, (int)code,
                           code == CLBlastMissingOverrideParameter ? ": the set is incomplete for this CLBlast" : "");
    }
    return CG_OK;
}

static void set_policy(cg_runtime *rt, const cg_gemm_tuning *t, const char *source) {
    cg_gemm_policy *p = &rt->gemm_policy;
    p->own = t->own_enabled;
    p->own_min_mnk = t->own_min_mnk;
    p->own_lx = t->own_lx > 0 ? t->own_lx : 1;
    p->own_ly = t->own_ly > 0 ? t->own_ly : 1;
    p->own_kc = t->own_kc > 0 ? t->own_kc : 0;
    p->own_tile = t->own_tile > CG_GEMM_TILE_AUTO && t->own_tile < CG_GEMM_TILE_COUNT ? t->own_tile
                                                                                       : cg_gemm_tile_default(&rt->dev);
    snprintf(p->source, sizeof p->source, "%s", source);
}

cg_status cg_gemm_tuning_set(cg_runtime *rt, const cg_gemm_tuning *t, const char *source) {
    if (!cg_gemm_tuning_matches(t, &rt->dev))
        return cg_fail(CG_ERR_INVALID_ARG,
                       "GEMM tuning for '%s' (driver %s, %s) does not match device '%s' (driver %s, %s)", t->device,
                       t->driver, t->platform, rt->dev.name, rt->dev.driver, rt->dev.platform_name);
    set_policy(rt, t, source);
    return override_clblast(rt, t);
}

void cg_gemm_describe(const cg_runtime *rt, char *buf, size_t len) {
    const cg_gemm_policy *p = &rt->gemm_policy;
    if (p->force != CG_GEMM_AUTO)
        snprintf(buf, len, "forced to %s; tuning: %s", cg_gemm_impl_name(p->force), p->source);
    else if (p->own) {
        char kc[32] = "whole k";
        if (p->own_kc > 0) snprintf(kc, sizeof kc, "k blocks of %d", p->own_kc);
        snprintf(buf, len, "own kernels for m*n*k >= %.0f (%s, work-group %dx%d, %s), CLBlast below; tuning: %s",
                 p->own_min_mnk, cg_gemm_tile_name(p->own_tile), p->own_lx, p->own_ly, kc, p->source);
    }
    else
        snprintf(buf, len, "CLBlast for every shape; tuning: %s", p->source);
}

static void warn_once(const char *fmt, const char *a, const char *b) {
    static int warned = 0;
    if (warned) return;
    warned = 1;
    fprintf(stderr, "clgan: warning: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (further GEMM tuning warnings are not shown)\n");
}

cg_status cg_gemm_tuning_apply(cg_runtime *rt) {
    cg_gemm_tuning t;
    cg_gemm_tuning_init(&rt->dev, &t);
    char source[320];
    snprintf(source, sizeof source, "defaults for a %s device", cg_device_type_name(rt->dev.type));
    set_policy(rt, &t, source);
    char path[1100];
    cg_gemm_tuning_path(rt, path, sizeof path);
    cg_status st = cg_gemm_tuning_load(path, &t);
    if (st == CG_ERR_NOT_FOUND) {
        cg_clear_error();
        return CG_OK;
    }
    if (st != CG_OK) {
        warn_once("%s; GEMM defaults are used%s", cg_last_error(), "");
        return st;
    }
    if (!cg_gemm_tuning_matches(&t, &rt->dev)) {
        warn_once("GEMM tuning file %s was measured on another device ('%s'); not applied", path, t.device);
        return cg_fail(CG_ERR_INVALID_ARG, "GEMM tuning file %s is for another device", path);
    }
    snprintf(source, sizeof source, "%s", path);
    st = cg_gemm_tuning_set(rt, &t, source);
    if (st != CG_OK) warn_once("applying GEMM tuning failed: %s%s", cg_last_error(), "");
    return st;
}
