// srvgg_test_util.h — random SRVGGNetCompact weights written from C (no torch needed), optionally
// damaged, for the upscaler's tests (test_upscale.c, test_score_upscale.c).
#ifndef CLGAN_SRVGG_TEST_UTIL_H
#define CLGAN_SRVGG_TEST_UTIL_H

#include "nets.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline float lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f * 2 - 1;
}

// An SRVGGNetCompact state_dict with random values; `skip` leaves a tensor out, `bad_shape` gives it
// one channel less, `nan_at` plants a NaN in it.
typedef struct {
    const char *skip, *bad_shape, *nan_at;
} damage;

static inline cg_status write_weights(const char *path, int feat, int convs, int scale, uint32_t seed, damage d) {
    cg_st_tensor t[128];
    int shapes[128][4], n = 0;
    char names[128][32];
    float *data[128];
    cg_status st = CG_OK;
    for (int k = 0; k < convs; k++) {
        int cin = k ? feat : 3, cout = k == convs - 1 ? 3 * scale * scale : feat;
        for (int part = 0; part < 3; part++) {
            if (part == 2 && k == convs - 1) break;
            int idx = part == 2 ? 2 * k + 1 : 2 * k;
            snprintf(names[n], sizeof names[n], "body.%d.%s", idx, part == 1 ? "bias" : "weight");
            if (d.skip && !strcmp(d.skip, names[n])) continue;
            int nd = part == 0 ? 4 : 1;
            int *sh = shapes[n];
            if (part == 0) sh[0] = cout, sh[1] = cin, sh[2] = 3, sh[3] = 3;
            else sh[0] = part == 1 ? cout : feat;
            if (d.bad_shape && !strcmp(d.bad_shape, names[n])) sh[0]--;
            size_t m = 1;
            for (int i = 0; i < nd; i++) m *= (size_t)sh[i];
            data[n] = malloc(m * sizeof(float));
            float amp = part == 0 ? 1.0f / sqrtf(cin * 9.0f) : part == 1 ? 0.05f : 0.25f;
            for (size_t i = 0; i < m; i++) data[n][i] = part == 2 ? 0.25f + amp * lcg(&seed) : amp * lcg(&seed);
            if (d.nan_at && !strcmp(d.nan_at, names[n])) data[n][m / 2] = NAN;
            t[n] = (cg_st_tensor){names[n], sh, nd, data[n]};
            n++;
        }
    }
    st = cg_safetensors_write(path, t, n, NULL, NULL, 0);
    for (int i = 0; i < n; i++) free(data[i]);
    return st;
}

#endif
