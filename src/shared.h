/* Internal interface of the shared-object layer: the arena every shared
 * object lives in, object handles, cross-process wait/wake, the robust
 * mutex, and the table of OS handles a spawned child inherits.
 *
 *   arena.c          allocator over offsets (shared by both OSes)
 *   object.c         handle <-> object, validation
 *   inherit.c        OS handles passed to spawned children
 *   <os>/arena.c     create, map, commit and pass the arena's memory
 *   <os>/sync.c      mp__rmutex and mp__waitword on futex / kernel objects
 */
#ifndef MPROC_SHARED_H
#define MPROC_SHARED_H

#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"

/* ---- Waiting across processes ---- *
 * A 32-bit word processes sleep on until it changes: a futex on Linux, a
 * named semaphore keyed by `key` on Windows (no cross-process futex there).
 * Callers loop: a wake may be spurious. */
typedef struct mp__waitword {
  _Atomic uint32_t value;
  _Atomic uint32_t waiters;
  /* Set by a wake-all that found sleepers, cleared by each new sleeper: the
   * woken do not leave `waiters` until they run, and without this every
   * wake in between would make another system call for nobody. */
  _Atomic uint32_t woken;
  /* The offset / 16 of the object it belongs to (0: none): lets Windows
   * tell, from its cache of kernel objects, which ones were freed. */
  uint32_t obj16;
  uint64_t key; /* unique in the arena; names the Windows semaphore */
} mp__waitword;

/* Makes w a wait word of the object at obj (an mp__obj_hdr in the arena)
 * with a fresh key. Windows creates its kernel object here, refusing one
 * that exists already. 0 or MP_ESYS. */
int mp__waitword_init(mp__waitword *w, const void *obj, uint32_t value);
/* 0 when woken or value != expected on entry; MP_ETIMEDOUT; MP_ESYS. */
int mp__waitword_wait(mp__waitword *w, uint32_t expected, int timeout_ms);
void mp__waitword_wake(mp__waitword *w, uint32_t n); /* UINT32_MAX: all */
/* Backend: what mp__waitword_init asks of the OS (Windows: create the
 * semaphore). */
int mp__os_waitword_create(mp__waitword *w);
/* Drops this process's cached OS objects for a key (object freed). */
void mp__os_forget_key(uint64_t key);

/* ---- Lock owners (owner.c; the OS lock of a slot: <os>/owner.c) ---- *
 * A token names the calling thread across the family: a slot in a table
 * the backend keeps in the arena (MP__OS_ARENA_AT) and the slot's
 * generation, so that a thread id the OS hands out again, or a slot
 * another thread takes over, never passes for a dead owner. The top bit
 * is never set (POSIX locks keep their waiters flag there). */
#define MP__OWNER_WAITERS 0x80000000u
/* The calling thread's token, 0 until it takes its first lock. */
extern _Thread_local uint32_t mp__owner_token;
/* Gives the calling thread a token: 0 only when no slot is left. */
uint32_t mp__owner_claim(void);
/* The calling thread's token, claimed on first use: never 0 but when no
 * slot is left. Inline: every lock asks. */
static inline uint32_t mp__owner_self(void) {
  uint32_t t = mp__owner_token;
  return t ? t : mp__owner_claim();
}
/* 1 if the thread a token names exited, or its process died; 0 while it
 * lives (and for the calling thread's own token). */
int mp__owner_dead(uint32_t token);
/* A thread that ends normally gives its slot back (POSIX calls it from a
 * thread-exit hook; on Windows the kernel abandons the slot's mutex). */
void mp__owner_thread_exit(uint32_t token);
/* Backend (<os>/owner.c): the OS lock of owner slot idx, kept in `os`
 * (MP__OWNER_OS_BYTES of the slot, in the arena), which the kernel
 * releases, and marks, when the thread holding it dies. */
int mp__os_owner_make(uint32_t idx, void *os); /* made, held by us: 0 */
int mp__os_owner_take(uint32_t idx, void *os); /* 1: its holder was gone,
                                                  now we hold it */
enum {
  MP__OWNER_HELD,    /* its thread lives */
  MP__OWNER_FREE,    /* nobody holds it: its thread is gone */
  MP__OWNER_DIED,    /* its thread died holding it; the probe holds it now */
  MP__OWNER_UNKNOWN  /* the OS would not say */
};
int mp__os_owner_probe(uint32_t idx, void *os);
void mp__os_owner_release(uint32_t idx, void *os);
void mp__os_owner_claimed(void); /* the calling thread has a token now */

/* ---- Robust mutex in shared memory ---- *
 * Owned by a thread. If the owner dies holding it, the next lock returns
 * MP_EOWNERDEAD with the mutex held. POSIX: a futex word holding the
 * owner's token, whose death is asked of the kernel (owner.c).
 * Windows: a named kernel mutex (abandonment is what the kernel reports),
 * with the owner's token beside it. */
typedef struct mp__rmutex {
  MP__RMUTEX_OS_FIELDS
} mp__rmutex;

/* A mutex of the object at obj (NULL: the arena's own lock). Windows
 * creates its kernel object here, refusing one that exists already. */
int mp__rmutex_init(mp__rmutex *m, const void *obj, int recursive);
/* 0, MP_ETIMEDOUT, MP_EOWNERDEAD, MP_ESTATE (non-recursive, already held
 * by the calling thread), MP_ENOMEM (no owner slot left). */
int mp__rmutex_lock(mp__rmutex *m, int timeout_ms);
int mp__rmutex_unlock(mp__rmutex *m); /* MP_ESTATE if not the owner */
/* 1 if the calling thread holds it. */
int mp__rmutex_held(mp__rmutex *m);
void mp__rmutex_destroy(mp__rmutex *m);

/* One pause in a spin-wait: lets the other hyperthread run. */
static inline void mp__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- The arena ---- */
#define MP__ARENA_TAG 0x4d50000000000000ull /* top bits of every arena id */
#define MP__ARENA_TAG_MASK 0xffff000000000000ull
/* Offsets in the arena fit 36 bits (it is at most 64 GiB); the rest of a
 * handle's offset word holds the handle's check value. */
#define MP__OFF_BITS 36
#define MP__OFF_MASK ((UINT64_C(1) << MP__OFF_BITS) - 1)

typedef struct mp__arena_hdr {
  uint64_t magic;
  uint64_t id;
  uint64_t size;               /* bytes reserved */
  _Atomic uint64_t brk;        /* bytes handed out so far */
  _Atomic uint64_t next_key;   /* object ids and wait keys */
  /* The family's secrets, from the OS's random source, never in a handle:
   * only processes that map the arena know them. */
  uint64_t handle_key[2];      /* keys the check value of every handle */
  uint64_t name_key[2];        /* Windows: in every kernel object's name */
  uint64_t free_head[64];      /* per size class: offset of first free */
  mp__rmutex lock;             /* guards brk and the free lists */
} mp__arena_hdr;

/* The arena of this process: published (release) only once its header is
 * whole, so a thread that sees it sees a usable arena. NULL if the family
 * has none yet. Read it through mp__arena_get(). */
extern _Atomic(mp__arena_hdr *) mp__arena_at;
static inline mp__arena_hdr *mp__arena_get(void) {
  return atomic_load_explicit(&mp__arena_at, memory_order_acquire);
}
/* Its id, or 0, and its handle key: copies of the header's that save a
 * dependent load in every handle check. */
extern _Atomic uint64_t mp__arena_id;
extern _Atomic uint64_t mp__arena_key[2];
/* The header's name_key, set before the arena's own lock is made (Windows
 * names every kernel object with it: win32/names.c). */
extern uint64_t mp__arena_name_key[2];

/* Creates or confirms the arena. */
int mp__arena_ensure(void);
/* In a spawned child: maps and publishes the family's arena. */
int mp__arena_attach(int64_t handle);
/* A block of at least size bytes, 16-aligned, zero-filled; its offset. */
int mp__arena_alloc(size_t size, uint64_t *off);
/* Frees the block at off. An offset read from shared memory is fine: one
 * that is not the start of a live block is ignored. */
void mp__arena_free(uint64_t off);
/* 1 if off is the start of a live block with room for len bytes. Checks
 * what an offset or a length read from shared memory claims. */
int mp__arena_block_holds(uint64_t off, uint64_t len);
/* Bytes from the arena's start this process may touch without asking:
 * handed out already (below the allocator's brk, so never a page nobody
 * uses) and, on Windows, committed in this view. Only grows. */
extern _Atomic uint64_t mp__arena_bound;
/* The header, then space a backend keeps for itself; blocks come after. */
#define MP__ARENA_HEADER_BYTES (MP__OS_ARENA_AT + MP__OS_ARENA_BYTES)

/* The address of [off, off+len) in this process; NULL unless it lies in
 * what the allocator handed out. Inline: every operation on every object
 * starts here, and a Lock round trip is only a few nanoseconds more. */
void *mp__arena_ptr_slow(uint64_t off, size_t len);
static inline void *mp__arena_ptr(uint64_t off, size_t len) {
  uint64_t bound = atomic_load_explicit(&mp__arena_bound, memory_order_acquire);
  if (off >= MP__ARENA_HEADER_BYTES && off <= bound && len <= bound - off)
    return (char *)mp__arena_get() + off;
  return mp__arena_ptr_slow(off, len);
}
uint64_t mp__arena_new_key(void);
/* The arena's offset of p, a pointer into it. */
static inline uint64_t mp__arena_off(const void *p) {
  return (uint64_t)((const char *)p - (const char *)mp__arena_get());
}

/* What a backend mapped: arena.c fills the header and publishes it. */
typedef struct mp__arena_map {
  void *base;
  uint64_t size;   /* bytes reserved */
} mp__arena_map;
/* Backend: create the OS segment and map it. */
int mp__os_arena_create(uint64_t size_wanted, mp__arena_map *m);
/* Backend: the segment's fd or HANDLE, for the inherit table. */
int64_t mp__os_arena_handle(void);
/* Backend: map an inherited segment (kind MP__INHERIT_ARENA). */
int mp__os_arena_attach(int64_t handle, mp__arena_map *m);
/* Backend: make [0, upto) usable in this process (Windows commit). */
int mp__os_arena_commit(uint64_t upto);
/* Backend: give back the memory of a freed block's pages (Linux). */
void mp__os_arena_discard(void *addr, size_t len);

/* ---- Objects ---- *
 * Every object starts with this header; its handle is
 * {arena id, check << 36 | offset, object id}, three words that match the
 * public handle structs. */
typedef struct mp__obj_hdr {
  _Atomic uint64_t id; /* 0 once freed */
  uint32_t type;
  uint32_t flags;
} mp__obj_hdr;

typedef struct mp__handle {
  uint64_t arena, off, id;
} mp__handle;

enum {
  MP__T_LOCK = 1,
  MP__T_RLOCK,
  MP__T_SEM,
  MP__T_EVENT,
  MP__T_COND,
  MP__T_BARRIER,
  MP__T_SHM,
  MP__T_QUEUE,
};

/* The check value of a handle to (off, id): a keyed mix, so that only a
 * process that maps the arena can make a handle that passes, and a forged
 * or garbled one is refused by a few instructions, before any memory of
 * the arena is read (a read of a page nobody touched would cost a page). */
static inline uint64_t mp__handle_check(uint64_t off, uint64_t id) {
  /* A multiplicative hash with a secret odd multiplier: its top bits
   * depend on every bit of (offset, id, key 0). One multiply, because a
   * Lock round trip checks two handles and is a few nanoseconds. */
  uint64_t x = off << 24 ^ id ^
               atomic_load_explicit(&mp__arena_key[0], memory_order_relaxed);
  x *= atomic_load_explicit(&mp__arena_key[1], memory_order_relaxed);
  return x >> MP__OFF_BITS;
}

/* The offset a handle names (its check value stripped). */
static inline uint64_t mp__handle_off(const mp__handle *h) {
  return h->off & MP__OFF_MASK;
}

/* A zeroed object of size bytes (header included) and its handle. */
int mp__obj_create(uint32_t type, size_t size, mp__handle *h, void **obj);
/* MP_EINVAL: zeroed, freed or forged; MP_ENOTSUP: another arena, or this
 * process has none. Inline for the same reason as mp__arena_ptr. */
static inline int mp__obj_lookup(const void *handle, uint32_t type, void **obj) {
  if (!handle)
    return MP_EINVAL;
  const mp__handle *h = (const mp__handle *)handle;
  if ((h->arena & MP__ARENA_TAG_MASK) != MP__ARENA_TAG || h->id == 0)
    return MP_EINVAL;
  if (h->arena != atomic_load_explicit(&mp__arena_id, memory_order_relaxed))
    return MP_ENOTSUP;
  uint64_t off = mp__handle_off(h);
  if (off % 16 != 0 || h->off >> MP__OFF_BITS != mp__handle_check(off, h->id))
    return MP_EINVAL;
  /* Only now is memory read, and only inside what was handed out. */
  mp__obj_hdr *o = (mp__obj_hdr *)mp__arena_ptr(off, sizeof *o);
  if (!o || atomic_load_explicit(&o->id, memory_order_acquire) != h->id ||
      o->type != type)
    return MP_EINVAL;
  *obj = o;
  return 0;
}
/* Invalidates every copy of the handle, then frees the memory. */
int mp__obj_destroy(const void *handle, uint32_t type);
/* What every *_free does: mp__obj_destroy, then this process forgets the
 * OS objects of the object's wait keys (read by the caller before: the
 * memory may be reused at once), then the handle is zeroed. */
int mp__obj_free(void *handle, uint32_t type, const uint64_t *keys,
                 size_t nkeys);

/* ---- OS handles a spawned child inherits ---- *
 * Forked children get everything anyway. A spawned child gets exactly the
 * entries here (POSIX: same fd numbers; Windows: duplicated into it), and
 * its guard re-registers them before the target runs. */
int mp__inherit_add(uint32_t kind, uint32_t flags, uint64_t id, int64_t handle);
void mp__inherit_remove(uint64_t id);
/* A snapshot for a spawn, each entry with its own duplicate of the OS
 * handle; mp__inherit_release closes the duplicates and frees it. */
int mp__inherit_snapshot(mp__inherit_entry **out, size_t *n);
void mp__inherit_release(mp__inherit_entry *e, size_t n);
/* Backend: a private (close-on-exec, not inheritable) duplicate of an OS
 * handle of this process, and closing one. */
int mp__os_handle_dup(int64_t h, int64_t *out);
void mp__os_handle_close(int64_t h);
/* In a spawned child: adopt the entries its parent passed. */
int mp__inherit_adopt(const mp__inherit_entry *e, size_t n);
/* The pipe layer (conn.c): registers an end inherited by a spawned child
 * (kind MP__INHERIT_CONN) in this process's table of connections. */
int mp__conn_adopt(const mp__inherit_entry *e);

#endif
