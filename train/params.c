// params.c — reads [train] into cg_train_params, with the reference hyperparameters of each model
// type as defaults (docs/architecture.md, Conventions).
#include "train.h"

#include <string.h>

static cg_opt_params adam(float lr, float b1, float b2) {
    cg_opt_params p = {CG_OPT_ADAM, lr, b1, b2, 1e-8f, 0.99f, 0.0f, 0.0f};
    return p;
}

cg_status cg_train_params_read(cg_config *cfg, const cg_model_config *mc, cg_train_params *p) {
    memset(p, 0, sizeof *p);
    const char *S = "train";
    int gp = mc->type == CG_MODEL_WGAN_GP, wgan = mc->type == CG_MODEL_WGAN || gp;
    p->loss = wgan ? CG_LOSS_WASSERSTEIN : CG_LOSS_BCE;
    double lr_def = gp ? 1e-4 : wgan ? 5e-5 : 2e-4, lr_g, lr_d, b1, b2, eps, alpha, clip, max_s, lambda;
    long v;
    const char *opt;
    CG_TRY(cg_config_str(cfg, S, "dataset", "data/celeba64.cgds", NULL, &p->dataset));
    CG_TRY(cg_config_str(cfg, S, "out", "out/train", NULL, &p->out));
    CG_TRY(cg_config_int(cfg, S, "iterations", 0, 0, 1000000000L, &p->iterations));
    CG_TRY(cg_config_int(cfg, S, "epochs", 5, 0, 1000000L, &p->epochs));
    if (!p->iterations && !p->epochs)
        return cg_fail(CG_ERR_CONFIG, "[train] iterations and epochs are both 0: set one of them");
    CG_TRY(cg_config_int(cfg, S, "batch_size", 64, 1, 1L << 24, &v)); // what fits: cg_seq_fit_check
    p->batch_size = (int)v;
    CG_TRY(cg_config_int(cfg, S, "seed", 1, 0, 2147483647L, &p->seed));
    CG_TRY(cg_config_bool(cfg, S, "flip", 1, &p->flip));
    int shuffle;
    CG_TRY(cg_config_bool(cfg, S, "shuffle", 1, &shuffle));
    p->in_order = !shuffle;
    CG_TRY(cg_config_str(cfg, S, "init", "", NULL, &p->init));
    CG_TRY(cg_config_str(cfg, S, "optimizer", wgan && !gp ? "rmsprop" : "adam", "adam|rmsprop|sgd", &opt));
    CG_TRY(cg_config_float(cfg, S, "lr", lr_def, 0.0, 1e38, &lr_g));
    lr_d = lr_g;
    CG_TRY(cg_config_float(cfg, S, "lr_g", lr_g, 0.0, 1e38, &lr_g));
    CG_TRY(cg_config_float(cfg, S, "lr_d", lr_d, 0.0, 1e38, &lr_d));
    CG_TRY(cg_config_float(cfg, S, "beta1", gp ? 0.0 : 0.5, 0.0, 0.999999, &b1));
    CG_TRY(cg_config_float(cfg, S, "beta2", gp ? 0.9 : 0.999, 0.0, 0.999999, &b2));
    CG_TRY(cg_config_float(cfg, S, "eps", 1e-8, 0.0, 1.0, &eps));
    CG_TRY(cg_config_float(cfg, S, "rmsprop_alpha", 0.99, 0.0, 1.0, &alpha));
    cg_opt_kind kind = !strcmp(opt, "adam") ? CG_OPT_ADAM : !strcmp(opt, "rmsprop") ? CG_OPT_RMSPROP : CG_OPT_SGD;
    p->opt_g = adam((float)lr_g, (float)b1, (float)b2);
    p->opt_g.kind = kind;
    p->opt_g.eps = (float)eps;
    p->opt_g.alpha = (float)alpha;
    p->opt_d = p->opt_g;
    p->opt_d.lr = (float)lr_d;
    CG_TRY(cg_config_int(cfg, S, "n_critic", wgan ? 5 : 1, 1, 10000, &v));
    p->n_critic = (int)v;
    int warm = wgan && !gp; // the WGAN reference's 100 critic steps at the start and every 500th
    CG_TRY(cg_config_int(cfg, S, "n_critic_warmup", warm ? 100 : p->n_critic, 1, 100000, &v));
    p->n_critic_warmup = (int)v;
    CG_TRY(cg_config_int(cfg, S, "warmup_steps", warm ? 25 : 0, 0, 1000000000L, &p->warmup_steps));
    CG_TRY(cg_config_int(cfg, S, "warmup_every", warm ? 500 : 0, 0, 1000000000L, &p->warmup_every));
    CG_TRY(cg_config_float(cfg, S, "clip", warm ? 0.01 : 0.0, 0.0, 1e6, &clip));
    p->clip = (float)clip;
    CG_TRY(cg_config_float(cfg, S, "gp_lambda", gp ? 10.0 : 0.0, 0.0, 1e6, &lambda));
    p->gp_lambda = (float)lambda;
    if (p->gp_lambda > 0.0f && !gp)
        return cg_fail(CG_ERR_CONFIG, "[train] gp_lambda = %g: the gradient penalty needs [model] type = wgan-gp "
                                      "(a critic without BatchNorm)", lambda);
    CG_TRY(cg_config_int(cfg, S, "log_every", 50, 1, 1000000000L, &p->log_every));
    CG_TRY(cg_config_int(cfg, S, "sample_every", 500, 0, 1000000000L, &p->sample_every));
    CG_TRY(cg_config_int(cfg, S, "checkpoint_every", 1000, 0, 1000000000L, &p->checkpoint_every));
    CG_TRY(cg_config_int(cfg, S, "nan_check_every", 1, 1, 1000000000L, &p->nan_check_every));
    CG_TRY(cg_config_int(cfg, S, "samples", 64, 1, 1024, &v));
    p->n_samples = (int)v;
    CG_TRY(cg_config_float(cfg, S, "max_seconds", 0.0, 0.0, 1e9, &max_s));
    p->max_seconds = max_s;
    CG_TRY(cg_config_bool(cfg, S, "tensorboard", 1, &p->tensorboard));
    CG_TRY(cg_config_bool(cfg, S, "sync_bn", 1, &p->sync_bn));
    CG_TRY(cg_config_int(cfg, S, "profile", 0, 0, 1000000000L, &p->profile));
    CG_TRY(cg_config_str(cfg, S, "log_dir", "tensorboard", NULL, &p->log_dir));
    if (p->tensorboard && !*p->log_dir) return cg_fail(CG_ERR_CONFIG, "[train] log_dir is empty: name a folder");
    if (!*p->out) return cg_fail(CG_ERR_CONFIG, "[train] out is empty: name an output folder");
    return CG_OK;
}
