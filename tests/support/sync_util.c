/* Helpers for the synchronisation tests: see sync_util.h. */
#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <string.h>

#include "sync_util.h"

int su_child_failed(const char *file, int line, const char *what) {
  fprintf(stderr, "child %lld: check failed at %s:%d: %s\n",
          (long long)mp_current_pid(), file, line, what);
  fflush(stderr);
  return SU_FAIL_BASE + line % 100;
}

void *su_shm_new(mp_shm *m, size_t size) {
  assert_int_equal(mp_shm_create(m, size), 0);
  void *p = mp_shm_ptr(*m);
  assert_non_null(p);
  return p;
}

int su_wait_eq(_Atomic int64_t *p, int64_t want, int timeout_ms) {
  int64_t end = tst_now_ms() + timeout_ms;
  for (;;) {
    if (atomic_load(p) == want)
      return 1;
    if (tst_now_ms() >= end)
      return 0;
    tst_sleep_ms(1);
  }
}

int su_wait_sem(mp_sem *s, unsigned want, int timeout_ms) {
  int64_t end = tst_now_ms() + timeout_ms;
  for (;;) {
    unsigned v = 0;
    if (mp_sem_value(s, &v) == 0 && v == want)
      return 1;
    if (tst_now_ms() >= end)
      return 0;
    tst_sleep_ms(1);
  }
}

void su_assert_took(int64_t start_ms, int expected_ms) {
  int64_t took = tst_now_ms() - start_ms;
  if (took < expected_ms - SU_EARLY_MS || took > expected_ms + SU_LATE_MS)
    fail_msg("a wait of %d ms took %lld ms", expected_ms, (long long)took);
}

void su_wait_asleep(mp_sem *ready) {
  mp_sem_acquire(ready, TST_LONG_MS);
  /* Past its checks and asleep by then: if not, the wake is not lost and
   * the test passes without having tested anything, it cannot fail. */
  tst_sleep_ms(300);
}

void su_killed_before_wake(mp_target waiter, mp_target killer,
                           const void *arg, size_t arg_size) {
  mp_process *w = tst_start(waiter, arg, arg_size, NULL);
  tst_guard_process(w);
  mp_process *k = tst_start(killer, arg, arg_size, NULL);
  tst_guard_process(k);
  assert_int_equal(tst_join_code(k, TST_LONG_MS), -9);
  assert_int_equal(tst_free(k), 0);
  int64_t t0 = tst_now_ms();
  int code = tst_join_code(w, SU_WAKE_LOST_MS);
  if (code != 0)
    fail_msg("the waiter exited with %d after %lld ms", code,
             (long long)(tst_now_ms() - t0));
  assert_int_equal(tst_free(w), 0);
}

void su_start_n(mp_process **ps, int n, mp_target target, const void *arg,
                size_t arg_size) {
  for (int i = 0; i < n; i++)
    ps[i] = tst_start(target, arg, arg_size, NULL);
}

void su_join_n(mp_process **ps, int n, int code) {
  for (int i = 0; i < n; i++) {
    int got = tst_join_code(ps[i], 2 * TST_LONG_MS);
    if (got != code)
      fail_msg("child %d of %d exited with %d, expected %d", i + 1, n, got,
               code);
    assert_int_equal(mp_process_free(ps[i]), 0);
  }
}

uint64_t su_thread_id(void) {
#ifdef _WIN32
  return GetCurrentThreadId();
#else
  return (uint64_t)syscall(SYS_gettid);
#endif
}

long su_handle_count(void) {
#ifdef _WIN32
  DWORD n = 0;
  if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
    return (long)n;
  /* Wine says 0. A new handle takes the lowest free slot of the table, so
   * its value / 4 is at least the count of handles kept below it: it
   * grows with every handle a process keeps. */
  HANDLE h = CreateEventW(NULL, FALSE, FALSE, NULL);
  if (!h)
    return -1;
  long slot = (long)((uintptr_t)h / 4);
  CloseHandle(h);
  return slot;
#else
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  long n = 0;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
#endif
}
