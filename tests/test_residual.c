// test_residual.c — the residual block (nets/residual.c, a composite layer run by the container's
// passes) against PyTorch (tests/reference/residual_reference.py, Debian's torch under $CLGAN_PYTHON;
// skipped with a message when missing). The net: main.0 = Residual{body: conv3x3, ReLU, conv3x3;
// skip: 1x1 conv or identity}, main.1 = LeakyReLU(0.2), main.3 = Linear -> [N, 1]. Same weights
// (loaded by state_dict name, so the block's parameter names match PyTorch's) and input on both
// sides; within 1e-4 of each golden tensor's max |value|: the output, the input gradient and every
// parameter gradient of a random upstream gradient (added to gradients preset to 0.25), then the
// WGAN-GP penalty through the block's second-order passes (penalty, dD/dx, parameter gradients).
// Also: cg_init_dcgan reaches the block's inner parameters by role, and a block whose body does not
// produce the skip's shape is refused.
#include "parity_util.h"

#define PRESET 0.25f

// Every parameter's gradient minus the preset against the golden "<prefix>/<name>".
static void compare_grads(cg_ctx *ctx, cg_seq *s, const cg_st_file *g, const char *prefix, const char *c) {
    cg_layer *const *layers = s->layers;
    for (int i = 0; i < s->n_layers; i++)
        for (int j = 0; j < layers[i]->n_params; j++) {
            cg_param *p = &layers[i]->params[j];
            char key[160], what[200];
            snprintf(key, sizeof key, "%s/%s.%s", prefix, layers[i]->name, p->name);
            size_t n;
            const float *want = golden(g, key, &n, 0);
            if (!want || n != cg_param_numel(p)) {
                CHECK(want == NULL, "%s: %zu floats in torch, %zu in clgan", key, n, cg_param_numel(p));
                continue;
            }
            float *h = malloc(n * sizeof *h);
            CHECK_OK(cg_tensor_read(ctx->rt, p->dw, h));
            for (size_t k = 0; k < n; k++) h[k] -= PRESET;
            snprintf(what, sizeof what, "%s %s", c, key);
            double mag = 0, worst = 0;
            for (size_t k = 0; k < n; k++) mag = fmax(mag, fabs(want[k])), worst = fmax(worst, fabs(h[k]));
            if (mag == 0) // a bias that drops out of the penalty
                CHECK(worst <= 1e-6, "%s: torch's gradient is 0, clgan's reaches %.3g", what, worst);
            else
                parity_compare(what, h, want, n, 1e-4);
            free(h);
        }
}

static cg_status build(cg_ctx *ctx, int with_skip, int cin, int cout, int size, cg_seq **out) {
    cg_layer *body[3] = {NULL, NULL, NULL}, *skip = NULL, *block = NULL, *act = NULL, *fc = NULL;
    cg_conv_params c1 = {cin, cout, 3, 3, 1, 1, 1}, c2 = {cout, cout, 3, 3, 1, 1, 1}, k = {cin, cout, 1, 1, 1, 0, 1};
    CG_TRY(cg_conv2d_create(c1, &body[0]));
    CG_TRY(cg_relu_create(&body[1]));
    CG_TRY(cg_conv2d_create(c2, &body[2]));
    if (with_skip) CG_TRY(cg_conv2d_create(k, &skip));
    CG_TRY(cg_residual_create(body, 3, skip, &block));
    CG_TRY(cg_leaky_relu_create(0.2f, &act));
    CG_TRY(cg_linear_create((cg_linear_params){cout * size * size, 1, 1}, &fc));
    cg_layer *layers[] = {block, act, fc};
    const int index[] = {0, 1, 3}, in[3] = {cin, size, size};
    return cg_seq_create(ctx, "main", layers, index, 3, in, out);
}

static void check_case(cg_ctx *ctx, const char *dir, const char *c, int with_skip, int n, int cin, int cout, int size) {
    char a[4][16], path[600];
    snprintf(a[0], sizeof a[0], "%d", n), snprintf(a[1], sizeof a[1], "%d", cin);
    snprintf(a[2], sizeof a[2], "%d", cout), snprintf(a[3], sizeof a[3], "%d", size);
    if (parity_run("residual_reference.py", dir, c, with_skip ? "conv" : "identity", a[0], a[1], a[2], a[3],
                   (char *)NULL) != 0)
        return;
    cg_seq *s = NULL;
    cg_st_file *g = NULL;
    cg_grad_penalty *gp = NULL;
    cl_mem dxbuf = NULL, lbuf = NULL;
    CHECK_OK(build(ctx, with_skip, cin, cout, size, &s));
    snprintf(path, sizeof path, "%s/%s_W.safetensors", dir, c);
    if (s) CHECK_OK(cg_seq_load(ctx, s, path));
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, c);
    CHECK_OK(cg_safetensors_open(path, &g));
    if (!s || !g) goto done;
    size_t nx, ndy, k;
    const float *x = golden(g, "x", &nx, 0), *dy = golden(g, "dy", &ndy, 0), *want;
    CHECK_OK(cg_seq_set_batch(ctx, s, n));
    cg_tensor in = cg_seq_input(s);
    if (!x || !dy || nx != cg_numel(in) || ndy != cg_numel(cg_seq_output(s))) {
        CHECK(0, "%s: golden x/dy do not fit the net", c);
        goto done;
    }
    CHECK_OK(cg_buffer_alloc(ctx->rt, nx, &dxbuf));
    CHECK_OK(cg_buffer_alloc(ctx->rt, 1, &lbuf));
    cg_tensor dx = cg_view(dxbuf, 0, in.n, in.c, in.h, in.w);
    char what[160];

    // First order: y, dx and the parameter gradients of sum(y * dy), accumulated onto the preset.
    CHECK_OK(cg_tensor_write(ctx->rt, in, x));
    CHECK_OK(cg_seq_forward(ctx, s, 1));
    if ((want = golden(g, "y", &k, 0))) {
        snprintf(what, sizeof what, "%s y", c);
        parity_compare_dev(ctx->rt, what, cg_seq_output(s), want, k, 1e-4);
    }
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_doutput(s), dy));
    CHECK_OK(cg_tensor_fill(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params), PRESET));
    CHECK_OK(cg_seq_backward(ctx, s, &dx));
    if ((want = golden(g, "dx", &k, 0))) {
        snprintf(what, sizeof what, "%s dx", c);
        parity_compare_dev(ctx->rt, what, dx, want, k, 1e-4);
    }
    compare_grads(ctx, s, g, "grad", c);

    // Second order: the gradient penalty through the block's tangent and backward2.
    CHECK_OK(cg_grad_penalty_create(ctx, s, &gp));
    if (!gp) goto done;
    CHECK_OK(cg_tensor_fill(ctx->rt, cg_view(s->grads, 0, 1, 1, 1, (int)s->n_params), PRESET));
    cg_tensor loss = cg_view(lbuf, 0, 1, 1, 1, 1);
    CHECK_OK(cg_grad_penalty_step(ctx, gp, 10.0f, loss));
    if ((want = golden(g, "penalty", &k, 0))) {
        snprintf(what, sizeof what, "%s penalty", c);
        parity_compare_dev(ctx->rt, what, loss, want, 1, 1e-4);
    }
    if ((want = golden(g, "gp_grad_x", &k, 0))) {
        snprintf(what, sizeof what, "%s penalty dD/dx", c);
        parity_compare_dev(ctx->rt, what, cg_grad_penalty_input_grad(gp), want, k, 1e-4);
    }
    compare_grads(ctx, s, g, "gp", c);
done:
    cg_buffer_release(dxbuf);
    cg_buffer_release(lbuf);
    cg_grad_penalty_free(gp);
    cg_safetensors_close(g);
    cg_seq_free(s);
}

// The DCGAN initialiser finds the block's inner parameters by role: body.0.weight ~ N(0, 0.02),
// biases 0; names and shapes are PyTorch's.
static void check_init(cg_ctx *ctx) {
    cg_seq *s = NULL;
    CHECK_OK(build(ctx, 1, 3, 8, 4, &s));
    if (!s) return;
    CHECK_OK(cg_init_dcgan(ctx, s, (cg_rng){7, 1}));
    const char *names[] = {"main.0.body.0.weight", "main.0.body.0.bias", "main.0.body.2.weight", "main.0.skip.weight",
                           "main.0.skip.bias", "main.3.weight"};
    const int ndim[] = {4, 1, 4, 4, 1, 2};
    for (int i = 0; i < 6; i++) {
        cg_param *p = cg_seq_find(s, names[i]);
        CHECK(p && p->ndim == ndim[i], "%s: not found or wrong rank", names[i]);
        if (!p) continue;
        size_t n = cg_param_numel(p);
        float *h = malloc(n * sizeof *h);
        CHECK_OK(cg_tensor_read(ctx->rt, p->w, h));
        double sum2 = 0;
        for (size_t j = 0; j < n; j++) sum2 += (double)h[j] * h[j];
        double rms = sqrt(sum2 / (double)n);
        if (p->role == CG_ROLE_BIAS)
            CHECK(rms == 0, "%s: DCGAN biases start at 0, rms %g", names[i], rms);
        else
            CHECK(rms > 0.012 && rms < 0.028, "%s: rms %g, expected about 0.02", names[i], rms);
        free(h);
    }
    cg_seq_free(s);
}

// Body [N, 4, H, W] against an identity skip of a 3-channel input: refused when the net is made.
static void check_refusal(cg_ctx *ctx) {
    cg_layer *body = NULL, *block = NULL;
    CHECK_OK(cg_conv2d_create((cg_conv_params){3, 4, 3, 3, 1, 1, 0}, &body));
    CHECK_OK(cg_residual_create(&body, 1, NULL, &block));
    cg_seq *s = NULL;
    const int in[3] = {3, 5, 5};
    if (block) CHECK_FAILS(cg_seq_create(ctx, "main", &block, NULL, 1, in, &s), CG_ERR_INVALID_ARG, "the body makes");
    CHECK(s == NULL, "a net was made around a mis-shaped residual block");
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    char dir[128];
    if (test_tmpdir(dir, sizeof dir, "residual") != 0) return 1;
    check_refusal(&ctx);
    check_init(&ctx);
    check_case(&ctx, dir, "conv_skip", 1, 3, 3, 4, 6);
    check_case(&ctx, dir, "identity", 0, 2, 4, 4, 5);
    parity_rmdir(dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_residual");
}
