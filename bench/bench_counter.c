/* A shared counter incremented under a Lock by 2 processes at once:
 * increments per second, both processes together.
 *
 * For reference, the same run also times the same loop with a raw
 * process-shared pthread mutex (default type) in MAP_SHARED|MAP_ANONYMOUS
 * memory between fork()ed children: what this machine can do at best.
 *
 * The counter lives in an mp_shm block (Python's Value); every increment
 * is acquire, ++, release. Both children wait at a start line until the
 * parent lets them go, so process start-up is not timed; each writes its
 * finishing time (CLOCK_MONOTONIC, one clock for all processes) into the
 * block, and the run lasts from the go to the later of the two.
 *
 * Output: op=counter impl=mproc incr_per_s=.. raw_incr_per_s=.. ok=1 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define NPROC 2

typedef struct shared_block {
  int64_t counter;          /* guarded by the lock */
  _Atomic int ready;        /* children at the start line */
  _Atomic int go;           /* set by the parent */
  _Atomic uint64_t end_ns[NPROC];
} shared_block;

typedef struct child_arg {
  mp_lock lock;
  mp_shm shm;
  uint64_t n;
  int index;
} child_arg;

static int child(void *p) {
  child_arg *a = p;
  shared_block *b = mp_shm_ptr(a->shm);
  if (!b)
    return 3;
  atomic_fetch_add(&b->ready, 1);
  while (!atomic_load(&b->go))
    sched_yield();
  for (uint64_t i = 0; i < a->n; i++) {
    if (mp_lock_acquire(&a->lock, MP_INFINITE) != 0)
      return 4;
    b->counter++;
    if (mp_lock_release(&a->lock) != 0)
      return 5;
  }
  atomic_store(&b->end_ns[a->index], bench_now_ns());
  return 0;
}

/* One round: NPROC children, n increments each. Returns increments/s. */
static double round_rate(mp_lock lock, mp_shm shm, uint64_t n) {
  shared_block *b = mp_shm_ptr(shm);
  b->counter = 0;
  atomic_store(&b->ready, 0);
  atomic_store(&b->go, 0);

  mp_process *p[NPROC];
  for (int i = 0; i < NPROC; i++) {
    child_arg a = {lock, shm, n, i};
    BENCH_CHECK(mp_process_create(&p[i], child, &a, sizeof a, NULL));
    BENCH_CHECK(mp_process_start(p[i]));
  }
  while (atomic_load(&b->ready) < NPROC)
    sched_yield();
  uint64_t t0 = bench_now_ns();
  atomic_store(&b->go, 1);

  uint64_t t1 = 0;
  for (int i = 0; i < NPROC; i++) {
    int code = -1;
    BENCH_CHECK(mp_process_join(p[i], MP_INFINITE));
    BENCH_CHECK(mp_process_exitcode(p[i], &code));
    if (code != 0) {
      fprintf(stderr, "bench_counter: child exited with %d\n", code);
      exit(2);
    }
    BENCH_CHECK(mp_process_free(p[i]));
    uint64_t e = atomic_load(&b->end_ns[i]);
    if (e > t1)
      t1 = e;
  }
  if (b->counter != (int64_t)(n * NPROC)) {
    fprintf(stderr, "bench_counter: counter %lld, expected %llu\n",
            (long long)b->counter, (unsigned long long)(n * NPROC));
    exit(2);
  }
  return (double)(n * NPROC) / bench_sec(t1 - t0);
}

/* ---- The raw pthread reference ---- */

typedef struct raw_block {
  pthread_mutex_t m;
  shared_block b;
} raw_block;

static double raw_round_rate(raw_block *r, uint64_t n) {
  shared_block *b = &r->b;
  b->counter = 0;
  atomic_store(&b->ready, 0);
  atomic_store(&b->go, 0);
  pid_t pid[NPROC];
  for (int i = 0; i < NPROC; i++) {
    pid[i] = fork();
    BENCH_CHECK_OS(pid[i]);
    if (pid[i] == 0) {
      atomic_fetch_add(&b->ready, 1);
      while (!atomic_load(&b->go))
        sched_yield();
      for (uint64_t k = 0; k < n; k++) {
        pthread_mutex_lock(&r->m);
        b->counter++;
        pthread_mutex_unlock(&r->m);
      }
      atomic_store(&b->end_ns[i], bench_now_ns());
      _exit(0);
    }
  }
  while (atomic_load(&b->ready) < NPROC)
    sched_yield();
  uint64_t t0 = bench_now_ns();
  atomic_store(&b->go, 1);
  uint64_t t1 = 0;
  for (int i = 0; i < NPROC; i++) {
    int status = 0;
    waitpid(pid[i], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "bench_counter: raw child status %d\n", status);
      exit(2);
    }
    uint64_t e = atomic_load(&b->end_ns[i]);
    if (e > t1)
      t1 = e;
  }
  if (b->counter != (int64_t)(n * NPROC)) {
    fprintf(stderr, "bench_counter: raw counter %lld\n", (long long)b->counter);
    exit(2);
  }
  return (double)(n * NPROC) / bench_sec(t1 - t0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_lock lock;
  mp_shm shm;
  BENCH_CHECK(mp_lock_create(&lock));
  BENCH_CHECK(mp_shm_create(&shm, sizeof(shared_block)));

  raw_block *raw = mmap(NULL, sizeof *raw, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  BENCH_CHECK0(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED));
  BENCH_CHECK0(pthread_mutex_init(&raw->m, &attr));
  pthread_mutexattr_destroy(&attr);

  /* mproc gets 2/3 of the time, the reference 1/3. */
  double secs = bench_target_seconds(1.0);
  double rate = round_rate(lock, shm, 50000);
  uint64_t n = bench_size(rate / NPROC, secs, 10000, 100000000);
  double raw_rate = raw_round_rate(raw, 200000);
  uint64_t raw_n = bench_size(raw_rate / NPROC, secs / 2, 10000, 500000000);
  rate = round_rate(lock, shm, n);
  raw_rate = raw_round_rate(raw, raw_n);

  printf("op=counter impl=mproc incr_per_s=%.0f raw_incr_per_s=%.0f nproc=%d "
         "n=%llu ok=1\n",
         rate, raw_rate, NPROC, (unsigned long long)(n * NPROC));

  pthread_mutex_destroy(&raw->m);
  munmap(raw, sizeof *raw);

  BENCH_CHECK(mp_shm_free(&shm));
  BENCH_CHECK(mp_lock_free(&lock));
  return 0;
}
