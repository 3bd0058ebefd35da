/* Waiting and mutual exclusion across processes on Windows, where no
 * futex spans processes: a wait word sleeps on a named semaphore, a robust
 * mutex is a named kernel mutex, whose abandonment the kernel reports.
 * The names and their cache are in names.c; lock owners in owner.c. */
#include "deadline.h"
#include "shared.h"

int mp__os_waitword_create(mp__waitword *w) {
  return mp__win_create(w->key, 'w', w->obj16, 0) ? 0 : MP_ESYS;
}

static HANDLE semaphore_of(mp__waitword *w) {
  return mp__win_open(w->key, 'w', w->obj16, 1);
}

/* The waiter counts itself before it checks the value; a waker that
 * changes the value and then sees the count posts a token the waiter will
 * find. A token left over by a waiter that timed out only causes one
 * spurious wake, which callers allow for. */
int mp__waitword_wait(mp__waitword *w, uint32_t expected, int timeout_ms) {
  HANDLE sem = semaphore_of(w);
  if (!sem)
    return MP_ESYS;
  atomic_fetch_add(&w->waiters, 1);
  atomic_store(&w->woken, 0);
  int rc = 0;
  if (atomic_load(&w->value) == expected) {
    /* One nap at most (deadline.h): the waker may have died between its
     * change and its wake. */
    DWORD r = WaitForSingleObject(sem, (DWORD)mp__nap_cap(timeout_ms));
    if (r == WAIT_TIMEOUT)
      rc = MP_ETIMEDOUT;
    else if (r != WAIT_OBJECT_0)
      rc = mp__os_error((int)GetLastError());
  }
  atomic_fetch_sub(&w->waiters, 1);
  return rc;
}

void mp__waitword_wake(mp__waitword *w, uint32_t n) {
  uint32_t waiting = atomic_load(&w->waiters);
  if (waiting == 0)
    return;
  /* As on POSIX: one wake-all per sleep; here it also keeps unused tokens
   * from piling up in the semaphore. */
  if (n == UINT32_MAX && atomic_exchange(&w->woken, 1) != 0)
    return;
  HANDLE sem = semaphore_of(w);
  /* The count is in shared memory: never more than the semaphore takes. */
  if (sem)
    ReleaseSemaphore(sem, (LONG)(n < waiting ? n : waiting) & 0x7fffffff,
                     NULL);
}

/* ---- The robust mutex: a named kernel mutex and its owner's token ----
 * The kernel mutex does the waiting and reports a dead holder (abandoned);
 * the token says which thread holds it, so that a Lock refuses to nest
 * and only its holder may release it, whatever thread ids the OS reuses.
 * The kernel hands a released mutex straight to one waiter, and a waiter
 * that times out is simply not among them: no wake is ever lost. */

int mp__rmutex_init(mp__rmutex *m, const void *obj, int recursive) {
  /* Key 0 is the arena's own lock: object keys start at 1. */
  m->key = obj ? mp__arena_new_key() : 0;
  m->obj16 = obj ? (uint32_t)(mp__arena_off(obj) / 16) : 0;
  atomic_store(&m->owner, 0);
  m->depth = 0;
  m->recursive = recursive != 0;
  return mp__win_create(m->key, 'm', m->obj16, 0) ? 0 : MP_ESYS;
}

static HANDLE mutex_of(mp__rmutex *m) {
  return mp__win_open(m->key, 'm', m->obj16, 1);
}

static int is_mine(mp__rmutex *m, uint32_t self) {
  return self && atomic_load_explicit(&m->owner, memory_order_relaxed) == self;
}

int mp__rmutex_lock(mp__rmutex *m, int timeout_ms) {
  uint32_t self = mp__owner_self();
  if (!self)
    return MP_ENOMEM;
  if (!m->recursive && is_mine(m, self))
    return MP_ESTATE; /* the kernel mutex would nest; Lock must not */
  HANDLE h = mutex_of(m);
  if (!h)
    return MP_ESYS;
  DWORD r = WaitForSingleObject(h, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  switch (r) {
  case WAIT_OBJECT_0:
    if (is_mine(m, self)) {
      m->depth++;
    } else {
      atomic_store_explicit(&m->owner, self, memory_order_relaxed);
      m->depth = 1;
    }
    return 0;
  case WAIT_ABANDONED:
    atomic_store_explicit(&m->owner, self, memory_order_relaxed);
    m->depth = 1;
    return MP_EOWNERDEAD;
  case WAIT_TIMEOUT:
    return MP_ETIMEDOUT;
  default:
    return mp__os_error((int)GetLastError());
  }
}

int mp__rmutex_unlock(mp__rmutex *m) {
  if (!is_mine(m, mp__owner_token))
    return MP_ESTATE;
  HANDLE h = mutex_of(m);
  if (!h)
    return MP_ESYS;
  /* A depth of 0 is one some process overwrote: the last release. */
  if (m->depth > 1)
    m->depth--;
  else {
    m->depth = 0;
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
  }
  if (!ReleaseMutex(h))
    return mp__os_error((int)GetLastError());
  return 0;
}

int mp__rmutex_held(mp__rmutex *m) { return is_mine(m, mp__owner_token); }

void mp__rmutex_destroy(mp__rmutex *m) { mp__os_forget_key(m->key); }
