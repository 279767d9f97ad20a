// trainer.c — the GAN training loop. One generator step ("iteration") is n_critic discriminator
// steps followed by one generator step, as in pytorch/examples dcgan (BCE: real then fake through
// D, G reuses the fake batch of the last D step) and the WGAN reference (critic clipped before
// each step, 100 critic steps during warm-up and every 500th generator step, fresh noise for G).
// WGAN-GP adds to each critic step the gradient penalty on random interpolates of the real and the
// fake batch (nets/gradient_penalty.c), no clipping.
// Scalars are read back only to log, to check for NaN/Inf and before checkpoints.
// Under MPI (trainer_dist.c) each rank runs this loop on its slice of every global batch: sample j
// of the slice is position r*lb + j of the global batch for the data order, flips, noise and the
// penalty's mixing weights; gradients, losses and D's means are averaged over the ranks; rank 0
// alone writes log.csv, samples, plots and checkpoints, and the ranks agree after every iteration
// on failures and stop requests.
#include "dist.h"
#include "kernel_profile.h"
#include "trainer_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cg_tensor scalar(cg_trainer *t, int i) { return cg_view(t->scal, (size_t)i, 1, 1, 1, 1); }

// Real batch number t->batches into D's input: epoch permutation, flips, device conversion.
static cg_status load_real(cg_trainer *t) {
    int B = t->p.batch_size, first = t->rank * t->lb;
    long epoch = t->batches / t->bpe, pos = t->batches % t->bpe;
    if (!t->p.in_order && epoch != t->perm_epoch) {
        cg_data_permutation((uint64_t)t->p.seed, (uint64_t)epoch, t->perm, (uint32_t)t->data->count);
        t->perm_epoch = epoch;
    }
    cg_rng fr = {(uint64_t)t->p.seed, CG_STREAM_FLIP};
    for (int j = 0; j < t->lb; j++) {
        uint32_t i = (uint32_t)((size_t)pos * B + first + j);
        t->idx[j] = t->p.in_order ? i : t->perm[i];
        t->flip[j] = t->p.flip && cg_rng_uniform_at(fr, (uint64_t)t->batches * B + first + j) < 0.5f;
    }
    t->batches++;
    return t->data->load(t->data, t->ctx, t->idx, t->flip, t->lb, cg_seq_input(t->D));
}

// A failure in one of net's ('G' or 'D') passes names the net: "the discriminator's forward pass: ...".
static cg_status named(cg_status st, char net, const char *what) {
    if (st == CG_OK) return st;
    return cg_fail_context(st, "the %s's %s", net == 'G' ? "generator" : "discriminator", what);
}

// Noise batch number t->noise_batches (this rank's slice of it) into G's input, then G forward.
static cg_status generate(cg_trainer *t) {
    cg_tensor z = cg_seq_input(t->G);
    cg_rng r = {(uint64_t)t->p.seed, CG_STREAM_NOISE};
    uint64_t per = cg_numel(z) / (size_t)t->lb, first = ((uint64_t)t->noise_batches * t->p.batch_size + (uint64_t)t->rank * t->lb) * per;
    if (t->hooks.noise) CG_TRY(t->hooks.noise(t->hooks.user, t->noise_batches, z));
    else CG_TRY(cg_rng_normal(t->ctx->rt, r, first, z, 0.0f, 1.0f));
    t->noise_batches++;
    return named(cg_seq_forward(t->ctx, t->G, 1), 'G', "forward pass");
}

// Loss of D's output against the target (BCE: 1 real, 0 fake; Wasserstein: sign) into scalar i.
static cg_status d_loss(cg_trainer *t, int real_target, int i) {
    cg_tensor out = cg_seq_output(t->D), dout = cg_seq_doutput(t->D);
    if (t->p.loss == CG_LOSS_BCE) return cg_bce_logits(t->ctx, out, real_target ? 1.0f : 0.0f, scalar(t, i), dout);
    return cg_wasserstein(t->ctx, out, real_target ? -1.0f : 1.0f, scalar(t, i), dout);
}

static cg_status backward(cg_trainer *t, char net, const cg_tensor *dx) {
    cg_seq *s = net == 'G' ? t->G : t->D;
    long *count = net == 'G' ? &t->backwards_g : &t->backwards_d;
    if (t->hooks.before_backward) CG_TRY(t->hooks.before_backward(t->hooks.user, net, *count, s));
    ++*count;
    return named(cg_seq_backward(t->ctx, s, dx), net, "backward pass");
}

// Mean of sigmoid(D output) (BCE) or of the scores (WGAN), read back for the log.
static cg_status d_mean(cg_trainer *t, float *out) {
    cg_tensor o = cg_seq_output(t->D);
    CG_TRY(named(cg_tensor_read(t->ctx->rt, o, t->host_out), 'D', "output read-back"));
    double s = 0;
    for (size_t i = 0; i < cg_numel(o); i++) {
        double v = t->host_out[i];
        s += t->p.loss == CG_LOSS_BCE ? 1.0 / (1.0 + exp(-v)) : v;
    }
    *out = (float)(s / (double)cg_numel(o));
    return cg_trainer_dist_mean(t, out, 1);
}

// D's input <- eps * real + (1 - eps) * fake per sample, eps ~ U(0, 1) from {seed, GP} indexed by the
// real batch just loaded; then the penalty (scalar 3) and its gradient, added to D's.
static cg_status penalty(cg_trainer *t) {
    cg_ctx *ctx = t->ctx;
    cg_tensor in = cg_seq_input(t->D), fake = cg_seq_output(t->G), eps = cg_view(t->gp_eps, 0, 1, 1, 1, in.n);
    cg_rng r = {(uint64_t)t->p.seed, CG_STREAM_GP};
    if (t->hooks.gp_eps) CG_TRY(t->hooks.gp_eps(t->hooks.user, t->batches - 1, eps));
    else CG_TRY(cg_rng_uniform(ctx->rt, r, (uint64_t)(t->batches - 1) * (uint64_t)t->p.batch_size + (uint64_t)t->rank * t->lb,
                               eps, 0.0f, 1.0f));
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "train", "gp_interpolate", &k));
    cl_ulong per = cg_sample_size(in), n = cg_numel(in), foff = fake.off, ioff = in.off;
    CG_TRY(cg_launch1d(ctx->rt, k, n, CG_ARG(t->real), CG_ARG(fake.buf), CG_ARG(foff), CG_ARG(t->gp_eps),
                       CG_ARG(in.buf), CG_ARG(ioff), CG_ARG(per), CG_ARG(n)));
    return cg_grad_penalty_step(ctx, t->gp, t->p.gp_lambda, scalar(t, 3));
}

static cg_status d_step(cg_trainer *t, int log) {
    cg_ctx *ctx = t->ctx;
    if (t->p.clip > 0.0f) CG_TRY(cg_clip(ctx, t->D->params, t->D->n_params, -t->p.clip, t->p.clip));
    CG_TRY(named(cg_seq_zero_grad(ctx, t->D), 'D', "gradient reset"));
    CG_TRY(load_real(t));
    if (t->gp) CG_TRY(cg_tensor_copy(ctx->rt, cg_view(t->real, 0, 1, 1, 1, (int)cg_numel(cg_seq_input(t->D))),
                                     cg_seq_input(t->D)));
    CG_TRY(named(cg_seq_forward(ctx, t->D, 1), 'D', "forward pass"));
    if (log) CG_TRY(d_mean(t, &t->rec.d_x));
    CG_TRY(d_loss(t, 1, 0));
    CG_TRY(backward(t, 'D', NULL));
    CG_TRY(generate(t));
    CG_TRY(cg_tensor_copy(ctx->rt, cg_seq_input(t->D), cg_seq_output(t->G)));
    CG_TRY(named(cg_seq_forward(ctx, t->D, 1), 'D', "forward pass"));
    if (log) CG_TRY(d_mean(t, &t->rec.d_g_z));
    CG_TRY(d_loss(t, 0, 1));
    CG_TRY(backward(t, 'D', NULL));
    if (t->gp) CG_TRY(penalty(t));
    CG_TRY(cg_trainer_dist_average_grads(t, t->D));
    if (t->hooks.before_update) CG_TRY(t->hooks.before_update(t->hooks.user, 'D', t->od->step, t->D));
    return named(cg_optimizer_step(ctx, t->od, t->D->params, t->D->grads), 'D', "optimizer step");
}

static cg_status g_step(cg_trainer *t) {
    cg_ctx *ctx = t->ctx;
    CG_TRY(named(cg_seq_zero_grad(ctx, t->G), 'G', "gradient reset"));
    if (t->p.loss == CG_LOSS_WASSERSTEIN) {
        CG_TRY(generate(t));
        CG_TRY(cg_tensor_copy(ctx->rt, cg_seq_input(t->D), cg_seq_output(t->G)));
    } // BCE: D's input still holds the fake batch of the last D step (pytorch/examples)
    CG_TRY(named(cg_seq_forward(ctx, t->D, 1), 'D', "forward pass"));
    CG_TRY(d_loss(t, 1, 2));
    cg_tensor dfake = cg_seq_doutput(t->G);
    CG_TRY(backward(t, 'D', &dfake));
    CG_TRY(backward(t, 'G', NULL));
    CG_TRY(cg_trainer_dist_average_grads(t, t->G));
    if (t->hooks.before_update) CG_TRY(t->hooks.before_update(t->hooks.user, 'G', t->og->step, t->G));
    return named(cg_optimizer_step(ctx, t->og, t->G->params, t->G->grads), 'G', "optimizer step");
}

static int critic_steps(const cg_trainer *t) {
    long s = t->step;
    if (t->p.loss != CG_LOSS_WASSERSTEIN) return t->p.n_critic;
    if (s < t->p.warmup_steps || (t->p.warmup_every && s % t->p.warmup_every == 0)) return t->p.n_critic_warmup;
    return t->p.n_critic;
}

// Reads the three loss scalars into t->rec; CG_ERR_NUMERIC naming the step when one is not finite.
// Under MPI the ranks first agree on their own losses, so a NaN from one rank's slice names it.
static cg_status read_losses(cg_trainer *t) {
    float s[4];
    cg_status st = cg_tensor_read(t->ctx->rt, cg_view(t->scal, 0, 1, 1, 1, 4), s);
    if (st != CG_OK) st = cg_fail_context(st, "reading back the losses of iteration %ld", t->step);
    if (st != CG_OK) return t->ranks > 1 ? cg_dist_notify_failure(st) : st; // the others wait below
    int finite = isfinite(s[0]) && isfinite(s[1]) && isfinite(s[2]) && isfinite(s[3]);
    if (t->ranks > 1) {
        int stop = 0, failed;
        CG_TRY(cg_dist_agree(finite ? CG_OK
                                    : cg_fail(CG_ERR_NUMERIC,
                                              "training diverged: a loss on rank %d is not finite at iteration %ld "
                                              "(its slice of the global batch, images [%d, %d) of %d: Loss_D real %g, "
                                              "fake %g, penalty %g, Loss_G %g); all ranks stopped without saving; the "
                                              "last good checkpoint is %s",
                                              t->rank, t->step, t->rank * t->lb, (t->rank + 1) * t->lb,
                                              t->p.batch_size, (double)s[0], (double)s[1], (double)s[3], (double)s[2],
                                              t->ckpt[0] ? t->ckpt : "(none saved yet)"),
                             &stop, &failed));
        CG_TRY(cg_trainer_dist_mean(t, s, 4));
        finite = isfinite(s[0]) && isfinite(s[1]) && isfinite(s[2]) && isfinite(s[3]);
    }
    t->rec.step = t->step;
    t->rec.loss_d = s[0] + s[1] + s[3];
    t->rec.loss_g = s[2];
    t->rec.penalty = s[3];
    if (finite) return CG_OK;
    return cg_fail(CG_ERR_NUMERIC,
                   "training diverged: a loss is not finite at iteration %ld (Loss_D real %g, fake %g, penalty %g, "
                   "Loss_G %g); stopped without saving; the last good checkpoint is %s",
                   t->step, (double)s[0], (double)s[1], (double)s[3], (double)s[2],
                   t->ckpt[0] ? t->ckpt : "(none saved yet)");
}

cg_status cg_trainer_iterate(cg_trainer *t, int record) {
    int n = critic_steps(t);
    for (int i = 0; i < n; i++) CG_TRY(d_step(t, record && i == n - 1));
    CG_TRY(g_step(t));
    t->step++;
    return record ? read_losses(t) : CG_OK;
}

const cg_train_record *cg_trainer_record(const cg_trainer *t) { return &t->rec; }

void cg_trainer_set_hooks(cg_trainer *t, const cg_train_hooks *h) {
    memset(&t->hooks, 0, sizeof t->hooks);
    if (h) t->hooks = *h;
    // A before_backward hook reads (and may rewrite) the activation inputs, the BatchNorm outputs a
    // fused BatchNorm + activation never writes (chain.c): keep them; the same bits (test_bn_fuse).
    cg_seq_keep_acts(t->G, t->hooks.before_backward != NULL);
    cg_seq_keep_acts(t->D, t->hooks.before_backward != NULL);
}

static int due(long step, long every) { return every > 0 && step % every == 0; }

static cg_status save_outputs(cg_trainer *t, int samples) {
    char path[1200];
    CG_TRY(cg_trainer_check_params(t)); // param_check.c: never save NaN/Inf weights
    if (samples) CG_TRY(cg_trainer_write_samples(t));
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", t->p.out);
    CG_TRY(cg_trainer_save(t, path));
    snprintf(t->ckpt, sizeof t->ckpt, "%s", path);
    snprintf(path, sizeof path, "%s/loss.png", t->p.out);
    return cg_plot_losses(path, t->hist, t->n_hist);
}

static long total_steps(const cg_trainer *t) {
    if (t->p.iterations) return t->p.iterations;
    long batches = t->p.epochs * t->bpe, per = t->p.n_critic;
    return (batches + per - 1) / per;
}

// What a rank asks for after an iteration (agreed over the ranks by the largest): a stop signal s
// as STOP_SIGNAL + s wins over the time limit.
enum { STOP_NONE = 0, STOP_TIME = 1, STOP_SIGNAL = 100 };

// After [train] profile iterations: the kernel profile to out/profile.md and .json (and stderr).
static cg_status trainer_profile_end(cg_trainer *t) {
    cg_kernel_profile prof;
    cg_status st = cg_profile_end(t->ctx->rt, &prof);
    prof.iterations = (int)t->p.profile;
    if (st == CG_OK) st = cg_kernel_profile_write(&prof, t->p.out, 60);
    char *md = st == CG_OK && !t->p.quiet ? cg_kernel_profile_markdown(&prof, 25) : NULL;
    if (md)
        fprintf(stderr, "\ntrain: kernel profile of the first %ld iterations of this run (%s/profile.md):\n%s\n",
                t->p.profile, t->p.out, md);
    free(md);
    cg_kernel_profile_free(&prof);
    return st;
}

cg_status cg_trainer_run(cg_trainer *t, volatile sig_atomic_t *stop) {
    long total = total_steps(t);
    int lead = t->rank == 0, failed = -1, alone = 0;
    cg_status st = CG_OK;
    if (lead) { // rank 0 alone writes into the run folder
        st = cg_mkdir_p(t->p.out);
        if (st == CG_OK) st = cg_trainer_log_open(t);
    }
    int want = STOP_NONE;
    CG_TRY(cg_dist_agree(st, &want, &failed));
    cg_progress *bar = t->p.quiet || !lead ? NULL : cg_progress_begin("train", (uint64_t)total, "it", stderr);
    if (bar) cg_progress_update(bar, (uint64_t)t->step, NULL);
    double t0 = cg_now_s();
    const char *why = "done";
    char status[96] = "";
    long prof_end = t->p.profile > 0 && lead ? t->step + t->p.profile : -1; // [train] profile (kernel_profile.h)
    if (prof_end > 0 && st == CG_OK) st = cg_profile_begin(t->ctx->rt);
    while (t->step < total) {
        int log = due(t->step + 1, t->p.log_every) || t->step + 1 == total;
        int ckpt = due(t->step + 1, t->p.checkpoint_every), sample = due(t->step + 1, t->p.sample_every);
        int check = log || ckpt || due(t->step + 1, t->p.nan_check_every);
        st = cg_trainer_iterate(t, check);
        // Under MPI a failure inside the iteration is either agreed already (non-finite gradients or
        // losses, trainer_dist.c and read_losses), another rank's failure notice, or this rank's own
        // (a device error) while the others may wait for it in a collective: it tells them (dist.h).
        if (st != CG_OK && t->ranks > 1) {
            if (!cg_dist_failed_together()) st = cg_dist_notify_failure(cg_fail_context(st, "in iteration %ld", t->step + 1));
            if (cg_dist_noticed()) st = cg_dist_notice_status(); // the same "rank R: ..." line on every rank
            alone = 1;
            break;
        }
        if (st == CG_OK && t->step == prof_end) st = trainer_profile_end(t);
        if (st == CG_OK && check) st = cg_trainer_check_params(t); // param_check.c
        if (st == CG_OK && log) {
            if (lead) st = cg_trainer_log_record(t);
            snprintf(status, sizeof status, "Loss_D %.3f Loss_G %.3f", (double)t->rec.loss_d, (double)t->rec.loss_g);
        }
        if (bar && st == CG_OK) cg_progress_update(bar, (uint64_t)t->step, status[0] ? status : NULL);
        want = stop && *stop ? STOP_SIGNAL + (int)*stop
               : t->p.max_seconds > 0 && cg_now_s() - t0 >= t->p.max_seconds ? STOP_TIME : STOP_NONE;
        if (st == CG_OK && want == STOP_NONE && t->step < total && lead) {
            if (ckpt) st = save_outputs(t, 0);
            if (st == CG_OK && sample) st = cg_trainer_write_samples(t);
        }
        st = cg_dist_agree(st, &want, &failed);
        if (st != CG_OK) break;
        if (ckpt && want == STOP_NONE && !lead) // rank 0 saved it: the others name it in their messages
            snprintf(t->ckpt, sizeof t->ckpt, "%s/checkpoint.safetensors", t->p.out);
        if (want != STOP_NONE && t->step < total) {
            why = want >= STOP_SIGNAL ? "interrupted" : "time limit";
            if (want >= STOP_SIGNAL && stop && !*stop) *stop = (sig_atomic_t)(want - STOP_SIGNAL); // raised elsewhere
            st = read_losses(t);
            if (st == CG_OK && lead) st = save_outputs(t, 1);
            break;
        }
    }
    if (st == CG_OK && !strcmp(why, "done")) {
        st = read_losses(t);
        if (st == CG_OK && lead) st = save_outputs(t, 1);
    }
    if (bar) cg_progress_end(bar);
    cg_trainer_log_close(t);
    // The last saves are rank 0's: every rank ends with its outcome (unless the ranks already hold
    // a failure: the loss read-back after the loop agrees or sends a notice).
    if (st != CG_OK && cg_dist_noticed()) st = cg_dist_notice_status();
    if (failed < 0 && !alone && !cg_dist_failed_together()) {
        int none = STOP_NONE;
        st = cg_dist_agree(st, &none, &failed);
        if (t->ranks > 1) cg_dist_set_agreed(1);
    }
    if (st == CG_OK && !t->p.quiet && lead)
        fprintf(stderr, "train: %s at iteration %ld of %ld (%.1f s)\n", why, t->step, total, cg_now_s() - t0);
    return st;
}
