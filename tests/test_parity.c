// test_parity.c — clgan against PyTorch (Debian's torch 1.13 under $CLGAN_PYTHON; skipped with a
// message when Python or torch is missing). tests/reference/layers_reference.py writes fresh
// goldens into a temporary folder on every run:
//   ops    every layer (Linear, Conv2d, ConvTranspose2d, BatchNorm2d/1d in training and eval,
//          LayerNorm, ReLU, LeakyReLU, Tanh, Sigmoid, MaxPool2d, AvgPool2d, global average pool) and
//          loss (BCE-with-logits, Wasserstein): forward output, input and parameter gradients for
//          a random upstream gradient, updated running statistics. Tolerance 1e-4 of the golden
//          tensor's max |value|.
// Whole training iterations are checked through the trainer itself in test_trainer_parity.c.
#include "models.h"
#include "parity_util.h"

// ---------------------------------------------------------------------------------------------
// ops

static cg_status make_layer(const char *desc, cg_layer **l, int *training) {
    int a, b, c, d, e, f;
    float v;
    *training = 1;
    if (sscanf(desc, "linear %d %d %d", &a, &b, &c) == 3) return cg_linear_create((cg_linear_params){a, b, c}, l);
    if (sscanf(desc, "conv2d %d %d %d %d %d %d", &a, &b, &c, &d, &e, &f) == 6)
        return cg_conv2d_create((cg_conv_params){a, b, c, c, d, e, f}, l);
    if (sscanf(desc, "convt %d %d %d %d %d %d", &a, &b, &c, &d, &e, &f) == 6)
        return cg_conv_transpose2d_create((cg_conv_params){a, b, c, c, d, e, f}, l);
    if (sscanf(desc, "bn %d %d", &a, &b) == 2) {
        *training = b;
        return cg_batchnorm_create((cg_bn_params){a, 1e-5f, 0.1f}, l);
    }
    if (sscanf(desc, "ln %d %d %d", &a, &b, &c) == 3) return cg_layernorm_create((cg_ln_params){a, b, c, 1e-5f, 1}, l);
    if (sscanf(desc, "lrelu %f", &v) == 1) return cg_leaky_relu_create(v, l);
    if (sscanf(desc, "maxpool %d %d %d", &a, &b, &c) == 3) return cg_maxpool2d_create((cg_pool_params){a, b, c}, l);
    if (sscanf(desc, "avgpool %d %d %d", &a, &b, &c) == 3) return cg_avgpool2d_create((cg_pool_params){a, b, c}, l);
    if (!strcmp(desc, "relu")) return cg_relu_create(l);
    if (!strcmp(desc, "tanh")) return cg_tanh_create(l);
    if (!strcmp(desc, "sigmoid")) return cg_sigmoid_create(l);
    if (!strcmp(desc, "gap")) return cg_global_avgpool_create(l);
    return cg_fail(CG_ERR_INVALID_ARG, "unknown op '%s'", desc);
}

// One layer case: parameters from <case>/p.*, forward, running statistics, backward.
static void run_layer_case(cg_ctx *ctx, const cg_st_file *f, const char *name, const char *desc) {
    char key[160], what[160];
    cg_layer *l = NULL;
    int training;
    CHECK_OK(make_layer(desc, &l, &training));
    if (!l) return;
    const int *xs;
    int nd;
    const float *x;
    snprintf(key, sizeof key, "%s/x", name);
    if (cg_safetensors_get(f, key, &xs, &nd, &x) != CG_OK || nd != 4) {
        CHECK(0, "%s: no 4-D input", name);
        cg_layer_free(l);
        return;
    }
    cg_seq *s = NULL;
    CHECK_OK(cg_seq_create(ctx, "op", &l, NULL, 1, (const int[3]){xs[1], xs[2], xs[3]}, &s));
    if (!s) return;
    CHECK_OK(cg_seq_set_batch(ctx, s, xs[0]));
    for (int j = 0; j < l->n_params; j++) {
        cg_param *p = &l->params[j];
        size_t n = 0;
        snprintf(key, sizeof key, "%s/p.%s", name, p->name);
        const float *v = golden(f, key, &n, 0);
        if (v && n == cg_numel(p->w)) CHECK_OK(cg_tensor_write(ctx->rt, p->w, v));
    }
    CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_input(s), x));
    CHECK_OK(cg_seq_forward(ctx, s, training));
    size_t n = 0;
    snprintf(key, sizeof key, "%s/y", name);
    const float *y = golden(f, key, &n, 0);
    snprintf(what, sizeof what, "%s y", name);
    if (y) parity_compare_dev(ctx->rt, what, cg_seq_output(s), y, n, 1e-4);
    for (int j = 0; j < l->n_params; j++) {
        cg_param *p = &l->params[j];
        snprintf(key, sizeof key, "%s/out.%s", name, p->name);
        const float *v = golden(f, key, &n, 1);
        snprintf(what, sizeof what, "%s %s", name, p->name);
        if (v && !p->trainable) parity_compare_dev(ctx->rt, what, p->w, v, n, 1e-4);
    }
    snprintf(key, sizeof key, "%s/dy", name);
    const float *dy = golden(f, key, &n, 1);
    if (dy) {
        CHECK_OK(cg_tensor_write(ctx->rt, cg_seq_doutput(s), dy));
        CHECK_OK(cg_seq_zero_grad(ctx, s));
        cl_mem dxb = NULL;
        cg_tensor in = cg_seq_input(s);
        CHECK_OK(cg_buffer_alloc(ctx->rt, cg_numel(in), &dxb));
        cg_tensor dx = cg_view(dxb, 0, in.n, in.c, in.h, in.w);
        CHECK_OK(cg_seq_backward(ctx, s, &dx));
        snprintf(key, sizeof key, "%s/dx", name);
        const float *want = golden(f, key, &n, 0);
        snprintf(what, sizeof what, "%s dx", name);
        if (want) parity_compare_dev(ctx->rt, what, dx, want, n, 1e-4);
        for (int j = 0; j < l->n_params; j++) {
            cg_param *p = &l->params[j];
            if (!p->trainable) continue;
            snprintf(key, sizeof key, "%s/g.%s", name, p->name);
            want = golden(f, key, &n, 0);
            snprintf(what, sizeof what, "%s d%s", name, p->name);
            if (want) parity_compare_dev(ctx->rt, what, p->dw, want, n, 1e-4);
        }
        cg_buffer_release(dxb);
    }
    cg_seq_free(s);
}

// BCE-with-logits and Wasserstein: loss and gradient with respect to the logits.
static void run_loss_case(cg_ctx *ctx, const cg_st_file *f, const char *name, const char *desc) {
    char key[160], what[160];
    size_t n = 0, ny = 0, ndx = 0;
    snprintf(key, sizeof key, "%s/x", name);
    const float *x = golden(f, key, &n, 0);
    snprintf(key, sizeof key, "%s/y", name);
    const float *y = golden(f, key, &ny, 0);
    snprintf(key, sizeof key, "%s/dx", name);
    const float *dx = golden(f, key, &ndx, 0);
    if (!x || !y || !dx) return;
    cl_mem b = NULL;
    CHECK_OK(cg_buffer_alloc(ctx->rt, 2 * n + 1, &b));
    if (!b) return;
    cg_tensor lt = cg_view(b, 0, (int)n, 1, 1, 1), loss = cg_view(b, 2 * n, 1, 1, 1, 1);
    cg_tensor dl = cg_view(b, n, (int)n, 1, 1, 1);
    CHECK_OK(cg_tensor_write(ctx->rt, lt, x));
    float v = 0;
    if (sscanf(desc, "bce %f", &v) == 1)
        CHECK_OK(cg_bce_logits(ctx, lt, v, loss, dl));
    else if (sscanf(desc, "wass %f", &v) == 1)
        CHECK_OK(cg_wasserstein(ctx, lt, v, loss, dl));
    else
        CHECK(0, "unknown loss '%s'", desc);
    snprintf(what, sizeof what, "%s loss", name);
    parity_compare_dev(ctx->rt, what, loss, y, ny, 1e-5);
    snprintf(what, sizeof what, "%s dlogits", name);
    parity_compare_dev(ctx->rt, what, dl, dx, ndx, 1e-5);
    cg_buffer_release(b);
}

static void check_ops(cg_ctx *ctx, const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/ops.safetensors", dir);
    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(path, &f));
    if (!f) return;
    const char *cases = cg_safetensors_meta(f, "cases");
    CHECK(cases != NULL, "ops.safetensors has no case list");
    char *list = strdup(cases ? cases : ""), *save = NULL;
    int count = 0;
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save), count++) {
        const char *desc = cg_safetensors_meta(f, name);
        CHECK(desc != NULL, "case %s has no description", name);
        if (!desc) continue;
        if (!strncmp(desc, "bce", 3) || !strncmp(desc, "wass", 4))
            run_loss_case(ctx, f, name, desc);
        else
            run_layer_case(ctx, f, name, desc);
    }
    fprintf(stderr, "ops: %d cases compared with torch\n", count);
    CHECK(count >= 30, "only %d op cases", count);
    free(list);
    cg_safetensors_close(f);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    char dir[128];
    if (test_tmpdir(dir, sizeof dir, "parity") != 0) return 1;
    if (parity_run("layers_reference.py", "ops", dir, (char *)NULL) == 0) check_ops(&ctx, dir);
    parity_rmdir(dir);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_parity");
}
