/* The result thread: reads the one event stream of the pool (results,
 * worker deaths, readiness, nudges) in order, applies each event, runs the
 * callbacks, keeps tasks flowing, and at the end stops the transport.
 *
 * One stream for everything is what makes worker death simple: a worker's
 * results are on the stream before the supervisor could see it dead, so
 * when its DEATH is read, whatever it still holds either started (it died
 * with it) or never left its inbox. Events are checked like any bytes from
 * another process: a worker that sends nonsense is killed, and its death
 * settles its tasks. */
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

/* Events handled per taking of the mutex, and the largest receive buffer
 * kept between events. */
#define BATCH 64
#define BUF_KEEP ((size_t)1 << 20)

static void unshift(mp__tlist *l, mp__task *t) {
  t->next = l->head;
  l->head = t;
  if (!l->tail)
    l->tail = t;
  l->n++;
}

static int on_result(mp_pool *p, const mp__pe_hdr *e, void **buf, size_t len) {
  mp__worker *w = &p->w[e->slot];
  mp__task *t = w->out.head;
  if ((w->state != MP__W_READY && w->state != MP__W_RETIRING) || !t ||
      t->msg->seq != e->seq || e->count != t->count)
    return MP_EINVAL;
  mp__tlist_pop(&w->out);
  w->out_bytes -= t->msg_len;
  uint32_t ring = t->ring;
  if (mp__job_task_result(p, t, buf, len, sizeof *e) < 0) {
    unshift(&w->out, t); /* settled by the death that follows */
    w->out_bytes += t->msg_len;
    return MP_EINVAL;
  }
  mp__pool_ring_release(p, e->slot, ring);
  return 0;
}

static void on_event(mp_pool *p, void **buf, size_t len) {
  mp__pe_hdr e;
  if (len < sizeof e)
    return;
  memcpy(&e, *buf, sizeof e);
  if (e.kind == MP__PE_NUDGE || e.slot >= p->n)
    return;
  mp__worker *w = &p->w[e.slot];
  /* An earlier incarnation's, or a slot not started: nothing to apply. */
  if (e.gen != w->gen || w->state == MP__W_EMPTY)
    return;
  int bad = 0;
  switch (e.kind) {
  case MP__PE_READY:
    if (w->was_ready || len != sizeof e) {
      bad = 1;
      break;
    }
    w->was_ready = 1;
    if (w->state == MP__W_STARTING) {
      w->state = MP__W_READY;
      p->nready++;
      if (p->creating)
        p->booted++;
    }
    break;
  case MP__PE_INITFAIL:
    if (w->was_ready) {
      bad = 1;
      break;
    }
    /* It leaves by itself; its death follows. */
    mp__pool_boot_failed(p, e.slot, MP_ETASK, e.code);
    w->state = MP__W_RETIRING;
    break;
  case MP__PE_RESULT:
    bad = on_result(p, &e, buf, len) < 0;
    break;
  case MP__PE_DEATH:
    mp__pool_worker_gone(p, e.slot);
    break;
  case MP__PE_STARTFAIL:
    if (w->state == MP__W_STARTING) {
      mp__pool_boot_failed(p, e.slot, e.code < 0 ? e.code : MP_ESYS, 0);
      w->state = MP__W_EMPTY;
      p->nlive--;
    }
    break;
  default:
    bad = 1;
  }
  if (bad)
    p->tr->ops->kill(p->tr, e.slot);
}

/* Runs the callbacks of the jobs that are over, in order, without the
 * mutex (held on entry and return). */
static void run_callbacks(mp_pool *p) {
  mp__job *j;
  while ((j = p->cb_head) != NULL) {
    p->cb_head = j->cb_next;
    if (!p->cb_head)
      p->cb_tail = NULL;
    mp_async *a = (mp_async *)j;
    mp__hub_unlock(p->hub);
    mp__pool_cb_job = j;
    if (a->rc == 0)
      a->opts.callback(a, a->opts.user);
    else
      a->opts.error_callback(a, a->opts.user);
    mp__pool_cb_job = NULL;
    mp__hub_lock(p->hub);
    mp__job_ready(p, j);
  }
}

/* Moves the pool on after events; 1 once the thread's work is done. */
static int progress(mp_pool *p) {
  if (p->state == MP__P_TERMINATE)
    return 1;
  mp__pool_dispatch(p);
  mp__pool_retire_idle(p);
  return p->state == MP__P_CLOSE && p->live_jobs == 0 && p->nlive == 0;
}

/* terminate: every worker is killed first, so no task reported failed
 * can still be running, then every task not over fails. */
static void fail_everything(mp_pool *p) {
  mp__hub_unlock(p->hub);
  p->tr->ops->kill_all(p->tr);
  mp__hub_lock(p->hub);
  mp__task *t;
  for (unsigned i = 0; i < p->n; i++) {
    mp__worker *w = &p->w[i];
    while ((t = mp__tlist_pop(&w->out)) != NULL)
      mp__job_task_failed(p, t, MP_ECLOSED, 0);
    w->state = MP__W_EMPTY;
  }
  while ((t = mp__tlist_pop(&p->pending)) != NULL)
    mp__job_task_failed(p, t, MP_ECLOSED, 0);
  p->nready = p->nlive = 0;
}

/* Takes and applies the events waiting on the stream (at most BATCH),
 * mutex held. The stream itself breaking means nothing more can come
 * back, so nothing can finish: the pool stops as terminate does rather
 * than wait for ever. */
static void drain(mp_pool *p) {
  for (int k = 0; k < BATCH && p->state != MP__P_TERMINATE; k++) {
    size_t len = 0;
    int rc = p->tr->ops->recv(p->tr, &p->recv_buf, &p->recv_cap, &len, 0);
    if (rc == MP_ETIMEDOUT)
      break;
    if (rc < 0) {
      p->state = MP__P_TERMINATE;
      break;
    }
    on_event(p, &p->recv_buf, len);
    if (!p->recv_buf)
      p->recv_cap = 0;
  }
  if (p->recv_cap > BUF_KEEP) {
    free(p->recv_buf);
    p->recv_buf = NULL;
    p->recv_cap = 0;
  }
}

/* The longest a helper sleeps on the stream before it looks at its job
 * and the pool again, and the longest the result thread leaves the stream
 * to helpers before it looks again (a helper may leave at any moment). */
#define HELP_SLICE_MS 64
#define STANDBY_MS 2

/* A thread waiting for one of its jobs takes the events itself: its
 * result is then applied by the thread that wants it, without waking the
 * result thread and being woken by it (two sleeps and wakes saved on
 * every round trip). Callbacks still run in the result thread alone. */
int mp__pool_help(mp_pool *p, int timeout_ms) {
  if (p->stopping || p->state == MP__P_TERMINATE)
    return MP_ESTATE;
  p->helpers++;
  p->helped++;
  mp__hub_unlock(p->hub);
  int slice = timeout_ms < 0 || timeout_ms > HELP_SLICE_MS ? HELP_SLICE_MS
                                                            : timeout_ms;
  p->tr->ops->wait(p->tr, slice);
  mp__hub_lock(p->hub);
  uint64_t readied = p->readied;
  if (!p->stopping) {
    drain(p);
    mp__pool_dispatch(p);
    mp__pool_retire_idle(p);
  }
  /* Another helper asleep on the stream may wait for a job this drain
   * made ready: the stream must wake it too. */
  if (p->helpers > 1 && p->readied != readied)
    mp__pool_nudge(p);
  p->helpers--;
  /* What only the result thread does (callbacks, the end of a closed or
   * terminated pool) must not wait for its standby to run out, nor for
   * an event: it may be asleep on the stream, which only an event there
   * when it looks wakes, and a nudge posted while draining was drained. */
  if (p->cb_head || p->state != MP__P_RUN || p->stopping) {
    mp__cond_broadcast(p->rt_cv);
    mp__pool_nudge(p);
  }
  mp__hub_broadcast(p->hub);
  return 0;
}

/* Moves the pool on and runs callbacks; 1 once the thread's work is done.
 * Mutex held. */
static int step(mp_pool *p) {
  run_callbacks(p);
  int done = progress(p);
  mp__hub_broadcast(p->hub);
  return done;
}

void mp__pool_result_main(void *arg) {
  mp_pool *p = arg;
  mp__pool_self_hub = p->hub;
  mp__hub_lock(p->hub);
  int done = 0;
  uint64_t helped = 0;
  while (!done) {
    if (p->cb_head) {
      /* Callbacks to run (jobs a helper finished): no waiting. */
    } else if ((p->helpers > 0 || p->helped != helped) &&
               p->state == MP__P_RUN) {
      /* Helpers take the events (one after another, as a caller applies
       * task after task): stand by rather than compete with them for the
       * stream and the processors, until they have been gone a while. */
      helped = p->helped;
      mp__cond_wait(p->rt_cv, &p->hub->mu, STANDBY_MS);
    } else {
      mp__hub_unlock(p->hub);
      int rc = p->tr->ops->wait(p->tr, MP_INFINITE);
      mp__hub_lock(p->hub);
      if (rc < 0 && rc != MP_ETIMEDOUT)
        p->state = MP__P_TERMINATE; /* the stream broke, as in drain */
    }
    uint64_t readied = p->readied;
    drain(p);
    done = step(p);
    /* A helper sleeps on the stream, not on the hub: if this thread took
     * the result it waits for, the stream must wake it. */
    if (p->helpers > 0 && p->readied != readied)
      mp__pool_nudge(p);
  }

  if (p->state == MP__P_TERMINATE)
    fail_everything(p);
  run_callbacks(p);
  /* No more nudges, and no helper may be inside the transport when it
   * goes: wake them (a nudge ends their wait) and wait until they left. */
  p->stopping = 1;
  while (p->helpers > 0) {
    mp__pe_hdr e;
    memset(&e, 0, sizeof e);
    e.kind = MP__PE_NUDGE;
    p->tr->ops->post(p->tr, &e, sizeof e);
    p->hub->waiters++;
    mp__cond_wait(p->hub->cv, &p->hub->mu, HELP_SLICE_MS);
    p->hub->waiters--;
  }
  mp__hub_unlock(p->hub);
  p->tr->ops->destroy(p->tr);
  mp__hub_lock(p->hub);
  p->finished = 1;
  mp__hub_broadcast(p->hub);
  mp__hub_unlock(p->hub);
  mp__pool_self_hub = NULL;
}
