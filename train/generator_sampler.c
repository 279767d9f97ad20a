// generator_sampler.c — a checkpoint's generator as an image producer: the model from the
// checkpoint's metadata (or [model] of the configuration for a generator-only file), its weights,
// batches of images from latent vectors, and an image source (metrics' callback hook) that samples
// on the fly for scoring with the same latent vectors as `clgan sample --seed`.
#include "train.h"
#include "checkpoint_config.h"
#include "inception.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cg_generator {
    cg_ctx ctx;
    cg_model_config mc;
    cg_seq *G;
    int batch, train_mode;
};

cg_status cg_generator_model(const char *ckpt, cg_config *cfg, cg_model_config *mc, int *from_checkpoint) {
    *from_checkpoint = 0;
    if (access(ckpt, R_OK) != 0)
        return cg_fail(CG_ERR_NOT_FOUND, "checkpoint '%s' does not exist or cannot be read", ckpt);
    cg_ckpt_stored stored; // range-checked metadata (checkpoint_config.c)
    cg_status st = cg_checkpoint_stored(ckpt, &stored);
    if (st == CG_OK) {
        *mc = stored.model;
        cg_ckpt_stored_free(&stored);
        *from_checkpoint = 1;
        return CG_OK;
    }
    if (st != CG_ERR_NOT_FOUND) return cg_fail_context(st, "checkpoint '%s'", ckpt);
    return cg_model_config_read(cfg, mc); // generator-only file: the model comes from [model]
}

cg_status cg_generator_open(cg_runtime *rt, const char *ckpt, const cg_model_config *mc, int batch, int train_mode,
                            cg_generator **out) {
    *out = NULL;
    if (batch < 1) return cg_fail(CG_ERR_INVALID_ARG, "generator batch %d < 1", batch);
    cg_generator *g = calloc(1, sizeof *g);
    if (!g) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    g->ctx.rt = rt;
    g->mc = *mc;
    g->batch = batch;
    g->train_mode = train_mode;
    cg_status st = cg_model_generator(&g->ctx, mc, &g->G);
    if (st == CG_OK && (st = cg_seq_set_batch(&g->ctx, g->G, batch)) != CG_OK) st = cg_fail_context(st, "the generator");
    if (st == CG_OK) st = cg_checkpoint_load_generator(&g->ctx, ckpt, g->G);
    if (st != CG_OK) {
        cg_generator_free(g);
        return st;
    }
    *out = g;
    return CG_OK;
}

void cg_generator_free(cg_generator *g) {
    if (!g) return;
    cg_seq_free(g->G);
    cg_workspace_free(&g->ctx.ws);
    free(g);
}

const cg_model_config *cg_generator_config(const cg_generator *g) { return &g->mc; }

cg_status cg_generator_run(cg_generator *g, const float *z, int n, float *images) {
    if (n < 1 || n > g->batch) return cg_fail(CG_ERR_INVALID_ARG, "generator batch of %d (1..%d)", n, g->batch);
    cg_status st = n != cg_seq_input(g->G).n ? cg_seq_set_batch(&g->ctx, g->G, n) : CG_OK;
    if (st == CG_OK) st = cg_tensor_write(g->ctx.rt, cg_seq_input(g->G), z);
    if (st == CG_OK) st = cg_seq_forward(&g->ctx, g->G, g->train_mode);
    if (st != CG_OK) return cg_fail_context(st, "the generator's forward pass of %d images", n);
    st = cg_tensor_read(g->ctx.rt, cg_seq_output(g->G), images);
    if (st != CG_OK) return cg_fail_context(st, "reading back the generator's %d images", n);
    return CG_OK;
}

void cg_generator_latents(uint64_t seed, int64_t first, int64_t n, int nz, float *z) {
    cg_rng r = {seed, 0};
    cg_rng_normal_host(r, (uint64_t)first * (uint64_t)nz, z, (size_t)n * (size_t)nz, 0.0f, 1.0f);
}

// ---- image source ---------------------------------------------------------------------------

typedef struct {
    cg_generator *g;
    uint64_t seed;
    int64_t count, first;  // images [first, first + have) are in `images`
    int have;
    float *z, *images, *rgb; // rgb: one image, 3 channels, clamped
} gen_source;

static cg_status gen_fill(void *user, int64_t i, cg_image *img) {
    gen_source *s = user;
    const cg_model_config *mc = &s->g->mc;
    int size = mc->image_size, c = mc->channels;
    size_t plane = (size_t)size * size;
    if (i < s->first || i >= s->first + s->have) {
        int nb = s->count - i < s->g->batch ? (int)(s->count - i) : s->g->batch;
        cg_generator_latents(s->seed, i, nb, mc->nz, s->z);
        s->have = 0;
        CG_TRY(cg_generator_run(s->g, s->z, nb, s->images));
        s->first = i, s->have = nb;
    }
    const float *src = s->images + (size_t)(i - s->first) * c * plane;
    // What a PNG written by `clgan sample` holds before 8-bit rounding: values clamped to [-1, 1],
    // gray replicated to RGB. A non-finite value means a broken generator, not an image.
    for (int ch = 0; ch < 3; ch++)
        for (size_t p = 0; p < plane; p++) {
            float v = src[(size_t)(c == 1 ? 0 : ch) * plane + p];
            if (!isfinite(v)) return cg_fail(CG_ERR_NUMERIC, "generated image %lld has a non-finite value", (long long)i);
            s->rgb[(size_t)ch * plane + p] = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
        }
    *img = (cg_image){size, size, 3, NULL, s->rgb};
    return CG_OK;
}

static void gen_close(void *user) {
    gen_source *s = user;
    free(s->z);
    free(s->images);
    free(s->rgb);
    free(s);
}

cg_status cg_source_generator(cg_generator *g, int64_t count, uint64_t seed, cg_image_source **out) {
    *out = NULL;
    const cg_model_config *mc = &g->mc;
    size_t plane = (size_t)mc->image_size * mc->image_size;
    gen_source *s = calloc(1, sizeof *s);
    if (s) {
        s->z = malloc((size_t)g->batch * mc->nz * sizeof(float));
        s->images = malloc((size_t)g->batch * mc->channels * plane * sizeof(float));
        s->rgb = malloc(3 * plane * sizeof(float));
    }
    if (!s || !s->z || !s->images || !s->rgb) {
        if (s) gen_close(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    s->g = g, s->seed = seed, s->count = count;
    cg_status st = cg_source_callback(count, gen_fill, s, gen_close, out);
    if (st != CG_OK) gen_close(s);
    return st;
}
