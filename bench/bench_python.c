// bench_python.c — the Python peers of the bench suites (PyTorch, pytorch-fid, PIL): runs
// /usr/bin/python3 SCRIPT ARGS through fork/exec with stdout and stderr on a pipe and reads the
// `key value` lines the script prints. A script that cannot run its peer (torch, pytorch-fid or PIL
// missing) prints `skip <reason>` and exits 0; anything else that yields no `median_s` is a failure
// whose last output line becomes the reason. Scripts are found under $CLGAN_SOURCE_DIR (else the
// current directory); pytorch-fid and the other test wheels under $CLGAN_PYDEPS (else
// <source>/build/pydeps/site), put on PYTHONPATH.
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

static void source_path(const char *rel, char *buf, size_t len) {
    const char *dir = getenv("CLGAN_SOURCE_DIR");
    if (dir && *dir) snprintf(buf, len, "%s/%s", dir, rel);
    else snprintf(buf, len, "%s", rel);
}

// PYTHONPATH for the child: the test wheels' folder (when it exists) before the caller's path.
static void pythonpath(char *buf, size_t len) {
    char deps[1024];
    const char *env = getenv("CLGAN_PYDEPS");
    if (env && *env) snprintf(deps, sizeof deps, "%s", env);
    else source_path("build/pydeps/site", deps, sizeof deps);
    const char *old = getenv("PYTHONPATH");
    if (access(deps, R_OK) != 0) deps[0] = '\0';
    snprintf(buf, len, "%s%s%s", deps, deps[0] && old && *old ? ":" : "", old ? old : "");
}

static void parse_line(char *line, bench_peer *out) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0]) return;
    if (!strncmp(line, "skip ", 5)) {
        snprintf(out->skip, sizeof out->skip, "%s", line + 5);
        return;
    }
    char key[32];
    double v;
    int used = 0;
    if (sscanf(line, "%31[a-z0-9_] %lf%n", key, &v, &used) == 2 && line[used] == '\0' &&
        out->n < BENCH_PEER_MAX) {
        snprintf(out->key[out->n], sizeof out->key[0], "%s", key);
        out->value[out->n++] = v;
        return;
    }
    snprintf(out->last, sizeof out->last, "%s", line);
}

int bench_peer_run(const char *script, const char *const *args, bench_peer *out) {
    memset(out, 0, sizeof *out);
    char path[1024];
    source_path(script, path, sizeof path);
    if (access(PYTHON, X_OK) != 0) {
        snprintf(out->skip, sizeof out->skip, "%s not found", PYTHON);
        return 0;
    }
    if (access(path, R_OK) != 0) {
        snprintf(out->skip, sizeof out->skip, "%s not found (set CLGAN_SOURCE_DIR to the source tree)", path);
        return 0;
    }
    const char *argv[24];
    int n = 0;
    argv[n++] = PYTHON;
    argv[n++] = path;
    for (int i = 0; args && args[i] && n < 23; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char pp[3072];
    pythonpath(pp, sizeof pp);
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(out->skip, sizeof out->skip, "pipe failed: %s", strerror(errno));
        return 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        snprintf(out->skip, sizeof out->skip, "fork failed: %s", strerror(errno));
        return 0;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]), close(fd[1]);
        if (pp[0]) setenv("PYTHONPATH", pp, 1);
        execv(PYTHON, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) parse_line(line, out);
    if (f) fclose(f);
    else close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (out->skip[0]) return 0;
    double median = bench_peer_get(out, "median_s");
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && median > 0;
    if (!ok) {
        if (WIFSIGNALED(status))
            snprintf(out->skip, sizeof out->skip, "failed: %s killed by signal %d", script, WTERMSIG(status));
        else
            snprintf(out->skip, sizeof out->skip, "failed: %s exit %d: %.200s", script,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, out->last[0] ? out->last : "no output");
    }
    return ok;
}

double bench_peer_get(const bench_peer *p, const char *key) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->key[i], key)) return p->value[i];
    return 0;
}

void bench_peer_apply(bench_row *row, const char *name, const bench_peer *p, double work_scale) {
    double med = bench_peer_get(p, "median_s"), min = bench_peer_get(p, "min_s"), max = bench_peer_get(p, "max_s");
    snprintf(row->ref_name, sizeof row->ref_name, "%s", name);
    row->ref_median_s = med * work_scale;
    row->ref_min_s = (min > 0 ? min : med) * work_scale;
    row->ref_max_s = (max > 0 ? max : med) * work_scale;
    row->ref_err = bench_peer_get(p, "err");
}

void bench_peer_skip_note(bench_row *row, const char *name, const char *reason) {
    snprintf(row->ref_skip, sizeof row->ref_skip, "%s skipped: %s", name, reason);
}
