/* Barrier with Python's threading.Barrier semantics, across processes.
 *
 * Arrivals count themselves under a robust mutex; the last one of a round
 * starts the next round and rings the bell every waiter sleeps on. Waiters
 * recognise the end of their round by the round number changing, so the
 * next round can fill while slow waiters of the last one are still on
 * their way out: no draining phase that a killed process could block.
 *
 * How a round ended (passed or broken) is kept per round in a ring of 64
 * bits. A waiter reads its round's bit once it sees the round number move
 * on; the bit is reused 64 rounds later. Misreading it would take 64 more
 * rounds to fill and end between the bell and that waiter running again.
 *
 * The counts are in the arena, where any process of the family can write:
 * a party count or an arrival index out of range is refused (MP_EINVAL,
 * as for a forged handle) and breaks the round, so nobody waits on it. */
#include <limits.h>

#include "deadline.h"
#include "fault.h"
#include "shared.h"

typedef struct barrier_obj {
  mp__obj_hdr hdr;
  mp__rmutex lock;             /* guards count and every state change */
  mp__waitword bell;           /* bumped when a round ends or breaks */
  uint32_t parties;
  _Atomic uint32_t count;      /* parties waiting in the current round */
  _Atomic uint32_t round;
  _Atomic uint32_t broken;     /* the current round is broken */
  _Atomic uint64_t broken_ring; /* bit r % 64: round r ended broken */
} barrier_obj;

static uint64_t bit_of(uint32_t round) { return 1ull << (round % 64); }

static int lookup(mp_barrier *b, barrier_obj **o) {
  int rc = mp__obj_lookup(b, MP__T_BARRIER, (void **)o);
  if (rc == 0 && ((*o)->parties == 0 || (*o)->parties > INT_MAX))
    return MP_EINVAL;
  return rc;
}

/* The internal lock is held for a few instructions only; a process killed
 * there leaves at worst one arrival miscounted, so the barrier goes on. */
static int lock(barrier_obj *o) {
  int rc = mp__rmutex_lock(&o->lock, MP_INFINITE);
  return rc == MP_EOWNERDEAD ? 0 : rc;
}

static void unlock(barrier_obj *o) { mp__rmutex_unlock(&o->lock); }

static void ring(barrier_obj *o) {
  atomic_fetch_add(&o->bell.value, 1);
  MP__FAULT("barrier.wake");
  mp__waitword_wake(&o->bell, UINT32_MAX);
}

/* Under the lock. The outcome bit is written before the round number
 * moves, so a waiter that sees the new number reads the right bit. */
static void next_round(barrier_obj *o, int current_broken) {
  uint32_t r = atomic_load(&o->round);
  if (current_broken)
    atomic_fetch_or(&o->broken_ring, bit_of(r));
  atomic_fetch_and(&o->broken_ring, ~bit_of(r + 1));
  atomic_store(&o->count, 0);
  atomic_store(&o->broken, 0);
  atomic_store(&o->round, r + 1);
  ring(o);
}

/* Under the lock: the current round breaks; its waiters get MP_EBROKEN,
 * and so does every arrival until reset. */
static void break_round(barrier_obj *o) {
  if (atomic_load(&o->broken))
    return;
  atomic_fetch_or(&o->broken_ring, bit_of(atomic_load(&o->round)));
  atomic_store(&o->broken, 1);
  ring(o);
}

int mp_barrier_create(mp_barrier *b, unsigned parties) {
  if (!b || parties == 0 || parties > INT_MAX)
    return MP_EINVAL;
  barrier_obj *o;
  mp__handle h;
  int rc = mp__obj_create(MP__T_BARRIER, sizeof *o, &h, (void **)&o);
  if (rc < 0)
    return rc;
  if ((rc = mp__rmutex_init(&o->lock, o, 0)) < 0 ||
      (rc = mp__waitword_init(&o->bell, o, 0)) < 0) {
    mp__obj_destroy(&h, MP__T_BARRIER);
    return rc;
  }
  o->parties = parties;
  *(mp__handle *)b = h;
  return 0;
}

/* 1 if round r is over for its waiters, with *rc what wait returns. */
static int round_over(barrier_obj *o, uint32_t r, int index, int *rc) {
  /* broken before round: a broken flag seen with the round still r was
   * set for round r, since a later round would have moved the number. */
  uint32_t broken = atomic_load(&o->broken);
  uint32_t now = atomic_load(&o->round);
  if (now == r) {
    if (!broken)
      return 0;
    *rc = MP_EBROKEN;
    return 1;
  }
  *rc = (atomic_load(&o->broken_ring) & bit_of(r)) ? MP_EBROKEN : index;
  return 1;
}

int mp_barrier_wait(mp_barrier *b, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  barrier_obj *o;
  int rc = lookup(b, &o);
  if (rc < 0 || (rc = lock(o)) < 0)
    return rc;
  if (atomic_load(&o->broken)) {
    unlock(o);
    return MP_EBROKEN;
  }
  uint32_t r = atomic_load(&o->round);
  uint32_t arrived = atomic_fetch_add(&o->count, 1);
  if (arrived >= o->parties) {
    break_round(o);
    unlock(o);
    return MP_EINVAL;
  }
  int index = (int)arrived;
  if ((unsigned)index + 1 == o->parties) {
    next_round(o, 0);
    unlock(o);
    return index;
  }
  unlock(o);

  mp__deadline d = mp__deadline_in(timeout_ms);
  for (;;) {
    uint32_t bell = atomic_load(&o->bell.value);
    if (round_over(o, r, index, &rc))
      return rc;
    int left = mp__deadline_left(&d);
    if (left == 0)
      break;
    rc = mp__waitword_wait(&o->bell, bell, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
  }
  /* Timed out, unless the round ended meanwhile: then that outcome. */
  if ((rc = lock(o)) < 0)
    return rc;
  if (!round_over(o, r, index, &rc)) {
    break_round(o);
    rc = MP_ETIMEDOUT;
  }
  unlock(o);
  return rc;
}

int mp_barrier_abort(mp_barrier *b) {
  barrier_obj *o;
  int rc = lookup(b, &o);
  if (rc < 0 || (rc = lock(o)) < 0)
    return rc;
  break_round(o);
  unlock(o);
  return 0;
}

int mp_barrier_reset(mp_barrier *b) {
  barrier_obj *o;
  int rc = lookup(b, &o);
  if (rc < 0 || (rc = lock(o)) < 0)
    return rc;
  /* Parties waiting now are sent away broken; a broken round already is. */
  next_round(o, atomic_load(&o->broken) || atomic_load(&o->count) > 0);
  unlock(o);
  return 0;
}

int mp_barrier_broken(mp_barrier *b) {
  barrier_obj *o;
  int rc = lookup(b, &o);
  return rc < 0 ? rc : (int)atomic_load(&o->broken);
}

int mp_barrier_parties(mp_barrier *b) {
  barrier_obj *o;
  int rc = lookup(b, &o);
  return rc < 0 ? rc : (int)o->parties;
}

/* As Python: 0 while the barrier is broken. */
int mp_barrier_n_waiting(mp_barrier *b) {
  barrier_obj *o;
  int rc = lookup(b, &o);
  if (rc < 0)
    return rc;
  uint32_t n = atomic_load(&o->count);
  if (n > o->parties)
    return MP_EINVAL;
  return atomic_load(&o->broken) ? 0 : (int)n;
}

int mp_barrier_free(mp_barrier *b) {
  barrier_obj *o;
  int rc = lookup(b, &o);
  if (rc < 0)
    return rc;
  uint64_t bell_key = o->bell.key;
  mp__rmutex_destroy(&o->lock);
  return mp__obj_free(b, MP__T_BARRIER, &bell_key, 1);
}
