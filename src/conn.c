/* Pipe and Connection: handle validation, the process-local table of the
 * ends this process holds, and message framing. The OS pipe itself is in
 * <os>/conn.c.
 *
 * A message travels as a 16-byte header (magic, check word, length) and
 * its bytes. Reads go into a per-end buffer, so a small message costs one
 * read system call; a large one is read straight into the caller's buffer
 * once its header is known. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "deadline.h"
#include "idmap.h"
#include "shared.h"

#define HANDLE_MAGIC 0x4d50434f4e4e0000ull /* "MPCONN" */
#define HANDLE_MAGIC_MASK 0xffffffffffff0000ull
#define FRAME_MAGIC 0x4d504d53u /* "MPMS" */
#define HDR 16
#define BUF_MIN (64u * 1024u)

/* ---- The table: id -> end, this process's ----
 * A closed end stays in it as closed_mark, so that a stale copy of its
 * handle reads MP_ECLOSED rather than MP_ENOTSUP. */
static mp__conn closed_mark;
static mp__idmap table;

static void table_lock(void) { mp__local_lock(MP__LOCK_CONNS); }
static void table_unlock(void) { mp__local_unlock(MP__LOCK_CONNS); }

/* In a forked child only the forking thread exists: operations other
 * threads had in progress will never drop their references, and their
 * send and receive locks (held across blocking calls, so not local
 * locks) would never be released. */
void mp__conn_after_fork_child(void) {
  for (size_t i = 0; i < table.cap; i++) {
    mp__conn *c = table.slots[i].value;
    if (!c || c == &closed_mark)
      continue;
    c->refs = 1;
    mp__mutex_reinit(&c->rd);
    mp__mutex_reinit(&c->wr);
  }
}

static void conn_free(mp__conn *c) {
  mp__os_conn_close(c);
  free(c->buf);
  free(c);
}

static mp__conn *conn_new(uint64_t id, uint32_t flags, const mp__conn_os *os) {
  mp__conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  mp__mutex fresh = MP__MUTEX_INIT;
  c->id = id;
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

/* Every entry of an end shares its id: each removal takes one. */
static void inherit_drop(uint64_t id, int n) {
  while (n-- > 0)
    mp__inherit_remove(id);
}

static int add(mp__conn *c) {
  table_lock();
  int rc = mp__idmap_set(&table, c->id, c);
  table_unlock();
  int64_t h[2];
  uint32_t flags[2];
  int n = inherit_parts(c, h, flags), done = 0;
  while (rc == 0 && done < n &&
         (rc = mp__inherit_add(MP__INHERIT_CONN, flags[done], c->id, h[done])) == 0)
    done++;
  if (rc < 0 && done < n) {
    inherit_drop(c->id, done);
    table_lock();
    mp__idmap_set(&table, c->id, &closed_mark);
    table_unlock();
  }
  return rc;
}

static int valid_flags(uint64_t a) {
  uint32_t f = (uint32_t)(a & ~HANDLE_MAGIC_MASK);
  return (a & HANDLE_MAGIC_MASK) == HANDLE_MAGIC && f != 0 &&
         (f & ~(MP__CONN_READ | MP__CONN_WRITE)) == 0;
}

int mp__conn_get(const mp_conn *h, uint32_t need, mp__conn **out) {
  if (!h || !valid_flags(h->_a) || h->_b == 0)
    return MP_EINVAL;
  uint32_t flags = (uint32_t)(h->_a & ~HANDLE_MAGIC_MASK);
  table_lock();
  mp__conn *c = mp__idmap_get(&table, h->_b);
  int rc = 0;
  if (!c)
    rc = MP_ENOTSUP;
  else if (c == &closed_mark)
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

void mp__conn_put(mp__conn *c) {
  table_lock();
  unsigned left = --c->refs;
  table_unlock();
  if (left == 0)
    conn_free(c);
}

/* ---- Ids ---- *
 * The pid makes ids of different live processes distinct; the counter
 * ids of one process. */
static uint64_t new_id(void) {
  static _Atomic uint32_t counter;
  uint32_t n = atomic_fetch_add(&counter, 1) + 1;
  return ((uint64_t)(uint32_t)mp__os_current_pid() << 32) | n;
}

static void make_handle(mp_conn *h, const mp__conn *c) {
  h->_a = HANDLE_MAGIC | c->flags;
  h->_b = c->id;
  h->_c = (uint64_t)(c->os.rd != MP__CONN_NONE ? c->os.rd : c->os.wr);
}

static void close_raw(const mp__conn_os *os) {
  mp__conn tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.os = *os;
  mp__os_conn_close(&tmp);
}

int mp_pipe_create(mp_conn *a, mp_conn *b, int duplex) {
  if (!a || !b || a == b)
    return MP_EINVAL;
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  mp__conn_os oa, ob;
  memset(&oa, 0, sizeof oa);
  memset(&ob, 0, sizeof ob);
  int rc = mp__os_conn_pair(duplex, &oa, &ob);
  if (rc < 0)
    return rc;
  uint32_t both = MP__CONN_READ | MP__CONN_WRITE;
  mp__conn *ca = conn_new(new_id(), duplex ? both : MP__CONN_READ, &oa);
  mp__conn *cb = conn_new(new_id(), duplex ? both : MP__CONN_WRITE, &ob);
  if (!ca || !cb) {
    free(ca);
    free(cb);
    close_raw(&oa);
    close_raw(&ob);
    return MP_ENOMEM;
  }
  if ((rc = add(ca)) < 0) {
    conn_free(ca);
    conn_free(cb);
    return rc;
  }
  make_handle(a, ca);
  if ((rc = add(cb)) < 0) {
    mp_conn_close(a);
    memset(a, 0, sizeof *a);
    conn_free(cb);
    return rc;
  }
  make_handle(b, cb);
  return 0;
}

/* One entry of an end: the first creates the end, a second (the other
 * direction's pipe on POSIX) completes it. */
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
  if (flags == 0 || role == 0 || (role & ~flags) != 0)
    rc = MP_EINVAL;
  table_lock();
  mp__conn *c = NULL;
  if (rc == 0) {
    c = mp__idmap_get(&table, e->id);
    if (!c) {
      if (!(c = conn_new(e->id, flags, NULL)))
        rc = MP_ENOMEM;
      else if ((rc = mp__idmap_set(&table, e->id, c)) < 0)
        free(c);
    } else if (c == &closed_mark || c->flags != flags ||
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
  if (rc < 0)
    close_raw(&os);
  return rc;
}

int mp_conn_close(mp_conn *h) {
  if (!h || !valid_flags(h->_a) || h->_b == 0)
    return MP_EINVAL;
  table_lock();
  mp__conn *c = mp__idmap_get(&table, h->_b);
  int rc = !c ? MP_ENOTSUP : c == &closed_mark ? 0 : 1;
  if (rc == 1 && c->flags != (uint32_t)(h->_a & ~HANDLE_MAGIC_MASK))
    rc = MP_EINVAL;
  if (rc == 1)
    mp__idmap_set(&table, c->id, &closed_mark);
  table_unlock();
  if (rc != 1)
    return rc;
  int64_t hs[2];
  uint32_t parts[2];
  inherit_drop(c->id, inherit_parts(c, hs, parts));
  /* An operation still in progress in another thread keeps the OS
   * handle until it ends; the last reference closes it. */
  mp__conn_put(c);
  return 0;
}

/* ---- The receive buffer ---- */
static size_t buffered(const mp__conn *c) { return c->end - c->start; }

int mp__conn_reserve(mp__conn *c, size_t room) {
  if (c->cap - c->end >= room)
    return 0;
  if (c->start > 0) {
    memmove(c->buf, c->buf + c->start, buffered(c));
    c->end -= c->start;
    c->start = 0;
  }
  if (c->cap - c->end >= room)
    return 0;
  size_t cap = c->cap ? c->cap : BUF_MIN;
  while (cap - c->end < room)
    cap *= 2;
  unsigned char *grown = realloc(c->buf, cap);
  if (!grown)
    return MP_ENOMEM;
  c->buf = grown;
  c->cap = cap;
  return 0;
}

int mp__conn_buffered_ready(mp__conn *c) { return buffered(c) > 0 || c->eof; }

/* Reads what the OS has (at least one byte) into the buffer. */
static int fill(mp__conn *c, int timeout_ms) {
  if (c->eof)
    return MP_EEOF;
  int rc = mp__conn_reserve(c, 1);
  size_t got = 0;
  if (rc == 0)
    rc = mp__os_conn_read(c, c->buf + c->end, c->cap - c->end, timeout_ms, &got);
  if (rc == 0)
    c->end += got;
  else if (rc == MP_EEOF)
    c->eof = 1;
  return rc;
}

/* ---- Framing ---- */
static void put_header(unsigned char *h, uint64_t len) {
  uint32_t magic = FRAME_MAGIC;
  uint32_t check = ~(FRAME_MAGIC ^ (uint32_t)len ^ (uint32_t)(len >> 32));
  memcpy(h, &magic, 4);
  memcpy(h + 4, &check, 4);
  memcpy(h + 8, &len, 8);
}

/* 0 and *len, or -1 for bytes that are not a header. */
static int get_header(const unsigned char *h, uint64_t *len) {
  uint32_t magic, check;
  memcpy(&magic, h, 4);
  memcpy(&check, h + 4, 4);
  memcpy(len, h + 8, 8);
  if (magic != FRAME_MAGIC ||
      check != ~(FRAME_MAGIC ^ (uint32_t)*len ^ (uint32_t)(*len >> 32)) ||
      *len > (uint64_t)PTRDIFF_MAX)
    return -1;
  return 0;
}

int mp_conn_send(mp_conn *h, const void *data, size_t len) {
  if ((!data && len > 0) || len > (size_t)PTRDIFF_MAX)
    return MP_EINVAL;
  mp__conn *c;
  int rc = mp__conn_get(h, MP__CONN_WRITE, &c);
  if (rc < 0)
    return rc;
  unsigned char hdr[HDR];
  put_header(hdr, len);
  mp__mutex_lock(&c->wr);
  rc = mp__os_conn_write(c, hdr, sizeof hdr, data, len);
  mp__mutex_unlock(&c->wr);
  mp__conn_put(c);
  return rc;
}

/* The stream ended inside a message, or holds bytes that are not ours:
 * nothing more can be trusted, so nothing more is delivered. */
static int broken(mp__conn *c) {
  c->start = c->end = 0;
  c->eof = 1;
  return MP_EEOF;
}

/* The rest of a message whose header is in the buffer and whose first
 * `got` bytes are in out; on a timeout those go back to the buffer. */
static int read_rest(mp__conn *c, unsigned char *out, size_t len, size_t got,
                     mp__deadline *dl) {
  while (got < len) {
    size_t n = 0;
    int rc = mp__os_conn_read(c, out + got, len - got, mp__deadline_left(dl), &n);
    if (rc == MP_EEOF)
      return broken(c);
    if (rc < 0) {
      if (mp__conn_reserve(c, got) < 0)
        return broken(c);
      memcpy(c->buf + c->end, out, got);
      c->end += got;
      return rc;
    }
    got += n;
  }
  return 0;
}

static int receive(mp__conn *c, void *buf, size_t cap, size_t *len,
                   mp__deadline *dl) {
  while (buffered(c) < HDR) {
    if (c->eof)
      return buffered(c) ? broken(c) : MP_EEOF;
    int rc = fill(c, mp__deadline_left(dl));
    if (rc < 0 && rc != MP_EEOF)
      return rc;
  }
  uint64_t need;
  if (get_header(c->buf + c->start, &need) < 0)
    return broken(c);
  *len = (size_t)need;
  if (need > cap)
    return MP_EMSGSIZE;
  size_t have = buffered(c) - HDR;
  if (have > need)
    have = (size_t)need;
  if (have > 0)
    memcpy(buf, c->buf + c->start + HDR, have);
  if (have < need) {
    c->end = c->start + HDR; /* the payload so far is in buf now */
    int rc = read_rest(c, buf, (size_t)need, have, dl);
    if (rc < 0)
      return rc;
  }
  c->start += HDR + (have < need ? 0 : have);
  if (c->start == c->end)
    c->start = c->end = 0;
  return 0;
}

int mp_conn_recv(mp_conn *h, void *buf, size_t cap, size_t *len,
                 int timeout_ms) {
  if (!len || (!buf && cap > 0) || timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  mp__conn *c;
  int rc = mp__conn_get(h, MP__CONN_READ, &c);
  if (rc < 0)
    return rc;
  mp__deadline dl = mp__deadline_in(timeout_ms);
  mp__mutex_lock(&c->rd);
  size_t n = 0;
  rc = receive(c, buf, cap, &n, &dl);
  mp__mutex_unlock(&c->rd);
  mp__conn_put(c);
  if (rc == 0 || rc == MP_EMSGSIZE)
    *len = n;
  return rc;
}

int mp_conn_poll(mp_conn *h, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  mp__conn *c;
  int rc = mp__conn_get(h, MP__CONN_READ, &c);
  if (rc < 0)
    return rc;
  mp__mutex_lock(&c->rd);
  if (!mp__conn_buffered_ready(c)) {
    rc = fill(c, timeout_ms);
    rc = rc == 0 || rc == MP_EEOF ? 1 : rc == MP_ETIMEDOUT ? 0 : rc;
  } else {
    rc = 1;
  }
  mp__mutex_unlock(&c->rd);
  mp__conn_put(c);
  return rc;
}
