// test_limits.c — launches and allocations within what the device reports (issue 13): under the
// `small` profile (work-group 64, kernels allowing 48, 16 KiB local memory) bias_grad's one group
// per channel, bn.cl's group_sum over a group that is not a power of two and the loss reduction
// match host sums; 1-D launches split at a lowered CG_LAUNCH_SPLIT and own-GEMM grids split at a
// lowered CG_GRID_SPLIT give the same results; with a 64 KiB largest allocation the own GEMM's
// panels fit by shorter k blocks and smaller batches, and the GEMM temporary buffer never grows past it.
// oclgrind: run
#include "limits_test_util.h"
#include "nets_internal.h"
#include "runtime_internal.h"

#include <math.h>
#include <string.h>

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 9) % 2001) / 1000.0f - 1.0f;
}

// db[c] = sum of dy over n and p, for dy [N, C, H, W], against the host.
static void test_bias_grad(cg_runtime *rt) {
    cg_ctx ctx = {.rt = rt};
    const int N = 3, C = 5, H = 7, W = 9;
    size_t n = (size_t)N * C * H * W;
    float *dy = malloc(n * sizeof *dy), got[5], want[5] = {0};
    unsigned s = 1;
    for (size_t i = 0; i < n; i++) dy[i] = frand(&s);
    for (size_t i = 0; i < n; i++) want[(i / (H * W)) % C] += dy[i];
    cl_mem buf, db;
    CHECK_OK(cg_buffer_alloc(rt, n, &buf));
    CHECK_OK(cg_buffer_alloc(rt, C, &db));
    CHECK_OK(cg_tensor_write(rt, cg_view(buf, 0, N, C, H, W), dy));
    CHECK_OK(cg_tensor_fill(rt, cg_view(db, 0, 1, 1, 1, C), 0.0f));
    CHECK_OK(cg_bias_grad(&ctx, cg_view(buf, 0, N, C, H, W), cg_view(db, 0, 1, 1, 1, C)));
    CHECK_OK(cg_tensor_read(rt, cg_view(db, 0, 1, 1, 1, C), got));
    for (int c = 0; c < C; c++)
        CHECK(fabsf(got[c] - want[c]) < 1e-4f, "bias_grad channel %d: %g, host %g", c, got[c], want[c]);
    cg_buffer_release(buf);
    cg_buffer_release(db);
    free(dy);
}

// bn.cl's group_sum, called by a test kernel in groups of the size cg_launch1d uses (48 here).
static void test_group_sum(cg_runtime *rt) {
    char *src = NULL;
    CHECK_OK(cg_family_source(NULL, "bn", &src));
    if (!src) return;
    const char *extra = "\n__kernel void group_sum_test(__global float *out, __local float *scratch) {\n"
                        "    float t = group_sum(scratch, (float)(get_local_id(0) + 1));\n"
                        "    if (get_local_id(0) == 0) out[get_group_id(0)] = t;\n}\n";
    char *full = malloc(strlen(src) + strlen(extra) + 1);
    strcpy(full, src);
    strcat(full, extra);
    cl_program prog = NULL;
    CHECK_OK(cg_program_from_source(rt, "group_sum_test", full, NULL, &prog));
    free(full);
    free(src);
    if (!prog) return;
    cl_int err;
    cl_kernel k = clCreateKernel(prog, "group_sum_test", &err);
    CHECK(err == CL_SUCCESS, "clCreateKernel: %d", err);
    size_t L = cg_kernel_local_size(rt, k);
    CHECK(L == 48, "the small profile's kernels allow 48 work-items, got %zu", L);
    cl_mem out;
    CHECK_OK(cg_buffer_alloc(rt, 3, &out));
    CHECK_OK(cg_launch_per_group(rt, k, 3, CG_ARG(out), CG_LOCAL(L * sizeof(float))));
    float got[3];
    CHECK_OK(cg_tensor_read(rt, cg_view(out, 0, 1, 1, 1, 3), got));
    for (int g = 0; g < 3; g++)
        CHECK(got[g] == (float)(L * (L + 1) / 2), "group_sum over %zu items: %g, expected %zu", L, got[g],
              L * (L + 1) / 2);
    cg_buffer_release(out);
    clReleaseKernel(k);
}

// The Wasserstein loss, one work-group (cg_launch_groups), against the host mean.
static void test_loss(cg_runtime *rt) {
    cg_ctx ctx = {.rt = rt};
    const int n = 333;
    float x[333], g[333], loss = 0;
    unsigned s = 5;
    double want = 0;
    for (int i = 0; i < n; i++) x[i] = frand(&s), want += x[i];
    cl_mem xb, gb, lb;
    CHECK_OK(cg_buffer_alloc(rt, n, &xb));
    CHECK_OK(cg_buffer_alloc(rt, n, &gb));
    CHECK_OK(cg_buffer_alloc(rt, 1, &lb));
    CHECK_OK(cg_tensor_write(rt, cg_view(xb, 0, n, 1, 1, 1), x));
    CHECK_OK(cg_wasserstein(&ctx, cg_view(xb, 0, n, 1, 1, 1), -1.0f, cg_view(lb, 0, 1, 1, 1, 1),
                            cg_view(gb, 0, n, 1, 1, 1)));
    CHECK_OK(cg_tensor_read(rt, cg_view(lb, 0, 1, 1, 1, 1), &loss));
    CHECK_OK(cg_tensor_read(rt, cg_view(gb, 0, n, 1, 1, 1), g));
    CHECK(fabs(loss + want / n) < 1e-5, "wasserstein loss %g, host %g", loss, -want / n);
    CHECK(g[0] == -1.0f / n && g[n - 1] == -1.0f / n, "wasserstein gradient %g %g", g[0], g[n - 1]);
    cg_buffer_release(xb);
    cg_buffer_release(gb);
    cg_buffer_release(lb);
}

// A fill and a bias add of 10,007 elements as enqueues of at most 100 work-items.
static void test_launch_split(cg_runtime *rt) {
    cg_ctx ctx = {.rt = rt};
    cg_runtime_set_launch_split(rt, 100, 0);
    const int C = 7, P = 1429; // 10,003 elements after an offset of 4
    size_t n = (size_t)C * P;
    cl_mem buf, bias;
    CHECK_OK(cg_buffer_alloc(rt, n + 8, &buf));
    CHECK_OK(cg_buffer_alloc(rt, C, &bias));
    float b[7] = {1, 2, 3, 4, 5, 6, 7}, *host = malloc((n + 8) * sizeof *host);
    CHECK_OK(cg_tensor_write(rt, cg_view(bias, 0, 1, 1, 1, C), b));
    CHECK_OK(cg_tensor_fill(rt, cg_view(buf, 0, 1, 1, 1, (int)n + 8), -1.0f));
    CHECK_OK(cg_tensor_fill(rt, cg_view(buf, 4, 1, 1, 1, (int)n), 0.5f));
    CHECK_OK(cg_bias_add(&ctx, cg_view(buf, 4, 1, C, 1, P), cg_view(bias, 0, 1, 1, 1, C)));
    CHECK_OK(cg_tensor_read(rt, cg_view(buf, 0, 1, 1, 1, (int)n + 8), host));
    int bad = 0;
    for (size_t i = 0; i < n + 8; i++) {
        float want = i < 4 || i >= n + 4 ? -1.0f : 0.5f + b[(i - 4) / P];
        bad += host[i] != want;
    }
    CHECK(bad == 0, "split fill + bias_add: %d of %zu elements wrong", bad, n + 8);
    cg_runtime_set_launch_split(rt, 0, 0);
    cg_buffer_release(buf);
    cg_buffer_release(bias);
    free(host);
}

// Batched own GEMM (op(A) [m, k] x op(B) [k, n]) against the host reference.
static void check_gemm(cg_runtime *rt, const char *what, int ta, int tb, size_t m, size_t n, size_t k,
                       size_t batch) {
    size_t as = m * k, bs = k * n, cs = m * n;
    float *a = malloc(as * batch * sizeof *a), *b = malloc(bs * batch * sizeof *b);
    float *c = malloc(cs * batch * sizeof *c), *want = malloc(cs * batch * sizeof *want);
    unsigned s = 11;
    for (size_t i = 0; i < as * batch; i++) a[i] = frand(&s);
    for (size_t i = 0; i < bs * batch; i++) b[i] = frand(&s);
    for (size_t i = 0; i < cs * batch; i++) c[i] = want[i] = frand(&s);
    cl_mem ab, bb, cb;
    CHECK_OK(cg_buffer_alloc(rt, as * batch, &ab));
    CHECK_OK(cg_buffer_alloc(rt, bs * batch, &bb));
    CHECK_OK(cg_buffer_alloc(rt, cs * batch, &cb));
    CHECK_OK(cg_tensor_write(rt, cg_view(ab, 0, 1, 1, 1, (int)(as * batch)), a));
    CHECK_OK(cg_tensor_write(rt, cg_view(bb, 0, 1, 1, 1, (int)(bs * batch)), b));
    CHECK_OK(cg_tensor_write(rt, cg_view(cb, 0, 1, 1, 1, (int)(cs * batch)), c));
    cg_gemm_args g = {.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .alpha = 1.5f, .beta = 0.5f, .a = ab,
                      .lda = ta ? m : k, .b = bb, .ldb = tb ? k : n, .c = cb, .ldc = n};
    cg_gemm_force(rt, CG_GEMM_OWN);
    CHECK_OK(cg_gemm_batched(rt, &g, as, bs, cs, batch));
    cg_gemm_force(rt, CG_GEMM_AUTO);
    CHECK_OK(cg_tensor_read(rt, cg_view(cb, 0, 1, 1, 1, (int)(cs * batch)), c));
    for (size_t i = 0; i < batch; i++)
        cg_gemm_ref(ta, tb, m, n, k, 1.5f, a + i * as, ta ? m : k, b + i * bs, tb ? k : n, 0.5f, want + i * cs, n);
    double worst = 0;
    for (size_t i = 0; i < cs * batch; i++) worst = fmax(worst, fabs((double)c[i] - want[i]));
    CHECK(worst < 1e-3, "%s: own gemm %zux%zux%zu batch %zu differs by %g", what, m, n, k, batch, worst);
    cg_buffer_release(ab);
    cg_buffer_release(bb);
    cg_buffer_release(cb);
    free(a), free(b), free(c), free(want);
}

static void test_small_profile(void) {
    cg_runtime *rt = limits_runtime("small", 0, 0);
    CHECK(cg_runtime_device(rt)->max_work_group <= 64 && cg_runtime_device(rt)->local_mem <= 16384,
          "small profile limits");
    test_bias_grad(rt);
    test_group_sum(rt);
    test_loss(rt);
    // Oclgrind's uninitialised-value tracking loses writes made by enqueues with a global offset (it
    // reports the split bias_add reading the split fill's output while the values come out right),
    // so the split runs in the plain pass only (CLGAN_TEST_QUICK marks the Oclgrind pass).
    if (!getenv("CLGAN_TEST_QUICK")) test_launch_split(rt);
    // At most 3 work-groups per enqueue in dimensions 1 and 2: rows of panels and batches split.
    cg_runtime_set_launch_split(rt, 0, 3);
    check_gemm(rt, "grid split", 0, 1, 61, 150, 23, 5);
    cg_runtime_set_launch_split(rt, 0, 0);
    cg_runtime_free(rt);
}

// A 64 KiB largest allocation (16 Ki floats).
static void test_small_alloc(void) {
    const uint64_t max = 64 << 10;
    cg_runtime *rt = limits_runtime(NULL, max, 0);
    // 48 x 48 products, 576 floats of panels per k for a batch of 6: 28 k at most, so the batch
    // halves twice (85 k); one 96 x 96 product: 192 floats per k, k = 150 runs in blocks of 85.
    check_gemm(rt, "small allocation, batch", 1, 0, 48, 48, 56, 6);
    check_gemm(rt, "small allocation, k blocks", 0, 1, 96, 96, 150, 1);
    CHECK(cg_gemm_temp_bytes(rt) <= max, "GEMM temporary buffer %zu bytes > largest allocation %llu",
          cg_gemm_temp_bytes(rt), (unsigned long long)max);
    // Growth stops at the largest allocation, a larger need is refused.
    CHECK_OK(cg_gemm_temp_reserve(rt, max - 1000));
    CHECK(cg_gemm_temp_bytes(rt) == max, "GEMM temporary buffer grew to %zu, largest allocation %llu",
          cg_gemm_temp_bytes(rt), (unsigned long long)max);
    CHECK_FAILS(cg_gemm_temp_reserve(rt, max + 4), CL_INVALID_BUFFER_SIZE, "largest allocation");
    cg_runtime_free(rt);
}

int main(void) {
    test_small_profile();
    test_small_alloc();
    return test_finish("test_limits");
}
