// test_dataset.c — the packed dataset (preprocess/dataset.c): a written file reads back through
// the memory map with its shape, pixels, names and checksum; an empty dataset is valid; an aborted
// writer leaves nothing; and the reader refuses a bad magic, version or flags, sizes that disagree
// with the file (truncated, extended, inflated count or shape), a broken names table, an empty file
// and, when verifying, a flipped payload or name byte (checksum). Host only: no device needed.
#include "preprocess.h"
#include "test_util.h"

#include <unistd.h>

static char dir[1024];

static void path_of(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static uint8_t pixel(uint32_t i, size_t k) { return (uint8_t)(i * 31u + k * 7u + (k >> 5)); }

// Writes n images of h x w x 3 named img<i>.jpg.
static void write_dataset(const char *path, uint32_t n, int h, int w) {
    cg_dataset_writer *wr = NULL;
    CHECK_OK(cg_dataset_writer_open(path, h, w, 3, &wr));
    if (!wr) return;
    size_t bytes = (size_t)h * (size_t)w * 3;
    uint8_t *img = malloc(bytes);
    for (uint32_t i = 0; i < n; i++) {
        for (size_t k = 0; k < bytes; k++) img[k] = pixel(i, k);
        char name[32];
        snprintf(name, sizeof name, "img%06u.jpg", i);
        CHECK_OK(cg_dataset_writer_add(wr, img, name));
    }
    free(img);
    CHECK_OK(cg_dataset_writer_commit(wr));
}

static void test_roundtrip(void) {
    char path[1200];
    path_of(path, sizeof path, "ok.cgds");
    write_dataset(path, 5, 7, 9);
    cg_dataset *ds = NULL;
    CHECK_OK(cg_dataset_open(path, 1, &ds));
    if (!ds) return;
    uint32_t h, w, c;
    cg_dataset_shape(ds, &h, &w, &c);
    CHECK(cg_dataset_count(ds) == 5 && h == 7 && w == 9 && c == 3, "shape %u x %ux%ux%u", cg_dataset_count(ds), h, w,
          c);
    int bad = 0;
    for (uint32_t i = 0; i < cg_dataset_count(ds); i++) {
        const uint8_t *img = cg_dataset_image(ds, i);
        for (size_t k = 0; k < 7 * 9 * 3; k++) bad += img[k] != pixel(i, k);
        char name[32];
        snprintf(name, sizeof name, "img%06u.jpg", i);
        CHECK(!strcmp(cg_dataset_name(ds, i), name), "name %u: %s", i, cg_dataset_name(ds, i));
    }
    CHECK(bad == 0, "%d pixels differ after the round trip", bad);
    // The checksum is FNV-1a over the payload then the names table, as documented.
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(path, &data, &len));
    CHECK(len == 64 + 5 * 7 * 9 * 3 + 5 * 14, "file size %zu", len);
    if (data && len > 64) CHECK(cg_fnv1a64(data + 64, len - 64, CG_FNV_INIT) == cg_dataset_checksum(ds), "checksum");
    CHECK(data && !memcmp(data, "CLGANDS\0", 8), "magic");
    free(data);
    cg_dataset_close(ds);

    path_of(path, sizeof path, "empty_set.cgds");
    write_dataset(path, 0, 4, 4);
    CHECK_OK(cg_dataset_open(path, 1, &ds));
    if (ds) CHECK(cg_dataset_count(ds) == 0, "count %u", cg_dataset_count(ds));
    cg_dataset_close(ds);

    cg_dataset_writer *wr = NULL;
    path_of(path, sizeof path, "aborted.cgds");
    CHECK_OK(cg_dataset_writer_open(path, 2, 2, 3, &wr));
    uint8_t img[12] = {0};
    if (wr) CHECK_OK(cg_dataset_writer_add(wr, img, "a"));
    cg_dataset_writer_abort(wr);
    CHECK(access(path, F_OK) != 0, "an aborted dataset left %s", path);
    CHECK_FAILS(cg_dataset_writer_open(path, 0, 2, 3, &wr), CG_ERR_INVALID_ARG, "bad image shape");
}

// Copies ok.cgds with a change and expects the reader to refuse it (verify: checksum checked).
typedef void (*mutation)(char **data, size_t *len);
static void expect_refused(const char *label, mutation m, int verify, const char *needle) {
    char src[1200], dst[1200];
    path_of(src, sizeof src, "ok.cgds");
    path_of(dst, sizeof dst, "bad.cgds");
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(src, &data, &len));
    if (!data) return;
    m(&data, &len);
    CHECK_OK(cg_write_file_atomic(dst, data, len));
    free(data);
    cg_dataset *ds = NULL;
    cg_clear_error();
    cg_status st = cg_dataset_open(dst, verify, &ds);
    CHECK(st == CG_ERR_FORMAT && ds == NULL, "%s: accepted (%s)", label, cg_status_name(st));
    CHECK(strstr(cg_last_error(), needle) != NULL, "%s: detail '%s' lacks '%s'", label, cg_last_error(), needle);
    cg_dataset_close(ds);
}

static void put32(char *p, uint32_t v) { memcpy(p, &v, 4); } // the test host is little-endian
static void m_magic(char **d, size_t *n) { (*d)[0] = 'X'; }
static void m_version(char **d, size_t *n) { put32(*d + 8, 2); }
static void m_flags(char **d, size_t *n) { put32(*d + 28, 1); }
static void m_count(char **d, size_t *n) { put32(*d + 12, 6); }
static void m_height(char **d, size_t *n) { put32(*d + 16, 8); }
static void m_channels(char **d, size_t *n) { put32(*d + 24, 0); }
static void m_huge_count(char **d, size_t *n) {
    put32(*d + 12, 0xffffffffu);
    put32(*d + 16, 65535);
    put32(*d + 20, 65535);
}
static void m_truncate(char **d, size_t *n) { *n -= 10; }
static void m_extend(char **d, size_t *n) {
    *d = realloc(*d, *n + 3);
    memset(*d + *n, 0, 3);
    *n += 3;
}
static void m_header_only(char **d, size_t *n) { *n = 40; }
static void m_empty(char **d, size_t *n) { *n = 0; }
static void m_payload_byte(char **d, size_t *n) { (*d)[64 + 100] ^= 1; }
static void m_name_byte(char **d, size_t *n) { (*d)[*n - 3] ^= 1; }
static void m_checksum(char **d, size_t *n) { (*d)[32] ^= 0x80; }
static void m_names_merged(char **d, size_t *n) { (*d)[*n - 15] = 'x'; } // a NUL inside the table -> 4 names
static void m_names_unterminated(char **d, size_t *n) { (*d)[*n - 1] = 'x'; }

static void test_refusals(void) {
    expect_refused("bad magic", m_magic, 0, "bad magic");
    expect_refused("version 2", m_version, 0, "unsupported version");
    expect_refused("flags", m_flags, 0, "unknown flags");
    expect_refused("count + 1", m_count, 0, "do not match the file size");
    expect_refused("height + 1", m_height, 0, "do not match the file size");
    expect_refused("0 channels", m_channels, 0, "bad image shape");
    expect_refused("overflowing count", m_huge_count, 0, "");
    expect_refused("truncated", m_truncate, 0, "do not match the file size");
    expect_refused("extended", m_extend, 0, "do not match the file size");
    expect_refused("header only", m_header_only, 0, "shorter than its 64-byte header");
    expect_refused("empty file", m_empty, 0, "empty");
    expect_refused("payload byte", m_payload_byte, 1, "checksum mismatch");
    expect_refused("name byte", m_name_byte, 1, "checksum mismatch");
    expect_refused("checksum field", m_checksum, 1, "checksum mismatch");
    expect_refused("names merged", m_names_merged, 0, "fewer names");
    expect_refused("names unterminated", m_names_unterminated, 0, "not terminated");
    // Without verification a flipped payload byte goes unnoticed (the mapping is not hashed).
    char src[1200], dst[1200];
    path_of(src, sizeof src, "ok.cgds");
    path_of(dst, sizeof dst, "flipped.cgds");
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(src, &data, &len));
    if (data) {
        m_payload_byte(&data, &len);
        CHECK_OK(cg_write_file_atomic(dst, data, len));
        cg_dataset *ds = NULL;
        CHECK_OK(cg_dataset_open(dst, 0, &ds));
        cg_dataset_close(ds);
    }
    free(data);
    cg_dataset *ds = NULL;
    path_of(dst, sizeof dst, "does_not_exist.cgds");
    CHECK_FAILS(cg_dataset_open(dst, 1, &ds), CG_ERR_NOT_FOUND, "cannot open dataset");
}

static int remove_all(void) {
    const char *names[] = {"ok.cgds", "empty_set.cgds", "bad.cgds", "flipped.cgds"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[1200];
        path_of(p, sizeof p, names[i]);
        unlink(p);
    }
    return rmdir(dir);
}

int main(void) {
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/clgan_test_dataset_XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot create a temporary folder under %s\n", tmp);
        return 1;
    }
    test_roundtrip();
    test_refusals();
    CHECK(remove_all() == 0, "leftover files in %s", dir);
    return test_finish("test_dataset");
}
