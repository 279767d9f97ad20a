// test_tensor_map.c — cg_tensor_map / cg_tensor_unmap (runtime/tensor_map.h), the gradient
// allreduce's view of device memory (train/trainer_dist.c): a view at an offset maps to exactly its
// floats (written with cg_tensor_write, compared with the host copy); host writes through the map
// reach the device after the unmap (cg_tensor_read sees the new values inside the view and the old
// ones around it: a map at the wrong offset fails here, and so, on a device whose map is a copy (a
// GPU; PoCL maps without one), does a map that is never written back); a kernel
// after the unmap (cg_tensor_fill) shows in the next map; unmapping NULL does nothing.
#include "test_util.h"
#include "tensor_map.h"

int main(void) {
    cg_runtime *rt = test_runtime();
    enum { N = 4096, OFF = 100, LEN = 3000 };
    cl_mem buf = NULL;
    CHECK(cg_buffer_alloc(rt, N, &buf) == CG_OK, "alloc: %s", cg_last_error());
    static float host[N], back[N];
    for (int i = 0; i < N; i++) host[i] = (float)i * 0.25f - 7.0f;
    cg_tensor all = cg_view(buf, 0, 1, 1, 1, N), part = cg_view(buf, OFF, 1, 1, 1, LEN);
    CHECK(cg_tensor_write(rt, all, host) == CG_OK, "write: %s", cg_last_error());

    float *p = NULL;
    CHECK(cg_tensor_map(rt, part, &p) == CG_OK && p, "map: %s", cg_last_error());
    int same = 1;
    for (int i = 0; p && i < LEN; i++) same &= p[i] == host[OFF + i];
    CHECK(same, "the mapped floats are not the view's [%d, %d)", OFF, OFF + LEN);
    for (int i = 0; p && i < LEN; i++) p[i] = p[i] * -2.0f + 1.0f; // what the allreduce's 1/N pass does
    CHECK(cg_tensor_unmap(rt, part, p) == CG_OK, "unmap: %s", cg_last_error());
    CHECK(cg_tensor_unmap(rt, part, NULL) == CG_OK, "unmapping NULL");

    CHECK(cg_tensor_read(rt, all, back) == CG_OK, "read: %s", cg_last_error());
    int inside = 1, outside = 1;
    for (int i = 0; i < N; i++) {
        float want = i >= OFF && i < OFF + LEN ? host[i] * -2.0f + 1.0f : host[i];
        if (i >= OFF && i < OFF + LEN) inside &= back[i] == want;
        else outside &= back[i] == want;
    }
    CHECK(inside, "host writes through the map did not reach the device");
    CHECK(outside, "floats outside the mapped view changed");

    // A kernel after the unmap sees the new values: fill the view, map again, read them.
    CHECK(cg_tensor_fill(rt, part, 3.5f) == CG_OK, "fill: %s", cg_last_error());
    CHECK(cg_tensor_map(rt, part, &p) == CG_OK && p, "second map: %s", cg_last_error());
    int filled = 1;
    for (int i = 0; p && i < LEN; i++) filled &= p[i] == 3.5f;
    CHECK(filled, "the second map does not show the kernel's fill");
    CHECK(cg_tensor_unmap(rt, part, p) == CG_OK, "second unmap: %s", cg_last_error());

    cg_buffer_release(buf);
    cg_runtime_free(rt);
    return test_finish("test_tensor_map");
}
