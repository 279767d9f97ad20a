// cmd_train.c — `clgan train`: trains a GAN from [model] and [train] on a packed dataset, with
// checkpoints, samples, log.csv and loss.png in [train] out; --resume continues a checkpoint exactly;
// Ctrl-C finishes the iteration, saves a checkpoint and exits.
#include "cli.h"
#include "train.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested = 0;
static void on_sigint(int sig) {
    (void)sig;
    stop_requested = 1;
}

int cli_train_with(cg_runtime *rt, cg_config *cfg, const char *resume, int print_config, char *ckpt_out,
                   size_t ckpt_len) {
    cg_model_config mc;
    cg_train_params p;
    cg_status st = cg_model_config_read(cfg, &mc);
    if (st == CG_OK) st = cg_train_params_read(cfg, &mc, &p);
    if (st != CG_OK) return cli_report("train", st);
    if (print_config) cli_print_config(cfg);
    char *config_text = cg_config_dump_string(cfg);
    cg_ctx ctx = {rt, {0}};
    cg_data_source *data = NULL;
    cg_trainer *t = NULL;
    st = cg_data_packed_open(rt, p.dataset, &data);
    if (st == CG_OK) {
        fprintf(stderr, "train: %d images of %dx%dx%d from %s\n", data->count, data->w, data->h, data->c, p.dataset);
        st = cg_trainer_create(&ctx, &p, &mc, NULL, NULL, data, config_text, &t);
    }
    if (st == CG_OK && resume) {
        st = cg_trainer_resume(t, resume);
        if (st == CG_OK) fprintf(stderr, "train: resumed %s at iteration %ld\n", resume, cg_trainer_step(t));
    }
    if (st == CG_OK) {
        stop_requested = 0;
        void (*old)(int) = signal(SIGINT, on_sigint);
        st = cg_trainer_run(t, &stop_requested);
        signal(SIGINT, old);
    }
    if (st == CG_OK) {
        fprintf(stderr, "checkpoint: %s\nsamples:    %s/samples.png\nloss plot:  %s/loss.png\nlog:        %s/log.csv\n",
                cg_trainer_checkpoint_path(t), p.out, p.out, p.out);
        if (ckpt_out) snprintf(ckpt_out, ckpt_len, "%s", cg_trainer_checkpoint_path(t));
    }
    cg_trainer_free(t);
    cg_data_source_free(data);
    cg_workspace_free(&ctx.ws);
    free(config_text);
    return cli_report("train", st);
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *resume = NULL;
    const cli_opt opts[] = {
        {"resume", OPT_STRING, "CKPT", "continue a checkpoint exactly (same seed and configuration)", &resume},
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
    rc = cli_train_with(rt, cfg, resume, 1, NULL, 0);
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return rc;
}

const cli_command cmd_train = {
    "train",
    "train a GAN (vanilla, DCGAN, WGAN, WGAN-GP) on a packed dataset",
    "--config configs/dcgan.ini [--set train.batch_size=128] [--resume CKPT]",
    "Trains [model] (type vanilla | dcgan | wgan | wgan-gp) on [train] dataset (written by\n"
    "`clgan preprocess`); wgan-gp adds the gradient penalty ([train] gp_lambda, 10) instead of clipping.\n"
    "Writes into [train] out: log.csv (step, loss_d, loss_g, d_x, d_g_z every log_every iterations;\n"
    "loss_d includes the penalty), samples.png and samples/step_N.png\n"
    "(a grid from fixed noise every sample_every iterations; training-mode forward like pytorch/examples,\n"
    "BatchNorm running statistics untouched), checkpoint.safetensors every checkpoint_every iterations\n"
    "and at the end (atomic), and loss.png. Ctrl-C finishes the iteration and saves a checkpoint. A NaN\n"
    "or Inf loss stops the run naming the iteration and keeps the last good checkpoint. --resume CKPT\n"
    "continues bit for bit: data order, flips and noise derive from (seed, counters) by Philox.\n"
    "Keys and defaults: configs/dcgan.ini.",
    run,
};
