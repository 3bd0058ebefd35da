/* A shared counter and a shared array under one Lock: four processes each
 * add 1 to the counter and to their own slot of the array, 10000 times,
 * holding the lock for every update. The classic Python program:
 *
 *   from multiprocessing import Process, Value, Array, Lock
 *
 *   def work(counter, totals, lock, i, n):
 *       for _ in range(n):
 *           with lock:
 *               counter.value += 1
 *               totals[i] += 1
 *
 *   if __name__ == '__main__':
 *       lock = Lock()
 *       counter = Value('i', 0, lock=False)
 *       totals = Array('i', 4, lock=False)
 *
 *       ps = [Process(target=work, args=(counter, totals, lock, i, 10000))
 *             for i in range(4)]
 *       for p in ps:
 *           p.start()
 *       for p in ps:
 *           p.join()
 *
 *       print(counter.value)
 *       print(totals[:])
 *
 * Output:
 *   40000
 *   [10000, 10000, 10000, 10000]
 *
 * Without the lock, `counter.value += 1` is a read and a write: two
 * processes can read the same value, and increments are lost. Value and
 * Array with lock=False are plain shared memory, mp_shm here; the one
 * Lock guards both.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#include "example.h"

#define NPROC 4
#define N 10000

/* args=(counter, totals, lock, i, n): three handles and two numbers. */
struct work_args {
  mp_shm counter; /* Value('i', 0, lock=False): one int */
  mp_shm totals;  /* Array('i', 4, lock=False): NPROC ints */
  mp_lock lock;
  int i, n;
};

/* The shared bytes, mapped in this process. */
static void *shared(mp_shm m) {
  void *p = mp_shm_ptr(m);
  if (!p) {
    fprintf(stderr, "mp_shm_ptr failed\n");
    exit(1);
  }
  return p;
}

static int work(void *arg) {
  struct work_args *a = arg;
  int *counter = shared(a->counter);
  int *totals = shared(a->totals);
  for (int k = 0; k < a->n; k++) {
    CHECK(mp_lock_acquire(&a->lock, MP_INFINITE)); /* with lock: */
    *counter += 1;
    totals[a->i] += 1;
    CHECK(mp_lock_release(&a->lock));
  }
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  struct work_args args;
  CHECK(mp_lock_create(&args.lock));
  CHECK(mp_shm_create(&args.counter, sizeof(int)));         /* zeroed */
  CHECK(mp_shm_create(&args.totals, NPROC * sizeof(int))); /* zeroed */
  args.n = N;

  mp_process *ps[NPROC];
  for (int i = 0; i < NPROC; i++) {
    args.i = i; /* each child gets its own copy of args */
    CHECK(mp_process_create(&ps[i], work, &args, sizeof args, NULL));
  }
  for (int i = 0; i < NPROC; i++)
    CHECK(mp_process_start(ps[i]));
  for (int i = 0; i < NPROC; i++) {
    CHECK(mp_process_join(ps[i], MP_INFINITE));
    mp_process_free(ps[i]);
  }

  /* Every child has ended: no one else touches the memory now. */
  int *counter = shared(args.counter);
  int *totals = shared(args.totals);
  printf("%d\n", *counter); /* print(counter.value) */
  printf("[");              /* print(totals[:]) */
  for (int i = 0; i < NPROC; i++)
    printf("%s%d", i ? ", " : "", totals[i]);
  printf("]\n");

  CHECK(mp_shm_free(&args.totals));
  CHECK(mp_shm_free(&args.counter));
  CHECK(mp_lock_free(&args.lock));
  return 0;
}
