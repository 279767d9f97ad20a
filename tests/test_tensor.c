// test_tensor.c — tensor views at non-zero offsets: write/read round trips, fill, copy, and the workspace.
// oclgrind: run
#include "test_util.h"

static void test_round_trips(cg_runtime *rt) {
    const size_t total = 1000;
    cl_mem buf;
    CHECK_OK(cg_buffer_alloc(rt, total, &buf));
    float *guard = malloc(total * sizeof(float)), *back = malloc(total * sizeof(float));
    for (size_t i = 0; i < total; i++) guard[i] = -1000.0f - (float)i;
    CHECK_OK(cg_tensor_write(rt, cg_view(buf, 0, 1, 1, 1, (int)total), guard));

    // A [2,3,5,7] view at offset 17: only its 210 elements change.
    cg_tensor t = cg_view(buf, 17, 2, 3, 5, 7);
    float src[210], out[210];
    for (int i = 0; i < 210; i++) src[i] = (float)i * 0.5f - 3.0f;
    CHECK_OK(cg_tensor_write(rt, t, src));
    CHECK_OK(cg_tensor_read(rt, t, out));
    CHECK(memcmp(src, out, sizeof src) == 0, "round trip at offset 17");
    CHECK_OK(cg_tensor_read(rt, cg_view(buf, 0, 1, 1, 1, (int)total), back));
    int guards_ok = 1;
    for (size_t i = 0; i < total; i++)
        if ((i < 17 || i >= 17 + 210) && back[i] != guard[i]) guards_ok = 0;
    CHECK(guards_ok, "elements outside the view untouched");

    // Fill a [1,1,1,33] view at offset 400 with 2.5.
    CHECK_OK(cg_tensor_fill(rt, cg_view(buf, 400, 1, 1, 1, 33), 2.5f));
    CHECK_OK(cg_tensor_read(rt, cg_view(buf, 0, 1, 1, 1, (int)total), back));
    int fill_ok = 1;
    for (size_t i = 0; i < total; i++) {
        float want = (i >= 400 && i < 433) ? 2.5f : (i >= 17 && i < 227) ? src[i - 17] : guard[i];
        if (back[i] != want) fill_ok = 0;
    }
    CHECK(fill_ok, "fill touches exactly its view");

    // Copy the 210-element view to offset 600 within the same buffer, and to another buffer at offset 3.
    CHECK_OK(cg_tensor_copy(rt, cg_view(buf, 600, 210, 1, 1, 1), t));
    CHECK_OK(cg_tensor_read(rt, cg_view(buf, 600, 1, 1, 1, 210), out));
    CHECK(memcmp(src, out, sizeof src) == 0, "copy within a buffer");
    cl_mem other;
    CHECK_OK(cg_buffer_alloc(rt, 300, &other));
    CHECK_OK(cg_tensor_copy(rt, cg_view(other, 3, 1, 210, 1, 1), t));
    CHECK_OK(cg_tensor_read(rt, cg_view(other, 3, 1, 1, 210, 1), out));
    CHECK(memcmp(src, out, sizeof src) == 0, "copy across buffers");
    // Empty views are no-ops.
    CHECK_OK(cg_tensor_write(rt, cg_view(buf, 5, 0, 3, 3, 3), src));
    CHECK_OK(cg_tensor_fill(rt, cg_view(buf, 5, 1, 0, 3, 3), 1.0f));

    cg_buffer_release(other);
    cg_buffer_release(buf);
    free(guard);
    free(back);
}

static void test_workspace(cg_runtime *rt) {
    cg_workspace ws = {0};
    CHECK_OK(cg_workspace_reserve(rt, &ws, 100));
    cl_mem first = ws.buf;
    CHECK(ws.floats == 100 && first, "reserve 100");
    CHECK_OK(cg_workspace_reserve(rt, &ws, 50));
    CHECK(ws.buf == first, "a smaller request keeps the buffer");
    CHECK_OK(cg_workspace_reserve(rt, &ws, 5000));
    CHECK(ws.floats == 5000, "grows on demand");
    float ones[5000], back[5000];
    for (int i = 0; i < 5000; i++) ones[i] = 1.0f;
    CHECK_OK(cg_tensor_write(rt, cg_view(ws.buf, 0, 1, 1, 1, 5000), ones));
    CHECK_OK(cg_tensor_read(rt, cg_view(ws.buf, 0, 1, 1, 1, 5000), back));
    CHECK(back[4999] == 1.0f, "the grown workspace is usable");
    cg_workspace_free(&ws);
    CHECK(ws.buf == NULL && ws.floats == 0, "freed");
    cl_mem huge;
    const cg_device_info *d = cg_runtime_device(rt);
    CHECK_FAILS(cg_buffer_alloc(rt, (size_t)(d->max_alloc / sizeof(float)) + 1024, &huge), CL_INVALID_BUFFER_SIZE,
                "largest allocation");
}

int main(void) {
    cg_runtime *rt = test_runtime();
    test_round_trips(rt);
    test_workspace(rt);
    cg_runtime_free(rt);
    return test_finish("tensor");
}
