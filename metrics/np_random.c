// np_random.c — numpy's legacy RandomState: MT19937 seeded with init_genrand (what
// RandomState(int) does) and permutation(n) as numpy's shuffle draws it: for i = n-1 .. 1, swap
// element i with j = random_interval(i), the smallest all-ones mask >= i applied to 32-bit draws
// (64-bit above 2^32 - 1) until the value is <= i.
#include "metrics.h"

#define MT_N 624
#define MT_M 397

void cg_np_random_seed(cg_np_random *r, uint32_t seed) {
    for (int i = 0; i < MT_N; i++) {
        r->key[i] = seed;
        seed = 1812433253u * (seed ^ (seed >> 30)) + (uint32_t)i + 1u;
    }
    r->pos = MT_N;
}

static void regenerate(cg_np_random *r) {
    static const uint32_t mag[2] = {0u, 0x9908b0dfu};
    uint32_t *k = r->key;
    int i = 0;
    for (; i < MT_N - MT_M; i++) {
        uint32_t y = (k[i] & 0x80000000u) | (k[i + 1] & 0x7fffffffu);
        k[i] = k[i + MT_M] ^ (y >> 1) ^ mag[y & 1u];
    }
    for (; i < MT_N - 1; i++) {
        uint32_t y = (k[i] & 0x80000000u) | (k[i + 1] & 0x7fffffffu);
        k[i] = k[i + MT_M - MT_N] ^ (y >> 1) ^ mag[y & 1u];
    }
    uint32_t y = (k[MT_N - 1] & 0x80000000u) | (k[0] & 0x7fffffffu);
    k[MT_N - 1] = k[MT_M - 1] ^ (y >> 1) ^ mag[y & 1u];
    r->pos = 0;
}

uint32_t cg_np_random_u32(cg_np_random *r) {
    if (r->pos >= MT_N) regenerate(r);
    uint32_t y = r->key[r->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

static uint64_t random_u64(cg_np_random *r) {
    uint64_t hi = cg_np_random_u32(r);
    return (hi << 32) | cg_np_random_u32(r);
}

static uint64_t random_interval(cg_np_random *r, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t v;
    if (max <= 0xffffffffu) {
        while ((v = (cg_np_random_u32(r) & mask)) > max) {
        }
    } else {
        while ((v = (random_u64(r) & mask)) > max) {
        }
    }
    return v;
}

void cg_np_random_permutation(cg_np_random *r, int64_t n, int64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i >= 1; i--) {
        int64_t j = (int64_t)random_interval(r, (uint64_t)i);
        int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}
