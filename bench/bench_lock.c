/* Lock acquire+release, uncontended, in one process: ns per pair.
 *
 * Against, in the same run:
 *   raw         a process-shared pthread mutex (default type) in
 *               MAP_SHARED|MAP_ANONYMOUS memory: the goal's baseline;
 *   raw_robust  the same mutex made robust and error-checking, which is
 *               what a Lock with owner-death detection needs: shows how
 *               much of the gap is the mutex type and how much is mproc.
 * The three are measured in alternating rounds; each figure is the best
 * round.
 *
 * Output: op=lock impl=mproc ns_per_op=.. raw_ns_per_op=..
 *         raw_robust_ns_per_op=.. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>

#include "bench.h"

static double time_mproc(mp_lock *l, uint64_t n) {
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    BENCH_CHECK(mp_lock_acquire(l, MP_INFINITE));
    BENCH_CHECK(mp_lock_release(l));
  }
  return (double)(bench_now_ns() - t0) / (double)n;
}

static double time_raw(pthread_mutex_t *m, uint64_t n) {
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    BENCH_CHECK0(pthread_mutex_lock(m));
    BENCH_CHECK0(pthread_mutex_unlock(m));
  }
  return (double)(bench_now_ns() - t0) / (double)n;
}

static void init_mutex(pthread_mutex_t *m, int robust) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  BENCH_CHECK0(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
  if (robust) {
    BENCH_CHECK0(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
    BENCH_CHECK0(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK));
  }
  BENCH_CHECK0(pthread_mutex_init(m, &a));
  pthread_mutexattr_destroy(&a);
}

static double min_d(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_lock l;
  BENCH_CHECK(mp_lock_create(&l));

  pthread_mutex_t *shared =
      mmap(NULL, 2 * sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  pthread_mutex_t *raw = &shared[0], *robust = &shared[1];
  init_mutex(raw, 0);
  init_mutex(robust, 1);

  /* Warm-up, and the size of one round: the whole run lasts about
   * BENCH_SECONDS (1.5 s), split over 3 kinds x `rounds` rounds. */
  const int rounds = 5;
  double per = bench_target_seconds(1.5) / (3.0 * rounds);
  double ns = time_mproc(&l, 100000);
  uint64_t n_mproc = bench_size(1e9 / ns, per, 10000, 200000000);
  ns = time_raw(raw, 100000);
  uint64_t n_raw = bench_size(1e9 / ns, per, 10000, 200000000);
  ns = time_raw(robust, 100000);
  uint64_t n_robust = bench_size(1e9 / ns, per, 10000, 200000000);

  double best_mproc = 1e30, best_raw = 1e30, best_robust = 1e30;
  for (int r = 0; r < rounds; r++) {
    best_mproc = min_d(best_mproc, time_mproc(&l, n_mproc));
    best_raw = min_d(best_raw, time_raw(raw, n_raw));
    best_robust = min_d(best_robust, time_raw(robust, n_robust));
  }

  printf("op=lock impl=mproc ns_per_op=%.2f raw_ns_per_op=%.2f "
         "raw_robust_ns_per_op=%.2f\n",
         best_mproc, best_raw, best_robust);

  pthread_mutex_destroy(raw);
  pthread_mutex_destroy(robust);
  munmap(shared, 2 * sizeof(pthread_mutex_t));
  BENCH_CHECK(mp_lock_free(&l));
  return 0;
}
