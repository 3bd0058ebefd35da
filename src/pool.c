/* The Pool object: options, creation (which waits for the first workers),
 * close, terminate, join, free; the pools of this process, which exit and
 * fork must know about.
 *
 * Threads: the result thread (pool_events.c) owns the pool's progress; a
 * caller only changes the state and nudges it, then waits for `finished`.
 * A call made from the result thread itself (from a callback) must never
 * wait for it: terminate then returns at once, join and free refuse. */
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "pool_core.h"

uint64_t mp__pool_epoch;
_Thread_local int mp__pool_task_code;
_Thread_local mp__hub *mp__pool_self_hub;
_Thread_local mp__job *mp__pool_cb_job;

static mp_pool *pools; /* under MP__LOCK_POOLS */

/* Only the forking thread exists in the child, and the pools' threads and
 * workers belong to the parent: the child forgets them all. Their memory
 * stays (the program may still hold the pointers), and every call on them
 * sees the epoch moved on. */
void mp__pool_after_fork_child(void) {
  pools = NULL;
  mp__pool_epoch++;
}

static void list_add(mp_pool *p) {
  mp__local_lock(MP__LOCK_POOLS);
  p->prev = NULL;
  p->next = pools;
  if (pools)
    pools->prev = p;
  pools = p;
  mp__local_unlock(MP__LOCK_POOLS);
}

static void list_remove(mp_pool *p) {
  mp__local_lock(MP__LOCK_POOLS);
  if (p->prev)
    p->prev->next = p->next;
  else if (pools == p)
    pools = p->next;
  if (p->next)
    p->next->prev = p->prev;
  p->prev = p->next = NULL;
  mp__local_unlock(MP__LOCK_POOLS);
}

/* ---- The hub ---- */

static mp__hub *hub_new(void) {
  mp__hub *h = calloc(1, sizeof *h);
  if (!h)
    return NULL;
  mp__mutex fresh = MP__MUTEX_INIT;
  h->mu = fresh;
  if (mp__cond_new(&h->cv) < 0) {
    free(h);
    return NULL;
  }
  h->refs = 1;
  h->epoch = mp__pool_epoch;
  return h;
}

void mp__hub_release_unlock(mp__hub *h) {
  int last = --h->refs == 0;
  mp__hub_unlock(h);
  if (last) {
    mp__cond_free(h->cv);
    free(h);
  }
}

void mp__hub_broadcast(mp__hub *h) {
  if (h->waiters)
    mp__cond_broadcast(h->cv);
}

int mp__hub_wait(mp__hub *h, int (*done)(void *), void *arg, int timeout_ms) {
  return mp__job_wait(h, NULL, done, arg, timeout_ms);
}

int mp__job_wait(mp__hub *h, mp__job *j, int (*done)(void *), void *arg,
                 int timeout_ms) {
  mp__deadline dl = mp__deadline_in(timeout_ms);
  while (!done(arg)) {
    int left = mp__deadline_left(&dl);
    if (left == 0)
      return MP_ETIMEDOUT;
    /* Only this thread could make it happen. */
    if (mp__pool_self_hub == h)
      return MP_ESTATE;
    /* A job still running: take its result off the stream ourselves
     * rather than sleep until the result thread wakes us. Once it is done
     * only its callback is left, which the result thread runs. */
    if (j && !j->done && j->pool && mp__pool_help(j->pool, left) == 0)
      continue;
    h->waiters++;
    mp__cond_wait(h->cv, &h->mu, left);
    h->waiters--;
  }
  return 0;
}

int mp__pool_enter(mp_pool *p) {
  if (!p || p->magic != MP__POOL_MAGIC || mp__pool_foreign(p->hub))
    return MP_EINVAL;
  mp__hub_lock(p->hub);
  return 0;
}

void mp__pool_nudge(mp_pool *p) {
  if (p->stopping)
    return;
  mp__pe_hdr e;
  memset(&e, 0, sizeof e);
  e.kind = MP__PE_NUDGE;
  p->tr->ops->post(p->tr, &e, sizeof e);
}

int mp_pool_last_task_code(void) { return mp__pool_task_code; }

/* ---- Creating ---- */

static int check_options(const mp_pool_options *o) {
  if (o->initarg_size > 0 && !o->initarg)
    return MP_EINVAL;
  if (o->initarg_size > (size_t)PTRDIFF_MAX ||
      o->processes > MP__POOL_MAX_WORKERS)
    return MP_EINVAL;
  return mp__check_method(o->method);
}

static void fork_lock(void *hub) { mp__hub_lock(hub); }
static void fork_unlock(void *hub) { mp__hub_unlock(hub); }

static void pool_free_memory(mp_pool *p) {
  free(p->recv_buf);
  if (p->rt_cv)
    mp__cond_free(p->rt_cv);
  if (p->w)
    for (unsigned i = 0; i < p->n; i++)
      free(p->w[i].known);
  free(p->w);
  free(p->fns);
  p->magic = 0;
  free(p);
}

static int first_workers_done(void *arg) {
  mp_pool *p = arg;
  return p->create_rc != 0 || p->booted == p->n;
}

static int finished(void *arg) { return ((mp_pool *)arg)->finished; }
static int joined(void *arg) { return ((mp_pool *)arg)->joined; }

/* Waits for the result thread to end its work and joins it, once; mutex
 * held on entry and on return. */
static int wait_finished(mp_pool *p, int timeout_ms) {
  int rc = mp__hub_wait(p->hub, finished, p, timeout_ms);
  if (rc < 0)
    return rc;
  if (p->joining) /* another thread joins it: wait for that */
    return mp__hub_wait(p->hub, joined, p, MP_INFINITE);
  p->joining = 1;
  mp__hub_unlock(p->hub);
  mp__thread_join(p->thread);
  mp__hub_lock(p->hub);
  p->thread = NULL;
  p->joined = 1;
  mp__hub_broadcast(p->hub);
  return 0;
}

static int start_first_workers(mp_pool *p) {
  mp__hub_lock(p->hub);
  p->creating = 1;
  for (unsigned i = 0; i < p->n && p->create_rc == 0; i++) {
    int rc = mp__pool_start_slot(p, i);
    if (rc < 0)
      p->create_rc = rc;
  }
  mp__hub_wait(p->hub, first_workers_done, p, MP_INFINITE);
  p->creating = 0;
  int rc = p->create_rc;
  if (rc < 0) {
    p->state = MP__P_TERMINATE;
    mp__pool_nudge(p);
    wait_finished(p, MP_INFINITE);
  }
  mp__hub_unlock(p->hub);
  return rc;
}

int mp_pool_create(mp_pool **out, const mp_pool_options *opts) {
  if (!out)
    return MP_EINVAL;
  *out = NULL;
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  if (opts)
    o = *opts;
  int rc = check_options(&o);
  if (rc < 0)
    return rc;
  /* A daemon cannot start processes (Python: "daemonic processes are not
   * allowed to have children"), and pool workers are daemons. */
  if (mp_current_daemon())
    return MP_ESTATE;

  mp__pool_boot boot;
  memset(&boot, 0, sizeof boot);
  boot.nworkers = o.processes ? o.processes : (unsigned)mp_cpu_count();
  if (boot.nworkers > MP__POOL_MAX_WORKERS)
    boot.nworkers = MP__POOL_MAX_WORKERS;
  boot.method = mp__effective_method(o.method);
  boot.initarg = o.initarg;
  boot.initarg_size = o.initarg_size;
  boot.fork_lock = fork_lock;
  boot.fork_unlock = fork_unlock;
  if (o.initializer) {
    boot.has_init = 1;
    if (mp__module_locate((const void *)(uintptr_t)o.initializer,
                          &boot.init) < 0)
      return MP_EINVAL;
  }

  mp_pool *p = calloc(1, sizeof *p);
  if (!p)
    return MP_ENOMEM;
  p->magic = MP__POOL_MAGIC;
  p->n = boot.nworkers;
  p->maxtasks = o.maxtasksperchild;
  p->next_seq = 1;
  p->w = calloc(p->n, sizeof *p->w);
  p->hub = hub_new();
  /* The result thread's first buffer, made here rather than by it while
   * the first workers are being forked (see mp__pool_boot). */
  p->recv_cap = (size_t)64 << 10;
  p->recv_buf = malloc(p->recv_cap);
  boot.fork_ctx = p->hub;
  if (!p->w || !p->hub || !p->recv_buf || mp__cond_new(&p->rt_cv) < 0) {
    if (p->hub) {
      mp__hub_lock(p->hub);
      mp__hub_release_unlock(p->hub);
    }
    pool_free_memory(p);
    return MP_ENOMEM;
  }
  rc = mp__pool_proc_create(&p->tr, &boot);
  if (rc == 0 && (rc = mp__thread_start(&p->thread, mp__pool_result_main, p)) < 0)
    p->tr->ops->destroy(p->tr);
  if (rc < 0) {
    mp__hub_lock(p->hub);
    mp__hub_release_unlock(p->hub);
    pool_free_memory(p);
    return rc;
  }
  rc = start_first_workers(p);
  if (rc < 0) {
    if (rc == MP_ETASK)
      mp__pool_task_code = p->create_code;
    mp__hub_lock(p->hub);
    mp__hub_release_unlock(p->hub);
    pool_free_memory(p);
    return rc;
  }
  list_add(p);
  *out = p;
  return 0;
}

/* ---- Closing, terminating, joining ---- */

int mp_pool_close(mp_pool *p) {
  int rc = mp__pool_enter(p);
  if (rc < 0)
    return rc;
  if (p->state == MP__P_RUN) {
    p->state = MP__P_CLOSE;
    mp__pool_nudge(p);
  }
  mp__hub_unlock(p->hub);
  return 0;
}

/* Mutex held. In the result thread the stop happens once the running
 * callback returns. */
static int terminate_locked(mp_pool *p) {
  if (p->state != MP__P_TERMINATE && !p->finished) {
    p->state = MP__P_TERMINATE;
    mp__pool_nudge(p);
  }
  if (mp__pool_self_hub == p->hub)
    return 0;
  return wait_finished(p, MP_INFINITE);
}

int mp_pool_terminate(mp_pool *p) {
  int rc = mp__pool_enter(p);
  if (rc < 0)
    return rc;
  rc = terminate_locked(p);
  mp__hub_unlock(p->hub);
  return rc;
}

int mp_pool_join(mp_pool *p, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  int rc = mp__pool_enter(p);
  if (rc < 0)
    return rc;
  if (p->state == MP__P_RUN)
    rc = MP_ESTATE;
  else if (mp__pool_self_hub == p->hub)
    rc = p->joined ? 0 : MP_ESTATE;
  else
    rc = wait_finished(p, timeout_ms);
  mp__hub_unlock(p->hub);
  return rc;
}

int mp_pool_free(mp_pool *p) {
  int rc = mp__pool_enter(p);
  if (rc < 0)
    return rc;
  if (mp__pool_self_hub == p->hub) {
    mp__hub_unlock(p->hub);
    return MP_ESTATE;
  }
  /* As Python's __del__: a pool never joined is terminated. */
  if (!p->joined)
    terminate_locked(p);
  p->magic = 0;
  mp__hub_release_unlock(p->hub);
  list_remove(p);
  pool_free_memory(p);
  return 0;
}

/* ---- At exit ---- */

/* The first pool of this process not yet taken by the exit, or NULL. */
static mp_pool *next_at_exit(void) {
  mp__local_lock(MP__LOCK_POOLS);
  mp_pool *p = pools;
  while (p && p->exiting)
    p = p->next;
  if (p)
    p->exiting = 1;
  mp__local_unlock(MP__LOCK_POOLS);
  return p;
}

/* Python terminates every pool still open at exit. The library then
 * waits for its children, so no pool thread may still start or reap
 * workers: from a callback (exit() in the result thread) the workers are
 * killed here, since the result thread will never get back to it; the
 * supervisor, with no worker left and no start asked of it, then only
 * sleeps (the transport stays: a helper may still be waiting on it). */
void mp__pool_at_exit(void) {
  mp_pool *p;
  while ((p = next_at_exit()) != NULL) {
    mp__hub_lock(p->hub);
    if (mp__pool_self_hub == p->hub) {
      p->state = MP__P_TERMINATE;
      mp__hub_unlock(p->hub);
      p->tr->ops->kill_all(p->tr);
      continue;
    }
    terminate_locked(p);
    mp__hub_unlock(p->hub);
  }
}
