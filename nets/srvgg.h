// srvgg.h — Real-ESRGAN's compact upscaler (SRVGGNetCompact) on nets/ layers: conv3x3 + PReLU blocks,
// a final conv to 3*s*s channels, PixelShuffle(s), plus the input upsampled by nearest neighbour.
// Built from a safetensors file's shapes (tools/convert_realesrgan.py writes one), run forward only,
// and tiled with overlap so memory stays bounded on images of any size.
#ifndef CLGAN_SRVGG_H
#define CLGAN_SRVGG_H

#include "nets.h"

typedef struct cg_srvgg cg_srvgg;

// Opens W.safetensors (state_dict names "body.<i>.weight|bias"): the number of convolutions, the
// features and the scale are inferred from the shapes; a missing, mis-shaped, unexpected or
// non-finite tensor, or a truncated file, is refused naming the file and the tensor.
cg_status cg_srvgg_load(cg_ctx *ctx, const char *path, cg_srvgg **out);
void cg_srvgg_free(cg_srvgg *m);
int cg_srvgg_scale(const cg_srvgg *m);
int cg_srvgg_features(const cg_srvgg *m);
int cg_srvgg_convs(const cg_srvgg *m); // 3x3 convolutions, each widening the receptive field by one pixel a side

// x: [N, 3, H, W] in [0, 1] -> y: [N, 3, H*s, W*s] (unclamped); dense device views.
cg_status cg_srvgg_forward(cg_ctx *ctx, cg_srvgg *m, cg_tensor x, cg_tensor y);

// Host images x [n, 3, h, w] -> y [n, 3, h*s, w*s]. Each image is cut into tiles of tile x tile
// input pixels (tile <= 0: whole images) run in windows widened by the receptive field, so the
// result equals one pass; windows are batched on the device under a fixed memory budget.
cg_status cg_srvgg_upscale(cg_ctx *ctx, cg_srvgg *m, const float *x, int n, int h, int w, int tile, float *y);

#endif
