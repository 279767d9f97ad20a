// dataset.c — the packed dataset: an atomic streaming writer and a memory-mapped reader that checks
// everything before handing out a pointer.
//
// Format, version 1 (all integers little-endian):
//   offset  size  field
//        0     8  magic "CLGANDS\0"
//        8     4  u32 version = 1
//       12     4  u32 count: number of images
//       16     4  u32 H      image height
//       20     4  u32 W      image width
//       24     4  u32 C      channels (3: RGB)
//       28     4  u32 flags = 0 (reserved)
//       32     8  u64 checksum: FNV-1a 64 (cg_fnv1a64) of the payload bytes followed by the names table
//       40     8  u64 payload offset = 64
//       48     8  u64 names offset = payload offset + count * H * W * C
//       56     8  u64 names size in bytes; the file ends exactly at names offset + names size
//   payload: count images of H x W x C uint8, row-major HWC each (NHWC overall); image i starts at
//            payload offset + i * H * W * C, so the payload can be used straight from the mapping.
//   names:   count NUL-terminated strings (the source file names) in image order.
// The reader refuses a wrong magic, version or flags, sizes that do not add up to the file size, a
// names table without exactly count strings, and (when asked to verify) a checksum mismatch.
#include "dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_SIZE 64u

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// ---------------------------------------------------------------------------------------------
// Writer.

struct cg_dataset_writer {
    cg_atomic_file *file;
    char *path;
    uint32_t count, h, w, c;
    size_t image_bytes;
    uint64_t hash;
    char *names;
    size_t names_len, names_cap;
};

cg_status cg_dataset_writer_open(const char *path, int h, int w, int c, cg_dataset_writer **out) {
    *out = NULL;
    if (h < 1 || w < 1 || c < 1 || c > 4 || h > 65535 || w > 65535)
        return cg_fail(CG_ERR_INVALID_ARG, "dataset '%s': bad image shape %dx%dx%d", path, h, w, c);
    cg_dataset_writer *wr = calloc(1, sizeof *wr);
    if (!wr || !(wr->path = strdup(path))) {
        free(wr);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    wr->h = (uint32_t)h;
    wr->w = (uint32_t)w;
    wr->c = (uint32_t)c;
    wr->image_bytes = (size_t)h * (size_t)w * (size_t)c;
    wr->hash = CG_FNV_INIT;
    cg_status st = cg_atomic_open(path, &wr->file);
    if (st == CG_OK) {
        uint8_t zero[HEADER_SIZE] = {0}; // the header is written last, once the count is known
        if (fwrite(zero, 1, sizeof zero, cg_atomic_stream(wr->file)) != sizeof zero)
            st = cg_fail(CG_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    if (st != CG_OK) {
        cg_dataset_writer_abort(wr);
        return st;
    }
    *out = wr;
    return CG_OK;
}

cg_status cg_dataset_writer_add(cg_dataset_writer *wr, const uint8_t *pixels, const char *name) {
    if (wr->count == UINT32_MAX) return cg_fail(CG_ERR_INVALID_ARG, "dataset '%s' is full", wr->path);
    size_t len = strlen(name) + 1;
    if (wr->names_len + len > wr->names_cap) {
        size_t cap = wr->names_cap ? 2 * wr->names_cap : 4096;
        while (cap < wr->names_len + len) cap *= 2;
        char *n = realloc(wr->names, cap);
        if (!n) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        wr->names = n;
        wr->names_cap = cap;
    }
    if (fwrite(pixels, 1, wr->image_bytes, cg_atomic_stream(wr->file)) != wr->image_bytes)
        return cg_fail(CG_ERR_IO, "cannot write '%s': %s", wr->path, strerror(errno));
    memcpy(wr->names + wr->names_len, name, len);
    wr->names_len += len;
    wr->hash = cg_fnv1a64(pixels, wr->image_bytes, wr->hash);
    wr->count++;
    return CG_OK;
}

cg_status cg_dataset_writer_commit(cg_dataset_writer *wr) {
    FILE *f = cg_atomic_stream(wr->file);
    uint64_t payload = (uint64_t)wr->count * wr->image_bytes;
    uint64_t hash = cg_fnv1a64(wr->names ? wr->names : "", wr->names_len, wr->hash);
    uint8_t hdr[HEADER_SIZE] = {0};
    memcpy(hdr, CG_DATASET_MAGIC, 8); // includes the terminating NUL
    put_u32(hdr + 8, CG_DATASET_VERSION);
    put_u32(hdr + 12, wr->count);
    put_u32(hdr + 16, wr->h);
    put_u32(hdr + 20, wr->w);
    put_u32(hdr + 24, wr->c);
    put_u32(hdr + 28, 0);
    put_u64(hdr + 32, hash);
    put_u64(hdr + 40, HEADER_SIZE);
    put_u64(hdr + 48, HEADER_SIZE + payload);
    put_u64(hdr + 56, wr->names_len);
    cg_status st = CG_OK;
    if ((wr->names_len && fwrite(wr->names, 1, wr->names_len, f) != wr->names_len) || fseek(f, 0, SEEK_SET) != 0 ||
        fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr)
        st = cg_fail(CG_ERR_IO, "cannot write '%s': %s", wr->path, strerror(errno));
    if (st == CG_OK) {
        st = cg_atomic_commit(wr->file);
        wr->file = NULL;
    }
    cg_dataset_writer_abort(wr);
    return st;
}

void cg_dataset_writer_abort(cg_dataset_writer *wr) {
    if (!wr) return;
    if (wr->file) cg_atomic_abort(wr->file);
    free(wr->path);
    free(wr->names);
    free(wr);
}

// ---------------------------------------------------------------------------------------------
// Reader.

struct cg_dataset {
    const uint8_t *map;
    size_t size;
    uint32_t count, h, w, c;
    size_t image_bytes;
    uint64_t payload_off, checksum;
    const char **names;
};

static cg_status refuse(cg_dataset *ds, const char *path, const char *why) {
    cg_dataset_close(ds);
    return cg_fail(CG_ERR_FORMAT, "dataset '%s' is refused: %s", path, why);
}

// Checks header fields and the names table against the file size; indexes the names.
static cg_status validate(cg_dataset *ds, const char *path, int verify) {
    const uint8_t *m = ds->map;
    if (ds->size < HEADER_SIZE) return refuse(ds, path, "shorter than its 64-byte header");
    if (memcmp(m, CG_DATASET_MAGIC, 8) != 0) return refuse(ds, path, "bad magic (not a clgan dataset)");
    if (get_u32(m + 8) != CG_DATASET_VERSION) return refuse(ds, path, "unsupported version");
    if (get_u32(m + 28) != 0) return refuse(ds, path, "unknown flags");
    ds->count = get_u32(m + 12);
    ds->h = get_u32(m + 16);
    ds->w = get_u32(m + 20);
    ds->c = get_u32(m + 24);
    ds->checksum = get_u64(m + 32);
    uint64_t payload_off = get_u64(m + 40), names_off = get_u64(m + 48), names_size = get_u64(m + 56);
    if (ds->h < 1 || ds->w < 1 || ds->c < 1 || ds->c > 4 || ds->h > 65535 || ds->w > 65535)
        return refuse(ds, path, "bad image shape");
    ds->image_bytes = (size_t)ds->h * ds->w * ds->c;
    uint64_t payload = (uint64_t)ds->count * ds->image_bytes; // at most 2^32 * 2^34: no overflow
    if (payload > ds->size - HEADER_SIZE) {
        char why[256];
        snprintf(why, sizeof why,
                 "the sizes in the header do not match the file size: the header claims %u images of %ux%ux%u "
                 "(%llu bytes), but the file holds %zu bytes",
                 ds->count, ds->h, ds->w, ds->c, (unsigned long long)payload, ds->size);
        return refuse(ds, path, why);
    }
    if (payload_off != HEADER_SIZE || names_off != payload_off + payload || names_off > ds->size ||
        names_size != ds->size - names_off)
        return refuse(ds, path, "the sizes in the header do not match the file size");
    ds->payload_off = payload_off;
    const char *names = (const char *)m + names_off;
    if (ds->count && (names_size == 0 || names[names_size - 1] != 0))
        return refuse(ds, path, "the names table is not terminated");
    ds->names = malloc((ds->count ? ds->count : 1) * sizeof *ds->names);
    if (!ds->names) {
        cg_dataset_close(ds);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    uint64_t pos = 0;
    for (uint32_t i = 0; i < ds->count; i++) {
        if (pos >= names_size) return refuse(ds, path, "the names table holds fewer names than images");
        ds->names[i] = names + pos;
        pos += strnlen(names + pos, names_size - pos) + 1;
    }
    if (pos != names_size) return refuse(ds, path, "the names table holds more names than images");
    if (verify && cg_fnv1a64(m + payload_off, ds->size - payload_off, CG_FNV_INIT) != ds->checksum)
        return refuse(ds, path, "checksum mismatch (the file is corrupt)");
    return CG_OK;
}

cg_status cg_dataset_open(const char *path, int verify, cg_dataset **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); // a FIFO must not block the open
    if (fd < 0)
        return cg_fail(errno == ENOENT ? CG_ERR_NOT_FOUND : CG_ERR_IO, "cannot open dataset '%s': %s", path,
                       strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cg_fail(CG_ERR_IO, "dataset '%s' is not a regular file", path);
    }
    cg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        close(fd);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    ds->size = (size_t)sb.st_size;
    if (ds->size == 0) {
        close(fd);
        return refuse(ds, path, "the file is empty");
    }
    void *m = mmap(NULL, ds->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        free(ds);
        return cg_fail(CG_ERR_IO, "cannot map dataset '%s': %s", path, strerror(errno));
    }
    ds->map = m;
    CG_TRY(validate(ds, path, verify));
    *out = ds;
    return CG_OK;
}

void cg_dataset_close(cg_dataset *ds) {
    if (!ds) return;
    if (ds->map) munmap((void *)ds->map, ds->size);
    free(ds->names);
    free(ds);
}

uint32_t cg_dataset_count(const cg_dataset *ds) { return ds->count; }

void cg_dataset_shape(const cg_dataset *ds, uint32_t *h, uint32_t *w, uint32_t *c) {
    if (h) *h = ds->h;
    if (w) *w = ds->w;
    if (c) *c = ds->c;
}

const uint8_t *cg_dataset_image(const cg_dataset *ds, uint32_t i) {
    CG_ASSERT(i < ds->count);
    return ds->map + ds->payload_off + (size_t)i * ds->image_bytes;
}

const char *cg_dataset_name(const cg_dataset *ds, uint32_t i) {
    CG_ASSERT(i < ds->count);
    return ds->names[i];
}

uint64_t cg_dataset_checksum(const cg_dataset *ds) { return ds->checksum; }
