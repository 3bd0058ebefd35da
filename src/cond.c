/* Condition: a recursive robust mutex and a ticket queue of waiters.
 *
 * A waiter takes the next ticket under the lock; notify(n) moves the
 * "woken up to" mark past the next n tickets still waiting. A waiter is
 * notified once the mark has passed its ticket, so a notify can only ever
 * reach waiters that already held a ticket when it ran, never ones that
 * come later. The waiters all sleep on one wait word that notify bumps;
 * those whose ticket is not yet passed go back to sleep.
 *
 * A waiter that times out before the mark reaches it withdraws its ticket,
 * which would leave a hole a later notify must not count as a wake-up.
 * Holes are kept in a small table and skipped. Should more waiters time
 * out than the table holds while older ones still wait, the next notify
 * wakes every waiter: spurious wake-ups, which every condition user
 * tolerates, instead of a lost one, which none does. */
#include "deadline.h"
#include "shared.h"

#define MAX_HOLES 64

typedef struct cond_obj {
  mp__obj_hdr hdr;
  mp__rmutex lock;
  mp__waitword bell;   /* bumped by every notify that wakes someone */
  /* All below are written under the lock. Waiters read `woken` without
   * it while they sleep, hence the atomic. */
  uint64_t next_ticket;
  _Atomic uint64_t woken; /* tickets below this are notified */
  uint32_t n_holes;
  uint32_t lost_holes;    /* withdrawn while the table was full */
  uint64_t holes[MAX_HOLES];
} cond_obj;

static int lookup(mp_cond *c, cond_obj **o) {
  return mp__obj_lookup(c, MP__T_COND, (void **)o);
}

int mp_cond_create(mp_cond *c) {
  if (!c)
    return MP_EINVAL;
  cond_obj *o;
  mp__handle h;
  int rc = mp__obj_create(MP__T_COND, sizeof *o, &h, (void **)&o);
  if (rc < 0)
    return rc;
  if ((rc = mp__rmutex_init(&o->lock, o, 1)) < 0 ||
      (rc = mp__waitword_init(&o->bell, o, 0)) < 0) {
    mp__obj_destroy(&h, MP__T_COND);
    return rc;
  }
  *(mp__handle *)c = h;
  return 0;
}

int mp_cond_acquire(mp_cond *c, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  cond_obj *o;
  int rc = lookup(c, &o);
  return rc < 0 ? rc : mp__rmutex_lock(&o->lock, timeout_ms);
}

int mp_cond_release(mp_cond *c) {
  cond_obj *o;
  int rc = lookup(c, &o);
  return rc < 0 ? rc : mp__rmutex_unlock(&o->lock);
}

static int find_hole(cond_obj *o, uint64_t ticket) {
  for (uint32_t i = 0; i < o->n_holes; i++)
    if (o->holes[i] == ticket)
      return (int)i;
  return -1;
}

static void drop_hole(cond_obj *o, int i) {
  o->holes[i] = o->holes[--o->n_holes];
}

/* Under the lock: ticket gives up waiting without having been notified. */
static void withdraw(cond_obj *o, uint64_t ticket) {
  if (ticket + 1 == o->next_ticket) {
    /* The newest ticket: hand it back, with any holes it uncovers. */
    o->next_ticket--;
    int i;
    while (o->next_ticket > atomic_load(&o->woken) &&
           (i = find_hole(o, o->next_ticket - 1)) >= 0) {
      drop_hole(o, i);
      o->next_ticket--;
    }
  } else if (o->n_holes < MAX_HOLES) {
    o->holes[o->n_holes++] = ticket;
  } else {
    o->lost_holes++;
  }
  if (o->next_ticket == atomic_load(&o->woken)) {
    /* Nobody waits: whatever was lost is gone with them. */
    o->n_holes = 0;
    o->lost_holes = 0;
  }
}

/* Under the lock: notifies up to n waiters; the number notified. */
static uint64_t wake_tickets(cond_obj *o, uint64_t n) {
  uint64_t mark = atomic_load(&o->woken), done = 0;
  if (o->lost_holes)
    n = UINT64_MAX; /* a hole we cannot place must not swallow a wake */
  while (done < n && mark < o->next_ticket) {
    int i = find_hole(o, mark);
    if (i >= 0)
      drop_hole(o, i);
    else
      done++;
    mark++;
  }
  if (mark == o->next_ticket) {
    o->n_holes = 0;
    o->lost_holes = 0;
  }
  atomic_store(&o->woken, mark);
  return done;
}

/* Notify and wait need the caller to hold the lock, as in Python. */
static int lookup_held(mp_cond *c, cond_obj **o) {
  int rc = lookup(c, o);
  if (rc < 0)
    return rc;
  return mp__rmutex_held(&(*o)->lock) ? 0 : MP_ESTATE;
}

static int notify(mp_cond *c, uint64_t n) {
  cond_obj *o;
  int rc = lookup_held(c, &o);
  if (rc < 0)
    return rc;
  if (n == 0 || wake_tickets(o, n) == 0)
    return 0;
  /* The mark moved before the bell rings: a waiter that sees the new
   * bell value also sees the new mark. */
  atomic_fetch_add(&o->bell.value, 1);
  mp__waitword_wake(&o->bell, UINT32_MAX);
  return 0;
}

int mp_cond_notify(mp_cond *c, unsigned n) { return notify(c, n); }
int mp_cond_notify_all(mp_cond *c) { return notify(c, UINT64_MAX); }

/* Releases a recursive lock however deep it is held; the depth. */
static unsigned release_all(mp__rmutex *m) {
  unsigned depth = 0;
  while (mp__rmutex_held(m) && mp__rmutex_unlock(m) == 0)
    depth++;
  return depth;
}

/* Takes the lock back to depth. MP_EOWNERDEAD is kept: the caller holds
 * the lock either way, and must learn that someone died holding it. */
static int reacquire(mp__rmutex *m, unsigned depth) {
  int result = 0;
  for (unsigned i = 0; i < depth; i++) {
    int rc = mp__rmutex_lock(m, MP_INFINITE);
    if (rc == MP_EOWNERDEAD)
      result = rc;
    else if (rc < 0)
      return rc;
  }
  return result;
}

/* Sleeps until the mark passes ticket: 1 notified, 0 timed out, or an
 * error from the wait word. */
static int sleep_for_ticket(cond_obj *o, uint64_t ticket, int timeout_ms) {
  mp__deadline d = mp__deadline_in(timeout_ms);
  for (;;) {
    /* Bell first, mark second: a notify that moves the mark after this
     * read also changes the bell, and the wait below returns at once. */
    uint32_t bell = atomic_load(&o->bell.value);
    if (atomic_load(&o->woken) > ticket)
      return 1;
    int left = mp__deadline_left(&d);
    if (left == 0)
      return 0;
    int rc = mp__waitword_wait(&o->bell, bell, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
  }
}

int mp_cond_wait(mp_cond *c, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  cond_obj *o;
  int rc = lookup_held(c, &o);
  if (rc < 0)
    return rc;
  uint64_t ticket = o->next_ticket++;
  unsigned depth = release_all(&o->lock);
  int woke = sleep_for_ticket(o, ticket, timeout_ms);
  int relock = reacquire(&o->lock, depth);
  if (relock < 0 && relock != MP_EOWNERDEAD)
    return relock;
  /* A notify that reached us while we were timing out still counts: it
   * must not be lost to a waiter that no longer listens. */
  if (woke <= 0 && atomic_load(&o->woken) > ticket)
    woke = 1;
  if (woke <= 0)
    withdraw(o, ticket);
  if (woke < 0)
    return woke;
  if (relock < 0)
    return relock;
  return woke ? 0 : MP_ETIMEDOUT;
}

int mp_cond_wait_for(mp_cond *c, int (*pred)(void *arg), void *arg,
                     int timeout_ms) {
  if (!pred || timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  cond_obj *o;
  int rc = lookup_held(c, &o);
  if (rc < 0)
    return rc;
  mp__deadline d = mp__deadline_in(timeout_ms);
  int owner_died = 0;
  while (!pred(arg)) {
    int left = mp__deadline_left(&d);
    if (left == 0)
      return MP_ETIMEDOUT;
    rc = mp_cond_wait(c, left);
    if (rc == MP_EOWNERDEAD)
      owner_died = 1;
    else if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
  }
  return owner_died ? MP_EOWNERDEAD : 0;
}

int mp_cond_free(mp_cond *c) {
  cond_obj *o;
  int rc = lookup(c, &o);
  if (rc < 0)
    return rc;
  uint64_t bell_key = o->bell.key;
  mp__rmutex_destroy(&o->lock);
  return mp__obj_free(c, MP__T_COND, &bell_key, 1);
}
