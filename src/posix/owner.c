/* Who holds a lock on POSIX, and whether that thread still lives.
 *
 * A Lock is one futex word holding its owner's token, so that an
 * uncontended acquire and release are one atomic operation each. A robust
 * pthread mutex per Lock would give owner-death detection for free, but
 * glibc pays for it on every acquire (the robust list the kernel walks
 * when a thread dies): about twice a plain mutex.
 *
 * So the kernel's guarantee is taken once per thread instead. A token
 * names a slot in a table at a fixed place in the arena; the thread a slot
 * belongs to holds the slot's robust mutex until it exits. When it dies,
 * however it dies (kill -9 included), the kernel releases that mutex and
 * marks it, so "is the owner alive" is a trylock on its slot, asked only by
 * a waiter that found the Lock taken. A slot's generation changes each time
 * it passes to another thread, and the token carries it, so a reused slot
 * does not make a dead owner look alive.
 *
 * Limits: 16383 threads holding slots at once in a family (the acquire of
 * one more fails with MP_ENOMEM). A generation is 17 bits and reuse goes
 * round at least 64 slots, so a dead owner's token could look alive again
 * only after some 8 million threads came and went in the family while
 * nobody looked at that Lock. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#include "shared.h"

#define IDX_BITS 14
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define GEN_MASK ((MP__OWNER_WAITERS - 1) >> IDX_BITS)
#define SLOT_BYTES 64 /* one cache line: probes of one slot leave others be */
#define NSLOTS (MP__OS_ARENA_BYTES / SLOT_BYTES)
/* Slots handed out fresh before any are reused: spreads reuse, so a
 * generation takes longer to come round. */
#define PREFER_FRESH 64

typedef struct owner_slot {
  pthread_mutex_t m;    /* held by the slot's thread while it lives */
  _Atomic uint32_t gen; /* written only by a holder of m */
  _Atomic uint32_t ready;
} owner_slot;

/* Slot 0's place holds the table's counters: index 0 is never a token. */
typedef struct owner_table {
  _Atomic uint32_t fresh; /* slots [1, fresh] were handed out once */
  _Atomic uint32_t hint;  /* where the next reuse scan starts */
} owner_table;

_Static_assert(sizeof(owner_slot) <= SLOT_BYTES, "slot fits a line");
_Static_assert(NSLOTS - 1 <= IDX_MASK, "every slot has an index");

_Thread_local uint32_t mp__owner_token;
static pthread_key_t exit_key;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static owner_table *table(void) {
  return (owner_table *)((char *)mp__arena_get() + MP__OS_ARENA_AT);
}

static owner_slot *slot(uint32_t idx) {
  return (owner_slot *)((char *)table() + (size_t)idx * SLOT_BYTES);
}

static uint32_t token_of(uint32_t idx, uint32_t gen) {
  return (gen & GEN_MASK) << IDX_BITS | idx;
}

/* A thread that returns or calls pthread_exit gives its slot back. The
 * generation moves first: a waiter that then finds the slot free knows
 * the owner left. */
static void on_thread_exit(void *unused) {
  (void)unused;
  uint32_t t = mp__owner_token;
  if (!t)
    return;
  mp__owner_token = 0;
  owner_slot *s = slot(t & IDX_MASK);
  atomic_fetch_add(&s->gen, 1);
  pthread_mutex_unlock(&s->m);
}

/* A forked child's thread is not the thread that holds the parent's
 * slot, so it needs its own (called by the fork policy, atfork.c). */
void mp__owner_forget_in_child(void) { mp__owner_token = 0; }

static void setup(void) { pthread_key_create(&exit_key, on_thread_exit); }

static uint32_t take_fresh(owner_table *t) {
  uint32_t n = atomic_load(&t->fresh);
  do {
    if (n + 1 >= NSLOTS)
      return 0;
  } while (!atomic_compare_exchange_weak(&t->fresh, &n, n + 1));
  uint32_t idx = n + 1;
  owner_slot *s = slot(idx);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(&s->m, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0 || pthread_mutex_lock(&s->m) != 0)
    return 0; /* the slot stays unready: never scanned, never a token */
  atomic_store(&s->ready, 1);
  return idx;
}

/* A slot whose thread exited or died: the trylock that finds it so also
 * makes it ours. */
static uint32_t take_reused(owner_table *t) {
  uint32_t n = atomic_load(&t->fresh);
  if (n >= NSLOTS) /* any process can write the counter */
    n = NSLOTS - 1;
  uint32_t start = atomic_load(&t->hint);
  for (uint32_t k = 0; k < n; k++) {
    uint32_t idx = 1 + (start + k) % n;
    owner_slot *s = slot(idx);
    if (!atomic_load(&s->ready))
      continue;
    int rc = pthread_mutex_trylock(&s->m);
    if (rc == EOWNERDEAD)
      pthread_mutex_consistent(&s->m);
    else if (rc != 0)
      continue;
    atomic_fetch_add(&s->gen, 1);
    atomic_store(&t->hint, idx % n);
    return idx;
  }
  return 0;
}

uint32_t mp__owner_claim(void) {
  if (mp__owner_token)
    return mp__owner_token;
  pthread_once(&setup_once, setup);
  owner_table *t = table();
  uint32_t idx = 0;
  if (atomic_load(&t->fresh) < PREFER_FRESH)
    idx = take_fresh(t);
  if (!idx)
    idx = take_reused(t);
  if (!idx)
    idx = take_fresh(t);
  if (!idx)
    return 0;
  mp__owner_token = token_of(idx, atomic_load(&slot(idx)->gen));
  pthread_setspecific(exit_key, (void *)1);
  return mp__owner_token;
}

int mp__owner_dead(uint32_t token) {
  if (token && token == mp__owner_token)
    return 0;
  uint32_t idx = token & IDX_MASK;
  /* Not a token any thread was given: nobody can release that word. */
  if (idx == 0 || idx >= NSLOTS || idx > atomic_load(&table()->fresh))
    return 1;
  owner_slot *s = slot(idx);
  if (!atomic_load(&s->ready) ||
      (atomic_load(&s->gen) & GEN_MASK) != (token >> IDX_BITS & GEN_MASK))
    return 1;
  int rc = pthread_mutex_trylock(&s->m);
  if (rc == EBUSY)
    return 0;
  if (rc == EOWNERDEAD) {
    /* Tell later waiters by the generation, without another trylock. */
    pthread_mutex_consistent(&s->m);
    atomic_fetch_add(&s->gen, 1);
  }
  /* Free (its thread exited) or just found dead: either way gone. */
  if (rc == 0 || rc == EOWNERDEAD)
    pthread_mutex_unlock(&s->m);
  return 1;
}
