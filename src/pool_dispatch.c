/* Which worker runs what, and when workers come and go. All with the
 * pool's mutex held.
 *
 * Dispatch. Tasks wait in the parent (p->pending), not in the workers, so
 * that the parent always knows which worker holds which task: a worker's
 * inbox holds only what p->w[i].out lists (plus tasks taken back, which it
 * skips). A worker gets at most `depth` tasks at a time: deep while many
 * tasks wait (a busy worker never waits for the parent between two small
 * tasks), down to one as the pending list empties. The result thread
 * refills as results come back. When nothing is pending and a worker is
 * idle while another holds tasks it has not started (queued behind a long
 * one), the parent takes the last of those back (the ring, pool.h) and
 * gives it to the idle worker: as in Python's shared task queue, no task
 * waits while a worker is free.
 *
 * Lifecycle of a slot: EMPTY -> STARTING -> READY -> (RETIRING) -> EMPTY.
 * A worker that ended after it was READY (maxtasksperchild, a crash, a
 * kill) is replaced at once while the pool has work to do. One that failed
 * to boot (initializer failure, died early, could not be started) fails
 * the task it would have run and is started again only when no other
 * worker is left to run pending tasks: each attempt then costs one task,
 * so an initializer that always fails empties the queue instead of
 * looping. */
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

/* Most tasks a worker holds at once, and most bytes of them beyond the
 * first: enough to hide the round trip to the parent, small enough that
 * the last tasks are shared out fairly. */
#define DEPTH_MAX 64
#define DEPTH_BYTES ((size_t)4 << 20)

/* ---- Task lists ---- */

void mp__tlist_push(mp__tlist *l, mp__task *t) {
  t->next = NULL;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  l->n++;
}

mp__task *mp__tlist_pop(mp__tlist *l) {
  mp__task *t = l->head;
  if (!t)
    return NULL;
  l->head = t->next;
  if (!l->head)
    l->tail = NULL;
  l->n--;
  t->next = NULL;
  return t;
}

void mp__tlist_prepend(mp__tlist *dst, mp__tlist *src) {
  if (!src->head)
    return;
  src->tail->next = dst->head;
  if (!dst->tail)
    dst->tail = src->tail;
  dst->head = src->head;
  dst->n += src->n;
  memset(src, 0, sizeof *src);
}

/* ---- Task functions ---- */

int mp__pool_fn_id(mp_pool *p, mp_task task, uint32_t *id) {
  for (uint32_t i = p->nfns; i-- > 0;)
    if (p->fns[i].task == task) {
      *id = i;
      return 0;
    }
  if (p->nfns == p->capfns) {
    uint32_t cap = p->capfns ? p->capfns * 2 : 4;
    mp__fn *grown = realloc(p->fns, cap * sizeof *grown);
    if (!grown)
      return MP_ENOMEM;
    p->fns = grown;
    p->capfns = cap;
  }
  mp__fn *f = &p->fns[p->nfns];
  f->task = task;
  int rc = mp__module_locate((const void *)(uintptr_t)task, &f->ref);
  if (rc < 0)
    return rc;
  *id = p->nfns++;
  return 0;
}

/* Makes sure the worker knows function fn before its first task with it. */
static int define(mp_pool *p, unsigned slot, uint32_t fn) {
  mp__worker *w = &p->w[slot];
  if (fn < w->known_cap && w->known[fn])
    return 0;
  if (fn >= w->known_cap) {
    size_t cap = (size_t)fn + 8;
    unsigned char *grown = realloc(w->known, cap);
    if (!grown)
      return MP_ENOMEM;
    memset(grown + w->known_cap, 0, cap - w->known_cap);
    w->known = grown;
    w->known_cap = cap;
  }
  struct {
    mp__pw_hdr h;
    mp__module_ref ref;
  } m;
  memset(&m, 0, sizeof m);
  m.h.kind = MP__PW_DEFINE;
  m.h.fn = fn;
  m.ref = p->fns[fn].ref;
  int rc = p->tr->ops->send(p->tr, slot, &m, sizeof m);
  if (rc == 0)
    w->known[fn] = 1;
  return rc;
}

static void send_exit(mp_pool *p, unsigned slot) {
  mp__worker *w = &p->w[slot];
  mp__pw_hdr h;
  memset(&h, 0, sizeof h);
  h.kind = MP__PW_EXIT;
  if (w->state == MP__W_READY)
    p->nready--;
  w->state = MP__W_RETIRING;
  /* If it cannot be told, it is stopped: its death ends it the same way. */
  if (p->tr->ops->send(p->tr, slot, &h, sizeof h) < 0)
    p->tr->ops->kill(p->tr, slot);
}

/* ---- Dispatch ---- */

/* A free word of the slot's ring, marked QUEUED for t; -1 if none (words
 * of tasks taken back stay in use until the worker passed over them). */
static int ring_take(mp_pool *p, unsigned slot, mp__task *t) {
  mp__worker *w = &p->w[slot];
  _Atomic uint64_t *ring = p->tr->ops->ring(p->tr, slot);
  for (unsigned k = 0; k < MP__POOL_RING; k++) {
    unsigned r = (w->ring_next + k) % MP__POOL_RING;
    if (atomic_load_explicit(&ring[r], memory_order_acquire) == 0) {
      w->ring_next = r + 1;
      t->ring = r;
      t->msg->ring = r;
      /* Before the message can be read: the worker claims from here. */
      atomic_store_explicit(&ring[r], mp__ring_word(t->msg->seq, MP__RING_QUEUED),
                            memory_order_release);
      return 0;
    }
  }
  return -1;
}

void mp__pool_ring_release(mp_pool *p, unsigned slot, uint32_t ring) {
  atomic_store_explicit(&p->tr->ops->ring(p->tr, slot)[ring], 0,
                        memory_order_release);
}

/* 0 sent; 1 the worker's ring is full (try another); <0 failed. */
static int send_task(mp_pool *p, unsigned slot, mp__task *t) {
  mp__worker *w = &p->w[slot];
  int rc = define(p, slot, t->msg->fn);
  if (rc < 0)
    return rc;
  if (ring_take(p, slot, t) < 0) {
    w->full_round = p->round;
    return 1;
  }
  rc = p->tr->ops->send(p->tr, slot, t->msg, t->msg_len);
  if (rc < 0) {
    mp__pool_ring_release(p, slot, t->ring);
    return rc;
  }
  mp__tlist_push(&w->out, t);
  w->out_bytes += t->msg_len;
  if (p->maxtasks && ++w->assigned >= p->maxtasks)
    send_exit(p, slot);
  return 0;
}

/* The READY worker holding the fewest tasks, or -1. */
static int least_busy(mp_pool *p) {
  int best = -1;
  for (unsigned i = 0; i < p->n; i++) {
    mp__worker *w = &p->w[i];
    if (w->state == MP__W_READY && w->full_round != p->round &&
        (best < 0 || w->out.n < p->w[best].out.n)) {
      best = (int)i;
      if (w->out.n == 0)
        break;
    }
  }
  return best;
}

/* Pending tasks to READY workers, as deep as the policy allows. */
static void fill(mp_pool *p) {
  while (p->pending.head && p->nready > 0) {
    int slot = least_busy(p);
    if (slot < 0)
      break;
    mp__worker *w = &p->w[slot];
    size_t share = (p->pending.n - 1) / p->nready;
    size_t depth = 1 + (share < DEPTH_MAX - 1 ? share : DEPTH_MAX - 1);
    mp__task *t = p->pending.head;
    if (w->out.n >= depth ||
        (w->out.n > 0 && w->out_bytes + t->msg_len > DEPTH_BYTES))
      break;
    mp__tlist_pop(&p->pending);
    int rc = send_task(p, (unsigned)slot, t);
    if (rc > 0) /* its ring is full: back in front, another worker */
      mp__tlist_prepend(&p->pending, &(mp__tlist){t, t, 1});
    else if (rc < 0)
      mp__job_task_failed(p, t, rc, 0);
  }
}

/* An idle READY worker, or -1. */
static int idle_worker(mp_pool *p) {
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].state == MP__W_READY && p->w[i].out.n == 0 &&
        p->w[i].full_round != p->round)
      return (int)i;
  return -1;
}

/* Takes back the last task queued behind a running one in the busiest
 * worker, into pending: 1 if it did. */
static int take_back(mp_pool *p) {
  if (p->pending.head || idle_worker(p) < 0)
    return 0;
  for (;;) {
    int v = -1;
    for (unsigned i = 0; i < p->n; i++) {
      mp__worker *w = &p->w[i];
      if ((w->state == MP__W_READY || w->state == MP__W_RETIRING) &&
          w->out.n >= 2 && w->kept_round != p->round &&
          (v < 0 || w->out.n > p->w[v].out.n))
        v = (int)i;
    }
    if (v < 0)
      return 0;
    mp__worker *w = &p->w[v];
    mp__task *prev = w->out.head, *t = w->out.tail;
    while (prev->next != t)
      prev = prev->next;
    uint64_t want = mp__ring_word(t->msg->seq, MP__RING_QUEUED);
    if (!atomic_compare_exchange_strong(
            &p->tr->ops->ring(p->tr, (unsigned)v)[t->ring], &want,
            mp__ring_word(t->msg->seq, MP__RING_REVOKED))) {
      /* Its last task started, so all before it did: nothing to take. */
      w->kept_round = p->round;
      continue;
    }
    prev->next = NULL;
    w->out.tail = prev;
    w->out.n--;
    w->out_bytes -= t->msg_len;
    mp__tlist_push(&p->pending, t);
    return 1;
  }
}

void mp__pool_dispatch(mp_pool *p) {
  if (p->state == MP__P_TERMINATE)
    return;
  p->round++;
  do
    fill(p);
  while (take_back(p));
  mp__pool_refill(p);
}

/* ---- Workers coming and going ---- */

int mp__pool_start_slot(mp_pool *p, unsigned slot) {
  mp__worker *w = &p->w[slot];
  w->gen++;
  w->was_ready = 0;
  w->failure_told = 0;
  w->assigned = 0;
  w->out_bytes = 0;
  w->ring_next = 0;
  if (w->known)
    memset(w->known, 0, w->known_cap);
  int rc = p->tr->ops->start(p->tr, slot, w->gen);
  if (rc < 0) {
    w->boot_failed = 1;
    return rc;
  }
  w->state = MP__W_STARTING;
  p->nlive++;
  return 0;
}

/* Does the pool still need workers? Closing with nothing left: no. */
static int wants_workers(mp_pool *p) {
  if (p->state == MP__P_TERMINATE || p->creating)
    return 0;
  return p->state == MP__P_RUN || p->live_jobs > 0;
}

void mp__pool_refill(mp_pool *p) {
  if (!wants_workers(p))
    return;
  for (unsigned i = 0; i < p->n; i++) {
    mp__worker *w = &p->w[i];
    if (w->state != MP__W_EMPTY)
      continue;
    /* A slot that failed to boot: only when nobody else can run what
     * waits, and one attempt at a time. */
    if (w->boot_failed && (p->nlive > 0 || !p->pending.head))
      continue;
    int rc = mp__pool_start_slot(p, i);
    if (rc < 0)
      mp__pool_boot_failed(p, i, MP_EWORKERDIED, 0);
  }
}

void mp__pool_retire_idle(mp_pool *p) {
  if (p->state != MP__P_CLOSE || p->live_jobs > 0)
    return;
  for (unsigned i = 0; i < p->n; i++) {
    int s = p->w[i].state;
    if (s == MP__W_READY || s == MP__W_STARTING)
      send_exit(p, i);
  }
}

void mp__pool_boot_failed(mp_pool *p, unsigned slot, int rc, int code) {
  mp__worker *w = &p->w[slot];
  w->boot_failed = 1;
  if (w->failure_told)
    return;
  w->failure_told = 1;
  if (p->creating) {
    if (p->create_rc == 0) {
      p->create_rc = rc;
      p->create_code = code;
    }
    return;
  }
  mp__task *t = mp__tlist_pop(&p->pending);
  if (t)
    mp__job_task_failed(p, t, rc, code);
}

void mp__pool_worker_gone(mp_pool *p, unsigned slot) {
  mp__worker *w = &p->w[slot];
  _Atomic uint64_t *ring = p->tr->ops->ring(p->tr, slot);
  if (w->state == MP__W_READY)
    p->nready--;
  if (!w->was_ready)
    mp__pool_boot_failed(p, slot, MP_EWORKERDIED, 0);
  else
    w->boot_failed = 0;
  /* Results come before the death on the one stream: what is still out
   * either had started (it died with it) or is still QUEUED in its ring
   * word, and goes to another worker unchanged. */
  mp__tlist again = {NULL, NULL, 0};
  mp__task *t;
  while ((t = mp__tlist_pop(&w->out)) != NULL) {
    if (atomic_load(&ring[t->ring]) ==
        mp__ring_word(t->msg->seq, MP__RING_QUEUED))
      mp__tlist_push(&again, t);
    else
      mp__job_task_failed(p, t, MP_EWORKERDIED, 0);
  }
  mp__tlist_prepend(&p->pending, &again);
  w->out_bytes = 0;
  w->state = MP__W_EMPTY;
  p->nlive--;
}
