// tb_events.c — TensorBoard event files written without TensorFlow. The few messages needed (Event,
// Summary, Summary.Value, Summary.Image, SummaryMetadata, TensorProto for text) are encoded by hand:
// protobuf-c would need TensorFlow's .proto files in the tree (Debian packages none), protoc-c at
// build time and libprotobuf-c at run time, for six messages of plain varint, fixed and
// length-delimited fields. Field numbers: tensorboard/compat/proto (event.proto, summary.proto).
#include "tb_events.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cg_tb_writer {
    FILE *f;
    char path[1400];
};

// ---- CRC32C (reflected polynomial 0x82f63b78) and TFRecord's mask.

uint32_t cg_crc32c(const void *data, size_t len) {
    static uint32_t table[256];
    static int ready;
    if (!ready) { // idempotent: racing threads write the same values
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

uint32_t cg_tb_masked_crc(const void *data, size_t len) {
    uint32_t c = cg_crc32c(data, len);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// ---- Protobuf encoding into a growing buffer.

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int failed;
} pbuf;

static void put_raw(pbuf *b, const void *data, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = 2 * (b->len + n) + 64;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q, b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_varint(pbuf *b, uint64_t v) {
    unsigned char t[10];
    int n = 0;
    do {
        t[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put_raw(b, t, (size_t)n);
}

static void put_le(pbuf *b, uint64_t v, int bytes) {
    unsigned char t[8];
    for (int i = 0; i < bytes; i++) t[i] = (unsigned char)(v >> (8 * i));
    put_raw(b, t, (size_t)bytes);
}

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };

static void put_key(pbuf *b, int field, int wire) { put_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }
static void put_int(pbuf *b, int field, int64_t v) { put_key(b, field, WIRE_VARINT), put_varint(b, (uint64_t)v); }
static void put_bytes(pbuf *b, int field, const void *data, size_t n) {
    put_key(b, field, WIRE_BYTES);
    put_varint(b, n);
    put_raw(b, data, n);
}
static void put_str(pbuf *b, int field, const char *s) { put_bytes(b, field, s, strlen(s)); }
// A nested message: its encoding, then freed.
static void put_msg(pbuf *b, int field, pbuf *m) {
    if (m->failed) b->failed = 1;
    put_bytes(b, field, m->p, m->len);
    free(m->p);
    *m = (pbuf){0};
}
static void put_float(pbuf *b, int field, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    put_key(b, field, WIRE_FIXED32), put_le(b, u, 4);
}
static void put_double(pbuf *b, int field, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    put_key(b, field, WIRE_FIXED64), put_le(b, u, 8);
}

enum { EV_WALL_TIME = 1, EV_STEP = 2, EV_FILE_VERSION = 3, EV_SUMMARY = 5 };
enum { SUM_VALUE = 1 };
enum { VAL_TAG = 1, VAL_SIMPLE = 2, VAL_IMAGE = 4, VAL_TENSOR = 8, VAL_METADATA = 9 };
enum { IMG_HEIGHT = 1, IMG_WIDTH = 2, IMG_COLORSPACE = 3, IMG_ENCODED = 4 };
enum { META_PLUGIN_DATA = 1, PLUGIN_NAME = 1, TENSOR_DTYPE = 1, TENSOR_SHAPE = 2, TENSOR_STRING_VAL = 8 };
enum { DT_STRING = 7 };

static double wall_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---- Records.

static cg_status frame(FILE *f, const char *path, const unsigned char *payload, size_t n) {
    unsigned char head[12];
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)n >> (8 * i));
    uint32_t hc = cg_tb_masked_crc(head, 8), pc = cg_tb_masked_crc(payload, n);
    for (int i = 0; i < 4; i++) head[8 + i] = (unsigned char)(hc >> (8 * i));
    unsigned char tail[4] = {(unsigned char)pc, (unsigned char)(pc >> 8), (unsigned char)(pc >> 16),
                             (unsigned char)(pc >> 24)};
    if (fwrite(head, 1, 12, f) != 12 || fwrite(payload, 1, n, f) != n || fwrite(tail, 1, 4, f) != 4)
        return cg_fail(CG_ERR_IO, "cannot write TensorBoard events to %s", path);
    return CG_OK;
}

// Frames the event of body (its summary or file_version fields) with wall time and step, and flushes:
// a killed process leaves at most its last record torn.
static cg_status write_event(cg_tb_writer *w, long step, pbuf *body) {
    pbuf ev = {0};
    put_double(&ev, EV_WALL_TIME, wall_time());
    put_int(&ev, EV_STEP, step);
    put_raw(&ev, body->p, body->len);
    if (body->failed) ev.failed = 1;
    free(body->p);
    *body = (pbuf){0};
    cg_status st = ev.failed ? cg_fail(CG_ERR_NOMEM, "out of host memory") : frame(w->f, w->path, ev.p, ev.len);
    free(ev.p);
    if (st == CG_OK && fflush(w->f) != 0) st = cg_fail(CG_ERR_IO, "cannot write TensorBoard events to %s", w->path);
    return st;
}

static cg_status write_summary(cg_tb_writer *w, long step, pbuf *summary) {
    pbuf body = {0};
    put_msg(&body, EV_SUMMARY, summary);
    return write_event(w, step, &body);
}

cg_status cg_tb_scalars(cg_tb_writer *w, long step, const char *const *tags, const float *values, int n) {
    pbuf sum = {0};
    for (int i = 0; i < n; i++) {
        if (!tags[i]) continue;
        pbuf v = {0};
        put_str(&v, VAL_TAG, tags[i]);
        put_float(&v, VAL_SIMPLE, values[i]);
        put_msg(&sum, SUM_VALUE, &v);
    }
    return write_summary(w, step, &sum);
}

cg_status cg_tb_image(cg_tb_writer *w, long step, const char *tag, const unsigned char *png, size_t len, int height,
                      int width, int channels) {
    pbuf img = {0}, v = {0}, sum = {0};
    put_int(&img, IMG_HEIGHT, height);
    put_int(&img, IMG_WIDTH, width);
    put_int(&img, IMG_COLORSPACE, channels);
    put_bytes(&img, IMG_ENCODED, png, len);
    put_str(&v, VAL_TAG, tag);
    put_msg(&v, VAL_IMAGE, &img);
    put_msg(&sum, SUM_VALUE, &v);
    return write_summary(w, step, &sum);
}

cg_status cg_tb_text(cg_tb_writer *w, long step, const char *tag, const char *text) {
    pbuf plugin = {0}, meta = {0}, shape = {0}, tensor = {0}, v = {0}, sum = {0};
    put_str(&plugin, PLUGIN_NAME, "text");
    put_msg(&meta, META_PLUGIN_DATA, &plugin);
    put_int(&tensor, TENSOR_DTYPE, DT_STRING);
    put_msg(&tensor, TENSOR_SHAPE, &shape); // a scalar: no dimensions
    put_str(&tensor, TENSOR_STRING_VAL, text);
    put_str(&v, VAL_TAG, tag);
    put_msg(&v, VAL_METADATA, &meta);
    put_msg(&v, VAL_TENSOR, &tensor);
    put_msg(&sum, SUM_VALUE, &v);
    return write_summary(w, step, &sum);
}

// ---- Reading back (resume): records, and of each event its step, first tag and kind.

typedef struct {
    const unsigned char *p, *end;
} reader;

static int get_varint(reader *r, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64 && r->p < r->end; s += 7) {
        unsigned char c = *r->p++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) return 1;
    }
    return 0;
}

// The next field: number, wire type, and for bytes its extent; other values skipped. 0 at the end
// or on malformed input.
static int next_field(reader *r, int *field, reader *sub) {
    uint64_t key, v;
    if (r->p >= r->end || !get_varint(r, &key)) return 0;
    *field = (int)(key >> 3);
    switch (key & 7) {
    case WIRE_VARINT: return get_varint(r, &v);
    case WIRE_FIXED64: return r->end - r->p >= 8 ? (r->p += 8, 1) : 0;
    case WIRE_FIXED32: return r->end - r->p >= 4 ? (r->p += 4, 1) : 0;
    case WIRE_BYTES:
        if (!get_varint(r, &v) || v > (uint64_t)(r->end - r->p)) return 0;
        sub->p = r->p, sub->end = r->p + v;
        r->p += v;
        return 2;
    default: return 0;
    }
}

typedef struct {
    long step;
    char tag[128];
    int text;
} event_info;

// Step, first summary tag and whether it is a text (tensor) value; 0 for an event without summary.
static int parse_event(const unsigned char *p, size_t n, event_info *e) {
    memset(e, 0, sizeof *e);
    reader r = {p, p + n}, sum, val, fld;
    int field, kind, has_summary = 0;
    while ((kind = next_field(&r, &field, &sum))) {
        if (field == EV_SUMMARY && kind == 2 && !has_summary) {
            has_summary = 1;
            while (next_field(&sum, &field, &val) == 2 && field == SUM_VALUE && !e->tag[0]) {
                while ((kind = next_field(&val, &field, &fld)))
                    if (kind == 2 && field == VAL_TAG) snprintf(e->tag, sizeof e->tag, "%.*s", (int)(fld.end - fld.p), fld.p);
                    else if (field == VAL_TENSOR) e->text = 1;
            }
        }
    }
    // The step: scanned separately, as next_field keeps no varint values.
    r = (reader){p, p + n};
    uint64_t key, v;
    while (r.p < r.end && get_varint(&r, &key)) {
        if ((key & 7) == WIRE_VARINT) {
            if (!get_varint(&r, &v)) break;
            if ((key >> 3) == EV_STEP) e->step = (long)(int64_t)v;
        } else if ((key & 7) == WIRE_FIXED64) r.p += 8;
        else if ((key & 7) == WIRE_FIXED32) r.p += 4;
        else if ((key & 7) == WIRE_BYTES) {
            if (!get_varint(&r, &v) || v > (uint64_t)(r.end - r.p)) break;
            r.p += v;
        } else break;
    }
    return has_summary;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct {
    char tag[128];
    long last; // its step
} tag_step;

typedef struct {
    tag_step *seen;
    int n, cap;
} seen_tags;

// Whether (tag, step) is new; records it.
static int fresh(seen_tags *s, const event_info *e) {
    for (int i = 0; i < s->n; i++)
        if (s->seen[i].last == e->step && !strcmp(s->seen[i].tag, e->tag)) return 0;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        tag_step *q = realloc(s->seen, (size_t)cap * sizeof *q);
        if (!q) return 0;
        s->seen = q, s->cap = cap;
    }
    snprintf(s->seen[s->n].tag, sizeof s->seen[s->n].tag, "%s", e->tag);
    s->seen[s->n++].last = e->step;
    return 1;
}

// Copies the intact summary records of data (a whole file) that pass the keep rules into f.
static cg_status carry(FILE *f, const char *path, const unsigned char *data, size_t len, long keep_step,
                       cg_tb_skip skip, void *user, seen_tags *seen) {
    size_t at = 0;
    while (len - at >= 12) {
        const unsigned char *h = data + at;
        uint64_t n = 0;
        for (int i = 0; i < 8; i++) n |= (uint64_t)h[i] << (8 * i);
        if (le32(h + 8) != cg_tb_masked_crc(h, 8) || n > len - at - 12 || len - at - 12 - n < 4) break;
        const unsigned char *payload = h + 12;
        if (le32(payload + n) != cg_tb_masked_crc(payload, (size_t)n)) break;
        at += 12 + (size_t)n + 4;
        event_info e;
        if (!parse_event(payload, (size_t)n, &e) || e.step > keep_step) continue;
        if (skip && skip(e.tag, e.step, e.text, user)) continue;
        if (fresh(seen, &e)) CG_TRY(frame(f, path, payload, (size_t)n));
    }
    return CG_OK;
}

// ---- Files.

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The "events.out.tfevents.*.<suffix>" files of dir, sorted (malloc'd names; *n of them). The
// temporary files of a killed rewrite ("<name>.<suffix>.tmp.XXXXXX", which TensorBoard would read
// as events too) are removed.
static char **list_files(const char *dir, const char *suffix, int *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    int cap = 0;
    size_t sl = strlen(suffix);
    char stale[64];
    snprintf(stale, sizeof stale, ".%s.tmp.", suffix);
    for (struct dirent *de; (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (!strncmp(de->d_name, "events.out.tfevents.", 20) && strstr(de->d_name, stale)) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            remove(path);
            continue;
        }
        if (strncmp(de->d_name, "events.out.tfevents.", 20) || l < sl + 1 || de->d_name[l - sl - 1] != '.' ||
            strcmp(de->d_name + l - sl, suffix))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            char **q = realloc(names, (size_t)cap * sizeof *q);
            if (!q) break;
            names = q;
        }
        if (!(names[*n] = strdup(de->d_name))) break;
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(names, (size_t)*n, sizeof *names, cmp_names);
    return names;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

cg_status cg_tb_open(const char *dir, const char *suffix, long keep_step, cg_tb_skip skip, void *user,
                     cg_tb_writer **out) {
    *out = NULL;
    CG_TRY(cg_mkdir_p(dir));
    cg_tb_writer *w = calloc(1, sizeof *w);
    if (!w) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++)
        if (*c == '/') *c = '_';
    snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s.%s", dir, (long)time(NULL), host, suffix);
    int n_old = 0;
    char **old = list_files(dir, suffix, &n_old);
    // The new file (carried records first) replaces the old ones atomically, then takes appends.
    cg_atomic_file *af = NULL;
    cg_status st = cg_atomic_open(w->path, &af);
    if (st == CG_OK) {
        FILE *f = cg_atomic_stream(af);
        pbuf body = {0};
        put_double(&body, EV_WALL_TIME, wall_time());
        put_str(&body, EV_FILE_VERSION, "brain.Event:2");
        st = body.failed ? cg_fail(CG_ERR_NOMEM, "out of host memory") : frame(f, w->path, body.p, body.len);
        free(body.p);
        seen_tags seen = {0};
        for (int i = 0; st == CG_OK && keep_step >= 0 && i < n_old; i++) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", dir, old[i]);
            char *data = NULL;
            size_t len = 0;
            if (cg_read_file(path, &data, &len) != CG_OK) continue; // unreadable: nothing to carry
            st = carry(f, w->path, (const unsigned char *)data, len, keep_step, skip, user, &seen);
            free(data);
        }
        free(seen.seen);
        if (st == CG_OK) st = cg_atomic_commit(af);
        else cg_atomic_abort(af);
    }
    for (int i = 0; st == CG_OK && i < n_old; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, old[i]);
        if (strcmp(path, w->path)) remove(path);
    }
    free_names(old, n_old);
    if (st == CG_OK && !(w->f = fopen(w->path, "ab")))
        st = cg_fail(CG_ERR_IO, "cannot append to %s", w->path);
    if (st != CG_OK) {
        free(w);
        return cg_fail_context(st, "TensorBoard events in %s", dir);
    }
    *out = w;
    return CG_OK;
}

void cg_tb_close(cg_tb_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    free(w);
}

const char *cg_tb_path(const cg_tb_writer *w) { return w->path; }
