// run_folder.c — a training output folder held by one trainer at a time: a lock file (flock, so
// a killed trainer never leaves a stale lock), the refusal to start over a folder that already
// holds a run, and the removal of temporary files that a killed save left behind.
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME ".clgan-train.lock"

static cg_status take_lock(const char *out, int *lock_fd) {
    char path[1200];
    snprintf(path, sizeof path, "%s/" LOCK_NAME, out);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return cg_fail(CG_ERR_IO, "cannot create the lock file %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char pid[32] = "";
        ssize_t n = read(fd, pid, sizeof pid - 1);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        if (err == EWOULDBLOCK)
            return cg_fail(CG_ERR_IO, "another clgan train%s%s%s is writing into %s; wait for it to finish or "
                           "choose another [train] out", *pid ? " (pid " : "", pid, *pid ? ")" : "", out);
        return cg_fail(CG_ERR_IO, "cannot lock %s: %s", path, strerror(err));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    // The pid only goes into another trainer's message; failing to write it is harmless.
    int wrote = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len;
    (void)wrote;
    *lock_fd = fd;
    return CG_OK;
}

// Data rows of log.csv (lines starting with a digit).
static long log_rows(const char *out) {
    char path[1200], line[512];
    snprintf(path, sizeof path, "%s/log.csv", out);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    FILE *f = fopen(path, "r");
    long n = 0;
    while (f && fgets(line, sizeof line, f))
        if (line[0] >= '0' && line[0] <= '9') n++;
    if (f) fclose(f);
    return n;
}

static cg_status refuse_existing_run(const char *out) {
    char ckpt[1200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    long rows = log_rows(out);
    int has_ckpt = access(ckpt, F_OK) == 0;
    if (!has_ckpt && rows == 0) return CG_OK;
    char what[128];
    if (has_ckpt && rows) snprintf(what, sizeof what, "checkpoint.safetensors and %ld rows of log.csv", rows);
    else if (has_ckpt) snprintf(what, sizeof what, "checkpoint.safetensors");
    else snprintf(what, sizeof what, "%ld rows of log.csv", rows);
    return cg_fail(CG_ERR_CONFIG, "%s already holds a run (%s): continue it with --resume %s, start over with "
                   "--force, or choose another [train] out", out, what, ckpt);
}

// "NAME.tmp.XXXXXX": the temporary file of an atomic write (runtime/fileio.c).
static int is_temp_name(const char *name) {
    const char *t = strstr(name, ".tmp.");
    while (t && strstr(t + 1, ".tmp.")) t = strstr(t + 1, ".tmp.");
    return t && t != name && strlen(t + 5) == 6;
}

static void remove_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_temp_name(e->d_name)) continue;
        char path[1500];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if (unlink(path) == 0) fprintf(stderr, "train: removed %s, left by an interrupted save\n", path);
    }
    closedir(d);
}

cg_status cli_run_folder_claim(const char *out, int resuming, int force, int *lock_fd) {
    *lock_fd = -1;
    CG_TRY(cg_mkdir_p(out));
    CG_TRY(take_lock(out, lock_fd));
    cg_status st = resuming || force ? CG_OK : refuse_existing_run(out);
    if (st != CG_OK) {
        cli_run_folder_release(*lock_fd);
        *lock_fd = -1;
        return st;
    }
    char samples[1200];
    snprintf(samples, sizeof samples, "%s/samples", out);
    remove_temps(out); // the lock says no other trainer is writing them
    remove_temps(samples);
    return CG_OK;
}

void cli_run_folder_release(int lock_fd) {
    if (lock_fd >= 0) close(lock_fd);
}
