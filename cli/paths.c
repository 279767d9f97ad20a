// paths.c — guards on the files a command names: an output never overwrites one of its inputs,
// and an input file is a regular file (a FIFO would block the command for ever).
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int same_inode(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The folder holding path ("." without a slash); malloc'd.
static char *parent_of(const char *path) {
    char *parent = strdup(path);
    if (!parent) return NULL;
    char *slash = strrchr(parent, '/');
    if (!slash) strcpy(parent, ".");
    else if (slash == parent) parent[1] = 0;
    else *slash = 0;
    return parent;
}

int cli_same_file(const char *a, const char *b) {
    if (!a || !b || !*a || !*b) return 0;
    if (access(a, F_OK) == 0 && access(b, F_OK) == 0) return same_inode(a, b);
    // Not both there yet: the same name in the same folder.
    const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
    na = na ? na + 1 : a, nb = nb ? nb + 1 : b;
    if (strcmp(na, nb)) return 0;
    char *pa = parent_of(a), *pb = parent_of(b);
    int r = pa && pb && same_inode(pa, pb);
    free(pa);
    free(pb);
    return r;
}

// Every existing folder on the way to path is a folder: an output under a regular file is refused
// before any work (CG_ERR_IO, naming the file in the way), as writing it would fail at the end.
static cg_status parents_are_folders(const char *label, const char *path) {
    char *dir = parent_of(path);
    if (!dir) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = CG_OK;
    for (char *p = dir;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        struct stat sb;
        if (*dir && stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
            st = cg_fail(CG_ERR_IO, "cannot write %s '%s': '%s' exists and is not a folder", label, path, dir);
        *p = c;
        if (!c || st != CG_OK) break;
    }
    free(dir);
    return st;
}

cg_status cli_output_distinct(const char *out_label, const char *out, const cli_given *inputs, size_t n) {
    if (!out || !*out) return CG_OK;
    CG_TRY(parents_are_folders(out_label, out));
    for (size_t i = 0; i < n; i++)
        if (cli_same_file(out, inputs[i].value))
            return cg_fail(CG_ERR_CONFIG, "%s %s and %s %s are the same file: refusing to write over it",
                           out_label, out, inputs[i].key, inputs[i].value);
    return CG_OK;
}

int cli_in_folder(const char *path, const char *dir) {
    if (!path || !dir || !*path || !*dir) return 0;
    char *parent = parent_of(path);
    int r = parent && same_inode(parent, dir);
    free(parent);
    return r;
}

cg_status cli_regular_file(const char *label, const char *path) {
    struct stat sb;
    if (!path || !*path) return CG_OK;
    if (stat(path, &sb) != 0)
        return cg_fail(errno == ENOENT ? CG_ERR_NOT_FOUND : CG_ERR_IO, "%s %s: %s", label, path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return cg_fail(CG_ERR_IO, "%s %s is not a regular file (%s)", label, path,
                       S_ISDIR(sb.st_mode) ? "a folder" : S_ISFIFO(sb.st_mode) ? "a FIFO" : "a device or socket");
    return CG_OK;
}
