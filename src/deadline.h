/* The two timing policies of the library, each in this one place:
 *
 *  - how a deadline is computed: a timeout becomes a point on the
 *    monotonic clock once, at the start of the call, so that a wait that
 *    wakes spuriously and sleeps again still ends at the timeout;
 *  - how long a sleeper may sleep before it looks again: every wake in
 *    the library follows the publication of the state it announces, and
 *    the process that published can be killed between the two. No sleep
 *    that only another process can end lasts longer than
 *    MP__LOOK_AGAIN_MS, whatever the caller's timeout, so a wake lost that
 *    way costs at most that long. */
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

/* The longest a sleeper sleeps before it looks at the state again. */
#define MP__LOOK_AGAIN_MS 64

/* A sleep of at most MP__LOOK_AGAIN_MS out of timeout_ms (MP_INFINITE or
 * >= 0): what a single sleep on another process's wake may last. */
static inline int mp__nap_cap(int timeout_ms) {
  return timeout_ms < 0 || timeout_ms > MP__LOOK_AGAIN_MS ? MP__LOOK_AGAIN_MS
                                                           : timeout_ms;
}

/* For a sleeper that also probes something costly between sleeps (the
 * POSIX lock asks whether its owner lives): naps of 1 ms doubling up to
 * MP__LOOK_AGAIN_MS, never past the deadline. *nap starts at 0. Returns
 * the next nap in ms, 0 once the deadline has passed. */
static inline int mp__deadline_nap(const mp__deadline *d, int *nap) {
  int left = mp__deadline_left(d);
  *nap = *nap <= 0 ? 1 : *nap >= MP__LOOK_AGAIN_MS ? MP__LOOK_AGAIN_MS : *nap * 2;
  return left >= 0 && left < *nap ? left : *nap;
}

#endif
