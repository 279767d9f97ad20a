// fault.c — $CLGAN_FAULT, read once: "alloc:N", "launch:N" or "read:N" (comma-separated to combine)
// fails the N-th buffer allocation with CL_MEM_OBJECT_ALLOCATION_FAILURE, or the N-th kernel launch
// or device read-back with CL_OUT_OF_RESOURCES, counting from 1 over the process; "launch:NAME:N"
// counts only the launches of kernel NAME; "nan:N" makes the trainer write a NaN into a net's
// gradients before its N-th gradient averaging (train/trainer_dist.c: one per D step and per G
// step, in the order they run). "count" prints how many of each there were to stderr at exit, so
// a test can aim at a phase of a run. A testing aid (tests/test_device_faults.c): unset,
// each event costs one relaxed atomic increment.
#include "fault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[CG_FAULT_KINDS] = {"alloc", "launch", "read", "nan"};
static long fault_at[CG_FAULT_KINDS]; // 0: never
static long counts[CG_FAULT_KINDS];
static int counting;
static char launch_kernel[64]; // "launch:NAME:N": only launches of NAME count for the fault
static long kernel_launches;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void print_counts(void) {
    fprintf(stderr, "clgan fault counts: alloc %ld launch %ld read %ld nan %ld\n",
            __atomic_load_n(&counts[0], __ATOMIC_RELAXED), __atomic_load_n(&counts[1], __ATOMIC_RELAXED),
            __atomic_load_n(&counts[2], __ATOMIC_RELAXED), __atomic_load_n(&counts[3], __ATOMIC_RELAXED));
}

static void parse(void) {
    const char *spec = getenv("CLGAN_FAULT");
    if (!spec || !*spec) return;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "count")) {
            counting = 1;
            continue;
        }
        for (int k = 0; k < CG_FAULT_KINDS; k++) {
            size_t n = strlen(kind_names[k]);
            if (strncmp(tok, kind_names[k], n) || tok[n] != ':') continue;
            const char *colon = strrchr(tok + n + 1, ':');
            if (k == CG_FAULT_LAUNCH && colon)
                snprintf(launch_kernel, sizeof launch_kernel, "%.*s", (int)(colon - (tok + n + 1)), tok + n + 1);
            fault_at[k] = atol(colon && k == CG_FAULT_LAUNCH ? colon + 1 : tok + n + 1);
        }
    }
    if (counting) atexit(print_counts);
}

cl_int cg_fault_hit(cg_fault_kind kind) {
    pthread_once(&once, parse);
    long n = __atomic_add_fetch(&counts[kind], 1, __ATOMIC_RELAXED);
    if (n != fault_at[kind] || (kind == CG_FAULT_LAUNCH && launch_kernel[0])) return CL_SUCCESS;
    return kind == CG_FAULT_ALLOC ? CL_MEM_OBJECT_ALLOCATION_FAILURE : CL_OUT_OF_RESOURCES;
}

cl_int cg_fault_launch(cl_kernel k) {
    cl_int err = cg_fault_hit(CG_FAULT_LAUNCH);
    if (err != CL_SUCCESS || !launch_kernel[0]) return err;
    char name[64] = "";
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    if (strcmp(name, launch_kernel)) return CL_SUCCESS;
    return __atomic_add_fetch(&kernel_launches, 1, __ATOMIC_RELAXED) == fault_at[CG_FAULT_LAUNCH] ? CL_OUT_OF_RESOURCES
                                                                                                  : CL_SUCCESS;
}
