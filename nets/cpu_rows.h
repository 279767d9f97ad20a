// cpu_rows.h — which decomposition the layers' kernels take: the CPU variants (one work-item per
// row, chunk or column block, vectorised: the *_rows / *_cols kernels of cl/im2col.cl, bn.cl,
// act.cl) or the per-element ones (GPUs). By device type, unless a test forces one with
// cg_im2col_force (nets_internal.h). Both give the same bits.
#ifndef CLGAN_NETS_CPU_ROWS_H
#define CLGAN_NETS_CPU_ROWS_H

#include "nets.h"

int cg_rows_variant(const cg_ctx *ctx);

#endif
