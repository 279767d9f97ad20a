// fuzz_program_cache.c — compiled-program cache entries through cg_disk_cache_load, on a runtime
// with no OpenCL context (an entry that passes every check is then refused by the ICD loader).
// Input byte 0 & 1 set: the harness rewrites the trailing checksum to the right one, so a fuzzer
// (which cannot forge FNV-1a) reaches the code past it.
// fuzz-libs: clgan_runtime
#include "fuzz_util.h"
#include "runtime_internal.h"

#define KEY "fuzz key: source hash | options | device | driver | version"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cg_runtime rt;
    if (!rt.cache_dir[0]) snprintf(rt.cache_dir, sizeof rt.cache_dir, "%s", fuzz_dir());
    if (size < 1) return 0;
    int fix = data[0] & 1;
    data++, size--;
    uint8_t *entry = malloc(size ? size : 1);
    if (!entry) return 0;
    memcpy(entry, data, size);
    // Layout: "CLGANBIN" u32 format, u32 key_len, key, u64 bin_len, binary, u64 checksum.
    uint32_t key_len = 0;
    if (fix && size >= 16) memcpy(&key_len, entry + 12, 4);
    if (fix && size >= 32 && key_len <= size - 32) {
        uint64_t h = cg_fnv1a64(entry + 16, key_len, CG_FNV_INIT);
        h = cg_fnv1a64(entry + 16 + key_len + 8, size - 16 - key_len - 16, h);
        memcpy(entry + size - 8, &h, 8);
    }
    char name[64];
    snprintf(name, sizeof name, "%016llx.clbin", (unsigned long long)cg_fnv1a64(KEY, strlen(KEY), CG_FNV_INIT));
    fuzz_file(name, entry, size);
    free(entry);
    cl_program prog = NULL;
    if (cg_disk_cache_load(&rt, KEY, &prog) == CG_OK && prog) clReleaseProgram(prog);
    return 0;
}
