// param_check.c — stops training when a parameter or gradient is NaN or Inf. The losses alone miss
// a poisoned batch: ReLU's fmax(x, 0) turns NaN into 0, so a NaN input can reach the weight
// gradients (and, through the optimizer, the weights) while every loss stays finite. One device
// pass counts the non-finite values of both nets' parameter and gradient buffers; only four
// counters are read back.
#include "trainer_internal.h"

#include <string.h>

static cg_status count(cg_runtime *rt, cl_kernel k, cl_mem buf, size_t n, cl_mem counts, int slot) {
    if (!n) return CG_OK;
    cl_ulong n64 = n;
    cl_int s = slot;
    return cg_launch1d(rt, k, n, CG_ARG(buf), CG_ARG(n64), CG_ARG(counts), CG_ARG(s));
}

// What counter `slot` counts.
static const char *const counted[4] = {"generator's parameters", "generator's gradients",
                                       "discriminator's parameters", "discriminator's gradients"};

static cg_status count_all(cg_trainer *t, int found[4]) {
    cg_runtime *rt = t->ctx->rt;
    cl_mem counts = t->nonfinite;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "train", "count_nonfinite", &k)); // cl/train.cl
    cg_seq *nets[2] = {t->G, t->D};
    cg_status st = cg_tensor_fill(rt, cg_view(counts, 0, 1, 1, 1, 4), 0.0f);
    if (st != CG_OK) return cg_fail_context(st, "zeroing the 4 non-finite counters");
    for (int slot = 0; slot < 4; slot++) {
        const cg_seq *net = nets[slot / 2];
        st = count(rt, k, slot % 2 ? net->grads : net->params, net->n_params, counts, slot);
        if (st != CG_OK)
            return cg_fail_context(st, "counting the non-finite values of the %s (%zu floats, counter %d of 4)",
                                   counted[slot], net->n_params, slot + 1);
    }
    st = cg_tensor_read(rt, cg_view(counts, 0, 1, 1, 1, 4), (float *)found);
    if (st != CG_OK)
        return cg_fail_context(st, "reading back the 4 non-finite counters (NaN/Inf among the %s, %s, %s and %s)",
                               counted[0], counted[1], counted[2], counted[3]);
    return CG_OK;
}

cg_status cg_trainer_check_params(cg_trainer *t) {
    int found[4] = {0};
    cg_status st = count_all(t, found);
    if (st != CG_OK) return cg_fail_context(st, "checking the parameters for NaN/Inf at iteration %ld", t->step);
    if (!(found[0] || found[1] || found[2] || found[3])) return st;
    return cg_fail(CG_ERR_NUMERIC,
                   "training diverged: non-finite values at iteration %ld (NaN/Inf among %zu generator parameters: "
                   "%d, their gradients: %d; among %zu discriminator parameters: %d, their gradients: %d; a NaN or "
                   "Inf in the data?); stopped without saving; the last good checkpoint is %s",
                   t->step, t->G->n_params, found[0], found[1], t->D->n_params, found[2], found[3],
                   t->ckpt[0] ? t->ckpt : "(none saved yet)");
}
