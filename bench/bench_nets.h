// bench_nets.h — network benchmarks for `clgan bench` (bench/layers.c): forward and backward
// time of every layer of the DCGAN generator and discriminator (whole training iterations are timed
// through the trainer: bench/train_iteration.c). Times are device times: every timed call ends with
// cg_runtime_finish. The caller owns the output arrays.
#ifndef CLGAN_BENCH_NETS_H
#define CLGAN_BENCH_NETS_H

#include "models.h"

typedef struct {
    char net;           // 'G' or 'D'
    char name[24];      // state_dict prefix, e.g. "main.3"
    char kind[24];      // layer kind, e.g. "conv_transpose2d"
    int in[4], out[4];  // input and output shapes [N, C, H, W]
    int backward;       // 0: forward, 1: backward (input and parameter gradients)
    double flops;       // per call (multiply-add = 2); 0 for layers without a GEMM
    double median_s, min_s;
    double gflops;      // flops / median_s / 1e9 (0 when flops is 0)
} cg_bench_layer;

// Times forward and backward of every layer of cg_model_generator / cg_model_discriminator for mc
// (the DCGAN shapes: type dcgan, 64x64, nz 100, ngf = ndf = 64) at `batch`, median of `reps` runs
// after one warm-up. Writes up to cap rows into out and their number into *count. Fails with
// CG_ERR_NUMERIC when a forward output is not finite (the check before timing).
cg_status cg_bench_model_layers(cg_ctx *ctx, const cg_model_config *mc, int batch, int reps, cg_bench_layer *out,
                                int cap, int *count);

#endif
