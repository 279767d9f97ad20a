// layer.c — what every layer shares: freeing, and the shape check used by forward/backward.
#include "nets.h"

#include <stdlib.h>

void cg_layer_free(cg_layer *l) {
    if (!l) return;
    if (l->destroy) l->destroy(l);
    free(l);
}
