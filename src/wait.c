/* mp_wait: Python's multiprocessing.connection.wait over connections,
 * queues and processes. The OS sleeps on connections and processes
 * (<os>/wait.c); a queue has no descriptor to sleep on, so while queues
 * are in the list the sleep is cut into short slices between which the
 * queues are asked. */
#include <stdlib.h>

#include "conn.h"
#include "deadline.h"

#define SLICE_MAX_MS 16

int mp__wait_proc_done(mp_process *p) { return p->state == MP__EXITED; }

static int resolve(const mp_wait_item *it, mp__wait_slot *s) {
  s->kind = it->kind;
  switch (it->kind) {
  case MP_WAIT_CONN:
    return mp__conn_get(it->obj.conn, MP__CONN_READ, &s->conn);
  case MP_WAIT_QUEUE: {
    if (!it->obj.queue)
      return MP_EINVAL;
    s->queue = it->obj.queue;
    int rc = mp_queue_empty(s->queue);
    return rc < 0 ? rc : 0;
  }
  case MP_WAIT_PROCESS:
    s->proc = it->obj.process;
    if (!s->proc || s->proc->magic != MP__PROCESS_MAGIC)
      return MP_EINVAL;
    /* Not started, or a forked child's copy of its sibling. */
    return s->proc->state == MP__CREATED || s->proc->inherited ? MP_ESTATE : 0;
  default:
    return MP_EINVAL;
  }
}

static void release(mp__wait_slot *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i].kind == MP_WAIT_CONN && s[i].conn)
      mp__conn_put(s[i].conn);
  free(s);
}

static int queues_ready(mp__wait_slot *s, size_t n, int *any_queue) {
  int ready = 0;
  *any_queue = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i].kind != MP_WAIT_QUEUE)
      continue;
    *any_queue = 1;
    int rc = mp_queue_empty(s[i].queue);
    if (rc < 0)
      return rc;
    s[i].ready = rc == 0;
    ready += s[i].ready;
  }
  return ready;
}

static int count_ready(const mp__wait_slot *s, size_t n) {
  int ready = 0;
  for (size_t i = 0; i < n; i++)
    ready += s[i].ready;
  return ready;
}

static int wait_loop(mp__wait_slot *s, size_t n, int timeout_ms) {
  mp__deadline dl = mp__deadline_in(timeout_ms);
  int slice = 1;
  for (;;) {
    for (size_t i = 0; i < n; i++)
      s[i].ready = 0;
    int any_queue;
    int q = queues_ready(s, n, &any_queue);
    if (q < 0)
      return q;
    int left = mp__deadline_left(&dl);
    int t = q > 0 ? 0 : left;
    if (any_queue && (t < 0 || t > slice))
      t = slice;
    int rc = mp__os_wait_slots(s, n, t);
    if (rc < 0)
      return rc;
    if (rc + q > 0)
      return count_ready(s, n);
    if (left == 0)
      return MP_ETIMEDOUT;
    if (slice < SLICE_MAX_MS)
      slice *= 2;
  }
}

int mp_wait(mp_wait_item *items, size_t n, int timeout_ms) {
  if (!items || n == 0 || timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  mp__wait_slot *s = calloc(n, sizeof *s);
  if (!s)
    return MP_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = resolve(&items[i], &s[i]);
  if (rc == 0)
    rc = wait_loop(s, n, timeout_ms);
  for (size_t i = 0; i < n; i++)
    items[i].ready = rc > 0 ? s[i].ready : 0;
  release(s, n);
  return rc;
}
