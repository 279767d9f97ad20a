// safetensors.c — the safetensors format: an atomic writer for F32 tensors with string metadata,
// and a reader that loads the whole file and validates it before handing out any tensor.
//
// Layout: u64 little-endian header length N, then N bytes of JSON
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}}
// (padded with spaces so the payload starts 8-aligned, as the reference writer does), then the
// payload; data_offsets count bytes from the payload's start. The reader accepts every dtype of
// the format (a PyTorch BatchNorm's I64 num_batches_tracked, say) but hands out F32 only, and
// requires the tensors to tile the payload exactly: no overlap, no gap, nothing after the last.
#include "nets.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LIMIT (100u * 1000u * 1000u) // bytes; a larger header is taken as corruption
#define MAX_DIMS 16
#define ELEMENT_LIMIT 2147483647.0 // INT_MAX elements per tensor

typedef struct {
    char *name;
    char dtype[8];
    int ndim;
    int shape[MAX_DIMS];
    size_t begin, end; // bytes from the payload's start
    const float *data; // F32 tensors: into the file, or `copy` when the file's bytes are misaligned
    float *copy;
} st_entry;

struct cg_st_file {
    char *path;
    char *bytes;
    size_t len;
    st_entry *t;
    int n;
    char **meta; // key, value, key, value, ...
    int n_meta;
};

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

// ---------------------------------------------------------------------------------------------
// Writer.

static cg_status build_header(const char *path, const cg_st_tensor *t, int n, const char *const *mk,
                              const char *const *mv, int n_meta, char **out) {
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = CG_OK;
    if (n_meta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; meta && i < n_meta; i++)
            if (!cJSON_AddStringToObject(meta, mk[i], mv[i])) meta = NULL;
        if (!meta) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    size_t off = 0;
    for (int i = 0; st == CG_OK && i < n; i++) {
        if (!t[i].name || !t[i].name[0] || !strcmp(t[i].name, "__metadata__"))
            st = cg_fail(CG_ERR_INVALID_ARG, "%s: tensor %d has an invalid name", path, i);
        for (int j = 0; st == CG_OK && j < i; j++)
            if (!strcmp(t[i].name, t[j].name))
                st = cg_fail(CG_ERR_INVALID_ARG, "%s: tensor '%s' twice", path, t[i].name);
        if (st == CG_OK && (t[i].ndim < 0 || t[i].ndim > MAX_DIMS))
            st = cg_fail(CG_ERR_INVALID_ARG, "%s: tensor '%s' has %d dimensions", path, t[i].name, t[i].ndim);
        size_t numel = 1;
        for (int d = 0; st == CG_OK && d < t[i].ndim; d++) {
            if (t[i].shape[d] < 0)
                st = cg_fail(CG_ERR_INVALID_ARG, "%s: tensor '%s' has a negative dimension", path, t[i].name);
            numel *= (size_t)(t[i].shape[d] > 0 ? t[i].shape[d] : 0);
        }
        if (st == CG_OK && numel > 0 && !t[i].data)
            st = cg_fail(CG_ERR_INVALID_ARG, "%s: tensor '%s' has no data", path, t[i].name);
        if (st != CG_OK) break;
        cJSON *e = cJSON_AddObjectToObject(root, t[i].name);
        cJSON *shape = e && cJSON_AddStringToObject(e, "dtype", "F32") ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = shape ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        int ok = offs != NULL;
        for (int d = 0; ok && d < t[i].ndim; d++) ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber(t[i].shape[d]));
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += numel * sizeof(float);
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        if (!ok) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    if (st == CG_OK && !(*out = cJSON_PrintUnformatted(root))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    cJSON_Delete(root);
    return st;
}

cg_status cg_safetensors_write(const char *path, const cg_st_tensor *tensors, int n, const char *const *meta_keys,
                               const char *const *meta_values, int n_meta) {
    if (!host_is_little_endian()) return cg_fail(CG_ERR_INVALID_ARG, "%s: big-endian hosts are not supported", path);
    char *json = NULL;
    CG_TRY(build_header(path, tensors, n, meta_keys, meta_values, n_meta, &json));
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8;
    uint8_t len_le[8];
    for (int b = 0; b < 8; b++) len_le[b] = (uint8_t)((uint64_t)padded >> (8 * b));
    cg_atomic_file *f = NULL;
    cg_status st = cg_atomic_open(path, &f);
    if (st != CG_OK) {
        free(json);
        return st;
    }
    FILE *fp = cg_atomic_stream(f);
    int ok = fwrite(len_le, 1, 8, fp) == 8 && fwrite(json, 1, jlen, fp) == jlen;
    for (size_t i = jlen; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    free(json);
    for (int i = 0; ok && i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++) numel *= (size_t)tensors[i].shape[d];
        ok = numel == 0 || fwrite(tensors[i].data, sizeof(float), numel, fp) == numel;
    }
    if (!ok) {
        cg_atomic_abort(f);
        return cg_fail(CG_ERR_IO, "cannot write '%s': short write", path);
    }
    return cg_atomic_commit(f);
}

// ---------------------------------------------------------------------------------------------
// Reader.

static int dtype_size(const char *dtype) {
    static const struct {
        const char *name;
        int size;
    } table[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
                 {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
                 {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(dtype, table[i].name)) return table[i].size;
    return 0;
}

// A JSON number that is an integer in [0, max].
static int json_uint(const cJSON *j, double max, double *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= max) || v != (double)(uint64_t)v) return 0;
    *out = v;
    return 1;
}

static void shape_text(const st_entry *e, char *buf, size_t len) {
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < e->ndim && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, d ? ", %d" : "%d", e->shape[d]);
    if (at < len) snprintf(buf + at, len - at, "]");
}

static cg_status parse_metadata(cg_st_file *f, const cJSON *meta) {
    if (!cJSON_IsObject(meta)) return cg_fail(CG_ERR_FORMAT, "%s: __metadata__ is not an object", f->path);
    int n = cJSON_GetArraySize(meta);
    f->meta = calloc((size_t)2 * (size_t)n + 1, sizeof *f->meta);
    if (!f->meta) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv))
            return cg_fail(CG_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a string", f->path, kv->string);
        f->meta[2 * f->n_meta] = strdup(kv->string);
        f->meta[2 * f->n_meta + 1] = strdup(kv->valuestring);
        f->n_meta++;
        if (!f->meta[2 * f->n_meta - 2] || !f->meta[2 * f->n_meta - 1])
            return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    return CG_OK;
}

// One header entry: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}.
static cg_status parse_entry(const cg_st_file *f, const cJSON *j, size_t payload, st_entry *e) {
    const char *p = f->path, *name = e->name;
    if (!cJSON_IsObject(j)) return cg_fail(CG_ERR_FORMAT, "%s: entry '%s' is not an object", p, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dtype)) return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has no dtype string", p, name);
    int size = dtype_size(dtype->valuestring);
    if (!size) return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%s'", p, name, dtype->valuestring);
    snprintf(e->dtype, sizeof e->dtype, "%s", dtype->valuestring);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > MAX_DIMS)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has no valid shape array", p, name);
    double bytes = size, elements = 1; // elements: the product of the nonzero dimensions
    for (const cJSON *d = shape->child; d; d = d->next) {
        double v;
        if (!json_uint(d, 2147483647.0, &v))
            return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has an invalid dimension in its shape", p, name);
        e->shape[e->ndim++] = (int)v;
        bytes *= v;
        if (v > 0) elements *= v;
    }
    char st[160];
    shape_text(e, st, sizeof st);
    // Loaders multiply dimensions in int: a shape whose element count (zeros aside) overflows one is
    // refused before anything is sized from it.
    if (elements > ELEMENT_LIMIT)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' of shape %s has %.0f elements, more than the limit of %.0f", p,
                       name, st, elements, ELEMENT_LIMIT);
    double b, en;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_uint(offs->child, 9007199254740992.0, &b) ||
        !json_uint(offs->child->next, 9007199254740992.0, &en) || en < b)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has invalid data_offsets", p, name);
    e->begin = (size_t)b;
    e->end = (size_t)en;
    if (bytes != en - b)
        return cg_fail(CG_ERR_FORMAT,
                       "%s: tensor '%s' of shape %s and dtype %s needs %.0f bytes, but data_offsets "
                       "[%zu, %zu] hold %zu",
                       p, name, st, e->dtype, bytes, e->begin, e->end, e->end - e->begin);
    if (e->end > payload)
        return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' data_offsets [%zu, %zu] are out of range (payload of %zu bytes)",
                       p, name, e->begin, e->end, payload);
    return CG_OK;
}

static int by_offset(const void *a, const void *b) {
    const st_entry *x = *(st_entry *const *)a, *y = *(st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

// The tensors must tile [0, payload): sorted by offset, each begins where the previous ended.
static cg_status check_tiling(const cg_st_file *f, size_t payload) {
    st_entry **order = malloc((size_t)(f->n > 0 ? f->n : 1) * sizeof *order);
    if (!order) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < f->n; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->n, sizeof *order, by_offset);
    size_t at = 0;
    cg_status st = CG_OK;
    for (int i = 0; st == CG_OK && i < f->n; i++) {
        const st_entry *e = order[i];
        if (e->begin < at)
            st = cg_fail(CG_ERR_FORMAT, "%s: tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap", f->path,
                         order[i - 1]->name, order[i - 1]->begin, order[i - 1]->end, e->name, e->begin, e->end);
        else if (e->begin > at)
            st = cg_fail(CG_ERR_FORMAT, "%s: payload bytes [%zu, %zu) belong to no tensor (a gap before '%s')", f->path,
                         at, e->begin, e->name);
        at = e->end;
    }
    if (st == CG_OK && at != payload)
        st = cg_fail(CG_ERR_FORMAT,
                     "%s: %zu bytes of trailing garbage after the last tensor (payload %zu bytes, "
                     "tensors end at %zu)",
                     f->path, payload - at, payload, at);
    free(order);
    return st;
}

// Points every F32 tensor at its data, copying the ones whose bytes are not float-aligned.
static cg_status bind_data(cg_st_file *f, const char *payload) {
    for (int i = 0; i < f->n; i++) {
        st_entry *e = &f->t[i];
        if (strcmp(e->dtype, "F32") != 0) continue;
        const char *src = payload + e->begin;
        if ((uintptr_t)src % _Alignof(float) == 0) {
            e->data = (const float *)(const void *)src;
            continue;
        }
        e->copy = malloc(e->end - e->begin + 1);
        if (!e->copy) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        memcpy(e->copy, src, e->end - e->begin);
        e->data = e->copy;
    }
    return CG_OK;
}

static cg_status parse_header(cg_st_file *f) {
    const char *p = f->path;
    if (f->len < 8)
        return cg_fail(CG_ERR_FORMAT, "%s: file is %zu bytes, shorter than the 8-byte header length", p, f->len);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--) hlen = hlen << 8 | (uint8_t)f->bytes[b];
    if (hlen > HEADER_LIMIT)
        return cg_fail(CG_ERR_FORMAT, "%s: header length %llu is absurd (over 100 MB)", p, (unsigned long long)hlen);
    if (hlen > f->len - 8)
        return cg_fail(CG_ERR_FORMAT, "%s: header length %llu exceeds the %zu bytes after it", p,
                       (unsigned long long)hlen, f->len - 8);
    const char *json = f->bytes + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return cg_fail(CG_ERR_FORMAT, "%s: header is not valid JSON (error near header byte %zu)", p, at);
    }
    for (const char *c = end; c && c < json + hlen; c++)
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
            cJSON_Delete(root);
            return cg_fail(CG_ERR_FORMAT, "%s: header has bytes after its JSON object (at header byte %zu)", p,
                           (size_t)(c - json));
        }
    cg_status st = CG_OK;
    if (!cJSON_IsObject(root)) st = cg_fail(CG_ERR_FORMAT, "%s: header is not a JSON object", p);
    size_t payload = f->len - 8 - (size_t)hlen;
    int count = st == CG_OK ? cJSON_GetArraySize(root) : 0;
    if (st == CG_OK && !(f->t = calloc((size_t)count + 1, sizeof *f->t)))
        st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (const cJSON *j = st == CG_OK ? root->child : NULL; st == CG_OK && j; j = j->next) {
        if (!strcmp(j->string, "__metadata__")) {
            st = f->meta ? cg_fail(CG_ERR_FORMAT, "%s: __metadata__ appears twice", p) : parse_metadata(f, j);
            continue;
        }
        for (int i = 0; st == CG_OK && i < f->n; i++)
            if (!strcmp(f->t[i].name, j->string))
                st = cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' appears twice", p, j->string);
        if (st != CG_OK) break;
        st_entry *e = &f->t[f->n++];
        if (!(e->name = strdup(j->string))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st == CG_OK) st = parse_entry(f, j, payload, e);
    }
    cJSON_Delete(root);
    if (st == CG_OK) st = check_tiling(f, payload);
    if (st == CG_OK) st = bind_data(f, json + hlen);
    return st;
}

cg_status cg_safetensors_open(const char *path, cg_st_file **out) {
    *out = NULL;
    if (!host_is_little_endian()) return cg_fail(CG_ERR_INVALID_ARG, "%s: big-endian hosts are not supported", path);
    cg_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    cg_status st = cg_read_file(path, &f->bytes, &f->len);
    if (st == CG_OK) st = parse_header(f);
    if (st != CG_OK) {
        cg_safetensors_close(f);
        return st;
    }
    *out = f;
    return CG_OK;
}

void cg_safetensors_close(cg_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->t[i].name);
        free(f->t[i].copy);
    }
    for (int i = 0; f->meta && i < 2 * f->n_meta; i++) free(f->meta[i]);
    free(f->meta);
    free(f->t);
    free(f->bytes);
    free(f->path);
    free(f);
}

int cg_safetensors_count(const cg_st_file *f) { return f->n; }

const char *cg_safetensors_name(const cg_st_file *f, int i) { return i >= 0 && i < f->n ? f->t[i].name : NULL; }

cg_status cg_safetensors_get(const cg_st_file *f, const char *name, const int **shape, int *ndim, const float **data) {
    for (int i = 0; i < f->n; i++) {
        const st_entry *e = &f->t[i];
        if (strcmp(e->name, name) != 0) continue;
        if (strcmp(e->dtype, "F32") != 0)
            return cg_fail(CG_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected F32", f->path, name, e->dtype);
        if (shape) *shape = e->shape;
        if (ndim) *ndim = e->ndim;
        if (data) *data = e->data;
        return CG_OK;
    }
    return cg_fail(CG_ERR_NOT_FOUND, "%s: no tensor '%s'", f->path, name);
}

const char *cg_safetensors_meta(const cg_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[2 * i], key)) return f->meta[2 * i + 1];
    return NULL;
}
