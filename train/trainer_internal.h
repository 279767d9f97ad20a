// trainer_internal.h — the trainer's state, shared by trainer.c (the loop), trainer_setup.c
// (construction, resume, samples) and train_log.c (log.csv and the in-memory history).
#ifndef CLGAN_TRAINER_INTERNAL_H
#define CLGAN_TRAINER_INTERNAL_H

#include "tb_events.h"
#include "train.h"

#include <stdio.h>

struct cg_trainer {
    cg_ctx *ctx;
    cg_train_params p;
    cg_model_config mc;
    cg_seq *G, *D;
    cg_optimizer *og, *od;
    cg_data_source *data;
    cg_train_hooks hooks;
    long backwards_g, backwards_d; // backward passes run (the hooks' indices)
    char *config_text;
    cl_mem scal;          // [0] D loss on real, [1] D loss on fake, [2] G loss, [3] gradient penalty
    cg_grad_penalty *gp;  // WGAN-GP (gp_lambda > 0), else NULL
    cl_mem real, gp_eps;  // WGAN-GP: the real batch kept for the interpolates; their mixing weights
    cl_mem nonfinite;     // 4 int counters of param_check.c
    long step;            // generator steps done
    long batches;         // real batches consumed (data order, flips)
    long noise_batches;   // noise batches drawn
    long bpe;             // batches per epoch (the last partial batch is dropped)
    uint32_t *perm;       // permutation of perm_epoch
    long perm_epoch;
    uint32_t *idx;
    uint8_t *flip;
    float *host_out;      // D output, read back to log
    cg_train_record rec;  // the latest scalars
    cg_train_record *hist;
    int n_hist, cap_hist;
    FILE *log;
    cg_tb_writer *tb;      // TensorBoard events ([train] tensorboard), else NULL
    double log_time;       // when the previous record was logged (images/s)
    long log_batches;
    char ckpt[1200];
    // Data parallelism (train/dist.h, trainer_dist.c): rank `rank` of `ranks` takes samples
    // [rank * lb, (rank + 1) * lb) of every global batch of p.batch_size = ranks * lb.
    int rank, ranks, lb;
};

cg_status cg_trainer_write_samples(cg_trainer *t); // samples.png (+ samples/step_N.png)
cg_status cg_trainer_log_open(cg_trainer *t);      // log.csv: keeps rows up to t->step, loads them
cg_status cg_trainer_log_record(cg_trainer *t);    // appends t->rec to the file and the history
// The fixed-noise grid of the current step (images [n_samples, c, h, w]) to TensorBoard, if on.
cg_status cg_trainer_log_samples(cg_trainer *t, const float *images, int c, int h, int w);
void cg_trainer_log_close(cg_trainer *t);
// CG_ERR_NUMERIC naming the iteration when a parameter or gradient of G or D is NaN/Inf (param_check.c).
cg_status cg_trainer_check_params(cg_trainer *t);
// trainer_dist.c: ranks and local batch from dist.h; SyncBN on (on != 0) or off in G and D.
cg_status cg_trainer_dist_setup(cg_trainer *t);
void cg_trainer_dist_sync_bn(cg_trainer *t, int on);
// The mean of s's gradients over the ranks, in place (nothing with one rank).
cg_status cg_trainer_dist_average_grads(cg_trainer *t, cg_seq *s);
// The mean of n floats over the ranks, in place.
cg_status cg_trainer_dist_mean(cg_trainer *t, float *v, int n);

#endif
