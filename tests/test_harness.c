// test_harness.c — the honest-skip rules of test_util.h, each case in a child process: a missing
// dependency exits 77, or 1 when $CLGAN_REQUIRE names it (or says "all"); a skipped part makes an
// otherwise passing test exit 77; a failed check is never hidden by a skip. And the scratch folders
// of test_tmpdir: a test that skips or passes leaves nothing under $TMPDIR, one whose check failed
// keeps its folder (the negative control), and a forked child's exit removes none of its parent's.
// Needs no device.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "test_util.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NONE, WHOLE, PART, PART_THEN_CHECK };

// Child: maybe fail a check, then skip (the whole test or a part of it) for dep.
static _Noreturn void scenario(int kind, const char *dep, int fail_first, const char *require) {
    test_failures = test_checks = test_skipped = 0;
    if (require) setenv("CLGAN_REQUIRE", require, 1);
    else unsetenv("CLGAN_REQUIRE");
    if (fail_first) test_failures++;
    if (kind == WHOLE) test_skip(dep, "scenario (expected)");
    if (kind != NONE) test_skip_part(dep, "scenario part (expected)");
    if (kind == PART_THEN_CHECK) test_checks++;
    exit(test_finish("scenario"));
}

static void expect(int want, int kind, const char *dep, int fail_first, const char *require) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid < 0) return;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(99);
        scenario(kind, dep, fail_first, require);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid failed");
    int got = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECK(got == want, "%s skip of %s, %s check failed first, CLGAN_REQUIRE=%s: exit %d, want %d",
          kind == NONE ? "no" : kind == WHOLE ? "whole" : "part", dep, fail_first ? "a" : "no", require ? require : "(unset)", got, want);
}

// Entries in folder dir ("." and ".." aside); -1 when it cannot be read.
static int entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

// Child with TMPDIR=root: a scratch folder with a file in it (and a forked child that exits and must
// leave it alone), then the scenario; afterwards `left` entries must remain in root.
static void expect_scratch(const char *root, int want, int kind, int fail_first, int left) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid < 0) return;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(99);
        setenv("TMPDIR", root, 1);
        test_tmpdir_count = 0;
        char dir[1024], file[1100];
        if (test_tmpdir(dir, sizeof dir, "harness-scenario") != 0) _exit(97);
        snprintf(file, sizeof file, "%s/file", dir);
        FILE *f = fopen(file, "w");
        if (!f || fputs("scratch\n", f) < 0 || fclose(f) != 0) _exit(96);
        pid_t grandchild = fork();
        if (grandchild == 0) exit(0); // runs the atexit handlers in a process that did not make dir
        int status = 0;
        if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild || access(file, R_OK) != 0) _exit(98);
        scenario(kind, "data", fail_first, NULL);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid failed");
    int got = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int n = entries(root);
    CHECK(got == want && n == left, "scratch folder, %s skip, %s check failed first: exit %d (want %d), %d entries "
          "left in %s (want %d)", kind == NONE ? "no" : kind == WHOLE ? "whole" : "part", fail_first ? "a" : "no",
          got, want, n, root, left);
    test_rm_rf(root);
    mkdir(root, 0700);
}

int main(void) {
    char root[1024];
    if (test_tmpdir(root, sizeof root, "harness") != 0) return 1;
    expect_scratch(root, 77, WHOLE, 0, 0); // test_skip: exit 77, nothing left
    expect_scratch(root, 77, PART, 0, 0);  // test_finish after a skipped part
    expect_scratch(root, 0, NONE, 0, 0);   // passed
    expect_scratch(root, 1, NONE, 1, 1);   // negative control: a failed check keeps its folder
    expect_scratch(root, 1, WHOLE, 1, 1);
    expect(77, WHOLE, "torch", 0, NULL);
    expect(77, WHOLE, "torch", 0, "");
    expect(1, WHOLE, "torch", 0, "torch");
    expect(1, WHOLE, "torch", 0, "data,torch");
    expect(1, WHOLE, "data", 0, "torch, data");
    expect(1, WHOLE, "oclgrind", 0, "all");
    expect(77, WHOLE, "torch", 0, "torch-fidelity");
    expect(77, WHOLE, "pytorch-fid", 0, "torch,data");
    expect(1, WHOLE, "torch", 1, NULL); // the skip must not hide a failed host check
    expect(77, PART, "data", 0, NULL);
    expect(77, PART_THEN_CHECK, "data", 0, "torch");
    expect(1, PART, "data", 0, "opencl,data");
    expect(1, PART_THEN_CHECK, "pytorch-fid", 1, NULL);
    expect(0, NONE, "torch", 0, "all");
    expect(1, NONE, "torch", 1, NULL);
    return test_finish("harness");
}
