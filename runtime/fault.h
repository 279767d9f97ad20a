// fault.h — a test-only fault injection point (fault.c): $CLGAN_FAULT makes the N-th device buffer
// allocation, kernel launch or device read-back fail the way a driver would (docs/errors.md), or
// poisons a net's gradients with a NaN ("nan:N", the trainer's N-th gradient averaging).
#ifndef CLGAN_FAULT_H
#define CLGAN_FAULT_H

#include "runtime.h"

typedef enum { CG_FAULT_ALLOC, CG_FAULT_LAUNCH, CG_FAULT_READ, CG_FAULT_NAN, CG_FAULT_KINDS } cg_fault_kind;

// Counts one event of `kind`; returns the error to report instead of doing it
// (CL_MEM_OBJECT_ALLOCATION_FAILURE for an allocation, CL_OUT_OF_RESOURCES for a launch, a read or
// a NaN to inject) when $CLGAN_FAULT names this event, else CL_SUCCESS.
cl_int cg_fault_hit(cg_fault_kind kind);
// cg_fault_hit(CG_FAULT_LAUNCH) for a launch of k, which "launch:NAME:N" counts when k is NAME.
cl_int cg_fault_launch(cl_kernel k);

#endif
