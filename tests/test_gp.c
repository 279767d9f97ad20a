// test_gp.c — the WGAN-GP gradient penalty (nets/gradient_penalty.c: second-order passes of conv2d,
// linear, LayerNorm and LeakyReLU) against PyTorch's double backward (torch.autograd.grad with
// create_graph=True; tests/reference/gp_reference.py, Debian's torch under $CLGAN_PYTHON, skipped
// with a message when missing). Same weights and input on both sides; checked within 1e-4 of each
// golden tensor's max |value|: the penalty, the critic's input gradient dD/dx, and the penalty's
// gradient for every parameter, which must be ADDED to gradients already accumulated (the test
// starts from 0.25 everywhere). Cases: the WGAN-GP critic at 32x32 and 64x64 (LayerNorm in every
// middle stage) and the vanilla MLP critic (Linear with bias: a bias must not enter the tangent).
// A critic with BatchNorm is refused, naming the layer.
// Not under Oclgrind: its uninitialised-value check flags GEMM outputs as soon as a later kernel
// branches on them (a plain critic forward already: conv -> LeakyReLU, with CLBlast's or clgan's own
// GEMM kernels, on fresh buffer ids; the values match torch to 1e-6), most likely Oclgrind's false
// positives on vector types (jrprice/Oclgrind#126). LayerNorm's second-order kernels are checked
// under Oclgrind in test_norm.c.
#include "models.h"
#include "parity_util.h"

#define PRESET 0.25f

// Every parameter gradient minus the preset against torch's d penalty / d parameter.
static void compare_param_grads(cg_ctx *ctx, cg_seq *d, const cg_st_file *g, const char *c) {
    for (int i = 0; i < d->n_layers; i++) {
        cg_layer *l = d->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            char key[128], what[160];
            snprintf(key, sizeof key, "grad/%s.%s", l->name, p->name);
            size_t n;
            const float *want = golden(g, key, &n, 0);
            if (!want || n != cg_param_numel(p)) {
                CHECK(want == NULL, "%s: %zu floats in torch, %zu in clgan", key, n, cg_param_numel(p));
                continue;
            }
            float *h = malloc(n * sizeof *h);
            CHECK_OK(cg_tensor_read(ctx->rt, p->dw, h));
            for (size_t k = 0; k < n; k++) h[k] -= PRESET;
            double mag = 0;
            for (size_t k = 0; k < n; k++) mag = fmax(mag, fabs(want[k]));
            snprintf(what, sizeof what, "%s %s", c, key);
            if (mag == 0) { // torch's gradient is exactly 0 (a bias above every LayerNorm)
                double worst = 0;
                for (size_t k = 0; k < n; k++) worst = fmax(worst, fabs(h[k]));
                CHECK(worst <= 1e-6, "%s: torch's gradient is 0, clgan's reaches %.3g", what, worst);
            } else {
                parity_compare(what, h, want, n, 1e-4);
            }
            free(h);
        }
    }
}

static void check_case(cg_ctx *ctx, const char *dir, const char *c, cg_model_type type, int size, int width, int n) {
    char path[600], a_size[16], a_width[16], a_n[16];
    snprintf(a_size, sizeof a_size, "%d", size);
    snprintf(a_width, sizeof a_width, "%d", width);
    snprintf(a_n, sizeof a_n, "%d", n);
    if (parity_run("gp_reference.py", dir, c, type == CG_MODEL_VANILLA ? "mlp" : "conv", a_size, a_width, a_n,
                   (char *)NULL) != 0)
        return;
    cg_model_config mc = {type, size, 3, 100, width, width};
    cg_seq *d = NULL;
    cg_grad_penalty *gp = NULL;
    cg_st_file *g = NULL;
    CHECK_OK(cg_model_discriminator(ctx, &mc, &d));
    snprintf(path, sizeof path, "%s/%s_D.safetensors", dir, c);
    if (d) CHECK_OK(cg_seq_load(ctx, d, path));
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, c);
    CHECK_OK(cg_safetensors_open(path, &g));
    if (d) CHECK_OK(cg_grad_penalty_create(ctx, d, &gp));
    cl_mem lbuf = NULL;
    CHECK_OK(cg_buffer_alloc(ctx->rt, 1, &lbuf));
    if (!d || !gp || !g || !lbuf) goto done;
    size_t nx;
    const float *x = golden(g, "x", &nx, 0);
    CHECK_OK(cg_seq_set_batch(ctx, d, n));
    if (!x || nx != cg_numel(cg_seq_input(d))) goto done;
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(d), x));
    CHECK_OK(cg_tensor_fill(ctx->rt, cg_view(d->grads, 0, 1, 1, 1, (int)d->n_params), PRESET));
    cg_tensor loss = cg_view(lbuf, 0, 1, 1, 1, 1);
    CHECK_OK(cg_grad_penalty_step(ctx, gp, 10.0f, loss));
    char what[160];
    size_t k;
    const float *want = golden(g, "penalty", &k, 0);
    if (want) {
        snprintf(what, sizeof what, "%s penalty", c);
        parity_compare_dev(ctx->rt, what, loss, want, 1, 1e-4);
    }
    want = golden(g, "grad_x", &k, 0);
    if (want) {
        snprintf(what, sizeof what, "%s dD/dx", c);
        parity_compare_dev(ctx->rt, what, cg_grad_penalty_input_grad(gp), want, k, 1e-4);
    }
    compare_param_grads(ctx, d, g, c);
done:
    cg_buffer_release(lbuf);
    cg_safetensors_close(g);
    cg_grad_penalty_free(gp);
    cg_seq_free(d);
}

// DCGAN's discriminator mixes samples through BatchNorm: the penalty refuses it by name.
static void check_refusal(cg_ctx *ctx) {
    cg_model_config mc = {CG_MODEL_DCGAN, 32, 3, 100, 8, 8};
    cg_seq *d = NULL;
    cg_grad_penalty *gp = NULL;
    CHECK_OK(cg_model_discriminator(ctx, &mc, &d));
    if (d) CHECK_FAILS(cg_grad_penalty_create(ctx, d, &gp), CG_ERR_INVALID_ARG, "main.3 (batchnorm2d)");
    CHECK(gp == NULL, "a penalty object was returned for a BatchNorm critic");
    cg_seq_free(d);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    int quick = getenv("CLGAN_TEST_QUICK") != NULL;
    char dir[128];
    if (test_tmpdir(dir, sizeof dir, "gp") != 0) return 1;
    check_refusal(&ctx);
    check_case(&ctx, dir, "critic32", CG_MODEL_WGAN_GP, 32, quick ? 4 : 8, quick ? 2 : 5);
    check_case(&ctx, dir, "mlp8", CG_MODEL_VANILLA, 8, 8, quick ? 2 : 6);
    if (!quick) check_case(&ctx, dir, "critic64", CG_MODEL_WGAN_GP, 64, 16, 3);
    parity_rmdir(dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_gp");
}
