/* Waiting and mutual exclusion across processes on POSIX: futexes on the
 * shared arena (Linux), robust process-shared pthread mutexes. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

/* FUTEX_WAIT's relative timeout runs on CLOCK_MONOTONIC. No PRIVATE flag:
 * the word is shared between processes. */
int mp__waitword_wait(mp__waitword *w, uint32_t expected, int timeout_ms) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  atomic_fetch_add(&w->waiters, 1);
  atomic_store(&w->woken, 0);
  int rc = 0;
  if (atomic_load(&w->value) == expected &&
      syscall(SYS_futex, &w->value, FUTEX_WAIT, expected, tsp, NULL, 0) != 0) {
    if (errno == ETIMEDOUT)
      rc = MP_ETIMEDOUT;
    else if (errno != EAGAIN && errno != EINTR)
      rc = mp__os_error(errno);
  }
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

void mp__waitword_wake(mp__waitword *w, uint32_t n) {
  /* The common case, nobody asleep, costs no system call. */
  if (atomic_load(&w->waiters) == 0)
    return;
  /* Everyone asleep was woken already and has not run yet. Any sleeper
   * that came since cleared `woken` before it read the value. */
  if (n == UINT32_MAX && atomic_exchange(&w->woken, 1) != 0)
    return;
  syscall(SYS_futex, &w->value, FUTEX_WAKE, n > INT_MAX ? INT_MAX : (int)n,
          NULL, NULL, 0);
}

void mp__os_forget_key(uint64_t key) { (void)key; }

int mp__rmutex_init(mp__rmutex *m, uint64_t key, int recursive) {
  (void)key;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  /* ERRORCHECK gives the owner checks Lock needs: EDEADLK on relock,
   * EPERM on release by another thread. */
  pthread_mutexattr_settype(&attr, recursive ? PTHREAD_MUTEX_RECURSIVE
                                             : PTHREAD_MUTEX_ERRORCHECK);
  int rc = pthread_mutex_init(&m->m, &attr);
  pthread_mutexattr_destroy(&attr);
  return rc == 0 ? 0 : mp__os_error(rc);
}

/* gettid is a system call (~170 ns) and a Lock needs the caller's id on
 * every acquire and release, so each thread asks once. A forked child's
 * thread has a new id: the atfork handler makes it ask again. */
static _Thread_local int32_t cached_tid;
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;

static void forget_tid(void) { cached_tid = 0; }
static void watch_forks(void) { pthread_atfork(NULL, NULL, forget_tid); }

static int32_t self_tid(void) {
  if (cached_tid == 0) {
    pthread_once(&tid_once, watch_forks);
    cached_tid = (int32_t)syscall(SYS_gettid);
  }
  return cached_tid;
}

/* Owner and depth are written only by the holder, under the mutex; a
 * reader that is not the holder can never see its own tid there. */
static void took(mp__rmutex *m, int fresh) {
  if (!fresh && m->owner == self_tid()) {
    m->depth++;
  } else {
    m->owner = self_tid();
    m->depth = 1;
  }
}

int mp__rmutex_lock(mp__rmutex *m, int timeout_ms) {
  int rc;
  if (timeout_ms < 0) {
    rc = pthread_mutex_lock(&m->m);
  } else if (timeout_ms == 0) {
    rc = pthread_mutex_trylock(&m->m);
    if (rc == EBUSY)
      rc = ETIMEDOUT;
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    rc = pthread_mutex_clocklock(&m->m, CLOCK_MONOTONIC, &ts);
  }
  switch (rc) {
  case 0:
    took(m, 0);
    return 0;
  case ETIMEDOUT:
    return MP_ETIMEDOUT;
  case EDEADLK:
    return MP_ESTATE;
  case EOWNERDEAD:
    /* We hold it now; marking it consistent keeps it usable for the next
     * process, and the caller hears about the death once. */
    pthread_mutex_consistent(&m->m);
    took(m, 1);
    return MP_EOWNERDEAD;
  default:
    return mp__os_error(rc);
  }
}

int mp__rmutex_unlock(mp__rmutex *m) {
  if (m->owner != self_tid())
    return MP_ESTATE;
  int32_t owner = m->owner;
  uint32_t depth = m->depth;
  if (--m->depth == 0)
    m->owner = 0;
  int rc = pthread_mutex_unlock(&m->m);
  /* EPERM: the owner field matched a dead holder's recycled thread id,
   * but the kernel knows better: we never held it. */
  if (rc == EPERM) {
    m->owner = owner;
    m->depth = depth;
    return MP_ESTATE;
  }
  return rc == 0 ? 0 : mp__os_error(rc);
}

int mp__rmutex_held(mp__rmutex *m) { return m->owner == self_tid(); }

void mp__rmutex_destroy(mp__rmutex *m) { pthread_mutex_destroy(&m->m); }
