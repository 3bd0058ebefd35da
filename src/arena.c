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

mp__arena_hdr *mp__arena;
uint64_t mp__arena_id;
_Atomic uint64_t mp__arena_usable;

typedef struct block_hdr {
  uint32_t magic;
  uint32_t cls;   /* size class: the block is 1 << cls bytes with header */
  uint64_t next;  /* next free block of the class, while free */
} block_hdr;

static uint64_t random_id(void) {
  /* Unique enough across live families on one machine: it only has to
   * keep Windows object names apart. splitmix64 over pid, time, ASLR. */
  uint64_t x = (uint64_t)mp__os_current_pid() << 32 ^ mp__now_ms() ^
               (uint64_t)(uintptr_t)&x;
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return MP__ARENA_TAG | (x & ~MP__ARENA_TAG_MASK);
}

int mp__arena_ensure(void) {
  static mp__mutex once = MP__MUTEX_INIT;
  if (mp__arena)
    return 0;
  mp__mutex_lock(&once);
  int rc = 0;
  if (!mp__arena) {
    rc = mp__os_arena_create(ARENA_WANTED);
    if (rc == 0) {
      mp__arena_hdr *a = mp__arena;
      a->id = random_id();
      a->brk = ARENA_HEADER_BYTES;
      a->next_key = 1;
      rc = mp__rmutex_init(&a->lock, 0, 0);
      a->magic = ARENA_MAGIC;
      mp__arena_id = a->id;
      if (rc == 0)
        rc = mp__inherit_add(MP__INHERIT_ARENA, 0, a->id,
                             mp__os_arena_handle());
    }
  }
  mp__mutex_unlock(&once);
  return rc;
}

uint64_t mp__arena_new_key(void) {
  return atomic_fetch_add(&mp__arena->next_key, 1);
}

static unsigned class_of(size_t size) {
  unsigned cls = MIN_CLASS;
  while (cls < 63 && ((uint64_t)1 << cls) < (uint64_t)size + BLOCK_HEADER)
    cls++;
  return cls;
}

void *mp__arena_ptr_slow(uint64_t off, size_t len) {
  mp__arena_hdr *a = mp__arena;
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
  int rc = mp__rmutex_lock(&mp__arena->lock, MP_INFINITE);
  return rc == MP_EOWNERDEAD ? 0 : rc;
}

int mp__arena_alloc(size_t size, uint64_t *off) {
  int rc = mp__arena_ensure();
  if (rc < 0)
    return rc;
  mp__arena_hdr *a = mp__arena;
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
  mp__arena_hdr *a = mp__arena;
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
