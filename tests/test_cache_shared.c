// test_cache_shared.c — the compiled-kernel cache shared between processes and when it cannot be
// written (issue 14 item 4):
//   - two processes released at the same moment build the same kernels into an empty cache folder:
//     both succeed, and a third process is served every entry from disk (none rejected as torn);
//   - a cache folder that cannot be created (its parent is a regular file) gives exactly one warning
//     naming the folder, the kernels still build and run from memory, nothing is written to disk.
// Children fork before the parent touches OpenCL.
#include "test_util.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const families[] = {"tensor", "act", "bn", "optim"};
static const char *const kernels[] = {"tensor_fill", "act_leaky_fwd", "bn_stats", "adam_step"};
#define N_FAMILIES 4

// Gets every test kernel; returns the runtime's program statistics.
static cg_program_stats build_all(cg_runtime *rt, int *ok) {
    *ok = 1;
    for (int i = 0; i < N_FAMILIES; i++) {
        cl_kernel k;
        cg_status st = cg_kernel_get(rt, families[i], kernels[i], &k);
        if (st != CG_OK) {
            fprintf(stderr, "%s/%s: %s\n", families[i], kernels[i], cg_last_error());
            *ok = 0;
        }
    }
    return cg_runtime_program_stats(rt);
}

// A child: waits until the parent closes the write end of the `go` pipe, then builds everything with
// the cache in dir.
static pid_t racer(const char *dir, const int go[2]) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) < 0) _exit(3); // returns 0 at the parent's close: the start signal
    setenv("CLGAN_CACHE_DIR", dir, 1);
    cg_runtime *rt = test_runtime();
    int ok;
    build_all(rt, &ok);
    cg_runtime_free(rt);
    _exit(ok ? 0 : 1);
}

static void test_race(const char *dir) {
    int p[2];
    if (pipe(p) != 0) {
        CHECK(0, "pipe failed");
        return;
    }
    pid_t a = racer(dir, p), b = racer(dir, p);
    close(p[0]);
    close(p[1]); // both start now
    int sa = 0, sb = 0;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    if (WIFEXITED(sa) && WEXITSTATUS(sa) == TEST_SKIP) test_skip("opencl", "no OpenCL device in the child");
    CHECK(WIFEXITED(sa) && WEXITSTATUS(sa) == 0, "first builder ended with status %d", sa);
    CHECK(WIFEXITED(sb) && WEXITSTATUS(sb) == 0, "second builder ended with status %d", sb);
}

int main(void) {
    char root[128];
    if (test_tmpdir(root, sizeof root, "cache-shared") != 0) return 1;
    char dir[200], blocker[200], blocked[240], log[200];
    snprintf(dir, sizeof dir, "%s/cache", root);
    test_race(dir);

    // A third process (this one) finds every entry valid on disk.
    setenv("CLGAN_CACHE_DIR", dir, 1);
    cg_runtime *rt = test_runtime();
    int ok;
    cg_program_stats s = build_all(rt, &ok);
    CHECK(ok, "building from the shared cache failed");
    CHECK(s.disk_hits == N_FAMILIES && s.disk_rejects == 0 && s.disk_writes == 0,
          "after the race: %d disk hits, %d rejected, %d written (want %d, 0, 0)", s.disk_hits, s.disk_rejects,
          s.disk_writes, N_FAMILIES);
    cg_runtime_free(rt);

    // A folder that cannot be created: one warning, kernels from memory.
    snprintf(blocker, sizeof blocker, "%s/a-file", root);
    snprintf(blocked, sizeof blocked, "%s/cache", blocker);
    snprintf(log, sizeof log, "%s/stderr.txt", root);
    FILE *f = fopen(blocker, "w");
    if (f) fclose(f);
    setenv("CLGAN_CACHE_DIR", blocked, 1);
    rt = test_runtime();
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    s = build_all(rt, &ok);
    cl_kernel k;
    CHECK_OK(cg_kernel_get(rt, "tensor", "tensor_fill", &k)); // still served, from memory
    fflush(stderr);
    dup2(saved, 2);
    close(fd);
    close(saved);
    CHECK(ok, "kernels failed to build without a writable cache");
    CHECK(s.disk_writes == 0 && s.disk_hits == 0, "%d writes, %d hits into an impossible folder", s.disk_writes,
          s.disk_hits);
    char text[4096] = "";
    f = fopen(log, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    int warnings = 0;
    for (const char *p = text; (p = strstr(p, "cannot write the compiled-kernel cache")); p++) warnings++;
    CHECK(warnings == 1 && strstr(text, blocked), "want one warning naming %s, got %d: '%s'", blocked, warnings,
          text);
    cg_runtime_free(rt);
    test_rm_rf(root);
    return test_finish("cache_shared");
}
