// program_cache.c — the on-disk cache of compiled program binaries. One file per key:
//   "CLGANBIN" | u32 format | u32 key_len | key | u64 bin_len | binary | u64 FNV-1a(key + binary)
// The full key is stored and compared, so a hash collision or a file from another device, driver or
// clgan version is never trusted; a truncated or corrupt file fails its checksum and is rebuilt.
#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_MAGIC "CLGANBIN"
#define CACHE_FORMAT 1u

static void entry_path(const cg_runtime *rt, const char *key, char *buf, size_t len) {
    uint64_t h = cg_fnv1a64(key, strlen(key), CG_FNV_INIT);
    snprintf(buf, len, "%s/%016llx.clbin", rt->cache_dir, (unsigned long long)h);
}

static int take(const unsigned char **p, const unsigned char *end, void *dst, size_t n) {
    if ((size_t)(end - *p) < n) return 0;
    memcpy(dst, *p, n);
    *p += n;
    return 1;
}

cg_status cg_disk_cache_load(cg_runtime *rt, const char *key, cl_program *out) {
    char path[1200];
    entry_path(rt, key, path, sizeof path);
    char *data = NULL;
    size_t len = 0;
    FILE *probe = fopen(path, "rb");
    if (!probe) return CG_ERR_NOT_FOUND;
    fclose(probe);
    CG_TRY(cg_read_file(path, &data, &len));

    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    char magic[8];
    uint32_t format = 0, key_len = 0;
    uint64_t bin_len = 0, sum = 0;
    cg_status st = CG_ERR_FORMAT;
    if (!take(&p, end, magic, 8) || memcmp(magic, CACHE_MAGIC, 8) || !take(&p, end, &format, 4) ||
        format != CACHE_FORMAT || !take(&p, end, &key_len, 4) || key_len != strlen(key) ||
        (size_t)(end - p) < key_len || memcmp(p, key, key_len)) {
        cg_fail(st, "program cache entry %s is corrupt or belongs to another build; rebuilding", path);
        goto done;
    }
    const unsigned char *key_start = p;
    p += key_len;
    if (!take(&p, end, &bin_len, 8) || bin_len == 0 || (uint64_t)(end - p) != bin_len + 8) {
        cg_fail(st, "program cache entry %s is truncated; rebuilding", path);
        goto done;
    }
    const unsigned char *bin = p;
    p += bin_len;
    take(&p, end, &sum, 8);
    uint64_t h = cg_fnv1a64(key_start, key_len, CG_FNV_INIT);
    h = cg_fnv1a64(bin, (size_t)bin_len, h);
    if (h != sum) {
        cg_fail(st, "program cache entry %s fails its checksum; rebuilding", path);
        goto done;
    }
    size_t blen = (size_t)bin_len;
    cl_int bin_status = CL_SUCCESS, err;
    cl_program prog =
        clCreateProgramWithBinary(rt->ctx, 1, &rt->dev.device, &blen, &bin, &bin_status, &err);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        if (prog) clReleaseProgram(prog);
        cg_fail(st, "the driver refused cached binary %s; rebuilding", path);
        goto done;
    }
    if (clBuildProgram(prog, 1, &rt->dev.device, NULL, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        cg_fail(st, "cached binary %s did not link; rebuilding", path);
        goto done;
    }
    *out = prog;
    st = CG_OK;
done:
    free(data);
    return st;
}

cg_status cg_disk_cache_store(cg_runtime *rt, const char *key, cl_program prog) {
    size_t bin_len = 0;
    CG_CL(clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bin_len, &bin_len, NULL));
    if (bin_len == 0) return cg_fail(CG_ERR_NOT_FOUND, "the driver offers no program binary to cache");
    unsigned char *bin = malloc(bin_len);
    if (!bin) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
    if (err != CL_SUCCESS) {
        free(bin);
        return cg_fail(err, "clGetProgramInfo(CL_PROGRAM_BINARIES): %s", cg_status_name(err));
    }
    cg_status st = cg_mkdir_p(rt->cache_dir);
    char path[1200];
    entry_path(rt, key, path, sizeof path);
    cg_atomic_file *f = NULL;
    if (st == CG_OK) st = cg_atomic_open(path, &f);
    if (st == CG_OK) {
        uint32_t format = CACHE_FORMAT, key_len = (uint32_t)strlen(key);
        uint64_t len64 = bin_len;
        uint64_t sum = cg_fnv1a64(bin, bin_len, cg_fnv1a64(key, key_len, CG_FNV_INIT));
        FILE *s = cg_atomic_stream(f);
        fwrite(CACHE_MAGIC, 1, 8, s);
        fwrite(&format, 4, 1, s);
        fwrite(&key_len, 4, 1, s);
        fwrite(key, 1, key_len, s);
        fwrite(&len64, 8, 1, s);
        fwrite(bin, 1, bin_len, s);
        fwrite(&sum, 8, 1, s);
        st = cg_atomic_commit(f);
    }
    free(bin);
    return st;
}
