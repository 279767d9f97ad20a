// nets.h — public API of clgan's network part: layers with forward and backward passes, losses,
// optimizers, initialisers, the sequential container and safetensors checkpoints.
// Layouts follow PyTorch (NCHW activations; state_dict names and weight layouts), so weights move
// both ways.
#ifndef CLGAN_NETS_H
#define CLGAN_NETS_H

#include "runtime.h"

// ---------------------------------------------------------------------------------------------
// Execution context shared by the layers of one network: the runtime and one scratch workspace
// (im2col columns and the like) sized to the largest layer.
typedef struct {
    cg_runtime *rt;
    cg_workspace ws;
} cg_ctx;

// ---------------------------------------------------------------------------------------------
// Parameters. A layer declares its parameters when constructed: the state_dict name, the PyTorch
// shape, the role and the initialisation rule. The container then binds each one to a view into the
// network's single parameter buffer (trainable) or buffer of running statistics, and the matching
// view into the gradient buffer. Everything that treats parameters differently (the container's
// defaults, the initialisers, the optimizer's buffers) reads the role and the rule, never a name.

typedef enum {
    CG_ROLE_WEIGHT,       // a weight matrix or kernel (Linear, Conv*)
    CG_ROLE_BIAS,         // its bias
    CG_ROLE_NORM_SCALE,   // a normalisation's gamma; the container starts it at 1
    CG_ROLE_NORM_SHIFT,   // a normalisation's beta
    CG_ROLE_RUNNING_MEAN, // running statistics: not trained, no gradient
    CG_ROLE_RUNNING_VAR,  // the container starts it at 1
} cg_param_role;

// How the initialisers treat a parameter (cg_init_dcgan / cg_init_pytorch_default).
typedef enum {
    CG_INIT_KEEP,   // keeps the container's default under every scheme (LayerNorm, running statistics)
    CG_INIT_FAN_IN, // DCGAN: weight N(0, 0.02), bias 0; PyTorch: U(-b, b), b = 1/sqrt(fan_in)
    CG_INIT_NORM,   // DCGAN: scale N(1, 0.02), shift 0; PyTorch: the container's 1 and 0
} cg_init_rule;

typedef struct {
    char name[32];     // state_dict suffix: "weight", "bias", "running_mean", "body.0.weight" (composites)
    int ndim;
    int shape[4];      // PyTorch shape, e.g. conv weight [Cout, Cin, kh, kw]
    int trainable;     // from the role: 0 for running statistics (not optimised, no gradient)
    cg_param_role role;
    cg_init_rule init;
    int fan_in;        // inputs per output (CG_INIT_FAN_IN; a bias gets its weight's)
    cg_tensor w;       // value (bound by the container)
    cg_tensor dw;      // gradient (trainable only; bound by the container)
} cg_param;

static inline size_t cg_param_numel(const cg_param *p) {
    size_t n = 1;
    for (int i = 0; i < p->ndim; i++) n *= (size_t)p->shape[i];
    return n;
}

// ---------------------------------------------------------------------------------------------
// Layers. forward writes y; backward ACCUMULATES parameter gradients into dw and OVERWRITES dx
// (dx == NULL skips the input gradient). x and y passed to backward are the same tensors the
// preceding forward saw. Layers that keep state between forward and backward (BatchNorm's batch
// statistics) allocate it lazily for the largest batch seen. Each layer type has one static ops
// table; `kind` is a display name (messages, benchmarks) and nothing branches on it.

typedef struct cg_layer cg_layer;

typedef struct {
    // Output shape for an input [n, c, h, w]; fails with CG_ERR_INVALID_ARG naming the layer on a
    // shape it cannot take.
    cg_status (*out_shape)(const cg_layer *l, const int in[4], int out[4]);
    // Scratch floats needed in ctx->ws for a batch of input shape in (NULL: none).
    size_t (*workspace)(const cg_layer *l, const int in[4]);
    // x: [N, C, H, W] -> y: out_shape(x)
    cg_status (*forward)(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, int training);
    // dy: like y -> dx: like x (optional); dw += dL/dw
    cg_status (*backward)(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor dy, const cg_tensor *dx);
    // Second order, for the gradient penalty (NULL when the layer has none; biases drop out):
    // xt: like x -> yt: like y, the derivative of forward at x along xt: yt = J(x) xt.
    cg_status (*tangent)(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt);
    // Reverse of the pair (y, yt) = (f(x), J(x) xt): gy = dL/dy (NULL: zero) and gyt = dL/dyt ->
    // gx = dL/dx and gxt = dL/dxt (each NULL to skip); dw += dL/dw. When dL/dx is zero (a linear
    // layer under gy = 0) gx is left unwritten and *gx_zero set to 1, else 0.
    cg_status (*backward2)(cg_layer *l, cg_ctx *ctx, cg_tensor x, cg_tensor y, cg_tensor xt, cg_tensor yt,
                           const cg_tensor *gy, cg_tensor gyt, const cg_tensor *gx, const cg_tensor *gxt,
                           int *gx_zero);
    // Forward floating-point operations (multiply-add = 2) for an input shape (NULL: 0).
    double (*flops)(const cg_layer *l, const int in[4]);
    void (*destroy)(cg_layer *l); // frees private state (not the parameters, inner layers or the struct)
    int forward_only;             // backward always fails (Inception-v3 pools): benchmarks skip the layer
} cg_layer_ops;

struct cg_layer {
    const cg_layer_ops *ops;
    const char *kind;  // display name: "conv2d", "batchnorm2d", ...
    char name[64];     // state_dict prefix given by the container, e.g. "main.0"
    int n_params;
    cg_param *params;  // n_params, sized by the layer (a composite's list holds its inner layers')
    cg_layer **inner;  // a composite's layers (freed with it); their params point into this params
    int n_inner;
    cg_layer *owner;   // the composite whose parameter list this layer's params point into (NULL: own)
    void *state;
};

// Declaration of one parameter (cg_layer_add_param).
typedef struct {
    const char *name;
    cg_param_role role;
    cg_init_rule init;
    int fan_in;
    int ndim;
    int shape[4];
} cg_param_decl;

// Appends a parameter to l's list (grown as needed); CG_ERR_NOMEM or CG_ERR_INVALID_ARG (bad shape).
cg_status cg_layer_add_param(cg_layer *l, cg_param_decl d);
// Makes `inner` (n layers, ownership taken even on failure) the inner layers of composite l: their
// parameters join l's list, named "<names[i]>.<name>", in order, and each inner layer's params then
// point into l's list, so the container's binding of l reaches them.
cg_status cg_layer_adopt(cg_layer *l, cg_layer **inner, const char *const *names, int n);
// 1 when l and every inner layer have tangent and backward2.
int cg_layer_has_second_order(const cg_layer *l);
void cg_layer_free(cg_layer *l); // destroy + free

// Constructors (parameters declared, not yet bound).
typedef struct { int in, out, bias; } cg_linear_params;
typedef struct { int in_c, out_c, kh, kw, stride, pad, bias; } cg_conv_params;
typedef struct { int c; float eps, momentum; } cg_bn_params;            // PyTorch: eps 1e-5, momentum 0.1
typedef struct { int c, h, w; float eps; int affine; } cg_ln_params;    // normalises over C, H, W
typedef struct { int k, stride, pad; } cg_pool_params;

cg_status cg_linear_create(cg_linear_params p, cg_layer **out);          // weight [out, in], bias [out]
cg_status cg_conv2d_create(cg_conv_params p, cg_layer **out);            // weight [Cout, Cin, kh, kw]
cg_status cg_conv_transpose2d_create(cg_conv_params p, cg_layer **out);  // weight [Cin, Cout, kh, kw]
cg_status cg_batchnorm_create(cg_bn_params p, cg_layer **out);           // 2d ([N,C,H,W]) and 1d ([N,C,1,1])
// SyncBN (data parallelism, nets/batchnorm_sync.c): training statistics over the batches of all
// `replicas` (each the same size), whose per-channel sums `sum` adds up in place on every replica.
typedef struct {
    cg_status (*sum)(void *user, double *v, size_t n);
    int replicas;
    void *user;
} cg_bn_sync;
// Sets (s non-NULL) or clears l's SyncBN; 1 when l is a BatchNorm layer, 0 (nothing done) otherwise.
int cg_batchnorm_set_sync(cg_layer *l, const cg_bn_sync *s);
cg_status cg_layernorm_create(cg_ln_params p, cg_layer **out);           // weight/bias [C, H, W]
cg_status cg_relu_create(cg_layer **out);
cg_status cg_leaky_relu_create(float slope, cg_layer **out);
cg_status cg_tanh_create(cg_layer **out);
cg_status cg_sigmoid_create(cg_layer **out);
// PReLU with one slope per channel (nn.PReLU(channels)): weight [C], role weight, kept by the
// initialisers (set it by loading); first order only.
cg_status cg_prelu_create(int channels, cg_layer **out);
// PixelShuffle(scale): [N, C*s*s, H, W] -> [N, C, H*s, W*s] (nn.PixelShuffle); dense views only.
cg_status cg_pixel_shuffle_create(int scale, cg_layer **out);
// Nearest-neighbour upsampling by an integer factor (F.interpolate mode="nearest"); dense views only.
cg_status cg_upsample_nearest_create(int scale, cg_layer **out);
// y += upsample_nearest(x, scale): x [N, C, H, W], y [N, C, H*s, W*s] (a network's skip path).
cg_status cg_upsample_nearest_add(cg_ctx *ctx, cg_tensor x, int scale, cg_tensor y);
// Forward only (Inception-v3 scoring): backward returns CG_ERR_INVALID_ARG.
cg_status cg_maxpool2d_create(cg_pool_params p, cg_layer **out);
cg_status cg_maxpool2d_ceil_create(cg_pool_params p, cg_layer **out);     // ceil_mode=True (MTCNN)
cg_status cg_avgpool2d_create(cg_pool_params p, cg_layer **out);         // count_include_pad = false
cg_status cg_global_avgpool_create(cg_layer **out);                      // [N,C,H,W] -> [N,C,1,1]
cg_status cg_flatten_create(cg_layer **out);                             // [N,C,H,W] -> [N,C*H*W,1,1], a view
// Residual block y = body(x) + skip(x) (nets/residual.c): body is a chain of n layers, skip one layer
// (a 1x1 conv2d) or NULL for the identity. Ownership of every layer is taken, even on failure.
// Parameters are named like PyTorch's module {body: nn.Sequential, skip}: "body.<i>.weight",
// "skip.weight".
cg_status cg_residual_create(cg_layer **body, int n, cg_layer *skip, cg_layer **out);

// ---------------------------------------------------------------------------------------------
// Losses: mean over the batch; write the scalar loss to loss[0] (a device view of 1 float) and the
// gradient with respect to the logits/scores into dlogits (overwritten), already divided by N.

// BCE with logits against a constant target (1 = real, 0 = fake): mean(softplus(x) - t x).
cg_status cg_bce_logits(cg_ctx *ctx, cg_tensor logits, float target, cg_tensor loss, cg_tensor dlogits);
// Wasserstein critic term: loss = sign * mean(score); dscore = sign / N.
cg_status cg_wasserstein(cg_ctx *ctx, cg_tensor score, float sign, cg_tensor loss, cg_tensor dscore);

// ---------------------------------------------------------------------------------------------
// Sequential network: one parameter buffer, one gradient buffer, one buffer for running stats.

typedef struct {
    cg_layer **layers;
    int n_layers;
    char prefix[32];      // state_dict prefix of the layers, e.g. "main" -> "main.0.weight"
    cl_mem params, grads, buffers;
    size_t n_params, n_buffers; // floats
    // Activations for the current batch size: acts[0] is the input, acts[i + 1] layer i's output;
    // dacts likewise for gradients.
    cl_mem act_buf, dact_buf;
    cg_tensor *acts, *dacts;
    // Second order (cg_seq_tangent_input allocates them for the batch): tan[i] the tangent of acts[i],
    // adj[i + 1] the adjoint of tan[i + 1].
    cl_mem tan_buf, adj_buf;
    cg_tensor *tan, *adj;
    int batch;
    int in_shape[3];      // C, H, W of the input
} cg_seq;

// Takes ownership of the layers. Layer i gets the state_dict name "<prefix>.<index[i]>" where
// index[i] is PyTorch's position (layers without parameters still count in PyTorch's numbering);
// index NULL numbers them 0, 1, 2, ...
cg_status cg_seq_create(cg_ctx *ctx, const char *prefix, cg_layer **layers, const int *index, int n,
                        const int in_chw[3], cg_seq **out);
void cg_seq_free(cg_seq *s);
// keep 1: every BatchNorm of s (composites' inner layers too) keeps its output readable in acts, i.e.
// no BatchNorm + activation fusion, for callers that read or rewrite activations between the passes.
void cg_seq_keep_acts(cg_seq *s, int keep);
cg_status cg_seq_set_batch(cg_ctx *ctx, cg_seq *s, int batch); // (re)allocates activations
cg_tensor cg_seq_input(const cg_seq *s);   // write the batch here
cg_tensor cg_seq_output(const cg_seq *s);
cg_tensor cg_seq_doutput(const cg_seq *s); // write dL/dy here before backward
cg_status cg_seq_forward(cg_ctx *ctx, cg_seq *s, int training);
// Accumulates parameter gradients; dx (NULL to skip) receives dL/dinput.
cg_status cg_seq_backward(cg_ctx *ctx, cg_seq *s, const cg_tensor *dx);
cg_status cg_seq_zero_grad(cg_ctx *ctx, cg_seq *s);
// Second order (the gradient penalty): the forward-mode pass along an input tangent, and the reverse
// of the forward and tangent passes together. Every layer needs tangent and backward2.
// The input tangent's view (write it before cg_seq_tangent), allocating the tangents for the batch.
cg_status cg_seq_tangent_input(cg_ctx *ctx, cg_seq *s, cg_tensor *xt);
cg_status cg_seq_tangent(cg_ctx *ctx, cg_seq *s); // tangent input -> every layer's output tangent
cg_tensor cg_seq_tangent_output(const cg_seq *s);
cg_tensor cg_seq_dtangent_output(const cg_seq *s); // write dL/d(tangent output) here before backward2
// Reverse of both passes from dL/d(tangent output) and, when with_doutput, dL/doutput
// (cg_seq_doutput; else zero); parameter gradients accumulate. The primal adjoints overwrite the
// first-order gradients of the activations.
cg_status cg_seq_backward2(cg_ctx *ctx, cg_seq *s, int with_doutput);
// Looks a parameter up by its full state_dict name ("main.1.running_mean").
cg_param *cg_seq_find(cg_seq *s, const char *name);

// ---------------------------------------------------------------------------------------------
// Gradient penalty (WGAN-GP): lambda * mean_n (||dD(x_n)/dx_n||_2 - 1)^2 over the batch in the
// critic's input, and its gradient with respect to the critic's parameters (a double backward:
// forward-mode along the penalty's weighting, then reverse through both passes). Every layer of
// the critic needs tangent and backward2, and samples must not interact (no BatchNorm).

typedef struct cg_grad_penalty cg_grad_penalty;

cg_status cg_grad_penalty_create(cg_ctx *ctx, cg_seq *critic, cg_grad_penalty **out);
void cg_grad_penalty_free(cg_grad_penalty *gp);
// Runs the critic forward on its input (cg_seq_input, already written) and ADDS the penalty's
// parameter gradient to the critic's gradients (those accumulated before are kept); the penalty
// goes to loss[0]. The critic's activations are overwritten.
cg_status cg_grad_penalty_step(cg_ctx *ctx, cg_grad_penalty *gp, float lambda, cg_tensor loss);
// Input gradient of the last step, [N, C, H, W] (tests): dD/dx before the penalty weighting.
cg_tensor cg_grad_penalty_input_grad(const cg_grad_penalty *gp);

// ---------------------------------------------------------------------------------------------
// Optimizers with PyTorch's update rules, over a flat parameter/gradient buffer pair.

typedef enum { CG_OPT_SGD, CG_OPT_ADAM, CG_OPT_RMSPROP } cg_opt_kind;

typedef struct {
    cg_opt_kind kind;
    float lr;
    float beta1, beta2, eps;   // Adam (PyTorch defaults 0.9, 0.999, 1e-8)
    float alpha;               // RMSprop smoothing (PyTorch default 0.99; eps 1e-8)
    float momentum;            // SGD (and RMSprop momentum, default 0)
    float weight_decay;        // L2 added to the gradient, as torch.optim does
} cg_opt_params;

typedef struct {
    cg_opt_params p;
    cl_mem m, v;               // moments (Adam: m, v; RMSprop: square avg, momentum buf; SGD: momentum buf)
    size_t n;
    long step;                 // number of steps taken (Adam bias correction)
} cg_optimizer;

cg_status cg_optimizer_create(cg_ctx *ctx, cg_opt_params p, size_t n_params, cg_optimizer **out);
void cg_optimizer_free(cg_optimizer *o);
cg_status cg_optimizer_step(cg_ctx *ctx, cg_optimizer *o, cl_mem params, cl_mem grads);
cg_status cg_clip(cg_ctx *ctx, cl_mem params, size_t n, float lo, float hi); // WGAN weight clipping

// ---------------------------------------------------------------------------------------------
// Initialisers driven by the runtime's Philox RNG (reproducible on every device).
cg_status cg_init_normal(cg_ctx *ctx, cg_tensor t, cg_rng r, float mean, float std);
cg_status cg_init_uniform(cg_ctx *ctx, cg_tensor t, cg_rng r, float lo, float hi);
// DCGAN scheme over a sequential net: conv weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0.
cg_status cg_init_dcgan(cg_ctx *ctx, cg_seq *s, cg_rng r);
// PyTorch's reset_parameters for Linear/Conv: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in));
// norm layers keep the container's 1 and 0.
cg_status cg_init_pytorch_default(cg_ctx *ctx, cg_seq *s, cg_rng r);

// ---------------------------------------------------------------------------------------------
// safetensors: 8-byte little-endian header length, JSON header {name: {dtype, shape,
// data_offsets}}, raw little-endian data. F32 only for network tensors.

typedef struct {
    const char *name;
    const int *shape;
    int ndim;
    const float *data;   // host data, numel floats
} cg_st_tensor;

// Writes atomically; metadata (string key/values, may be NULL) goes into "__metadata__".
cg_status cg_safetensors_write(const char *path, const cg_st_tensor *tensors, int n, const char *const *meta_keys,
                               const char *const *meta_values, int n_meta);

typedef struct cg_st_file cg_st_file;
// Reads and validates the whole file: header size, JSON, dtype, shapes, offsets (in range, not
// overlapping, covering the payload), file size. Errors name the file and the problem.
cg_status cg_safetensors_open(const char *path, cg_st_file **out);
void cg_safetensors_close(cg_st_file *f);
int cg_safetensors_count(const cg_st_file *f);
const char *cg_safetensors_name(const cg_st_file *f, int i);
// Finds a tensor; returns CG_ERR_NOT_FOUND (with the name) when absent. *data points into the file.
cg_status cg_safetensors_get(const cg_st_file *f, const char *name, const int **shape, int *ndim,
                             const float **data);
const char *cg_safetensors_meta(const cg_st_file *f, const char *key); // NULL when absent

// Saves / loads every parameter and running statistic of a sequential net by state_dict name.
// Loading checks every name, shape and dtype; it ignores "num_batches_tracked" and names a missing
// or mis-shaped tensor in the error.
cg_status cg_seq_save(cg_ctx *ctx, cg_seq *s, const char *path);
cg_status cg_seq_load(cg_ctx *ctx, cg_seq *s, const char *path);

#endif
