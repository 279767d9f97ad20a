// test_size_limits.c — sizes read from file headers are checked before anything is allocated from
// them (issue 14): a safetensors or .npy shape whose element count overflows, a packed dataset whose
// header claims more images than the file holds, a .npz entry claiming more bytes than deflate can
// produce, and an image whose header claims 100000x100000 pixels, read as `score`/`stats` read a
// folder. Each is refused with a message naming the file and the value.
#include "test_util.h"
#include "inception.h"
#include "metrics.h"
#include "nets.h"
#include "preprocess.h"

#include <stdint.h>
#include <sys/stat.h>

static char dir[64];

static const char *write_file(const char *name, const void *data, size_t len) {
    static char path[4][256];
    static int next;
    char *p = path[next++ & 3];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len && fclose(f) == 0, "cannot write %s", p);
    return p;
}

// Refused with `want`, and the detail names the file (path) and the value.
#define CHECK_REFUSED(expr, want, path, value)                                                       \
    do {                                                                                             \
        CHECK_FAILS(expr, want, path);                                                               \
        CHECK(strstr(cg_last_error(), value) != NULL, "detail '%s' lacks '%s'", cg_last_error(), value); \
    } while (0)

static void safetensors_overflow(void) {
    static const char *const cases[][2] = {
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,0]}}", "4294967296 elements"},
        // a zero dimension makes the count 0, but a reader multiplying the others first overflows
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,0],\"data_offsets\":[0,0]}}",
         "[2147483647, 2147483647, 0] has"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t hlen = strlen(cases[i][0]);
        uint8_t buf[256] = {0};
        for (int b = 0; b < 8; b++) buf[b] = (uint8_t)(hlen >> (8 * b));
        memcpy(buf + 8, cases[i][0], hlen);
        const char *path = write_file("overflow.safetensors", buf, 8 + hlen);
        cg_st_file *f = NULL;
        CHECK_REFUSED(cg_safetensors_open(path, &f), CG_ERR_FORMAT, path, cases[i][1]);
        CHECK(f == NULL, "a refused file is not handed out");
    }
}

static void npy_overflow(void) {
    char npy[128] = "\x93NUMPY\x01\x00";
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n";
    size_t hlen = strlen(dict);
    npy[8] = (char)hlen;
    npy[9] = 0;
    memcpy(npy + 10, dict, hlen);
    const char *path = write_file("overflow.npy", npy, 10 + hlen);
    cg_array a;
    CHECK_REFUSED(cg_npy_read(path, &a), CG_ERR_FORMAT, path, "(4294967296, 4294967296)");
    CHECK(a.data == NULL, "nothing allocated");
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void dataset_too_many_images(void) {
    uint8_t file[64 + 12] = "CLGANDS";
    put32(file + 8, 1);     // version
    put32(file + 12, 1000); // count: 1000 images of 64x64x3 in a 76-byte file
    put32(file + 16, 64);
    put32(file + 20, 64);
    put32(file + 24, 3);
    file[40] = 64;                                   // payload offset
    uint64_t names = 64 + 1000ull * 64 * 64 * 3;     // consistent with the count, not with the file
    for (int b = 0; b < 8; b++) file[48 + b] = (uint8_t)(names >> (8 * b));
    file[56] = 12;
    const char *path = write_file("claims.bin", file, sizeof file);
    cg_dataset *ds = NULL;
    CHECK_REFUSED(cg_dataset_open(path, 1, &ds), CG_ERR_FORMAT, path, "claims 1000 images of 64x64x3");
    CHECK(strstr(cg_last_error(), "holds 76 bytes") != NULL, "detail '%s' lacks the file size", cg_last_error());
    CHECK(ds == NULL, "a refused dataset is not handed out");
}

static void npz_deflate_claim(void) {
    // One deflated entry "mu.npy" of 2 compressed bytes claiming 3 000 000 000 uncompressed.
    uint8_t z[200] = {0};
    size_t at = 0;
    const uint8_t local[30] = {0x50, 0x4b, 3, 4, 20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0, 0, 0, 0, 0, 2, 0, 0, 0,
                               0x00, 0x5e, 0xd0, 0xb2, 6, 0};
    memcpy(z, local, 30);
    memcpy(z + 30, "mu.npy", 6);
    z[36] = 3, z[37] = 0; // empty final stored block, truncated: never read
    at = 38;
    size_t cd = at;
    const uint8_t central[46] = {0x50, 0x4b, 1, 2, 20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0, 0, 0, 0, 0, 2, 0, 0, 0,
                                 0x00, 0x5e, 0xd0, 0xb2, 6, 0};
    memcpy(z + at, central, 46);
    memcpy(z + at + 46, "mu.npy", 6);
    at += 52;
    const uint8_t end[22] = {0x50, 0x4b, 5, 6, 0, 0, 0, 0, 1, 0, 1, 0, 52, 0, 0, 0, (uint8_t)cd, 0, 0, 0, 0, 0};
    memcpy(z + at, end, 22);
    at += 22;
    const char *path = write_file("bomb.npz", z, at);
    cg_array a;
    CHECK_REFUSED(cg_npz_read(path, "mu", &a), CG_ERR_FORMAT, path, "claims 3000000000 uncompressed bytes");
}

// A PNG whose IHDR claims w x h pixels (no image data follows).
static size_t png_header(uint8_t *b, uint32_t w, uint32_t h) {
    static const uint8_t sig[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    memcpy(b, sig, 16);
    for (int i = 0; i < 4; i++) b[16 + i] = (uint8_t)(w >> (24 - 8 * i)), b[20 + i] = (uint8_t)(h >> (24 - 8 * i));
    b[24] = 8, b[25] = 2;
    memset(b + 26, 0, 7);
    return 33;
}

static void image_too_large_in_folder(void) {
    char images[128];
    snprintf(images, sizeof images, "%s/images", dir);
    CHECK(mkdir(images, 0700) == 0, "mkdir %s", images);
    uint8_t png[64];
    size_t n = png_header(png, 100000, 100000);
    char path[256];
    snprintf(path, sizeof path, "%s/huge.png", images);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(png, 1, n, f) == n && fclose(f) == 0, "cannot write %s", path);
    cg_image_source *src = NULL;
    CHECK_OK(cg_source_folder(images, &src));
    if (!src) return;
    CHECK(src->count == 1, "one image listed, got %lld", (long long)src->count);
    cg_image img;
    CHECK_REFUSED(src->get(src, 0, &img, NULL), CG_ERR_FORMAT, "huge.png", "100000x100000");
    CHECK(strstr(cg_last_error(), "8192") != NULL, "detail '%s' lacks the limit", cg_last_error());
    cg_source_close(src);
}

int main(void) {
    if (test_tmpdir(dir, sizeof dir, "sizes") != 0) return 1;
    safetensors_overflow();
    npy_overflow();
    dataset_too_many_images();
    npz_deflate_claim();
    image_too_large_in_folder();
    test_rm_rf(dir);
    return test_finish("size_limits");
}
