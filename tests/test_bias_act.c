// test_bias_act.c — the convolutions' epilogue cg_bias_act (cl/bias.cl bias_act: y = relu(y + bias[c])
// in place, or either part alone) against a plain C reference, bit for bit, on planes whose
// 64-element segments end in every way (full 8-lane chunks, partial ones, planes shorter than a
// chunk: 1x1, 3x3, 7x7, 8x8, 17x17, 35x35), through a channel view with a sample stride (the
// channels around it must stay untouched), with negative values, signed zeros, NaN and infinities.
// Control: a reference whose ReLU keeps -0 (v < 0 ? 0 : v) must differ from the kernel somewhere
// (the comparison sees the sign of zero).
// oclgrind: run
#include "nets.h"
#include "nets_internal.h"
#include "test_util.h"

#include <math.h>
#include <string.h>

static cg_runtime *rt;
static int control_differs;

static float value_at(size_t i, float r) {
    switch (i % 23) {
    case 3: return -0.0f;
    case 5: return 0.0f;
    case 7: return NAN;
    case 11: return INFINITY;
    case 13: return -INFINITY;
    case 17: return -r; // cancels a bias of r exactly: +0 or -0 after the sum
    default: return r * 4.0f - 2.0f;
    }
}

// y: channels [1, 1 + C) of an [N, C + 2, S, S] buffer; has_bias and relu as given.
static void run_case(int N, int C, int S, int has_bias, int relu) {
    int Ct = C + 2;
    size_t P = (size_t)S * S, total = (size_t)N * Ct * P;
    float *host = malloc(total * sizeof *host), *out = malloc(total * sizeof *out), *bias = malloc(C * sizeof *bias);
    cg_rng r = {(uint64_t)(N * 1000 + C * 10 + S), 3};
    cg_rng_uniform_host(r, 0, host, total);
    cg_rng_uniform_host(r, total, bias, (size_t)C);
    for (size_t i = 0; i < total; i++) host[i] = value_at(i, host[i]);
    for (int c = 0; c < C; c++) bias[c] = bias[c] - 0.5f;
    // Some elements equal -bias exactly, so their sum is a zero.
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) host[((size_t)n * Ct + 1 + c) * P] = -bias[c];
    cl_mem yb = NULL, bb = NULL;
    CHECK_OK(cg_buffer_alloc(rt, total, &yb));
    CHECK_OK(cg_buffer_alloc(rt, (size_t)C, &bb));
    if (!yb || !bb) goto done;
    CHECK_OK(cg_tensor_write(rt, cg_view(yb, 0, 1, 1, 1, (int)total), host));
    CHECK_OK(cg_tensor_write(rt, cg_view(bb, 0, 1, 1, 1, C), bias));
    cg_ctx ctx = {0};
    ctx.rt = rt;
    cg_tensor y = cg_channels(cg_view(yb, 0, N, Ct, S, S), 1, C), bt = cg_view(bb, 0, C, 1, 1, 1);
    CHECK_OK(cg_bias_act(&ctx, y, has_bias ? &bt : NULL, relu));
    CHECK_OK(cg_tensor_read(rt, cg_view(yb, 0, 1, 1, 1, (int)total), out));
    size_t bad = 0, first = 0;
    float first_want = 0.0f;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < Ct; c++)
            for (size_t p = 0; p < P; p++) {
                size_t i = ((size_t)n * Ct + c) * P + p;
                float want = host[i], ctl = host[i];
                if (c >= 1 && c <= C) {
                    float v = has_bias ? host[i] + bias[c - 1] : host[i];
                    want = relu ? (v > 0.0f ? v : 0.0f) : v;
                    ctl = relu ? (v < 0.0f ? 0.0f : v) : v;
                }
                if (memcmp(&want, &out[i], sizeof want) && !(isnan(want) && isnan(out[i])))
                    if (bad++ == 0) first = i, first_want = want;
                control_differs += memcmp(&ctl, &out[i], sizeof ctl) != 0 && !(isnan(ctl) && isnan(out[i]));
            }
    CHECK(bad == 0, "bias_act [%d, %d, %d, %d] (bias %d, relu %d): %zu elements differ, first at %zu (%g, want %g)",
          N, C, S, S, has_bias, relu, bad, first, (double)out[first], (double)first_want);
done:
    if (yb) cg_buffer_release(yb);
    if (bb) cg_buffer_release(bb);
    free(host), free(out), free(bias);
}

int main(void) {
    rt = test_runtime();
    int quick = getenv("CLGAN_TEST_QUICK") != NULL;
    static const int sizes[] = {1, 3, 7, 8, 17, 35};
    int n_sizes = quick ? 4 : 6;
    for (int s = 0; s < n_sizes; s++)
        for (int mode = 1; mode < 4; mode++) run_case(2, 3, sizes[s], mode & 1, (mode >> 1) & 1);
    CHECK(control_differs > 0, "a ReLU keeping -0 never differs from the kernel (the check is blind to signed zeros)");
    cg_runtime_free(rt);
    return test_finish("test_bias_act");
}
