// test_npz.c — .npy and .npz files: round trips in C; files written by numpy (np.savez,
// np.savez_compressed, Fortran order, big-endian, versions 2.0/3.0, zip64) read bit for bit; files
// written by clgan loaded by np.load with exact values (tests/reference/npz_reference.py); truncated
// and corrupt files refused with a message naming the file and the problem. No OpenCL device needed.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "metrics.h"
#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static const char *in_dir(const char *name) {
    static char paths[8][400];
    static int next = 0;
    char *p = paths[next++ % 8];
    snprintf(p, 400, "%s/%s", dir, name);
    return p;
}

static double *sample_values(size_t n, uint64_t seed) {
    float *f = malloc(n * sizeof(float));
    double *v = malloc(n * sizeof(double));
    cg_rng_normal_host((cg_rng){seed, 3}, 0, f, n, 0.0f, 1.0f);
    for (size_t i = 0; i < n; i++) v[i] = (double)f[i] / 3.0; // full-precision doubles
    if (n > 3) {
        v[0] = -0.0;
        v[1] = 4.9406564584124654e-324; // smallest subnormal
        v[2] = -1.7976931348623157e308;
    }
    free(f);
    return v;
}

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

static void test_roundtrip(void) {
    const int d = 7;
    cg_stats s = {.d = d, .mu = sample_values(d, 1), .sigma = sample_values((size_t)d * d, 2)};
    CHECK_OK(cg_stats_save(in_dir("rt.npz"), &s));
    cg_stats back;
    CHECK_OK(cg_stats_load(in_dir("rt.npz"), &back));
    CHECK(back.d == d && same_bits(back.mu, s.mu, d * sizeof(double)) &&
              same_bits(back.sigma, s.sigma, (size_t)d * d * sizeof(double)),
          "statistics round trip changed values");
    cg_stats_free(&back);

    float z[30];
    for (int i = 0; i < 30; i++) z[i] = (float)i * 0.37f - 3.0f;
    z[4] = -0.0f;
    int64_t shape[3] = {3, 2, 5}, got_shape[CG_NPY_MAX_DIMS];
    CHECK_OK(cg_npy_write_f32(in_dir("z.npy"), z, 3, shape));
    float *zr = NULL;
    int nd = 0;
    CHECK_OK(cg_npy_read_f32(in_dir("z.npy"), &zr, &nd, got_shape));
    CHECK(nd == 3 && got_shape[0] == 3 && got_shape[1] == 2 && got_shape[2] == 5 && zr && same_bits(zr, z, sizeof z),
          "float32 .npy round trip: ndim %d", nd);
    free(zr);

    double scalar = 2.5;
    cg_array arrays[2] = {{.ndim = 0, .count = 1, .data = &scalar},
                          {.ndim = 1, .shape = {0}, .count = 0, .data = NULL}};
    const char *keys[2] = {"scalar", "empty"};
    CHECK_OK(cg_npz_write(in_dir("misc.npz"), 2, keys, arrays));
    cg_array a;
    CHECK_OK(cg_npz_read(in_dir("misc.npz"), "scalar", &a));
    CHECK(a.ndim == 0 && a.count == 1 && a.data && a.data[0] == 2.5, "0-d array: ndim %d", a.ndim);
    cg_array_free(&a);
    CHECK_OK(cg_npz_read(in_dir("misc.npz"), "empty", &a));
    CHECK(a.ndim == 1 && a.shape[0] == 0 && a.count == 0, "empty array: ndim %d", a.ndim);
    cg_array_free(&a);
    free(s.mu);
    free(s.sigma);
}

// Writes `len` bytes of src to name, with byte `at` xor-ed with `flip` (at < 0: unchanged).
static const char *variant(const char *name, const char *src, size_t len, long at, int flip) {
    const char *p = in_dir(name);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, src, len);
    if (at >= 0) copy[at] ^= (char)flip;
    CHECK_OK(cg_write_file_atomic(p, copy, len));
    free(copy);
    return p;
}

static long find(const char *data, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, needle, n) == 0) return (long)i;
    return -1;
}

static void test_refusals(void) {
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(in_dir("rt.npz"), &data, &len));
    if (!data) return;
    cg_stats s;
    cg_array a;
    const char *p = variant("cut.npz", data, len / 2, -1, 0);
    CHECK_FAILS(cg_stats_load(p, &s), CG_ERR_FORMAT, "cut.npz: not a valid .npz (zip) archive: no end-of-central");
    p = variant("short.npz", data, 10, -1, 0);
    CHECK_FAILS(cg_stats_load(p, &s), CG_ERR_FORMAT, "short.npz: not a valid .npz (zip) archive: file too short");
    long mu_data = find(data, len, "NUMPY");
    p = variant("flip.npz", data, len, mu_data + 100, 0x10);
    CHECK_FAILS(cg_stats_load(p, &s), CG_ERR_FORMAT, "flip.npz: entry mu.npy: CRC-32 mismatch");
    long central = find(data, len, "PK\x01\x02");
    p = variant("dir.npz", data, len, central, 0x01);
    CHECK_FAILS(cg_stats_load(p, &s), CG_ERR_FORMAT, "dir.npz: not a valid .npz (zip) archive: bad central");
    CHECK_FAILS(cg_npz_read(in_dir("rt.npz"), "nope", &a), CG_ERR_NOT_FOUND,
                "rt.npz: no entry 'nope.npy' (entries: mu.npy, sigma.npy)");
    CHECK_FAILS(cg_stats_load(in_dir("missing.npz"), &s), CG_ERR_NOT_FOUND, "missing.npz");
    free(data);

    double v[6] = {1, 2, 3, 4, 5, 6};
    cg_array arrays[2] = {{.ndim = 1, .shape = {3}, .count = 3, .data = v},
                          {.ndim = 2, .shape = {2, 3}, .count = 6, .data = v}};
    const char *keys[2] = {"mu", "sigma"};
    CHECK_OK(cg_npz_write(in_dir("shape.npz"), 2, keys, arrays));
    CHECK_FAILS(cg_stats_load(in_dir("shape.npz"), &s), CG_ERR_FORMAT,
                "shape.npz: mu must have shape (d,) and sigma (d, d), found (3,) and (2, 3)");

    int64_t shape[1] = {6};
    CHECK_OK(cg_npy_write_f64(in_dir("v.npy"), v, 1, shape));
    CHECK_OK(cg_read_file(in_dir("v.npy"), &data, &len));
    if (!data) return;
    p = variant("v_cut.npy", data, len - 3, -1, 0);
    CHECK_FAILS(cg_npy_read(p, &a), CG_ERR_FORMAT,
                "v_cut.npy: truncated: 45 bytes of data, the header's shape needs 48");
    p = variant("v_magic.npy", data, len, 1, 0x20);
    CHECK_FAILS(cg_npy_read(p, &a), CG_ERR_FORMAT, "v_magic.npy: not a .npy array");
    p = variant("v_int.npy", data, len, find(data, len, "<f8") + 1, 'f' ^ 'i');
    CHECK_FAILS(cg_npy_read(p, &a), CG_ERR_FORMAT, "v_int.npy: unsupported dtype '<i8'");
    p = variant("v_hdr.npy", data, len, find(data, len, "shape") - 1, '\'' ^ 'x');
    CHECK_FAILS(cg_npy_read(p, &a), CG_ERR_FORMAT, "v_hdr.npy: malformed .npy header");
    p = variant("v_head.npy", data, 40, -1, 0);
    CHECK_FAILS(cg_npy_read(p, &a), CG_ERR_FORMAT, "v_head.npy: truncated .npy header");
    free(data);
}

// ---------------------------------------------------------------------------------------------
// With numpy.

static int raw_matches(const cg_array *a, const char *raw_name, int f32) {
    char *raw = NULL;
    size_t len = 0;
    if (cg_read_file(in_dir(raw_name), &raw, &len) != CG_OK) return 0;
    size_t size = f32 ? 4 : 8;
    int ok = a->data && len == (size_t)a->count * size;
    for (int64_t i = 0; ok && i < a->count; i++) {
        if (f32) {
            float f;
            memcpy(&f, raw + i * 4, 4);
            double want = f;
            ok = same_bits(&want, &a->data[i], 8);
        } else {
            ok = same_bits(raw + i * 8, &a->data[i], 8);
        }
    }
    free(raw);
    return ok;
}

static void check_entry(const char *file, const char *key, const char *raw, int f32, int ndim, int64_t d0) {
    cg_array a;
    cg_status st = strstr(file, ".npz") ? cg_npz_read(in_dir(file), key, &a) : cg_npy_read(in_dir(file), &a);
    CHECK(st == CG_OK, "%s %s: %s", file, key, cg_last_error());
    if (st != CG_OK) return;
    CHECK(a.ndim == ndim && a.shape[0] == d0 && a.source_f64 == !f32, "%s %s: ndim %d shape[0] %lld", file, key,
          a.ndim, (long long)a.shape[0]);
    CHECK(raw_matches(&a, raw, f32), "%s %s: values differ from numpy's bytes", file, key);
    cg_array_free(&a);
}

static int run_reference(const char *python, const char *src, const char *mode) {
    char script[1200];
    snprintf(script, sizeof script, "%s/tests/reference/npz_reference.py", src);
    return test_run(NULL, NULL, NULL, python, script, mode, dir, (char *)NULL);
}

static void test_numpy(void) {
    const char *python = getenv("CLGAN_PYTHON"), *src = getenv("CLGAN_SOURCE_DIR");
    if (!python || !*python) python = "/usr/bin/python3";
    if (!src || !*src) {
        CHECK(0, "CLGAN_SOURCE_DIR is not set (run through ctest)");
        return;
    }
    if (access(python, X_OK) != 0) {
        test_skip_part("torch", "numpy parity: no Python interpreter at '%s' (CLGAN_PYTHON)", python);
        return;
    }
    int rc = run_reference(python, src, "write");
    if (rc == TEST_SKIP) {
        test_skip_part("torch", "numpy parity: numpy is missing (Debian's python3-numpy comes with torch)");
        return;
    }
    CHECK(rc == 0, "npz_reference.py write exited with %d", rc);
    if (rc != 0) return;
    const char *npz[3] = {"savez.npz", "savez_compressed.npz", "zip64.npz"};
    for (int i = 0; i < 3; i++) {
        check_entry(npz[i], "mu", "mu.bin", 0, 1, 5);
        check_entry(npz[i], "sigma", "sigma.bin", 0, 2, 5);
        if (i < 2) check_entry(npz[i], "z", "z.bin", 1, 2, 4);
        cg_stats s;
        CHECK_OK(cg_stats_load(in_dir(npz[i]), &s));
        CHECK(s.d == 5, "%s: d = %d", npz[i], s.d);
        cg_stats_free(&s);
    }
    check_entry("fortran.npy", NULL, "fortran.bin", 0, 2, 3);
    check_entry("big.npy", NULL, "big.bin", 0, 1, 6);
    check_entry("v2.npy", NULL, "v.bin", 1, 2, 2);
    check_entry("v3.npy", NULL, "v.bin", 1, 2, 2);

    // A corrupt deflate stream: flip a byte in the middle of the compressed sigma entry.
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(in_dir("savez_compressed.npz"), &data, &len));
    if (data) {
        long at = find(data, len, "sigma.npy");
        const char *p = variant("bad_deflate.npz", data, len, at + 9 + 20 + 10, 0x55);
        cg_stats s;
        CHECK_FAILS(cg_stats_load(p, &s), CG_ERR_FORMAT, "bad_deflate.npz: entry sigma.npy: ");
        printf("corrupt deflate entry refused: %s\n", cg_last_error());
        free(data);
    }

    // clgan writes; numpy loads.
    const int d = 9;
    cg_stats s = {.d = d, .mu = sample_values(d, 5), .sigma = sample_values((size_t)d * d, 6)};
    CHECK_OK(cg_stats_save(in_dir("clgan_stats.npz"), &s));
    CHECK_OK(cg_write_file_atomic(in_dir("clgan_mu.bin"), s.mu, d * sizeof(double)));
    CHECK_OK(cg_write_file_atomic(in_dir("clgan_sigma.bin"), s.sigma, (size_t)d * d * sizeof(double)));
    float z[30];
    double *zv = sample_values(30, 7);
    for (int i = 0; i < 30; i++) z[i] = (float)zv[i];
    z[1] = 1.4e-45f; // subnormal float
    int64_t shape[3] = {3, 2, 5};
    CHECK_OK(cg_npy_write_f32(in_dir("clgan_z.npy"), z, 3, shape));
    CHECK_OK(cg_write_file_atomic(in_dir("clgan_z.bin"), z, sizeof z));
    rc = run_reference(python, src, "check");
    CHECK(rc == 0, "numpy could not load clgan's files exactly (npz_reference.py check exited with %d)", rc);
    free(zv);
    free(s.mu);
    free(s.sigma);
}

int main(void) {
    if (test_tmpdir(dir, sizeof dir, "npz") != 0) return 1;
    test_roundtrip();
    test_refusals();
    test_numpy();
    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_finish("npz");
}
