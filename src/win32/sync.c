/* Waiting and mutual exclusion across processes on Windows, where no
 * futex spans processes: a wait word sleeps on a named semaphore, a robust
 * mutex is a named kernel mutex, whose abandonment the kernel reports. */
#include "deadline.h"
#include "shared.h"

HANDLE mp__win_named(uint64_t key, char kind);

/* The waiter counts itself before it checks the value; a waker that
 * changes the value and then sees the count posts a token the waiter will
 * find. A token left over by a waiter that timed out only causes one
 * spurious wake, which callers allow for. */
int mp__waitword_wait(mp__waitword *w, uint32_t expected, int timeout_ms) {
  HANDLE sem = mp__win_named(w->key, 'w');
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
  HANDLE sem = mp__win_named(w->key, 'w');
  if (sem)
    ReleaseSemaphore(sem, (LONG)(n < waiting ? n : waiting), NULL);
}

int mp__rmutex_init(mp__rmutex *m, uint64_t key, int recursive) {
  m->key = key ? key : (uint64_t)-1; /* the arena's own lock */
  m->owner_pid = 0;
  m->owner_tid = 0;
  m->depth = 0;
  m->recursive = recursive;
  return mp__win_named(m->key, 'm') ? 0 : MP_ESYS;
}

static int is_mine(const mp__rmutex *m) {
  return m->owner_pid == GetCurrentProcessId() &&
         m->owner_tid == GetCurrentThreadId();
}

int mp__rmutex_lock(mp__rmutex *m, int timeout_ms) {
  if (!m->recursive && is_mine(m))
    return MP_ESTATE; /* the kernel mutex would nest; Lock must not */
  HANDLE h = mp__win_named(m->key, 'm');
  if (!h)
    return MP_ESYS;
  DWORD r = WaitForSingleObject(h, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  switch (r) {
  case WAIT_OBJECT_0:
    if (is_mine(m)) {
      m->depth++;
    } else {
      m->owner_pid = GetCurrentProcessId();
      m->owner_tid = GetCurrentThreadId();
      m->depth = 1;
    }
    return 0;
  case WAIT_ABANDONED:
    m->owner_pid = GetCurrentProcessId();
    m->owner_tid = GetCurrentThreadId();
    m->depth = 1;
    return MP_EOWNERDEAD;
  case WAIT_TIMEOUT:
    return MP_ETIMEDOUT;
  default:
    return mp__os_error((int)GetLastError());
  }
}

int mp__rmutex_unlock(mp__rmutex *m) {
  if (!is_mine(m))
    return MP_ESTATE;
  HANDLE h = mp__win_named(m->key, 'm');
  if (!h)
    return MP_ESYS;
  if (--m->depth == 0) {
    m->owner_pid = 0;
    m->owner_tid = 0;
  }
  if (!ReleaseMutex(h))
    return mp__os_error((int)GetLastError());
  return 0;
}

int mp__rmutex_held(mp__rmutex *m) { return is_mine(m); }

void mp__rmutex_destroy(mp__rmutex *m) { mp__os_forget_key(m->key); }
