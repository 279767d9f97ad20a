// fuzz_tuning.c — GEMM tuning files through cg_gemm_tuning_load. The input is the body; the harness
// appends the checksum line the loader demands (a fuzzer cannot forge FNV-1a), so the parser behind
// the checksum is reached. Inputs that already contain a checksum line are also tried unchanged.
// fuzz-libs: clgan_runtime
#include "fuzz_util.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_gemm_tuning t;
    cg_gemm_tuning_load(fuzz_file("raw.tuning", data, size), &t);
    char *text = malloc(size + 40);
    if (!text) return 0;
    memcpy(text, data, size);
    size_t n = size;
    if (n == 0 || text[n - 1] != '\n') text[n++] = '\n';
    uint64_t sum = cg_fnv1a64(text, n, CG_FNV_INIT);
    n += (size_t)snprintf(text + n, 40, "checksum = %016llx\n", (unsigned long long)sum);
    if (cg_gemm_tuning_load(fuzz_file("signed.tuning", text, n), &t) == CG_OK) fuzz_touch(&t, sizeof t);
    free(text);
    return 0;
}
