// test_limits_inception.c — Inception-v3 within the device's limits (issues 13 and 14): under the
// `small` profile (64 MiB allocations) its 90 MiB of parameters lie in several buffers, each within
// the largest allocation, and every parameter reads back bit for bit what one buffer on the plain
// device holds (same random weights); a batch of 50 is chunked to what fits one allocation; with
// 64 MiB of global memory not even one image fits and creation is refused naming the buffers.
#include "inception_internal.h"
#include "limits_test_util.h"

#include <string.h>

// Every conv's weight and bias, and the fc weight and bias, equal bit for bit in both nets.
static void compare_params(cg_inception *a, cg_inception *b) {
    int bad = 0;
    for (int i = 0; i <= a->n_convs; i++) {
        cg_layer *la = i < a->n_convs ? a->convs[i].conv : a->fc, *lb = i < a->n_convs ? b->convs[i].conv : b->fc;
        for (int j = 0; j < 2; j++) {
            cg_tensor ta = la->params[j].w, tb = lb->params[j].w;
            size_t n = cg_numel(ta);
            float *ha = malloc(n * sizeof *ha), *hb = malloc(n * sizeof *hb);
            CHECK_OK(cg_tensor_read(cg_inception_runtime(a), ta, ha));
            CHECK_OK(cg_tensor_read(cg_inception_runtime(b), tb, hb));
            if (memcmp(ha, hb, n * sizeof *ha)) {
                bad++;
                fprintf(stderr, "%s.%s differs\n", la->name, la->params[j].name);
            }
            free(ha);
            free(hb);
        }
    }
    CHECK(bad == 0, "%d parameter tensors differ between one buffer and %d segments", bad, b->n_segs);
}

int main(void) {
    cg_runtime *plain = limits_runtime(NULL, 0, 0), *small = limits_runtime("small", 0, 0);
    uint64_t max = cg_runtime_device(small)->max_alloc;
    cg_inception *a = NULL, *b = NULL;
    CHECK_OK(cg_inception_create(plain, 1, &a));
    CHECK_OK(cg_inception_create(small, 50, &b));
    if (a && b) {
        CHECK(b->n_segs >= 2, "90 MiB of parameters in %d buffer(s) under 64 MiB allocations", b->n_segs);
        for (int s = 0; s < b->n_segs; s++)
            CHECK((b->seg_start[s + 1] - b->seg_start[s]) * sizeof(float) <= max, "segment %d: %zu floats", s,
                  b->seg_start[s + 1] - b->seg_start[s]);
        int mb = cg_inception_max_batch(b);
        CHECK(mb >= 1 && mb < 50 && b->buf_floats * sizeof(float) * (size_t)mb <= max &&
                  b->buf_floats * sizeof(float) * (size_t)(mb + 1) > max,
              "batch 50 chunked to %d images of %zu floats per activation buffer (largest allocation %llu)", mb,
              b->buf_floats, (unsigned long long)max);
        CHECK_OK(cg_inception_random(a, 5));
        CHECK_OK(cg_inception_random(b, 5));
        compare_params(a, b);
    }
    cg_inception_free(a);
    cg_inception_free(b);
    cg_runtime_free(small);
    cg_runtime_free(plain);

    cg_runtime *tiny = limits_runtime(NULL, 0, (uint64_t)64 << 20);
    cg_inception *c = NULL;
    CHECK_FAILS(cg_inception_create(tiny, 8, &c), CL_MEM_OBJECT_ALLOCATION_FAILURE, "4 activation buffers of");
    CHECK(c == NULL, "no net on failure");
    cg_runtime_free(tiny);
    return test_finish("test_limits_inception");
}
