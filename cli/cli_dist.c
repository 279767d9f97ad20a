// cli_dist.c — the commands' helpers under mpirun (cli_dist.h).
#include "cli_dist.h"
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>

cg_status cli_dist_finish(cg_status st) {
    if (cg_dist_size() == 1) return st;
    if (st != CG_OK && cg_dist_agreed()) return st; // every rank already holds this failure
    int stop = 0, failed = -1;
    st = cg_dist_agree(st, &stop, &failed);
    cg_dist_set_agreed(1);
    return st;
}

void cli_dist_trace(const char *cmd, const char *what, const cg_feature_shard *sh) {
    const char *on = getenv("CLGAN_DIST_TRACE");
    if (cg_dist_size() == 1 || !on || !*on || !sh->total) return;
    fprintf(stderr, "clgan %s: rank %d of %d: %s: Inception features of images [%lld, %lld) of %lld (%lld run)\n", cmd,
            cg_dist_rank(), cg_dist_size(), what, (long long)sh->first, (long long)(sh->first + sh->count),
            (long long)sh->total, (long long)sh->done);
}
