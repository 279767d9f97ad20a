// fileio.c — files on disk: atomic writes (temporary file, fsync, rename, folder fsync),
// whole-file reads (regular files only: a FIFO or device is refused, never waited on), and mkdir -p.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cg_atomic_file {
    char *path;
    char *tmp; // "<path>.tmp.XXXXXX", filled in by mkstemp
    FILE *fp;  // NULL once closed
};

static cg_status write_fail(const char *path, const char *step, int err) {
    return cg_fail(CG_ERR_IO, "cannot write '%s': %s: %s", path, step, strerror(err ? err : EIO));
}

static char *concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

// The folder holding path: "." when path has no slash.
static char *parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

// mkstemp creates mode 0600; the result should get the target's mode, or that of a new file.
static mode_t target_mode(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) return st.st_mode & 07777;
    mode_t mask = umask(0); // the umask can only be read by setting it
    umask(mask);
    return 0666 & ~mask;
}

// Temporary files of atomic writes in progress, for cg_atomic_remove_temps (a signal handler).
#define PENDING_SLOTS 32
static char *pending[PENDING_SLOTS];

static void pending_add(char *tmp) {
    for (int i = 0; i < PENDING_SLOTS; i++) {
        char *none = NULL;
        if (__atomic_compare_exchange_n(&pending[i], &none, tmp, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return;
    }
}

static void pending_remove(const char *tmp) {
    for (int i = 0; i < PENDING_SLOTS; i++)
        if (__atomic_load_n(&pending[i], __ATOMIC_SEQ_CST) == tmp) __atomic_store_n(&pending[i], NULL, __ATOMIC_SEQ_CST);
}

void cg_atomic_remove_temps(void) {
    for (int i = 0; i < PENDING_SLOTS; i++) {
        char *tmp = __atomic_load_n(&pending[i], __ATOMIC_SEQ_CST);
        if (tmp) unlink(tmp);
    }
}

static void free_handle(cg_atomic_file *f) {
    if (!f) return;
    pending_remove(f->tmp);
    free(f->path);
    free(f->tmp);
    free(f);
}

cg_status cg_atomic_open(const char *path, cg_atomic_file **out) {
    if (!out) return cg_fail(CG_ERR_INVALID_ARG, "cg_atomic_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return cg_fail(CG_ERR_INVALID_ARG, "cg_atomic_open: empty path");
    cg_atomic_file *f = calloc(1, sizeof *f);
    if (f) {
        f->path = strdup(path);
        f->tmp = concat(path, ".tmp.XXXXXX");
    }
    if (!f || !f->path || !f->tmp) {
        free_handle(f);
        return cg_fail(CG_ERR_NOMEM, "cannot write '%s': out of memory", path);
    }
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        int err = errno;
        free_handle(f);
        return write_fail(path, "cannot create a temporary file", err);
    }
    pending_add(f->tmp);
    if (fchmod(fd, target_mode(path)) != 0 || !(f->fp = fdopen(fd, "wb"))) {
        int err = errno;
        close(fd);
        unlink(f->tmp);
        free_handle(f);
        return write_fail(path, "cannot open the temporary file", err);
    }
    *out = f;
    return CG_OK;
}

FILE *cg_atomic_stream(cg_atomic_file *f) { return f ? f->fp : NULL; }

// Flushes, syncs and closes the temporary file. The stream is closed whatever happens.
static cg_status close_temp(cg_atomic_file *f) {
    FILE *fp = f->fp;
    f->fp = NULL;
    const char *step = NULL;
    int err = 0;
    if (ferror(fp)) {
        step = "write error";
        err = errno;
    } else if (fflush(fp) != 0) {
        step = "flush failed";
        err = errno;
    } else if (fsync(fileno(fp)) != 0) {
        step = "fsync failed";
        err = errno;
    }
    if (fclose(fp) != 0 && !step) {
        step = "close failed";
        err = errno;
    }
    return step ? write_fail(f->path, step, err) : CG_OK;
}

// Makes the rename durable. Some file systems cannot sync a folder (EINVAL); that is not an error.
static cg_status sync_parent(const char *path) {
    char *dir = parent_dir(path);
    if (!dir) return cg_fail(CG_ERR_NOMEM, "cannot write '%s': out of memory", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return write_fail(path, "cannot open its folder to sync it", errno);
    int rc = fsync(fd), err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL) return write_fail(path, "fsync of its folder failed", err);
    return CG_OK;
}

static cg_status commit(cg_atomic_file *f) {
    CG_TRY(close_temp(f));
    if (rename(f->tmp, f->path) != 0) return write_fail(f->path, "rename failed", errno);
    return sync_parent(f->path);
}

cg_status cg_atomic_commit(cg_atomic_file *f) {
    if (!f) return cg_fail(CG_ERR_INVALID_ARG, "cg_atomic_commit: NULL file");
    cg_status st = commit(f);
    if (st != CG_OK) unlink(f->tmp); // already renamed when only the folder sync failed
    free_handle(f);
    return st;
}

void cg_atomic_abort(cg_atomic_file *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    unlink(f->tmp);
    free_handle(f);
}

cg_status cg_write_file_atomic(const char *path, const void *data, size_t len) {
    cg_atomic_file *f = NULL;
    CG_TRY(cg_atomic_open(path, &f));
    if (len && fwrite(data, 1, len, f->fp) != len) {
        int err = errno;
        cg_atomic_abort(f);
        return write_fail(path, "short write", err);
    }
    return cg_atomic_commit(f);
}

cg_status cg_write_text_atomic(const char *dir, const char *name, char *text) {
    size_t ld = strlen(dir), ln = strlen(name);
    char *path = malloc(ld + 1 + ln + 1);
    if (!path || !text) {
        free(path);
        free(text);
        return cg_fail(CG_ERR_NOMEM, "out of host memory while formatting '%s/%s'", dir, name);
    }
    memcpy(path, dir, ld);
    path[ld] = '/';
    memcpy(path + ld + 1, name, ln + 1);
    cg_status st = cg_write_file_atomic(path, text, strlen(text));
    free(path);
    free(text);
    return st;
}

static cg_status read_fail(const char *path, int err) {
    return cg_fail(err == ENOENT ? CG_ERR_NOT_FOUND : CG_ERR_IO, "cannot read '%s': %s", path,
                   strerror(err ? err : EIO));
}

// Reads fp to its end into a growing buffer, leaving room for the NUL.
static cg_status read_stream(const char *path, FILE *fp, char **data, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (ferror(fp)) {
            int err = errno;
            free(buf);
            return read_fail(path, err);
        }
        if (feof(fp)) break;
        char *bigger = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (!buf) return cg_fail(CG_ERR_NOMEM, "cannot read '%s': out of memory", path);
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return CG_OK;
}

cg_status cg_read_file(const char *path, char **data, size_t *len) {
    if (!data) return cg_fail(CG_ERR_INVALID_ARG, "cg_read_file: data is NULL");
    *data = NULL;
    if (len) *len = 0;
    if (!path || !*path) return cg_fail(CG_ERR_INVALID_ARG, "cg_read_file: empty path");
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return read_fail(path, errno);
    struct stat sb;
    int failed = fstat(fd, &sb) != 0, err = failed ? errno : 0;
    if (failed || !S_ISREG(sb.st_mode)) {
        close(fd);
        if (err) return read_fail(path, err);
        return cg_fail(CG_ERR_IO, "cannot read '%s': not a regular file (%s)", path,
                       S_ISDIR(sb.st_mode) ? "a folder" : S_ISFIFO(sb.st_mode) ? "a FIFO" : "a device or socket");
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        err = errno;
        close(fd);
        return read_fail(path, err);
    }
    cg_status st = read_stream(path, fp, data, len);
    fclose(fp);
    return st;
}

// Creates one folder of cg_mkdir_p(whole); an existing folder (or link to one) is fine.
static cg_status make_dir(const char *whole, const char *dir) {
    if (mkdir(dir, 0777) == 0) return CG_OK;
    int err = errno;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return CG_OK;
        return cg_fail(CG_ERR_IO, "cannot create folder '%s': '%s' exists and is not a folder", whole, dir);
    }
    return cg_fail(CG_ERR_IO, "cannot create folder '%s': '%s': %s", whole, dir, strerror(err));
}

cg_status cg_mkdir_p(const char *path) {
    if (!path || !*path) return cg_fail(CG_ERR_INVALID_ARG, "cg_mkdir_p: empty path");
    char *buf = strdup(path);
    if (!buf) return cg_fail(CG_ERR_NOMEM, "cannot create folder '%s': out of memory", path);
    cg_status st = CG_OK;
    for (char *p = buf + 1; st == CG_OK; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (p[-1] != '/') st = make_dir(path, buf); // skips the empty parts of "a//b" and "a/"
        *p = c;
        if (c == 0) break;
    }
    free(buf);
    return st;
}

cg_status cg_mkdir_parent(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path ? path : "");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return CG_OK;
    *slash = 0;
    return cg_mkdir_p(dir);
}
