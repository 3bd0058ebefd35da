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
  uint32_t reserved;
  uint64_t key; /* unique in the arena; names the Windows semaphore */
} mp__waitword;

void mp__waitword_init(mp__waitword *w, uint64_t key, uint32_t value);
/* 0 when woken or value != expected on entry; MP_ETIMEDOUT; MP_ESYS. */
int mp__waitword_wait(mp__waitword *w, uint32_t expected, int timeout_ms);
void mp__waitword_wake(mp__waitword *w, uint32_t n); /* UINT32_MAX: all */
/* Drops this process's cached OS objects for a key (object freed). */
void mp__os_forget_key(uint64_t key);

/* ---- Robust mutex in shared memory ---- *
 * Owned by a thread. If the owner dies holding it, the next lock returns
 * MP_EOWNERDEAD with the mutex held. POSIX: a futex word holding the
 * owner's token, whose death is asked of the kernel (posix/owner.c).
 * Windows: a named kernel mutex (abandonment is what the kernel reports). */
typedef struct mp__rmutex {
  MP__RMUTEX_OS_FIELDS
} mp__rmutex;

int mp__rmutex_init(mp__rmutex *m, uint64_t key, int recursive);
/* 0, MP_ETIMEDOUT, MP_EOWNERDEAD, MP_ESTATE (non-recursive, already held
 * by the calling thread), MP_ENOMEM (POSIX: no owner slot left). */
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

typedef struct mp__arena_hdr {
  uint64_t magic;
  uint64_t id;
  uint64_t size;               /* bytes reserved */
  _Atomic uint64_t brk;        /* bytes handed out so far */
  _Atomic uint64_t committed;  /* Windows: bytes committed family-wide */
  _Atomic uint64_t next_key;   /* object ids and wait keys */
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
/* Its id, or 0: a copy of the header's id that saves a dependent load in
 * every handle check. */
extern _Atomic uint64_t mp__arena_id;

/* Creates or confirms the arena. */
int mp__arena_ensure(void);
/* In a spawned child: maps and publishes the family's arena. */
int mp__arena_attach(int64_t handle);
/* A block of at least size bytes, 16-aligned, zero-filled; its offset. */
int mp__arena_alloc(size_t size, uint64_t *off);
void mp__arena_free(uint64_t off);
/* Bytes from the arena's start this process can touch without asking the
 * OS: the whole arena on Linux, the committed part of its view on Windows.
 * Only grows. */
extern _Atomic uint64_t mp__arena_usable;
/* The header, then space a backend keeps for itself; blocks come after. */
#define MP__ARENA_HEADER_BYTES (MP__OS_ARENA_AT + MP__OS_ARENA_BYTES)

/* The address of [off, off+len) in this process, committing on Windows;
 * NULL if out of range. Inline: every operation on every object starts
 * here, and a Lock round trip is only a few nanoseconds more. */
void *mp__arena_ptr_slow(uint64_t off, size_t len);
static inline void *mp__arena_ptr(uint64_t off, size_t len) {
  uint64_t usable = atomic_load_explicit(&mp__arena_usable, memory_order_acquire);
  if (off >= MP__ARENA_HEADER_BYTES && off <= usable && len <= usable - off)
    return (char *)mp__arena_get() + off;
  return mp__arena_ptr_slow(off, len);
}
uint64_t mp__arena_new_key(void);

/* What a backend mapped: arena.c fills the header and publishes it. */
typedef struct mp__arena_map {
  void *base;
  uint64_t size;   /* bytes reserved */
  uint64_t usable; /* bytes touchable at once (Windows: committed) */
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
 * {arena id, offset, object id}, three words that match the public
 * handle structs. */
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
  if (h->off % 16 != 0)
    return MP_EINVAL;
  /* Any offset inside the usable arena is safe to read; past the
   * allocated part it reads zeros, which no live id matches. */
  mp__obj_hdr *o = (mp__obj_hdr *)mp__arena_ptr(h->off, sizeof *o);
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
