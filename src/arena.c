/* The arena: one shared-memory segment per process family, holding every
 * shared object. Offsets, not pointers, cross processes: each process maps
 * the segment at its own address.
 *
 * Allocation is by power-of-two size classes with one free list each,
 * under the arena's robust mutex. A process killed while holding it leaves
 * at worst a leaked block: every update below is ordered so that the lists
 * are whole at each store. Blocks are never returned to the bump region.
 *
 * Everything in the arena can be written by any process of the family, a
 * buggy or hostile one included, so what the allocator reads back (list
 * links, block classes, brk) is checked before it is used: a bad link
 * loses the rest of its list (a leak), never memory outside the arena. */
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "shared.h"

#define ARENA_MAGIC 0x4d5041524e413032ull /* "MPARNA02" */
#define ARENA_HEADER_BYTES MP__ARENA_HEADER_BYTES
#define BLOCK_HEADER 16u
#define MIN_CLASS 6 /* 64 bytes */
#define MAX_CLASS MP__OFF_BITS
/* A block's state, in its header: told apart so that neither a free of a
 * block that is not in use nor an allocation of one that is not free can
 * pass (a double free, or an offset a corrupted object made up). */
#define BLOCK_USED 0x55534544u /* "DESU" */
#define BLOCK_FREE 0x45455246u /* "FREE" */
#define DISCARD_FROM_CLASS 20 /* give pages of freed blocks >= 1 MiB back */

/* 64 GiB of address space: sparse, so it costs only what is touched; the
 * backend tries smaller sizes where address space is limited. */
#define ARENA_WANTED (64ull << 30)

_Static_assert(sizeof(mp__arena_hdr) <= MP__OS_ARENA_AT,
               "the header ends before the backend's own space");
_Static_assert(ARENA_WANTED <= MP__OFF_MASK + 1, "offsets fit a handle");

_Atomic(mp__arena_hdr *) mp__arena_at;
_Atomic uint64_t mp__arena_id;
_Atomic uint64_t mp__arena_key[2];
uint64_t mp__arena_name_key[2];
_Atomic uint64_t mp__arena_bound;
/* The size this process mapped, as its OS says: never the header's word,
 * which any process can overwrite. */
static uint64_t mapped_size;

typedef struct block_hdr {
  _Atomic uint32_t state; /* BLOCK_USED or BLOCK_FREE; 0 never handed out */
  uint32_t cls;           /* size class: the block is 1 << cls bytes */
  uint64_t next;          /* next free block of the class, while free */
} block_hdr;

/* The id names the family: handles of another family's arena are told
 * apart by it. The keys make handles and Windows names unguessable. */
static int draw_secrets(mp__arena_hdr *a) {
  uint64_t x[5];
  int rc = mp__os_random(x, sizeof x);
  if (rc < 0)
    return rc;
  a->id = MP__ARENA_TAG | (x[0] & ~MP__ARENA_TAG_MASK);
  a->handle_key[0] = x[1];
  a->handle_key[1] = x[2];
  a->name_key[0] = x[3];
  a->name_key[1] = x[4];
  return 0;
}

/* The process-local copies of what every handle check and every Windows
 * name needs. */
static void take_keys(const mp__arena_hdr *a, uint64_t size) {
  mapped_size = size;
  atomic_store_explicit(&mp__arena_key[0], a->handle_key[0], memory_order_relaxed);
  /* Odd: a multiplier that loses no bit (mp__handle_check). */
  atomic_store_explicit(&mp__arena_key[1], a->handle_key[1] | 1, memory_order_relaxed);
  mp__arena_name_key[0] = a->name_key[0];
  mp__arena_name_key[1] = a->name_key[1];
  atomic_store_explicit(&mp__arena_id, a->id, memory_order_relaxed);
}

/* Makes a mapped arena this process's: the pointer last (release), so
 * that a thread seeing it sees a whole header and the keys. */
static void publish(mp__arena_hdr *a) {
  atomic_store_explicit(&mp__arena_bound, ARENA_HEADER_BYTES, memory_order_release);
  atomic_store_explicit(&mp__arena_at, a, memory_order_release);
}

int mp__arena_ensure(void) {
  if (mp__arena_get())
    return 0;
  mp__local_lock(MP__LOCK_ARENA);
  int rc = 0;
  if (!mp__arena_get()) {
    mp__arena_map m;
    rc = mp__os_arena_create(ARENA_WANTED, &m);
    if (rc == 0) {
      MP__FAULT("arena.mapped");
      /* Not yet published: no other thread can see the header half-made. */
      mp__arena_hdr *a = m.base;
      rc = draw_secrets(a);
      a->size = m.size;
      a->brk = ARENA_HEADER_BYTES;
      a->next_key = 1;
      take_keys(a, m.size);
      /* After the keys: Windows names the lock's kernel mutex with them. */
      if (rc == 0)
        rc = mp__rmutex_init(&a->lock, NULL, 0);
      a->magic = ARENA_MAGIC;
      if (rc == 0)
        publish(a);
      else
        atomic_store(&mp__arena_id, 0);
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
  if (rc < 0)
    return rc;
  mp__arena_hdr *a = m.base;
  if (a->magic != ARENA_MAGIC || (a->id & MP__ARENA_TAG_MASK) != MP__ARENA_TAG)
    return MP_EINVAL;
  take_keys(a, m.size);
  publish(a);
  return 0;
}

uint64_t mp__arena_new_key(void) {
  return atomic_fetch_add(&mp__arena_get()->next_key, 1);
}

/* What the allocator handed out, as far as this process may believe it. */
static uint64_t brk_now(const mp__arena_hdr *a) {
  uint64_t brk = atomic_load(&a->brk);
  return brk < mapped_size ? brk : mapped_size;
}

void *mp__arena_ptr_slow(uint64_t off, size_t len) {
  mp__arena_hdr *a = mp__arena_get();
  if (!a || off < ARENA_HEADER_BYTES)
    return NULL;
  /* Past what was ever handed out is nothing a valid handle points at:
   * refusing it keeps a forged offset from touching (Linux: allocating)
   * or committing (Windows) pages nobody uses. */
  uint64_t brk = brk_now(a);
  if (off > brk || len > brk - off)
    return NULL;
  if (mp__os_arena_commit(brk) != 0)
    return NULL;
  uint64_t bound = atomic_load(&mp__arena_bound);
  while (bound < brk &&
         !atomic_compare_exchange_weak(&mp__arena_bound, &bound, brk)) {
  }
  return (char *)a + off;
}

static unsigned class_of(size_t size) {
  unsigned cls = MIN_CLASS;
  while (cls < MAX_CLASS && ((uint64_t)1 << cls) < (uint64_t)size + BLOCK_HEADER)
    cls++;
  return cls;
}

/* The header of the block starting at at, of class cls, in state state;
 * NULL unless that is what the arena holds there. */
static block_hdr *block_at(uint64_t at, unsigned cls, uint32_t state) {
  if (cls < MIN_CLASS || cls >= MAX_CLASS)
    return NULL;
  uint64_t bytes = (uint64_t)1 << cls;
  uint64_t align = bytes < 4096 ? bytes : 4096;
  if (at % align != 0)
    return NULL;
  block_hdr *b = mp__arena_ptr(at, (size_t)bytes);
  if (!b || b->cls != cls || atomic_load(&b->state) != state)
    return NULL;
  return b;
}

/* The block a payload offset belongs to, if it is in use. */
static block_hdr *used_block(uint64_t off) {
  if (off < ARENA_HEADER_BYTES + BLOCK_HEADER || off % 16 != 0)
    return NULL;
  block_hdr *b = mp__arena_ptr(off - BLOCK_HEADER, BLOCK_HEADER);
  if (!b)
    return NULL;
  return block_at(off - BLOCK_HEADER, b->cls, BLOCK_USED);
}

int mp__arena_block_holds(uint64_t off, uint64_t len) {
  block_hdr *b = used_block(off);
  return b && len <= ((uint64_t)1 << b->cls) - BLOCK_HEADER;
}

/* Lock the arena; a dead holder left the lists consistent (see top). */
static int lock_arena(void) {
  int rc = mp__rmutex_lock(&mp__arena_get()->lock, MP_INFINITE);
  return rc == MP_EOWNERDEAD ? 0 : rc;
}

/* Under the lock: the first free block of cls, taken off its list; NULL
 * if there is none, or if the list is damaged (then it is dropped: what
 * it held leaks, nothing else is harmed). */
static block_hdr *pop_free(mp__arena_hdr *a, unsigned cls, uint64_t *at) {
  *at = a->free_head[cls];
  if (!*at)
    return NULL;
  block_hdr *b = block_at(*at, cls, BLOCK_FREE);
  if (!b) {
    a->free_head[cls] = 0;
    return NULL;
  }
  a->free_head[cls] = b->next;
  atomic_store(&b->state, BLOCK_USED);
  return b;
}

int mp__arena_alloc(size_t size, uint64_t *off) {
  int rc = mp__arena_ensure();
  if (rc < 0)
    return rc;
  mp__arena_hdr *a = mp__arena_get();
  unsigned cls = class_of(size);
  uint64_t bytes = (uint64_t)1 << cls;
  if (cls >= MAX_CLASS || bytes > mapped_size)
    return MP_ENOMEM;
  if ((rc = lock_arena()) < 0)
    return rc;
  uint64_t at;
  block_hdr *b = pop_free(a, cls, &at);
  int reused = b != NULL;
  if (!b) {
    /* Align each block to its size (up to a page) so that small objects
     * never straddle cache lines they do not need. */
    uint64_t align = bytes < 4096 ? bytes : 4096;
    uint64_t start = (brk_now(a) + align - 1) & ~(align - 1);
    if (start < ARENA_HEADER_BYTES || start + bytes > mapped_size ||
        mp__os_arena_commit(start + bytes) != 0) {
      mp__rmutex_unlock(&a->lock);
      return MP_ENOMEM;
    }
    at = start;
    atomic_store(&a->brk, start + bytes);
  }
  mp__rmutex_unlock(&a->lock);
  /* Zero outside the lock: a fresh 64 MiB block should not stall every
   * other allocation. Fresh memory from the OS is zero already. */
  char *block = mp__arena_ptr(at, (size_t)bytes);
  if (!block)
    return MP_ENOMEM;
  b = (block_hdr *)block;
  if (reused)
    memset(block + BLOCK_HEADER, 0, (size_t)(bytes - BLOCK_HEADER));
  b->cls = cls;
  b->next = 0;
  atomic_store(&b->state, BLOCK_USED);
  *off = at + BLOCK_HEADER;
  return 0;
}

void mp__arena_free(uint64_t off) {
  mp__arena_hdr *a = mp__arena_get();
  if (!a)
    return;
  block_hdr *b = used_block(off);
  if (!b)
    return;
  unsigned cls = b->cls;
  /* Whoever turns it from used to free frees it: two frees of one block
   * (a corrupted object can name a block twice) cannot both list it. */
  uint32_t used = BLOCK_USED;
  if (!atomic_compare_exchange_strong(&b->state, &used, BLOCK_FREE))
    return;
  if (cls >= DISCARD_FROM_CLASS)
    mp__os_arena_discard((char *)b + 4096, ((size_t)1 << cls) - 4096);
  if (lock_arena() < 0)
    return;
  b->next = a->free_head[cls];
  a->free_head[cls] = off - BLOCK_HEADER;
  mp__rmutex_unlock(&a->lock);
}
