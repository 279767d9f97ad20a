// config.c — typed, range-checked access to INI files and --set overrides over iniparser 4.1,
// recording every key asked for so the effective configuration can be dumped and typos reported.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 // strdup, strcasecmp, open_memstream
#endif
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <iniparser/iniparser.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define NAME_LEN 256           // longest section or key name a getter or --set may use
#define LINE_LEN 1100          // longer than any line iniparser accepts (1024)
#define SET_LABEL "(from --set)"

typedef enum { FROM_DEFAULT, FROM_FILE, FROM_SET } origin;

typedef struct {
    const char *section, *key; // lower-case
    const char *value;         // effective value as text; NULL: a string with a NULL default
    origin from;
} record;

struct cg_config {
    char *path;                // "" without a file
    dictionary *file, *set;    // entries "section:key" (and "section" for file sections)
    record *recs;              // in first-asked order
    size_t nrecs, cap_recs;
    char **pool;               // owns every string the records point to
    size_t npool, cap_pool;
};

// ---------------------------------------------------------------------------------------------
// Small helpers.

static void *grow(void *arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return arr;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need) n *= 2;
    void *p = realloc(arr, n * elem);
    if (p) *cap = n;
    return p;
}

static const char *pool_dup(cg_config *cfg, const char *s) {
    char **pool = grow(cfg->pool, &cfg->cap_pool, cfg->npool + 1, sizeof *pool);
    if (!pool) return NULL;
    cfg->pool = pool;
    char *copy = strdup(s);
    if (copy) pool[cfg->npool++] = copy;
    return copy;
}

static void lower_copy(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = 0;
}

// Copies [begin, end) without surrounding white space; 0 if it does not fit.
static int trim_copy(char *dst, size_t n, const char *begin, const char *end) {
    while (begin < end && isspace((unsigned char)*begin)) begin++;
    while (end > begin && isspace((unsigned char)end[-1])) end--;
    if ((size_t)(end - begin) >= n) return 0;
    memcpy(dst, begin, (size_t)(end - begin));
    dst[end - begin] = 0;
    return 1;
}

static size_t levenshtein(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

// ---------------------------------------------------------------------------------------------
// Creating, loading, freeing.

cg_config *cg_config_empty(void) {
    cg_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->path = strdup("");
    cfg->file = dictionary_new(0);
    cfg->set = dictionary_new(0);
    if (!cfg->path || !cfg->file || !cfg->set) {
        cg_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void cg_config_free(cg_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < cfg->npool; i++) free(cfg->pool[i]);
    free(cfg->pool);
    free(cfg->recs);
    if (cfg->file) dictionary_del(cfg->file);
    if (cfg->set) dictionary_del(cfg->set);
    free(cfg->path);
    free(cfg);
}

const char *cg_config_path(const cg_config *cfg) { return cfg->path; }

// iniparser reports errors only through one process-wide callback that takes no user data, so
// the first message of the load in progress on this thread is captured here.
#define INIPARSER_SYNTAX_FMT "iniparser: syntax error in %s (%d):\n-> %s\n"
static _Thread_local struct {
    int count, line; // line > 0: a syntax error, text holds the offending line
    char text[LINE_LEN];
} load_error;

static int capture_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (load_error.count++ == 0 && !strcmp(fmt, INIPARSER_SYNTAX_FMT)) {
        (void)va_arg(ap, const char *);
        load_error.line = va_arg(ap, int);
        snprintf(load_error.text, sizeof load_error.text, "%s", va_arg(ap, const char *));
    } else if (load_error.count == 1) {
        vsnprintf(load_error.text, sizeof load_error.text, fmt, ap);
        load_error.text[strcspn(load_error.text, "\n")] = 0;
    }
    va_end(ap);
    return 0;
}

static int silent_error(const char *fmt, ...) {
    (void)fmt;
    return 0;
}

static cg_status load_failure(const char *path) {
    if (load_error.count == 0) return cg_fail(CG_ERR_NOMEM, "%s: iniparser failed without a message", path);
    const char *text = load_error.text + (strncmp(load_error.text, "iniparser: ", 11) ? 0 : 11);
    if (load_error.line == 0) return cg_fail(CG_ERR_CONFIG, "%s: %s", path, text);
    char more[48] = "";
    if (load_error.count > 1) snprintf(more, sizeof more, " (and %d more)", load_error.count - 1);
    return cg_fail(CG_ERR_CONFIG, "%s:%d: syntax error: \"%s\" (expected [section] alone on its line, key = value, "
                   "or a ; comment)%s", path, load_error.line, text, more);
}

// iniparser reads a directory as an empty file, says only "cannot open" otherwise, and would wait
// for ever on a FIFO; so the file is read here first (regular files only), and scanned for keys
// that iniparser would silently let the last one win.
static cg_status read_config_text(const char *path, char **text) {
    size_t len = 0;
    cg_status st = cg_read_file(path, text, &len);
    const char *nul = st == CG_OK ? memchr(*text, 0, len) : NULL;
    if (nul) { // iniparser would call it "input line too long"
        int line = 1;
        for (const char *c = *text; c < nul; c++) line += *c == '\n';
        free(*text);
        *text = NULL;
        return cg_fail(CG_ERR_CONFIG, "%s: NUL byte at line %d (is it a text file?)", path, line);
    }
    if (st == CG_OK) return CG_OK;
    char detail[512]; // cg_fail writes over cg_last_error()
    const char *why = strstr(cg_last_error(), "': ");
    snprintf(detail, sizeof detail, "%s", why ? why + 3 : cg_last_error());
    if (strstr(detail, "not a regular file (a folder)")) snprintf(detail, sizeof detail, "%s", strerror(EISDIR));
    return cg_fail(CG_ERR_IO, "cannot open config file %s: %s", path, detail);
}

typedef struct {
    char name[2 * NAME_LEN + 1]; // "section:key", lower-case
    int line;
} seen_key;

// One logical line (continuations joined, as iniparser does) -> "section:key" when it assigns a key.
static int key_of_line(char *line, char *section, size_t slen, char *out, size_t olen) {
    char buf[LINE_LEN];
    if (!trim_copy(buf, sizeof buf, line, line + strlen(line)) || !buf[0] || buf[0] == ';' || buf[0] == '#')
        return 0;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end && trim_copy(section, slen, buf + 1, end)) lower_copy(section, section, slen);
        return 0;
    }
    char *eq = strchr(buf, '=');
    char key[NAME_LEN];
    if (!eq || !trim_copy(key, sizeof key, buf, eq) || !key[0]) return 0;
    lower_copy(key, key, sizeof key);
    snprintf(out, olen, "%s:%s", section, key);
    return 1;
}

static cg_status check_duplicates(const char *path, char *text) {
    seen_key *seen = NULL;
    size_t n = 0, cap = 0;
    char section[NAME_LEN] = "", name[2 * NAME_LEN + 1];
    cg_status st = CG_OK;
    int line_no = 0;
    for (char *line = text; line && *line && st == CG_OK;) {
        int first = ++line_no;
        char *end = line;
        // A line ending in a backslash (before trailing white space) continues on the next one.
        for (;;) {
            end += strcspn(end, "\n");
            char *last = end;
            while (last > line && isspace((unsigned char)last[-1])) last--;
            if (*end != '\n' || last == line || last[-1] != '\\') break;
            for (char *c = last - 1; c <= end; c++) *c = ' ';
            end++;
            line_no++;
        }
        char *next = *end ? end + 1 : NULL;
        *end = 0;
        if (key_of_line(line, section, sizeof section, name, sizeof name)) {
            for (size_t i = 0; i < n && st == CG_OK; i++)
                if (!strcmp(seen[i].name, name)) {
                    char *colon = strchr(name, ':');
                    *colon = 0;
                    st = cg_fail(CG_ERR_CONFIG, "%s:%d: [%s] %s is set a second time (first on line %d); "
                                 "remove one of them", path, first, name, colon + 1, seen[i].line);
                }
            seen_key *grown = st == CG_OK ? grow(seen, &cap, n + 1, sizeof *seen) : seen;
            if (!grown) st = cg_fail(CG_ERR_NOMEM, "out of memory reading %s", path);
            else if (st == CG_OK) {
                seen = grown;
                snprintf(seen[n].name, sizeof seen[n].name, "%s", name);
                seen[n++].line = first;
            }
        }
        line = next;
    }
    free(seen);
    return st;
}

#define UTF8_BOM "\xEF\xBB\xBF"

// Whether the file starts with a UTF-8 byte order mark (some editors write one), which iniparser
// would take as part of the first line.
static cg_status check_readable(const char *path, int *bom) {
    char *text = NULL;
    CG_TRY(read_config_text(path, &text));
    *bom = !strncmp(text, UTF8_BOM, 3);
    cg_status st = check_duplicates(path, text + (*bom ? 3 : 0));
    free(text);
    return st;
}

// iniparser reads only named files: the text after a BOM goes through an anonymous memory file.
static dictionary *load_without_bom(const char *path) {
    char *text = NULL;
    size_t len = 0;
    if (cg_read_file(path, &text, &len) != CG_OK) return NULL;
    int fd = memfd_create("clgan-config", 0);
    dictionary *d = NULL;
    if (fd >= 0 && write(fd, text + 3, len - 3) == (ssize_t)(len - 3)) {
        char name[64];
        snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
        d = iniparser_load(name);
    }
    if (fd >= 0) close(fd);
    free(text);
    return d;
}

static cg_status load_file(cg_config *cfg, const char *path) {
    int bom = 0;
    CG_TRY(check_readable(path, &bom));
    memset(&load_error, 0, sizeof load_error);
    iniparser_set_error_callback(capture_error);
    dictionary *d = bom ? load_without_bom(path) : iniparser_load(path);
    iniparser_set_error_callback(silent_error);
    if (!d) return load_failure(path);
    dictionary_del(cfg->file);
    cfg->file = d;
    free(cfg->path);
    cfg->path = strdup(path);
    return cfg->path ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of memory loading %s", path);
}

cg_status cg_config_load(const char *path, cg_config **out) {
    *out = NULL;
    cg_config *cfg = cg_config_empty();
    if (!cfg) return cg_fail(CG_ERR_NOMEM, "out of memory creating a configuration");
    cg_status st = path ? load_file(cfg, path) : CG_OK;
    if (st != CG_OK) cg_config_free(cfg);
    else *out = cfg;
    return st;
}

cg_status cg_config_set(cg_config *cfg, const char *assignment) {
    CG_ASSERT(cfg && assignment);
    const char *eq = strchr(assignment, '=');
    char name[2 * NAME_LEN];
    if (!eq || !trim_copy(name, sizeof name, assignment, eq))
        return cg_fail(CG_ERR_CONFIG, "--set \"%s\": expected section.key=value", assignment);
    lower_copy(name, name, sizeof name);
    char *dot = strchr(name, '.');
    if (!dot || dot == name || !dot[1] || strchr(dot + 1, '.') || strpbrk(name, " \t:;#[]") ||
        dot - name >= NAME_LEN || strlen(dot + 1) >= NAME_LEN)
        return cg_fail(CG_ERR_CONFIG, "--set \"%s\": expected section.key=value (one '.' between a "
                       "non-empty section and key, no spaces)", assignment);
    *dot = ':';
    size_t n = strlen(eq + 1) + 1;
    char *value = malloc(n);
    if (!value) return cg_fail(CG_ERR_NOMEM, "out of memory in --set");
    trim_copy(value, n, eq + 1, eq + n);
    int rc = dictionary_set(cfg->set, name, value);
    free(value);
    *dot = 0; // like iniparser, list the section as an entry of its own
    if (rc == 0 && !iniparser_find_entry(cfg->set, name)) rc = dictionary_set(cfg->set, name, NULL);
    return rc == 0 ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of memory in --set \"%s\"", assignment);
}

// ---------------------------------------------------------------------------------------------
// Getters: each looks the key up (--set first, then the file), validates, and records the result.

typedef struct {
    cg_config *cfg;
    char section[NAME_LEN], key[NAME_LEN];
    const char *text; // raw value; NULL when absent
    origin from;
} query;

static void query_begin(query *q, cg_config *cfg, const char *section, const char *key) {
    CG_ASSERT(cfg && section && key && *section && *key);
    CG_ASSERT(strlen(section) < NAME_LEN && strlen(key) < NAME_LEN);
    q->cfg = cfg;
    lower_copy(q->section, section, NAME_LEN);
    lower_copy(q->key, key, NAME_LEN);
    char full[2 * NAME_LEN + 1];
    snprintf(full, sizeof full, "%s:%s", q->section, q->key);
    q->from = FROM_SET;
    q->text = dictionary_get(cfg->set, full, NULL);
    if (!q->text) {
        q->from = FROM_FILE;
        q->text = dictionary_get(cfg->file, full, NULL);
    }
    if (!q->text) q->from = FROM_DEFAULT;
}

// Records the effective value; *stored (optional) receives the copy owned by cfg.
static cg_status query_record(const query *q, const char *value, const char **stored) {
    cg_config *cfg = q->cfg;
    record *r = NULL;
    for (size_t i = 0; i < cfg->nrecs && !r; i++)
        if (!strcmp(cfg->recs[i].section, q->section) && !strcmp(cfg->recs[i].key, q->key)) r = &cfg->recs[i];
    if (!r) {
        record *recs = grow(cfg->recs, &cfg->cap_recs, cfg->nrecs + 1, sizeof *recs);
        if (!recs) return cg_fail(CG_ERR_NOMEM, "out of memory recording [%s] %s", q->section, q->key);
        cfg->recs = recs;
        record fresh = {pool_dup(cfg, q->section), pool_dup(cfg, q->key), NULL, q->from};
        if (!fresh.section || !fresh.key) return cg_fail(CG_ERR_NOMEM, "out of memory recording a key");
        r = &recs[cfg->nrecs++];
        *r = fresh;
    }
    // Earlier copies stay in the pool: strings handed out by cg_config_str live as long as cfg.
    if (!value || !r->value || strcmp(r->value, value)) {
        r->value = value ? pool_dup(cfg, value) : NULL;
        if (value && !r->value) return cg_fail(CG_ERR_NOMEM, "out of memory recording [%s] %s", q->section, q->key);
    }
    r->from = q->from;
    if (stored) *stored = r->value;
    return CG_OK;
}

static cg_status query_fail(const query *q, int quote, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cg_status query_fail(const query *q, int quote, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *q_ = quote ? "\"" : "";
    (void)query_record(q, q->text, NULL); // asked for, so not "unknown", even though invalid
    if (q->from == FROM_SET)
        return cg_fail(CG_ERR_CONFIG, SET_LABEL " [%s] %s = %s%s%s: %s", q->section, q->key, q_, q->text, q_, why);
    return cg_fail(CG_ERR_CONFIG, "%s: [%s] %s = %s%s%s: %s", q->cfg->path, q->section, q->key, q_, q->text,
                   q_, why);
}

cg_status cg_config_int(cg_config *cfg, const char *section, const char *key, long def, long lo, long hi,
                        long *out) {
    query q;
    query_begin(&q, cfg, section, key);
    long v = def;
    if (q.text) {
        char *end;
        errno = 0;
        v = strtol(q.text, &end, 10);
        if (end == q.text || *end) return query_fail(&q, 1, "expected an integer");
        if (errno == ERANGE || v < lo || v > hi) return query_fail(&q, 0, "must be between %ld and %ld", lo, hi);
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    CG_TRY(query_record(&q, buf, NULL));
    *out = v;
    return CG_OK;
}

// Shortest text that reads back as the same double.
static void format_double(double v, char *buf, size_t n) {
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
}

cg_status cg_config_float(cg_config *cfg, const char *section, const char *key, double def, double lo,
                          double hi, double *out) {
    query q;
    query_begin(&q, cfg, section, key);
    double v = def;
    if (q.text) {
        char *end;
        v = strtod(q.text, &end);
        if (end == q.text || *end) return query_fail(&q, 1, "expected a number");
        if (!isfinite(v)) return query_fail(&q, 0, "must be a finite number");
        if (v < lo || v > hi) return query_fail(&q, 0, "must be between %g and %g", lo, hi);
    }
    char buf[40];
    format_double(v, buf, sizeof buf);
    CG_TRY(query_record(&q, buf, NULL));
    *out = v;
    return CG_OK;
}

cg_status cg_config_bool(cg_config *cfg, const char *section, const char *key, int def, int *out) {
    static const char *const words[][2] = {{"false", "true"}, {"no", "yes"}, {"off", "on"}, {"0", "1"}};
    query q;
    query_begin(&q, cfg, section, key);
    int v = def ? 1 : 0, found = !q.text;
    for (size_t i = 0; i < sizeof words / sizeof words[0] && !found; i++)
        for (int b = 0; b < 2 && !found; b++)
            if (!strcasecmp(q.text, words[i][b])) v = b, found = 1;
    if (!found) return query_fail(&q, 1, "expected true/false, yes/no, on/off or 1/0");
    CG_TRY(query_record(&q, v ? "true" : "false", NULL));
    *out = v;
    return CG_OK;
}

// Finds text among "a|b|c" case-insensitively; copies the choice's own spelling to canon.
static int match_choice(const char *choices, const char *text, char *canon, size_t n) {
    size_t len = strlen(text);
    for (const char *c = choices;; c++) {
        size_t clen = strcspn(c, "|");
        if (clen == len && clen < n && !strncasecmp(c, text, len)) {
            memcpy(canon, c, clen);
            canon[clen] = 0;
            return 1;
        }
        c += clen;
        if (!*c) return 0;
    }
}

cg_status cg_config_str(cg_config *cfg, const char *section, const char *key, const char *def,
                        const char *choices, const char **out) {
    query q;
    query_begin(&q, cfg, section, key);
    const char *v = q.text ? q.text : def;
    char canon[NAME_LEN];
    if (choices && v && match_choice(choices, v, canon, sizeof canon)) v = canon;
    else if (choices && q.text) return query_fail(&q, 1, "must be one of %s", choices);
    return query_record(&q, v, out);
}

// ---------------------------------------------------------------------------------------------
// Unknown keys.

// Was any key of this section (key NULL), or this very key, asked for?
static int known(const cg_config *cfg, const char *section, size_t len, const char *key) {
    for (size_t i = 0; i < cfg->nrecs; i++)
        if (strlen(cfg->recs[i].section) == len && !strncmp(cfg->recs[i].section, section, len) &&
            (!key || !strcmp(cfg->recs[i].key, key)))
            return 1;
    return 0;
}

enum { BY_SECTION, BY_KEY, BY_BOTH };
static const char *compared_name(int by, const char *section, const char *key, char *buf, size_t n) {
    if (by == BY_SECTION) return section;
    if (by == BY_KEY) return key;
    snprintf(buf, n, "%s.%s", section, key);
    return buf;
}

// The asked-for key nearest to an unknown one (compared as "section.key", or by key alone when
// outside any section); with key NULL, the nearest section. NULL when none is close enough.
static const record *closest(const cg_config *cfg, const char *section, const char *key) {
    int by = !key ? BY_SECTION : !*section ? BY_KEY : BY_BOTH;
    char want[2 * LINE_LEN], have[2 * LINE_LEN];
    const char *probe = compared_name(by, section, key, want, sizeof want);
    const record *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < cfg->nrecs; i++) {
        size_t d = levenshtein(probe, compared_name(by, cfg->recs[i].section, cfg->recs[i].key, have, sizeof have));
        if (d < best_d) best = &cfg->recs[i], best_d = d;
    }
    size_t len = strlen(key ? key : section), limit = len / 3 > 2 ? len / 3 : 2;
    return best_d <= limit ? best : NULL;
}

// Warns about the entries of d ("section" or "section:key"); `file` is set when d holds the
// overrides, whose sections and keys already in the file were warned about with it.
static int warn_dict(const cg_config *cfg, const dictionary *d, const dictionary *file, const char *label,
                     FILE *log) {
    int count = 0;
    for (ssize_t i = 0; i < d->size; i++) {
        const char *e = d->key[i];
        if (!e || (file && iniparser_find_entry(file, e))) continue;
        char section[LINE_LEN];
        size_t slen = strcspn(e, ":");
        snprintf(section, sizeof section, "%.*s", (int)slen, e);
        const char *key = e[slen] ? e + slen + 1 : NULL;
        if (slen > 0 && !known(cfg, e, slen, NULL)) {
            if (key) continue; // covered by the warning about its section
            const record *r = closest(cfg, section, NULL);
            fprintf(log, "warning: %s: unknown section [%s]", label, section);
            if (r) fprintf(log, "; did you mean [%s]?", r->section);
        } else if (key && !known(cfg, e, slen, key)) {
            const record *r = closest(cfg, section, key);
            if (slen) fprintf(log, "warning: %s: unknown key [%s] %s", label, section, key);
            else fprintf(log, "warning: %s: key %s is outside any [section]", label, key);
            if (r) fprintf(log, "; did you mean [%s] %s?", r->section, r->key);
        } else {
            continue;
        }
        fputc('\n', log);
        count++;
    }
    return count;
}

int cg_config_warn_unknown(const cg_config *cfg, FILE *log) {
    return warn_dict(cfg, cfg->file, NULL, cfg->path, log) + warn_dict(cfg, cfg->set, cfg->file, SET_LABEL, log);
}

// ---------------------------------------------------------------------------------------------
// Dump.

// Quotes values that iniparser would otherwise strip, cut at a comment, or join with the next line.
static int write_value(FILE *f, const char *v) {
    size_t n = strlen(v);
    int plain = n > 0 && !isspace((unsigned char)v[0]) && !isspace((unsigned char)v[n - 1]) &&
                !strpbrk(v, ";#\"'") && v[n - 1] != '\\';
    if (plain) return fprintf(f, "%s", v);
    char quote = strchr(v, '"') ? '\'' : '"';
    return fprintf(f, "%c%s%c", quote, v, quote);
}

static void dump_record(FILE *f, const record *r) {
    const char *note = r->from == FROM_DEFAULT ? "default" : r->from == FROM_SET ? "--set" : NULL;
    if (!r->value) {
        fprintf(f, "; %s is unset (no default)\n", r->key);
        return;
    }
    int n = fprintf(f, "%s = ", r->key) + write_value(f, r->value);
    if (note) fprintf(f, "%*s; %s", n < 36 ? 36 - n : 1, "", note);
    fputc('\n', f);
}

void cg_config_dump(const cg_config *cfg, FILE *f) {
    fprintf(f, "; clgan %s effective configuration%s%s\n", CLGAN_VERSION, *cfg->path ? " from " : "",
            cfg->path);
    for (size_t i = 0; i < cfg->nrecs; i++) {
        const char *section = cfg->recs[i].section;
        size_t first = 0;
        while (strcmp(cfg->recs[first].section, section)) first++;
        if (first != i) continue;
        fprintf(f, "\n[%s]\n", section);
        for (size_t j = i; j < cfg->nrecs; j++)
            if (!strcmp(cfg->recs[j].section, section)) dump_record(f, &cfg->recs[j]);
    }
}

char *cg_config_dump_string(const cg_config *cfg) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    cg_config_dump(cfg, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
