/* The pool core's own structures, shared by pool.c, pool_events.c,
 * pool_dispatch.c, pool_job.c and pool_result.c (not by transports: they
 * see only pool.h).
 *
 * Locking: one mutex per pool, in its hub. The hub (mutex, condition
 * variable) is reference-counted by the pool and by every job not yet
 * freed, because jobs outlive their pool: mp_async_get works after
 * mp_pool_free. Everything below is guarded by the hub's mutex, except
 * where a field says otherwise. The mutex is never held while a callback
 * runs or while a thread sleeps, except inside mp__cond_wait. */
#ifndef MPROC_POOL_CORE_H
#define MPROC_POOL_CORE_H

#include "pool.h"

#define MP__POOL_MAGIC 0x6d70706cu  /* "mppl" */
#define MP__ASYNC_MAGIC 0x6d706173u /* "mpas" */
#define MP__IMAP_MAGIC 0x6d70696du  /* "mpim" */

/* Largest pool: more workers than any machine runs usefully, small enough
 * that every per-worker array stays modest. */
#define MP__POOL_MAX_WORKERS 4096u

typedef struct mp__hub {
  mp__mutex mu;
  mp__cond *cv;
  unsigned refs;    /* the pool's, plus one per job not yet freed */
  unsigned waiters; /* threads in mp__cond_wait: broadcast only then */
  uint64_t epoch;   /* mp__pool_epoch when made: see mp__pool_foreign */
} mp__hub;

/* ---- Jobs: what a caller waits on ---- */
enum { MP__JOB_APPLY = 1, MP__JOB_MAP = 2, MP__JOB_IMAP = 3 };

typedef struct mp__job {
  uint32_t magic;
  uint32_t kind;
  mp__hub *hub;
  struct mp_pool *pool;    /* its pool, until it is done */
  size_t tasks_live;       /* tasks not yet finished or failed */
  int user_ref;            /* 1 until the user's *_free; 0: the library frees */
  int done;                /* every task is over: the outcome is known */
  int ready;               /* ...and its callback has run: waiters may go */
  struct mp__job *cb_next; /* on the result thread's list of callbacks */
} mp__job;

struct mp_async {
  mp__job j;
  mp_async_options opts;
  int rc;   /* 0 or the failure (map: the first in input order) */
  int code; /* the task's code when rc is MP_ETASK */
  /* apply: the result, len bytes at data, inside the block we own */
  void *block;
  const unsigned char *data;
  size_t len;
  /* map */
  unsigned char *results;
  size_t result_size, count;
  size_t fail_index; /* the first failing item, or SIZE_MAX */
};

typedef struct mp__imap_item {
  void *data; /* the result, malloc'd; NULL when empty or failed */
  size_t len;
  int rc;
  int code;
  int state; /* 0: running, 1: ready to deliver, 2: delivered */
} mp__imap_item;

struct mp_imap {
  mp__job j;
  int unordered;
  size_t count;
  mp__imap_item *items;
  size_t next;        /* in order: the next index to deliver */
  size_t *order;      /* unordered: ready indices, oldest first */
  size_t order_head, order_tail;
  size_t delivered;
};

/* ---- Tasks: what a worker runs (one apply, or one chunk of a map) ---- */
typedef struct mp__task {
  struct mp__task *next;
  mp__job *job;
  size_t first; /* its first item in the job */
  size_t count; /* items */
  uint32_t ring; /* its word in its worker's ring, while sent */
  size_t msg_len;
  mp__pw_hdr *msg; /* the message to the worker, right after this struct */
} mp__task;

typedef struct mp__tlist {
  mp__task *head, *tail;
  size_t n;
} mp__tlist;

void mp__tlist_push(mp__tlist *l, mp__task *t);
mp__task *mp__tlist_pop(mp__tlist *l);
/* Puts all of src, in order, in front of dst; src is left empty. */
void mp__tlist_prepend(mp__tlist *dst, mp__tlist *src);

/* ---- Workers, as the core sees them ---- */
enum { MP__W_EMPTY = 0, MP__W_STARTING, MP__W_READY, MP__W_RETIRING };

typedef struct mp__worker {
  int state;
  uint32_t gen;      /* incarnation: every start makes a new one */
  int was_ready;     /* this incarnation reported READY */
  int boot_failed;   /* the last incarnation failed before READY */
  int failure_told;  /* this incarnation's boot failure was counted */
  mp__tlist out;     /* sent, no result yet, in the order sent */
  size_t out_bytes;
  unsigned assigned; /* tasks sent to this incarnation (maxtasksperchild) */
  unsigned ring_next;  /* where to look for a free ring word first */
  uint64_t full_round; /* dispatch round that found its ring full */
  uint64_t kept_round; /* dispatch round that could take nothing back */
  unsigned char *known; /* function ids this incarnation was told */
  size_t known_cap;
} mp__worker;

/* A task function, and where it lives for a spawned worker. */
typedef struct mp__fn {
  mp_task task;
  mp__module_ref ref;
} mp__fn;

enum { MP__P_RUN = 0, MP__P_CLOSE, MP__P_TERMINATE };

struct mp_pool {
  uint32_t magic;
  mp__hub *hub;
  int state;
  int creating;      /* mp_pool_create waits for the first workers */
  int create_rc;     /* the first failure of a first worker */
  int create_code;
  unsigned booted;   /* first workers that reported READY */
  int stopping;      /* the transport is going: no more nudges */
  int finished;      /* the result thread has done all its work */
  int joining;       /* a thread is joining the result thread */
  int joined;
  unsigned n;
  unsigned maxtasks;
  mp__worker *w;
  unsigned nready;   /* workers READY */
  unsigned nlive;    /* workers STARTING, READY or RETIRING */
  mp__tlist pending; /* tasks waiting for a worker */
  uint64_t next_seq;
  uint64_t round;    /* dispatch rounds, for the per-round worker marks */
  size_t live_jobs;  /* jobs not yet ready */
  mp__job *cb_head;   /* jobs over, whose callback the result thread */
  mp__job *cb_tail;   /* runs next, in order */
  mp__fn *fns;
  uint32_t nfns, capfns;
  mp__pool_tr *tr;
  mp__thread *thread; /* the result thread */
  /* Events are taken from the stream only with the mutex held, by the
   * result thread or by a thread waiting for one of its jobs (a helper,
   * pool_events.c), into this buffer. */
  void *recv_buf;
  size_t recv_cap;
  unsigned helpers;   /* threads taking events while they wait */
  uint64_t helped;    /* times they did, so far */
  uint64_t readied;   /* jobs made ready, so far */
  mp__cond *rt_cv;    /* the result thread sleeps here while helpers work */
  /* The pools of this process (pool.c), under MP__LOCK_POOLS. */
  struct mp_pool *prev, *next;
  int exiting;
};

/* ---- pool.c ---- */
/* Bumped in every forked child: a pool or job made before the fork
 * belongs to the parent and gives MP_EINVAL here. */
extern uint64_t mp__pool_epoch;
static inline int mp__pool_foreign(const mp__hub *h) {
  return h->epoch != mp__pool_epoch;
}
/* 0 and the pool locked, or MP_EINVAL (NULL, freed, another process). */
int mp__pool_enter(mp_pool *p);
static inline void mp__hub_lock(mp__hub *h) { mp__mutex_lock(&h->mu); }
static inline void mp__hub_unlock(mp__hub *h) { mp__mutex_unlock(&h->mu); }
/* Drops one reference, with the mutex held; frees the hub (unlocking it)
 * when that was the last, else unlocks. */
void mp__hub_release_unlock(mp__hub *h);
/* Waits (mutex held) until done(arg) or the timeout: 0, MP_ETIMEDOUT;
 * MP_ESTATE in the hub's own result thread, which would wait for itself. */
int mp__hub_wait(mp__hub *h, int (*done)(void *), void *arg, int timeout_ms);
/* The same for a thread waiting on job j, which helps while it waits. */
int mp__job_wait(mp__hub *h, mp__job *j, int (*done)(void *), void *arg,
                 int timeout_ms);
void mp__hub_broadcast(mp__hub *h);
/* Tells the result thread to look at the state again. */
void mp__pool_nudge(mp_pool *p);

/* The calling thread's last task code (mp_pool_last_task_code). */
extern _Thread_local int mp__pool_task_code;
/* In a result thread: its pool's hub, and the job whose callback runs. */
extern _Thread_local mp__hub *mp__pool_self_hub;
extern _Thread_local mp__job *mp__pool_cb_job;

/* ---- pool_events.c ---- */
void mp__pool_result_main(void *arg);
/* Mutex held: waits (unlocked) up to timeout_ms for events and applies
 * them, as the result thread would, for a thread waiting on a job of p
 * that is not done. 0 if it could help; MP_ESTATE when it may not (the
 * pool is stopping), the caller then sleeps on the hub. */
int mp__pool_help(mp_pool *p, int timeout_ms);

/* ---- pool_dispatch.c (mutex held) ---- */
/* The id of a task function, defined on first use. MP_EINVAL if it is not
 * in any loaded module's code (a spawned worker could not find it). */
int mp__pool_fn_id(mp_pool *p, mp_task task, uint32_t *id);
/* Sends pending tasks to READY workers, as deep as the policy allows. */
void mp__pool_dispatch(mp_pool *p);
/* Starts workers where the pool is short of them. */
void mp__pool_refill(mp_pool *p);
int mp__pool_start_slot(mp_pool *p, unsigned slot);
/* Closing and out of work: tells every live worker to leave. */
void mp__pool_retire_idle(mp_pool *p);
/* A worker's result for t came: its ring word is free again. */
void mp__pool_ring_release(mp_pool *p, unsigned slot, uint32_t ring);
/* The worker of slot is gone (its DEATH was read). */
void mp__pool_worker_gone(mp_pool *p, unsigned slot);
/* A worker failed before it was READY: the task it would have run fails
 * (or mp_pool_create does). */
void mp__pool_boot_failed(mp_pool *p, unsigned slot, int rc, int code);

/* ---- pool_job.c (mutex held) ---- */
void mp__job_task_failed(mp_pool *p, mp__task *t, int rc, int code);
/* Handles the item records of a RESULT for t: 0, or MP_EINVAL if they do
 * not parse (nothing is then applied). *buf may be taken over. */
int mp__job_task_result(mp_pool *p, mp__task *t, void **buf, size_t len,
                        size_t records_at);
void mp__task_free(mp__task *t);
/* The job is over: queue its callback, or make it ready now. */
void mp__job_finish(mp_pool *p, mp__job *j);
/* After its callback: waiters may go; freed if nobody holds it. */
void mp__job_ready(mp_pool *p, mp__job *j);
/* Frees a job's memory and drops its hub reference (mutex held; the pool
 * holds a reference too, so the hub survives). */
void mp__job_free_locked(mp__job *j);
/* Frees a job's memory only (its hub reference is the caller's). */
void mp__job_destroy(mp__job *j);
/* apply_async and map_async, for the blocking calls too: user_ref -1
 * marks a blocking call (refused in a callback, where it would wait for
 * the result thread running it). */
int mp__pool_apply_job(mp_pool *p, mp_task task, const void *arg,
                       size_t arg_size, const mp_async_options *opts,
                       int user_ref, mp_async **out);
int mp__pool_map_job(mp_pool *p, mp_task task, const void *items,
                     size_t item_size, size_t count, void *results,
                     size_t result_size, size_t chunksize,
                     const mp_async_options *opts, int user_ref,
                     mp_async **out);

#endif
