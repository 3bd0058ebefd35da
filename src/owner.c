/* Who holds a lock, and whether that thread still lives: the part shared
 * by both OSes. The OS part, a lock per slot that the kernel releases when
 * its thread dies, is in <os>/owner.c.
 *
 * A Lock's owner is a token, never a thread id: the OS gives a dead
 * thread's id to a new thread (Windows at once), which would then pass
 * for the owner. A token names a slot in a table at a fixed place in the
 * arena, and the slot's generation. The thread a slot belongs to holds the
 * slot's OS lock until it exits; when it dies, however it dies (kill -9
 * included), the kernel releases that lock and marks it, so "is the owner
 * alive" is a try of that lock, asked only when a thread waits for a Lock
 * or a Condition counts its waiters. The generation changes each time the
 * slot passes to another thread, and the token carries it, so a reused
 * slot does not make a dead owner look alive.
 *
 * Limits: 16383 threads holding slots at once in a family (the acquire of
 * one more fails with MP_ENOMEM). A generation is 17 bits and reuse goes
 * round at least 64 slots, so a dead owner's token could look alive again
 * only after some 8 million threads came and went in the family while
 * nobody looked at that Lock.
 *
 * The table is in the arena, where any process of the family can write:
 * indexes read from it are checked against the table's size. */
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
  _Atomic uint32_t gen; /* written only by a holder of the slot's OS lock */
  _Atomic uint32_t ready;
  uint64_t os[(SLOT_BYTES - 8) / 8]; /* the OS lock (<os>/owner.c) */
} owner_slot;

/* Slot 0's place holds the table's counters: index 0 is never a token. */
typedef struct owner_table {
  _Atomic uint32_t fresh; /* slots [1, fresh] were handed out once */
  _Atomic uint32_t hint;  /* where the next reuse scan starts */
} owner_table;

_Static_assert(sizeof(owner_slot) == SLOT_BYTES, "slot fits a line");
_Static_assert(NSLOTS - 1 <= IDX_MASK, "every slot has an index");
_Static_assert(MP__OWNER_OS_BYTES <= SLOT_BYTES - 8, "the OS lock fits");

_Thread_local uint32_t mp__owner_token;

static owner_table *table(void) {
  return (owner_table *)((char *)mp__arena_get() + MP__OS_ARENA_AT);
}

static owner_slot *slot(uint32_t idx) {
  return (owner_slot *)((char *)table() + (size_t)idx * SLOT_BYTES);
}

static uint32_t token_of(uint32_t idx, uint32_t gen) {
  return (gen & GEN_MASK) << IDX_BITS | idx;
}

void mp__owner_thread_exit(uint32_t token) {
  uint32_t idx = token & IDX_MASK;
  if (idx == 0 || idx >= NSLOTS)
    return;
  /* The generation first: a waiter that then finds the slot free knows
   * the owner left. */
  atomic_fetch_add(&slot(idx)->gen, 1);
  mp__os_owner_release(idx, slot(idx)->os);
}

static uint32_t take_fresh(owner_table *t) {
  uint32_t n = atomic_load(&t->fresh);
  do {
    if (n + 1 >= NSLOTS)
      return 0;
  } while (!atomic_compare_exchange_weak(&t->fresh, &n, n + 1));
  uint32_t idx = n + 1;
  /* A slot whose lock cannot be made stays unready: never scanned, never
   * a token. */
  if (mp__os_owner_make(idx, slot(idx)->os) != 0)
    return 0;
  atomic_store(&slot(idx)->ready, 1);
  return idx;
}

/* A slot whose thread exited or died: the try that finds it so also makes
 * it ours. */
static uint32_t take_reused(owner_table *t) {
  uint32_t n = atomic_load(&t->fresh);
  if (n >= NSLOTS)
    n = NSLOTS - 1;
  uint32_t start = atomic_load(&t->hint);
  for (uint32_t k = 0; k < n; k++) {
    uint32_t idx = 1 + (start + k) % n;
    owner_slot *s = slot(idx);
    if (!atomic_load(&s->ready) || !mp__os_owner_take(idx, s->os))
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
  mp__os_owner_claimed();
  return mp__owner_token;
}

int mp__owner_dead(uint32_t token) {
  if (token && token == mp__owner_token)
    return 0;
  uint32_t idx = token & IDX_MASK;
  uint32_t gen = token >> IDX_BITS & GEN_MASK;
  /* Not a token any thread was given: nobody can release that lock. */
  if (idx == 0 || idx >= NSLOTS || idx > atomic_load(&table()->fresh))
    return 1;
  owner_slot *s = slot(idx);
  if (!atomic_load(&s->ready) || (atomic_load(&s->gen) & GEN_MASK) != gen)
    return 1;
  switch (mp__os_owner_probe(idx, s->os)) {
  case MP__OWNER_HELD:
    /* By the token's thread, unless the slot passed on meanwhile. */
    return (atomic_load(&s->gen) & GEN_MASK) != gen;
  case MP__OWNER_DIED: {
    /* Tell later askers by the generation, without another probe. */
    uint32_t g = atomic_load(&s->gen);
    if ((g & GEN_MASK) == gen)
      atomic_compare_exchange_strong(&s->gen, &g, g + 1);
    mp__os_owner_release(idx, s->os);
    return 1;
  }
  case MP__OWNER_FREE:
    return 1;
  default:
    return 0; /* cannot tell: never take a lock from the living */
  }
}
