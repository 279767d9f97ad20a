// models.c — the GAN models as sequential networks whose state_dict names match a PyTorch
// nn.Sequential called "main" (cg_seq's index array keeps PyTorch's numbering across layers
// without parameters). Topologies (S = image size, C = channels, k4 = kernel 4):
//
// dcgan / wgan, S = 64 (pytorch/examples DCGAN; no bias in any convolution):
//   G: 0 ConvT(nz, 8ngf, k4 s1 p0)  1 BN  2 ReLU   [4x4]
//      3 ConvT(8ngf, 4ngf, k4 s2 p1) 4 BN 5 ReLU   [8x8]
//      6 ConvT(4ngf, 2ngf)  7 BN  8 ReLU           [16x16]
//      9 ConvT(2ngf, ngf)  10 BN 11 ReLU           [32x32]
//     12 ConvT(ngf, C)     13 Tanh                 [64x64]
//   D: 0 Conv(C, ndf, k4 s2 p1) 1 LeakyReLU(0.2)   [32x32]
//      2 Conv(ndf, 2ndf)   3 BN  4 LReLU           [16x16]
//      5 Conv(2ndf, 4ndf)  6 BN  7 LReLU           [8x8]
//      8 Conv(4ndf, 8ndf)  9 BN 10 LReLU           [4x4]
//     11 Conv(8ndf, 1, k4 s1 p0)                    [1x1]  (PyTorch's 12 Sigmoid is left out)
// dcgan / wgan, S = 32: one stage fewer, the widest stage being 4ngf / 4ndf:
//   G: 0 ConvT(nz, 4ngf, k4 s1 p0) 1 BN 2 ReLU, 3 ConvT(4ngf, 2ngf) 4 BN 5 ReLU,
//      6 ConvT(2ngf, ngf) 7 BN 8 ReLU, 9 ConvT(ngf, C) 10 Tanh
//   D: 0 Conv(C, ndf) 1 LReLU, 2 Conv(ndf, 2ndf) 3 BN 4 LReLU, 5 Conv(2ndf, 4ndf) 6 BN 7 LReLU,
//      8 Conv(4ndf, 1, k4 s1 p0)
// wgan-gp: G as dcgan; the critic as dcgan's D with every BatchNorm replaced by
//   LayerNorm([channels, h, w]) of that stage (elementwise affine, eps 1e-5), same indices.
// vanilla (MLP; PyTorch: nn.Sequential(Flatten, Linear, ..., Unflatten) — index 0 is the
//   parameterless Flatten, which clgan's Linear does not need):
//   G: 1 Linear(nz, 256) 2 ReLU 3 Linear(256, 512) 4 ReLU 5 Linear(512, 1024) 6 ReLU
//      7 Linear(1024, C*S*S) 8 Tanh 9 Unflatten(1, (C, S, S))
//   D: 1 Linear(C*S*S, 1024) 2 LReLU(0.2) 3 Linear(1024, 512) 4 LReLU 5 Linear(512, 256) 6 LReLU
//      7 Linear(256, 1)
//   Any S >= 1 (S = 1, C = 2 gives the 2-D toy data [N, 2, 1, 1]).
#include "models.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 24

static const char *const type_names[] = {"vanilla", "dcgan", "wgan", "wgan-gp"};

const char *cg_model_type_name(cg_model_type t) {
    return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "?";
}

cg_status cg_model_type_parse(const char *name, cg_model_type *out) {
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, type_names[i])) {
            *out = (cg_model_type)i;
            return CG_OK;
        }
    return cg_fail(CG_ERR_INVALID_ARG, "unknown model type '%s' (valid: vanilla, dcgan, wgan, wgan-gp)",
                   name ? name : "(null)");
}

cg_status cg_model_config_read(cg_config *cfg, cg_model_config *out) {
    const char *type = NULL;
    long size, ch, nz, ngf, ndf;
    CG_TRY(cg_config_str(cfg, "model", "type", "dcgan", "vanilla|dcgan|wgan|wgan-gp", &type));
    CG_TRY(cg_config_int(cfg, "model", "image_size", 64, 1, 4096, &size));
    CG_TRY(cg_config_int(cfg, "model", "channels", 3, 1, 4, &ch));
    CG_TRY(cg_config_int(cfg, "model", "nz", 100, 1, 65536, &nz));
    CG_TRY(cg_config_int(cfg, "model", "ngf", 64, 1, 4096, &ngf));
    CG_TRY(cg_config_int(cfg, "model", "ndf", 64, 1, 4096, &ndf));
    cg_model_config mc = {0};
    if (cg_model_type_parse(type, &mc.type) != CG_OK)
        return cg_fail(CG_ERR_CONFIG, "[model] type = %s: valid types are vanilla, dcgan, wgan, wgan-gp", type);
    if (mc.type != CG_MODEL_VANILLA && size != 32 && size != 64)
        return cg_fail(CG_ERR_CONFIG, "[model] image_size = %ld: the %s model takes 32 or 64", size, type);
    mc.image_size = (int)size, mc.channels = (int)ch, mc.nz = (int)nz, mc.ngf = (int)ngf, mc.ndf = (int)ndf;
    *out = mc;
    return CG_OK;
}

// A list of layers under construction with their PyTorch indices; on error it frees them.
typedef struct {
    cg_layer *l[MAX_LAYERS];
    int idx[MAX_LAYERS];
    int n;
    cg_status st;
} builder;

static void add(builder *b, int index, cg_status st, cg_layer *l) {
    if (b->st != CG_OK) return;
    b->st = st;
    if (st != CG_OK) return;
    CG_ASSERT(b->n < MAX_LAYERS);
    b->l[b->n] = l;
    b->idx[b->n++] = index;
}

static cg_status finish(builder *b, cg_ctx *ctx, const int in_chw[3], cg_seq **out) {
    if (b->st == CG_OK) return cg_seq_create(ctx, "main", b->l, b->idx, b->n, in_chw, out);
    for (int i = 0; i < b->n; i++) cg_layer_free(b->l[i]);
    return b->st;
}

static cg_status check_config(const cg_model_config *mc, const char *what) {
    int conv = mc->type != CG_MODEL_VANILLA;
    // The ranges of cg_model_config_read: 8 * 4096 channels and 4 * 4096^2 pixels stay far from INT_MAX.
    if ((unsigned)mc->type > CG_MODEL_WGAN_GP || mc->channels < 1 || mc->channels > 4 || mc->nz < 1 ||
        mc->nz > 65536 || mc->ngf < 1 || mc->ngf > 4096 || mc->ndf < 1 || mc->ndf > 4096 || mc->image_size < 1 ||
        mc->image_size > 4096 || (conv && mc->image_size != 32 && mc->image_size != 64))
        return cg_fail(CG_ERR_INVALID_ARG,
                       "%s: bad model configuration (type %d, image_size %d, channels %d, nz %d, ngf %d, ndf %d; "
                       "channels 1..4, nz 1..65536, ngf and ndf 1..4096, image_size 1..4096 and 32 or 64 for conv "
                       "models)",
                       what, (int)mc->type, mc->image_size, mc->channels, mc->nz, mc->ngf, mc->ndf);
    return CG_OK;
}

static cg_layer *made(cg_status st, cg_layer *l) { return st == CG_OK ? l : NULL; }

// Adds a layer from a constructor call `expr` writing into `tmp`.
#define ADD(b, index, expr)                                                                          \
    do {                                                                                             \
        cg_layer *tmp = NULL;                                                                        \
        cg_status st_ = (expr);                                                                      \
        add((b), (index), st_, made(st_, tmp));                                                      \
    } while (0)

// z [N, nz, 1, 1] -> [N, C, S, S]
static cg_status conv_generator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out) {
    builder b = {.st = CG_OK};
    int stages = mc->image_size == 64 ? 3 : 2; // stride-2 ConvT + BN + ReLU stages after the first
    int width = mc->ngf << stages, i = 0;
    ADD(&b, i, cg_conv_transpose2d_create((cg_conv_params){mc->nz, width, 4, 4, 1, 0, 0}, &tmp));
    ADD(&b, i + 1, cg_batchnorm_create((cg_bn_params){width, 1e-5f, 0.1f}, &tmp));
    ADD(&b, i + 2, cg_relu_create(&tmp));
    i += 3;
    for (int s = 0; s < stages; s++, i += 3, width /= 2) {
        ADD(&b, i, cg_conv_transpose2d_create((cg_conv_params){width, width / 2, 4, 4, 2, 1, 0}, &tmp));
        ADD(&b, i + 1, cg_batchnorm_create((cg_bn_params){width / 2, 1e-5f, 0.1f}, &tmp));
        ADD(&b, i + 2, cg_relu_create(&tmp));
    }
    ADD(&b, i, cg_conv_transpose2d_create((cg_conv_params){width, mc->channels, 4, 4, 2, 1, 0}, &tmp));
    ADD(&b, i + 1, cg_tanh_create(&tmp));
    return finish(&b, ctx, (const int[3]){mc->nz, 1, 1}, out);
}

// [N, C, S, S] -> [N, 1, 1, 1]; layer_norm: LayerNorm instead of BatchNorm (WGAN-GP critic).
static cg_status conv_discriminator(cg_ctx *ctx, const cg_model_config *mc, int layer_norm, cg_seq **out) {
    builder b = {.st = CG_OK};
    int stages = mc->image_size == 64 ? 3 : 2, width = mc->ndf, side = mc->image_size / 2, i = 0;
    ADD(&b, 0, cg_conv2d_create((cg_conv_params){mc->channels, width, 4, 4, 2, 1, 0}, &tmp));
    ADD(&b, 1, cg_leaky_relu_create(0.2f, &tmp));
    i = 2;
    for (int s = 0; s < stages; s++, i += 3, width *= 2) {
        side /= 2;
        ADD(&b, i, cg_conv2d_create((cg_conv_params){width, width * 2, 4, 4, 2, 1, 0}, &tmp));
        if (layer_norm)
            ADD(&b, i + 1, cg_layernorm_create((cg_ln_params){width * 2, side, side, 1e-5f, 1}, &tmp));
        else
            ADD(&b, i + 1, cg_batchnorm_create((cg_bn_params){width * 2, 1e-5f, 0.1f}, &tmp));
        ADD(&b, i + 2, cg_leaky_relu_create(0.2f, &tmp));
    }
    ADD(&b, i, cg_conv2d_create((cg_conv_params){width, 1, 4, 4, 1, 0, 0}, &tmp));
    return finish(&b, ctx, (const int[3]){mc->channels, mc->image_size, mc->image_size}, out);
}

static const int mlp_widths[3] = {256, 512, 1024};

// z [N, nz, 1, 1] -> [N, C, S, S]
static cg_status mlp_generator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out) {
    builder b = {.st = CG_OK};
    int in = mc->nz, i = 1, pixels = mc->channels * mc->image_size * mc->image_size;
    for (int k = 0; k < 3; k++, i += 2) {
        ADD(&b, i, cg_linear_create((cg_linear_params){in, mlp_widths[k], 1}, &tmp));
        ADD(&b, i + 1, cg_relu_create(&tmp));
        in = mlp_widths[k];
    }
    ADD(&b, i, cg_linear_create((cg_linear_params){in, pixels, 1}, &tmp));
    ADD(&b, i + 1, cg_tanh_create(&tmp));
    ADD(&b, i + 2, cg_reshape_create(mc->channels, mc->image_size, mc->image_size, &tmp));
    return finish(&b, ctx, (const int[3]){mc->nz, 1, 1}, out);
}

// [N, C, S, S] -> [N, 1, 1, 1]
static cg_status mlp_discriminator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out) {
    builder b = {.st = CG_OK};
    int in = mc->channels * mc->image_size * mc->image_size, i = 1;
    for (int k = 2; k >= 0; k--, i += 2) {
        ADD(&b, i, cg_linear_create((cg_linear_params){in, mlp_widths[k], 1}, &tmp));
        ADD(&b, i + 1, cg_leaky_relu_create(0.2f, &tmp));
        in = mlp_widths[k];
    }
    ADD(&b, i, cg_linear_create((cg_linear_params){in, 1, 1}, &tmp));
    return finish(&b, ctx, (const int[3]){mc->channels, mc->image_size, mc->image_size}, out);
}

cg_status cg_model_generator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out) {
    *out = NULL;
    CG_TRY(check_config(mc, "cg_model_generator"));
    cg_status st = mc->type == CG_MODEL_VANILLA ? mlp_generator(ctx, mc, out) : conv_generator(ctx, mc, out);
    return st == CG_OK ? st : cg_fail_context(st, "the generator");
}

cg_status cg_model_discriminator(cg_ctx *ctx, const cg_model_config *mc, cg_seq **out) {
    *out = NULL;
    CG_TRY(check_config(mc, "cg_model_discriminator"));
    cg_status st = mc->type == CG_MODEL_VANILLA ? mlp_discriminator(ctx, mc, out)
                                                : conv_discriminator(ctx, mc, mc->type == CG_MODEL_WGAN_GP, out);
    return st == CG_OK ? st : cg_fail_context(st, "the discriminator");
}
