// models.h — the GAN models clgan trains: their configuration, and builders that return sequential
// networks whose state_dict names and layouts match the PyTorch reference models
// (pytorch/examples DCGAN: generator "main.0.weight" (ConvTranspose2d), "main.1.running_mean", ...).
#ifndef CLGAN_MODELS_H
#define CLGAN_MODELS_H

#include "nets.h"

typedef enum { CG_MODEL_VANILLA, CG_MODEL_DCGAN, CG_MODEL_WGAN, CG_MODEL_WGAN_GP } cg_model_type;

typedef struct {
    cg_model_type type;
    int image_size; // 32 or 64 (vanilla: any)
    int channels;   // 3 (RGB) or 1
    int nz;         // latent size (100)
    int ngf, ndf;   // feature widths (64)
} cg_model_config;

const char *cg_model_type_name(cg_model_type t);             // "vanilla", "dcgan", "wgan", "wgan-gp"
cg_status cg_model_type_parse(const char *name, cg_model_type *out); // error lists the valid names
// Reads [model] type, image_size, channels, nz, ngf, ndf (with defaults and ranges).
cg_status cg_model_config_read(cg_config *cfg, cg_model_config *out);

// Generator: z [N, nz, 1, 1] -> image [N, C, S, S] in [-1, 1] (tanh). Prefix "main".
cg_status cg_model_generator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out);
// Discriminator / critic: image [N, C, S, S] -> [N, 1, 1, 1] logit (BCE models; no sigmoid: the loss
// is BCE-with-logits) or score (WGAN). Prefix "main".
cg_status cg_model_discriminator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out);

// Reshape layer (nets/reshape.c): [N, C*H*W, 1, 1] -> [N, C, H, W], PyTorch's nn.Unflatten(1, (C, H, W));
// ends the vanilla generator. Declared here until nets.h takes it.
cg_status cg_reshape_create(int c, int h, int w, cg_layer **out);

#endif
