// issues.h — problems in the preprocessing input (malformed rows, missing, empty, broken or
// oversized images): skipped, counted and named in the report, never fatal (issues.c).
#ifndef CLGAN_ISSUES_H
#define CLGAN_ISSUES_H

#include "base.h"
#include <stddef.h>

// Issues: problems in the input that are skipped, counted and named in the report, never fatal.

typedef enum {
    CG_ISSUE_MALFORMED_ROW, // a list-file row that cannot be parsed (name is "file:line")
    CG_ISSUE_MISSING,       // a listed image with no file
    CG_ISSUE_EMPTY,         // a file of zero bytes
    CG_ISSUE_NOT_IMAGE,     // not in any format stb_image knows
    CG_ISSUE_TOO_LARGE,     // a side above max_side (checked from the header, before decoding)
    CG_ISSUE_TRUNCATED,     // the file ends before the image data does
    CG_ISSUE_CORRUPT,       // a known format whose data cannot be decoded
    CG_ISSUE_UNREADABLE,    // the file exists but cannot be read (permissions, I/O error)
    CG_ISSUE_KINDS
} cg_issue_kind;

typedef struct {
    cg_issue_kind kind;
    char *name;   // image file name, or "listfile:line" for rows
    char *detail; // one line
} cg_issue;

typedef struct {
    cg_issue *items;
    size_t n, cap;
    size_t counts[CG_ISSUE_KINDS];
} cg_issue_list;

const char *cg_issue_kind_name(cg_issue_kind k); // "malformed_row", "missing", ...
cg_status cg_issues_add(cg_issue_list *l, cg_issue_kind kind, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cg_issues_free(cg_issue_list *l);

#endif
