// tensor_map.h — a tensor's device memory seen from the host (tensor_map.c): clEnqueueMapBuffer
// for reading and writing in place. On a CPU device (PoCL) the mapped pointer is the buffer itself
// (no copy); on a GPU the driver copies to host memory at the map and back at the unmap, without a
// buffer of the caller's. The gradient allreduce (train/trainer_dist.c) works on these pointers.
#ifndef CLGAN_TENSOR_MAP_H
#define CLGAN_TENSOR_MAP_H

#include "runtime.h"

// Maps contiguous t for reading and writing (blocking: the queue's work on it is done); *host
// holds cg_numel(t) floats until cg_tensor_unmap. A failure maps nothing (*host = NULL).
cg_status cg_tensor_map(cg_runtime *rt, cg_tensor t, float **host);
// Hands host (from cg_tensor_map of t) back to the device; the queue's later work sees its
// contents. NULL host does nothing.
cg_status cg_tensor_unmap(cg_runtime *rt, cg_tensor t, float *host);

#endif
