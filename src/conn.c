/* Pipe and Connection: handles and their checks, ids, and the
 * process-local table of the ends this process holds. Messages are in
 * packet.c, the OS pipe in <os>/conn.c.
 *
 * The table holds the ends this process has open, and those it closed
 * while another thread's operation on them had not ended yet (until it
 * ends). The ids of the ends it closed go into a range set instead: each
 * process numbers the ends it makes densely, so a process making and
 * closing ends for ever keeps one range, and a stale copy of a closed
 * end's handle still reads MP_ECLOSED. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "idmap.h"
#include "idset.h"
#include "shared.h"

#define HANDLE_MAGIC 0x4d50434f4e4e0000ull /* "MPCONN" */
#define HANDLE_MAGIC_MASK 0xffffffffffff0000ull
#define ID_COUNT_BITS 32

/* Guarded by MP__LOCK_CONNS. */
static mp__idmap table;    /* id -> mp__conn */
static mp__idset closed;   /* ids of the ends this process closed */
static uint64_t id_base;   /* an arena key << ID_COUNT_BITS; 0: none yet */
static uint64_t id_count;  /* ends numbered under id_base so far */

static void table_lock(void) { mp__local_lock(MP__LOCK_CONNS); }
static void table_unlock(void) { mp__local_unlock(MP__LOCK_CONNS); }

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* ---- Check words and message tags ---- */

static uint64_t family(void) {
  return atomic_load_explicit(&mp__arena_id, memory_order_relaxed);
}

static uint64_t check_word(uint64_t fam, uint64_t id) {
  return (fam << 32) | (uint32_t)mix64(fam ^ mix64(id));
}

/* For a handle whose check word is not its end's (or whose end this
 * process does not hold): MP_ENOTSUP for another family's (or a process
 * with no arena, which has no ends), MP_EINVAL for a word no family would
 * make, 0 for a right one. */
static int check_handle(const mp_conn *h) {
  uint64_t fam = family();
  if ((uint32_t)(h->_c >> 32) != (uint32_t)fam || fam == 0)
    return MP_ENOTSUP;
  return h->_c == check_word(fam, h->_b) ? 0 : MP_EINVAL;
}

static _Atomic uint32_t tag_seed; /* 0: not drawn (yet, or since a fork) */

uint32_t mp__conn_msg_tag(mp__conn *c) {
  uint32_t seed = atomic_load_explicit(&tag_seed, memory_order_relaxed);
  if (seed == 0) {
    uint32_t drawn = 0;
    /* Without the OS's randomness (it never fails in practice), the clock
     * and an address still tell this process from others most of the
     * time; tags only have to tell messages apart. */
    if (mp__os_random(&drawn, sizeof drawn) < 0)
      drawn = (uint32_t)mix64(mp__now_ms() ^ (uint64_t)(uintptr_t)&drawn);
    drawn |= 1;
    if (!atomic_compare_exchange_strong(&tag_seed, &seed, drawn))
      drawn = seed;
    seed = drawn;
  }
  /* Two processes sharing the end number their messages alike; their
   * seeds tell them apart. */
  return seed ^ c->sent++;
}

/* ---- Ids ---- */

/* Under the table's lock; the arena exists. */
static int new_id(uint64_t *id) {
  if (id_base == 0 || id_count == (UINT64_C(1) << ID_COUNT_BITS) - 1) {
    uint64_t key = mp__arena_new_key();
    if (key == 0 || key >= (UINT64_C(1) << (64 - ID_COUNT_BITS)))
      return MP_ENOMEM;
    id_base = key << ID_COUNT_BITS;
    id_count = 0;
  }
  *id = id_base | ++id_count;
  return 0;
}

/* ---- Ends ---- */

static mp__conn *conn_new(uint32_t flags, const mp__conn_os *os) {
  mp__conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  mp__mutex fresh = MP__MUTEX_INIT;
  c->flags = flags;
  c->refs = 1;
  c->rd = fresh;
  c->wr = fresh;
  if (os) {
    c->os = *os;
  } else {
    c->os.rd = MP__CONN_NONE;
    c->os.wr = MP__CONN_NONE;
  }
  return c;
}

/* The memory of an end whose OS handles are closed already. */
static void conn_free(mp__conn *c) {
  mp__conn_rx_free(c);
  free(c->sbuf);
  free(c);
}

static void close_raw(const mp__conn_os *os) {
  mp__conn tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.os = *os;
  mp__os_conn_close(&tmp);
}

/* The inherit-table entries of an end: one per distinct OS handle, with
 * the directions it serves. Returns how many (1 or 2). */
static int inherit_parts(const mp__conn *c, int64_t h[2], uint32_t flags[2]) {
  int n = 0;
  if (c->os.rd != MP__CONN_NONE) {
    h[n] = c->os.rd;
    flags[n++] = c->flags | (MP__CONN_READ << MP__CONN_ROLE_SHIFT);
  }
  if (c->os.wr != MP__CONN_NONE) {
    if (n == 1 && c->os.wr == c->os.rd) {
      flags[0] |= MP__CONN_WRITE << MP__CONN_ROLE_SHIFT;
    } else {
      h[n] = c->os.wr;
      flags[n++] = c->flags | (MP__CONN_WRITE << MP__CONN_ROLE_SHIFT);
    }
  }
  return n;
}

/* Every entry of an end shares its id: each removal takes one (removing
 * one that is not there does nothing). */
static void inherit_drop(uint64_t id, int n) {
  while (n-- > 0)
    mp__inherit_remove(id);
}

/* The last reference is gone: out of the table, OS handles closed, under
 * the table's lock so that a fork sees the end either in the table with
 * its handles or in neither. Then the memory, outside. */
static void conn_release(mp__conn *c) {
  table_lock();
  unsigned left = --c->refs;
  if (left == 0) {
    if (mp__idmap_get(&table, c->id) == c)
      mp__idmap_remove(&table, c->id);
    mp__os_conn_close(c);
  }
  table_unlock();
  if (left == 0)
    conn_free(c);
}

/* A new end: its id, then the table, then its inherit entries. An id the
 * table has already is refused, never replaced. */
static int add(mp__conn *c) {
  table_lock();
  int rc = new_id(&c->id);
  c->check = check_word(family(), c->id);
  if (rc == 0 && mp__idmap_get(&table, c->id))
    rc = MP_ESTATE;
  if (rc == 0)
    rc = mp__idmap_set(&table, c->id, c);
  table_unlock();
  if (rc < 0)
    return rc;
  int64_t h[2];
  uint32_t flags[2];
  int n = inherit_parts(c, h, flags), done = 0;
  while (done < n &&
         (rc = mp__inherit_add(MP__INHERIT_CONN, flags[done], c->id, h[done])) == 0)
    done++;
  if (rc < 0) {
    inherit_drop(c->id, done);
    table_lock();
    mp__idmap_remove(&table, c->id);
    table_unlock();
  }
  return rc;
}

/* In a forked child only the forking thread exists: operations other
 * threads had in progress will never drop their references, their send
 * and receive locks (held across blocking calls, so not local locks) would
 * never be released, and a receive they were in the middle of left its
 * state half-changed. Such a receive's state is thrown away: what it had
 * read of the pipe went with it, and the next receive here resynchronises
 * on the next whole message (the rest of the one it was reading is
 * recognised and skipped). Ends closed while an operation was in
 * progress are of no use here: their copies are closed. Ids and tags
 * start afresh: the parent goes on numbering under its own key. */
void mp__conn_after_fork_child(void) {
  id_base = 0;
  id_count = 0;
  atomic_store_explicit(&tag_seed, 0, memory_order_relaxed);
  for (;;) {
    mp__conn *gone = NULL;
    for (size_t i = 0; i < table.cap && !gone; i++) {
      mp__conn *c = table.slots[i].value;
      if (c && c->closed)
        gone = c;
    }
    if (!gone)
      break;
    mp__idmap_remove(&table, gone->id);
    inherit_drop(gone->id, 2);
    mp__os_conn_close(gone);
    conn_free(gone);
  }
  for (size_t i = 0; i < table.cap; i++) {
    mp__conn *c = table.slots[i].value;
    if (!c)
      continue;
    c->refs = 1;
    mp__mutex_reinit(&c->rd);
    mp__mutex_reinit(&c->wr);
    if (atomic_load_explicit(&c->receiving, memory_order_relaxed)) {
      mp__conn_rx_reset(c);
      atomic_store_explicit(&c->receiving, 0, memory_order_relaxed);
    }
  }
}

static int valid_flags(uint64_t a) {
  uint32_t f = (uint32_t)(a & ~HANDLE_MAGIC_MASK);
  return (a & HANDLE_MAGIC_MASK) == HANDLE_MAGIC && f != 0 &&
         (f & ~(MP__CONN_READ | MP__CONN_WRITE)) == 0;
}

static int valid_shape(const mp_conn *h) {
  return h && valid_flags(h->_a) && h->_b != 0;
}

/* Why a handle names no end of the table (c: what its id found there),
 * under the table's lock: a handle of another family, a forged one, or
 * one of an end closed here or never held here. */
static int not_found(const mp_conn *h, const mp__conn *c) {
  int rc = check_handle(h);
  if (rc < 0)
    return rc;
  return c ? MP_EINVAL : mp__idset_has(&closed, h->_b) ? MP_ECLOSED : MP_ENOTSUP;
}

/* The end a handle names in the table, if its check word is the end's;
 * otherwise NULL and *rc. Under the table's lock. */
static inline mp__conn *lookup(const mp_conn *h, int *rc) {
  mp__conn *c = mp__idmap_get(&table, h->_b);
  if (c && h->_c == c->check)
    return c;
  *rc = not_found(h, c);
  return NULL;
}

int mp__conn_get(const mp_conn *h, uint32_t need, mp__conn **out) {
  if (!valid_shape(h))
    return MP_EINVAL;
  int rc = 0;
  uint32_t flags = (uint32_t)(h->_a & ~HANDLE_MAGIC_MASK);
  table_lock();
  mp__conn *c = lookup(h, &rc);
  if (!c)
    ;
  else if (c->closed)
    rc = MP_ECLOSED;
  else if (c->flags != flags)
    rc = MP_EINVAL;
  else if ((need & flags) != need)
    rc = MP_ENOTSUP;
  /* A spawn that copied the inherit table between the two entries of a
   * duplex end gave its child only half of it. */
  else if (((need & MP__CONN_READ) && c->os.rd == MP__CONN_NONE) ||
           ((need & MP__CONN_WRITE) && c->os.wr == MP__CONN_NONE))
    rc = MP_ENOTSUP;
  else {
    c->refs++;
    *out = c;
  }
  table_unlock();
  return rc;
}

void mp__conn_put(mp__conn *c) { conn_release(c); }

static void make_handle(mp_conn *h, const mp__conn *c) {
  h->_a = HANDLE_MAGIC | c->flags;
  h->_b = c->id;
  h->_c = c->check;
}

int mp_pipe_create(mp_conn *a, mp_conn *b, int duplex) {
  if (!a || !b || a == b)
    return MP_EINVAL;
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  /* Ids come from the family's arena: the pipe needs it anyway for every
   * child that will hold an end. */
  int rc = mp__arena_ensure();
  if (rc < 0)
    return rc;
  mp__conn_os oa, ob;
  memset(&oa, 0, sizeof oa);
  memset(&ob, 0, sizeof ob);
  if ((rc = mp__os_conn_pair(duplex, &oa, &ob)) < 0)
    return rc;
  uint32_t both = MP__CONN_READ | MP__CONN_WRITE;
  mp__conn *ca = conn_new(duplex ? both : MP__CONN_READ, &oa);
  mp__conn *cb = conn_new(duplex ? both : MP__CONN_WRITE, &ob);
  if (!ca || !cb) {
    free(ca);
    free(cb);
    close_raw(&oa);
    close_raw(&ob);
    return MP_ENOMEM;
  }
  if ((rc = add(ca)) < 0) {
    mp__os_conn_close(ca);
    conn_free(ca);
    mp__os_conn_close(cb);
    conn_free(cb);
    return rc;
  }
  make_handle(a, ca);
  if ((rc = add(cb)) < 0) {
    mp_conn_close(a);
    memset(a, 0, sizeof *a);
    mp__os_conn_close(cb);
    conn_free(cb);
    return rc;
  }
  make_handle(b, cb);
  return 0;
}

/* One entry of an end: the first creates the end, a second (the other
 * direction's pipe on POSIX) completes it. Anything else for an id the
 * table has is refused, and the handle closed: nothing is replaced and
 * nothing leaks. */
int mp__conn_adopt(const mp__inherit_entry *e) {
  const uint32_t both = MP__CONN_READ | MP__CONN_WRITE;
  uint32_t flags = e->flags & both;
  uint32_t role = (e->flags >> MP__CONN_ROLE_SHIFT) & both;
  mp__conn_os os;
  memset(&os, 0, sizeof os);
  os.rd = e->handle;
  os.wr = MP__CONN_NONE;
  mp__os_conn_adopt(e->handle);
  int rc = 0;
  if (e->id == 0 || flags == 0 || role == 0 || (role & ~flags) != 0 ||
      (e->flags & ~(both | (both << MP__CONN_ROLE_SHIFT))) != 0)
    rc = MP_EINVAL;
  mp__conn *fresh = rc == 0 ? conn_new(flags, NULL) : NULL;
  if (rc == 0 && !fresh)
    rc = MP_ENOMEM;
  table_lock();
  mp__conn *c = NULL;
  if (rc == 0) {
    c = mp__idmap_get(&table, e->id);
    if (!c) {
      fresh->id = e->id;
      fresh->check = check_word(family(), e->id);
      if (mp__idset_has(&closed, e->id))
        rc = MP_EINVAL;
      else if ((rc = mp__idmap_set(&table, e->id, fresh)) == 0)
        c = fresh;
      fresh = c ? NULL : fresh;
    } else if (c->closed || c->flags != flags ||
               ((role & MP__CONN_READ) && c->os.rd != MP__CONN_NONE) ||
               ((role & MP__CONN_WRITE) && c->os.wr != MP__CONN_NONE)) {
      rc = MP_EINVAL;
    }
  }
  if (rc == 0) {
    if (role & MP__CONN_READ)
      c->os.rd = e->handle;
    if (role & MP__CONN_WRITE)
      c->os.wr = e->handle;
  }
  table_unlock();
  free(fresh);
  if (rc < 0)
    close_raw(&os);
  return rc;
}

int mp_conn_close(mp_conn *h) {
  if (!valid_shape(h))
    return MP_EINVAL;
  int rc = 0;
  table_lock();
  mp__conn *c = lookup(h, &rc);
  if (!c)
    rc = rc == MP_ECLOSED ? 0 : rc;
  else if (c->closed)
    rc = 0;
  else if (c->flags != (uint32_t)(h->_a & ~HANDLE_MAGIC_MASK))
    rc = MP_EINVAL;
  else {
    /* From here no one gets it. Without memory to note the id, a stale
     * copy of the handle reads MP_ENOTSUP instead of MP_ECLOSED. */
    c->closed = 1;
    mp__idset_add(&closed, c->id);
    rc = 1;
  }
  table_unlock();
  if (rc != 1)
    return rc;
  /* Out of the inherit table before the OS handles close, so no spawn
   * duplicates a number that another file may reuse. */
  int64_t hs[2];
  uint32_t parts[2];
  inherit_drop(c->id, inherit_parts(c, hs, parts));
  /* The table's reference: an operation still in progress in another
   * thread keeps the OS handles until it ends. */
  conn_release(c);
  return 0;
}
