// test_program.c — program builds, the in-memory and on-disk binary caches (served to a second
// process, corrupt and foreign entries rebuilt), and build logs that name the .cl file and line.
// oclgrind: run
// oclgrind: api-errors-expected
#include "test_util.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ADD_SRC =
    "__kernel void add_one(__global float *x, ulong n) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i >= n) return;\n"
    "    x[i] += 1.0f;\n"
    "}\n";

static cg_device_info pick_device(void) {
    cg_device_info *devs = NULL;
    int n = 0;
    if (cg_devices_list(&devs, &n) != CG_OK) test_skip("opencl", "%s", cg_last_error());
    cg_device_selector sel = {0};
    char storage[256];
    const char *env = getenv("CLGAN_DEVICE");
    if (env) cg_selector_parse(env, &sel, storage, sizeof storage);
    int picked = 0;
    if (cg_device_select(devs, n, &sel, &picked) != CG_OK) picked = 0;
    cg_device_info d = devs[picked];
    free(devs);
    return d;
}

static cg_runtime *open_rt(const char *cache_dir, const char *kernel_dir) {
    cg_device_info d = pick_device();
    cg_runtime_options opt = {.cache_dir = cache_dir, .kernel_dir = kernel_dir};
    cg_runtime *rt = NULL;
    if (cg_runtime_create(&d, &opt, &rt) != CG_OK) {
        fprintf(stderr, "runtime: %s\n", cg_last_error());
        exit(1);
    }
    return rt;
}

// Builds ADD_SRC, runs it on 5 floats and checks the result.
static void build_and_run(cg_runtime *rt) {
    cl_program prog = NULL;
    CHECK_OK(cg_program_from_source(rt, "add_one.cl", ADD_SRC, NULL, &prog));
    if (!prog) return;
    cl_int err;
    cl_kernel k = clCreateKernel(prog, "add_one", &err);
    CHECK(err == CL_SUCCESS, "clCreateKernel: %s", cg_status_name(err));
    cl_mem buf;
    CHECK_OK(cg_buffer_alloc(rt, 5, &buf));
    float host[5] = {0, 1, 2, 3, 4}, back[5];
    cg_tensor t = cg_view(buf, 0, 1, 1, 1, 5);
    cl_ulong n = 5;
    CHECK_OK(cg_tensor_write(rt, t, host));
    CHECK_OK(cg_launch1d(rt, k, 5, CG_ARG(buf), CG_ARG(n)));
    CHECK_OK(cg_tensor_read(rt, t, back));
    for (int i = 0; i < 5; i++) CHECK(back[i] == host[i] + 1, "add_one[%d] = %g", i, back[i]);
    clReleaseKernel(k);
    cg_buffer_release(buf);
}

static int count_entries(const char *dir, char *first, size_t len) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".clbin")) {
            if (n++ == 0 && first) snprintf(first, len, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

// The child process: builds the same program and reports whether the disk cache served it.
static int child_main(const char *cache_dir) {
    cg_runtime *rt = open_rt(cache_dir, NULL);
    build_and_run(rt);
    cg_program_stats s = cg_runtime_program_stats(rt);
    printf("child: built %d, disk hits %d\n", s.programs_built, s.disk_hits);
    cg_runtime_free(rt);
    return (s.disk_hits == 1 && s.programs_built == 0 && test_failures == 0) ? 0 : 3;
}

static void test_second_process_hits_cache(const char *self, const char *cache_dir) {
    cg_runtime *rt = open_rt(cache_dir, NULL);
    build_and_run(rt);
    build_and_run(rt);
    cg_program_stats s = cg_runtime_program_stats(rt);
    CHECK(s.programs_built == 1 && s.disk_writes == 1, "first process builds once and writes (built %d, writes %d)",
          s.programs_built, s.disk_writes);
    CHECK(s.memory_hits == 1, "second request served from memory (hits %d)", s.memory_hits);
    cg_runtime_free(rt);

    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--child", cache_dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "second process served from the disk cache (status %d)",
          WEXITSTATUS(status));
}

static void rewrite(const char *path, long offset, const char *bytes, size_t n, int truncate_after) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, offset, SEEK_SET);
    fwrite(bytes, 1, n, f);
    fclose(f);
    if (truncate_after) CHECK(truncate(path, offset + (long)n) == 0, "truncate");
}

static void expect_rebuild(const char *cache_dir, const char *what) {
    cg_runtime *rt = open_rt(cache_dir, NULL);
    build_and_run(rt);
    cg_program_stats s = cg_runtime_program_stats(rt);
    CHECK(s.disk_rejects == 1 && s.programs_built == 1 && s.disk_hits == 0 && s.disk_writes == 1,
          "%s entry rebuilt (rejects %d, built %d, hits %d)", what, s.disk_rejects, s.programs_built, s.disk_hits);
    cg_runtime_free(rt);
    rt = open_rt(cache_dir, NULL);
    build_and_run(rt);
    s = cg_runtime_program_stats(rt);
    CHECK(s.disk_hits == 1, "after the %s entry was rebuilt it is served again", what);
    cg_runtime_free(rt);
}

static void test_corrupt_entries(const char *cache_dir) {
    char path[1024];
    CHECK(count_entries(cache_dir, path, sizeof path) == 1, "one cache entry");
    rewrite(path, 100, "\xde\xad\xbe\xef", 4, 0); // flipped bytes: checksum fails
    expect_rebuild(cache_dir, "corrupted");
    rewrite(path, 40, "xx", 2, 1); // truncated
    expect_rebuild(cache_dir, "truncated");
    rewrite(path, 20, "clgan=9.9.9-foreign", 19, 0); // another build's key in the same slot
    expect_rebuild(cache_dir, "foreign");
    rewrite(path, 0, "NOTCLGAN", 8, 0);
    expect_rebuild(cache_dir, "bad-magic");
}

static void test_build_error_names_line(const char *cache_dir) {
    cg_runtime *rt = open_rt(cache_dir, NULL);
    const char *bad = "__kernel void broken(__global float *x) {\n"
                      "    x[0] = 1.0f;\n"
                      "    x[1] = undefined_thing + ;\n"
                      "}\n";
    cl_program prog = NULL;
    CHECK_FAILS(cg_program_from_source(rt, "broken.cl", bad, NULL, &prog), CG_ERR_BUILD, "broken.cl:3");
    CHECK(prog == NULL, "no program on failure");
    cg_runtime_free(rt);
}

static void write_text(const char *path, const char *text) {
    CHECK_OK(cg_write_file_atomic(path, text, strlen(text)));
}

// Kernel families read from a folder (the developer mode): common.cl + family.cl with #line markers.
static void test_family_from_disk(const char *dir, const char *cache_dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/common.cl", dir);
    write_text(path, "#define TWO 2.0f\n");
    snprintf(path, sizeof path, "%s/fam.cl", dir);
    write_text(path, "__kernel void twice(__global float *x, ulong n) {\n"
                     "    size_t i = get_global_id(0);\n"
                     "    if (i < n) x[i] *= TWO;\n"
                     "}\n");
    cg_runtime *rt = open_rt(cache_dir, dir);
    cl_kernel k = NULL, k2 = NULL;
    CHECK_OK(cg_kernel_get(rt, "fam", "twice", &k));
    CHECK_OK(cg_kernel_get(rt, "fam", "twice", &k2));
    CHECK(k && k == k2, "kernel looked up once and cached");
    CHECK_FAILS(cg_kernel_get(rt, "fam", "no_such_kernel", &k2), CL_INVALID_KERNEL_NAME, "no_such_kernel");
    CHECK_FAILS(cg_kernel_get(rt, "nofamily", "x", &k2), CG_ERR_NOT_FOUND, "nofamily.cl");
    cg_runtime_free(rt);

    snprintf(path, sizeof path, "%s/fam.cl", dir);
    write_text(path, "__kernel void twice(__global float *x, ulong n) {\n"
                     "    size_t i = get_global_id(0) oops;\n"
                     "}\n");
    rt = open_rt(cache_dir, dir);
    CHECK_FAILS(cg_kernel_get(rt, "fam", "twice", &k), CG_ERR_BUILD, "fam.cl:2");
    cg_runtime_free(rt);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--child")) return child_main(argv[2]);
    char dir[256];
    if (test_tmpdir(dir, sizeof dir, "test-program") != 0) return 1;
    char cache[1024], kernels[1024];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(kernels, sizeof kernels, "%s/kernels", dir);
    CHECK_OK(cg_mkdir_p(kernels));

    test_second_process_hits_cache("/proc/self/exe", cache);
    test_corrupt_entries(cache);
    test_build_error_names_line(cache);
    test_family_from_disk(kernels, cache);

    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_finish("program");
}
