/* The pool's process transport: every worker is a daemon mp_process
 * running pp_worker_main, with an inbox of its own (an mp_queue in the
 * arena: shared memory, no system call per message while both sides are
 * busy) and one result queue shared by all workers, which is also the
 * core's event stream.
 *
 * The supervisor thread starts, watches and reaps every worker, and is
 * the only thread that touches their mp_process objects:
 *   - it starts them, because on Linux a daemon's parent-death signal is
 *     bound to the thread that started it, and this thread lives as long
 *     as the pool;
 *   - it sleeps in mp_wait on every worker plus the read end of a pipe the
 *     core writes to when it wants something (a start, a kill, the end);
 *   - when a worker dies it puts DEATH on the result queue, after
 *     everything the worker itself put there.
 *
 * The rings (pool.h) of all workers are one mp_shm block.
 *
 * Everything here is built on the public API, except the function lookup
 * a spawned worker needs for the initializer (mp__module_*). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define ARG_MAGIC 0x6d70706f6f6c7731ull /* "mppoolw1" */
#define RING_BYTES (MP__POOL_RING * sizeof(uint64_t))
#define RECV_MIN ((size_t)64 << 10)

typedef struct pp_slot {
  mp_queue inbox; /* the current incarnation's; all zero when none */
  uint32_t gen;
  int start_req;  /* the core asked for a start (guarded by mu) */
  int kill_req;
  mp_process *proc; /* the supervisor's alone */
} pp_slot;

typedef struct todo {
  unsigned char *start, *kill;
  int kill_all, stop;
} todo;

typedef struct pp {
  mp__pool_tr base;
  unsigned n;
  mp_start_method method;
  void (*fork_lock)(void *ctx);
  void (*fork_unlock)(void *ctx);
  void *fork_ctx;
  int has_init;
  mp__module_ref init;
  void *initarg;
  size_t initarg_size;
  mp_queue results;
  mp_shm rings; /* n rings of RING_BYTES */
  unsigned char *rings_at;
  mp_conn wake_rd, wake_wr;
  /* Guarded by mu: requests to the supervisor, and the wake pipe. */
  mp__mutex mu;
  mp__cond *cv;
  pp_slot *s;
  int wake_sent;
  int kill_all_req, kill_all_done, stop_req;
  mp__thread *sup;
  /* The supervisor's own: made before it starts, so it never fails. */
  unsigned named; /* workers named so far */
  mp_wait_item *items;
  unsigned *who;
  todo d;
} pp;

/* What a worker gets as its argument block; initarg bytes follow. */
typedef struct pp_arg {
  uint64_t magic;
  uint32_t slot, gen, nslots, has_init;
  mp_queue inbox, results;
  mp_shm rings;
  mp__module_ref init;
  uint64_t initarg_size;
} pp_arg;

static _Atomic uint64_t *ring_of(unsigned char *base, unsigned slot) {
  return (_Atomic uint64_t *)(void *)(base + (size_t)slot * RING_BYTES);
}

/* ---- The worker's side ---- */

typedef struct pp_wctx {
  mp_queue inbox, results;
} pp_wctx;

static int queue_get(mp_queue *q, void **buf, size_t *cap, size_t *len,
                     int timeout_ms) {
  for (;;) {
    int rc = mp_queue_get(q, *buf, *cap, len, timeout_ms);
    if (rc != MP_EMSGSIZE)
      return rc == MP_EEMPTY ? MP_ETIMEDOUT : rc;
    size_t want = *len > RECV_MIN ? *len : RECV_MIN;
    void *grown = realloc(*buf, want);
    if (!grown)
      return MP_ENOMEM;
    *buf = grown;
    *cap = want;
  }
}

static int w_get(void *ctx, void **buf, size_t *cap, size_t *len) {
  return queue_get(&((pp_wctx *)ctx)->inbox, buf, cap, len, MP_INFINITE);
}

static int w_put(void *ctx, const void *msg, size_t len) {
  return mp_queue_put(&((pp_wctx *)ctx)->results, msg, len, MP_INFINITE);
}

/* Exit code of a worker whose argument block makes no sense. */
#define EXIT_BAD_ARG 2

static int pp_worker_main(void *arg) {
  pp_arg a;
  if (!arg)
    return EXIT_BAD_ARG;
  memcpy(&a, arg, sizeof a);
  if (a.magic != ARG_MAGIC || a.slot >= a.nslots)
    return EXIT_BAD_ARG;
  unsigned char *base = mp_shm_ptr(a.rings);
  if (!base || mp_shm_size(a.rings) < (size_t)a.nslots * RING_BYTES)
    return EXIT_BAD_ARG;
  mp_target init = NULL;
  if (a.has_init) {
    a.init.path[sizeof a.init.path - 1] = '\0';
    const char *why;
    init = (mp_target)(uintptr_t)mp__module_resolve(&a.init, &why);
    if (!init)
      return EXIT_BAD_ARG;
  }
  pp_wctx ctx = {a.inbox, a.results};
  mp__pool_wio io = {&ctx, w_get, w_put, ring_of(base, a.slot)};
  return mp__pool_worker_run(&io, a.slot, a.gen, init,
                             (const unsigned char *)arg + sizeof a,
                             (size_t)a.initarg_size);
}

/* ---- The supervisor ---- */

static void wake(pp *t) {
  if (!t->wake_sent) {
    t->wake_sent = 1;
    mp_conn_send(&t->wake_wr, "w", 1);
  }
}

static void post(pp *t, uint32_t kind, unsigned slot, uint32_t gen,
                 int32_t code, uint64_t seq) {
  mp__pe_hdr e;
  memset(&e, 0, sizeof e);
  e.kind = kind;
  e.slot = slot;
  e.gen = gen;
  e.code = code;
  e.seq = seq;
  /* Unbounded: never waits. Failing means the arena is gone, and then
   * the result thread fails on its next read too. */
  mp_queue_put(&t->results, &e, sizeof e, MP_INFINITE);
}

static int start_worker(pp *t, unsigned slot, uint32_t gen, mp_queue inbox) {
  size_t size = sizeof(pp_arg) + t->initarg_size;
  pp_arg *a = calloc(1, size);
  if (!a)
    return MP_ENOMEM;
  a->magic = ARG_MAGIC;
  a->slot = slot;
  a->gen = gen;
  a->nslots = t->n;
  a->has_init = (uint32_t)t->has_init;
  a->inbox = inbox;
  a->results = t->results;
  a->rings = t->rings;
  a->init = t->init;
  a->initarg_size = t->initarg_size;
  if (t->initarg_size)
    memcpy(a + 1, t->initarg, t->initarg_size);
  /* Python's names: ForkPoolWorker-N, SpawnPoolWorker-N. */
  char name[48];
  snprintf(name, sizeof name, "%sPoolWorker-%u",
           t->method == MP_START_FORK ? "Fork" : "Spawn", ++t->named);
  mp_process_options o = {name, 1, t->method};
  mp_process *p = NULL;
  int rc = mp_process_create(&p, pp_worker_main, a, size, &o);
  free(a);
  if (rc < 0)
    return rc;
  int forks = t->method == MP_START_FORK;
  if (forks)
    t->fork_lock(t->fork_ctx);
  rc = mp_process_start(p);
  if (forks)
    t->fork_unlock(t->fork_ctx);
  if (rc < 0)
    mp_process_free(p);
  if (rc == 0)
    t->s[slot].proc = p;
  return rc;
}

/* A worker is gone: reap it and say so. */
static void reap(pp *t, unsigned slot, int announce) {
  pp_slot *s = &t->s[slot];
  int code = -1;
  mp_process_join(s->proc, MP_INFINITE);
  mp_process_exitcode(s->proc, &code);
  mp_process_free(s->proc);
  s->proc = NULL;
  if (announce)
    post(t, MP__PE_DEATH, slot, s->gen, code, 0);
}

static void kill_and_reap_all(pp *t) {
  for (unsigned i = 0; i < t->n; i++)
    if (t->s[i].proc)
      mp_process_kill(t->s[i].proc);
  for (unsigned i = 0; i < t->n; i++)
    if (t->s[i].proc)
      reap(t, i, 0);
}

/* Drains the wake pipe, then takes the requests: a request made after
 * this finds wake_sent clear and writes the pipe again, so none is
 * missed by the next sleep. */
static void take_requests(pp *t, todo *d) {
  char junk[64];
  size_t len;
  while (mp_conn_poll(&t->wake_rd, 0) == 1 &&
         mp_conn_recv(&t->wake_rd, junk, sizeof junk, &len, 0) == 0) {
  }
  mp__mutex_lock(&t->mu);
  t->wake_sent = 0;
  for (unsigned i = 0; i < t->n; i++) {
    d->start[i] = (unsigned char)t->s[i].start_req;
    d->kill[i] = (unsigned char)t->s[i].kill_req;
    t->s[i].start_req = t->s[i].kill_req = 0;
  }
  d->kill_all = t->kill_all_req;
  d->stop = t->stop_req;
  t->kill_all_req = 0;
  mp__mutex_unlock(&t->mu);
}

static void supervise(void *arg) {
  pp *t = arg;
  mp_wait_item *items = t->items;
  unsigned *who = t->who;
  todo d = t->d;
  for (;;) {
    take_requests(t, &d);
    for (unsigned i = 0; i < t->n; i++)
      if (d.kill[i] && t->s[i].proc)
        mp_process_kill(t->s[i].proc);
    if (d.kill_all || d.stop) {
      kill_and_reap_all(t);
      mp__mutex_lock(&t->mu);
      t->kill_all_done = 1;
      mp__cond_broadcast(t->cv);
      mp__mutex_unlock(&t->mu);
      if (d.stop)
        break;
    }
    for (unsigned i = 0; i < t->n; i++) {
      if (!d.start[i])
        continue;
      mp__mutex_lock(&t->mu);
      uint32_t gen = t->s[i].gen;
      mp_queue inbox = t->s[i].inbox;
      mp__mutex_unlock(&t->mu);
      int rc = start_worker(t, i, gen, inbox);
      if (rc < 0)
        post(t, MP__PE_STARTFAIL, i, gen, rc, 0);
    }
    size_t n = 0;
    items[n].kind = MP_WAIT_CONN;
    items[n++].obj.conn = &t->wake_rd;
    for (unsigned i = 0; i < t->n; i++)
      if (t->s[i].proc) {
        items[n].kind = MP_WAIT_PROCESS;
        items[n].obj.process = t->s[i].proc;
        who[n++] = i;
      }
    int rc = mp_wait(items, n, MP_INFINITE);
    if (rc < 0) {
      /* Out of memory or handles for a moment: look again shortly. */
      mp__sleep_ms(10);
      continue;
    }
    for (size_t k = 1; k < n; k++)
      if (items[k].ready)
        reap(t, who[k], 1);
  }
}

/* ---- The core's side ---- */

/* Empties an inbox whose reader is gone. 0, or a code if it cannot be
 * read (then it is made anew). */
static int drain(mp_queue *q) {
  char small[256];
  void *buf = small;
  size_t cap = sizeof small, len;
  int rc;
  while ((rc = mp_queue_get(q, buf, cap, &len, 0)) == 0 || rc == MP_EMSGSIZE) {
    if (rc == MP_EMSGSIZE) {
      void *grown = realloc(buf == small ? NULL : buf, len);
      if (!grown)
        break;
      buf = grown;
      cap = len;
    }
  }
  if (buf != small)
    free(buf);
  return rc == MP_EEMPTY ? 0 : rc;
}

static int tr_start(mp__pool_tr *base, unsigned slot, uint32_t gen) {
  pp *t = (pp *)base;
  pp_slot *s = &t->s[slot];
  /* The previous incarnation is dead and reaped: what it never took from
   * its inbox goes (the core sends those tasks elsewhere), and the inbox
   * serves the next one. Cheaper than a new queue, whose first chunk the
   * allocator would zero page by page. */
  int rc = 0;
  if (s->inbox._id && drain(&s->inbox) < 0) {
    mp_queue_free(&s->inbox);
    memset(&s->inbox, 0, sizeof s->inbox);
  }
  if (!s->inbox._id)
    rc = mp_queue_create(&s->inbox, 0);
  mp__mutex_lock(&t->mu);
  if (rc == 0) {
    _Atomic uint64_t *ring = ring_of(t->rings_at, slot);
    for (unsigned i = 0; i < MP__POOL_RING; i++)
      atomic_store(&ring[i], 0);
    s->gen = gen;
    s->start_req = 1;
    wake(t);
  }
  mp__mutex_unlock(&t->mu);
  return rc;
}

static int tr_send(mp__pool_tr *base, unsigned slot, const void *msg,
                   size_t len) {
  pp *t = (pp *)base;
  return mp_queue_put(&t->s[slot].inbox, msg, len, MP_INFINITE);
}

static int tr_recv(mp__pool_tr *base, void **buf, size_t *cap, size_t *len,
                   int timeout_ms) {
  return queue_get(&((pp *)base)->results, buf, cap, len, timeout_ms);
}

/* A get with no room takes nothing: MP_EMSGSIZE says an event is there
 * (every event has a header, so none is empty). */
static int tr_wait(mp__pool_tr *base, int timeout_ms) {
  size_t len;
  int rc = mp_queue_get(&((pp *)base)->results, NULL, 0, &len, timeout_ms);
  return rc == MP_EMSGSIZE || rc == 0 ? 0 : rc == MP_EEMPTY ? MP_ETIMEDOUT : rc;
}

static int tr_post(mp__pool_tr *base, const void *msg, size_t len) {
  return mp_queue_put(&((pp *)base)->results, msg, len, MP_INFINITE);
}

static _Atomic uint64_t *tr_ring(mp__pool_tr *base, unsigned slot) {
  return ring_of(((pp *)base)->rings_at, slot);
}

static void tr_kill(mp__pool_tr *base, unsigned slot) {
  pp *t = (pp *)base;
  mp__mutex_lock(&t->mu);
  t->s[slot].kill_req = 1;
  wake(t);
  mp__mutex_unlock(&t->mu);
}

static void tr_kill_all(mp__pool_tr *base) {
  pp *t = (pp *)base;
  mp__mutex_lock(&t->mu);
  t->kill_all_req = 1;
  t->kill_all_done = 0;
  wake(t);
  while (!t->kill_all_done)
    mp__cond_wait(t->cv, &t->mu, MP_INFINITE);
  mp__mutex_unlock(&t->mu);
}

static void release(pp *t) {
  if (t->s)
    for (unsigned i = 0; i < t->n; i++)
      if (t->s[i].inbox._id)
        mp_queue_free(&t->s[i].inbox);
  if (t->results._id)
    mp_queue_free(&t->results);
  if (t->rings._id)
    mp_shm_free(&t->rings);
  mp_conn_close(&t->wake_rd);
  mp_conn_close(&t->wake_wr);
  if (t->cv)
    mp__cond_free(t->cv);
  free(t->s);
  free(t->initarg);
  free(t->items);
  free(t->who);
  free(t->d.start);
  free(t->d.kill);
  free(t);
}

static void tr_destroy(mp__pool_tr *base) {
  pp *t = (pp *)base;
  mp__mutex_lock(&t->mu);
  t->stop_req = 1;
  wake(t);
  mp__mutex_unlock(&t->mu);
  mp__thread_join(t->sup);
  release(t);
}

static const mp__pool_tr_ops pp_ops = {
    tr_start, tr_send, tr_recv, tr_wait, tr_post,
    tr_ring,  tr_kill, tr_kill_all, tr_destroy};

int mp__pool_proc_create(mp__pool_tr **out, const mp__pool_boot *boot) {
  pp *t = calloc(1, sizeof *t);
  if (!t)
    return MP_ENOMEM;
  mp__mutex fresh = MP__MUTEX_INIT;
  t->base.ops = &pp_ops;
  t->mu = fresh;
  t->n = boot->nworkers;
  t->method = boot->method;
  t->fork_lock = boot->fork_lock;
  t->fork_unlock = boot->fork_unlock;
  t->fork_ctx = boot->fork_ctx;
  t->has_init = boot->has_init;
  t->init = boot->init;
  t->initarg_size = boot->initarg_size;
  t->s = calloc(t->n, sizeof *t->s);
  t->items = calloc((size_t)t->n + 1, sizeof *t->items);
  t->who = calloc((size_t)t->n + 1, sizeof *t->who);
  t->d.start = calloc(t->n, 1);
  t->d.kill = calloc(t->n, 1);
  int rc = t->s && t->items && t->who && t->d.start && t->d.kill ? 0 : MP_ENOMEM;
  if (rc == 0 && t->initarg_size &&
      !(t->initarg = malloc(t->initarg_size)))
    rc = MP_ENOMEM;
  if (rc == 0 && t->initarg_size)
    memcpy(t->initarg, boot->initarg, t->initarg_size);
  /* The objects exist before the first worker: so does the arena, and
   * every object the program makes later reaches the workers too. */
  if (rc == 0)
    rc = mp_queue_create(&t->results, 0);
  if (rc == 0)
    rc = mp_shm_create(&t->rings, (size_t)t->n * RING_BYTES);
  if (rc == 0 && !(t->rings_at = mp_shm_ptr(t->rings)))
    rc = MP_ENOMEM;
  if (rc == 0)
    rc = mp_pipe_create(&t->wake_rd, &t->wake_wr, 0);
  if (rc == 0)
    rc = mp__cond_new(&t->cv);
  if (rc == 0)
    rc = mp__thread_start(&t->sup, supervise, t);
  if (rc < 0) {
    release(t);
    return rc;
  }
  *out = &t->base;
  return 0;
}
