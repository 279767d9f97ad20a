// inception_features.c — the feature pass: images from a source, resized on the device into a
// batch of the network's input, through Inception-v3, to host arrays of pool3 features and
// bias-free logits.
#include "inception.h"

#include <stdlib.h>

cg_status cg_inception_features(cg_inception *net, cg_image_source *src, cg_resize_mode mode, int64_t n,
                                FILE *progress, float **pool, float **logits, float **logits_nobias,
                                int64_t *count) {
    *count = 0;
    if (pool) *pool = NULL;
    if (logits) *logits = NULL;
    if (logits_nobias) *logits_nobias = NULL;
    int64_t total = n > 0 && n < src->count ? n : src->count;
    if (total < 1) return cg_fail(CG_ERR_INVALID_ARG, "no images to score");
    cg_runtime *rt = cg_inception_runtime(net);
    int mb = cg_inception_max_batch(net);
    size_t per = (size_t)3 * CG_INCEPTION_SIZE * CG_INCEPTION_SIZE;
    float *p = pool ? malloc((size_t)total * CG_INCEPTION_FEATURES * sizeof *p) : NULL;
    float *lb = logits ? malloc((size_t)total * CG_INCEPTION_CLASSES * sizeof *lb) : NULL;
    float *l = logits_nobias ? malloc((size_t)total * CG_INCEPTION_CLASSES * sizeof *l) : NULL;
    if ((pool && !p) || (logits && !lb) || (logits_nobias && !l)) {
        free(p);
        free(lb);
        free(l);
        return cg_fail(CG_ERR_NOMEM, "out of host memory for %lld feature rows", (long long)total);
    }
    cl_mem in = NULL;
    cg_resizer *rs = NULL;
    cg_status st = cg_buffer_alloc(rt, per * mb, &in);
    if (st == CG_OK) st = cg_resizer_create(rt, &rs);
    cg_progress *bar = progress ? cg_progress_begin("inception", (uint64_t)total, "img", progress) : NULL;
    for (int64_t i0 = 0; st == CG_OK && i0 < total; i0 += mb) {
        int nb = total - i0 < mb ? (int)(total - i0) : mb;
        for (int j = 0; st == CG_OK && j < nb; j++) {
            cg_image img;
            const char *name = NULL;
            st = src->get(src, i0 + j, &img, &name);
            if (st == CG_OK)
                st = cg_resizer_run(rs, &img, mode, cg_view(in, per * j, 1, 3, CG_INCEPTION_SIZE, CG_INCEPTION_SIZE));
            if (st != CG_OK && name) cg_fail_context(st, "image %s", name);
        }
        cg_tensor x = cg_view(in, 0, nb, 3, CG_INCEPTION_SIZE, CG_INCEPTION_SIZE);
        if (st == CG_OK)
            st = cg_inception_forward(net, x, p ? p + (size_t)i0 * CG_INCEPTION_FEATURES : NULL,
                                      lb ? lb + (size_t)i0 * CG_INCEPTION_CLASSES : NULL,
                                      l ? l + (size_t)i0 * CG_INCEPTION_CLASSES : NULL);
        if (bar) cg_progress_update(bar, (uint64_t)(i0 + nb), NULL);
    }
    if (bar) cg_progress_end(bar);
    cg_resizer_free(rs);
    if (in) cg_buffer_release(in);
    if (st != CG_OK) {
        free(p);
        free(lb);
        free(l);
        return st;
    }
    if (pool) *pool = p;
    if (logits) *logits = lb;
    if (logits_nobias) *logits_nobias = l;
    *count = total;
    return CG_OK;
}

cg_status cg_inception_open(cg_runtime *rt, const char *weights, int max_batch, cg_inception **out) {
    *out = NULL;
    char path[1024];
    if (weights && *weights)
        snprintf(path, sizeof path, "%s", weights);
    else
        cg_inception_default_weights(rt, path, sizeof path);
    CG_TRY(cg_inception_check_weights_file(path));
    cg_inception *net = NULL;
    CG_TRY(cg_inception_create(rt, max_batch, &net));
    cg_status st = cg_inception_load(net, path);
    if (st != CG_OK) {
        cg_inception_free(net);
        return st;
    }
    *out = net;
    return CG_OK;
}
