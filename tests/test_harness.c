// test_harness.c — the honest-skip rules of test_util.h, each case in a child process: a missing
// dependency exits 77, or 1 when $CLGAN_REQUIRE names it (or says "all"); a skipped part makes an
// otherwise passing test exit 77; a failed check is never hidden by a skip. Needs no device.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "test_util.h"

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

int main(void) {
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
