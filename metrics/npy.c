// npy.c — numpy's .npy format: parse (versions 1.0/2.0/3.0, float32/float64 of either byte order,
// C or Fortran order) into float64 arrays, and write version 1.0 files of float32 or float64.
// The header is a Python dict literal, e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (3,), }
#include "metrics_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

void cg_array_free(cg_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

// ---------------------------------------------------------------------------------------------
// Header parsing.

typedef struct {
    const char *p, *end, *what;
} cursor;

static void skip_space(cursor *c) {
    while (c->p < c->end && isspace((unsigned char)*c->p)) c->p++;
}

static cg_status bad_header(const cursor *c, const char *problem) {
    return cg_fail(CG_ERR_FORMAT, "%s: malformed .npy header: %s", c->what, problem);
}

static int expect(cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static cg_status parse_string(cursor *c, char *buf, size_t cap) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return bad_header(c, "expected a quoted string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= cap) return bad_header(c, "string too long");
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return bad_header(c, "unterminated string");
    c->p++;
    buf[n] = 0;
    return CG_OK;
}

static cg_status parse_shape(cursor *c, cg_array *a) {
    if (!expect(c, '(')) return bad_header(c, "shape is not a tuple");
    a->ndim = 0;
    for (;;) {
        skip_space(c);
        if (expect(c, ')')) break;
        if (a->ndim == CG_NPY_MAX_DIMS) return bad_header(c, "more than 8 dimensions");
        if (c->p >= c->end || !isdigit((unsigned char)*c->p)) return bad_header(c, "shape entry is not a number");
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (v > (INT64_MAX - 9) / 10) return bad_header(c, "shape entry too large");
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++; // Python 2 longs
        a->shape[a->ndim++] = v;
        if (!expect(c, ',')) {
            if (!expect(c, ')')) return bad_header(c, "shape tuple is not closed");
            break;
        }
    }
    return CG_OK;
}

// Fills ndim/shape; *f64, *big_endian, *fortran from descr and fortran_order.
static cg_status parse_dict(cursor *c, cg_array *a, int *f64, int *big_endian, int *fortran) {
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!expect(c, '{')) return bad_header(c, "not a dict");
    while (!expect(c, '}')) {
        char key[32], val[32];
        CG_TRY(parse_string(c, key, sizeof key));
        if (!expect(c, ':')) return bad_header(c, "expected ':' after a key");
        if (strcmp(key, "descr") == 0) {
            CG_TRY(parse_string(c, val, sizeof val));
            int ok = strlen(val) == 3 && (val[0] == '<' || val[0] == '>') && val[1] == 'f' &&
                     (val[2] == '4' || val[2] == '8');
            if (!ok)
                return cg_fail(CG_ERR_FORMAT, "%s: unsupported dtype '%s' (expected float32 '<f4' or float64 '<f8')",
                               c->what, val);
            *big_endian = val[0] == '>';
            *f64 = val[2] == '8';
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            skip_space(c);
            size_t left = (size_t)(c->end - c->p);
            if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
                *fortran = 1;
                c->p += 4;
            } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
                *fortran = 0;
                c->p += 5;
            } else {
                return bad_header(c, "fortran_order is neither True nor False");
            }
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            CG_TRY(parse_shape(c, a));
            have_shape = 1;
        } else {
            return cg_fail(CG_ERR_FORMAT, "%s: malformed .npy header: unknown key '%s'", c->what, key);
        }
        if (!expect(c, ',')) {
            if (!expect(c, '}')) return bad_header(c, "expected ',' or '}'");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return bad_header(c, "missing 'descr', 'fortran_order' or 'shape'");
    skip_space(c);
    if (c->p != c->end) return bad_header(c, "text after the dict");
    return CG_OK;
}

// ---------------------------------------------------------------------------------------------
// Data.

static double load_value(const unsigned char *b, int f64, int big_endian) {
    int size = f64 ? 8 : 4;
    uint64_t bits = 0;
    for (int i = 0; i < size; i++) bits |= (uint64_t)b[big_endian ? i : size - 1 - i] << (8 * (size - 1 - i));
    if (f64) {
        double v;
        memcpy(&v, &bits, sizeof v);
        return v;
    }
    uint32_t b32 = (uint32_t)bits;
    float v;
    memcpy(&v, &b32, sizeof v);
    return v;
}

// Offset in a Fortran-ordered array of the element whose C-order multi-index is idx.
static int64_t fortran_offset(const cg_array *a, const int64_t *idx) {
    int64_t off = 0, stride = 1;
    for (int k = 0; k < a->ndim; k++) {
        off += idx[k] * stride;
        stride *= a->shape[k];
    }
    return off;
}

static void load_data(cg_array *a, const unsigned char *src, int f64, int big_endian, int fortran) {
    int size = f64 ? 8 : 4;
    int64_t idx[CG_NPY_MAX_DIMS] = {0};
    for (int64_t i = 0; i < a->count; i++) {
        int64_t j = fortran ? fortran_offset(a, idx) : i;
        a->data[i] = load_value(src + (size_t)j * size, f64, big_endian);
        for (int k = a->ndim - 1; k >= 0; k--) { // next C-order index
            if (++idx[k] < a->shape[k]) break;
            idx[k] = 0;
        }
    }
}

cg_status cg_npy_parse(const void *buf, size_t len, const char *what, cg_array *out) {
    if (!out) return cg_fail(CG_ERR_INVALID_ARG, "cg_npy_parse: out is NULL");
    memset(out, 0, sizeof *out);
    what = what ? what : "(memory)";
    const unsigned char *b = buf;
    if (!b || len < 10 || memcmp(b, MAGIC, sizeof MAGIC) != 0)
        return cg_fail(CG_ERR_FORMAT, "%s: not a .npy array (no \\x93NUMPY magic)", what);
    int major = b[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return cg_fail(CG_ERR_FORMAT, "%s: truncated .npy header", what);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        start = 12;
    } else {
        return cg_fail(CG_ERR_FORMAT, "%s: unsupported .npy version %d.%d", what, major, b[7]);
    }
    if (hlen > len - start)
        return cg_fail(CG_ERR_FORMAT, "%s: truncated .npy header (%zu bytes announced, %zu present)", what, hlen,
                       len - start);
    cursor c = {(const char *)b + start, (const char *)b + start + hlen, what};
    int f64 = 0, big_endian = 0, fortran = 0;
    CG_TRY(parse_dict(&c, out, &f64, &big_endian, &fortran));
    // The element count, and the product of the nonzero dimensions (what a reader multiplies before
    // it sees a zero), must both fit: checked before anything is sized from the shape.
    int64_t count = 1, nonzero = 1;
    for (int k = 0; k < out->ndim; k++) {
        if (out->shape[k] != 0 && nonzero > INT64_MAX / 8 / out->shape[k]) {
            char text[200];
            size_t at = 0;
            for (int d = 0; d < out->ndim && at < sizeof text; d++)
                at += (size_t)snprintf(text + at, sizeof text - at, "%s%lld", d ? ", " : "", (long long)out->shape[d]);
            return cg_fail(CG_ERR_FORMAT, "%s: shape (%s) overflows: more than %lld elements", what, text,
                           (long long)(INT64_MAX / 8));
        }
        if (out->shape[k] != 0) nonzero *= out->shape[k];
        count *= out->shape[k];
    }
    size_t want = (size_t)count * (f64 ? 8 : 4), have = len - start - hlen;
    if (have != want)
        return cg_fail(CG_ERR_FORMAT, "%s: %s: %zu bytes of data, the header's shape needs %zu", what,
                       have < want ? "truncated" : "trailing bytes", have, want);
    out->count = count;
    out->source_f64 = f64;
    out->data = malloc(count ? (size_t)count * sizeof(double) : 1);
    if (!out->data) return cg_fail(CG_ERR_NOMEM, "%s: out of memory for %lld values", what, (long long)count);
    load_data(out, b + start + hlen, f64, big_endian, fortran);
    return CG_OK;
}

cg_status cg_npy_read(const char *path, cg_array *out) {
    if (out) memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t len = 0;
    CG_TRY(cg_read_file(path, &data, &len));
    cg_status st = cg_npy_parse(data, len, path, out);
    free(data);
    return st;
}

cg_status cg_npy_read_f32(const char *path, float **data, int *ndim, int64_t shape[CG_NPY_MAX_DIMS]) {
    if (!data || !ndim || !shape) return cg_fail(CG_ERR_INVALID_ARG, "cg_npy_read_f32: NULL argument");
    *data = NULL;
    cg_array a;
    CG_TRY(cg_npy_read(path, &a));
    float *f = malloc(a.count ? (size_t)a.count * sizeof(float) : 1);
    if (!f) {
        cg_array_free(&a);
        return cg_fail(CG_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int64_t i = 0; i < a.count; i++) f[i] = (float)a.data[i];
    *ndim = a.ndim;
    memcpy(shape, a.shape, sizeof a.shape);
    *data = f;
    cg_array_free(&a);
    return CG_OK;
}

// ---------------------------------------------------------------------------------------------
// Writing.

cg_status cg_npy_encode(const void *data, int f64, int ndim, const int64_t *shape, const char *what,
                        unsigned char **out, size_t *len) {
    *out = NULL;
    if (ndim < 0 || ndim > CG_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return cg_fail(CG_ERR_INVALID_ARG, "%s: cannot write an array of %d dimensions", what, ndim);
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f%c', 'fortran_order': False, 'shape': (", f64 ? '8' : '4');
    int64_t count = 1;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0) return cg_fail(CG_ERR_INVALID_ARG, "%s: negative dimension", what);
        count *= shape[k];
        n += snprintf(dict + n, sizeof dict - (size_t)n, ndim == 1 ? "%lld," : k ? ", %lld" : "%lld",
                      (long long)shape[k]);
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    if (count > 0 && !data) return cg_fail(CG_ERR_INVALID_ARG, "%s: NULL data", what);
    size_t hlen = ((10 + (size_t)n + 1 + 63) / 64) * 64 - 10; // padded so the data is 64-byte aligned
    size_t size = f64 ? 8 : 4, total = 10 + hlen + (size_t)count * size;
    unsigned char *b = malloc(total);
    if (!b) return cg_fail(CG_ERR_NOMEM, "%s: out of memory", what);
    memcpy(b, MAGIC, sizeof MAGIC);
    b[6] = 1;
    b[7] = 0;
    b[8] = (unsigned char)(hlen & 0xff);
    b[9] = (unsigned char)(hlen >> 8);
    memset(b + 10, ' ', hlen);
    memcpy(b + 10, dict, (size_t)n);
    b[10 + hlen - 1] = '\n';
    unsigned char *dst = b + 10 + hlen;
    for (int64_t i = 0; i < count; i++, dst += size) {
        uint64_t bits;
        if (f64) {
            memcpy(&bits, (const double *)data + i, 8);
        } else {
            uint32_t b32;
            memcpy(&b32, (const float *)data + i, 4);
            bits = b32;
        }
        for (size_t j = 0; j < size; j++) dst[j] = (unsigned char)(bits >> (8 * j));
    }
    *out = b;
    *len = total;
    return CG_OK;
}

static cg_status write_npy(const char *path, const void *data, int f64, int ndim, const int64_t *shape) {
    if (!path || !*path) return cg_fail(CG_ERR_INVALID_ARG, "cannot write a .npy file: empty path");
    unsigned char *buf = NULL;
    size_t len = 0;
    CG_TRY(cg_npy_encode(data, f64, ndim, shape, path, &buf, &len));
    cg_status st = cg_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}

cg_status cg_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape) {
    return write_npy(path, data, 0, ndim, shape);
}

cg_status cg_npy_write_f64(const char *path, const double *data, int ndim, const int64_t *shape) {
    return write_npy(path, data, 1, ndim, shape);
}
