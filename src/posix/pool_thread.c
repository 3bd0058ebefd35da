/* The pool's threads and condition variables on POSIX. The condition
 * variable runs on CLOCK_MONOTONIC, the library's one clock, so a timed
 * wait is not stretched or cut by a change of the wall clock. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "pool.h"

struct mp__thread {
  pthread_t id;
  void (*fn)(void *);
  void *arg;
};

static void *trampoline(void *arg) {
  mp__thread *t = arg;
  t->fn(t->arg);
  return NULL;
}

int mp__thread_start(mp__thread **out, void (*fn)(void *), void *arg) {
  mp__thread *t = malloc(sizeof *t);
  if (!t)
    return MP_ENOMEM;
  t->fn = fn;
  t->arg = arg;
  int rc = pthread_create(&t->id, NULL, trampoline, t);
  if (rc != 0) {
    free(t);
    return mp__os_error(rc);
  }
  *out = t;
  return 0;
}

void mp__thread_join(mp__thread *t) {
  pthread_join(t->id, NULL);
  free(t);
}

struct mp__cond {
  pthread_cond_t c;
};

int mp__cond_new(mp__cond **out) {
  mp__cond *c = malloc(sizeof *c);
  if (!c)
    return MP_ENOMEM;
  pthread_condattr_t attr;
  int rc = pthread_condattr_init(&attr);
  if (rc == 0) {
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&c->c, &attr);
    pthread_condattr_destroy(&attr);
  }
  if (rc != 0) {
    free(c);
    return mp__os_error(rc);
  }
  *out = c;
  return 0;
}

void mp__cond_free(mp__cond *c) {
  pthread_cond_destroy(&c->c);
  free(c);
}

void mp__cond_wait(mp__cond *c, mp__mutex *m, int timeout_ms) {
  if (timeout_ms < 0) {
    pthread_cond_wait(&c->c, m);
    return;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&c->c, m, &ts);
}

void mp__cond_broadcast(mp__cond *c) { pthread_cond_broadcast(&c->c); }
