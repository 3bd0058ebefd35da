/* Condition: a recursive robust mutex and a ticket queue of waiters.
 *
 * A waiter takes the next ticket under the lock; notify(n) moves the
 * "woken up to" mark past the next n tickets still waiting. A waiter is
 * notified once the mark has passed its ticket, so a notify can only ever
 * reach waiters that already held a ticket when it ran, never ones that
 * come later. The waiters all sleep on one wait word that notify bumps;
 * those whose ticket is not yet passed go back to sleep.
 *
 * Each waiting ticket has a slot in a ring, with its waiter's lock-owner
 * token (the thread's identity across the family, owner.c). notify
 * counts only tickets whose waiter can still take the wake: it skips
 * tickets withdrawn by a waiter that timed out (their slot says so) and
 * tickets of waiters that died while they waited (their owner is dead), so
 * neither swallows a wake a live waiter needs.
 *
 * Should more tickets wait at once than the ring holds, the extra ones get
 * no slot, and every notify wakes every waiter until they are all through:
 * spurious wake-ups, which every condition user tolerates, instead of a
 * lost one, which none does. Every count read from the arena (any process
 * can write there) is checked the same way: one out of bounds also wakes
 * everyone. */
#include "deadline.h"
#include "fault.h"
#include "shared.h"

#define RING 64

typedef struct ticket_slot {
  uint64_t ticket; /* the ticket this slot describes */
  uint32_t owner;  /* its waiter's token; 0: withdrawn */
  uint32_t pad;
} ticket_slot;

typedef struct cond_obj {
  mp__obj_hdr hdr;
  mp__rmutex lock;
  mp__waitword bell;   /* bumped by every notify that wakes someone */
  /* All below are written under the lock. Waiters read `woken` without
   * it while they sleep, hence the atomic. */
  uint64_t next_ticket;
  _Atomic uint64_t woken; /* tickets below this are notified */
  uint32_t unrecorded;    /* some waiting ticket has no slot */
  uint32_t pad;
  ticket_slot ring[RING]; /* ticket t in ring[t % RING], while it waits */
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

/* Under the lock: the slot of ticket t, if it has one. */
static ticket_slot *slot_of(cond_obj *o, uint64_t t) {
  ticket_slot *s = &o->ring[t % RING];
  return s->ticket == t ? s : NULL;
}

/* Under the lock: a new waiter's ticket, with its owner. */
static uint64_t take_ticket(cond_obj *o, uint32_t owner) {
  uint64_t t = o->next_ticket++;
  /* The slot is free unless RING tickets before this one still wait. */
  if (owner && t - atomic_load(&o->woken) < RING)
    o->ring[t % RING] = (ticket_slot){t, owner, 0};
  else
    o->unrecorded = 1;
  return t;
}

/* Under the lock: ticket gives up waiting without having been notified. */
static void withdraw(cond_obj *o, uint64_t ticket) {
  ticket_slot *s = slot_of(o, ticket);
  if (s)
    s->owner = 0;
  /* The newest tickets, withdrawn: hand them back. Each step needs a
   * slot that says so, so this ends within RING steps. */
  uint64_t woken = atomic_load(&o->woken);
  while (o->next_ticket > woken &&
         (o->next_ticket - 1 == ticket ||
          ((s = slot_of(o, o->next_ticket - 1)) && s->owner == 0))) {
    o->next_ticket--;
    ticket = UINT64_MAX;
  }
  if (o->next_ticket == woken)
    o->unrecorded = 0; /* nobody waits: whatever was unknown is gone */
}

/* Under the lock: a waiting ticket whose waiter can take a wake. */
static int listening(cond_obj *o, uint64_t t) {
  ticket_slot *s = slot_of(o, t);
  return !s || (s->owner != 0 && !mp__owner_dead(s->owner));
}

/* Under the lock: notifies up to n waiters; 0 if nobody was there. */
static uint64_t wake_tickets(cond_obj *o, uint64_t n) {
  uint64_t mark = atomic_load(&o->woken), done = 0;
  uint64_t waiting = o->next_ticket - mark;
  if (o->unrecorded || waiting > RING || n >= waiting) {
    /* All of them; or a ticket without a slot, which could be anyone's:
     * then all of them too. */
    done = waiting;
    mark = o->next_ticket;
  } else {
    while (done < n && mark < o->next_ticket)
      done += listening(o, mark++);
  }
  if (mark == o->next_ticket)
    o->unrecorded = 0;
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
  MP__FAULT("cond.notify.wake");
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
  uint64_t ticket = take_ticket(o, mp__owner_self());
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
