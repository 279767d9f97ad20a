// test_rng.c — Philox4x32-10: Random123 known answers, the stream layout, statistics of the host
// streams, accuracy of the portable normal transform against double precision, device == host bit
// for bit (sizes, first index, tensor offset with untouched guard cells, seeds, streams), and
// independence of every element from how many are generated.
// oclgrind: run
#include "test_util.h"

// The transform's pieces (cg_rng_minus2ln, cg_rng_sqrt, cg_rng_cos2pi), for the exhaustive check.
#include "../cl/rng.cl"

#include <stdint.h>

static int quick(void) {
    const char *q = getenv("CLGAN_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static uint32_t bits_of(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

// (a) Random123 known-answer vectors for philox4x32_10 (kat_vectors in Random123's tests).
static void test_known_answers(void) {
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t v = 0; v < sizeof kat / sizeof kat[0]; v++) {
        uint32_t out[4];
        cg_philox4x32_10(kat[v].ctr, kat[v].key, out);
        for (int j = 0; j < 4; j++)
            CHECK(out[j] == kat[v].out[j], "vector %zu word %d: %08x, expected %08x", v, j, out[j], kat[v].out[j]);
    }
}

static double u01_of(uint32_t w) { return ((double)(w >> 9) * 2.0 + 1.0) * 0x1p-24; }

static void philox_block(cg_rng r, uint64_t block, uint32_t w[4]) {
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)r.stream, (uint32_t)(r.stream >> 32)};
    uint32_t key[2] = {(uint32_t)r.seed, (uint32_t)(r.seed >> 32)};
    cg_philox4x32_10(ctr, key, w);
}

// The documented layout, rebuilt from the bare Philox function: uniform i = word i%4 of block
// i/4; normal i = Box-Muller of words 2(i%2), 2(i%2)+1 of block (i/2) | 2^63. Normals are
// compared with double-precision Box-Muller on the same uniforms.
static void test_layout_and_accuracy(void) {
    const cg_rng streams[] = {{0, 0}, {42, 7}, {0xdeadbeefcafef00dULL, 0xffffffffffffffffULL}};
    const uint64_t starts[] = {0, 1ULL << 40, UINT64_MAX - 5000};
    double max_err = 0;
    int uniform_bad = 0, normal_bad = 0;
    for (size_t s = 0; s < 3; s++)
        for (size_t f = 0; f < 3; f++)
            for (uint64_t j = 0; j < 5000; j++) {
                cg_rng r = streams[s];
                uint64_t i = starts[f] + j;
                uint32_t w[4];
                philox_block(r, i >> 2, w);
                float u = cg_rng_uniform_at(r, i);
                if ((double)u != u01_of(w[i & 3])) uniform_bad++;
                philox_block(r, (i >> 1) | (1ULL << 63), w);
                unsigned h = (unsigned)(i & 1);
                double zd = sqrt(-2.0 * log(u01_of(w[2 * h]))) * cos(2.0 * M_PI * u01_of(w[2 * h + 1]));
                double err = fabs(cg_rng_normal_at(r, i) - zd);
                if (err > max_err) max_err = err;
                if (err > 1e-6) normal_bad++;
            }
    CHECK(uniform_bad == 0, "%d uniforms differ from the documented layout", uniform_bad);
    CHECK(normal_bad == 0, "%d normals are more than 1e-6 from double Box-Muller (max %.3g)", normal_bad, max_err);
    printf("layout: 45000 uniforms match; normals vs double Box-Muller: max abs error %.3g\n", max_err);
}

// (c) The transform over every possible input: all 2^23 values of u1 for r = sqrt(-2 ln u1) and
// all 2^23 values of u2 for cos(2 pi u2). With |z - zd| <= |r - rd| |c| + rd |c - cd| + ulp(z)/2
// this bounds the error of every one of the 2^46 normals.
static void test_transform_exhaustive(void) {
    double max_r = 0, max_c = 0, max_rd = 0, max_sqrt_ulp = 0;
    for (uint32_t k = 0; k < (1u << 23); k++) {
        uint32_t w = k << 9;
        float u = cg_rng_u01(w);
        float x = cg_rng_minus2ln(u);
        float r = cg_rng_sqrt(x);
        double rd = sqrt(-2.0 * log((double)u));
        double e = fabs(r - rd);
        if (e > max_r) max_r = e;
        if (rd > max_rd) max_rd = rd;
        double su = fabs(r - sqrt((double)x)) / ldexp(1.0, ilogb(r) - 23);
        if (su > max_sqrt_ulp) max_sqrt_ulp = su;
        double c = fabs(cg_rng_cos2pi(w) - cos(2.0 * M_PI * (double)u));
        if (c > max_c) max_c = c;
    }
    CHECK(cg_rng_u01(0) == 0x1p-24f && cg_rng_u01(0xffffffffu) == 1.0f - 0x1p-24f, "uniform range ends");
    double bound = max_r + max_rd * max_c + 0.5 * ldexp(1.0, -21); // |z| < 8: ulp 2^-21
    printf("transform, exhaustive: r = sqrt(-2 ln u1) max abs error %.3g (r <= %.4f), sqrt %.3f ulp, "
           "cos(2 pi u2) max abs error %.3g; bound on |z - z_double| for all inputs: %.3g\n",
           max_r, max_rd, max_sqrt_ulp, max_c, bound);
    CHECK(max_sqrt_ulp <= 0.51, "sqrt error %.3f ulp", max_sqrt_ulp);
    CHECK(max_r < 4e-7, "r error %.3g", max_r);
    CHECK(max_c < 8e-8, "cos error %.3g", max_c);
    CHECK(bound < 1e-6, "error bound %.3g", bound);
    CHECK(max_rd < 5.77, "largest radius %.4f", max_rd);

    // Quadrant edges and the fold at t = 1/2, where the branches meet.
    const uint32_t edges[] = {0, 1, 0x1fffff, 0x200000, 0x0fffff, 0x100000, 0x2fffff, 0x300000, 0x3fffff,
                              0x400000, 0x5fffff, 0x600000, 0x7fffff};
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
        uint32_t w = edges[e] << 9;
        double want = cos(2.0 * M_PI * u01_of(w));
        float got = cg_rng_cos2pi(w);
        CHECK(fabs(got - want) < 8e-8, "cos at k=%06x: %.9g vs %.9g", edges[e], got, want);
    }
}

// (b) Statistics of host streams.
static void test_host_statistics(void) {
    const size_t n = 1000000;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    CG_ASSERT(a && b);
    cg_rng r = {12345, 0};
    cg_rng_uniform_host(r, 0, a, n);
    double sum = 0, sum2 = 0, lag = 0;
    size_t out_of_range = 0, hist[100] = {0};
    for (size_t i = 0; i < n; i++) {
        double u = a[i];
        if (!(u > 0 && u < 1)) out_of_range++;
        sum += u;
        sum2 += u * u;
        if (i) lag += (u - 0.5) * (a[i - 1] - 0.5);
        size_t bin = (size_t)(u * 100);
        hist[bin < 100 ? bin : 99]++;
    }
    double mean = sum / n, var = sum2 / n - mean * mean, corr = lag / (n - 1) * 12.0, chi2 = 0;
    for (int k = 0; k < 100; k++) chi2 += (hist[k] - n / 100.0) * (hist[k] - n / 100.0) / (n / 100.0);
    CHECK(out_of_range == 0, "%zu uniforms outside (0, 1)", out_of_range);
    CHECK(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / n), "uniform mean %.6f", mean);
    CHECK(fabs(var - 1.0 / 12) < 5 * sqrt((1.0 / 80 - 1.0 / 144) / n), "uniform variance %.6f", var);
    CHECK(fabs(corr) < 5 / sqrt((double)n), "uniform lag-1 correlation %.5f", corr);
    CHECK(chi2 < 99 + 5 * sqrt(2 * 99.0), "uniform chi-square over 100 bins %.1f (99 degrees of freedom)", chi2);
    printf("uniform: mean %.6f variance %.6f lag-1 corr %+.5f chi2(99) %.1f\n", mean, var, corr, chi2);

    cg_rng_normal_host(r, 0, b, n, 0.0f, 1.0f);
    sum = sum2 = lag = 0;
    double sum3 = 0, sum4 = 0, cross = 0;
    size_t beyond3 = 0, nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        double z = b[i];
        if (!isfinite(z)) nonfinite++;
        sum += z;
        sum2 += z * z;
        sum3 += z * z * z;
        sum4 += z * z * z * z;
        if (fabs(z) > 3) beyond3++;
        if (i) lag += z * b[i - 1];
        cross += z * (a[i] - 0.5); // the uniform and normal draws of one stream are independent
    }
    mean = sum / n;
    var = sum2 / n - mean * mean;
    double skew = sum3 / n, kurt = sum4 / n, p3 = 0.0026997961, frac3 = (double)beyond3 / n;
    CHECK(nonfinite == 0, "%zu non-finite normals", nonfinite);
    CHECK(fabs(mean) < 5 / sqrt((double)n), "normal mean %.6f", mean);
    CHECK(fabs(var - 1) < 5 * sqrt(2.0 / n), "normal variance %.6f", var);
    CHECK(fabs(skew) < 5 * sqrt(15.0 / n), "normal third moment %.5f", skew);
    CHECK(fabs(kurt - 3) < 5 * sqrt(96.0 / n), "normal fourth moment %.5f", kurt);
    CHECK(fabs(frac3 - p3) < 5 * sqrt(p3 * (1 - p3) / n), "fraction beyond 3 sigma %.6f, expected %.6f", frac3, p3);
    CHECK(fabs(lag / (n - 1)) < 5 / sqrt((double)n), "normal lag-1 correlation %.5f", lag / (n - 1));
    CHECK(fabs(cross / n * sqrt(12.0)) < 5 / sqrt((double)n), "uniform/normal correlation %.5f",
          cross / n * sqrt(12.0));
    printf("normal: mean %+.6f variance %.6f m3 %+.5f m4 %.5f beyond 3 sigma %.6f (expected %.6f)\n", mean, var,
           skew, kurt, frac3, p3);

    // Other streams and seeds are uncorrelated with this one.
    const cg_rng others[] = {{12345, 1}, {12346, 0}, {12345, 1ULL << 32}};
    for (size_t o = 0; o < 3; o++) {
        cg_rng_normal_host(others[o], 0, a, n, 0.0f, 1.0f);
        double c = 0;
        size_t same = 0;
        for (size_t i = 0; i < n; i++) {
            c += (double)a[i] * b[i];
            same += a[i] == b[i];
        }
        CHECK(fabs(c / n) < 5 / sqrt((double)n), "stream %zu correlation %.5f", o, c / n);
        CHECK(same < 10, "stream %zu shares %zu values", o, same);
    }
    free(a);
    free(b);
}

// (e, host) Element values do not depend on how many are generated or where a run starts.
static void test_host_independence(void) {
    cg_rng r = {99, 3};
    float big[1000], small[10], mid[37];
    cg_rng_uniform_host(r, 0, big, 1000);
    cg_rng_uniform_host(r, 0, small, 10);
    CHECK(memcmp(big, small, sizeof small) == 0, "uniform prefix of 10 differs from 1000");
    cg_rng_uniform_host(r, 123, mid, 37);
    CHECK(memcmp(big + 123, mid, sizeof mid) == 0, "uniform run starting at 123 differs");
    for (int i = 0; i < 1000; i += 97)
        CHECK(bits_of(cg_rng_uniform_at(r, (uint64_t)i)) == bits_of(big[i]), "uniform_at(%d)", i);
    cg_rng_normal_host(r, 0, big, 1000, 0.0f, 1.0f);
    cg_rng_normal_host(r, 0, small, 10, 0.0f, 1.0f);
    CHECK(memcmp(big, small, sizeof small) == 0, "normal prefix of 10 differs from 1000");
    cg_rng_normal_host(r, 123, mid, 37, 0.0f, 1.0f);
    CHECK(memcmp(big + 123, mid, sizeof mid) == 0, "normal run starting at 123 differs");
    for (int i = 0; i < 1000; i += 97)
        CHECK(bits_of(cg_rng_normal_at(r, (uint64_t)i)) == bits_of(big[i]), "normal_at(%d)", i);
    // Scaling: mean + std * z, one multiply and one add.
    cg_rng_normal_host(r, 5, mid, 37, 0.5f, 0.02f);
    for (int i = 0; i < 37; i++) {
        float v = 0.02f * big[5 + i];
        CHECK(bits_of(mid[i]) == bits_of(0.5f + v), "scaled normal %d", i);
    }
}

// ---------------------------------------------------------------------------------------------
// Device == host.

#define GUARD 0x1.5555p+100f
static const float guard_value = GUARD;

static void host_uniform_scaled(cg_rng r, uint64_t first, float *out, size_t n, float lo, float hi) {
    cg_rng_uniform_host(r, first, out, n);
    float d = hi - lo;
    for (size_t j = 0; j < n; j++) {
        float v = d * out[j];
        out[j] = lo + v;
    }
}

// Generates n values at element offset `off` of a buffer of off + n + tail floats, all guard
// values before, and compares the whole buffer with the host's expectation.
static void device_case(cg_runtime *rt, int normal, cg_rng r, uint64_t first, size_t off, int shape[4], float a,
                        float b) {
    size_t n = (size_t)shape[0] * shape[1] * shape[2] * shape[3], tail = 13, total = off + n + tail;
    float *host = malloc(total * sizeof *host), *got = malloc(total * sizeof *got);
    CG_ASSERT(host && got);
    for (size_t j = 0; j < total; j++) host[j] = guard_value;
    cl_mem buf = NULL;
    CHECK_OK(cg_buffer_alloc(rt, total, &buf));
    if (!buf) goto done;
    cg_tensor all = cg_view(buf, 0, (int)total, 1, 1, 1);
    CHECK_OK(cg_tensor_write(rt, all, host));
    cg_tensor t = cg_view(buf, off, shape[0], shape[1], shape[2], shape[3]);
    if (normal) {
        CHECK_OK(cg_rng_normal(rt, r, first, t, a, b));
        cg_rng_normal_host(r, first, host + off, n, a, b);
    } else {
        CHECK_OK(cg_rng_uniform(rt, r, first, t, a, b));
        host_uniform_scaled(r, first, host + off, n, a, b);
    }
    CHECK_OK(cg_tensor_read(rt, all, got));
    size_t bad = 0, first_bad = 0, guards_bad = 0;
    for (size_t j = 0; j < total; j++) {
        int in = j >= off && j < off + n;
        if (bits_of(got[j]) != bits_of(host[j])) {
            if (!bad++) first_bad = j;
            if (!in) guards_bad++;
        }
    }
    CHECK(bad == 0,
          "%s seed %llx stream %llx first %llu off %zu n %zu: %zu of %zu cells differ (%zu guard cells), first at "
          "%zu: device %a host %a",
          normal ? "normal" : "uniform", (unsigned long long)r.seed, (unsigned long long)r.stream,
          (unsigned long long)first, off, n, bad, total, guards_bad, first_bad, got[first_bad], host[first_bad]);
    cg_buffer_release(buf);
done:
    free(host);
    free(got);
}

static void test_device_matches_host(cg_runtime *rt) {
    const size_t sizes_full[] = {1, 3, 1000, 100003}, sizes_quick[] = {1, 3, 1000, 4099};
    const size_t *sizes = quick() ? sizes_quick : sizes_full;
    const cg_rng streams[] = {{0, 0}, {2024, 1}, {0xdeadbeefcafef00dULL, (1ULL << 40) + 3}};
    const uint64_t firsts[] = {0, 1, 6, (1ULL << 32) - 3};
    const size_t offs[] = {0, 1, 7};
    const float params[][2] = {{0.0f, 1.0f}, {-1.0f, 1.0f}, {0.1f, 0.7f}};
    int cases = 0;
    for (int normal = 0; normal < 2; normal++)
        for (size_t s = 0; s < 4; s++)
            for (size_t k = 0; k < 3; k++) {
                // Vary first, offset and parameters across the size x stream grid.
                uint64_t first = firsts[(s + k + (size_t)normal) % 4];
                size_t off = offs[(s + 2 * k) % 3];
                const float *p = params[(k + s) % 3];
                int shape[4] = {(int)sizes[s], 1, 1, 1};
                device_case(rt, normal, streams[k], first, off, shape, p[0], p[1]); // lo/hi or mean/std
                cases++;
            }
    // A 4-D tensor, and the very end of the index range (block counters 2^62 - 1 and 2^63 - 1).
    int shape4[4] = {3, 7, 11, 13};
    device_case(rt, 0, streams[1], 5, 3, shape4, -2.0f, 3.0f);
    device_case(rt, 1, streams[1], 5, 3, shape4, 1.0f, 0.25f);
    int end[4] = {7, 1, 1, 1};
    device_case(rt, 0, streams[2], UINT64_MAX - 6, 2, end, 0.0f, 1.0f);
    device_case(rt, 1, streams[2], UINT64_MAX - 6, 2, end, 0.0f, 1.0f);
    cases += 4;
    printf("device == host bit for bit: %d cases, sizes up to %zu\n", cases, sizes[3]);

    // Empty tensors launch nothing; an index range past 2^64 is refused.
    CHECK_OK(cg_rng_uniform(rt, streams[0], 0, cg_view(NULL, 0, 0, 1, 1, 1), 0.0f, 1.0f));
    cl_mem buf = NULL;
    CHECK_OK(cg_buffer_alloc(rt, 4, &buf));
    CHECK_FAILS(cg_rng_normal(rt, streams[0], UINT64_MAX - 1, cg_view(buf, 0, 3, 1, 1, 1), 0.0f, 1.0f),
                CG_ERR_INVALID_ARG, "2^64");
    cg_buffer_release(buf);
}

// (e, device) Generating 10 or 1000 values gives the same first 10.
static void test_device_independence(cg_runtime *rt) {
    cl_mem buf = NULL;
    CHECK_OK(cg_buffer_alloc(rt, 1000, &buf));
    if (!buf) return;
    cg_rng r = {7, 77};
    float big[1000], small[10];
    for (int normal = 0; normal < 2; normal++) {
        cg_tensor t1000 = cg_view(buf, 0, 1000, 1, 1, 1), t10 = cg_view(buf, 0, 10, 1, 1, 1);
        CHECK_OK(normal ? cg_rng_normal(rt, r, 40, t1000, 0.0f, 1.0f) : cg_rng_uniform(rt, r, 40, t1000, 0.0f, 1.0f));
        CHECK_OK(cg_tensor_read(rt, t1000, big));
        CHECK_OK(normal ? cg_rng_normal(rt, r, 40, t10, 0.0f, 1.0f) : cg_rng_uniform(rt, r, 40, t10, 0.0f, 1.0f));
        CHECK_OK(cg_tensor_read(rt, t10, small));
        CHECK(memcmp(big, small, sizeof small) == 0, "%s: first 10 of 1000 differ from a run of 10",
              normal ? "normal" : "uniform");
        CHECK(bits_of(big[999]) == bits_of(normal ? cg_rng_normal_at(r, 1039) : cg_rng_uniform_at(r, 1039)),
              "%s: element 1039", normal ? "normal" : "uniform");
    }
    cg_buffer_release(buf);
}

int main(void) {
    test_known_answers();
    test_layout_and_accuracy();
    test_transform_exhaustive();
    test_host_statistics();
    test_host_independence();
    cg_runtime *rt = test_runtime();
    test_device_matches_host(rt);
    test_device_independence(rt);
    cg_runtime_free(rt);
    return test_finish("test_rng");
}
