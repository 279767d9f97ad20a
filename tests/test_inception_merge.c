// test_inception_merge.c — Inception-v3's merged 1x1 products (issue 17: the 1x1 convolutions of a
// Mixed block that read its input run as one product over weights stacked along the output
// channels) against the unmerged forward, which stays as the reference: every Mixed block at its
// real size (batch 2, random weights) and the whole network's pool3 features and logits must be
// bit for bit the same. Control: one bias inside a stacked region changed moves the merged output
// away from the reference, and the unmerged forward, reading the same storage, follows it exactly.
#include "inception_internal.h"
#include "test_util.h"

#include <math.h>
#include <string.h>

#define BATCH 2

static cg_runtime *rt;

// Block i's forward with the merged products on or off, into y (NaN first, so nothing stale counts;
// the scratch too, so a read of an unwritten channel shows).
static float *run_block(cg_inception *net, int i, int merged, cg_tensor x, cg_tensor y) {
    const incep_block *b = &net->blocks[i];
    net->merged = merged;
    size_t scratch = net->buf_floats * (size_t)net->max_batch;
    CHECK_OK(cg_tensor_fill(rt, cg_view(y.buf, 0, 1, 1, 1, (int)scratch), NAN));
    CHECK_OK(cg_tensor_fill(rt, cg_view(net->buf[2], 0, 1, 1, 1, (int)scratch), NAN));
    CHECK_OK(cg_tensor_fill(rt, cg_view(net->buf[3], 0, 1, 1, 1, (int)scratch), NAN));
    CHECK_OK(incep_block_forward(net, b, x, y, net->buf[2], net->buf[3]));
    float *out = malloc(cg_numel(y) * sizeof *out);
    CHECK_OK(cg_tensor_read(rt, y, out));
    return out;
}

// Elements of a and b that differ bit for bit.
static size_t count_diff(const float *a, const float *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

static void test_blocks(cg_inception *net) {
    int s = 35;
    for (int i = 0; i < net->n_blocks; i++) {
        const incep_block *b = &net->blocks[i];
        int so = incep_block_out_size(b, s);
        cg_tensor x = cg_view(net->buf[0], 0, BATCH, b->cin, s, s), y = cg_view(net->buf[1], 0, BATCH, b->cout, so, so);
        CHECK_OK(cg_rng_uniform(rt, (cg_rng){21, (uint64_t)i}, 0, x, 0.0f, 1.0f));
        float *ref = run_block(net, i, 0, x, y), *got = run_block(net, i, 1, x, y);
        size_t n = cg_numel(y), diff = count_diff(ref, got, n), bad = 0, pos = 0;
        for (size_t j = 0; j < n; j++) bad += !(ref[j] >= 0.0f && isfinite(ref[j])), pos += ref[j] > 0.0f;
        CHECK(bad == 0 && pos > n / 8, "%s unmerged: %zu of %zu values not finite and >= 0, %zu positive", b->name,
              bad, n, pos);
        CHECK(diff == 0, "%s [%d, %d, %d, %d]: %zu of %zu values differ merged vs unmerged", b->name, BATCH, b->cout,
              so, so, diff, n);
        printf("%s (%s): %zu values bit-identical merged and unmerged\n", b->name,
               b->merge >= 0 ? net->merges[b->merge].name : "no merge", n - diff);

        // Control (Mixed_6b): the last member's first bias + 1 in the stacked region.
        if (b->merge >= 0 && b->kind == BLOCK_C && i == 4) {
            const incep_merge *m = &net->merges[b->merge];
            const incep_conv *c = &net->convs[m->convs[m->n - 1]];
            cg_tensor bias = incep_param_view(net, c->b_off, 1, 1, 1, 1);
            float old, bumped;
            CHECK_OK(cg_tensor_read(rt, bias, &old));
            bumped = old + 1.0f;
            CHECK_OK(cg_tensor_write(rt, bias, &bumped));
            float *got2 = run_block(net, i, 1, x, y), *ref2 = run_block(net, i, 0, x, y);
            size_t moved = count_diff(ref, got2, n), follow = count_diff(ref2, got2, n);
            CHECK(moved > 0 && follow == 0, "control: %s's bias + 1 moved %zu merged values (want > 0); merged and "
                                            "unmerged then differ in %zu (want 0)",
                  c->name, moved, follow);
            CHECK_OK(cg_tensor_write(rt, bias, &old));
            free(got2);
            free(ref2);
        }
        free(ref);
        free(got);
        s = so;
    }
}

// The whole forward, merged and unmerged, on BATCH random images in [-1, 1].
static void test_forward(cg_inception *net) {
    size_t per = (size_t)3 * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE;
    cl_mem buf = NULL;
    CHECK_OK(cg_buffer_alloc(rt, per * BATCH, &buf));
    if (!buf) return;
    cg_tensor x = cg_view(buf, 0, BATCH, 3, CG_INCEPTION_SIZE, CG_INCEPTION_SIZE);
    CHECK_OK(cg_rng_uniform(rt, (cg_rng){33, 1}, 0, x, -1.0f, 1.0f));
    size_t np = (size_t)BATCH * CG_INCEPTION_FEATURES, nl = (size_t)BATCH * CG_INCEPTION_CLASSES;
    float *p[2], *l[2];
    for (int merged = 0; merged < 2; merged++) {
        p[merged] = malloc(np * sizeof(float));
        l[merged] = malloc(nl * sizeof(float));
        net->merged = merged;
        CHECK_OK(cg_inception_forward(net, x, p[merged], l[merged], NULL));
    }
    size_t dp = count_diff(p[0], p[1], np), dl = count_diff(l[0], l[1], nl), pos = 0;
    for (size_t j = 0; j < np; j++) pos += p[0][j] > 0.0f && isfinite(p[0][j]);
    CHECK(pos > np / 8, "unmerged pool3 features: only %zu of %zu positive", pos, np);
    CHECK(dp == 0 && dl == 0, "whole forward: %zu pool3 features and %zu logits differ merged vs unmerged", dp, dl);
    printf("forward of %d images: pool3 features and logits bit-identical merged and unmerged\n", BATCH);
    for (int k = 0; k < 2; k++) free(p[k]), free(l[k]);
    cg_buffer_release(buf);
}

int main(void) {
    rt = test_runtime();
    cg_inception *net = NULL;
    CHECK_OK(cg_inception_create(rt, BATCH, &net));
    if (net) {
        CHECK(net->n_merges == 10, "%d merged products, expected 10 (5b-d, 6b-e, 7a-c)", net->n_merges);
        CHECK_OK(cg_inception_random(net, 17));
        test_blocks(net);
        test_forward(net);
        net->merged = 1;
    }
    cg_inception_free(net);
    cg_runtime_free(rt);
    return test_finish("test_inception_merge");
}
