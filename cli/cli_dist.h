// cli_dist.h — what the commands share under mpirun (docs/distributed.md): the final agreement on
// a command's outcome, and the trace line of a rank's share of a sharded Inception pass.
#ifndef CLGAN_CLI_DIST_H
#define CLGAN_CLI_DIST_H

#include "features_dist.h"

// Every rank passes its outcome; all return the same one (the first failing rank's, "rank R: ..."
// on the others), so every rank exits with the same status. The identity with one rank.
cg_status cli_dist_finish(cg_status st);
// With $CLGAN_DIST_TRACE set and more than one rank: "clgan CMD: rank R of N: Inception features
// of images [a, b) of T (K run)" on stderr, what this rank itself ran (tests check the sharding).
void cli_dist_trace(const char *cmd, const char *what, const cg_feature_shard *sh);

#endif
