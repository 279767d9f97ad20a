// mtcnn_internal.h — MTCNN's nets as layer chains (mtcnn_nets.c), shared with the detector (mtcnn.c).
#ifndef CLGAN_MTCNN_INTERNAL_H
#define CLGAN_MTCNN_INTERNAL_H

#include "mtcnn.h"
#include "nets.h"

typedef struct {
    cg_layer **layers;
    int n;
    cl_mem params;      // every parameter, bound as views
    cl_mem act[2];      // ping-pong activations
    size_t act_floats;  // size of each
} mtcnn_net;

// nets[0..2] = P-Net, R-Net, O-Net from the safetensors file at path.
cg_status mtcnn_nets_load(cg_runtime *rt, const char *path, mtcnn_net nets[3]);
void mtcnn_net_free(mtcnn_net *net);
// x: [N, 3, H, W] -> *y, a view valid until the next forward of this net.
cg_status mtcnn_net_forward(cg_ctx *ctx, mtcnn_net *net, cg_tensor x, cg_tensor *y);

#endif
