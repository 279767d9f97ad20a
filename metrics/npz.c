// npz.c — .npz archives (zip files of .npy entries) and pytorch-fid statistics files.
// Reading goes through the central directory (zip64 end records and extra fields included, as
// numpy's zipfile writes them with force_zip64), accepts stored and deflated entries (raw inflate)
// and checks each entry's CRC-32. Writing produces stored entries, atomically.
#include "metrics_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

static uint32_t u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const unsigned char *p) { return u16(p) | u16(p + 2) << 16; }
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

typedef struct {
    const unsigned char *b;
    size_t len;
    const char *path;
} archive;

static cg_status corrupt(const archive *z, const char *problem) {
    return cg_fail(CG_ERR_FORMAT, "%s: not a valid .npz (zip) archive: %s", z->path, problem);
}

// Finds the central directory: *cd offset, *size bytes, *entries.
static cg_status find_directory(const archive *z, uint64_t *cd, uint64_t *size, uint64_t *entries) {
    if (z->len < 22) return corrupt(z, "file too short (truncated?)");
    size_t lo = z->len > 22 + 65535 ? z->len - 22 - 65535 : 0, e = z->len - 22;
    while (u32(z->b + e) != SIG_END) {
        if (e == lo) return corrupt(z, "no end-of-central-directory record (truncated?)");
        e--;
    }
    const unsigned char *end = z->b + e;
    *entries = u16(end + 10);
    *size = u32(end + 12);
    *cd = u32(end + 16);
    if (*entries == 0xffff || *size == 0xffffffffu || *cd == 0xffffffffu) {
        if (e < 20 || u32(end - 20) != SIG_LOCATOR64) return corrupt(z, "zip64 locator missing");
        uint64_t off = u64(end - 20 + 8);
        if (z->len < 56 || off > z->len - 56 || u32(z->b + off) != SIG_END64)
            return corrupt(z, "zip64 end record missing");
        *entries = u64(z->b + off + 32);
        *size = u64(z->b + off + 40);
        *cd = u64(z->b + off + 48);
    }
    if (*cd > z->len || *size > z->len - *cd) return corrupt(z, "central directory outside the file (truncated?)");
    return CG_OK;
}

typedef struct {
    char name[256];
    unsigned method, flags;
    uint32_t crc;
    uint64_t csize, usize, local;
} entry;

// Parses the central entry at *pos and advances *pos.
static cg_status read_entry(const archive *z, uint64_t *pos, uint64_t end, entry *en) {
    if (end - *pos < 46 || u32(z->b + *pos) != SIG_CENTRAL) return corrupt(z, "bad central directory entry");
    const unsigned char *h = z->b + *pos;
    size_t nlen = u16(h + 28), xlen = u16(h + 30), clen = u16(h + 32);
    if (end - *pos - 46 < nlen + xlen + clen) return corrupt(z, "central directory entry overruns");
    en->flags = u16(h + 8);
    en->method = u16(h + 10);
    en->crc = u32(h + 16);
    en->csize = u32(h + 20);
    en->usize = u32(h + 24);
    en->local = u32(h + 42);
    size_t n = nlen < sizeof en->name ? nlen : sizeof en->name - 1;
    memcpy(en->name, h + 46, n);
    en->name[n] = 0;
    for (const unsigned char *x = h + 46 + nlen, *xe = x + xlen; xe - x >= 4;) {
        unsigned id = u16(x), sz = u16(x + 2);
        const unsigned char *v = x + 4, *ve = v + sz;
        if (ve > xe) return corrupt(z, "bad extra field");
        if (id == 0x0001) { // zip64: the 64-bit values of the fields that hold 0xffffffff, in order
            uint64_t *fields[3] = {&en->usize, &en->csize, &en->local};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffffu) continue;
                if (ve - v < 8) return corrupt(z, "short zip64 extra field");
                *fields[i] = u64(v);
                v += 8;
            }
        }
        x = ve;
    }
    *pos += 46 + nlen + xlen + clen;
    return CG_OK;
}

// The entry's uncompressed bytes, CRC-checked, in a malloc'd buffer.
static cg_status extract(const archive *z, const entry *en, unsigned char **out) {
    *out = NULL;
    char what[300];
    snprintf(what, sizeof what, "entry %s", en->name);
    if (en->flags & 1u) return cg_fail(CG_ERR_FORMAT, "%s: %s is encrypted", z->path, what);
    if (en->method != 0 && en->method != 8)
        return cg_fail(CG_ERR_FORMAT, "%s: %s uses compression method %u (only stored and deflate are read)",
                       z->path, what, en->method);
    if (en->local > z->len || z->len - en->local < 30 || u32(z->b + en->local) != SIG_LOCAL)
        return cg_fail(CG_ERR_FORMAT, "%s: %s: local header missing (truncated?)", z->path, what);
    uint64_t data = en->local + 30 + u16(z->b + en->local + 26) + u16(z->b + en->local + 28);
    if (data > z->len || en->csize > z->len - data)
        return cg_fail(CG_ERR_FORMAT, "%s: %s: data runs past the end of the file (truncated?)", z->path, what);
    if (en->usize >= 0xffffffffu || en->csize >= 0xffffffffu || (en->method == 0 && en->usize != en->csize))
        return cg_fail(CG_ERR_FORMAT, "%s: %s: implausible size %llu", z->path, what, (unsigned long long)en->usize);
    if (en->method == 8 && en->usize > en->csize * 1032 + 64) // deflate expands at most 1032:1
        return cg_fail(CG_ERR_FORMAT, "%s: %s: claims %llu uncompressed bytes from %llu compressed (deflate expands "
                       "at most 1032:1)", z->path, what, (unsigned long long)en->usize, (unsigned long long)en->csize);
    unsigned char *buf = malloc(en->usize ? (size_t)en->usize : 1);
    if (!buf) return cg_fail(CG_ERR_NOMEM, "%s: out of memory for %s", z->path, what);
    if (en->method == 0) {
        memcpy(buf, z->b + data, (size_t)en->usize);
    } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, -15) != Z_OK) {
            free(buf);
            return cg_fail(CG_ERR_NOMEM, "%s: zlib inflateInit2 failed", z->path);
        }
        s.next_in = (Bytef *)(z->b + data); // zlib's API is not const-qualified; it only reads
        s.avail_in = (uInt)en->csize;
        s.next_out = buf;
        s.avail_out = (uInt)en->usize;
        int rc = inflate(&s, Z_FINISH);
        uint64_t got = s.total_out;
        inflateEnd(&s);
        if (rc != Z_STREAM_END || got != en->usize) {
            free(buf);
            return cg_fail(CG_ERR_FORMAT, "%s: %s: deflate data is corrupt (%s)", z->path, what,
                           rc == Z_STREAM_END ? "wrong size" : rc == Z_BUF_ERROR ? "truncated" : "invalid");
        }
    }
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)en->usize);
    if (crc != en->crc) {
        free(buf);
        return cg_fail(CG_ERR_FORMAT, "%s: %s: CRC-32 mismatch (%08x, expected %08x): the file is corrupt", z->path,
                       what, crc, en->crc);
    }
    *out = buf;
    return CG_OK;
}

static cg_status read_from(const archive *z, const char *key, cg_array *out) {
    uint64_t cd = 0, size = 0, entries = 0;
    CG_TRY(find_directory(z, &cd, &size, &entries));
    char want[260], names[512] = "";
    snprintf(want, sizeof want, "%s.npy", key);
    uint64_t pos = cd, end = cd + size;
    for (uint64_t i = 0; i < entries; i++) {
        entry en;
        CG_TRY(read_entry(z, &pos, end, &en));
        if (strcmp(en.name, want) != 0) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", en.name);
            continue;
        }
        unsigned char *buf = NULL;
        CG_TRY(extract(z, &en, &buf));
        char what[600];
        snprintf(what, sizeof what, "%s: %s", z->path, want);
        cg_status st = cg_npy_parse(buf, (size_t)en.usize, what, out);
        free(buf);
        return st;
    }
    return cg_fail(CG_ERR_NOT_FOUND, "%s: no entry '%s' (entries: %s)", z->path, want, *names ? names : "none");
}

cg_status cg_npz_read(const char *path, const char *key, cg_array *out) {
    if (!out || !key) return cg_fail(CG_ERR_INVALID_ARG, "cg_npz_read: NULL argument");
    memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t len = 0;
    CG_TRY(cg_read_file(path, &data, &len));
    archive z = {(const unsigned char *)data, len, path};
    cg_status st = read_from(&z, key, out);
    free(data);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Writing: local header + data per entry, then the central directory and the end record.
// DOS time 0, date 1980-01-01 (0x21), as numpy writes; external attributes: a regular 0600 file.

static void put16(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

typedef struct {
    char name[260];
    uint32_t crc, size, offset;
} written;

static void local_header(unsigned char h[30], const written *w) {
    memset(h, 0, 30);
    put32(h, SIG_LOCAL);
    put16(h + 4, 20);   // version needed: 2.0
    put16(h + 12, 0x21); // date
    put32(h + 14, w->crc);
    put32(h + 18, w->size);
    put32(h + 22, w->size);
    put16(h + 26, (uint32_t)strlen(w->name));
}

static void central_header(unsigned char h[46], const written *w) {
    memset(h, 0, 46);
    put32(h, SIG_CENTRAL);
    put16(h + 4, 0x0314); // made by: Unix, 2.0
    put16(h + 6, 20);
    put16(h + 14, 0x21);
    put32(h + 16, w->crc);
    put32(h + 20, w->size);
    put32(h + 24, w->size);
    put16(h + 28, (uint32_t)strlen(w->name));
    put32(h + 38, 0100600u << 16);
    put32(h + 42, w->offset);
}

static cg_status write_entries(FILE *f, const char *path, int count, const char *const *keys, const cg_array *arrays,
                               written *ws) {
    uint64_t offset = 0;
    for (int i = 0; i < count; i++) {
        written *w = &ws[i];
        snprintf(w->name, sizeof w->name, "%s.npy", keys[i]);
        unsigned char *buf = NULL;
        size_t len = 0;
        CG_TRY(cg_npy_encode(arrays[i].data, 1, arrays[i].ndim, arrays[i].shape, path, &buf, &len));
        if (offset + len + 30 + strlen(w->name) > 0xfffffffful) {
            free(buf);
            return cg_fail(CG_ERR_INVALID_ARG, "%s: arrays larger than 4 GiB are not written", path);
        }
        w->crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)len);
        w->size = (uint32_t)len;
        w->offset = (uint32_t)offset;
        unsigned char h[30];
        local_header(h, w);
        size_t nlen = strlen(w->name);
        int ok = fwrite(h, 1, 30, f) == 30 && fwrite(w->name, 1, nlen, f) == nlen && fwrite(buf, 1, len, f) == len;
        free(buf);
        if (!ok) return cg_fail(CG_ERR_IO, "cannot write '%s': write failed", path);
        offset += 30 + nlen + len;
    }
    unsigned char h[46];
    uint64_t cd = offset, cd_size = 0;
    for (int i = 0; i < count; i++) {
        central_header(h, &ws[i]);
        size_t nlen = strlen(ws[i].name);
        if (fwrite(h, 1, 46, f) != 46 || fwrite(ws[i].name, 1, nlen, f) != nlen)
            return cg_fail(CG_ERR_IO, "cannot write '%s': write failed", path);
        cd_size += 46 + nlen;
    }
    memset(h, 0, 22);
    put32(h, SIG_END);
    put16(h + 8, (uint32_t)count);
    put16(h + 10, (uint32_t)count);
    put32(h + 12, (uint32_t)cd_size);
    put32(h + 16, (uint32_t)cd);
    if (fwrite(h, 1, 22, f) != 22) return cg_fail(CG_ERR_IO, "cannot write '%s': write failed", path);
    return CG_OK;
}

cg_status cg_npz_write(const char *path, int count, const char *const *keys, const cg_array *arrays) {
    if (!path || count < 0 || count > 1000 || (count && (!keys || !arrays)))
        return cg_fail(CG_ERR_INVALID_ARG, "cg_npz_write: bad arguments");
    for (int i = 0; i < count; i++)
        if (!keys[i] || !*keys[i] || strlen(keys[i]) > 250 || strchr(keys[i], '/'))
            return cg_fail(CG_ERR_INVALID_ARG, "%s: bad entry name '%s'", path, keys[i] ? keys[i] : "(null)");
    written *ws = calloc((size_t)count + 1, sizeof *ws);
    if (!ws) return cg_fail(CG_ERR_NOMEM, "%s: out of memory", path);
    cg_atomic_file *af = NULL;
    cg_status st = cg_atomic_open(path, &af);
    if (st == CG_OK) {
        st = write_entries(cg_atomic_stream(af), path, count, keys, arrays, ws);
        if (st == CG_OK)
            st = cg_atomic_commit(af);
        else
            cg_atomic_abort(af);
    }
    free(ws);
    return st;
}

// ---------------------------------------------------------------------------------------------
// pytorch-fid statistics.

static const char *shape_text(const cg_array *a, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "(");
    for (int k = 0; k < a->ndim && (size_t)n < cap; k++)
        n += snprintf(buf + n, cap - (size_t)n, k ? ", %lld" : "%lld", (long long)a->shape[k]);
    if ((size_t)n < cap) snprintf(buf + n, cap - (size_t)n, a->ndim == 1 ? ",)" : ")");
    return buf;
}

cg_status cg_stats_load(const char *path, cg_stats *out) {
    if (!out) return cg_fail(CG_ERR_INVALID_ARG, "cg_stats_load: out is NULL");
    memset(out, 0, sizeof *out);
    cg_array mu, sigma;
    CG_TRY(cg_npz_read(path, "mu", &mu));
    cg_status st = cg_npz_read(path, "sigma", &sigma);
    if (st != CG_OK) {
        cg_array_free(&mu);
        return st;
    }
    int64_t d = mu.ndim == 1 ? mu.shape[0] : -1;
    if (d <= 0 || d > 65536 || sigma.ndim != 2 || sigma.shape[0] != d || sigma.shape[1] != d) {
        char a[200], b[200];
        st = cg_fail(CG_ERR_FORMAT, "%s: mu must have shape (d,) and sigma (d, d), found %s and %s", path,
                     shape_text(&mu, a, sizeof a), shape_text(&sigma, b, sizeof b));
        cg_array_free(&mu);
        cg_array_free(&sigma);
        return st;
    }
    out->d = (int)d;
    out->mu = mu.data;
    out->sigma = sigma.data;
    return CG_OK;
}

cg_status cg_stats_save(const char *path, const cg_stats *s) {
    if (!s || s->d <= 0 || !s->mu || !s->sigma) return cg_fail(CG_ERR_INVALID_ARG, "cg_stats_save: empty statistics");
    cg_array arrays[2] = {{.ndim = 1, .shape = {s->d}, .count = s->d, .source_f64 = 1, .data = s->mu},
                          {.ndim = 2, .shape = {s->d, s->d}, .count = (int64_t)s->d * s->d, .source_f64 = 1,
                           .data = s->sigma}};
    const char *keys[2] = {"mu", "sigma"};
    return cg_npz_write(path, 2, keys, arrays);
}
