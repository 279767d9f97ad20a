// replay.c — the corpus replay driver linked with one harness in the normal build: calls
// LLVMFuzzerTestOneInput on every file in the folders (or files) named on the command line, so
// CTest (and the ASan+UBSan pass) runs the seeds and every input a fuzzer ever crashed on.
#include "fuzz_util.h"

#include <dirent.h>

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    int failures = 0, inputs = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[a]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            failures += replay_file(argv[a]);
            inputs++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        char **names = NULL;
        size_t n = 0, cap = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            if (n == cap && !(names = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names))) return 1;
            names[n++] = strdup(e->d_name);
        }
        if (d) closedir(d);
        qsort(names, n, sizeof *names, cmp);
        for (size_t i = 0; i < n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]);
            failures += replay_file(path);
            inputs++;
            free(names[i]);
        }
        free(names);
    }
    printf("replay: %d inputs, %d unreadable\n", inputs, failures);
    if (inputs == 0) {
        fprintf(stderr, "replay: no inputs (an empty corpus checks nothing)\n");
        return 1;
    }
    return failures ? 1 : 0;
}
