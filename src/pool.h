/* Internal interface of the process Pool (mp_pool_*, mp_async_*, mp_imap_*).
 *
 * Two halves, so that workers may later be something other than child
 * processes (MPI ranks, issue 10) without touching the first:
 *
 *   the core       task bookkeeping, jobs (mp_async, mp_imap), callbacks,
 *                  dispatch policy, close / terminate / join, at exit:
 *                    pool.c          create, close, terminate, join, free,
 *                                    the pools of this process, at exit
 *                    pool_events.c   the result thread: what each event
 *                                    from the workers does
 *                    pool_dispatch.c pending tasks -> workers, worker
 *                                    lifecycle (replacement, retiring)
 *                    pool_job.c      jobs: submission and completion
 *                    pool_result.c   mp_async_* and mp_imap_* (the caller's
 *                                    side of a job)
 *                    pool_worker.c   the loop a worker runs, mp_result_set
 *   a transport    starts workers, carries messages both ways, reports
 *                  worker deaths (mp__pool_tr below):
 *                    pool_proc.c     workers as daemon mp_process children,
 *                                    one mp_queue inbox each, one result
 *                                    queue, a supervisor thread
 *
 * Plus src/<os>/pool_thread.c: a thread and a condition variable.
 *
 * Every byte a worker sends is checked before it is used (the parent trusts
 * no other process), and a worker checks what it gets (the wire format
 * below) the same way. */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ---- Threads and condition variables: src/<os>/pool_thread.c ---- */
typedef struct mp__thread mp__thread;
/* Runs fn(arg) on a new thread. 0, MP_ENOMEM or MP_ESYS. */
int mp__thread_start(mp__thread **out, void (*fn)(void *), void *arg);
/* Waits for the thread to end and frees it. */
void mp__thread_join(mp__thread *t);

typedef struct mp__cond mp__cond;
int mp__cond_new(mp__cond **out);
void mp__cond_free(mp__cond *c);
/* Releases m, sleeps until a broadcast or timeout_ms (MP_INFINITE: no
 * limit), takes m again. Callers loop: wakes may be spurious. */
void mp__cond_wait(mp__cond *c, mp__mutex *m, int timeout_ms);
void mp__cond_broadcast(mp__cond *c);

/* ---- The wire format ----
 * To a worker: one message per step, a header and its bytes. */
enum {
  MP__PW_DEFINE = 1, /* fn: an id; bytes: the mp__module_ref of a task */
  MP__PW_TASK = 2,   /* count items of item_size bytes for function fn */
  MP__PW_EXIT = 3    /* no more tasks: leave with exit code 0 */
};

typedef struct mp__pw_hdr {
  uint32_t kind;
  uint32_t fn;
  uint64_t seq;        /* the task's number, unique in the pool, from 1 */
  uint64_t count;      /* items: 1 for apply, the chunk's length for maps */
  uint64_t item_size;  /* bytes per item (apply: the argument's size) */
  uint64_t result_cap; /* an item's result may not exceed it (map) */
  uint64_t ring;       /* the task's slot in the worker's ring (below) */
} mp__pw_hdr; /* 48 bytes: what follows is 16-aligned in a malloc block */

/* ---- The ring: where each task sent to a worker stands ----
 * Every worker has MP__POOL_RING words in memory both sides see. A task
 * occupies one from the moment it is sent until its result is back (or
 * it was taken back and the worker passed over it). A word is 0 when
 * free, else the task's seq and its state:
 *   QUEUED   the parent sent it; the worker has not started it
 *   STARTED  the worker took it (compare-and-swap from QUEUED) and runs it
 *   REVOKED  the parent took it back (compare-and-swap from QUEUED) to
 *            give it to an idle worker; this worker skips it and frees
 *            the word
 * So a task never waits in one worker's inbox behind a long task while
 * another worker idles, and after a death the parent knows exactly which
 * of the worker's tasks had started (they died with it) and which never
 * did (they run elsewhere, once). */
#define MP__POOL_RING 64u
enum { MP__RING_QUEUED = 1, MP__RING_STARTED = 2, MP__RING_REVOKED = 3 };
static inline uint64_t mp__ring_word(uint64_t seq, unsigned state) {
  return seq << 2 | state;
}

/* To the parent, on the result stream: a header and, for a RESULT, one
 * record per item. The supervisor and the core post events of their own
 * on the same stream, so that one FIFO orders everything: a worker's
 * results come before its death. */
enum {
  MP__PE_READY = 1,     /* slot/gen booted (initializer done) */
  MP__PE_INITFAIL = 2,  /* code: the initializer's return; it then exits */
  MP__PE_RESULT = 3,    /* seq done; count item records follow */
  MP__PE_DEATH = 4,     /* code: its exit code */
  MP__PE_STARTFAIL = 5, /* code: the MP_E* code the start gave */
  MP__PE_NUDGE = 6      /* from the core itself: look at the state again */
};

typedef struct mp__pe_hdr {
  uint32_t kind;
  uint32_t slot;
  uint32_t gen;
  int32_t code;
  uint64_t seq;
  uint64_t count;
} mp__pe_hdr; /* 32 bytes */

enum {
  MP__ITEM_OK = 0,      /* len result bytes follow */
  MP__ITEM_TASK = 1,    /* the task returned code (non-zero); no bytes */
  MP__ITEM_MSGSIZE = 2, /* result of len bytes was over result_cap; none */
  MP__ITEM_NOFN = 3     /* the worker could not find the function */
};

typedef struct mp__pe_item {
  uint32_t status;
  int32_t code;
  uint64_t len;
} mp__pe_item; /* 16 bytes; records are packed, read them with memcpy */

/* ---- The transport ----
 * The core calls these with the pool's mutex held (recv too: events are
 * taken only by the thread holding it, so they are applied in stream
 * order whoever takes them), except wait, kill_all and destroy. A transport never calls back into
 * the core: everything it has to say (READY, INITFAIL, RESULT, DEATH,
 * STARTFAIL) arrives through recv, in order. */
typedef struct mp__pool_tr mp__pool_tr;
typedef struct mp__pool_tr_ops {
  /* Starts incarnation gen of worker slot, asynchronously; messages sent
   * to the slot from now on reach that incarnation. A slot is started
   * again only after its DEATH or STARTFAIL came through recv. */
  int (*start)(mp__pool_tr *t, unsigned slot, uint32_t gen);
  /* One message to the slot's current incarnation, in order. */
  int (*send)(mp__pool_tr *t, unsigned slot, const void *msg, size_t len);
  /* The next event into *buf (malloc'd, grown as needed; the caller may
   * take it over, leaving NULL and 0). 0 and *len; MP_ETIMEDOUT. */
  int (*recv)(mp__pool_tr *t, void **buf, size_t *cap, size_t *len,
              int timeout_ms);
  /* Waits until an event is there to recv, without taking it: 0,
   * MP_ETIMEDOUT. Several threads may wait at once. */
  int (*wait)(mp__pool_tr *t, int timeout_ms);
  /* Puts an event on the stream recv reads (the core's NUDGE). */
  int (*post)(mp__pool_tr *t, const void *msg, size_t len);
  /* The slot's ring (MP__POOL_RING words), all 0 at each start. */
  _Atomic uint64_t *(*ring)(mp__pool_tr *t, unsigned slot);
  /* Kills a worker that broke the protocol; its DEATH follows. */
  void (*kill)(mp__pool_tr *t, unsigned slot);
  /* Kills every worker and returns once all are gone. */
  void (*kill_all)(mp__pool_tr *t);
  /* Stops the transport's threads, ends any worker left and frees all. */
  void (*destroy)(mp__pool_tr *t);
} mp__pool_tr_ops;

struct mp__pool_tr {
  const mp__pool_tr_ops *ops;
};

/* What a worker needs to boot, for any transport. */
typedef struct mp__pool_boot {
  unsigned nworkers;
  mp_start_method method;
  int has_init;
  mp__module_ref init;
  const void *initarg;
  size_t initarg_size;
  /* Held around every fork of a worker: the core's own mutex, which its
   * threads hold whenever they allocate. A forked child has only the
   * forking thread, and an allocator lock another thread held at that
   * instant stays locked in it for ever: glibc's malloc mends its own at
   * fork, but not every allocator does (ASan's, as in GCC 12, does not). */
  void (*fork_lock)(void *ctx);
  void (*fork_unlock)(void *ctx);
  void *fork_ctx;
} mp__pool_boot;

/* pool_proc.c: workers as daemon children of this process. */
int mp__pool_proc_create(mp__pool_tr **out, const mp__pool_boot *boot);

/* ---- The worker side: pool_worker.c ----
 * A transport's worker calls mp__pool_worker_run with its own I/O. */
typedef struct mp__pool_wio {
  void *ctx;
  /* The next message for this worker (blocking), into *buf as recv. */
  int (*get)(void *ctx, void **buf, size_t *cap, size_t *len);
  /* One event to the parent. */
  int (*put)(void *ctx, const void *msg, size_t len);
  /* This worker's ring, which the parent reads too. */
  _Atomic uint64_t *ring;
} mp__pool_wio;

/* Runs the initializer (if any), reports READY or INITFAIL, then serves
 * tasks until EXIT. Returns the worker's exit code. */
int mp__pool_worker_run(const mp__pool_wio *io, unsigned slot, uint32_t gen,
                        mp_target init, const void *initarg,
                        size_t initarg_size);

#endif
