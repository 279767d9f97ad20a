// test_models.c — the model builders of nets/models.c: for every model type at 32x32 and 64x64
// (and the vanilla MLP on 2-D points, image_size 1 with 2 channels), the input and output shapes,
// the state_dict names of PyTorch's numbering, and parameter / running-statistic counts equal to
// PyTorch's (from tests/reference/layers_reference.py counts, nz 100, ngf = ndf = 64, 3 channels);
// the type names; [model] configuration reading with errors that name the key and value;
// rejected configurations; the vanilla generator (with its reshape) forward and backward; and the
// benchmarks of bench/layers.c on tiny nets.
#include "bench.h"
#include "bench_nets.h"
#include "models.h"
#include "test_util.h"

typedef struct {
    cg_model_type type;
    int size, channels;
    size_t g_params, g_buffers, d_params, d_buffers; // PyTorch's counts (float tensors)
} count_case;

static const count_case counts[] = {
    {CG_MODEL_DCGAN, 32, 3, 1068928, 896, 663296, 768},
    {CG_MODEL_WGAN, 32, 3, 1068928, 896, 663296, 768},
    {CG_MODEL_WGAN_GP, 32, 3, 1068928, 896, 687104, 0},
    {CG_MODEL_VANILLA, 32, 3, 3831552, 0, 3803137, 0},
    {CG_MODEL_DCGAN, 64, 3, 3576704, 1920, 2765568, 1792},
    {CG_MODEL_WGAN, 64, 3, 3576704, 1920, 2765568, 1792},
    {CG_MODEL_WGAN_GP, 64, 3, 3576704, 1920, 2878464, 0},
    {CG_MODEL_VANILLA, 64, 3, 13277952, 0, 13240321, 0},
    {CG_MODEL_VANILLA, 1, 2, 684802, 0, 659457, 0},
};

static void check_names(cg_seq *s, const char *const *present, const char *const *absent, const char *what) {
    for (; *present; present++) CHECK(cg_seq_find(s, *present) != NULL, "%s: no %s", what, *present);
    for (; *absent; absent++) CHECK(cg_seq_find(s, *absent) == NULL, "%s: unexpected %s", what, *absent);
}

static void check_shape(cg_tensor t, int n, int c, int h, int w, const char *what) {
    CHECK(t.n == n && t.c == c && t.h == h && t.w == w, "%s is [%d,%d,%d,%d], expected [%d,%d,%d,%d]", what, t.n, t.c,
          t.h, t.w, n, c, h, w);
}

static void check_model(cg_ctx *ctx, const count_case *k) {
    cg_model_config mc = {k->type, k->size, k->channels, 100, 64, 64};
    char what[64];
    snprintf(what, sizeof what, "%s %dx%dx%d", cg_model_type_name(k->type), k->channels, k->size, k->size);
    cg_seq *g = NULL, *d = NULL;
    CHECK_OK(cg_model_generator(ctx, &mc, &g));
    CHECK_OK(cg_model_discriminator(ctx, &mc, &d));
    if (!g || !d) {
        cg_seq_free(g);
        cg_seq_free(d);
        return;
    }
    CHECK(g->n_params == k->g_params && g->n_buffers == k->g_buffers, "%s G: %zu params %zu buffers, torch %zu %zu",
          what, g->n_params, g->n_buffers, k->g_params, k->g_buffers);
    CHECK(d->n_params == k->d_params && d->n_buffers == k->d_buffers, "%s D: %zu params %zu buffers, torch %zu %zu",
          what, d->n_params, d->n_buffers, k->d_params, k->d_buffers);
    CHECK_OK(cg_seq_set_batch(ctx, g, 2));
    CHECK_OK(cg_seq_set_batch(ctx, d, 2));
    check_shape(cg_seq_input(g), 2, 100, 1, 1, "G input");
    check_shape(cg_seq_output(g), 2, k->channels, k->size, k->size, "G output");
    check_shape(cg_seq_input(d), 2, k->channels, k->size, k->size, "D input");
    check_shape(cg_seq_output(d), 2, 1, 1, 1, "D output");
    if (k->type == CG_MODEL_VANILLA) {
        const char *gp[] = {"main.1.weight", "main.1.bias", "main.7.weight", "main.7.bias", NULL};
        const char *ga[] = {"main.0.weight", "main.8.weight", NULL};
        const char *dp[] = {"main.1.weight", "main.3.bias", "main.5.weight", "main.7.weight", "main.7.bias", NULL};
        const char *da[] = {"main.0.weight", "main.9.weight", NULL};
        check_names(g, gp, ga, what);
        check_names(d, dp, da, what);
        cg_param *w7 = cg_seq_find(g, "main.7.weight");
        CHECK(w7 && w7->shape[0] == k->channels * k->size * k->size && w7->shape[1] == 1024, "%s G main.7.weight",
              what);
    } else if (k->size == 64) {
        const char *gp[] = {"main.0.weight", "main.1.weight", "main.1.bias", "main.1.running_mean",
                            "main.1.running_var", "main.3.weight", "main.4.running_var", "main.12.weight", NULL};
        const char *ga[] = {"main.0.bias", "main.2.weight", "main.12.bias", "main.13.weight", NULL};
        check_names(g, gp, ga, what);
        const char *dp[] = {"main.0.weight", "main.2.weight", "main.3.weight", "main.3.bias", "main.5.weight",
                            "main.6.weight", "main.8.weight", "main.9.bias", "main.11.weight", NULL};
        const char *da[] = {"main.0.bias", "main.1.weight", "main.11.bias", "main.12.weight", NULL};
        check_names(d, dp, da, what);
        cg_param *w0 = cg_seq_find(g, "main.0.weight"), *w12 = cg_seq_find(g, "main.12.weight");
        CHECK(w0 && w0->ndim == 4 && w0->shape[0] == 100 && w0->shape[1] == 512 && w0->shape[2] == 4, "G main.0");
        CHECK(w12 && w12->shape[0] == 64 && w12->shape[1] == 3, "G main.12");
        cg_param *n3 = cg_seq_find(d, "main.3.weight");
        if (k->type == CG_MODEL_WGAN_GP) // LayerNorm([128, 16, 16])
            CHECK(n3 && n3->ndim == 3 && n3->shape[0] == 128 && n3->shape[1] == 16 && n3->shape[2] == 16,
                  "%s: main.3 is LayerNorm([128, 16, 16])", what);
        else
            CHECK(n3 && n3->ndim == 1 && n3->shape[0] == 128, "%s: main.3 is BatchNorm2d(128)", what);
    } else {
        const char *gp[] = {"main.0.weight", "main.1.running_mean", "main.9.weight", NULL};
        const char *ga[] = {"main.10.weight", "main.12.weight", NULL};
        const char *dp[] = {"main.0.weight", "main.2.weight", "main.3.weight", "main.8.weight", NULL};
        const char *da[] = {"main.9.weight", "main.11.weight", NULL};
        check_names(g, gp, ga, what);
        check_names(d, dp, da, what);
        cg_param *w0 = cg_seq_find(g, "main.0.weight");
        CHECK(w0 && w0->shape[1] == 256, "%s: G main.0 is ConvT(100, 256)", what);
    }
    cg_seq_free(g);
    cg_seq_free(d);
}

static void check_config(void) {
    cg_model_type t;
    for (int i = 0; i < 4; i++) {
        CHECK_OK(cg_model_type_parse(cg_model_type_name((cg_model_type)i), &t));
        CHECK(t == (cg_model_type)i, "type %d round trip", i);
    }
    CHECK(!strcmp(cg_model_type_name(CG_MODEL_WGAN_GP), "wgan-gp"), "wgan-gp name");
    CHECK_FAILS(cg_model_type_parse("wgangp", &t), CG_ERR_INVALID_ARG, "wgan-gp");

    cg_config *cfg = cg_config_empty();
    cg_model_config mc;
    CHECK_OK(cg_model_config_read(cfg, &mc));
    CHECK(mc.type == CG_MODEL_DCGAN && mc.image_size == 64 && mc.channels == 3 && mc.nz == 100 && mc.ngf == 64 &&
              mc.ndf == 64,
          "defaults");
    cg_config_free(cfg);

    cfg = cg_config_empty();
    CHECK_OK(cg_config_set(cfg, "model.type=wgan-gp"));
    CHECK_OK(cg_config_set(cfg, "model.image_size=32"));
    CHECK_OK(cg_config_set(cfg, "model.ngf=16"));
    CHECK_OK(cg_model_config_read(cfg, &mc));
    CHECK(mc.type == CG_MODEL_WGAN_GP && mc.image_size == 32 && mc.ngf == 16 && mc.ndf == 64, "set values");
    cg_config_free(cfg);

    cfg = cg_config_empty();
    CHECK_OK(cg_config_set(cfg, "model.type=vanilla"));
    CHECK_OK(cg_config_set(cfg, "model.image_size=1"));
    CHECK_OK(cg_config_set(cfg, "model.channels=2"));
    CHECK_OK(cg_model_config_read(cfg, &mc));
    CHECK(mc.type == CG_MODEL_VANILLA && mc.image_size == 1 && mc.channels == 2, "vanilla 2-D");
    cg_config_free(cfg);

    cfg = cg_config_empty();
    CHECK_OK(cg_config_set(cfg, "model.type=began"));
    CHECK_FAILS(cg_model_config_read(cfg, &mc), CG_ERR_CONFIG, "type");
    cg_config_free(cfg);

    cfg = cg_config_empty();
    CHECK_OK(cg_config_set(cfg, "model.image_size=48"));
    CHECK_FAILS(cg_model_config_read(cfg, &mc), CG_ERR_CONFIG, "image_size = 48");
    cg_config_free(cfg);

    cfg = cg_config_empty();
    CHECK_OK(cg_config_set(cfg, "model.nz=0"));
    CHECK_FAILS(cg_model_config_read(cfg, &mc), CG_ERR_CONFIG, "nz");
    cg_config_free(cfg);
}

static void check_rejects(cg_ctx *ctx) {
    cg_seq *s = NULL;
    cg_model_config bad = {CG_MODEL_DCGAN, 48, 3, 100, 64, 64};
    CHECK_FAILS(cg_model_generator(ctx, &bad, &s), CG_ERR_INVALID_ARG, "image_size 48");
    CHECK_FAILS(cg_model_discriminator(ctx, &bad, &s), CG_ERR_INVALID_ARG, "image_size 48");
    cg_model_config zero = {CG_MODEL_VANILLA, 8, 0, 100, 64, 64};
    CHECK_FAILS(cg_model_generator(ctx, &zero, &s), CG_ERR_INVALID_ARG, "channels 0");
    CHECK(s == NULL, "failed build left a net");
}

// The vanilla generator runs forward and backward through its reshape (2-D points and 1x8x8
// images): outputs in [-1, 1], the input gradient finite and not all zero.
static void check_vanilla_runs(cg_ctx *ctx) {
    for (int k = 0; k < 2; k++) {
        cg_model_config mc = {CG_MODEL_VANILLA, k ? 8 : 1, k ? 1 : 2, 8, 64, 64};
        cg_seq *g = NULL;
        CHECK_OK(cg_model_generator(ctx, &mc, &g));
        if (!g) continue;
        CHECK_OK(cg_seq_set_batch(ctx, g, 5));
        CHECK_OK(cg_init_dcgan(ctx, g, (cg_rng){3, 0}));
        CHECK_OK(cg_init_uniform(ctx, cg_seq_input(g), (cg_rng){4, 0}, -1.0f, 1.0f));
        CHECK_OK(cg_seq_forward(ctx, g, 1));
        cg_tensor out = cg_seq_output(g);
        check_shape(out, 5, mc.channels, mc.image_size, mc.image_size, "vanilla G output");
        float y[5 * 64], dz[5 * 8];
        CHECK_OK(cg_tensor_read(ctx->rt, out, y));
        int bad = 0;
        for (size_t i = 0; i < cg_numel(out); i++) bad += !(fabsf(y[i]) <= 1.0f);
        CHECK(bad == 0, "vanilla G: %d outputs outside [-1, 1]", bad);
        CHECK_OK(cg_tensor_fill(ctx->rt, cg_seq_doutput(g), 0.5f));
        cl_mem b = NULL;
        CHECK_OK(cg_buffer_alloc(ctx->rt, 5 * 8, &b));
        cg_tensor dx = cg_view(b, 0, 5, 8, 1, 1);
        CHECK_OK(cg_seq_backward(ctx, g, &dx));
        CHECK_OK(cg_tensor_read(ctx->rt, dx, dz));
        double sum = 0;
        for (int i = 0; i < 40; i++) sum += fabs(dz[i]);
        CHECK(isfinite(sum) && sum > 0, "vanilla G: input gradient sum |dz| = %g", sum);
        cg_buffer_release(b);
        cg_seq_free(g);
    }
}

// The benchmarks of bench/layers.c on tiny nets: rows for every layer, sane numbers.
static void check_bench(cg_ctx *ctx) {
    cg_model_config mc = {CG_MODEL_DCGAN, 32, 3, 16, 4, 4};
    cg_bench_layer rows[64];
    int count = 0;
    CHECK_OK(cg_bench_model_layers(ctx, &mc, 2, 1, rows, 64, &count));
    CHECK(count == 2 * (11 + 9), "%d layer rows, expected 40", count);
    int convs = 0;
    for (int i = 0; i < count && i < 64; i++) {
        CHECK(rows[i].median_s > 0 && rows[i].min_s <= rows[i].median_s, "row %d times", i);
        convs += rows[i].flops > 0 && rows[i].gflops > 0;
    }
    CHECK(convs == 2 * (4 + 4), "%d timed GEMM rows, expected 16", convs);
    CHECK(rows[0].net == 'G' && !strcmp(rows[0].name, "main.0") && rows[0].flops == 2.0 * 2 * 16 * 16 * 16,
          "first row %c %s %g flops", rows[0].net, rows[0].name, rows[0].flops);
    for (int t = 0; t < 4; t++) {
        cg_model_config m = {(cg_model_type)t, t == CG_MODEL_VANILLA ? 8 : 32, 3, 16, 4, 4};
        cg_bench_iter it = {0};
        CHECK_OK(bench_train_iteration(ctx->rt, &m, 2, 1, &it));
        CHECK(it.median_ms > 0 && it.images_per_s > 0 && it.batch == 2, "%s iteration %g ms",
              cg_model_type_name(m.type), it.median_ms);
    }
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) check_model(&ctx, &counts[i]);
    check_config();
    check_rejects(&ctx);
    check_vanilla_runs(&ctx);
    check_bench(&ctx);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("test_models");
}
