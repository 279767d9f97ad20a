// features_dist.h — Inception features of an image source sharded over the MPI ranks
// (docs/distributed.md): rank r runs a contiguous block of the images, aligned to whole batches so
// that every image goes through exactly the batch it would in one process, and rank 0 gathers the
// rows in global order. Whatever rank 0 then computes (mu, sigma, FID, IS, KID) is bitwise the
// single-process result. With one rank (no mpirun) this is cg_inception_features.
#ifndef CLGAN_FEATURES_DIST_H
#define CLGAN_FEATURES_DIST_H

#include "inception.h"

// Rank `rank` of `size`'s block [*first, *first + *count) of `total` items: blocks of whole units
// (the last unit may be short), split as evenly as whole units allow, in rank order.
void cg_shard_block(int64_t total, int64_t unit, int rank, int size, int64_t *first, int64_t *count);

typedef struct {
    int64_t total;        // images over all ranks (the first n of the source, or all)
    int64_t first, count; // this rank's block
    int want_nobias;      // nobias is computed and gathered too
    int64_t done;         // images this rank ran through the network
    float *pool;          // [count, 2048] this rank's rows; after the gather, rank 0: [total, 2048]
    float *nobias;        // the same for the bias-free logits [.., 1008] (when asked for)
} cg_feature_shard;

// This rank's part: images [first, first + count) of the first n (n <= 0: all) of src. align: a
// block boundary must also be a multiple of it (a generator's batch, so that its batches too are
// those of one process); 1 for stored images. progress: a bar for this rank's block (NULL: none).
cg_status cg_features_shard_run(cg_inception *net, cg_image_source *src, cg_resize_mode mode, int64_t n, int64_t align,
                                int want_nobias, FILE *progress, cg_feature_shard *sh);
// Collective, called by every rank whatever its own outcome `mine`: the ranks agree (the first
// failing rank's error becomes everyone's), then rank 0 receives every block in rank order. A
// failure the ranks already agreed on (cg_dist_agreed) returns at once on every rank.
cg_status cg_features_shard_gather(cg_status mine, cg_feature_shard *sh);
void cg_features_shard_free(cg_feature_shard *sh);

#endif
