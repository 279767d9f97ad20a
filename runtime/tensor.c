// tensor.c — device buffers, tensor views (read, write, fill, copy) and the shared workspace.
#include "fault.h"
#include "runtime_internal.h"

#include <stdlib.h>

cg_status cg_buffer_alloc(cg_runtime *rt, size_t floats, cl_mem *out) {
    *out = NULL;
    if (floats == 0) floats = 1; // zero-sized buffers are invalid in OpenCL
    size_t bytes = floats * sizeof(float);
    if (bytes > rt->dev.max_alloc && rt->dev.max_alloc)
        return cg_fail(CL_INVALID_BUFFER_SIZE, "a buffer of %zu MiB exceeds %s's largest allocation (%llu MiB)",
                       bytes >> 20, rt->dev.name, (unsigned long long)(rt->dev.max_alloc >> 20));
    cl_int err = cg_fault_hit(CG_FAULT_ALLOC);
    if (err == CL_SUCCESS) *out = clCreateBuffer(rt->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return cg_fail(err, "allocating %zu bytes on %s failed: %s", bytes, rt->dev.name, cg_status_name(err));
    return CG_OK;
}

void cg_buffer_release(cl_mem buf) {
    if (buf) clReleaseMemObject(buf);
}

cg_status cg_tensor_write(cg_runtime *rt, cg_tensor t, const float *host) {
    CG_ASSERT(cg_is_contiguous(t));
    size_t n = cg_numel(t);
    if (n == 0) return CG_OK;
    CG_CL(clEnqueueWriteBuffer(rt->queue, t.buf, CL_TRUE, t.off * sizeof(float), n * sizeof(float), host, 0, NULL,
                               NULL));
    return CG_OK;
}

cg_status cg_tensor_read(cg_runtime *rt, cg_tensor t, float *host) {
    CG_ASSERT(cg_is_contiguous(t));
    size_t n = cg_numel(t);
    if (n == 0) return CG_OK;
    cl_int err = cg_fault_hit(CG_FAULT_READ);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(rt->queue, t.buf, CL_TRUE, t.off * sizeof(float), n * sizeof(float), host, 0, NULL,
                                  NULL);
    if (err != CL_SUCCESS)
        return cg_fail(err, "reading %zu floats back from the device failed: %s", n, cg_status_name(err));
    return CG_OK;
}

cg_status cg_tensor_fill(cg_runtime *rt, cg_tensor t, float value) {
    CG_ASSERT(cg_is_contiguous(t));
    size_t n = cg_numel(t);
    if (n == 0) return CG_OK;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "tensor", "tensor_fill", &k));
    cl_ulong off = t.off, count = n;
    return cg_launch1d(rt, k, n, CG_ARG(t.buf), CG_ARG(off), CG_ARG(count), CG_ARG(value));
}

cg_status cg_tensor_copy(cg_runtime *rt, cg_tensor dst, cg_tensor src) {
    size_t n = cg_numel(src);
    CG_ASSERT(n == cg_numel(dst) && cg_is_contiguous(src) && cg_is_contiguous(dst));
    if (n == 0) return CG_OK;
    CG_CL(clEnqueueCopyBuffer(rt->queue, src.buf, dst.buf, src.off * sizeof(float), dst.off * sizeof(float),
                              n * sizeof(float), 0, NULL, NULL));
    return CG_OK;
}

cg_status cg_workspace_reserve(cg_runtime *rt, cg_workspace *ws, size_t floats) {
    if (ws->buf && ws->floats >= floats) return CG_OK;
    cl_mem buf;
    CG_TRY(cg_buffer_alloc(rt, floats, &buf));
    // Work already queued may still read the old buffer; OpenCL keeps it alive until that work ends.
    if (ws->buf) clReleaseMemObject(ws->buf);
    ws->buf = buf;
    ws->floats = floats;
    return CG_OK;
}

void cg_workspace_free(cg_workspace *ws) {
    if (ws->buf) clReleaseMemObject(ws->buf);
    ws->buf = NULL;
    ws->floats = 0;
}
