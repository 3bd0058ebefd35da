/* Semaphore: the count lives in the value of a wait word, so taking and
 * giving are single atomic operations in the arena and a process sleeps
 * only while the count is 0. Nothing here is owned, so a process killed in
 * the middle leaves the count either before or after its operation. */
#include "deadline.h"
#include "fault.h"
#include "shared.h"

typedef struct sem_obj {
  mp__obj_hdr hdr;
  mp__waitword count;
  uint32_t bound; /* 0: unbounded */
} sem_obj;

int mp_sem_create(mp_sem *s, unsigned value, unsigned bound) {
  if (!s || (bound != 0 && value > bound))
    return MP_EINVAL;
  sem_obj *o;
  mp__handle h;
  int rc = mp__obj_create(MP__T_SEM, sizeof *o, &h, (void **)&o);
  if (rc < 0)
    return rc;
  o->bound = bound;
  if ((rc = mp__waitword_init(&o->count, o, value)) < 0) {
    mp__obj_destroy(&h, MP__T_SEM);
    return rc;
  }
  *(mp__handle *)s = h;
  return 0;
}

/* Takes one unit if there is one: 1 if taken, 0 if the count is 0. */
static int try_take(sem_obj *o) {
  uint32_t v = atomic_load(&o->count.value);
  while (v > 0) {
    if (atomic_compare_exchange_weak(&o->count.value, &v, v - 1))
      return 1;
  }
  return 0;
}

int mp_sem_acquire(mp_sem *s, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  sem_obj *o;
  int rc = mp__obj_lookup(s, MP__T_SEM, (void **)&o);
  if (rc < 0)
    return rc;
  mp__deadline d = mp__deadline_in(timeout_ms);
  for (;;) {
    if (try_take(o))
      return 0;
    int left = mp__deadline_left(&d);
    if (left == 0)
      return MP_ETIMEDOUT;
    /* Sleeps only while the count is still 0; a timeout here is checked
     * by one more try at the top, so a late release is not missed. */
    rc = mp__waitword_wait(&o->count, 0, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
  }
}

int mp_sem_release(mp_sem *s) {
  sem_obj *o;
  int rc = mp__obj_lookup(s, MP__T_SEM, (void **)&o);
  if (rc < 0)
    return rc;
  uint32_t limit = o->bound ? o->bound : UINT32_MAX;
  /* A CAS loop, not a fetch_add: the bound check and the increment must
   * be one step, or two releases racing could both pass the bound. */
  uint32_t v = atomic_load(&o->count.value);
  do {
    if (v >= limit)
      return MP_ESTATE;
  } while (!atomic_compare_exchange_weak(&o->count.value, &v, v + 1));
  MP__FAULT("sem.release.wake");
  mp__waitword_wake(&o->count, 1);
  return 0;
}

int mp_sem_value(mp_sem *s, unsigned *value) {
  if (!value)
    return MP_EINVAL;
  sem_obj *o;
  int rc = mp__obj_lookup(s, MP__T_SEM, (void **)&o);
  if (rc < 0)
    return rc;
  *value = atomic_load(&o->count.value);
  return 0;
}

int mp_sem_free(mp_sem *s) {
  sem_obj *o;
  int rc = mp__obj_lookup(s, MP__T_SEM, (void **)&o);
  if (rc < 0)
    return rc;
  uint64_t key = o->count.key;
  return mp__obj_free(s, MP__T_SEM, &key, 1);
}
