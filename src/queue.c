/* Queue and JoinableQueue: a list of chunks in the arena, written at the
 * tail by producers and read at the head by consumers.
 *
 * Layout. A chunk is one 1 MiB arena block holding records back to back:
 * a 16-byte header {seq, len << 2 | kind} and the payload. A message of up
 * to INLINE_MAX bytes is copied into the chunk; a larger one goes into its
 * own arena block, written before any lock is taken, and the chunk holds
 * its offset. When a record does not fit, the producer marks the rest of
 * the chunk END, links a fresh chunk and continues there. There is always
 * room for one more header after a record, so the header at the tail
 * position exists and holds the sequence number of the next message:
 * "messages ever put" is seq at the tail, "messages ever got" is seq at
 * the head, and their difference is the exact size.
 *
 * Two robust mutexes, one per end, so that a producer and a consumer never
 * wait for each other. The shared state is consistent at every store:
 *   put  writes everything beyond the tail (invisible to consumers, who
 *        stop at the tail), then publishes by one store of `tail`;
 *   get  copies the message out, then consumes it by one store of `head`.
 * So a process killed anywhere leaves whole messages only: a put killed
 * before its store is not seen, a get killed before its store leaves the
 * message for the next reader. The next holder of the mutex hears
 * MP_EOWNERDEAD and simply goes on. What such a kill may leak (an arena
 * block holding a large message being put, a chunk being retired) stays
 * leaked: the arena has room to spare, and nothing refers to it.
 *
 * Trust. Records, positions, chunk links and block offsets are in the
 * arena, where any process of the family can write, so each is checked
 * before it is used as an address or a length: a record must lie inside
 * its chunk, a large message inside its block, a chunk must be a live
 * block of a chunk's size. A queue that fails a check gives MP_EINVAL
 * (as a forged handle does) and never a copy out of bounds.
 *
 * Speed. No system call per message in steady state: the mutexes are
 * uncontended on Linux (one per side), waits spin briefly before they
 * sleep, and mp__waitword_wake costs nothing when nobody sleeps. Retired
 * chunks are recycled through one spare slot instead of the allocator. */
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "fault.h"
#include "idmap.h"
#include "shared.h"

/* ---- Records and chunks ---- */

#define CHUNK_BLOCK ((size_t)1 << 20)
/* The arena adds a 16-byte header to every block: asking for 16 bytes
 * less keeps the block in the 1 MiB size class instead of the 2 MiB one. */
#define CHUNK_BYTES (CHUNK_BLOCK - 16)
#define REC_HDR 16u
#define INLINE_MAX ((size_t)256 << 10)

typedef struct chunk {
  _Atomic uint64_t next; /* offset of the following chunk, 0 if none yet */
  uint64_t pad;
  unsigned char data[];
} chunk;

#define DATA_BYTES (CHUNK_BYTES - sizeof(chunk))

typedef struct rec {
  _Atomic uint64_t seq;  /* messages put before this one */
  _Atomic uint64_t word; /* len << 2 | kind */
} rec;

enum { K_PENDING = 0, K_INLINE = 1, K_BIG = 2, K_END = 3 };

/* A position is {chunk offset, byte in its data} in one word, so that a
 * single store moves the head or the tail. Arena offsets stay far below
 * 2^43 (the arena is at most 64 GiB). */
#define POS_BITS 21
#define POS_MASK (((uint64_t)1 << POS_BITS) - 1)

static uint64_t pack(uint64_t chunk_off, uint64_t pos) {
  return chunk_off << POS_BITS | pos;
}

/* The chunk at an offset; NULL unless it lies in the arena. Cheap: every
 * record is found through it. */
static chunk *chunk_at(uint64_t chunk_off) {
  return chunk_off % 16 ? NULL : mp__arena_ptr(chunk_off, CHUNK_BYTES);
}

/* A chunk offset read from a link or a spare slot: a live block of a
 * chunk's size, or 0. Checked once per chunk, not per record. */
static uint64_t chunk_link(uint64_t chunk_off) {
  return mp__arena_block_holds(chunk_off, CHUNK_BYTES) ? chunk_off : 0;
}

/* The record header at a position; NULL unless there is room for one. */
static rec *rec_at(uint64_t where) {
  uint64_t pos = where & POS_MASK;
  if (pos % 16 || pos > DATA_BYTES - REC_HDR)
    return NULL;
  chunk *c = chunk_at(where >> POS_BITS);
  return c ? (rec *)(c->data + pos) : NULL;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t rec_bytes(int kind, size_t len) {
  return REC_HDR + (kind == K_INLINE ? round16(len) : 16);
}

/* 1 if a record of kind and len at `where` leaves room for the header
 * after it inside its chunk, as every record append writes does. */
static int rec_fits(uint64_t where, int kind, size_t len) {
  uint64_t pos = where & POS_MASK;
  if (kind == K_INLINE ? len > DATA_BYTES : kind != K_BIG)
    return 0;
  return pos + rec_bytes(kind, len) + REC_HDR <= DATA_BYTES;
}

static int rec_kind(uint64_t word) { return (int)(word & 3); }
static size_t rec_len(uint64_t word) { return (size_t)(word >> 2); }

/* ---- The object ---- */

#define SPARE_CHUNKS 8

typedef struct queue_obj {
  mp__obj_hdr hdr;
  uint64_t maxsize;
  uint32_t joinable;
  uint32_t pad;
  char gap0[64];
  /* Producers' side: tail and put_lock are written by producers only. */
  mp__rmutex put_lock;
  _Atomic uint64_t tail;
  mp__waitword items; /* bumped by every put; consumers sleep on it */
  char gap1[64];
  /* Consumers' side. `gets` caches seq at the head for producers checking
   * maxsize; it trails the head by one at most, and only after a consumer
   * died between its two stores. */
  mp__rmutex get_lock;
  _Atomic uint64_t head;
  _Atomic uint64_t gets;
  mp__waitword space; /* bumped by every get of a bounded queue */
  char gap2[64];
  /* Retired chunks kept for reuse, 0 where none: freeing them would give
   * their pages back to the OS, and taking them anew costs a page fault
   * per 4 KiB. Enough for a few MiB in flight. */
  _Atomic uint64_t spare[SPARE_CHUNKS];
  _Atomic uint64_t tasks_done; /* joinable: task_done calls so far */
  mp__waitword done;           /* joinable: bumped by every task_done */
} queue_obj;

/* ---- Small helpers ---- */

/* Pause rounds before a wait sleeps: about 100 us at 25 ns a pause. Long
 * enough to bridge the other side's next message, short enough not to
 * burn a time slice when the other side is not even running. (Taking the
 * side locks spins in mp__rmutex_lock where that pays: POSIX.) */
#define WAIT_SPIN 4000

/* A robust lock whose dead holder left the state consistent (every store
 * above keeps it so): MP_EOWNERDEAD means "locked". *dead says so. */
static int lock_side(mp__rmutex *m, int timeout_ms, int *dead) {
  int rc = mp__rmutex_lock(m, timeout_ms);
  *dead = rc == MP_EOWNERDEAD;
  return rc == MP_EOWNERDEAD ? 0 : rc;
}

static void bump(mp__waitword *w) {
  atomic_fetch_add(&w->value, 1);
  mp__waitword_wake(w, UINT32_MAX);
}

static uint64_t seq_at(uint64_t where) {
  rec *r = rec_at(where);
  return r ? atomic_load_explicit(&r->seq, memory_order_relaxed) : 0;
}

static int lookup(mp_queue *h, queue_obj **q) {
  return mp__obj_lookup(h, MP__T_QUEUE, (void **)q);
}

/* ---- Closed in this process ---- *
 * Python's close() is per process, and a forked child starts with the
 * queue open again (Queue._after_fork): the fork policy empties the set
 * in a child (mp__queue_after_fork_child). */

static mp__idmap closed_ids; /* id -> CLOSED */
static _Atomic size_t closed_any; /* fast path for put: usually 0 */
#define CLOSED ((void *)&closed_ids)

void mp__queue_after_fork_child(void) {
  mp__idmap_clear(&closed_ids);
  atomic_store(&closed_any, 0);
}

static int is_closed(uint64_t id) {
  if (atomic_load_explicit(&closed_any, memory_order_relaxed) == 0)
    return 0;
  mp__local_lock(MP__LOCK_QUEUES);
  int found = mp__idmap_get(&closed_ids, id) != NULL;
  mp__local_unlock(MP__LOCK_QUEUES);
  return found;
}

static int mark_closed(uint64_t id) {
  mp__local_lock(MP__LOCK_QUEUES);
  int rc = mp__idmap_set(&closed_ids, id, CLOSED);
  atomic_store(&closed_any, closed_ids.used);
  mp__local_unlock(MP__LOCK_QUEUES);
  return rc;
}

static void unmark_closed(uint64_t id) {
  mp__local_lock(MP__LOCK_QUEUES);
  mp__idmap_remove(&closed_ids, id);
  atomic_store(&closed_any, closed_ids.used);
  mp__local_unlock(MP__LOCK_QUEUES);
}

/* ---- Chunks ---- */

/* A chunk for the producer: a spare if there is one, else a new block.
 * Its `next` is cleared: a recycled chunk still points at its successor.
 * Each slot moves by one exchange, so a process killed here leaks at most
 * the one chunk it held. */
static int take_chunk(queue_obj *q, uint64_t *off) {
  uint64_t c = 0;
  for (int i = 0; i < SPARE_CHUNKS && !c; i++)
    if (atomic_load_explicit(&q->spare[i], memory_order_relaxed))
      c = chunk_link(atomic_exchange(&q->spare[i], 0));
  if (!c) {
    int rc = mp__arena_alloc(CHUNK_BYTES, &c);
    if (rc < 0)
      return rc;
  }
  chunk *ch = chunk_at(c);
  if (!ch)
    return MP_ENOMEM;
  atomic_store(&ch->next, 0);
  *off = c;
  return 0;
}

/* A chunk the consumers have left behind: keep a few, free the rest. */
static void retire_chunk(queue_obj *q, uint64_t off) {
  for (int i = 0; i < SPARE_CHUNKS; i++) {
    uint64_t none = 0;
    if (atomic_compare_exchange_strong(&q->spare[i], &none, off))
      return;
  }
  mp__arena_free(off);
}

/* ---- Producer side (put_lock held) ---- */

/* Appends one record at the tail and publishes it. big_off is the block
 * of a large message (its bytes already written), or 0. */
static int append(queue_obj *q, const void *data, size_t len,
                  uint64_t big_off) {
  int kind = big_off ? K_BIG : K_INLINE;
  size_t need = rec_bytes(kind, len);
  uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
  uint64_t c_off = t >> POS_BITS, pos = t & POS_MASK;
  /* The one place the queue writes where a position says: a live chunk
   * only, or a corrupted tail would have it write into another object. */
  chunk *c = chunk_link(c_off) ? chunk_at(c_off) : NULL;
  rec *r = rec_at(t);
  if (!c || !r)
    return MP_EINVAL;
  uint64_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
  if (pos + need + REC_HDR > DATA_BYTES) {
    /* Beyond the tail, so unseen until the tail moves. A producer killed
     * after linking a chunk left it in `next`: it is unpublished, reuse
     * it rather than leak it. */
    atomic_store_explicit(&r->word, K_END, memory_order_relaxed);
    uint64_t n = chunk_link(atomic_load(&c->next));
    if (!n) {
      int rc = take_chunk(q, &n);
      if (rc < 0)
        return rc;
      atomic_store(&c->next, n);
    }
    c_off = n;
    pos = 0;
    if (!(c = chunk_at(c_off)))
      return MP_EINVAL;
    r = (rec *)c->data;
  }
  if (big_off)
    memcpy(r + 1, &big_off, sizeof big_off);
  else if (len)
    memcpy(r + 1, data, len);
  atomic_store_explicit(&r->seq, seq, memory_order_relaxed);
  atomic_store_explicit(&r->word, (uint64_t)len << 2 | (uint64_t)kind,
                        memory_order_relaxed);
  rec *after = (rec *)(c->data + pos + need);
  atomic_store_explicit(&after->seq, seq + 1, memory_order_relaxed);
  atomic_store_explicit(&after->word, K_PENDING, memory_order_relaxed);
  /* The publishing store: consumers read nothing beyond the tail. */
  atomic_store_explicit(&q->tail, pack(c_off, pos + need),
                        memory_order_release);
  return 0;
}

/* Messages queued, seen from a producer holding put_lock. The gets cache
 * trails the head while a consumer is between its two stores, and stays
 * behind by one if it died there: `exact` reads the head itself (if the
 * consumers' lock is free soon), before the producer gives up or sleeps. */
static uint64_t queued_for_put(queue_obj *q, int exact) {
  uint64_t puts = seq_at(atomic_load(&q->tail));
  uint64_t gets = atomic_load(&q->gets);
  if (puts - gets < q->maxsize || !exact)
    return puts - gets;
  int dead;
  if (lock_side(&q->get_lock, 0, &dead) == 0) {
    gets = seq_at(atomic_load(&q->head));
    atomic_store(&q->gets, gets);
    mp__rmutex_unlock(&q->get_lock);
  }
  return puts - gets;
}

/* Spins (no lock held) until a consumer takes something or the budget is
 * spent: a bounded queue kept full by a fast producer should not make it
 * sleep and be woken by a system call per message. */
static void spin_for_space(queue_obj *q, uint64_t gets_seen) {
  for (int i = 0; i < WAIT_SPIN; i++) {
    if (atomic_load_explicit(&q->gets, memory_order_relaxed) != gets_seen)
      return;
    mp__cpu_relax();
  }
}

static int put_obj(queue_obj *q, const void *data, size_t len,
                   uint64_t big_off, int timeout_ms) {
  mp__deadline deadline = mp__deadline_in(timeout_ms);
  int spun = 0;
  for (;;) {
    /* Read before checking for room: a get after the check bumps it. */
    uint32_t seen = atomic_load(&q->space.value);
    uint64_t gets_seen = atomic_load(&q->gets);
    int left = mp__deadline_left(&deadline);
    /* Holders only copy at most INLINE_MAX bytes: wait a little for them
     * even when the caller does not want to block on a full queue. */
    int dead, rc = lock_side(&q->put_lock, left >= 0 && left < 100 ? 100 : left,
                             &dead);
    if (rc == MP_ETIMEDOUT)
      return MP_EFULL;
    if (rc < 0)
      return rc;
    if (!q->maxsize || queued_for_put(q, spun || timeout_ms == 0) <
                           q->maxsize) {
      rc = append(q, data, len, big_off);
      mp__rmutex_unlock(&q->put_lock);
      if (rc == 0) {
        MP__FAULT("queue.put.wake");
        bump(&q->items);
      }
      return rc;
    }
    mp__rmutex_unlock(&q->put_lock);
    if (timeout_ms == 0)
      return MP_EFULL;
    if (!spun) {
      spin_for_space(q, gets_seen);
      spun = 1;
      continue;
    }
    if ((left = mp__deadline_left(&deadline)) == 0)
      return MP_EFULL;
    rc = mp__waitword_wait(&q->space, seen, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
    spun = 0;
  }
}

/* ---- Consumer side (get_lock held) ---- */

/* The record at the head, stepping into the next chunk past an END (a
 * consistent store of its own: the END's chunk is then done with). */
static rec *head_record(queue_obj *q, uint64_t *where) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
  rec *r = rec_at(h);
  if (r && rec_kind(atomic_load_explicit(&r->word, memory_order_relaxed)) ==
               K_END) {
    uint64_t done_off = h >> POS_BITS;
    uint64_t n = chunk_link(atomic_load(&chunk_at(done_off)->next));
    if (!n)
      return NULL;
    h = pack(n, 0);
    atomic_store_explicit(&q->head, h, memory_order_release);
    /* Killed here: the chunk leaks, the queue is whole. */
    retire_chunk(q, done_off);
    r = rec_at(h);
  }
  *where = h;
  return r;
}

/* Copies the head message out and consumes it. 1 if one was there, 0 if
 * the queue is empty, or a negative code (MP_EMSGSIZE: *len set, the
 * message stays). *big is the block to free once the lock is released. */
static int take(queue_obj *q, void *buf, size_t cap, size_t *len,
                uint64_t *big) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
  if (h == atomic_load_explicit(&q->tail, memory_order_acquire))
    return 0;
  rec *r = head_record(q, &h);
  if (!r)
    return MP_EINVAL;
  uint64_t word = atomic_load_explicit(&r->word, memory_order_relaxed);
  uint64_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
  int kind = rec_kind(word);
  size_t n = rec_len(word);
  /* Before the length goes anywhere: the record lies in its chunk, a
   * large message in its block. */
  const void *src = r + 1;
  if (!rec_fits(h, kind, n))
    return MP_EINVAL;
  if (kind == K_BIG) {
    memcpy(big, r + 1, sizeof *big);
    if (!mp__arena_block_holds(*big, n) || !(src = mp__arena_ptr(*big, n))) {
      *big = 0;
      return MP_EINVAL;
    }
  }
  *len = n;
  if (n > cap) {
    *big = 0;
    return MP_EMSGSIZE;
  }
  if (n)
    memcpy(buf, src, n);
  /* The consuming store: a reader killed before it left the message. */
  atomic_store_explicit(&q->head, h + rec_bytes(kind, n),
                        memory_order_release);
  atomic_store(&q->gets, seq + 1);
  return 1;
}

/* Spins (no lock held) while the queue stays empty, before sleeping. */
static void spin_for_item(queue_obj *q) {
  for (int i = 0; i < WAIT_SPIN; i++) {
    if (atomic_load_explicit(&q->head, memory_order_relaxed) !=
        atomic_load_explicit(&q->tail, memory_order_relaxed))
      return;
    mp__cpu_relax();
  }
}

static int get_obj(queue_obj *q, void *buf, size_t cap, size_t *len,
                   int timeout_ms) {
  mp__deadline deadline = mp__deadline_in(timeout_ms);
  for (;;) {
    uint32_t seen = atomic_load(&q->items.value);
    if (timeout_ms != 0)
      spin_for_item(q);
    int dead, rc = lock_side(&q->get_lock, mp__deadline_left(&deadline),
                             &dead);
    if (rc == MP_ETIMEDOUT)
      return MP_EEMPTY;
    if (rc < 0)
      return rc;
    if (dead) /* it may have died between consuming and counting */
      atomic_store(&q->gets, seq_at(atomic_load(&q->head)));
    uint64_t big = 0;
    rc = take(q, buf, cap, len, &big);
    mp__rmutex_unlock(&q->get_lock);
    if (rc == 1) {
      if (big)
        mp__arena_free(big);
      if (q->maxsize) {
        MP__FAULT("queue.get.wake");
        bump(&q->space);
      }
      return 0;
    }
    if (rc < 0)
      return rc;
    int left = mp__deadline_left(&deadline);
    if (left == 0)
      return MP_EEMPTY;
    rc = mp__waitword_wait(&q->items, seen, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
  }
}

/* ---- Creating and freeing ---- */

static int create(mp_queue *handle, size_t maxsize, uint32_t joinable) {
  if (!handle)
    return MP_EINVAL;
  queue_obj *q;
  mp__handle h;
  int rc = mp__obj_create(MP__T_QUEUE, sizeof *q, &h, (void **)&q);
  if (rc < 0)
    return rc;
  q->maxsize = maxsize;
  q->joinable = joinable;
  uint64_t first;
  if ((rc = take_chunk(q, &first)) == 0 &&
      (rc = mp__rmutex_init(&q->put_lock, q, 0)) == 0 &&
      (rc = mp__rmutex_init(&q->get_lock, q, 0)) == 0 &&
      (rc = mp__waitword_init(&q->items, q, 0)) == 0 &&
      (rc = mp__waitword_init(&q->space, q, 0)) == 0)
    rc = mp__waitword_init(&q->done, q, 0);
  if (rc < 0) {
    mp__obj_destroy(&h, MP__T_QUEUE);
    return rc;
  }
  /* A fresh block is zero: the header at position 0 is "pending, seq 0". */
  atomic_store(&q->head, pack(first, 0));
  atomic_store(&q->tail, pack(first, 0));
  *(mp__handle *)handle = h;
  return 0;
}

int mp_queue_create(mp_queue *q, size_t maxsize) {
  return create(q, maxsize, 0);
}

int mp_joinable_queue_create(mp_queue *q, size_t maxsize) {
  return create(q, maxsize, 1);
}

/* Frees the chunks from head to tail and the large messages they hold.
 * Stops at the first record or link that fails its check: a corrupted
 * queue leaks what lies beyond. Each chunk is freed as it is left, and a
 * link must lead to a live chunk, so even a chain that loops ends. */
static void free_messages(uint64_t h, uint64_t t) {
  while (h != t) {
    rec *r = rec_at(h);
    if (!r)
      return;
    uint64_t word = atomic_load_explicit(&r->word, memory_order_relaxed);
    int kind = rec_kind(word);
    if (kind == K_END) {
      uint64_t c_off = h >> POS_BITS;
      uint64_t next = chunk_link(atomic_load(&chunk_at(c_off)->next));
      mp__arena_free(c_off);
      if (!next)
        return;
      h = pack(next, 0);
      continue;
    }
    if (!rec_fits(h, kind, rec_len(word)))
      return;
    if (kind == K_BIG) {
      uint64_t big;
      memcpy(&big, r + 1, sizeof big);
      mp__arena_free(big);
    }
    h += rec_bytes(kind, rec_len(word));
  }
  uint64_t c_off = t >> POS_BITS;
  chunk *c = chunk_at(c_off);
  if (c && atomic_load(&c->next)) /* linked by a producer that died */
    mp__arena_free(atomic_load(&c->next));
  mp__arena_free(c_off);
}

int mp_queue_free(mp_queue *handle) {
  queue_obj *q;
  int rc = lookup(handle, &q);
  if (rc < 0)
    return rc;
  uint64_t head = atomic_load(&q->head), tail = atomic_load(&q->tail);
  uint64_t spare[SPARE_CHUNKS];
  for (int i = 0; i < SPARE_CHUNKS; i++)
    spare[i] = atomic_load(&q->spare[i]);
  uint64_t keys[3] = {q->items.key, q->space.key, q->done.key};
  uint64_t id = handle->_id;
  /* Before the object goes: its memory may be reused at once after. */
  mp__rmutex_destroy(&q->put_lock);
  mp__rmutex_destroy(&q->get_lock);
  if ((rc = mp__obj_free(handle, MP__T_QUEUE, keys, 3)) < 0)
    return rc;
  free_messages(head, tail);
  for (int i = 0; i < SPARE_CHUNKS; i++)
    if (spare[i])
      mp__arena_free(spare[i]);
  unmark_closed(id);
  return 0;
}

/* ---- Put and get ---- */

/* A large message goes into its own block before any lock is taken, so
 * that a long copy holds up nobody. A producer killed during the copy
 * leaks the block; no record refers to it, so no reader sees it. */
static int write_big(const void *data, size_t len, uint64_t *off) {
  int rc = mp__arena_alloc(len, off);
  if (rc < 0)
    return rc;
  void *dst = mp__arena_ptr(*off, len);
  if (!dst) {
    mp__arena_free(*off);
    return MP_ENOMEM;
  }
  memcpy(dst, data, len);
  return 0;
}

int mp_queue_put(mp_queue *handle, const void *data, size_t len,
                 int timeout_ms) {
  queue_obj *q;
  if (timeout_ms < MP_INFINITE || (!data && len))
    return MP_EINVAL;
  int rc = lookup(handle, &q);
  if (rc < 0)
    return rc;
  if (is_closed(handle->_id))
    return MP_ECLOSED;
  uint64_t big = 0;
  if (len > INLINE_MAX && (rc = write_big(data, len, &big)) < 0)
    return rc;
  rc = put_obj(q, data, len, big, timeout_ms);
  if (rc < 0 && big)
    mp__arena_free(big);
  return rc;
}

int mp_queue_get(mp_queue *handle, void *buf, size_t cap, size_t *len,
                 int timeout_ms) {
  queue_obj *q;
  if (timeout_ms < MP_INFINITE || !len || (!buf && cap))
    return MP_EINVAL;
  int rc = lookup(handle, &q);
  return rc < 0 ? rc : get_obj(q, buf, cap, len, timeout_ms);
}

/* ---- Size ---- */

/* Exact: with both ends held, seq at the tail minus seq at the head. */
static int count(queue_obj *q, uint64_t *n) {
  int dead, rc = lock_side(&q->put_lock, MP_INFINITE, &dead);
  if (rc < 0)
    return rc;
  if ((rc = lock_side(&q->get_lock, MP_INFINITE, &dead)) < 0) {
    mp__rmutex_unlock(&q->put_lock);
    return rc;
  }
  uint64_t gets = seq_at(atomic_load(&q->head));
  if (dead)
    atomic_store(&q->gets, gets);
  *n = seq_at(atomic_load(&q->tail)) - gets;
  mp__rmutex_unlock(&q->get_lock);
  mp__rmutex_unlock(&q->put_lock);
  return 0;
}

int mp_queue_qsize(mp_queue *handle) {
  queue_obj *q;
  uint64_t n;
  int rc = lookup(handle, &q);
  if (rc < 0 || (rc = count(q, &n)) < 0)
    return rc;
  return n > INT32_MAX ? INT32_MAX : (int)n;
}

int mp_queue_empty(mp_queue *handle) {
  int n = mp_queue_qsize(handle);
  return n < 0 ? n : n == 0;
}

int mp_queue_full(mp_queue *handle) {
  queue_obj *q;
  uint64_t n;
  int rc = lookup(handle, &q);
  if (rc < 0 || (rc = count(q, &n)) < 0)
    return rc;
  return q->maxsize && n >= q->maxsize;
}

int mp_queue_close(mp_queue *handle) {
  queue_obj *q;
  int rc = lookup(handle, &q);
  return rc < 0 ? rc : mark_closed(handle->_id);
}

/* ---- JoinableQueue ---- */

/* Messages ever put, read with the producers' lock held (exact). */
static int puts_so_far(queue_obj *q, uint64_t *puts) {
  int dead, rc = lock_side(&q->put_lock, MP_INFINITE, &dead);
  if (rc < 0)
    return rc;
  *puts = seq_at(atomic_load(&q->tail));
  mp__rmutex_unlock(&q->put_lock);
  return 0;
}

static int lookup_joinable(mp_queue *handle, queue_obj **q) {
  int rc = lookup(handle, q);
  if (rc < 0)
    return rc;
  return (*q)->joinable ? 0 : MP_ENOTSUP;
}

/* Unfinished tasks are puts minus task_done calls: both only grow, and
 * a put counts from its publishing store, so a producer killed mid-put
 * leaves no phantom task for join to wait on. */
int mp_queue_task_done(mp_queue *handle) {
  queue_obj *q;
  uint64_t puts;
  int rc = lookup_joinable(handle, &q);
  if (rc < 0 || (rc = puts_so_far(q, &puts)) < 0)
    return rc;
  uint64_t done = atomic_load(&q->tasks_done);
  do {
    if (done >= puts)
      return MP_ESTATE;
  } while (!atomic_compare_exchange_weak(&q->tasks_done, &done, done + 1));
  MP__FAULT("queue.task_done.wake");
  bump(&q->done);
  return 0;
}

int mp_queue_join(mp_queue *handle, int timeout_ms) {
  queue_obj *q;
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  int rc = lookup_joinable(handle, &q);
  if (rc < 0)
    return rc;
  mp__deadline deadline = mp__deadline_in(timeout_ms);
  for (;;) {
    uint32_t seen = atomic_load(&q->done.value);
    uint64_t puts;
    if ((rc = puts_so_far(q, &puts)) < 0)
      return rc;
    if (atomic_load(&q->tasks_done) >= puts)
      return 0;
    int left = mp__deadline_left(&deadline);
    if (left == 0)
      return MP_ETIMEDOUT;
    rc = mp__waitword_wait(&q->done, seen, left);
    if (rc < 0 && rc != MP_ETIMEDOUT)
      return rc;
  }
}

#ifdef MPROC_FAULT_POINTS
int mp__fault_queue_memory(mp_queue *handle, void **obj, size_t *obj_bytes,
                           void **head_chunk, void **head_rec) {
  queue_obj *q;
  int rc = lookup(handle, &q);
  if (rc < 0)
    return rc;
  uint64_t h = atomic_load(&q->head);
  *obj = q;
  *obj_bytes = sizeof *q;
  *head_chunk = chunk_at(h >> POS_BITS);
  *head_rec = rec_at(h);
  return *head_chunk && *head_rec ? 0 : MP_EINVAL;
}
#endif
