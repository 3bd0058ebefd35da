/* Helpers shared by the tests of the synchronisation objects and shared
 * memory (test_lock, test_sem, test_event, test_cond, test_barrier,
 * test_shm).
 *
 * Children report through their exit code: a role returns 0 when every
 * check held, or SU_FAIL_BASE + the line of the first failed check (mod
 * 100), after writing that line to stderr. Names su_* are safe in
 * children; su_assert_* and su_join_* use cmocka and are for the test
 * process only. */
#ifndef MPROC_SYNC_UTIL_H
#define MPROC_SYNC_UTIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "test_support.h"

#define SU_FAIL_BASE 100

int su_child_failed(const char *file, int line, const char *what);

/* In a child role: return a failure code unless cond holds. */
#define SU_CHECK(cond)                                                         \
  do {                                                                         \
    if (!(cond))                                                               \
      return su_child_failed(__FILE__, __LINE__, #cond);                       \
  } while (0)

/* Test process only: a zero-filled block of shared memory for counters
 * and flags; the handle goes into the children's argument block. */
void *su_shm_new(mp_shm *m, size_t size);

/* Polls *p until it equals want: 1 if it did within timeout_ms. */
int su_wait_eq(_Atomic int64_t *p, int64_t want, int timeout_ms);
/* Polls a semaphore's value until it equals want: 1 if it did. */
int su_wait_sem(mp_sem *s, unsigned want, int timeout_ms);

/* Elapsed time checks for a wait of expected_ms: not (much) shorter than
 * asked, and done well within a slow machine's latency. The slack below
 * allows for a coarse Windows tick. */
#define SU_EARLY_MS 20
#define SU_LATE_MS 3000
void su_assert_took(int64_t start_ms, int expected_ms);

/* The OS's id of the calling thread (which the OS may give to a new
 * thread once this one is gone). */
uint64_t su_thread_id(void);
/* Handles (Windows) or descriptors (POSIX) this process has open; -1 if
 * the OS does not say. Under Wine, which does not count them, the slot a
 * new handle gets, which grows the same way when handles are kept. */
long su_handle_count(void);

/* "Publish, then wake", with the publisher killed in between (issue 7
 * #4). The waiter role releases a semaphore (`ready`) and sleeps in an
 * infinite wait; the killer role calls su_wait_asleep(ready), arms a fault
 * point (fault.h) that kills it just before its wake, and makes its
 * change. su_killed_before_wake (test process) starts both, checks that
 * the killer died there (-9) and that the waiter's infinite wait still
 * ended, within SU_WAKE_LOST_MS, with exit code 0. */
#define SU_WAKE_LOST_MS 10000
void su_wait_asleep(mp_sem *ready);
void su_killed_before_wake(mp_target waiter, mp_target killer,
                           const void *arg, size_t arg_size);

/* Starts n processes running target with the same argument block. */
void su_start_n(mp_process **ps, int n, mp_target target, const void *arg,
                size_t arg_size);
/* Joins and frees n processes, asserting each exits with code. */
void su_join_n(mp_process **ps, int n, int code);

#endif
