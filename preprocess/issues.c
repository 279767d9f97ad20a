// issues.c — the list of input problems (malformed rows, missing and broken images) that
// preprocessing skips, counts per kind and names in its report.
#include "issues.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[CG_ISSUE_KINDS] = {
    "malformed_row", "missing", "empty", "not_image", "too_large", "truncated", "corrupt", "unreadable",
};

const char *cg_issue_kind_name(cg_issue_kind k) {
    return (unsigned)k < CG_ISSUE_KINDS ? kind_names[k] : "unknown";
}

cg_status cg_issues_add(cg_issue_list *l, cg_issue_kind kind, const char *name, const char *fmt, ...) {
    CG_ASSERT((unsigned)kind < CG_ISSUE_KINDS);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        cg_issue *items = realloc(l->items, cap * sizeof *items);
        if (!items) return cg_fail(CG_ERR_NOMEM, "out of host memory recording an input problem");
        l->items = items;
        l->cap = cap;
    }
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    cg_issue *it = &l->items[l->n];
    it->kind = kind;
    it->name = strdup(name ? name : "");
    it->detail = strdup(detail);
    if (!it->name || !it->detail) {
        free(it->name);
        free(it->detail);
        return cg_fail(CG_ERR_NOMEM, "out of host memory recording an input problem");
    }
    l->n++;
    l->counts[kind]++;
    return CG_OK;
}

void cg_issues_free(cg_issue_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free(l->items[i].detail);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}
