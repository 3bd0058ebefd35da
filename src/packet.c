/* Messages on a pipe, as packets the OS moves whole (see conn.h for why
 * the largest packet is what it is on each OS).
 *
 * A packet is a 24-byte header and up to MP__CONN_PACKET_MAX - 24 bytes
 * of the message:
 *   u32 magic   "MPPK"
 *   u32 tag     the same for every packet of one message, drawn per
 *               message (conn.c): tells one writer's message from another's
 *   u32 info    payload length | FIRST/LAST flags << 24
 *   u32 check   a mix of the other fields: garbage is not taken for a header
 *   u64 total   the message's length
 * A message is one packet or more: FIRST on the first, LAST on the last,
 * both on a message of one packet (a small message is one write).
 *
 * Everything read from the pipe is untrusted. A packet that does not
 * continue the message being put together (another tag, another length,
 * too many bytes, a FIRST in the middle) means its writer stopped in the
 * middle of it: those bytes are dropped, never delivered, and the packet
 * is taken for what it is (the start of the next message, or more of one
 * whose start is gone, dropped too). Bytes that are not a header are
 * skipped up to the next header. A length in a header never makes the
 * reader allocate it: the message goes into the caller's buffer, which
 * must hold it (MP_EMSGSIZE otherwise); only when a receive ends in the
 * middle of a message (timeout, error) is what arrived of it kept, in
 * memory the size of what arrived. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "deadline.h"
#include "fault.h"

#define PKT_MAGIC 0x4b50504du /* "MPPK" in memory on little-endian */
#define HDR MP__CONN_HDR
#define PAYLOAD_MAX (MP__CONN_PACKET_MAX - HDR)
#define FIRST 1u
#define LAST 2u
#define BUF_MIN (64u * 1024u)
/* Full packets handed to the OS at once (POSIX: in one writev; 16 fill
 * a pipe of the default size). */
#define BATCH 16

_Static_assert(PAYLOAD_MAX < (1u << 24), "a payload length fits in info");

typedef struct packet {
  uint32_t tag;
  unsigned flags;
  size_t len;
  uint64_t total;
  const unsigned char *data;
} packet;

/* Cheap, and enough: bytes that are not a header seldom carry the magic
 * too, and then match this only by a chance in 2^32. */
static uint32_t check_of(uint32_t tag, uint32_t info, uint64_t total) {
  uint64_t x = ((uint64_t)tag << 32 | info) ^ total;
  return (uint32_t)((x * 0x9e3779b97f4a7c15ull) >> 32) ^ PKT_MAGIC;
}

static void put_header(unsigned char *h, uint32_t tag, unsigned flags,
                       size_t len, uint64_t total) {
  uint32_t magic = PKT_MAGIC, info = (uint32_t)len | (uint32_t)flags << 24;
  uint32_t check = check_of(tag, info, total);
  memcpy(h, &magic, 4);
  memcpy(h + 4, &tag, 4);
  memcpy(h + 8, &info, 4);
  memcpy(h + 12, &check, 4);
  memcpy(h + 16, &total, 8);
}

/* 0 and *p for a well-formed header at h (payload not checked for); -1
 * for bytes that are not one. */
static int get_header(const unsigned char *h, packet *p) {
  uint32_t magic, info, check;
  memcpy(&magic, h, 4);
  memcpy(&p->tag, h + 4, 4);
  memcpy(&info, h + 8, 4);
  memcpy(&check, h + 12, 4);
  memcpy(&p->total, h + 16, 8);
  if (magic != PKT_MAGIC || check != check_of(p->tag, info, p->total))
    return -1;
  p->flags = info >> 24;
  p->len = info & 0xffffffu;
  if ((p->flags & ~(FIRST | LAST)) != 0 || p->len > PAYLOAD_MAX ||
      p->total > (uint64_t)PTRDIFF_MAX)
    return -1;
  /* A first packet holds the start of its message; a lone one all of it;
   * a packet after the first carries something. */
  if ((p->flags & FIRST) ? p->len > p->total ||
                               ((p->flags & LAST) && p->len != p->total)
                         : p->len == 0)
    return -1;
  return 0;
}

/* ---- Sending ---- */

/* Packets go out as full ones, in batches, then the last one by itself:
 * a message's LAST packet is never part of a larger write, so that even
 * an OS that could tear a large write in the middle of a packet could
 * not complete a dead writer's message with another writer's bytes. */
int mp_conn_send(mp_conn *h, const void *data, size_t len) {
  if ((!data && len > 0) || len > (size_t)PTRDIFF_MAX)
    return MP_EINVAL;
  mp__conn *c;
  int rc = mp__conn_get(h, MP__CONN_WRITE, &c);
  if (rc < 0)
    return rc;
  const unsigned char *p = data;
  /* Full packets before the last one; the last holds 1 to PAYLOAD_MAX
   * bytes (0 for an empty message). */
  size_t full = len > 0 ? (len - 1) / PAYLOAD_MAX : 0;
  unsigned char hdr[BATCH][HDR];
  mp__conn_pkt pkt[BATCH];
  unsigned flags = FIRST;
  int last_sent = 0;
  mp__mutex_lock(&c->wr);
  uint32_t tag = mp__conn_msg_tag(c);
  mp__os_conn_write_begin();
  while (rc == 0 && !last_sent) {
    size_t n = 0;
    for (; n < BATCH && full > 0; n++, full--, p += PAYLOAD_MAX, flags = 0) {
      put_header(hdr[n], tag, flags, PAYLOAD_MAX, len);
      pkt[n] = (mp__conn_pkt){hdr[n], p, PAYLOAD_MAX};
    }
    if (n == 0) {
      size_t last = len - (size_t)(p - (const unsigned char *)data);
      put_header(hdr[0], tag, flags | LAST, last, len);
      pkt[0] = (mp__conn_pkt){hdr[0], p, last};
      n = 1;
      last_sent = 1;
    }
    MP__FAULT("conn.send.packet");
    rc = mp__os_conn_write(c, pkt, n);
  }
  mp__os_conn_write_end(rc);
  mp__mutex_unlock(&c->wr);
  mp__conn_put(c);
  return rc;
}

/* ---- The receive buffer ---- */
static size_t buffered(const mp__conn *c) { return c->end - c->start; }

/* *buf to at least need bytes: from first, doubling, but not past limit
 * (need <= limit). */
static int grow(unsigned char **buf, size_t *cap, size_t need, size_t first,
                size_t limit) {
  size_t n = *cap ? *cap : first;
  while (n < need)
    n *= 2;
  if (n > limit)
    n = limit;
  unsigned char *grown = realloc(*buf, n);
  if (!grown)
    return MP_ENOMEM;
  *buf = grown;
  *cap = n;
  return 0;
}

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
  return grow(&c->buf, &c->cap, c->end + room, BUF_MIN, SIZE_MAX);
}

int mp__conn_buffered_ready(mp__conn *c) {
  return buffered(c) > 0 || c->in_msg || c->eof;
}

/* Reads what the OS has (at least one byte) into the buffer, always with
 * room for a whole packet. */
static int fill(mp__conn *c, int timeout_ms) {
  if (c->eof)
    return MP_EEOF;
  int rc = mp__conn_reserve(c, MP__CONN_PACKET_MAX);
  size_t got = 0;
  if (rc == 0)
    rc = mp__os_conn_read(c, c->buf + c->end, c->cap - c->end, timeout_ms, &got);
  if (rc == 0)
    c->end += got;
  else if (rc == MP_EEOF)
    c->eof = 1;
  return rc;
}

/* ---- Putting messages together ---- */

/* The message being put together will never end. */
static void drop(mp__conn *c) {
  c->in_msg = 0;
  c->got = c->total = 0;
  free(c->part);
  c->part = NULL;
  c->part_cap = 0;
}

void mp__conn_rx_reset(mp__conn *c) {
  drop(c);
  c->start = c->end = 0;
}

void mp__conn_rx_free(mp__conn *c) {
  drop(c);
  free(c->buf);
  c->buf = NULL;
  c->start = c->end = c->cap = 0;
}

/* 1 and *p: a whole packet at the buffer's start. 0: more bytes needed.
 * -1: the bytes there are not a header. */
static int next_packet(mp__conn *c, packet *p) {
  if (buffered(c) < HDR)
    return 0;
  if (get_header(c->buf + c->start, p) < 0)
    return -1;
  if (buffered(c) < HDR + p->len)
    return 0;
  p->data = c->buf + c->start + HDR;
  return 1;
}

static void consume(mp__conn *c, const packet *p) {
  c->start += HDR + p->len;
  if (c->start == c->end)
    c->start = c->end = 0;
}

/* Past bytes that are not a header, to the next place that may hold one. */
static void skip_garbage(mp__conn *c) {
  uint32_t magic = PKT_MAGIC;
  c->start++;
  while (buffered(c) >= 4 && memcmp(c->buf + c->start, &magic, 4) != 0)
    c->start++;
}

/* Room in part for the message's next n bytes: grown as they arrive
 * (doubling, never past the message's length), not to what the header
 * announced. */
static int part_room(mp__conn *c, size_t n) {
  size_t need = (size_t)c->got + n;
  if (need <= c->part_cap)
    return 0;
  return grow(&c->part, &c->part_cap, need, 4096, (size_t)c->total);
}

/* A receive ends (timeout, error) with the message's bytes so far in the
 * caller's buffer: keep them for the next one. */
static int keep(mp__conn *c, const unsigned char *ubuf) {
  if (c->got == 0)
    return 0;
  if (part_room(c, 0) < 0) {
    drop(c);
    return MP_ENOMEM;
  }
  memcpy(c->part, ubuf, (size_t)c->got);
  return 0;
}

/* One message into ubuf. While a message is being put together its bytes
 * go to ubuf if it began in this call, else to c->part (in_ubuf). */
static int receive(mp__conn *c, unsigned char *ubuf, size_t cap, size_t *len,
                   mp__deadline *dl) {
  if (c->in_msg && c->total > cap) {
    *len = (size_t)c->total;
    return MP_EMSGSIZE;
  }
  int in_ubuf = 0;
  for (;;) {
    packet p;
    int k = next_packet(c, &p);
    if (k < 0) {
      skip_garbage(c);
      drop(c);
      continue;
    }
    if (k == 0) {
      if (c->eof) {
        /* Whatever is left can never become a message. */
        mp__conn_rx_reset(c);
        return MP_EEOF;
      }
      if (c->in_msg)
        MP__FAULT("conn.recv.partial");
      int rc = fill(c, mp__deadline_left(dl));
      if (rc == 0 || rc == MP_EEOF)
        continue;
      if (in_ubuf && keep(c, ubuf) < 0)
        rc = MP_ENOMEM;
      return rc;
    }
    if (p.flags & FIRST) {
      /* Another message starts: the one being put together never ends. */
      if (c->in_msg)
        drop(c);
      in_ubuf = 0;
      if (p.total > cap) {
        *len = (size_t)p.total;
        return MP_EMSGSIZE; /* the packet stays for a bigger buffer */
      }
      if (p.flags & LAST) {
        if (p.len > 0)
          memcpy(ubuf, p.data, p.len);
        consume(c, &p);
        *len = p.len;
        return 0;
      }
      c->in_msg = 1;
      c->tag = p.tag;
      c->total = p.total;
      c->got = 0;
      in_ubuf = 1;
    } else if (!c->in_msg || p.tag != c->tag || p.total != c->total ||
               p.len > c->total - c->got ||
               ((p.flags & LAST) != 0) != (p.len == c->total - c->got)) {
      /* Not the next packet of the message being put together: that one
       * is torn, and this one belongs to a message whose start is gone. */
      if (c->in_msg)
        drop(c);
      in_ubuf = 0;
      consume(c, &p);
      continue;
    }
    if (!in_ubuf && part_room(c, p.len) < 0) {
      drop(c);
      consume(c, &p);
      return MP_ENOMEM;
    }
    memcpy((in_ubuf ? ubuf : c->part) + c->got, p.data, p.len);
    c->got += p.len;
    consume(c, &p);
    if (p.flags & LAST) {
      if (!in_ubuf)
        memcpy(ubuf, c->part, (size_t)c->total);
      *len = (size_t)c->total;
      drop(c);
      return 0;
    }
  }
}

/* Receiving marks the end for a fork (conn.c). */
static void rx_begin(mp__conn *c) {
  mp__mutex_lock(&c->rd);
  atomic_store_explicit(&c->receiving, 1, memory_order_relaxed);
}

static void rx_end(mp__conn *c) {
  atomic_store_explicit(&c->receiving, 0, memory_order_release);
  mp__mutex_unlock(&c->rd);
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
  size_t n = 0;
  rx_begin(c);
  rc = receive(c, buf, cap, &n, &dl);
  rx_end(c);
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
  rx_begin(c);
  if (!mp__conn_buffered_ready(c)) {
    rc = fill(c, timeout_ms);
    rc = rc == 0 || rc == MP_EEOF ? 1 : rc == MP_ETIMEDOUT ? 0 : rc;
  } else {
    rc = 1;
  }
  rx_end(c);
  mp__conn_put(c);
  return rc;
}
