// paths.c — guards on the files a command names: an output never overwrites one of its inputs,
// and an input file is a regular file (a FIFO would block the command for ever).
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!a || !b || !*a || !*b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

cg_status cli_output_distinct(const char *out_label, const char *out, const cli_given *inputs, size_t n) {
    if (!out || !*out) return CG_OK;
    for (size_t i = 0; i < n; i++)
        if (cli_same_file(out, inputs[i].value))
            return cg_fail(CG_ERR_CONFIG, "%s %s is the same file as %s %s: refusing to overwrite an input",
                           out_label, out, inputs[i].key, inputs[i].value);
    return CG_OK;
}

int cli_in_folder(const char *path, const char *dir) {
    if (!path || !dir || !*path || !*dir) return 0;
    char *parent = strdup(path);
    if (!parent) return 0;
    char *slash = strrchr(parent, '/');
    if (!slash) strcpy(parent, ".");
    else if (slash == parent) parent[1] = 0;
    else *slash = 0;
    int r = cli_same_file(parent, dir);
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
