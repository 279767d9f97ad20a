// metrics_internal.h — declarations shared between metrics/*.c files and not part of the API.
#ifndef CLGAN_METRICS_INTERNAL_H
#define CLGAN_METRICS_INTERNAL_H

#include "metrics.h"

// A complete .npy (version 1.0, little-endian, C order) image of float32 (f64 == 0) or float64
// data, in a malloc'd buffer; `what` names the destination in errors.
cg_status cg_npy_encode(const void *data, int f64, int ndim, const int64_t *shape, const char *what,
                        unsigned char **out, size_t *len);

#endif
