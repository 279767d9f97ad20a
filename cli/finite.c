// finite.c — weights read from a file must be finite: a NaN or Inf in a generator or in the
// Inception weights would give finite-looking images or statistics, so the file is refused first.
#include "cli.h"
#include "nets.h"

#include <math.h>
#include <sys/stat.h>

cg_status cli_safetensors_finite(const char *label, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return CG_OK; // the loader says what is wrong
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    cg_status st = CG_OK;
    for (int i = 0; st == CG_OK && i < cg_safetensors_count(f); i++) {
        const char *name = cg_safetensors_name(f, i);
        const int *shape;
        const float *d;
        int nd;
        if (cg_safetensors_get(f, name, &shape, &nd, &d) != CG_OK) continue;
        size_t n = 1;
        for (int k = 0; k < nd; k++) n *= (size_t)shape[k];
        for (size_t k = 0; k < n; k++)
            if (!isfinite(d[k])) {
                st = cg_fail(CG_ERR_NUMERIC, "%s %s: tensor %s holds %s at element %zu; refusing weights that are "
                             "not finite", label, path, name, isnan(d[k]) ? "NaN" : "Inf", k);
                break;
            }
    }
    cg_safetensors_close(f);
    return st;
}
