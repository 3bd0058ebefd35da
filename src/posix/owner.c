/* The OS lock of a lock-owner slot on POSIX (the table and the tokens are
 * in ../owner.c): a robust, process-shared pthread mutex in the slot,
 * held by the slot's thread for its life. When that thread dies, however
 * it dies, the kernel releases it and the next trylock says EOWNERDEAD.
 *
 * Why not a robust mutex per Lock, which would give owner deaths for free:
 * glibc pays for robustness on every acquire (the robust list the kernel
 * walks when a thread dies), about twice a plain mutex. So the kernel's
 * guarantee is taken once per thread instead, and a Lock is one futex word
 * holding its owner's token (sync.c). */
#include <errno.h>
#include <pthread.h>

#include "shared.h"

static pthread_key_t exit_key;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* A thread that returns or calls pthread_exit gives its slot back. */
static void on_thread_exit(void *unused) {
  (void)unused;
  uint32_t t = mp__owner_token;
  if (!t)
    return;
  mp__owner_token = 0;
  mp__owner_thread_exit(t);
}

/* A forked child's thread is not the thread that holds the parent's
 * slot, so it needs its own (called by the fork policy, atfork.c). */
void mp__owner_forget_in_child(void) { mp__owner_token = 0; }

static void setup(void) { pthread_key_create(&exit_key, on_thread_exit); }

void mp__os_owner_claimed(void) {
  pthread_once(&setup_once, setup);
  pthread_setspecific(exit_key, (void *)1);
}

int mp__os_owner_make(uint32_t idx, void *os) {
  (void)idx;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(os, &attr);
  pthread_mutexattr_destroy(&attr);
  return rc == 0 && pthread_mutex_lock(os) == 0 ? 0 : MP_ESYS;
}

int mp__os_owner_take(uint32_t idx, void *os) {
  (void)idx;
  int rc = pthread_mutex_trylock(os);
  if (rc == EOWNERDEAD)
    pthread_mutex_consistent(os);
  return rc == 0 || rc == EOWNERDEAD;
}

int mp__os_owner_probe(uint32_t idx, void *os) {
  (void)idx;
  int rc = pthread_mutex_trylock(os);
  if (rc == EBUSY)
    return MP__OWNER_HELD;
  if (rc == EOWNERDEAD) {
    pthread_mutex_consistent(os);
    return MP__OWNER_DIED;
  }
  if (rc != 0)
    return MP__OWNER_UNKNOWN;
  /* Free: its thread exited. */
  pthread_mutex_unlock(os);
  return MP__OWNER_FREE;
}

void mp__os_owner_release(uint32_t idx, void *os) {
  (void)idx;
  pthread_mutex_unlock(os);
}
