// fuzz_util.h — what every fuzz harness shares: the bytes written to a per-process scratch file
// (most clgan parsers take a path, as the CLI hands them one) and a sink that keeps reads alive.
#ifndef CLGAN_FUZZ_UTIL_H
#define CLGAN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_path[256];

static inline int fuzz_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path);
}

static inline void fuzz_remove_dir(void) { nftw(fuzz_dir_path, fuzz_remove_one, 8, FTW_DEPTH | FTW_PHYS); }

// A folder of this process's own under /dev/shm (else /tmp), created once, removed at exit.
static inline const char *fuzz_dir(void) {
    char *dir = fuzz_dir_path;
    if (!dir[0]) {
        struct stat sb;
        const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof fuzz_dir_path, "%s/clgan-fuzz-%ld", base, (long)getpid());
        mkdir(dir, 0700);
        atexit(fuzz_remove_dir);
    }
    return dir;
}

// Writes the bytes to <fuzz_dir>/<name> and returns that path (a static buffer per name slot).
static inline const char *fuzz_file(const char *name, const void *data, size_t size) {
    static char paths[4][512];
    static int next;
    char *path = paths[next++ & 3];
    snprintf(path, sizeof paths[0], "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return path;
}

// Folds bytes into a value the optimiser must keep, so every byte a parser hands out is read.
static volatile uint64_t fuzz_sink;
static inline void fuzz_touch(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) h = h * 31 + b[i];
    fuzz_sink += h;
}

#endif
