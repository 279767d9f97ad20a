// status.c — cg_status names, the thread-local error detail, and the assert handler.
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

#define CG_DETAIL_LEN 8192
static _Thread_local char detail[CG_DETAIL_LEN];

const char *cg_last_error(void) { return detail; }
void cg_clear_error(void) { detail[0] = 0; }

cg_status cg_fail(cg_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return s;
}

cg_status cg_fail_context(cg_status s, const char *fmt, ...) {
    char prefix[1024], old[CG_DETAIL_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, detail, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof detail - 3) n = sizeof detail - 3;
    memcpy(detail, prefix, n);
    memcpy(detail + n, ": ", 2);
    size_t rest = sizeof detail - n - 3;
    strncpy(detail + n + 2, old, rest);
    detail[sizeof detail - 1] = 0;
    return s;
}

void cg_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "clgan: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

const char *cg_status_name(cg_status s) {
    switch (s) {
#define N(x) case x: return #x;
        N(CG_OK)
        N(CG_ERR_INVALID_ARG) N(CG_ERR_NOT_FOUND) N(CG_ERR_IO) N(CG_ERR_CONFIG) N(CG_ERR_BUILD)
        N(CG_ERR_NO_DEVICE) N(CG_ERR_CLBLAST) N(CG_ERR_NOMEM) N(CG_ERR_FORMAT) N(CG_ERR_NUMERIC)
        N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE) N(CL_COMPILER_NOT_AVAILABLE)
        N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES) N(CL_OUT_OF_HOST_MEMORY)
        N(CL_PROFILING_INFO_NOT_AVAILABLE) N(CL_MEM_COPY_OVERLAP) N(CL_IMAGE_FORMAT_MISMATCH)
        N(CL_IMAGE_FORMAT_NOT_SUPPORTED) N(CL_BUILD_PROGRAM_FAILURE) N(CL_MAP_FAILURE)
        N(CL_MISALIGNED_SUB_BUFFER_OFFSET) N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        N(CL_COMPILE_PROGRAM_FAILURE) N(CL_LINKER_NOT_AVAILABLE) N(CL_LINK_PROGRAM_FAILURE)
        N(CL_DEVICE_PARTITION_FAILED) N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        N(CL_INVALID_VALUE) N(CL_INVALID_DEVICE_TYPE) N(CL_INVALID_PLATFORM) N(CL_INVALID_DEVICE)
        N(CL_INVALID_CONTEXT) N(CL_INVALID_QUEUE_PROPERTIES) N(CL_INVALID_COMMAND_QUEUE)
        N(CL_INVALID_HOST_PTR) N(CL_INVALID_MEM_OBJECT) N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        N(CL_INVALID_IMAGE_SIZE) N(CL_INVALID_SAMPLER) N(CL_INVALID_BINARY) N(CL_INVALID_BUILD_OPTIONS)
        N(CL_INVALID_PROGRAM) N(CL_INVALID_PROGRAM_EXECUTABLE) N(CL_INVALID_KERNEL_NAME)
        N(CL_INVALID_KERNEL_DEFINITION) N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX)
        N(CL_INVALID_ARG_VALUE) N(CL_INVALID_ARG_SIZE) N(CL_INVALID_KERNEL_ARGS)
        N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE) N(CL_INVALID_WORK_ITEM_SIZE)
        N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST) N(CL_INVALID_EVENT)
        N(CL_INVALID_OPERATION) N(CL_INVALID_GL_OBJECT) N(CL_INVALID_BUFFER_SIZE)
        N(CL_INVALID_MIP_LEVEL) N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PROPERTY)
        N(CL_INVALID_IMAGE_DESCRIPTOR) N(CL_INVALID_COMPILER_OPTIONS) N(CL_INVALID_LINKER_OPTIONS)
        N(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef N
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown status";
    }
}
