/* The arena: one shared-memory segment per process family, holding every
 * shared object. Offsets, not pointers, cross processes: each process maps
 * the segment at its own address.
 *
 * Allocation is by power-of-two size classes with one free list each,
 * under the arena's robust mutex. A process killed while holding it leaves
 * at worst a leaked block: every update below is ordered so that the lists
 * are whole at each store. Blocks are never returned to the bump region. */
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "shared.h"

#define ARENA_MAGIC 0x4d5041524e413031ull /* "MPARNA01" */
#define ARENA_HEADER_BYTES MP__ARENA_HEADER_BYTES
#define BLOCK_HEADER 16u
#define MIN_CLASS 6 /* 64 bytes */
#define BLOCK_MAGIC 0x424cu /* "BL" */
#define DISCARD_FROM_CLASS 20 /* give pages of freed blocks >= 1 MiB back */

/* 64 GiB of address space: sparse, so it costs only what is touched; the
 * backend tries smaller sizes where address space is limited. */
#define ARENA_WANTED (64ull << 30)

_Static_assert(sizeof(mp__arena_hdr) <= MP__OS_ARENA_AT,
               "the header ends before the backend's own space");

_Atomic(mp__arena_hdr *) mp__arena_at;
_Atomic uint64_t mp__arena_id;
_Atomic uint64_t mp__arena_usable;

typedef struct block_hdr {
  uint32_t magic;
  uint32_t cls;   /* size class: the block is 1 << cls bytes with header */
  uint64_t next;  /* next free block of the class, while free */
} block_hdr;

/* The id names the family: handles of another family's arena are told
 * apart by it, and on Windows it is part of every kernel object's name,
 * so it must not be guessable. */
static int random_id(uint64_t *id) {
  uint64_t x;
  int rc = mp__os_random(&x, sizeof x);
  if (rc == 0)
    *id = MP__ARENA_TAG | (x & ~MP__ARENA_TAG_MASK);
  return rc;
}

/* Makes a mapped arena this process's: id first, pointer, then the bound
 * the fast path reads (release), so that a thread seeing any of them sees
 * a whole header. */
static void publish(const mp__arena_map *m) {
  mp__arena_hdr *a = m->base;
  atomic_store_explicit(&mp__arena_id, a->id, memory_order_relaxed);
  atomic_store_explicit(&mp__arena_at, a, memory_order_release);
  atomic_store_explicit(&mp__arena_usable, m->usable, memory_order_release);
}

int mp__arena_ensure(void) {
  if (mp__arena_get())
    return 0;
  mp__local_lock(MP__LOCK_ARENA);
  int rc = 0;
  if (!mp__arena_get()) {
    mp__arena_map m;
    uint64_t id = 0;
    rc = random_id(&id);
    if (rc == 0)
      rc = mp__os_arena_create(ARENA_WANTED, &m);
    if (rc == 0) {
      MP__FAULT("arena.mapped");
      /* Not yet published: no other thread can see the header half-made. */
      mp__arena_hdr *a = m.base;
      a->id = id;
      a->size = m.size;
      a->committed = m.usable;
      a->brk = ARENA_HEADER_BYTES;
      a->next_key = 1;
      /* The id first: Windows names the lock's kernel mutex after it. */
      atomic_store_explicit(&mp__arena_id, id, memory_order_relaxed);
      rc = mp__rmutex_init(&a->lock, 0, 0);
      a->magic = ARENA_MAGIC;
      if (rc == 0)
        publish(&m);
      if (rc == 0)
        rc = mp__inherit_add(MP__INHERIT_ARENA, 0, a->id,
                             mp__os_arena_handle());
    }
  }
  mp__local_unlock(MP__LOCK_ARENA);
  return rc;
}

int mp__arena_attach(int64_t handle) {
  mp__arena_map m;
  int rc = mp__os_arena_attach(handle, &m);
  if (rc == 0)
    publish(&m);
  return rc;
}

uint64_t mp__arena_new_key(void) {
  return atomic_fetch_add(&mp__arena_get()->next_key, 1);
}

static unsigned class_of(size_t size) {
  unsigned cls = MIN_CLASS;
  while (cls < 63 && ((uint64_t)1 << cls) < (uint64_t)size + BLOCK_HEADER)
    cls++;
  return cls;
}

void *mp__arena_ptr_slow(uint64_t off, size_t len) {
  mp__arena_hdr *a = mp__arena_get();
  /* Past what was ever handed out is nothing a valid handle points at;
   * refusing it here keeps a forged offset from committing (Windows)
   * gigabytes of the reservation. */
  if (!a || off < ARENA_HEADER_BYTES || off > atomic_load(&a->brk) ||
      len > atomic_load(&a->brk) - off)
    return NULL;
  if (mp__os_arena_commit(off + len) != 0)
    return NULL;
  return (char *)a + off;
}

/* Lock the arena; a dead holder left the lists consistent (see top). */
static int lock_arena(void) {
  int rc = mp__rmutex_lock(&mp__arena_get()->lock, MP_INFINITE);
  return rc == MP_EOWNERDEAD ? 0 : rc;
}

int mp__arena_alloc(size_t size, uint64_t *off) {
  int rc = mp__arena_ensure();
  if (rc < 0)
    return rc;
  mp__arena_hdr *a = mp__arena_get();
  unsigned cls = class_of(size);
  uint64_t bytes = (uint64_t)1 << cls;
  if (cls >= 63 || bytes > a->size)
    return MP_ENOMEM;
  if ((rc = lock_arena()) < 0)
    return rc;
  uint64_t at = a->free_head[cls];
  block_hdr *b = NULL;
  if (at) {
    b = mp__arena_ptr(at, BLOCK_HEADER);
    a->free_head[cls] = b->next;
  } else {
    /* Align each block to its size (up to a page) so that small objects
     * never straddle cache lines they do not need. */
    uint64_t align = bytes < 4096 ? bytes : 4096;
    uint64_t start = (a->brk + align - 1) & ~(align - 1);
    if (start + bytes > a->size) {
      mp__rmutex_unlock(&a->lock);
      return MP_ENOMEM;
    }
    if (mp__os_arena_commit(start + bytes) != 0) {
      mp__rmutex_unlock(&a->lock);
      return MP_ENOMEM;
    }
    at = start;
    a->brk = start + bytes;
    b = (block_hdr *)((char *)a + at);
  }
  mp__rmutex_unlock(&a->lock);
  /* Zero outside the lock: a fresh 64 MiB block should not stall every
   * other allocation. Fresh memory from the OS is zero already. */
  char *payload = mp__arena_ptr(at + BLOCK_HEADER, (size_t)(bytes - BLOCK_HEADER));
  if (!payload)
    return MP_ENOMEM;
  if (b->magic == BLOCK_MAGIC)
    memset(payload, 0, (size_t)(bytes - BLOCK_HEADER));
  b->magic = BLOCK_MAGIC;
  b->cls = cls;
  b->next = 0;
  *off = at + BLOCK_HEADER;
  return 0;
}

void mp__arena_free(uint64_t off) {
  mp__arena_hdr *a = mp__arena_get();
  if (!a || off < ARENA_HEADER_BYTES + BLOCK_HEADER)
    return;
  block_hdr *b = mp__arena_ptr(off - BLOCK_HEADER, BLOCK_HEADER);
  if (!b || b->magic != BLOCK_MAGIC || b->cls >= 63)
    return;
  if (b->cls >= DISCARD_FROM_CLASS)
    mp__os_arena_discard((char *)b + 4096, ((size_t)1 << b->cls) - 4096);
  if (lock_arena() < 0)
    return;
  b->next = a->free_head[b->cls];
  a->free_head[b->cls] = off - BLOCK_HEADER;
  mp__rmutex_unlock(&a->lock);
}
