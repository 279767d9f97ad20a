// cli_test_util.h — driving the built clgan executable ($CLGAN_CLI) from a test: argv arrays
// through fork/execv (no shell), stderr captured to a file, exit statuses, a hang guard that only
// keeps a hung child from hanging the suite, and small file helpers.
#ifndef CLGAN_CLI_TEST_UTIL_H
#define CLGAN_CLI_TEST_UTIL_H

#include "nets.h"
#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLI_HANG_S 600.0 // a child still running after this long is hung: killed and failed
#define CLI_MAX_ARGS 64

static const char *cli_exe;

// Child-side limit on the address space (0: none), e.g. to provoke an allocation failure.
static long cli_child_mem_limit = 0;
// Child-side limit on the size of a file it writes (0: none), a full disk without privileges: with
// SIGXFSZ ignored, a write past it fails with EFBIG.
static long cli_child_fsize_limit = 0;

// Starts clgan with args (argv without argv[0]); stdout to /dev/null, stderr into errfile.
static inline pid_t cli_spawn(const char *errfile, const char *const *args) {
    const char *argv[CLI_MAX_ARGS + 2] = {"clgan"};
    int n = 1;
    for (; args[n - 1] && n <= CLI_MAX_ARGS; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int out = open("/dev/null", O_WRONLY), err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out >= 0) dup2(out, 1);
        if (err >= 0) dup2(err, 2);
        if (cli_child_mem_limit > 0) {
            struct rlimit rl = {(rlim_t)cli_child_mem_limit, (rlim_t)cli_child_mem_limit};
            setrlimit(RLIMIT_AS, &rl);
        }
        if (cli_child_fsize_limit > 0) {
            struct rlimit rl = {(rlim_t)cli_child_fsize_limit, (rlim_t)cli_child_fsize_limit};
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(cli_exe, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

// Exit status of pid: 0..255, 128 + signal when killed by one, -1 when it hung (then killed).
static inline int cli_wait(pid_t pid) {
    int status = 0;
    double t0 = cg_now_s();
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && cg_now_s() - t0 < CLI_HANG_S) usleep(20000);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

// Runs clgan ARGS... (NULL-terminated) to completion; its exit status as cli_wait.
static inline int cli_run(const char *errfile, ...) {
    const char *args[CLI_MAX_ARGS + 1];
    int n = 0;
    va_list ap;
    va_start(ap, errfile);
    for (const char *a; n < CLI_MAX_ARGS && (a = va_arg(ap, const char *));) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return cli_wait(cli_spawn(errfile, args));
}

static inline char *cli_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (d) d[n] = 0;
    fclose(f);
    if (len) *len = d ? (size_t)n : 0;
    return d;
}

static inline int cli_spit(const char *path, const void *d, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(d, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static inline int cli_contains(const char *path, const char *needle) {
    char *d = cli_slurp(path, NULL);
    int r = d && strstr(d, needle);
    free(d);
    return r;
}

static inline int cli_same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = cli_slurp(a, &na), *y = cli_slurp(b, &nb);
    int r = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return r;
}

static inline int cli_copy(const char *from, const char *to) {
    size_t n;
    char *d = cli_slurp(from, &n);
    int ok = d && cli_spit(to, d, n);
    free(d);
    return ok;
}

static inline int cli_exists(const char *path) { return access(path, F_OK) == 0; }

// Data rows of DIR/log.csv; *last: the last row's step (-1 without rows); *ordered: steps 1, 2, ...
static inline int cli_log_rows(const char *dir, long *last, int *ordered) {
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    *last = -1;
    if (ordered) *ordered = 1;
    while (f && fgets(line, sizeof line, f)) {
        long s;
        if (sscanf(line, "%ld,", &s) != 1) continue;
        n++;
        if (ordered && s != n) *ordered = 0;
        *last = s;
    }
    if (f) fclose(f);
    return n;
}

// Files named "*.tmp.XXXXXX" (atomic writes' temporaries) in dir.
static inline int cli_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

// The trainer's step stored in a checkpoint, -1 when it cannot be read.
static inline long cli_ckpt_step(const char *path) {
    cg_st_file *f = NULL;
    if (cg_safetensors_open(path, &f) != CG_OK) return -1;
    const char *v = cg_safetensors_meta(f, "step");
    long s = v ? atol(v) : -1;
    cg_safetensors_close(f);
    return s;
}

// Whether two safetensors files hold the same tensors (names, shapes and bytes); a reason when not.
static inline int cli_same_tensors(const char *a, const char *b, char *why, size_t n) {
    cg_st_file *fa = NULL, *fb = NULL;
    int ok = cg_safetensors_open(a, &fa) == CG_OK && cg_safetensors_open(b, &fb) == CG_OK;
    if (!ok) snprintf(why, n, "cannot open: %s", cg_last_error());
    if (ok && cg_safetensors_count(fa) != cg_safetensors_count(fb)) {
        snprintf(why, n, "%d tensors against %d", cg_safetensors_count(fa), cg_safetensors_count(fb));
        ok = 0;
    }
    for (int i = 0; ok && i < cg_safetensors_count(fa); i++) {
        const char *name = cg_safetensors_name(fa, i);
        const int *sa, *sb;
        int na, nb;
        const float *da, *db;
        ok = cg_safetensors_get(fa, name, &sa, &na, &da) == CG_OK && cg_safetensors_get(fb, name, &sb, &nb, &db) == CG_OK &&
             na == nb;
        size_t numel = 1;
        for (int d = 0; ok && d < na; d++) ok = sa[d] == sb[d], numel *= (size_t)sa[d];
        if (ok) ok = !memcmp(da, db, numel * sizeof(float));
        if (!ok) snprintf(why, n, "tensor %s differs", name);
    }
    cg_safetensors_close(fa);
    cg_safetensors_close(fb);
    return ok;
}

// Finds $CLGAN_CLI and checks that an OpenCL device exists (exit 77 otherwise).
static inline void cli_setup(const char *dir) {
    cli_exe = getenv("CLGAN_CLI");
    if (!cli_exe || !*cli_exe) {
        fprintf(stderr, "CLGAN_CLI is not set (run through ctest)\n");
        exit(1);
    }
    if (test_rm_rf(dir) != 0 || mkdir(dir, 0755) != 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        exit(1);
    }
    cg_device_info *devs = NULL;
    int count = 0;
    if (cg_devices_list(&devs, &count) != CG_OK || count == 0)
        test_skip("opencl", "no OpenCL device available (%s)", cg_last_error());
    free(devs);
}

// A 32x32 dataset of n synthetic faces at DIR/faces.cgds (through clgan synth + preprocess) and
// DIR/base.ini: DCGAN, ngf = ndf = 8, batch 8, `iterations` steps, a checkpoint every 2, log every 1.
static inline int cli_make_run_setup(const char *dir, const char *n, int iterations) {
    char synth[512], faces[512], ini[512], err[512];
    snprintf(synth, sizeof synth, "%s/synth", dir);
    snprintf(faces, sizeof faces, "%s/faces.cgds", dir);
    snprintf(ini, sizeof ini, "%s/base.ini", dir);
    snprintf(err, sizeof err, "%s/setup.err", dir);
    int rc = cli_run(err, "synth", "--n", n, "--seed", "3", "--out", synth, NULL);
    CHECK(rc == 0, "clgan synth -> %d", rc);
    if (rc == 0)
        rc = cli_run(err, "preprocess", "--input", synth, "--out", faces, "--set", "preprocess.size=32", "--set",
                     "preprocess.frontal=false", "--set", "preprocess.sunglasses=false", "--set",
                     "preprocess.reject_sheets=false", NULL);
    CHECK(rc == 0, "clgan preprocess -> %d", rc);
    FILE *f = fopen(ini, "w");
    if (!f) return 0;
    fprintf(f, "[model]\ntype = dcgan\nimage_size = 32\nchannels = 3\nnz = 16\nngf = 8\nndf = 8\n\n"
               "[train]\ndataset = %s\nout = %s/run\niterations = %d\nepochs = 0\nbatch_size = 8\nseed = 3\n"
               "log_every = 1\nsample_every = 0\ncheckpoint_every = 2\nsamples = 4\n",
            faces, dir, iterations);
    return fclose(f) == 0 && rc == 0;
}

#endif
