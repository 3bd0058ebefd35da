/* Internal interface of Pipe / Connection and mp_wait.
 *
 *   conn.c         handles, ids, the process-local table of ends
 *   packet.c       messages as packets: send, receive, poll
 *   wait.c         mp_wait: arguments, queues, the deadline loop
 *   <os>/conn.c    the OS pipe: create, read, write one packet, close
 *   <os>/wait.c    sleeping on many ends and process sentinels at once
 *
 * A handle is {magic | direction flags, end id, check word}. The id is
 * unique in the family whatever the pids: a key of the family's arena
 * (taken once per 2^32 ends a process makes) above a count kept by the
 * process that took it. The check word is the family's (the arena id's
 * low half) above a mix of arena id and end id, so another family's
 * handle is never taken for one of ours that happens to have the same id.
 * The id is the key of the table every process keeps of the ends it
 * holds; the OS handles used are always the table's.
 *
 * An end has up to two OS handles, one per direction: POSIX pipes are
 * one-way, so a duplex end holds the read end of one pipe and the write
 * end of another, while a Windows named pipe is duplex itself and serves
 * both directions with one handle. Each distinct handle is an entry of
 * the inherit table (shared.h); the entry's flags carry the end's
 * direction flags and, shifted by MP__CONN_ROLE_SHIFT, the directions
 * that handle serves, so that a spawned child rebuilds the end from its
 * entries in any order.
 *
 * Messages travel as packets (packet.c) that the OS moves whole: a
 * writer killed between two packets leaves whole packets behind, which
 * the reader recognises as the start of a message that never ended. */
#ifndef MPROC_CONN_H
#define MPROC_CONN_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define MP__CONN_READ 1u
#define MP__CONN_WRITE 2u
#define MP__CONN_ROLE_SHIFT 8

/* What an unused handle slot holds. The largest packet, header included:
 * POSIX writes up to PIPE_BUF bytes to a pipe all at once or not at all
 * and never interleaved with other writes; a Windows message-type pipe
 * gives a reader each write as one message, whole, when the reader's
 * buffer holds it (it always does: every read offers this much room). */
#ifdef _WIN32
#define MP__CONN_NONE 0
#define MP__CONN_PACKET_MAX 65536
#else
#define MP__CONN_NONE (-1)
#define MP__CONN_PACKET_MAX PIPE_BUF
#endif

/* The OS side of an end: the handle it reads from and the one it writes
 * to (MP__CONN_NONE for a direction it lacks; the same value twice on
 * Windows duplex). */
typedef struct mp__conn_os {
  int64_t rd, wr;   /* fd or HANDLE in this process */
  int64_t rd_event; /* Windows: manual-reset events for overlapped I/O, */
  int64_t wr_event; /* created on first use; unused on POSIX */
} mp__conn_os;

/* One end as this process holds it. Receiving state (buf to eof) is
 * guarded by rd, sending (sbuf) by wr; refs and closed by the table's
 * lock. */
typedef struct mp__conn {
  uint64_t id;
  uint64_t check; /* the check word of its handles (conn.c) */
  uint32_t flags;
  int closed;    /* mp_conn_close ran; operations still in progress */
  unsigned refs; /* the table's own until closed, plus one per operation */
  mp__mutex rd, wr;
  mp__conn_os os;
  /* Bytes read from the OS and not yet taken: whole packets and the
   * start of the next. */
  unsigned char *buf;
  size_t start, end, cap;
  /* The message being put together from its packets: its writer's tag,
   * its length, the bytes so far. Between receives they are in part. */
  int in_msg;
  uint32_t tag;
  uint64_t total, got;
  unsigned char *part;
  size_t part_cap;
  int eof; /* the OS reported end of file */
  /* A receive is changing the state above; a forked child in which it
   * was (in another thread) throws that state away: see conn.c. */
  _Atomic int receiving;
  unsigned char *sbuf; /* a packet being sent, when too big for the stack */
  uint32_t sent;       /* messages this process sent on it */
} mp__conn;

/* The end behind a handle, with a reference; need: MP__CONN_READ/WRITE
 * or 0. Handle errors as documented in mproc.h. */
int mp__conn_get(const mp_conn *h, uint32_t need, mp__conn **out);
void mp__conn_put(mp__conn *c);

/* A tag for the packets of the next message on c (under its send lock):
 * differs from message to message and from process to process (a forked
 * child draws its own). */
uint32_t mp__conn_msg_tag(mp__conn *c);
/* packet.c: forgets a message half put together and the bytes not yet
 * taken (a forked child's copy of a receive in progress). */
void mp__conn_rx_reset(mp__conn *c);
void mp__conn_rx_free(mp__conn *c);

/* Something to receive now without reading the OS: bytes, a message
 * begun, or end of file. */
int mp__conn_buffered_ready(mp__conn *c);
/* Room for at least `room` more bytes after c->end; MP_ENOMEM. */
int mp__conn_reserve(mp__conn *c, size_t room);

/* ---- Backend: <os>/conn.c ---- */
/* A connected pair: a receives (and sends if duplex), b sends (and
 * receives if duplex); every slot filled (or MP__CONN_NONE), events 0.
 * Not inheritable by anything we exec or create. */
int mp__os_conn_pair(int duplex, mp__conn_os *a, mp__conn_os *b);
/* At least one byte into dst: 0 and *got; MP_EEOF; MP_ETIMEDOUT (with
 * nothing consumed); MP_ESYS. timeout_ms: MP_INFINITE, 0 or more. cap is
 * at least MP__CONN_PACKET_MAX. */
int mp__os_conn_read(mp__conn *c, void *dst, size_t cap, int timeout_ms,
                     size_t *got);
/* A packet to write: its header (MP__CONN_HDR bytes), then len bytes of
 * the message; MP__CONN_HDR + len <= MP__CONN_PACKET_MAX. */
#define MP__CONN_HDR 24
typedef struct mp__conn_pkt {
  const unsigned char *hdr;
  const unsigned char *data;
  size_t len;
} mp__conn_pkt;

/* Writes n packets, in order, each of which reaches the pipe whole or not
 * at all, whenever the writer is killed (how, per OS: <os>/conn.c).
 * MP_EEOF: the other end is closed everywhere. The packets of one message
 * are written between begin and end, on the thread that sends it. */
void mp__os_conn_write_begin(void);
int mp__os_conn_write(mp__conn *c, const mp__conn_pkt *p, size_t n);
void mp__os_conn_write_end(int rc);
/* A handle inherited by a spawned child: make it private again. */
void mp__os_conn_adopt(int64_t h);
/* Closes every handle of c->os (each distinct one once). Never waits. */
void mp__os_conn_close(mp__conn *c);

#ifdef _WIN32
/* An overlapped read into dst, for waits on many ends at once; finish
 * cancels it if still pending and gives what it read: 0 and *got (0 if
 * cancelled in time), MP_EEOF, MP_ESYS. */
int mp__win_conn_start(mp__conn *c, void *dst, DWORD cap, OVERLAPPED *ov);
int mp__win_conn_finish(mp__conn *c, OVERLAPPED *ov, size_t *got);
#endif

/* ---- mp_wait ---- */
typedef struct mp__wait_slot {
  mp_wait_kind kind;
  mp__conn *conn;    /* MP_WAIT_CONN: referenced */
  mp_process *proc;  /* MP_WAIT_PROCESS */
  mp_queue *queue;   /* MP_WAIT_QUEUE */
  int ready;
} mp__wait_slot;

/* Backend: marks the connection and process slots that are ready, waiting
 * up to timeout_ms for the first; returns how many are (0 on timeout or
 * interruption), or a negative code. Queue slots are left alone. */
int mp__os_wait_slots(mp__wait_slot *s, size_t n, int timeout_ms);

/* A started process that has exited, as the process layer sees it. */
int mp__wait_proc_done(mp_process *p);

#endif
