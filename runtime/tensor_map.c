// tensor_map.c — mapping a tensor's device memory into the host for in-place work (tensor_map.h).
// A map counts as a device read-back for fault injection (runtime/fault.c, "read:N").
#include "fault.h"
#include "runtime_internal.h"
#include "tensor_map.h"

cg_status cg_tensor_map(cg_runtime *rt, cg_tensor t, float **host) {
    CG_ASSERT(cg_is_contiguous(t));
    *host = NULL;
    size_t n = cg_numel(t);
    cl_int err = cg_fault_hit(CG_FAULT_READ);
    void *p = NULL;
    if (err == CL_SUCCESS)
        p = clEnqueueMapBuffer(rt->queue, t.buf, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, t.off * sizeof(float),
                               (n ? n : 1) * sizeof(float), 0, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return cg_fail(err, "mapping %zu floats of device memory into the host failed: %s", n, cg_status_name(err));
    *host = p;
    return CG_OK;
}

cg_status cg_tensor_unmap(cg_runtime *rt, cg_tensor t, float *host) {
    if (!host) return CG_OK;
    cl_int err = clEnqueueUnmapMemObject(rt->queue, t.buf, host, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cg_fail(err, "unmapping %zu floats of device memory failed: %s", cg_numel(t), cg_status_name(err));
    return CG_OK;
}
