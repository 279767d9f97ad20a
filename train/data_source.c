// data_source.c — where training batches come from: a memory-mapped packed dataset (uint8 NHWC,
// gathered on the host, converted to float NCHW in [-1, 1] on the device by cl/train.cl), or an
// in-memory float array (tests: 2-D mixtures); and the per-epoch Philox permutation.
#include "preprocess.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

void cg_data_source_free(cg_data_source *src) {
    if (!src) return;
    if (src->destroy) src->destroy(src);
    free(src);
}

// Fisher-Yates from the last position down; position i swaps with floor(u * (i + 1)).
void cg_data_permutation(uint64_t seed, uint64_t epoch, uint32_t *perm, uint32_t count) {
    cg_rng r = {seed, CG_STREAM_SHUFFLE + epoch};
    for (uint32_t i = 0; i < count; i++) perm[i] = i;
    for (uint32_t i = count; i > 1; i--) {
        float u = cg_rng_uniform_at(r, count - i);
        uint32_t j = (uint32_t)((double)u * i);
        if (j >= i) j = i - 1;
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

// ---- packed dataset ------------------------------------------------------------------------

typedef struct {
    cg_dataset *ds;
    uint8_t *staging;      // n images of h*w*c bytes, back to back
    uint8_t *flags;
    cl_mem dev_u8, dev_flip;
    int cap;               // images the buffers hold
} packed_state;

static void packed_destroy(cg_data_source *src) {
    packed_state *s = src->state;
    if (!s) return;
    if (s->dev_u8) clReleaseMemObject(s->dev_u8);
    if (s->dev_flip) clReleaseMemObject(s->dev_flip);
    free(s->staging);
    free(s->flags);
    cg_dataset_close(s->ds);
    free(s);
}

static cg_status packed_reserve(packed_state *s, cg_runtime *rt, int n, size_t image_bytes) {
    if (n <= s->cap) return CG_OK;
    if (s->dev_u8) clReleaseMemObject(s->dev_u8);
    if (s->dev_flip) clReleaseMemObject(s->dev_flip);
    s->dev_u8 = s->dev_flip = NULL;
    free(s->staging);
    free(s->flags);
    s->cap = 0;
    s->staging = malloc((size_t)n * image_bytes);
    s->flags = malloc((size_t)n);
    if (!s->staging || !s->flags) return cg_fail(CG_ERR_NOMEM, "out of host memory for a batch of %d images", n);
    cl_int err;
    s->dev_u8 = clCreateBuffer(cg_runtime_context(rt), CL_MEM_READ_ONLY, (size_t)n * image_bytes, NULL, &err);
    if (err == CL_SUCCESS)
        s->dev_flip = clCreateBuffer(cg_runtime_context(rt), CL_MEM_READ_ONLY, (size_t)n, NULL, &err);
    if (err != CL_SUCCESS) return cg_fail(err, "allocating the batch upload buffers: %s", cg_status_name(err));
    s->cap = n;
    return CG_OK;
}

static cg_status packed_load(cg_data_source *src, cg_ctx *ctx, const uint32_t *idx, const uint8_t *flip, int n,
                             cg_tensor x) {
    packed_state *s = src->state;
    CG_ASSERT(x.n == n && x.c == src->c && x.h == src->h && x.w == src->w && cg_is_contiguous(x));
    size_t image_bytes = (size_t)src->h * src->w * src->c;
    CG_TRY(packed_reserve(s, ctx->rt, n, image_bytes));
    for (int j = 0; j < n; j++) {
        CG_ASSERT(idx[j] < (uint32_t)src->count);
        memcpy(s->staging + (size_t)j * image_bytes, cg_dataset_image(s->ds, idx[j]), image_bytes);
        s->flags[j] = flip ? flip[j] : 0;
    }
    cl_command_queue q = cg_runtime_queue(ctx->rt);
    // Blocking writes: the staging memory is reused by the next batch.
    CG_CL(clEnqueueWriteBuffer(q, s->dev_u8, CL_TRUE, 0, (size_t)n * image_bytes, s->staging, 0, NULL, NULL));
    CG_CL(clEnqueueWriteBuffer(q, s->dev_flip, CL_TRUE, 0, (size_t)n, s->flags, 0, NULL, NULL));
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "train", "u8_to_input", &k));
    cl_ulong off = x.off;
    cl_int cn = n, cc = src->c, ch = src->h, cw = src->w;
    return cg_launch1d(ctx->rt, k, cg_numel(x), CG_ARG(s->dev_u8), CG_ARG(s->dev_flip), CG_ARG(x.buf), CG_ARG(off),
                       CG_ARG(cn), CG_ARG(cc), CG_ARG(ch), CG_ARG(cw));
}

cg_status cg_data_packed_open(cg_runtime *rt, const char *path, cg_data_source **out) {
    *out = NULL;
    cg_data_source *src = calloc(1, sizeof *src);
    packed_state *s = calloc(1, sizeof *s);
    if (!src || !s) {
        free(src);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    src->state = s;
    src->destroy = packed_destroy;
    src->load = packed_load;
    cg_status st = cg_dataset_open(path, 1, &s->ds);
    if (st != CG_OK) {
        cg_data_source_free(src);
        return cg_fail_context(st, "training data");
    }
    uint32_t h, w, c;
    cg_dataset_shape(s->ds, &h, &w, &c);
    src->count = (int)cg_dataset_count(s->ds);
    src->c = (int)c, src->h = (int)h, src->w = (int)w;
    if (src->count == 0) {
        cg_data_source_free(src);
        return cg_fail(CG_ERR_FORMAT, "training data %s holds no images", path);
    }
    *out = src;
    return CG_OK;
}

// ---- in-memory floats ----------------------------------------------------------------------

typedef struct {
    float *data;    // count samples, dense NCHW
    float *batch;   // staging for one batch
    int cap;
} memory_state;

static void memory_destroy(cg_data_source *src) {
    memory_state *s = src->state;
    if (!s) return;
    free(s->data);
    free(s->batch);
    free(s);
}

static cg_status memory_load(cg_data_source *src, cg_ctx *ctx, const uint32_t *idx, const uint8_t *flip, int n,
                             cg_tensor x) {
    memory_state *s = src->state;
    CG_ASSERT(x.n == n && x.c == src->c && x.h == src->h && x.w == src->w && cg_is_contiguous(x));
    size_t per = (size_t)src->c * src->h * src->w;
    if (n > s->cap) {
        free(s->batch);
        s->batch = malloc((size_t)n * per * sizeof(float));
        if (!s->batch) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        s->cap = n;
    }
    for (int j = 0; j < n; j++) {
        CG_ASSERT(idx[j] < (uint32_t)src->count);
        const float *from = s->data + (size_t)idx[j] * per;
        float *to = s->batch + (size_t)j * per;
        if (!(flip && flip[j])) {
            memcpy(to, from, per * sizeof(float));
            continue;
        }
        for (size_t row = 0; row < (size_t)src->c * src->h; row++)
            for (int xx = 0; xx < src->w; xx++) to[row * src->w + xx] = from[row * src->w + (src->w - 1 - xx)];
    }
    return cg_tensor_write(ctx->rt, x, s->batch);
}

cg_status cg_data_memory_create(const float *data, int count, int c, int h, int w, cg_data_source **out) {
    *out = NULL;
    if (count <= 0 || c <= 0 || h <= 0 || w <= 0)
        return cg_fail(CG_ERR_INVALID_ARG, "in-memory data of %d samples of [%d, %d, %d]", count, c, h, w);
    cg_data_source *src = calloc(1, sizeof *src);
    memory_state *s = calloc(1, sizeof *s);
    size_t bytes = (size_t)count * c * h * w * sizeof(float);
    if (s) s->data = malloc(bytes);
    if (!src || !s || !s->data) {
        free(src);
        if (s) free(s->data);
        free(s);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    memcpy(s->data, data, bytes);
    src->count = count, src->c = c, src->h = h, src->w = w;
    src->state = s;
    src->load = memory_load;
    src->destroy = memory_destroy;
    *out = src;
    return CG_OK;
}
