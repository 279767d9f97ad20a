// fault.c — $CLGAN_FAULT, read once: "alloc:N", "launch:N" or "read:N" (comma-separated to combine)
// fails the N-th buffer allocation with CL_MEM_OBJECT_ALLOCATION_FAILURE, or the N-th kernel launch
// or device read-back with CL_OUT_OF_RESOURCES, counting from 1 over the process; "count" prints
// how many of each there were to stderr at exit, so a test can aim at a phase of a run. A testing
// aid (tests/test_device_faults.c): unset, each event costs one relaxed atomic increment.
#include "fault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[CG_FAULT_KINDS] = {"alloc", "launch", "read"};
static long fault_at[CG_FAULT_KINDS]; // 0: never
static long counts[CG_FAULT_KINDS];
static int counting;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void print_counts(void) {
    fprintf(stderr, "clgan fault counts: alloc %ld launch %ld read %ld\n", __atomic_load_n(&counts[0], __ATOMIC_RELAXED),
            __atomic_load_n(&counts[1], __ATOMIC_RELAXED), __atomic_load_n(&counts[2], __ATOMIC_RELAXED));
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
            if (!strncmp(tok, kind_names[k], n) && tok[n] == ':') fault_at[k] = atol(tok + n + 1);
        }
    }
    if (counting) atexit(print_counts);
}

cl_int cg_fault_hit(cg_fault_kind kind) {
    pthread_once(&once, parse);
    long n = __atomic_add_fetch(&counts[kind], 1, __ATOMIC_RELAXED);
    if (n != fault_at[kind]) return CL_SUCCESS;
    return kind == CG_FAULT_ALLOC ? CL_MEM_OBJECT_ALLOCATION_FAILURE : CL_OUT_OF_RESOURCES;
}
