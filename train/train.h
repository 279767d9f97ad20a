// train.h — public API of clgan's trainer: data sources (packed datasets, in-memory float data),
// training parameters ([train]), the GAN training loop (vanilla/DCGAN with BCE, WGAN with weight
// clipping), checkpoints that resume bit for bit, image grids and loss-curve plots.
//
// Reproducibility: every random draw is a pure function of (seed, counter) through Philox
// (runtime.h), so the only state a resumed run needs is the counters saved in the checkpoint:
//   data order   epoch e's permutation: Fisher-Yates driven by the stream {seed, SHUFFLE + e}
//   flips        batch b, sample j: uniform at index b * batch + j of {seed, FLIP} < 0.5
//   noise        noise batch k: normals at k * batch * nz ... of {seed, NOISE}
//   fixed noise  the sample grid's z: normals of {seed, FIXED} from 0
#ifndef CLGAN_TRAIN_H
#define CLGAN_TRAIN_H

#include "models.h"
#include "nets.h"

#include <signal.h>

enum { CG_STREAM_INIT_G = 1, CG_STREAM_INIT_D = 2, CG_STREAM_FLIP = 3, CG_STREAM_NOISE = 4, CG_STREAM_FIXED = 5,
       CG_STREAM_GP = 6, CG_STREAM_SHUFFLE = 1000 };

// ---------------------------------------------------------------------------------------------
// Data sources: a fixed set of `count` samples of shape [c, h, w] that load batches onto the device.

typedef struct cg_data_source cg_data_source;
struct cg_data_source {
    int count, c, h, w;
    // Writes samples idx[0..n) into x ([n, c, h, w], contiguous), sample j mirrored left-right when
    // flip[j] != 0 (flip may be NULL). Values in [-1, 1] for images.
    cg_status (*load)(cg_data_source *src, cg_ctx *ctx, const uint32_t *idx, const uint8_t *flip, int n,
                      cg_tensor x);
    void (*destroy)(cg_data_source *src);
    void *state;
};

// A packed dataset (preprocess.h) mapped from disk: uint8 NHWC -> float NCHW on the device.
cg_status cg_data_packed_open(cg_runtime *rt, const char *path, cg_data_source **out);
// count samples of [c, h, w] floats, copied from data (dense NCHW).
cg_status cg_data_memory_create(const float *data, int count, int c, int h, int w, cg_data_source **out);
void cg_data_source_free(cg_data_source *src);

// The permutation of epoch `epoch` of [0, count) (perm holds count entries).
void cg_data_permutation(uint64_t seed, uint64_t epoch, uint32_t *perm, uint32_t count);

// ---------------------------------------------------------------------------------------------
// Training parameters ([train] in configs/*.ini).

typedef enum { CG_LOSS_BCE, CG_LOSS_WASSERSTEIN } cg_loss_kind;

typedef struct {
    const char *dataset;     // packed dataset path
    const char *out;         // output folder: checkpoints, samples, log.csv, loss.png
    long iterations;         // generator steps; 0: epochs * batches per epoch
    long epochs;
    int batch_size;
    long seed;
    int flip;                // random horizontal flips
    int in_order;            // read the data in its own order ([train] shuffle = false); else a new
                             // permutation every epoch
    const char *init;        // weights to start from instead of the initialiser (NULL or "" = none)
    cg_loss_kind loss;
    cg_opt_params opt_g, opt_d;
    int n_critic;            // critic steps per generator step (1 for BCE models)
    int n_critic_warmup;     // ... during the first warmup_steps generator steps and every warmup_every-th
    long warmup_steps, warmup_every;
    float clip;              // critic weight clipping (WGAN), 0 = none
    float gp_lambda;         // gradient penalty weight (WGAN-GP), 0 = none
    long log_every, sample_every, checkpoint_every, nan_check_every;
    int n_samples;           // images in the sample grid
    double max_seconds;      // stop (with a checkpoint) after this much wall time; 0 = no limit
    int quiet;               // no progress bar (tests)
    int tensorboard;         // TensorBoard event files in log_dir (docs/logs.md)
    const char *log_dir;     // relative to out unless absolute
    int sync_bn;             // under MPI: BatchNorm statistics over the global batch (SyncBN; default on)
    long profile;            // kernel profile of the first N iterations into out/profile.md, .json (0 = off)
} cg_train_params;

// Reads [train] (defaults by model type: dcgan/vanilla Adam 2e-4 (0.5, 0.999), wgan RMSprop 5e-5,
// clip 0.01, n_critic 5 (100 warm-up); wgan-gp Adam 1e-4 (0, 0.9), gradient penalty 10, n_critic 5).
cg_status cg_train_params_read(cg_config *cfg, const cg_model_config *mc, cg_train_params *p);

// ---------------------------------------------------------------------------------------------
// The trainer.

typedef struct cg_trainer cg_trainer;

// Logged every log_every generator steps.
typedef struct {
    long step;
    float loss_d, loss_g;
    float d_x, d_g_z;  // mean sigmoid(D(x)), mean sigmoid(D(G(z))) (BCE); mean scores (WGAN)
    float penalty;     // WGAN-GP's gradient penalty term (part of loss_d), else 0
    float images_per_s; // real images through D per second since the previous record (log path)
} cg_train_record;

// Builds the trainer around G and D (ownership passes to the trainer, also on failure) and data
// (not owned). With G or D NULL the model of mc is built (models.h) and initialised: DCGAN-style
// N(0, 0.02) for dcgan/wgan, PyTorch's Linear defaults for vanilla, from the Philox streams INIT_G/INIT_D.
// config_text (may be NULL) is stored in checkpoints' metadata.
cg_status cg_trainer_create(cg_ctx *ctx, const cg_train_params *p, const cg_model_config *mc, cg_seq *G, cg_seq *D,
                            cg_data_source *data, const char *config_text, cg_trainer **out);
void cg_trainer_free(cg_trainer *t);
// Restores everything a checkpoint holds; the next step continues exactly where it was saved.
cg_status cg_trainer_resume(cg_trainer *t, const char *path);

// Where the trainer's random inputs come from. Unset members keep the Philox streams of the header
// comment; tests set them to feed a reference implementation's draws.
typedef struct {
    // Fills z ([B, nz, 1, 1] on the device) with noise batch number `index` (0, 1, ... as drawn).
    cg_status (*noise)(void *user, long index, cg_tensor z);
    // Fills eps ([1, 1, 1, B] on the device), WGAN-GP's mixing weights for real batch number `index`.
    cg_status (*gp_eps)(void *user, long index, cg_tensor eps);
    // Called right before every backward of net ('G' or 'D'; index = 0, 1, ... per net, the gradient
    // penalty's own passes not counted) with its activations in place (tests compare, and at
    // float-rounding kinks adopt, a reference's activation inputs).
    cg_status (*before_backward)(void *user, char net, long index, cg_seq *s);
    // Called right before each optimizer update of net ('G' or 'D'; update = 0, 1, ... per net) with
    // its gradients in place (tests compare them with a reference's).
    cg_status (*before_update)(void *user, char net, long update, cg_seq *s);
    void *user;
} cg_train_hooks;
void cg_trainer_set_hooks(cg_trainer *t, const cg_train_hooks *h);

// One training iteration, the unit cg_trainer_run repeats: the critic steps of the schedule
// (n_critic, or n_critic_warmup during warm-up), each with clipping or the gradient penalty, then
// one generator step; every optimizer update counts one optimizer step. With record != 0 the
// losses and D's means are read back into cg_trainer_record (a non-finite loss fails, naming the step).
cg_status cg_trainer_iterate(cg_trainer *t, int record);
const cg_train_record *cg_trainer_record(const cg_trainer *t);
cg_optimizer *cg_trainer_optimizer(cg_trainer *t, char net); // 'G' or 'D'
// Trains until p->iterations, the time limit or a stop request (*stop != 0, e.g. from SIGINT; may be
// NULL). Writes log.csv, samples, checkpoints (checkpoint.safetensors, latest) and loss.png into p->out.
// A NaN or Inf loss stops with CG_ERR_NUMERIC, naming the step, without saving over the last good checkpoint.
cg_status cg_trainer_run(cg_trainer *t, volatile sig_atomic_t *stop);
cg_status cg_trainer_save(cg_trainer *t, const char *path); // atomic
long cg_trainer_step(const cg_trainer *t);
cg_seq *cg_trainer_generator(cg_trainer *t);
cg_seq *cg_trainer_discriminator(cg_trainer *t);
const char *cg_trainer_checkpoint_path(const cg_trainer *t); // "" before the first save
// Generator images of the fixed noise ([n_samples, C, H, W], host, malloc'd).
cg_status cg_trainer_sample_fixed(cg_trainer *t, float **images);
// Training history so far (valid until the next run).
const cg_train_record *cg_trainer_history(const cg_trainer *t, int *n);

// ---------------------------------------------------------------------------------------------
// Checkpoints (checkpoint.c). Tensors: "generator.<state_dict name>", "discriminator.<name>",
// "optimizer.generator.m" / ".v" (flat moments), likewise ".discriminator."; metadata: format,
// counters, seed, model and the effective configuration.

typedef struct {
    long step, batches, noise_batches, opt_g_step, opt_d_step;
    long seed;
} cg_ckpt_counters;

cg_status cg_checkpoint_save(cg_ctx *ctx, const char *path, cg_seq *G, cg_seq *D, cg_optimizer *og,
                             cg_optimizer *od, const cg_ckpt_counters *c, const cg_model_config *mc,
                             const char *config_text);
cg_status cg_checkpoint_load(cg_ctx *ctx, const char *path, cg_seq *G, cg_seq *D, cg_optimizer *og,
                             cg_optimizer *od, cg_ckpt_counters *c);
// Starting weights ([train] init): a clgan checkpoint or safetensors with PyTorch state_dict names,
// "generator." / "discriminator." prefixes optional. Prefixed tensors load into G and/or D (a net
// whose prefix is absent keeps its weights); a file of bare names is one net, loaded into G when
// every name and shape fits G, else into D. A mismatch names the tensor, the file and both shapes.
// *loaded gets "G", "D" or "G+D".
cg_status cg_checkpoint_load_init(cg_ctx *ctx, const char *path, cg_seq *G, cg_seq *D, const char **loaded);
// Loads the generator of a checkpoint into G: "generator.<name>" tensors, or a generator-only file
// with bare state_dict names ("main.0.weight", e.g. exported from PyTorch).
cg_status cg_checkpoint_load_generator(cg_ctx *ctx, const char *path, cg_seq *G);
// The model configuration stored in a checkpoint's metadata (CG_ERR_NOT_FOUND when it has none).
cg_status cg_checkpoint_model(const char *path, cg_model_config *mc);

// ---------------------------------------------------------------------------------------------
// A checkpoint's generator for sampling and scoring (generator_sampler.c).

typedef struct cg_generator cg_generator;
typedef struct cg_image_source cg_image_source; // inception.h

// The model of ckpt: from its metadata (*from_checkpoint = 1), or for a generator-only file from
// [model] of cfg. A missing or unreadable file fails naming it.
cg_status cg_generator_model(const char *ckpt, cg_config *cfg, cg_model_config *mc, int *from_checkpoint);
// Builds the generator of mc for batches of up to `batch` and loads the generator of ckpt.
// train_mode: BatchNorm with batch statistics instead of running ones.
cg_status cg_generator_open(cg_runtime *rt, const char *ckpt, const cg_model_config *mc, int batch, int train_mode,
                            cg_generator **out);
void cg_generator_free(cg_generator *g);
const cg_model_config *cg_generator_config(const cg_generator *g);
// z [n, nz] -> images [n, C, S, S] in [-1, 1] on the host; 1 <= n <= batch.
cg_status cg_generator_run(cg_generator *g, const float *z, int n, float *images);
// Latent vectors first .. first + n - 1 of `clgan sample --seed`: normals of Philox stream {seed, 0},
// nz per image, so any batching draws the same z for image i.
void cg_generator_latents(uint64_t seed, int64_t first, int64_t n, int nz, float *z);
// An image source (inception.h) of `count` generated images, sampled in batches as they are read:
// float RGB in [-1, 1], clamped like a written PNG (gray replicated); a non-finite value fails.
cg_status cg_source_generator(cg_generator *g, int64_t count, uint64_t seed, cg_image_source **out);

// Scores of a checkpoint (`clgan score`) into the TensorBoard run of the training that wrote it, at
// the checkpoint's step: the log folder its configuration names, beside the checkpoint. Values that
// are NaN are left out. Nothing is written (CG_OK) when the run has TensorBoard off or no log folder.
cg_status cg_tb_log_scores(const char *checkpoint, const char *const *tags, const double *values, int n,
                           char *written, size_t written_len);

// ---------------------------------------------------------------------------------------------
// Pictures (grid.c, plot.c).

// Writes images [n, c, h, w] in [-1, 1] (c = 1 or 3) as a PNG grid, ceil(sqrt(n)) per row, 2-pixel
// black padding (torchvision's make_grid look).
cg_status cg_grid_write_png(const char *path, const float *images, int n, int c, int h, int w);
// The same grid as PNG bytes in memory (*png malloc'd, *len bytes; *gw x *gh pixels).
cg_status cg_grid_png(const float *images, int n, int c, int h, int w, unsigned char **png, size_t *len, int *gw,
                      int *gh);
cg_status cg_image_write_png(const char *path, const float *image, int c, int h, int w); // one image
// Loss curves: Loss_D (blue) and Loss_G (orange) against the step, on a white canvas with axes
// and tick marks; written atomically.
cg_status cg_plot_losses(const char *path, const cg_train_record *r, int n);

#endif
