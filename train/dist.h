// dist.h — the one door to MPI (docs/distributed.md): a process started by mpirun is one rank of
// a data-parallel job; everything else in clgan calls these functions, never MPI itself. Without
// MPI in the build, or without mpirun (no launcher in the environment), the process is rank 0 of 1
// and every collective is the identity, so a single process behaves exactly as without MPI.
#ifndef CLGAN_DIST_H
#define CLGAN_DIST_H

#include "base.h"

#include <stddef.h>

// Starts MPI when the process was launched by mpirun/mpiexec (OMPI_COMM_WORLD_SIZE, PMI_SIZE or
// PMIX_RANK in the environment; CLGAN_MPI=0 keeps it off) and sets the local rank for device
// selection (cg_device_set_rank). Safe to call once; cg_dist_finalize ends it.
cg_status cg_dist_init(int *argc, char ***argv);
void cg_dist_finalize(void);
// Ends every rank at once (MPI_Abort) with exit status code; a plain exit(code) without MPI.
void cg_dist_abort(int code);

int cg_dist_built(void);       // 1 when built with MPI
const char *cg_dist_library(void); // "Open MPI v4.1.4, ..." or "none"
int cg_dist_active(void);      // 1 when MPI was started (also with one rank)
int cg_dist_rank(void);
int cg_dist_size(void);
int cg_dist_local_rank(void);  // rank among the ranks on this host (MPI_COMM_TYPE_SHARED)
int cg_dist_local_size(void);
const char *cg_dist_host(void); // processor name of this rank

// Collectives over all ranks (identity with one rank). Sums are in place and give every rank the
// same bits.
cg_status cg_dist_sum_f32(float *v, size_t n);
cg_status cg_dist_sum_f64(double *v, size_t n);
cg_status cg_dist_max_i32(int *v, int n);
cg_status cg_dist_min_i32(int *v, int n);
cg_status cg_dist_bcast(void *buf, size_t bytes, int root);
// Rank i's `bytes[i]` bytes of send land at displs[i] (bytes) of recv on root; bytes/displs are
// only read on root. send_bytes is this rank's count.
cg_status cg_dist_gatherv(const void *send, size_t send_bytes, void *recv, const size_t *bytes, const size_t *displs,
                          int root);
// Every rank's `bytes` bytes (the same count everywhere) into recv (size * bytes) on every rank.
cg_status cg_dist_allgather(const void *send, size_t bytes, void *recv);
cg_status cg_dist_barrier(void);
// A barrier that waits sleeping (2 ms polls) instead of spinning: ranks idling while another works
// alone leave it the cores (a CPU device, or the host threads that feed a GPU).
cg_status cg_dist_barrier_idle(void);

// Solo: while on, this process is rank 0 of 1 (every collective the identity), e.g. rank 0
// measuring one rank alone inside a job (bench --suite train) while the others wait in
// cg_dist_barrier_idle. Off again before the next collective with the others.
void cg_dist_set_solo(int on);

// Failure agreement: every rank passes its status and a stop request; afterwards all hold the same
// answer. *code: the first failing rank's status code (CG_OK when none failed), *stop: the largest
// stop request; when a rank failed, the others' cg_last_error() is that rank's message, prefixed
// "rank R: ".
cg_status cg_dist_agree(cg_status mine, int *stop, int *failed_rank);
// Whether every rank reached the outcome together (set by cg_dist_agree when it returns a failure
// or a stop, or by a command that finished in step): a rank that exits non-zero without it ends the
// job (cli/main.c: cg_dist_abort), since the others may be waiting for it in a collective.
int cg_dist_agreed(void);
// A rank that fails on its own between agreements (a device error inside a training iteration, when
// the others may already wait for it in a collective) tells every other rank with a small
// point-to-point message instead of ending the job: each rank's collectives watch for it, and the
// one a rank waits in (or its next) returns st's code with "rank R: <message>". From then on every
// collective on every rank fails at once with it, and the outcome counts as agreed. Returns st.
cg_status cg_dist_notify_failure(cg_status st);
// Whether a failure notice was sent or arrived, and that failure ("rank R: ..." on the others).
int cg_dist_noticed(void);
cg_status cg_dist_notice_status(void);
// Whether every rank already holds a failure: cg_dist_agree returned one, or a notice was sent or
// arrived (then no further agreement is needed, and none is possible with a rank that has left).
int cg_dist_failed_together(void);
void cg_dist_set_agreed(int agreed);

#endif
