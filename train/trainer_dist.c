// trainer_dist.c — the trainer's data parallelism (docs/distributed.md). Every rank holds the same
// weights and trains on its slice of the global batch: rank r of N takes positions [r*B/N,
// (r+1)*B/N) of each global batch, with the images, flips and noise a single process gives those
// positions (trainer.c). Each rank's loss is the mean over its slice, so the global loss is the
// mean of the ranks' losses and its gradient the mean of their gradients: one allreduce (sum) per
// net and step, then 1/N. BatchNorm's statistics cover the global batch (SyncBN, [train] sync_bn).
// The allreduce works in place on the gradient buffer mapped into the host (runtime/tensor_map.h:
// zero-copy on a CPU device, the driver's transfer on a GPU), after the ranks agree that every
// rank's own gradients are finite, so a NaN from one rank's slice stops all of them in the same
// step, naming that rank, before it reaches the others' weights.
#include "dist.h"
#include "fault.h"
#include "tensor_map.h"
#include "trainer_internal.h"

#include <math.h>
#include <stdlib.h>

static cg_status sum_f64(void *user, double *v, size_t n) { return cg_dist_sum_f64(v, n); }

cg_status cg_trainer_dist_setup(cg_trainer *t) {
    t->rank = cg_dist_rank();
    t->ranks = cg_dist_size();
    t->lb = t->p.batch_size;
    if (t->ranks == 1) return CG_OK;
    if (t->p.batch_size % t->ranks)
        return cg_fail(CG_ERR_CONFIG, "[train] batch_size = %d does not split over %d MPI ranks: use a multiple of %d",
                       t->p.batch_size, t->ranks, t->ranks);
    t->lb = t->p.batch_size / t->ranks;
    return CG_OK;
}

void cg_trainer_dist_sync_bn(cg_trainer *t, int on) {
    cg_bn_sync s = {sum_f64, t->ranks, NULL};
    int set = on && t->ranks > 1 && t->p.sync_bn;
    for (int k = 0; k < 2; k++) {
        cg_seq *q = k ? t->D : t->G;
        for (int i = 0; q && i < q->n_layers; i++) cg_batchnorm_set_sync(q->layers[i], set ? &s : NULL);
    }
}

// CLGAN_FAULT=nan:N (runtime/fault.c): a NaN into s's first gradient.
static cg_status inject_nan(cg_trainer *t, cg_seq *s) {
    if (cg_fault_hit(CG_FAULT_NAN) == CL_SUCCESS) return CG_OK;
    float nan = NAN;
    return cg_tensor_write(t->ctx->rt, cg_view(s->grads, 0, 1, 1, 1, 1), &nan);
}

// CG_ERR_NUMERIC naming the rank, net, iteration and element when g[0..n) holds a NaN or Inf.
static cg_status check_finite(const cg_trainer *t, const cg_seq *s, const float *g, size_t n) {
    size_t i = 0;
    while (i < n && isfinite(g[i])) i++;
    if (i == n) return CG_OK;
    return cg_fail(CG_ERR_NUMERIC,
                   "training diverged: the %s's gradients on rank %d are not finite in iteration %ld (element %zu of "
                   "%zu is %g), from its slice of the global batch (images [%d, %d) of %d); all ranks stopped without "
                   "saving; the last good checkpoint is %s",
                   s == t->G ? "generator" : "discriminator", t->rank, t->step + 1, i, n, (double)g[i],
                   t->rank * t->lb, (t->rank + 1) * t->lb, t->p.batch_size, t->ckpt[0] ? t->ckpt : "(none saved yet)");
}

cg_status cg_trainer_dist_average_grads(cg_trainer *t, cg_seq *s) {
    CG_TRY(inject_nan(t, s));
    if (t->ranks == 1 || s->n_params == 0) return CG_OK;
    cg_tensor gt = cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params);
    float *g = NULL;
    cg_status st = cg_tensor_map(t->ctx->rt, gt, &g);
    if (st != CG_OK) return cg_fail_context(st, "the %s's gradients", s == t->G ? "generator" : "discriminator");
    int stop = 0, failed = -1;
    st = cg_dist_agree(check_finite(t, s, g, s->n_params), &stop, &failed);
    if (st == CG_OK) st = cg_dist_sum_f32(g, s->n_params);
    if (st == CG_OK)
        for (size_t i = 0; i < s->n_params; i++) g[i] /= (float)t->ranks;
    cg_status un = cg_tensor_unmap(t->ctx->rt, gt, g);
    return st != CG_OK ? st : un;
}

cg_status cg_trainer_dist_mean(cg_trainer *t, float *v, int n) {
    if (t->ranks == 1) return CG_OK;
    double d[8];
    if (n > 8) return cg_fail(CG_ERR_INVALID_ARG, "cg_trainer_dist_mean: %d values", n);
    for (int i = 0; i < n; i++) d[i] = v[i];
    CG_TRY(cg_dist_sum_f64(d, (size_t)n));
    for (int i = 0; i < n; i++) v[i] = (float)(d[i] / t->ranks);
    return CG_OK;
}
