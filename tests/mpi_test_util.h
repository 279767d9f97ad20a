// mpi_test_util.h — running programs under Open MPI's mpirun in tests (docs/distributed.md), the one
// place that knows the settings this needs: as root (CI) --allow-run-as-root's two variables,
// oversubscription (2 ranks on fewer cores, ranks sharing one PoCL device), and shared memory
// without the single-copy mechanism (containers deny ptrace/CMA). A missing mpirun skips as "mpi".
#ifndef CLGAN_MPI_TEST_UTIL_H
#define CLGAN_MPI_TEST_UTIL_H

#include "test_util.h"
#include "dist.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void mpi_test_env(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
    setenv("OMPI_MCA_btl", "self,vader", 1);
}

// Skips (exit 77, or fails under CLGAN_REQUIRE=mpi) unless clgan has MPI and mpirun runs.
static inline void mpi_test_setup(void) {
    if (!cg_dist_built()) test_skip("mpi", "clgan was built without MPI (CLGAN_MPI=OFF or MPI not found)");
    if (system("mpirun --version >/dev/null 2>&1") != 0) test_skip("mpi", "mpirun was not found (openmpi-bin)");
    mpi_test_env();
}

// Starts mpirun with argv (argv[0] "mpirun", NULL-terminated), stdout and stderr into errfile.
static inline pid_t mpi_exec(const char *errfile, const char *const *argv) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err >= 0) {
            dup2(err, 1);
            dup2(err, 2);
        }
        setpgid(0, 0); // its own process group: a hung job is killed whole
        execvp("mpirun", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

// Starts `mpirun -np np exe args...` (args NULL-terminated), stdout and stderr into errfile.
static inline pid_t mpi_spawn(const char *errfile, int np, const char *exe, const char *const *args) {
    const char *argv[80] = {"mpirun", "--oversubscribe", "-np", NULL};
    char nps[16];
    snprintf(nps, sizeof nps, "%d", np);
    argv[3] = nps;
    int n = 4;
    argv[n++] = exe;
    for (int i = 0; args[i] && n < 79; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return mpi_exec(errfile, argv);
}

// Starts `mpirun -np 1 exe args... : -np 1 env NAME=VALUE exe args...` (MPI's MPMD form): two ranks
// of one job, `env` (e.g. "CLGAN_FAULT=nan:5") set for rank `which` (0 or 1) only.
static inline pid_t mpi_spawn_env1(const char *errfile, const char *exe, const char *const *args, int which,
                                   const char *env) {
    const char *argv[120] = {"mpirun", "--oversubscribe"};
    int n = 2;
    for (int r = 0; r < 2; r++) {
        if (r) argv[n++] = ":";
        argv[n++] = "-np";
        argv[n++] = "1";
        if (r == which) {
            argv[n++] = "env";
            argv[n++] = env;
        }
        argv[n++] = exe;
        for (int i = 0; args[i] && n < 110; i++) argv[n++] = args[i];
    }
    argv[n] = NULL;
    return mpi_exec(errfile, argv);
}

// Exit status of pid (0..255, 128 + signal), or -1 after limit_s seconds (the group is killed).
static inline int mpi_wait(pid_t pid, double limit_s) {
    int status = 0;
    double t0 = cg_now_s();
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && cg_now_s() - t0 < limit_s) usleep(20000);
    if (w == 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

#endif
