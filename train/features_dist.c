// features_dist.c — sharded Inception feature pass (features_dist.h): a range view of the source,
// the rank's block through cg_inception_features, and the gather of the rows on rank 0.
#include "features_dist.h"
#include "dist.h"

#include <stdlib.h>
#include <string.h>

void cg_shard_block(int64_t total, int64_t unit, int rank, int size, int64_t *first, int64_t *count) {
    if (unit < 1) unit = 1;
    int64_t units = (total + unit - 1) / unit;
    int64_t u0 = units * rank / size, u1 = units * (rank + 1) / size;
    int64_t a = u0 * unit, b = u1 * unit;
    *first = a < total ? a : total;
    *count = (b < total ? b : total) - *first;
}

// ---- images [first, first + count) of a source, as a source of count images ----------------------

typedef struct {
    cg_image_source *inner; // not owned
    int64_t first;
} range_state;

static cg_status range_get(cg_image_source *s, int64_t i, cg_image *img, const char **name) {
    range_state *r = s->state;
    return r->inner->get(r->inner, r->first + i, img, name);
}

static void range_close(cg_image_source *s) {
    free(s->state);
    free(s);
}

static cg_status source_range(cg_image_source *inner, int64_t first, int64_t count, cg_image_source **out) {
    *out = NULL;
    cg_image_source *s = calloc(1, sizeof *s);
    range_state *r = calloc(1, sizeof *r);
    if (!s || !r) {
        free(s);
        free(r);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    r->inner = inner, r->first = first;
    s->state = r, s->get = range_get, s->close = range_close, s->count = count;
    *out = s;
    return CG_OK;
}

// ---- the rank's block and the gather --------------------------------------------------------------

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

cg_status cg_features_shard_run(cg_inception *net, cg_image_source *src, cg_resize_mode mode, int64_t n, int64_t align,
                                int want_nobias, FILE *progress, cg_feature_shard *sh) {
    memset(sh, 0, sizeof *sh);
    sh->want_nobias = want_nobias;
    sh->total = n > 0 && n < src->count ? n : src->count;
    if (sh->total < 1) return cg_fail(CG_ERR_INVALID_ARG, "no images to score");
    int64_t mb = cg_inception_max_batch(net);
    if (align < 1) align = 1;
    int64_t unit = mb / gcd64(mb, align) * align; // lcm: the batches of Inception and of the source
    cg_shard_block(sh->total, unit, cg_dist_rank(), cg_dist_size(), &sh->first, &sh->count);
    if (sh->count == 0) return CG_OK; // more ranks than units: this one idles
    cg_image_source *part = NULL;
    CG_TRY(source_range(src, sh->first, sh->count, &part));
    int64_t got = 0;
    cg_status st = cg_inception_features(net, part, mode, sh->count, progress, &sh->pool, NULL,
                                         want_nobias ? &sh->nobias : NULL, &got);
    cg_source_close(part);
    if (st == CG_OK) sh->done = got;
    return st;
}

// Rank 0 receives every rank's rows of `width` floats into one [total, width] array, in rank order
// (the blocks are contiguous and ordered, so that is the global order).
static cg_status gather_rows(const cg_feature_shard *sh, const int64_t *blocks, float **rows, size_t width) {
    int size = cg_dist_size(), rank = cg_dist_rank();
    size_t *bytes = calloc((size_t)size, sizeof *bytes), *displs = calloc((size_t)size, sizeof *displs);
    float *all = rank == 0 ? malloc((size_t)sh->total * width * sizeof *all) : NULL;
    cg_status st = bytes && displs && (rank != 0 || all)
                       ? CG_OK
                       : cg_fail(CG_ERR_NOMEM, "out of host memory for %lld feature rows", (long long)sh->total);
    int failed = -1, stop = 0;
    st = cg_dist_agree(st, &stop, &failed); // nobody sends to a rank 0 without room
    for (int r = 0; st == CG_OK && r < size; r++) {
        bytes[r] = (size_t)blocks[2 * r + 1] * width * sizeof(float);
        displs[r] = (size_t)blocks[2 * r] * width * sizeof(float);
    }
    if (st == CG_OK)
        st = cg_dist_gatherv(*rows, (size_t)sh->count * width * sizeof(float), all, bytes, displs, 0);
    free(bytes);
    free(displs);
    if (st != CG_OK) {
        free(all);
        return st;
    }
    free(*rows);
    *rows = all; // NULL on the other ranks
    return CG_OK;
}

cg_status cg_features_shard_gather(cg_status mine, cg_feature_shard *sh) {
    int failed = -1, stop = 0;
    if (mine != CG_OK && cg_dist_agreed()) return mine; // every rank already holds this failure
    CG_TRY(cg_dist_agree(mine, &stop, &failed));
    if (cg_dist_size() == 1) return CG_OK; // the rows are already all of them, in order
    int size = cg_dist_size();
    int64_t *blocks = malloc((size_t)size * 2 * sizeof *blocks), me[2] = {sh->first, sh->count};
    cg_status st = blocks ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    st = cg_dist_agree(st, &stop, &failed);
    if (st == CG_OK) st = cg_dist_allgather(me, sizeof me, blocks);
    for (int r = 0; st == CG_OK && r < size; r++) // the blocks tile [0, total) in rank order
        if (blocks[2 * r] != (r ? blocks[2 * r - 2] + blocks[2 * r - 1] : 0) ||
            (r == size - 1 && blocks[2 * r] + blocks[2 * r + 1] != sh->total))
            st = cg_fail(CG_ERR_INVALID_ARG, "features of rank %d start at image %lld: the ranks' blocks do not tile "
                         "the %lld images", r, (long long)blocks[2 * r], (long long)sh->total);
    st = cg_dist_agree(st, &stop, &failed); // e.g. an image folder that differs between hosts
    if (st == CG_OK) st = gather_rows(sh, blocks, &sh->pool, CG_INCEPTION_FEATURES);
    if (st == CG_OK && sh->want_nobias) st = gather_rows(sh, blocks, &sh->nobias, CG_INCEPTION_CLASSES);
    free(blocks);
    return st;
}

void cg_features_shard_free(cg_feature_shard *sh) {
    if (!sh) return;
    free(sh->pool);
    free(sh->nobias);
    memset(sh, 0, sizeof *sh);
}
