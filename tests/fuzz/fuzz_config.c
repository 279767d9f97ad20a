// fuzz_config.c — INI configurations and --set strings. The input is an INI file, then optionally a
// NUL byte and newline-separated --set assignments; the harness loads the file, applies each
// assignment, reads the [preprocess] parameters and a few typed keys as commands do, warns about
// unknown keys and dumps the effective configuration.
// fuzz-libs: clgan_preprocess
#include "fuzz_util.h"
#include "preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t ini_len = nul ? (size_t)(nul - data) : size;
    cg_config *cfg = NULL;
    if (cg_config_load(fuzz_file("in.ini", data, ini_len), &cfg) != CG_OK) return 0;
    if (nul) {
        size_t rest = size - ini_len - 1;
        char *sets = malloc(rest + 1);
        if (sets) {
            memcpy(sets, nul + 1, rest);
            sets[rest] = 0;
            for (char *line = sets, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next) *next++ = 0;
                cg_config_set(cfg, line);
            }
            free(sets);
        }
    }
    cg_pp_params pp;
    cg_pp_params_from_config(cfg, &pp);
    long iv;
    double dv;
    int bv;
    const char *sv;
    cg_config_int(cfg, "train", "batch_size", 64, 1, 1 << 20, &iv);
    cg_config_float(cfg, "train", "lr", 2e-4, 0, 1, &dv);
    cg_config_bool(cfg, "train", "shuffle", 1, &bv);
    cg_config_str(cfg, "train", "model", "dcgan", "vanilla|dcgan|wgan|wgan-gp", &sv);
    cg_config_str(cfg, "device", "platform", NULL, NULL, &sv);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        cg_config_warn_unknown(cfg, null);
        fclose(null);
    }
    char *dump = cg_config_dump_string(cfg);
    if (dump) fuzz_touch(dump, strlen(dump));
    free(dump);
    cg_config_free(cfg);
    return 0;
}
