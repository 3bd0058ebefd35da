/* Lock and RLock: a robust mutex in the arena. The OS-specific part, and
 * the owner-died detection, is mp__rmutex in <os>/sync.c. */
#include "shared.h"

typedef struct lock_obj {
  mp__obj_hdr hdr;
  mp__rmutex m;
} lock_obj;

static int create(void *handle, uint32_t type) {
  if (!handle)
    return MP_EINVAL;
  lock_obj *o;
  mp__handle h;
  int rc = mp__obj_create(type, sizeof *o, &h, (void **)&o);
  if (rc < 0)
    return rc;
  rc = mp__rmutex_init(&o->m, o, type == MP__T_RLOCK);
  if (rc < 0) {
    mp__obj_destroy(&h, type);
    return rc;
  }
  *(mp__handle *)handle = h;
  return 0;
}

static int acquire(void *handle, uint32_t type, int timeout_ms) {
  lock_obj *o;
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  int rc = mp__obj_lookup(handle, type, (void **)&o);
  return rc < 0 ? rc : mp__rmutex_lock(&o->m, timeout_ms);
}

static int release(void *handle, uint32_t type) {
  lock_obj *o;
  int rc = mp__obj_lookup(handle, type, (void **)&o);
  return rc < 0 ? rc : mp__rmutex_unlock(&o->m);
}

static int destroy(void *handle, uint32_t type) {
  lock_obj *o;
  int rc = mp__obj_lookup(handle, type, (void **)&o);
  if (rc < 0)
    return rc;
  mp__rmutex_destroy(&o->m);
  return mp__obj_free(handle, type, NULL, 0);
}

int mp_lock_create(mp_lock *l) { return create(l, MP__T_LOCK); }
int mp_lock_acquire(mp_lock *l, int t) { return acquire(l, MP__T_LOCK, t); }
int mp_lock_release(mp_lock *l) { return release(l, MP__T_LOCK); }
int mp_lock_free(mp_lock *l) { return destroy(l, MP__T_LOCK); }

int mp_rlock_create(mp_rlock *l) { return create(l, MP__T_RLOCK); }
int mp_rlock_acquire(mp_rlock *l, int t) { return acquire(l, MP__T_RLOCK, t); }
int mp_rlock_release(mp_rlock *l) { return release(l, MP__T_RLOCK); }
int mp_rlock_free(mp_rlock *l) { return destroy(l, MP__T_RLOCK); }
