// dist.c — the MPI layer of dist.h. Built with CLGAN_HAVE_MPI (CMake found MPI and CLGAN_MPI is on)
// it wraps MPI_COMM_WORLD; without it, or when the process was not started by a launcher, it is a
// single rank and every collective returns at once.
#include "dist.h"

#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CLGAN_HAVE_MPI
#include <mpi.h>
#endif

static int agreed, active, solo, rank, size = 1, local_rank, local_size = 1;
// A failure notice (cg_dist_notify_failure) was sent or arrived: which rank failed, its code and
// message; every later collective fails at once with it.
static int noticed = -1, notice_code;
static int failed_together; // cg_dist_agree returned a failure, or a notice was sent or arrived
static char notice_msg[1000];

// Collectives reach other ranks (else each is the identity).
static int spread(void) { return active && !solo && size > 1; }
static char host[256];


int cg_dist_built(void) {
#ifdef CLGAN_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

const char *cg_dist_library(void) {
#ifdef CLGAN_HAVE_MPI
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    if (!v[0]) {
        int len = 0;
        MPI_Get_library_version(v, &len);
        char *nl = strpbrk(v, "\r\n"); // Open MPI adds the repository and release date on the same line
        if (nl) *nl = 0;
    }
    return v;
#else
    return "none";
#endif
}

int cg_dist_active(void) { return active; }
int cg_dist_rank(void) { return solo ? 0 : rank; }
int cg_dist_size(void) { return solo ? 1 : size; }
void cg_dist_set_solo(int on) { solo = on; }
int cg_dist_local_rank(void) { return local_rank; }
int cg_dist_local_size(void) { return local_size; }
const char *cg_dist_host(void) {
    if (!host[0] && gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
    return host;
}

#ifdef CLGAN_HAVE_MPI
static int launched_by_mpirun(void) {
    const char *off = getenv("CLGAN_MPI");
    if (off && !strcmp(off, "0")) return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static cg_status mpi_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
    return cg_fail(CG_ERR_IO, "MPI: %s failed on rank %d of %d: %s", what, rank, size, msg);
}
#define MPI_TRY(call, what)                                                                                 \
    do {                                                                                                    \
        int mpi_rc_ = (call);                                                                               \
        if (mpi_rc_ != MPI_SUCCESS) return mpi_fail(mpi_rc_, what);                                         \
    } while (0)
#endif

cg_status cg_dist_init(int *argc, char ***argv) {
#ifdef CLGAN_HAVE_MPI
    if (active || !launched_by_mpirun()) return CG_OK;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) MPI_TRY(MPI_Init(argc, argv), "MPI_Init");
    // Errors come back as codes (cg_status), not as the default abort.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm shared;
    MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &shared),
            "MPI_Comm_split_type");
    MPI_Comm_rank(shared, &local_rank);
    MPI_Comm_size(shared, &local_size);
    MPI_Comm_free(&shared);
    int len = 0;
    MPI_Get_processor_name(host, &len);
    active = 1;
    cg_device_set_rank(local_rank, local_size);
#else
    (void)argc;
    (void)argv;
#endif
    return CG_OK;
}

void cg_dist_finalize(void) {
#ifdef CLGAN_HAVE_MPI
    if (!active) return;
    active = 0;
    MPI_Finalize();
#endif
}

void cg_dist_abort(int code) {
#ifdef CLGAN_HAVE_MPI
    if (active) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#endif
    exit(code);
}

int cg_dist_noticed(void) { return noticed >= 0; }
int cg_dist_failed_together(void) { return failed_together || noticed >= 0; }

cg_status cg_dist_notice_status(void) { return cg_fail(notice_code, "rank %d: %s", noticed, notice_msg); }

#ifdef CLGAN_HAVE_MPI
enum { TAG_FAIL = 29 }; // failure notices (point to point, outside the collectives)
typedef struct {
    int code;
    char msg[sizeof notice_msg];
} notice;

// Waits for req, watching for a failure notice from a rank that will not join: then the notice's
// failure (req stays pending; the job is ending).
static cg_status wait_watched(MPI_Request *req, const char *what) {
    for (;;) {
        int done = 0, arrived = 0;
        MPI_Status s;
        MPI_TRY(MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
        if (done) return CG_OK;
        MPI_TRY(MPI_Iprobe(MPI_ANY_SOURCE, TAG_FAIL, MPI_COMM_WORLD, &arrived, &s), "MPI_Iprobe (failure notices)");
        if (!arrived) continue;
        notice n;
        MPI_TRY(MPI_Recv(&n, sizeof n, MPI_BYTE, s.MPI_SOURCE, TAG_FAIL, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                "MPI_Recv (failure notice)");
        noticed = s.MPI_SOURCE;
        notice_code = n.code;
        snprintf(notice_msg, sizeof notice_msg, "%s", n.msg);
        agreed = 1;
        return cg_dist_notice_status();
    }
}

// MPI_Allreduce in place, watched for failure notices (the sum's bits are the same on every rank).
static cg_status allreduce(void *v, int count, MPI_Datatype type, MPI_Op op) {
    if (noticed >= 0) return cg_dist_notice_status();
    MPI_Request req;
    MPI_TRY(MPI_Iallreduce(MPI_IN_PLACE, v, count, type, op, MPI_COMM_WORLD, &req), "MPI_Iallreduce");
    return wait_watched(&req, "MPI_Iallreduce");
}

// Sums n elements of type over the ranks in place, in chunks below INT_MAX (MPI counts are int).
static cg_status sum_in_place(void *v, size_t n, size_t elem, MPI_Datatype type) {
    for (size_t done = 0; spread() && done < n;) {
        int c = n - done > (1u << 30) ? 1 << 30 : (int)(n - done);
        CG_TRY(allreduce((char *)v + done * elem, c, type, MPI_SUM));
        done += (size_t)c;
    }
    return CG_OK;
}
#endif

cg_status cg_dist_notify_failure(cg_status st) {
    if (st == CG_OK || noticed >= 0) return st;
    noticed = rank;
    notice_code = st;
    snprintf(notice_msg, sizeof notice_msg, "%s", cg_last_error());
#ifdef CLGAN_HAVE_MPI
    if (spread()) {
        notice n = {st, ""};
        snprintf(n.msg, sizeof n.msg, "%s", notice_msg);
        // Small messages go eagerly: each send completes without waiting for its receiver.
        for (int r = 0; r < size; r++)
            if (r != rank && MPI_Send(&n, sizeof n, MPI_BYTE, r, TAG_FAIL, MPI_COMM_WORLD) != MPI_SUCCESS) break;
        agreed = 1;
    }
#endif
    return st;
}

cg_status cg_dist_sum_f32(float *v, size_t n) {
#ifdef CLGAN_HAVE_MPI
    return sum_in_place(v, n, sizeof *v, MPI_FLOAT);
#else
    (void)v, (void)n;
    return CG_OK;
#endif
}

cg_status cg_dist_sum_f64(double *v, size_t n) {
#ifdef CLGAN_HAVE_MPI
    return sum_in_place(v, n, sizeof *v, MPI_DOUBLE);
#else
    (void)v, (void)n;
    return CG_OK;
#endif
}

cg_status cg_dist_max_i32(int *v, int n) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) return allreduce(v, n, MPI_INT, MPI_MAX);
#endif
    return CG_OK;
}

cg_status cg_dist_min_i32(int *v, int n) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) return allreduce(v, n, MPI_INT, MPI_MIN);
#endif
    return CG_OK;
}

cg_status cg_dist_bcast(void *buf, size_t bytes, int root) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) {
        if (bytes > (size_t)1 << 30) return cg_fail(CG_ERR_INVALID_ARG, "MPI broadcast of %zu bytes: over 1 GiB", bytes);
        if (noticed >= 0) return cg_dist_notice_status();
        MPI_Request req;
        MPI_TRY(MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD, &req), "MPI_Ibcast");
        return wait_watched(&req, "MPI_Ibcast");
    }
#endif
    return CG_OK;
}

cg_status cg_dist_gatherv(const void *send, size_t send_bytes, void *recv, const size_t *bytes, const size_t *displs,
                          int root) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) {
        // Large gathers go as point-to-point messages of at most 1 GiB, in rank order.
        const size_t chunk = (size_t)1 << 30;
        if (rank == root) {
            if (send_bytes) memmove((char *)recv + displs[rank], send, send_bytes);
            for (int r = 0; r < size; r++) {
                if (r == root) continue;
                for (size_t done = 0; done < bytes[r];) {
                    int c = (int)(bytes[r] - done > chunk ? chunk : bytes[r] - done);
                    MPI_TRY(MPI_Recv((char *)recv + displs[r] + done, c, MPI_BYTE, r, 17, MPI_COMM_WORLD,
                                     MPI_STATUS_IGNORE), "MPI_Recv (gather)");
                    done += (size_t)c;
                }
            }
        } else {
            for (size_t done = 0; done < send_bytes;) {
                int c = (int)(send_bytes - done > chunk ? chunk : send_bytes - done);
                MPI_TRY(MPI_Send((const char *)send + done, c, MPI_BYTE, root, 17, MPI_COMM_WORLD), "MPI_Send (gather)");
                done += (size_t)c;
            }
        }
        return CG_OK;
    }
#endif
    if (send_bytes && recv != send) memmove((char *)recv + displs[0], send, send_bytes);
    return CG_OK;
}

cg_status cg_dist_allgather(const void *send, size_t bytes, void *recv) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) {
        if (bytes > (size_t)1 << 30) return cg_fail(CG_ERR_INVALID_ARG, "MPI allgather of %zu bytes: over 1 GiB", bytes);
        MPI_TRY(MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
        return CG_OK;
    }
#endif
    memmove(recv, send, bytes);
    return CG_OK;
}

cg_status cg_dist_barrier(void) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) MPI_TRY(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
    return CG_OK;
}

cg_status cg_dist_barrier_idle(void) {
#ifdef CLGAN_HAVE_MPI
    if (spread()) {
        MPI_Request req;
        MPI_TRY(MPI_Ibarrier(MPI_COMM_WORLD, &req), "MPI_Ibarrier");
        for (int done = 0; !done;) {
            MPI_TRY(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test (barrier)");
            if (!done) usleep(2000);
        }
    }
#endif
    return CG_OK;
}

int cg_dist_agreed(void) { return agreed; }
void cg_dist_set_agreed(int a) { agreed = a; }

cg_status cg_dist_agree(cg_status mine, int *stop, int *failed_rank) {
    *failed_rank = -1;
    if (!spread()) {
        if (mine != CG_OK) *failed_rank = 0;
        return mine;
    }
    // [0]: lowest failing rank (size when none), [1]: -stop so that MIN gives the largest request.
    int v[2] = {mine != CG_OK ? rank : size, -*stop};
    CG_TRY(cg_dist_min_i32(v, 2));
    *stop = -v[1];
    if (*stop) agreed = 1;
    if (v[0] == size) return CG_OK;
    agreed = 1;
    failed_together = 1;
    *failed_rank = v[0];
    // The failing rank's code and message travel to every rank.
    struct {
        int code;
        char msg[1000];
    } why = {mine, ""};
    if (rank == v[0]) snprintf(why.msg, sizeof why.msg, "%s", cg_last_error());
    CG_TRY(cg_dist_bcast(&why, sizeof why, v[0]));
    if (rank == v[0]) return mine;
    return cg_fail(why.code, "rank %d: %s", v[0], why.msg);
}
