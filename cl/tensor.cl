// tensor.cl — elementary tensor operations of the runtime.
//
// tensor_fill: x[off + i] = value for i < n. One work-item per element. (A kernel rather than
// clEnqueueFillBuffer, whose writes Oclgrind does not track, so its uninitialised-read checks stay
// meaningful.)
__kernel void tensor_fill(__global float *x, ulong off, ulong n, float value) {
    size_t i = get_global_id(0);
    if (i >= n) return;
    x[off + i] = value;
}
