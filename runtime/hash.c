// hash.c — FNV-1a 64-bit hashing, chainable: feed the result of one call as `h` to the next.
#include "base.h"

#define FNV_PRIME_64 0x100000001b3ULL

uint64_t cg_fnv1a64(const void *data, size_t len, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME_64;
    }
    return h;
}
