// trainer_setup.c — building a trainer (nets, optimizers, buffers), resuming and saving it, and the
// fixed-noise sample grid. Samples use a training-mode forward (batch statistics), as
// pytorch/examples dcgan does for its grids; BatchNorm running statistics are restored afterwards,
// so sampling never changes the course of training.
#include "trainer_internal.h"
#include "seq_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_trainer_free(cg_trainer *t) {
    if (!t) return;
    cg_trainer_log_close(t);
    cg_seq_free(t->G);
    cg_seq_free(t->D);
    cg_optimizer_free(t->og);
    cg_optimizer_free(t->od);
    cg_buffer_release(t->scal);
    cg_grad_penalty_free(t->gp);
    cg_buffer_release(t->real);
    cg_buffer_release(t->gp_eps);
    cg_buffer_release(t->nonfinite);
    free(t->config_text);
    free(t->perm);
    free(t->idx);
    free(t->flip);
    free(t->host_out);
    free(t->hist);
    free(t);
}

static cg_status check_shapes(cg_trainer *t) {
    cg_tensor g = cg_seq_output(t->G), d = cg_seq_input(t->D), o = cg_seq_output(t->D);
    const cg_data_source *s = t->data;
    if (g.c != s->c || g.h != s->h || g.w != s->w)
        return cg_fail(CG_ERR_CONFIG, "the generator makes [%d, %d, %d] samples but the data holds [%d, %d, %d] "
                                      "(check [model] image_size and channels against the dataset)",
                       g.c, g.h, g.w, s->c, s->h, s->w);
    if (d.c != s->c || d.h != s->h || d.w != s->w)
        return cg_fail(CG_ERR_CONFIG, "the discriminator takes [%d, %d, %d] inputs but the data holds [%d, %d, %d]",
                       d.c, d.h, d.w, s->c, s->h, s->w);
    if (cg_sample_size(o) != 1)
        return cg_fail(CG_ERR_CONFIG, "the discriminator must output one value per sample, not %zu", cg_sample_size(o));
    return CG_OK;
}

static cg_status build(cg_trainer *t, cg_seq *G, cg_seq *D) {
    cg_ctx *ctx = t->ctx;
    CG_TRY(cg_trainer_dist_setup(t)); // trainer_dist.c: this rank's slice of the batch
    int B = t->lb;
    if (!G || !D) {
        if (!G) CG_TRY(cg_model_generator(ctx, &t->mc, &t->G));
        if (!D) CG_TRY(cg_model_discriminator(ctx, &t->mc, &t->D));
        cg_rng rg = {(uint64_t)t->p.seed, CG_STREAM_INIT_G}, rd = {(uint64_t)t->p.seed, CG_STREAM_INIT_D};
        if (t->mc.type != CG_MODEL_VANILLA) {
            if (!G) CG_TRY(cg_init_dcgan(ctx, t->G, rg));
            if (!D) CG_TRY(cg_init_dcgan(ctx, t->D, rd));
        } else {
            if (!G) CG_TRY(cg_init_pytorch_default(ctx, t->G, rg));
            if (!D) CG_TRY(cg_init_pytorch_default(ctx, t->D, rd));
        }
    }
    if (t->p.init && *t->p.init) {
        const char *which = "";
        CG_TRY(cg_checkpoint_load_init(ctx, t->p.init, t->G, t->D, &which));
        if (!t->p.quiet) fprintf(stderr, "train: %s start from the weights in %s\n", which, t->p.init);
    }
    CG_TRY(cg_seq_fit_check(ctx, (cg_seq *[]){t->G, t->D}, (const char *[]){"generator", "discriminator"}, 2, B,
                            "[train] batch_size"));
    cg_status st = cg_seq_set_batch(ctx, t->G, B);
    if (st != CG_OK) return cg_fail_context(st, "the generator");
    st = cg_seq_set_batch(ctx, t->D, B);
    if (st != CG_OK) return cg_fail_context(st, "the discriminator");
    CG_TRY(check_shapes(t));
    t->bpe = t->data->count / t->p.batch_size;
    if (t->bpe == 0)
        return cg_fail(CG_ERR_CONFIG, "the training data holds %d samples, fewer than [train] batch_size = %d",
                       t->data->count, t->p.batch_size);
    st = cg_optimizer_create(ctx, t->p.opt_g, t->G->n_params, &t->og);
    if (st != CG_OK) return cg_fail_context(st, "the generator's optimizer");
    st = cg_optimizer_create(ctx, t->p.opt_d, t->D->n_params, &t->od);
    if (st != CG_OK) return cg_fail_context(st, "the discriminator's optimizer");
    CG_TRY(cg_buffer_alloc(ctx->rt, 4, &t->scal));
    CG_TRY(cg_buffer_alloc(ctx->rt, 4, &t->nonfinite));
    CG_TRY(cg_tensor_fill(ctx->rt, cg_view(t->scal, 0, 1, 1, 1, 4), 0.0f));
    if (t->p.gp_lambda > 0.0f) {
        CG_TRY(cg_grad_penalty_create(ctx, t->D, &t->gp));
        CG_TRY(cg_buffer_alloc(ctx->rt, cg_numel(cg_seq_input(t->D)), &t->real));
        CG_TRY(cg_buffer_alloc(ctx->rt, (size_t)B, &t->gp_eps));
    }
    t->perm = malloc((size_t)t->data->count * sizeof *t->perm);
    t->idx = malloc((size_t)B * sizeof *t->idx);
    t->flip = malloc((size_t)B);
    t->host_out = malloc(cg_numel(cg_seq_output(t->D)) * sizeof(float));
    if (!t->perm || !t->idx || !t->flip || !t->host_out) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    t->perm_epoch = -1;
    cg_trainer_dist_sync_bn(t, 1);
    return CG_OK;
}

cg_status cg_trainer_create(cg_ctx *ctx, const cg_train_params *p, const cg_model_config *mc, cg_seq *G, cg_seq *D,
                            cg_data_source *data, const char *config_text, cg_trainer **out) {
    *out = NULL;
    cg_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        cg_seq_free(G);
        cg_seq_free(D);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    t->ctx = ctx;
    t->p = *p;
    t->mc = *mc;
    t->G = G;
    t->D = D;
    t->data = data;
    t->config_text = strdup(config_text ? config_text : "");
    cg_status st = t->config_text ? build(t, G, D) : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st != CG_OK) {
        cg_trainer_free(t);
        return cg_fail_context(st, "setting up training");
    }
    *out = t;
    return CG_OK;
}

cg_status cg_trainer_save(cg_trainer *t, const char *path) {
    cg_ckpt_counters c = {t->step, t->batches, t->noise_batches, t->og->step, t->od->step, t->p.seed};
    return cg_checkpoint_save(t->ctx, path, t->G, t->D, t->og, t->od, &c, &t->mc, t->config_text);
}

cg_status cg_trainer_resume(cg_trainer *t, const char *path) {
    cg_ckpt_counters c;
    CG_TRY(cg_checkpoint_load(t->ctx, path, t->G, t->D, t->og, t->od, &c));
    if (c.seed != t->p.seed)
        return cg_fail(CG_ERR_CONFIG, "checkpoint %s was trained with seed %ld, the configuration says %ld: "
                                      "set [train] seed = %ld to continue it",
                       path, c.seed, t->p.seed, c.seed);
    t->step = c.step;
    t->batches = c.batches;
    t->noise_batches = c.noise_batches;
    snprintf(t->ckpt, sizeof t->ckpt, "%s", path);
    return CG_OK;
}

long cg_trainer_step(const cg_trainer *t) { return t->step; }
cg_optimizer *cg_trainer_optimizer(cg_trainer *t, char net) { return net == 'G' ? t->og : t->od; }
cg_seq *cg_trainer_generator(cg_trainer *t) { return t->G; }
cg_seq *cg_trainer_discriminator(cg_trainer *t) { return t->D; }
const char *cg_trainer_checkpoint_path(const cg_trainer *t) { return t->ckpt; }

cg_status cg_trainer_sample_fixed(cg_trainer *t, float **images) {
    *images = NULL;
    cg_ctx *ctx = t->ctx;
    cg_seq *G = t->G;
    int n = t->p.n_samples;
    float *stats = malloc((G->n_buffers + 1) * sizeof(float));
    if (!stats) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_tensor sv = cg_view(G->buffers, 0, 1, 1, 1, (int)G->n_buffers);
    cg_status st = G->n_buffers ? cg_tensor_read(ctx->rt, sv, stats) : CG_OK;
    cg_trainer_dist_sync_bn(t, 0); // one rank samples alone (rank 0 writes the grids)
    if (st == CG_OK) st = cg_seq_set_batch(ctx, G, n);
    cg_rng r = {(uint64_t)t->p.seed, CG_STREAM_FIXED};
    if (st == CG_OK) st = cg_rng_normal(ctx->rt, r, 0, cg_seq_input(G), 0.0f, 1.0f);
    if (st == CG_OK) st = cg_seq_forward(ctx, G, 1);
    if (st == CG_OK) {
        *images = malloc(cg_numel(cg_seq_output(G)) * sizeof(float));
        st = *images ? cg_tensor_read(ctx->rt, cg_seq_output(G), *images) : cg_fail(CG_ERR_NOMEM, "out of memory");
    }
    if (st == CG_OK && G->n_buffers) st = cg_tensor_write(ctx->rt, sv, stats);
    cg_status st2 = cg_seq_set_batch(ctx, G, t->lb);
    cg_trainer_dist_sync_bn(t, 1);
    free(stats);
    if (st == CG_OK) st = st2;
    if (st != CG_OK) {
        free(*images);
        *images = NULL;
    }
    return st;
}

cg_status cg_trainer_write_samples(cg_trainer *t) {
    cg_tensor g = cg_seq_output(t->G);
    if ((g.c != 1 && g.c != 3) || g.h < 4) return CG_OK; // not images (e.g. 2-D points)
    float *img;
    CG_TRY(cg_trainer_sample_fixed(t, &img));
    char dir[1200], path[1300];
    snprintf(dir, sizeof dir, "%s/samples", t->p.out);
    cg_status st = cg_mkdir_p(dir);
    snprintf(path, sizeof path, "%s/step_%06ld.png", dir, t->step);
    if (st == CG_OK) st = cg_grid_write_png(path, img, t->p.n_samples, g.c, g.h, g.w);
    snprintf(path, sizeof path, "%s/samples.png", t->p.out);
    if (st == CG_OK) st = cg_grid_write_png(path, img, t->p.n_samples, g.c, g.h, g.w);
    if (st == CG_OK) st = cg_trainer_log_samples(t, img, g.c, g.h, g.w);
    free(img);
    return st;
}
