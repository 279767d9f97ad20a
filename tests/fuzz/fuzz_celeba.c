// fuzz_celeba.c — CelebA list files (landmarks, attributes, partitions) through cg_celeba_read
// against a small image folder. The input is split at the first two NUL bytes into the three lists;
// byte 0 picks which of them are given to the reader.
// fuzz-libs: clgan_preprocess
#include "fuzz_util.h"
#include "preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char images[600];
    if (!images[0]) {
        snprintf(images, sizeof images, "%s/img", fuzz_dir());
        mkdir(images, 0700);
        static const char *const names[] = {"000001.jpg", "000002.jpg", "000003.png", "x.jpg"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s", images, names[i]);
            FILE *f = fopen(path, "wb");
            if (f) fclose(f);
        }
    }
    if (size < 1) return 0;
    unsigned which = data[0];
    data++, size--;
    const char *paths[3] = {NULL, NULL, NULL};
    static const char *const files[3] = {"landmarks.txt", "attributes.txt", "partitions.txt"};
    for (int k = 0; k < 3; k++) {
        const uint8_t *nul = k < 2 ? memchr(data, 0, size) : NULL;
        size_t len = nul ? (size_t)(nul - data) : size;
        if (which >> k & 1) paths[k] = fuzz_file(files[k], data, len);
        data += nul ? len + 1 : len;
        size -= nul ? len + 1 : len;
    }
    cg_celeba_paths p = {images, paths[0], paths[1], paths[2]};
    cg_celeba_set s;
    if (cg_celeba_read(&p, &s) != CG_OK) return 0;
    for (size_t i = 0; i < s.n; i++) {
        const cg_celeba_entry *e = &s.entries[i];
        fuzz_touch(e->name, strlen(e->name));
        for (int a = 0; a < s.n_attrs; a++) fuzz_sink += (uint64_t)cg_celeba_attr(&s, e, a);
    }
    for (int a = 0; a < s.n_attrs; a++) fuzz_sink += (uint64_t)cg_celeba_attr_index(&s, s.attr_names[a]);
    cg_celeba_free(&s);
    return 0;
}
