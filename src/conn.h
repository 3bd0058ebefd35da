/* Internal interface of Pipe / Connection and mp_wait.
 *
 *   conn.c         handles, the process-local table of ends, framing
 *   wait.c         mp_wait: arguments, queues, the deadline loop
 *   <os>/conn.c    the OS pipe: create, read, write, close
 *   <os>/wait.c    sleeping on many ends and process sentinels at once
 *
 * A handle is {magic | direction flags, end id, an OS handle value in the
 * creating process}. The id, unique in the family, is the key of the
 * table every process keeps of the ends it holds; the OS handles used are
 * always the table's, which differ from the handle's on Windows and in
 * spawned children.
 *
 * An end has up to two OS handles, one per direction: POSIX pipes are
 * one-way, so a duplex end holds the read end of one pipe and the write
 * end of another, while a Windows named pipe is duplex itself and serves
 * both directions with one handle. Each distinct handle is an entry of
 * the inherit table (shared.h); the entry's flags carry the end's
 * direction flags and, shifted by MP__CONN_ROLE_SHIFT, the directions
 * that handle serves, so that a spawned child rebuilds the end from its
 * entries in any order. */
#ifndef MPROC_CONN_H
#define MPROC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define MP__CONN_READ 1u
#define MP__CONN_WRITE 2u
#define MP__CONN_ROLE_SHIFT 8

/* What an unused handle slot holds. */
#ifdef _WIN32
#define MP__CONN_NONE 0
#else
#define MP__CONN_NONE (-1)
#endif

/* The OS side of an end: the handle it reads from and the one it writes
 * to (MP__CONN_NONE for a direction it lacks; the same value twice on
 * Windows duplex). */
typedef struct mp__conn_os {
  int64_t rd, wr;   /* fd or HANDLE in this process */
  int64_t rd_event; /* Windows: manual-reset events for overlapped I/O, */
  int64_t wr_event; /* created on first use; unused on POSIX */
} mp__conn_os;

/* One end as this process holds it. Receiving state (buf, eof) is guarded
 * by rd, sending by wr; refs and closed by the table's lock. */
typedef struct mp__conn {
  uint64_t id;
  uint32_t flags;
  unsigned refs; /* the table's own, plus one per operation in progress */
  mp__mutex rd, wr;
  mp__conn_os os;
  unsigned char *buf; /* bytes read from the OS, not yet received */
  size_t start, end, cap;
  int eof; /* the OS reported end of file */
} mp__conn;

/* The end behind a handle, with a reference; need: MP__CONN_READ/WRITE
 * or 0. Handle errors as documented in mproc.h. */
int mp__conn_get(const mp_conn *h, uint32_t need, mp__conn **out);
void mp__conn_put(mp__conn *c);

/* Bytes ready to receive, or end of file, without reading the OS. */
int mp__conn_buffered_ready(mp__conn *c);
/* Room for at least `room` more bytes after c->end; MP_ENOMEM. */
int mp__conn_reserve(mp__conn *c, size_t room);

/* ---- Backend: <os>/conn.c ---- */
/* A connected pair: a receives (and sends if duplex), b sends (and
 * receives if duplex); every slot filled (or MP__CONN_NONE), events 0.
 * Not inheritable by anything we exec or create. */
int mp__os_conn_pair(int duplex, mp__conn_os *a, mp__conn_os *b);
/* At least one byte into dst: 0 and *got; MP_EEOF; MP_ETIMEDOUT (with
 * nothing consumed); MP_ESYS. timeout_ms: MP_INFINITE, 0 or more. */
int mp__os_conn_read(mp__conn *c, void *dst, size_t cap, int timeout_ms,
                     size_t *got);
/* All of hdr then data, in one system call when it fits. MP_EEOF: the
 * other end is closed everywhere. */
int mp__os_conn_write(mp__conn *c, const void *hdr, size_t hlen,
                      const void *data, size_t len);
/* A handle inherited by a spawned child: make it private again. */
void mp__os_conn_adopt(int64_t h);
/* Closes every handle of c->os (each distinct one once). */
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
