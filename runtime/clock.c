// clock.c — the monotonic clock that every duration, rate and ETA in clgan is measured with.
#include "base.h"

#include <time.h>

double cg_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
