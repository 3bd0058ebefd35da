/* Waiting and mutual exclusion across processes on POSIX: futexes on the
 * shared arena (Linux); lock owners and their deaths are in owner.c. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "fault.h"
#include "shared.h"

/* FUTEX_WAIT's relative timeout runs on CLOCK_MONOTONIC. No PRIVATE flag:
 * the word is shared between processes. 0 when woken, when the word was
 * not `expected`, or on a signal; MP_ETIMEDOUT; MP_ESYS. */
static int futex_wait(_Atomic uint32_t *word, uint32_t expected,
                      int timeout_ms) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  if (syscall(SYS_futex, word, FUTEX_WAIT, expected, tsp, NULL, 0) == 0)
    return 0;
  if (errno == ETIMEDOUT)
    return MP_ETIMEDOUT;
  return errno == EAGAIN || errno == EINTR ? 0 : mp__os_error(errno);
}

/* Never longer than one nap (deadline.h): the waker may have died between
 * its change and its wake, and callers look at their state again anyway. */
int mp__waitword_wait(mp__waitword *w, uint32_t expected, int timeout_ms) {
  atomic_fetch_add(&w->waiters, 1);
  atomic_store(&w->woken, 0);
  int rc = 0;
  if (atomic_load(&w->value) == expected)
    rc = futex_wait(&w->value, expected, mp__nap_cap(timeout_ms));
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

/* A futex needs nothing from the OS until someone sleeps. */
int mp__os_waitword_create(mp__waitword *w) {
  (void)w;
  return 0;
}

void mp__os_forget_key(uint64_t key) { (void)key; }

/* ---- The robust mutex: a futex word with the owner's token ----
 * The uncontended acquire and release are one atomic operation each. A
 * waiter spins briefly (holders usually leave within microseconds), then
 * sleeps in naps (deadline.h): the kernel wakes nobody when an owner dies,
 * so after each nap the waiter asks whether the owner still lives. */
#define WAITERS MP__OWNER_WAITERS
#define SPIN 200

int mp__rmutex_init(mp__rmutex *m, const void *obj, int recursive) {
  (void)obj;
  atomic_store(&m->word, 0);
  m->depth = 0;
  m->recursive = recursive != 0;
  return 0;
}

static int relock(mp__rmutex *m) {
  if (!m->recursive)
    return MP_ESTATE;
  m->depth++;
  return 0;
}

static int lock_slow(mp__rmutex *m, uint32_t self, int timeout_ms) {
  mp__deadline d = mp__deadline_in(timeout_ms);
  int spins = timeout_ms == 0 ? SPIN : 0;
  int slept = 0, probe = 1, nap = 0;
  for (;;) {
    uint32_t v = atomic_load(&m->word);
    if (v == 0) {
      /* Having slept, others may sleep too: keep the bit so that our
       * release wakes the next. */
      if (atomic_compare_exchange_weak(&m->word, &v,
                                       self | (slept ? WAITERS : 0))) {
        m->depth = 1;
        return 0;
      }
      continue;
    }
    if (spins < SPIN && !(v & WAITERS)) {
      spins++;
      mp__cpu_relax();
      continue;
    }
    if (probe && mp__owner_dead(v & ~WAITERS)) {
      /* The CAS fails if the word moved since: then the owner was not
       * the dead one any more. */
      if (atomic_compare_exchange_strong(&m->word, &v, self | WAITERS)) {
        m->depth = 1;
        return MP_EOWNERDEAD;
      }
      continue;
    }
    probe = 0;
    if (mp__deadline_left(&d) == 0) {
      /* The wake a release gave the next owner may have come to us, who
       * now leave without taking the lock: pass it on, or the sleepers
       * left behind lie there until their naps end. */
      if (slept)
        syscall(SYS_futex, &m->word, FUTEX_WAKE, 1, NULL, NULL, 0);
      return MP_ETIMEDOUT;
    }
    if (!(v & WAITERS) &&
        !atomic_compare_exchange_weak(&m->word, &v, v | WAITERS))
      continue;
    futex_wait(&m->word, v | WAITERS, mp__deadline_nap(&d, &nap));
    MP__FAULT("lock.woken");
    slept = probe = 1;
  }
}

int mp__rmutex_lock(mp__rmutex *m, int timeout_ms) {
  uint32_t self = mp__owner_self();
  if (!self)
    return MP_ENOMEM;
  uint32_t v = 0;
  if (atomic_compare_exchange_strong(&m->word, &v, self)) {
    m->depth = 1;
    return 0;
  }
  if ((v & ~WAITERS) == self)
    return relock(m);
  return lock_slow(m, self, timeout_ms);
}

int mp__rmutex_unlock(mp__rmutex *m) {
  uint32_t self = mp__owner_token;
  if (!self || (atomic_load(&m->word) & ~WAITERS) != self)
    return MP_ESTATE;
  if (m->recursive && m->depth > 1) {
    m->depth--;
    return 0;
  }
  /* Only the waiters bit can change under us: the word is ours. */
  if (atomic_exchange(&m->word, 0) & WAITERS)
    syscall(SYS_futex, &m->word, FUTEX_WAKE, 1, NULL, NULL, 0);
  return 0;
}

int mp__rmutex_held(mp__rmutex *m) {
  uint32_t self = mp__owner_token;
  return self && (atomic_load(&m->word) & ~WAITERS) == self;
}

/* Nothing to give back: the word is plain memory. Not even cleared: a
 * process losing a race to free the object could clear a new object that
 * reused the block. */
void mp__rmutex_destroy(mp__rmutex *m) { (void)m; }
