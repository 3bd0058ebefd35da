/* Deadlines for the timed waits of semaphores, events, conditions and
 * barriers. A wait word may wake spuriously and a caller then sleeps
 * again; turning the timeout into a point on the monotonic clock once
 * keeps the total wait at the timeout however often that happens. */
#ifndef MPROC_DEADLINE_H
#define MPROC_DEADLINE_H

#include <limits.h>
#include <stdint.h>

#include "internal.h"

typedef struct mp__deadline {
  uint64_t at;  /* mp__now_ms() value; unused when infinite */
  int infinite;
} mp__deadline;

/* timeout_ms must be checked by the caller: MP_INFINITE or >= 0. */
static inline mp__deadline mp__deadline_in(int timeout_ms) {
  mp__deadline d = {0, timeout_ms < 0};
  if (!d.infinite)
    d.at = mp__now_ms() + (uint64_t)timeout_ms;
  return d;
}

/* What is left to wait: MP_INFINITE, or milliseconds, 0 once passed. */
static inline int mp__deadline_left(const mp__deadline *d) {
  if (d->infinite)
    return MP_INFINITE;
  uint64_t now = mp__now_ms();
  if (now >= d->at)
    return 0;
  uint64_t left = d->at - now;
  return left > INT_MAX ? INT_MAX : (int)left;
}

#endif
