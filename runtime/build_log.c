// build_log.c — makes compiler logs name the real .cl file and line, and keeps what a driver's
// compiler prints to stderr for the build log. Sources are assembled from
// several files behind `#line 1 "file.cl"` markers; most compilers honour them, but some (Oclgrind,
// some vendor drivers) report lines of the assembled text ("input.cl:14:3:", "<source>:14:3:").
// Such positions are rewritten with the map the markers define.
#include "runtime_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

// ---- What the driver's compiler prints itself. Some drivers (PoCL: "2 warnings generated.") write
// to the process's stderr while building; that text belongs with the build log, shown when a build
// fails or with --verbose (CLGAN_VERBOSE=1), never in a successful command's output.

typedef struct cg_build_output cg_build_output;
struct cg_build_output {
    FILE *tmp;
    int saved_fd;
};

cg_build_output *cg_build_output_begin(void);
char *cg_build_output_end(cg_build_output *c);
int cg_build_verbose(void);

cg_build_output *cg_build_output_begin(void) {
    cg_build_output *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    fflush(stderr);
    c->tmp = tmpfile();
    c->saved_fd = c->tmp ? dup(STDERR_FILENO) : -1;
    if (c->saved_fd < 0 || dup2(fileno(c->tmp), STDERR_FILENO) < 0) {
        if (c->saved_fd >= 0) close(c->saved_fd);
        if (c->tmp) fclose(c->tmp);
        free(c);
        return NULL;
    }
    return c;
}

// Restores stderr; the captured text (malloc'd, "" when none; NULL when c is NULL).
char *cg_build_output_end(cg_build_output *c) {
    if (!c) return NULL;
    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    long n = fseek(c->tmp, 0, SEEK_END) == 0 ? ftell(c->tmp) : 0;
    char *text = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (text) {
        rewind(c->tmp);
        size_t got = n > 0 ? fread(text, 1, (size_t)n, c->tmp) : 0;
        text[got] = 0;
    }
    fclose(c->tmp);
    free(c);
    return text;
}

int cg_build_verbose(void) {
    const char *v = getenv("CLGAN_VERBOSE");
    return v && *v && strcmp(v, "0");
}
