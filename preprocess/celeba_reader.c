// celeba_reader.c — reads a CelebA-style dataset: lists the image folder and parses the landmark,
// attribute and partition lists (whitespace separated, CRLF or LF, optional count and header lines,
// subsets of rows), then joins everything by file name into one sorted entry table.
// Entries are the union of the folder's files and the landmark rows; attributes and partitions only
// annotate entries. Malformed rows become issues; a count line that disagrees with the rows, a note.
#include "celeba.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *name;
    long row;    // index into the list's value table
} named_row;

typedef enum { LIST_LANDMARKS, LIST_ATTRIBUTES, LIST_PARTITIONS } list_kind;

// What one list file held after parsing.
typedef struct {
    named_row *rows;
    size_t n, cap;
    float *lm;          // landmarks: 10 per row
    int8_t *attrs;      // attributes: n_cols per row
    int *part;          // partitions: 1 per row
    int n_cols;         // attribute columns
    char **col_names;
} list_data;

static void note(cg_celeba_set *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(cg_celeba_set *s, const char *fmt, ...) {
    if (s->n_notes >= (int)(sizeof s->notes / sizeof s->notes[0])) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->notes[s->n_notes++], CG_NOTE_LEN, fmt, ap);
    va_end(ap);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

// Splits line (modified in place) on spaces and tabs; returns the token count (at most max).
static int tokenize(char *line, char **tok, int max) {
    int n = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n == max) return max + 1;
        tok[n++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = 0;
    }
    return n;
}

static int parse_long(const char *s, long *v) {
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return end != s && !*end && !errno;
}

static int parse_float(const char *s, float *v) {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno || !(d > -1e6 && d < 1e6)) return 0;
    *v = (float)d;
    return 1;
}

static int is_number(const char *s) {
    float v;
    return parse_float(s, &v);
}

static cg_status grow_rows(list_data *d, list_kind kind) {
    if (d->n < d->cap) return CG_OK;
    size_t cap = d->cap ? 2 * d->cap : 1024;
    named_row *rows = realloc(d->rows, cap * sizeof *rows);
    if (!rows) return cg_fail(CG_ERR_NOMEM, "out of host memory reading a list file");
    d->rows = rows;
    void **values = kind == LIST_LANDMARKS ? (void **)&d->lm : kind == LIST_ATTRIBUTES ? (void **)&d->attrs
                                                                                      : (void **)&d->part;
    size_t per = kind == LIST_LANDMARKS ? 10 * sizeof(float)
                 : kind == LIST_ATTRIBUTES ? (size_t)d->n_cols : sizeof(int);
    void *v = realloc(*values, cap * per);
    if (!v) return cg_fail(CG_ERR_NOMEM, "out of host memory reading a list file");
    *values = v;
    d->cap = cap;
    return CG_OK;
}

#define MAX_TOKENS 128

// Parses one data row (tokens after the name) into row n of d; returns NULL or why it is malformed.
static const char *parse_row(list_data *d, list_kind kind, char **tok, int nt, size_t n) {
    if (kind == LIST_LANDMARKS) {
        if (nt != 11) return "expected a name and 10 coordinates";
        for (int i = 0; i < 10; i++)
            if (!parse_float(tok[1 + i], &d->lm[n * 10 + (size_t)i])) return "a coordinate is not a number";
        return NULL;
    }
    if (kind == LIST_PARTITIONS) {
        long v;
        if (nt != 2) return "expected a name and a partition";
        if (!parse_long(tok[1], &v) || v < 0 || v > 2) return "the partition is not 0, 1 or 2";
        d->part[n] = (int)v;
        return NULL;
    }
    if (nt != 1 + d->n_cols) return "wrong number of attribute values";
    for (int i = 0; i < d->n_cols; i++) {
        long v;
        if (!parse_long(tok[1 + i], &v) || v < -1 || v > 1) return "an attribute value is not 1, -1 or 0";
        d->attrs[n * (size_t)d->n_cols + (size_t)i] = (int8_t)(v > 0 ? 1 : -1);
    }
    return NULL;
}

static int cmp_rows(const void *a, const void *b) {
    return strcmp(((const named_row *)a)->name, ((const named_row *)b)->name);
}

static cg_status parse_list(const char *path, list_kind kind, list_data *d, size_t *rows_read, cg_celeba_set *s) {
    char *text = NULL;
    size_t len = 0;
    cg_status st = cg_read_file(path, &text, &len);
    if (st != CG_OK) return cg_fail_context(st, "reading list file");
    const char *file = base_name(path);
    char *tok[MAX_TOKENS + 1];
    long count_line = -1;
    int lines_seen = 0; // non-blank lines before the first row (count and header live there)
    size_t line_no = 0;
    char *p = text;
    while (st == CG_OK && p < text + len) {
        char *line = p, *eol = p + strcspn(p, "\r\n");
        p = eol + 1; // past the end (and the loop) when eol is the terminating NUL
        if (*eol == '\r' && p < text + len && *p == '\n') p++;
        *eol = 0;
        line_no++;
        int nt = tokenize(line, tok, MAX_TOKENS);
        if (nt == 0) continue;
        if (d->n == 0 && lines_seen < 2) {
            lines_seen++;
            long v;
            if (lines_seen == 1 && nt == 1 && parse_long(tok[0], &v)) {
                count_line = v;
                continue;
            }
            // A header names columns: no file name first ("lefteye_x", "5_o_Clock_Shadow") and its
            // second token is not a number (a row's would be).
            if (nt >= 2 && nt <= MAX_TOKENS && !strchr(tok[0], '.') && !is_number(tok[1])) {
                if (kind == LIST_ATTRIBUTES && !d->col_names) {
                    d->n_cols = nt;
                    d->col_names = calloc((size_t)nt, sizeof *d->col_names);
                    for (int i = 0; d->col_names && i < nt; i++) d->col_names[i] = strdup(tok[i]);
                    if (!d->col_names) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
                }
                continue;
            }
        }
        if (kind == LIST_ATTRIBUTES && d->n_cols == 0) {
            if (nt < 2 || nt > MAX_TOKENS) {
                char where[512];
                snprintf(where, sizeof where, "%s:%zu", file, line_no);
                st = cg_issues_add(&s->issues, CG_ISSUE_MALFORMED_ROW, where, "attribute row without values");
                continue;
            }
            d->n_cols = nt - 1; // no header: the first row sets the width
        }
        if ((st = grow_rows(d, kind)) != CG_OK) break;
        const char *why = nt > MAX_TOKENS ? "too many fields" : parse_row(d, kind, tok, nt, d->n);
        if (!why && strchr(tok[0], '/')) why = "the name contains '/'";
        if (why) {
            char where[512];
            snprintf(where, sizeof where, "%s:%zu", file, line_no);
            st = cg_issues_add(&s->issues, CG_ISSUE_MALFORMED_ROW, where, "%s (row starts '%.40s')", why, tok[0]);
            continue;
        }
        d->rows[d->n].name = strdup(tok[0]);
        d->rows[d->n].row = (long)d->n;
        if (!d->rows[d->n].name) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        else d->n++;
    }
    free(text);
    if (st != CG_OK) return st;
    *rows_read = d->n;
    if (count_line >= 0 && (size_t)count_line != d->n)
        note(s, "%s: the count line says %ld, %zu valid rows were read", file, count_line, d->n);
    if (d->n) qsort(d->rows, d->n, sizeof *d->rows, cmp_rows); // rows is NULL for an empty list
    // A name listed twice keeps its first row; the later one is malformed.
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (w > 0 && !strcmp(d->rows[w - 1].name, d->rows[i].name)) {
            char where[512];
            snprintf(where, sizeof where, "%s:%s", file, d->rows[i].name);
            cg_status s2 = cg_issues_add(&s->issues, CG_ISSUE_MALFORMED_ROW, where, "a second row for the same image");
            free(d->rows[i].name);
            if (s2 != CG_OK) st = s2;
            continue;
        }
        d->rows[w++] = d->rows[i];
    }
    d->n = w;
    return st;
}

static void list_free(list_data *d) {
    for (size_t i = 0; i < d->n; i++) free(d->rows[i].name);
    free(d->rows);
    free(d->lm);
    free(d->attrs);
    free(d->part);
    for (int i = 0; d->col_names && i < d->n_cols; i++) free(d->col_names[i]);
    free(d->col_names);
    memset(d, 0, sizeof *d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Every non-hidden regular file (or link to one) in dir, sorted.
static cg_status list_folder(const char *dir, char ***names, size_t *count) {
    *names = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (!dp) return cg_fail(errno == ENOENT ? CG_ERR_NOT_FOUND : CG_ERR_IO, "cannot open the image folder '%s': %s",
                            dir, strerror(errno));
    size_t cap = 0;
    cg_status st = CG_OK;
    struct dirent *de;
    while (st == CG_OK && (de = readdir(dp))) {
        if (de->d_name[0] == '.') continue;
        if (de->d_type != DT_REG) {
            if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN) continue;
            char path[4096];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        }
        if (*count == cap) {
            cap = cap ? 2 * cap : 1024;
            char **n2 = realloc(*names, cap * sizeof *n2);
            if (!n2) {
                st = cg_fail(CG_ERR_NOMEM, "out of host memory listing '%s'", dir);
                break;
            }
            *names = n2;
        }
        if (!((*names)[*count] = strdup(de->d_name))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        else (*count)++;
    }
    closedir(dp);
    if (*count) qsort(*names, *count, sizeof **names, cmp_str);
    return st;
}

static const named_row *find_row(const list_data *d, const char *name) {
    named_row key = {(char *)name, 0};
    return d->n ? bsearch(&key, d->rows, d->n, sizeof key, cmp_rows) : NULL;
}

// Entries = folder files merged with landmark rows (both sorted), then annotated.
static cg_status join(cg_celeba_set *s, char **files, size_t nf, list_data *lm, list_data *at, list_data *pa) {
    s->entries = calloc(nf + lm->n + 1, sizeof *s->entries);
    if (!s->entries) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    size_t i = 0, j = 0;
    while (i < nf || j < lm->n) {
        int c = i == nf ? 1 : j == lm->n ? -1 : strcmp(files[i], lm->rows[j].name);
        cg_celeba_entry *e = &s->entries[s->n++];
        e->partition = -1;
        e->attr_row = -1;
        if (c <= 0) {
            e->name = files[i];
            files[i++] = NULL;
            e->has_file = 1;
        }
        if (c >= 0) {
            const float *v = &lm->lm[(size_t)lm->rows[j].row * 10];
            for (int k = 0; k < CG_LM_POINTS; k++) e->lm.x[k] = v[2 * k], e->lm.y[k] = v[2 * k + 1];
            e->has_landmarks = 1;
            if (!e->name) {
                e->name = lm->rows[j].name;
                lm->rows[j].name = NULL;
            }
            j++;
        }
        const named_row *r = find_row(at, e->name);
        if (r) e->attr_row = r->row;
        r = find_row(pa, e->name);
        if (r) e->partition = pa->part[r->row];
    }
    return CG_OK;
}

cg_status cg_celeba_read(const cg_celeba_paths *paths, cg_celeba_set *out) {
    memset(out, 0, sizeof *out);
    if (!paths || !paths->images || !*paths->images)
        return cg_fail(CG_ERR_INVALID_ARG, "cg_celeba_read: no image folder given");
    list_data lm = {0}, at = {0}, pa = {0};
    char **files = NULL;
    size_t nf = 0;
    cg_status st = list_folder(paths->images, &files, &nf);
    out->folder_files = nf;
    if (st == CG_OK && paths->landmarks && *paths->landmarks) {
        out->has_landmark_file = 1;
        st = parse_list(paths->landmarks, LIST_LANDMARKS, &lm, &out->landmark_rows, out);
    }
    if (st == CG_OK && paths->attributes && *paths->attributes) {
        out->has_attr_file = 1;
        st = parse_list(paths->attributes, LIST_ATTRIBUTES, &at, &out->attr_rows, out);
    }
    if (st == CG_OK && paths->partitions && *paths->partitions) {
        out->has_partition_file = 1;
        st = parse_list(paths->partitions, LIST_PARTITIONS, &pa, &out->partition_rows, out);
    }
    if (st == CG_OK) st = join(out, files, nf, &lm, &at, &pa);
    if (st == CG_OK && at.n_cols) {
        // The table keeps every parsed row (indexed by row), so hand it over whole.
        out->n_attrs = at.n_cols;
        out->attrs = at.attrs;
        at.attrs = NULL;
        if (at.col_names) {
            out->attr_names = at.col_names;
            at.col_names = NULL;
        } else {
            out->attr_names = calloc((size_t)at.n_cols, sizeof *out->attr_names);
            for (int i = 0; out->attr_names && i < at.n_cols; i++) {
                char buf[32];
                snprintf(buf, sizeof buf, "attr%d", i + 1);
                out->attr_names[i] = strdup(buf);
            }
        }
    }
    for (size_t i = 0; i < nf; i++) free(files[i]);
    free(files);
    list_free(&lm);
    list_free(&at);
    list_free(&pa);
    if (st != CG_OK) cg_celeba_free(out);
    return st;
}

void cg_celeba_free(cg_celeba_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->entries[i].name);
    free(s->entries);
    for (int i = 0; s->attr_names && i < s->n_attrs; i++) free(s->attr_names[i]);
    free(s->attr_names);
    free(s->attrs);
    cg_issues_free(&s->issues);
    memset(s, 0, sizeof *s);
}

int cg_celeba_attr_index(const cg_celeba_set *s, const char *name) {
    for (int i = 0; s->attr_names && i < s->n_attrs; i++)
        if (s->attr_names[i] && !strcmp(s->attr_names[i], name)) return i;
    return -1;
}

int cg_celeba_attr(const cg_celeba_set *s, const cg_celeba_entry *e, int column) {
    if (column < 0 || column >= s->n_attrs || e->attr_row < 0 || !s->attrs) return 0;
    return s->attrs[(size_t)e->attr_row * (size_t)s->n_attrs + (size_t)column];
}
