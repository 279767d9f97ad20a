// trainer_dist.c — the trainer's data parallelism (docs/distributed.md). Every rank holds the same
// weights and trains on its slice of the global batch: rank r of N takes positions [r*B/N,
// (r+1)*B/N) of each global batch, with the images, flips and noise a single process gives those
// positions (trainer.c). Each rank's loss is the mean over its slice, so the global loss is the
// mean of the ranks' losses and its gradient the mean of their gradients: one allreduce (sum) per
// net and step, then 1/N. BatchNorm's statistics cover the global batch (SyncBN, [train] sync_bn).
#include "dist.h"
#include "trainer_internal.h"

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

cg_status cg_trainer_dist_average_grads(cg_trainer *t, cg_seq *s) {
    if (t->ranks == 1 || s->n_params == 0) return CG_OK;
    if (!t->host_grad) {
        size_t n = t->G->n_params > t->D->n_params ? t->G->n_params : t->D->n_params;
        t->host_grad = malloc(n * sizeof *t->host_grad);
        if (!t->host_grad) return cg_fail(CG_ERR_NOMEM, "out of host memory (gradient allreduce)");
    }
    cg_tensor g = cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params);
    CG_TRY(cg_tensor_read(t->ctx->rt, g, t->host_grad));
    CG_TRY(cg_dist_sum_f32(t->host_grad, s->n_params));
    for (size_t i = 0; i < s->n_params; i++) t->host_grad[i] /= (float)t->ranks;
    return cg_tensor_write(t->ctx->rt, g, t->host_grad);
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
