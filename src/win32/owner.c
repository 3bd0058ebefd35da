/* Who holds a lock on Windows, and whether that thread still lives: the
 * same tokens as POSIX (posix/owner.c), so that ownership never rests on a
 * thread id, which Windows hands out again as soon as a thread is gone (a
 * new thread with the id of one that exited holding a Lock would pass for
 * its owner).
 *
 * A token names a slot in a table at a fixed place in the arena and the
 * slot's generation. The thread a slot belongs to holds the slot's named
 * kernel mutex (names.c, kind 'o') until it exits; when it exits or its
 * process dies, however, the kernel abandons the mutex. So "is the owner
 * alive" is a wait of 0 ms on that mutex: WAIT_TIMEOUT while its thread
 * lives; WAIT_ABANDONED or WAIT_OBJECT_0 once it is gone (the waiter then
 * holds it and gives it back). A mutex whose name is gone (every handle
 * closed) had no live holder either. The generation changes each time the
 * slot passes to another thread, and the token carries it, so a reused
 * slot does not make a dead owner look alive.
 *
 * Limits as on POSIX: 16383 threads holding slots at once in a family. */
#include "shared.h"

#define IDX_BITS 14
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define GEN_MASK ((MP__OWNER_WAITERS - 1) >> IDX_BITS)
#define SLOT_BYTES 64
#define NSLOTS (MP__OS_ARENA_BYTES / SLOT_BYTES)
/* Slots handed out fresh before any are reused: spreads reuse, so a
 * generation takes longer to come round. */
#define PREFER_FRESH 64

typedef struct owner_slot {
  _Atomic uint32_t gen; /* written only by a holder of the slot's mutex */
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

static owner_table *table(void) {
  return (owner_table *)((char *)mp__arena_get() + MP__OS_ARENA_AT);
}

static owner_slot *slot(uint32_t idx) {
  return (owner_slot *)((char *)table() + (size_t)idx * SLOT_BYTES);
}

static uint32_t token_of(uint32_t idx, uint32_t gen) {
  return (gen & GEN_MASK) << IDX_BITS | idx;
}

static uint32_t take_fresh(owner_table *t) {
  uint32_t n = atomic_load(&t->fresh);
  do {
    if (n + 1 >= NSLOTS)
      return 0;
  } while (!atomic_compare_exchange_weak(&t->fresh, &n, n + 1));
  uint32_t idx = n + 1;
  /* Created held by this thread. One that exists already was made by
   * someone else: the slot stays unready, never scanned, never a token. */
  if (!mp__win_create(idx, 'o', 0, 1))
    return 0;
  atomic_store(&slot(idx)->ready, 1);
  return idx;
}

/* Makes the slot's mutex this thread's if its holder is gone: 1 if so. */
static int take_if_free(uint32_t idx) {
  HANDLE h = mp__win_open(idx, 'o', 0, 0);
  if (!h)
    return GetLastError() == ERROR_FILE_NOT_FOUND &&
           mp__win_create(idx, 'o', 0, 1) != NULL;
  DWORD r = WaitForSingleObject(h, 0);
  return r == WAIT_OBJECT_0 || r == WAIT_ABANDONED;
}

/* A slot whose thread exited or died: the wait that finds it so also
 * makes it ours. */
static uint32_t take_reused(owner_table *t) {
  uint32_t n = atomic_load(&t->fresh);
  if (n >= NSLOTS)
    n = NSLOTS - 1;
  uint32_t start = atomic_load(&t->hint);
  for (uint32_t k = 0; k < n; k++) {
    uint32_t idx = 1 + (start + k) % n;
    if (!atomic_load(&slot(idx)->ready) || !take_if_free(idx))
      continue;
    atomic_fetch_add(&slot(idx)->gen, 1);
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
  /* Nothing to give back at thread exit: the kernel abandons the mutex. */
  mp__owner_token = token_of(idx, atomic_load(&slot(idx)->gen));
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
  HANDLE h = mp__win_open(idx, 'o', 0, 0);
  if (!h) /* gone with its last handle: no thread holds it */
    return GetLastError() == ERROR_FILE_NOT_FOUND;
  DWORD r = WaitForSingleObject(h, 0);
  if (r == WAIT_TIMEOUT)
    /* Held: by the token's thread, unless the slot passed on meanwhile. */
    return (atomic_load(&s->gen) & GEN_MASK) != gen;
  if (r != WAIT_OBJECT_0 && r != WAIT_ABANDONED)
    return 0; /* cannot tell: never take a lock from the living */
  /* Tell later askers by the generation, without another wait. */
  uint32_t g = atomic_load(&s->gen);
  if ((g & GEN_MASK) == gen)
    atomic_compare_exchange_strong(&s->gen, &g, g + 1);
  ReleaseMutex(h);
  return 1;
}
