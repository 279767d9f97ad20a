// seq_limits.h — whether a batch of sequential nets fits the device before anything is allocated
// (each activation buffer within the largest allocation, all buffers within global memory), and
// the chunking of layer scratch to the device's largest allocation.
#ifndef CLGAN_SEQ_LIMITS_H
#define CLGAN_SEQ_LIMITS_H

#include "nets.h"

// Device buffers a batch of `batch` samples gives one net, in bytes.
typedef struct {
    size_t acts, dacts, workspace; // activations, their gradients, the largest layer scratch
    size_t fixed;                  // parameters, gradients, statistics and two optimizer moments
} cg_seq_sizes;
cg_status cg_seq_sizes_for(const cg_seq *s, int batch, cg_seq_sizes *out);

// 1 when a batch of the n nets fits a device with these limits (0: no limit); else 0 and `why`
// names the buffer and the sizes.
int cg_seq_fits(cg_seq *const *nets, const char *const *labels, int n, int batch, uint64_t max_alloc,
                uint64_t global_mem, char *why, size_t len);
// The largest batch <= batch that fits (0: not even one sample).
int cg_seq_max_batch(cg_seq *const *nets, int n, int batch, uint64_t max_alloc, uint64_t global_mem);
// CG_ERR_CONFIG when a batch does not fit ctx's device, naming `setting` ("[train] batch_size"),
// the buffer, its size, the device's limit and the largest batch that fits. Also lowers the layer
// scratch chunking to the device's largest allocation (cg_chunk_fit_device).
cg_status cg_seq_fit_check(cg_ctx *ctx, cg_seq *const *nets, const char *const *labels, int n, int batch,
                           const char *setting);

// Lowers the scratch cap of cg_chunk_samples (im2col.c) to rt's largest allocation; the cap is
// process-wide and only ever lowered, so a process with several devices chunks for the smallest.
void cg_chunk_fit_device(const cg_runtime *rt);
size_t cg_chunk_cap(void); // the cap in floats now

#endif
