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
#include <stdatomic.h>
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

#ifdef MPROC_FAULT_POINTS
/* Tests only (fault.h, mp__fault_fixed_nap): when not 0, every nap of
 * this process lasts this long, so that a wake a bug loses shows as a
 * wait of that long instead of at most MP__LOOK_AGAIN_MS. */
extern _Atomic int mp__fault_nap_ms;
static inline int mp__nap_ms(void) {
  int ms = atomic_load_explicit(&mp__fault_nap_ms, memory_order_relaxed);
  return ms > 0 ? ms : MP__LOOK_AGAIN_MS;
}
#else
static inline int mp__nap_ms(void) { return MP__LOOK_AGAIN_MS; }
#endif

/* A sleep of at most MP__LOOK_AGAIN_MS out of timeout_ms (MP_INFINITE or
 * >= 0): what a single sleep on another process's wake may last. */
static inline int mp__nap_cap(int timeout_ms) {
  int cap = mp__nap_ms();
  return timeout_ms < 0 || timeout_ms > cap ? cap : timeout_ms;
}

/* For a sleeper that also probes something costly between sleeps (the
 * POSIX lock asks whether its owner lives): naps of 1 ms doubling up to
 * MP__LOOK_AGAIN_MS, never past the deadline. *nap starts at 0. Returns
 * the next nap in ms, 0 once the deadline has passed. */
static inline int mp__deadline_nap(const mp__deadline *d, int *nap) {
  int left = mp__deadline_left(d), cap = mp__nap_ms();
  if (cap != MP__LOOK_AGAIN_MS)
    *nap = cap; /* a test's fixed nap (above) */
  else
    *nap = *nap <= 0 ? 1 : *nap >= cap ? cap : *nap * 2;
  return left >= 0 && left < *nap ? left : *nap;
}

#endif
