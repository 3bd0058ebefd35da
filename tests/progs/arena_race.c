/* A fresh process whose threads create their first shared objects at the
 * same moment, so that they race to create the arena (issue 7 #6: 34 of
 * 3,000 runs got MP_ENOMEM when the arena was published before its header
 * was whole). Every thread creates one object of its own kind and uses
 * it.
 *
 *   arena_race race     all threads start together
 *   arena_race paused   thread 0 creates first and stalls 300 ms at the
 *                       fault point "arena.mapped" (the segment mapped,
 *                       the header not yet written); the others create
 *                       their objects during the stall
 *
 * Prints one line per failed step. Exits 0 when every object was created
 * and worked, 1 otherwise, 2 on bad arguments, 3 when "paused" needs fault
 * points this build lacks. */
#include <stdio.h>
#include <string.h>

#include "sync_util.h"

#ifdef MPROC_FAULT_POINTS
#include "fault.h"
#endif

#define THREADS 8

typedef struct gate {
  _Atomic int go;
  _Atomic int first_in; /* thread 0 is creating */
  int paused;
} gate;

typedef struct job {
  gate *g;
  int index;
} job;

static int report(int index, const char *what, int rc) {
  printf("thread %d: %s: %d (%s)\n", index, what, rc, mp_strerror(rc));
  fflush(stdout);
  return 1;
}

#define STEP(call)                                                             \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_ < 0)                                                               \
      return report(j->index, #call, rc_);                                     \
  } while (0)

/* Creates one object of the thread's kind and uses it once. */
static int use_one(job *j) {
  switch (j->index % 7) {
  case 0: {
    mp_lock l;
    STEP(mp_lock_create(&l));
    STEP(mp_lock_acquire(&l, 1000));
    STEP(mp_lock_release(&l));
    STEP(mp_lock_free(&l));
    break;
  }
  case 1: {
    mp_sem s;
    STEP(mp_sem_create(&s, 0, 1));
    STEP(mp_sem_release(&s));
    STEP(mp_sem_acquire(&s, 1000));
    STEP(mp_sem_free(&s));
    break;
  }
  case 2: {
    mp_queue q;
    char buf[8];
    size_t len = 0;
    STEP(mp_queue_create(&q, 4));
    STEP(mp_queue_put(&q, "abc", 3, 1000));
    STEP(mp_queue_get(&q, buf, sizeof buf, &len, 1000));
    if (len != 3 || memcmp(buf, "abc", 3) != 0)
      return report(j->index, "queue round trip", 0);
    STEP(mp_queue_free(&q));
    break;
  }
  case 3: {
    mp_shm m;
    STEP(mp_shm_create(&m, 4096));
    char *p = mp_shm_ptr(m);
    if (!p)
      return report(j->index, "mp_shm_ptr", 0);
    p[4095] = 7;
    if (p[0] != 0 || p[4095] != 7)
      return report(j->index, "shm contents", 0);
    STEP(mp_shm_free(&m));
    break;
  }
  case 4: {
    mp_event e;
    STEP(mp_event_create(&e));
    STEP(mp_event_set(&e));
    STEP(mp_event_wait(&e, 1000));
    STEP(mp_event_free(&e));
    break;
  }
  case 5: {
    mp_cond c;
    STEP(mp_cond_create(&c));
    STEP(mp_cond_acquire(&c, 1000));
    STEP(mp_cond_notify_all(&c));
    STEP(mp_cond_release(&c));
    STEP(mp_cond_free(&c));
    break;
  }
  default: {
    mp_barrier b;
    STEP(mp_barrier_create(&b, 1));
    STEP(mp_barrier_wait(&b, 1000));
    STEP(mp_barrier_free(&b));
    break;
  }
  }
  return 0;
}

static int run(void *arg) {
  job *j = arg;
  while (!atomic_load(&j->g->go)) {
  }
  if (j->g->paused) {
    if (j->index == 0) {
#ifdef MPROC_FAULT_POINTS
      mp__fault_arm("arena.mapped", 0, MP__FAULT_PAUSE, 300);
#endif
      atomic_store(&j->g->first_in, 1);
    } else {
      while (!atomic_load(&j->g->first_in)) {
      }
      tst_sleep_ms(50); /* thread 0 is in its stall by now */
    }
  }
  return use_one(j);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc != 2)
    return 2;
  gate g = {0, 0, strcmp(argv[1], "paused") == 0};
  if (!g.paused && strcmp(argv[1], "race") != 0)
    return 2;
#ifndef MPROC_FAULT_POINTS
  if (g.paused)
    return 3;
#endif
  job jobs[THREADS];
  tst_thread *t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (job){&g, i};
    if (!(t[i] = tst_thread_start(run, &jobs[i])))
      return 1;
  }
  atomic_store(&g.go, 1);
  int failed = 0;
  for (int i = 0; i < THREADS; i++)
    failed |= tst_thread_join(t[i]) != 0;
  /* And once more from the main thread, now that the arena exists. */
  job again = {&g, 2};
  failed |= use_one(&again);
  return failed;
}
