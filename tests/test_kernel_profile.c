// test_kernel_profile.c — the kernel profile (runtime/kernel_profile.c): launches recorded under a
// profile land in their (layer, kernel) rows with their declared work, nested labels restore, the
// queue goes back to a plain one, results are bit-identical with and without the profile, and the
// markdown and JSON carry every row; a network pass through the chain runner labels its layers.
#include "kernel_profile.h"
#include "nets.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cg_kprofile_row *find(const cg_kernel_profile *p, const char *layer, const char *kernel) {
    for (int i = 0; i < p->n_rows; i++)
        if (!strcmp(p->rows[i].layer, layer) && !strcmp(p->rows[i].kernel, kernel)) return &p->rows[i];
    return NULL;
}

// C [m, n] = A [m, k] B [k, n] through the own kernels, read back into c.
static void product(cg_runtime *rt, cl_mem a, cl_mem b, cl_mem dc, size_t m, size_t n, size_t k, float *c) {
    cg_gemm_args g = {.m = m, .n = n, .k = k, .alpha = 1.0f, .beta = 0.0f, .a = a, .lda = k, .b = b, .ldb = n,
                      .c = dc, .ldc = n};
    CHECK_OK(cg_gemm(rt, &g));
    CHECK_OK(cg_tensor_read(rt, cg_view(dc, 0, 1, 1, (int)m, (int)n), c));
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_gemm_force(rt, CG_GEMM_OWN);
    // The rows below name gemm_6x16: pin that tile (CPUs with 16-float vectors default to gemm_6x32).
    cg_gemm_tuning t;
    cg_gemm_tuning_init(cg_runtime_device(rt), &t);
    t.own_tile = CG_GEMM_TILE_6X16;
    CHECK_OK(cg_gemm_tuning_set(rt, &t, "test"));
    const size_t m = 37, n = 70, k = 129;
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b), *c0 = malloc(m * n * sizeof *c0),
          *c1 = malloc(m * n * sizeof *c1);
    for (size_t i = 0; i < m * k; i++) a[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < k * n; i++) b[i] = (float)cos(0.11 * (double)i);
    cl_mem da, db, dc;
    CHECK_OK(cg_buffer_alloc(rt, m * k, &da));
    CHECK_OK(cg_buffer_alloc(rt, k * n, &db));
    CHECK_OK(cg_buffer_alloc(rt, m * n, &dc));
    CHECK_OK(cg_tensor_write(rt, cg_view(da, 0, 1, 1, (int)m, (int)k), a));
    CHECK_OK(cg_tensor_write(rt, cg_view(db, 0, 1, 1, (int)k, (int)n), b));

    cg_kernel_profile p;
    CHECK(!cg_profile_active(rt), "no profile before begin");
    CHECK_FAILS(cg_profile_end(rt, &p), CG_ERR_INVALID_ARG, "not recording");
    product(rt, da, db, dc, m, n, k, c0);

    CHECK_OK(cg_profile_begin(rt));
    CHECK(cg_profile_active(rt), "recording after begin");
    CHECK_FAILS(cg_profile_begin(rt), CG_ERR_INVALID_ARG, "already recording");
    cg_profile_push(rt, "outer");
    cg_profile_push(rt, "inner");
    product(rt, da, db, dc, m, n, k, c1);
    cg_profile_pop(rt);
    product(rt, da, db, dc, m, n, k, c1); // "outer" again
    cg_profile_pop(rt);
    product(rt, da, db, dc, m, n, k, c1); // no layer: "-"
    CHECK_OK(cg_profile_end(rt, &p));
    CHECK(!cg_profile_active(rt), "recording stopped after end");
    CHECK(!memcmp(c0, c1, m * n * sizeof *c0), "the product under a profile is bit-identical");

    const char *layers[] = {"inner", "outer", "-"};
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        const cg_kprofile_row *r = find(&p, layers[i], "gemm_6x16");
        CHECK(r != NULL, "a gemm_6x16 row for layer %s", layers[i]);
        if (!r) continue;
        CHECK(r->calls == 1, "layer %s: %ld micro-kernel calls, expected 1", layers[i], r->calls);
        CHECK(r->flops == 2.0 * m * n * k, "layer %s: %.0f flops declared, expected %.0f", layers[i], r->flops,
              2.0 * m * n * k);
        CHECK(r->ms > 0, "layer %s: device time %g ms", layers[i], r->ms);
        const cg_kprofile_row *pb = find(&p, layers[i], "gemm_pack_kmajor16");
        const cg_kprofile_row *pa = find(&p, layers[i], "gemm_pack_rmajor6");
        CHECK(pa && pb && pa->bytes > 0 && pb->bytes > 0, "layer %s: both packing kernels with their bytes",
              layers[i]);
    }
    for (int i = 0; i < p.n_rows; i++) {
        sum += p.rows[i].ms;
        if (i) CHECK(p.rows[i - 1].ms >= p.rows[i].ms, "rows sorted by time");
    }
    CHECK(p.n_rows == 9, "%d rows, expected 3 layers x 3 kernels", p.n_rows);
    CHECK(p.launches == 9, "%ld launches recorded, expected 9", p.launches);
    CHECK(fabs(sum - p.kernel_ms) <= 1e-9 * (1 + sum), "kernel_ms is the sum of the rows");
    CHECK(p.kernel_ms <= p.wall_ms * 1.01 + 0.5, "kernel time %.3f ms within the wall time %.3f ms", p.kernel_ms,
          p.wall_ms);
    char *md = cg_kernel_profile_markdown(&p, 4), *js = cg_kernel_profile_json(&p);
    CHECK(md && (strstr(md, "| inner | gemm_6x16 |") || strstr(md, "(other layers)")),
          "markdown names a layer row or folds the rest");
    CHECK(md && strstr(md, "Per kernel, all layers") && strstr(md, "| gemm_6x16 | 3.0 |"),
          "markdown has the per-kernel summary with 3 micro-kernel calls:\n%s", md ? md : "");
    int in_json = 0;
    for (const char *s = js; s && (s = strstr(s, "\"layer\": ")); s++) in_json++;
    CHECK(in_json == p.n_rows, "JSON has %d rows, expected %d", in_json, p.n_rows);
    free(md);
    free(js);
    cg_kernel_profile_free(&p);

    // A network pass: the chain runner labels each layer's launches.
    cg_ctx ctx = {rt, {0}};
    cg_layer *conv = NULL, *act = NULL;
    CHECK_OK(cg_conv2d_create((cg_conv_params){3, 8, 3, 3, 1, 1, 0}, &conv));
    CHECK_OK(cg_leaky_relu_create(0.2f, &act));
    cg_layer *layers2[] = {conv, act};
    cg_seq *net = NULL;
    CHECK_OK(cg_seq_create(&ctx, "main", layers2, NULL, 2, (const int[3]){3, 12, 12}, &net));
    if (net) {
        CHECK_OK(cg_seq_set_batch(&ctx, net, 2));
        CHECK_OK(cg_profile_begin(rt));
        CHECK_OK(cg_seq_forward(&ctx, net, 1));
        CHECK_OK(cg_profile_end(rt, &p));
        int conv_rows = 0, act_rows = 0;
        for (int i = 0; i < p.n_rows; i++) {
            conv_rows += !strcmp(p.rows[i].layer, "main.0 conv2d fwd");
            act_rows += !strcmp(p.rows[i].layer, "main.1 leaky_relu fwd");
        }
        CHECK(conv_rows >= 2, "the convolution's launches (im2col, GEMM, layout) under its label: %d rows", conv_rows);
        CHECK(act_rows == 1, "the activation's launch under its label: %d rows", act_rows);
        cg_kernel_profile_free(&p);
        cg_seq_free(net);
    }
    cg_workspace_free(&ctx.ws);
    cg_buffer_release(da);
    cg_buffer_release(db);
    cg_buffer_release(dc);
    free(a), free(b), free(c0), free(c1);
    cg_runtime_free(rt);
    return test_finish("test_kernel_profile");
}
