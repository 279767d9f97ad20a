// cmd_train.c — `clgan train`: trains a GAN from [model] and [train] on a packed dataset, with
// checkpoints, samples, log.csv and loss.png in [train] out; --resume continues a checkpoint exactly;
// SIGINT, SIGTERM or SIGHUP finishes the iteration, saves a checkpoint and exits with status 3 (while
// still loading: stops before training, having written nothing).
#include "cli.h"
#include "dist.h"
#include "train.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested = 0;
static void on_stop_signal(int sig) { stop_requested = sig; }

static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};

// The first SIGINT, SIGTERM or SIGHUP asks the trainer to finish its iteration and save; the
// handler then resets, so a second one ends the process at once.
static void catch_stop_signals(struct sigaction old[3]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    for (int i = 0; i < 3; i++) sigaction(stop_signals[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction old[3]) {
    for (int i = 0; i < 3; i++) sigaction(stop_signals[i], &old[i], NULL);
}

// The trainer's goal (trainer.c): iterations, else ceil(epochs * batches per epoch / n_critic).
static long total_steps(const cg_train_params *p, int count) {
    if (p->iterations) return p->iterations;
    long batches = p->epochs * (count / p->batch_size);
    return (batches + p->n_critic - 1) / p->n_critic;
}

static cg_status resume_from(cg_trainer *t, const char *resume, const cg_train_params *p, int count) {
    CG_TRY(cg_trainer_resume(t, resume));
    long step = cg_trainer_step(t), total = total_steps(p, count);
    if (step > total)
        return cg_fail(CG_ERR_CONFIG, "--resume %s: the checkpoint is at iteration %ld, past the %ld this "
                       "configuration trains for: raise [train] iterations (or epochs) to continue it",
                       resume, step, total);
    if (cg_dist_rank() == 0) fprintf(stderr, "train: resumed %s at iteration %ld\n", resume, step);
    return CG_OK;
}

int cli_train_with(cg_runtime *rt, cg_config *cfg, const char *resume, int force, int print_config, char *ckpt_out,
                   size_t ckpt_len) {
    cg_model_config mc;
    cg_train_params p;
    cg_status st = cg_model_config_read(cfg, &mc);
    if (st == CG_OK) st = cg_train_params_read(cfg, &mc, &p);
    if (st != CG_OK) return cli_report("train", st);
    // From here a signal stops the run: while loading, before anything is written (exit 3, saying
    // so); once training, after the iteration, with a checkpoint saved.
    struct sigaction old[3];
    catch_stop_signals(old);
    if (print_config && cli_print_config(cfg)) {
        restore_signals(old);
        return EXIT_USAGE;
    }
    char *config_text = cg_config_dump_string(cfg);
    cg_ctx ctx = {rt, {0}};
    cg_data_source *data = NULL;
    cg_trainer *t = NULL;
    int lock_fd = -1;
    st = config_text ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK && !stop_requested && resume) st = cli_resume_check(resume, config_text, force, stderr);
    // Under mpirun rank 0 owns the run folder (lock, log, samples, checkpoints); every rank reads the
    // dataset and, with --resume, the checkpoint (docs/distributed.md).
    int lead = cg_dist_rank() == 0;
    if (st == CG_OK && !stop_requested && lead) st = cli_run_folder_claim(p.out, resume != NULL, force, &lock_fd);
    if (st == CG_OK && !stop_requested) st = cg_data_packed_open(rt, p.dataset, &data);
    if (st == CG_OK && cg_dist_size() > 1 && lead)
        fprintf(stderr, "train: %d MPI ranks, %d images each of a global batch of %d (SyncBN %s)\n", cg_dist_size(),
                p.batch_size / cg_dist_size(), p.batch_size, p.sync_bn ? "on" : "off");
    if (st == CG_OK && !stop_requested) {
        if (lead) fprintf(stderr, "train: %d images of %dx%dx%d from %s\n", data->count, data->w, data->h, data->c, p.dataset);
        st = cg_trainer_create(&ctx, &p, &mc, NULL, NULL, data, config_text, &t);
    }
    if (st == CG_OK && !stop_requested && resume) st = resume_from(t, resume, &p, data->count);
    int interrupted = 0, before_start = st == CG_OK && stop_requested;
    if (st == CG_OK && !before_start) {
        st = cg_trainer_run(t, &stop_requested);
        interrupted = stop_requested && cg_trainer_step(t) < total_steps(&p, data->count);
    }
    restore_signals(old);
    if (before_start)
        fprintf(stderr, "train: stopped by signal %d before training started; nothing was written\n",
                (int)stop_requested);
    if (st == CG_OK && lead && !before_start) {
        fprintf(stderr, "checkpoint: %s\nsamples:    %s/samples.png\nloss plot:  %s/loss.png\nlog:        %s/log.csv\n",
                cg_trainer_checkpoint_path(t), p.out, p.out, p.out);
        if (ckpt_out) snprintf(ckpt_out, ckpt_len, "%s", cg_trainer_checkpoint_path(t));
        if (interrupted)
            fprintf(stderr, "train: stopped by signal %d at iteration %ld; continue with --resume %s\n",
                    (int)stop_requested, cg_trainer_step(t), cg_trainer_checkpoint_path(t));
    }
    cg_trainer_free(t);
    cg_data_source_free(data);
    cg_workspace_free(&ctx.ws);
    cli_run_folder_release(lock_fd);
    free(config_text);
    if (st == CG_OK && (interrupted || before_start)) return EXIT_INTERRUPTED;
    return cli_report("train", st);
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *resume = NULL;
    int force = 0;
    const cli_opt opts[] = {
        {"resume", OPT_STRING, "CKPT", "continue a checkpoint exactly (same seed and configuration)", &resume},
        {"force", OPT_FLAG, NULL, "start over in a folder that holds a run; resume with a changed configuration",
         &force},
        {0},
    };
    int rc = cli_parse(&cmd_train, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_train, opts, stdout);
        return EXIT_OK;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    cg_runtime *rt = NULL;
    cg_status st = cli_open_runtime(cfg, &common, &rt);
    if (st != CG_OK) {
        cg_config_free(cfg);
        return cli_report("train", st);
    }
    rc = cli_train_with(rt, cfg, resume, force, 1, NULL, 0);
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return rc;
}

const cli_command cmd_train = {
    "train",
    "train a GAN (vanilla, DCGAN, WGAN, WGAN-GP) on a packed dataset",
    "--config configs/dcgan.ini [--set train.batch_size=128] [--resume CKPT] [--force]",
    "Trains [model] (type vanilla | dcgan | wgan | wgan-gp) on [train] dataset (written by\n"
    "`clgan preprocess`); wgan-gp adds the gradient penalty ([train] gp_lambda, 10) instead of clipping.\n"
    "Writes into [train] out: log.csv (step, loss_d, loss_g, d_x, d_g_z every log_every iterations;\n"
    "loss_d includes the penalty), samples.png and samples/step_N.png\n"
    "(a grid from fixed noise every sample_every iterations; training-mode forward like pytorch/examples,\n"
    "BatchNorm running statistics untouched), checkpoint.safetensors every checkpoint_every iterations\n"
    "and at the end (atomic), and loss.png. SIGINT (Ctrl-C), SIGTERM or SIGHUP finishes the iteration,\n"
    "saves a checkpoint and exits with status 3 (a second signal ends it at once). A NaN or Inf loss\n"
    "stops the run naming the iteration and keeps the last good checkpoint. --resume CKPT continues bit\n"
    "for bit: data order, flips and noise derive from (seed, counters) by Philox; a changed model,\n"
    "optimizer, dataset, batch size, learning rate or other training value is refused (--force: warned).\n"
    "A folder that already holds a run (a checkpoint or logged rows) is refused unless --resume or\n"
    "--force; one trainer at a time writes into a folder (a lock file), and temporary files that a\n"
    "killed save left behind are removed when the next run starts.\n"
    "Keys and defaults: configs/dcgan.ini.",
    run,
};
