// build_log.c — makes compiler logs name the real .cl file and line. Sources are assembled from
// several files behind `#line 1 "file.cl"` markers; most compilers honour them, but some (Oclgrind,
// some vendor drivers) report lines of the assembled text ("input.cl:14:3:", "<source>:14:3:").
// Such positions are rewritten with the map the markers define.
#include "runtime_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int raw_line;      // line of the assembled source where the file's line `first` starts
    int first;
    char file[64];
} line_mark;

static int read_marks(const char *src, line_mark *marks, int max) {
    int n = 0, line = 1;
    for (const char *p = src; *p; line++) {
        int first;
        char file[64];
        if (n < max && sscanf(p, "#line %d \"%63[^\"]\"", &first, file) == 2) {
            marks[n].raw_line = line + 1;
            marks[n].first = first;
            snprintf(marks[n].file, sizeof marks[n].file, "%s", file);
            n++;
        }
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

static const line_mark *mark_for(const line_mark *marks, int n, int raw) {
    const line_mark *best = NULL;
    for (int i = 0; i < n; i++)
        if (marks[i].raw_line <= raw) best = &marks[i];
    return best;
}

static int log_names_a_file(const char *log, const line_mark *marks, int n) {
    for (int i = 0; i < n; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "%s:", marks[i].file);
        if (strstr(log, needle)) return 1;
    }
    return 0;
}

char *cg_build_log_map(const char *source, const char *log) {
    line_mark marks[16];
    int n = read_marks(source, marks, 16);
    size_t cap = strlen(log) * 2 + 256, used = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    if (n == 0 || log_names_a_file(log, marks, n)) {
        snprintf(out, cap, "%s", log);
        return out;
    }
    // Rewrite "TOKEN:LINE:" where TOKEN starts a line (or follows a space) and LINE is a number.
    for (const char *p = log; *p;) {
        const char *tok = p;
        while (*p && !isspace((unsigned char)*p) && *p != ':') p++;
        int raw = 0;
        const char *q = p;
        if (*q == ':' && isdigit((unsigned char)q[1])) {
            raw = (int)strtol(q + 1, (char **)&q, 10);
            if (*q != ':') raw = 0;
        }
        const line_mark *m = raw ? mark_for(marks, n, raw) : NULL;
        if (m && used + 128 < cap) {
            used += (size_t)snprintf(out + used, cap - used, "%s:%d", m->file, m->first + raw - m->raw_line);
            p = q;
        } else {
            size_t len = (size_t)(p - tok);
            if (used + len + 2 >= cap) break;
            memcpy(out + used, tok, len);
            used += len;
        }
        // Copy separators up to the next token.
        while (*p && (isspace((unsigned char)*p) || *p == ':') && used + 2 < cap) out[used++] = *p++;
    }
    out[used] = 0;
    return out;
}
