/* Jobs: apply_async, map_async and imap make one, cut it into tasks and
 * queue them; the result thread hands every item's outcome back here.
 *
 * A task carries the message its worker gets (built once, at submission,
 * which is also the copy of the caller's arguments), so a task sent again
 * after its worker died is the same bytes. A job is over when its last
 * task is; its callback (if any) then runs in the result thread, and only
 * after it returns do waiters see the job ready. */
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

/* A result at least this large is kept in the block it arrived in rather
 * than copied out of it. */
#define KEEP_BLOCK_MIN ((size_t)64 << 10)

/* ---- Tasks ---- */

#define TASK_HEAD ((sizeof(mp__task) + 15) & ~(size_t)15)

static mp__task *task_new(mp__job *j, size_t first, size_t count,
                          size_t item_size, const void *bytes, size_t nbytes,
                          uint64_t result_cap) {
  if (nbytes > SIZE_MAX - TASK_HEAD - sizeof(mp__pw_hdr))
    return NULL;
  mp__task *t = malloc(TASK_HEAD + sizeof(mp__pw_hdr) + nbytes);
  if (!t)
    return NULL;
  t->next = NULL;
  t->job = j;
  t->first = first;
  t->count = count;
  t->msg_len = sizeof(mp__pw_hdr) + nbytes;
  t->msg = (mp__pw_hdr *)((char *)t + TASK_HEAD);
  memset(t->msg, 0, sizeof *t->msg);
  t->msg->kind = MP__PW_TASK;
  t->msg->count = count;
  t->msg->item_size = item_size;
  t->msg->result_cap = result_cap;
  if (nbytes)
    memcpy(t->msg + 1, bytes, nbytes);
  return t;
}

void mp__task_free(mp__task *t) { free(t); }

static void tasks_free(mp__tlist *l) {
  mp__task *t;
  while ((t = mp__tlist_pop(l)) != NULL)
    mp__task_free(t);
}

/* ---- Jobs ---- */

static void imap_destroy(mp_imap *it) {
  for (size_t i = 0; it->items && i < it->count; i++)
    free(it->items[i].data);
  free(it->items);
  free(it->order);
  free(it);
}

void mp__job_destroy(mp__job *j) {
  j->magic = 0;
  if (j->kind == MP__JOB_IMAP) {
    imap_destroy((mp_imap *)j);
  } else {
    mp_async *a = (mp_async *)j;
    free(a->block);
    free(a);
  }
}

void mp__job_free_locked(mp__job *j) {
  j->hub->refs--; /* never the last: the pool holds one while it runs */
  mp__job_destroy(j);
}

static int has_callback(mp__job *j) {
  if (j->kind == MP__JOB_IMAP)
    return 0;
  mp_async *a = (mp_async *)j;
  return a->rc == 0 ? a->opts.callback != NULL : a->opts.error_callback != NULL;
}

void mp__job_ready(mp_pool *p, mp__job *j) {
  j->ready = 1;
  p->readied++;
  p->live_jobs--;
  mp__hub_broadcast(p->hub);
  if (!j->user_ref)
    mp__job_free_locked(j);
}

void mp__job_finish(mp_pool *p, mp__job *j) {
  j->done = 1;
  j->pool = NULL;
  if (!has_callback(j)) {
    mp__job_ready(p, j);
    return;
  }
  j->cb_next = NULL;
  if (p->cb_tail)
    p->cb_tail->cb_next = j;
  else
    p->cb_head = j;
  p->cb_tail = j;
  /* The result thread runs it: wake it wherever it sleeps. */
  if (mp__pool_self_hub != p->hub) {
    mp__cond_broadcast(p->rt_cv);
    mp__pool_nudge(p);
  }
}

/* ---- Items ---- */

static void imap_ready(mp_imap *it, size_t i) {
  it->items[i].state = 1;
  if (it->unordered)
    it->order[it->order_tail++] = i;
}

static void item_failed(mp__job *j, size_t i, int rc, int code) {
  if (j->kind == MP__JOB_APPLY) {
    mp_async *a = (mp_async *)j;
    a->rc = rc;
    a->code = code;
  } else if (j->kind == MP__JOB_MAP) {
    mp_async *a = (mp_async *)j;
    if (a->result_size)
      memset(a->results + i * a->result_size, 0, a->result_size);
    if (i < a->fail_index) {
      a->fail_index = i;
      a->rc = rc;
      a->code = code;
    }
  } else {
    mp_imap *it = (mp_imap *)j;
    it->items[i].rc = rc;
    it->items[i].code = code;
    imap_ready(it, i);
  }
}

/* data/len: the result, inside *block (which may be taken over). */
static int item_ok(mp__job *j, size_t i, const unsigned char *data,
                   size_t len, void **block) {
  if (j->kind == MP__JOB_MAP) {
    mp_async *a = (mp_async *)j;
    if (len > a->result_size) {
      item_failed(j, i, MP_EMSGSIZE, 0);
      return 0;
    }
    unsigned char *slot = a->results + i * a->result_size;
    if (len)
      memcpy(slot, data, len);
    if (a->result_size > len)
      memset(slot + len, 0, a->result_size - len);
    return 0;
  }
  void *copy = NULL;
  if (j->kind == MP__JOB_APPLY && len >= KEEP_BLOCK_MIN) {
    mp_async *a = (mp_async *)j;
    a->block = *block;
    a->data = data;
    a->len = len;
    *block = NULL;
    return 0;
  }
  if (len && !(copy = malloc(len)))
    return MP_ENOMEM;
  if (len)
    memcpy(copy, data, len);
  if (j->kind == MP__JOB_APPLY) {
    mp_async *a = (mp_async *)j;
    a->block = copy;
    a->data = copy;
    a->len = len;
  } else {
    mp_imap *it = (mp_imap *)j;
    it->items[i].data = copy;
    it->items[i].len = len;
    imap_ready(it, i);
  }
  return 0;
}

static void task_over(mp_pool *p, mp__task *t) {
  mp__job *j = t->job;
  mp__task_free(t);
  if (--j->tasks_live == 0)
    mp__job_finish(p, j);
}

void mp__job_task_failed(mp_pool *p, mp__task *t, int rc, int code) {
  for (size_t i = 0; i < t->count; i++)
    item_failed(t->job, t->first + i, rc, code);
  task_over(p, t);
}

/* Reads record k at *at; 0, or MP_EINVAL if it runs past len. */
static int read_record(const unsigned char *msg, size_t len, size_t *at,
                       mp__pe_item *rec) {
  if (len - *at < sizeof *rec)
    return MP_EINVAL;
  memcpy(rec, msg + *at, sizeof *rec);
  *at += sizeof *rec;
  if (rec->status > MP__ITEM_NOFN)
    return MP_EINVAL;
  if (rec->status == MP__ITEM_OK) {
    if (rec->len > len - *at)
      return MP_EINVAL;
    *at += (size_t)rec->len;
  }
  return 0;
}

int mp__job_task_result(mp_pool *p, mp__task *t, void **buf, size_t len,
                        size_t records_at) {
  const unsigned char *msg = *buf;
  /* All records must parse before any is applied: a broken message is
   * the worker's fault, and the task then fails with its death. */
  size_t at = records_at;
  mp__pe_item rec;
  void *none = NULL;
  for (size_t i = 0; i < t->count; i++)
    if (read_record(msg, len, &at, &rec) < 0)
      return MP_EINVAL;
  if (at != len)
    return MP_EINVAL;
  at = records_at;
  for (size_t i = 0; i < t->count; i++) {
    read_record(msg, len, &at, &rec);
    size_t idx = t->first + i;
    switch (rec.status) {
    case MP__ITEM_OK:
      /* A single result that big is the whole message: keep its block. */
      if (item_ok(t->job, idx, msg + at - rec.len, (size_t)rec.len,
                  t->count == 1 ? buf : &none) < 0)
        item_failed(t->job, idx, MP_ENOMEM, 0);
      break;
    case MP__ITEM_TASK:
      item_failed(t->job, idx, MP_ETASK, rec.code);
      break;
    case MP__ITEM_MSGSIZE:
      item_failed(t->job, idx, MP_EMSGSIZE, 0);
      break;
    default:
      item_failed(t->job, idx, MP_ENOTSUP, 0);
      break;
    }
  }
  task_over(p, t);
  return 0;
}

/* ---- Submission ---- */

/* Queues the tasks of a new job (built unlocked by the caller) and
 * dispatches. On failure the caller still owns job and tasks. */
static int enqueue(mp_pool *p, mp_task fn, mp__job *j, mp__tlist *tasks) {
  int rc = mp__pool_enter(p);
  if (rc < 0)
    return rc;
  uint32_t id = 0;
  if (p->state != MP__P_RUN)
    rc = MP_ESTATE;
  else if (mp__pool_self_hub == p->hub && j->user_ref < 0)
    rc = MP_ESTATE; /* a blocking call in a callback would wait for itself */
  else
    rc = mp__pool_fn_id(p, fn, &id);
  if (rc < 0) {
    mp__hub_unlock(p->hub);
    return rc;
  }
  if (j->user_ref < 0)
    j->user_ref = 1;
  for (mp__task *t = tasks->head; t; t = t->next) {
    t->msg->fn = id;
    t->msg->seq = p->next_seq++;
  }
  j->hub = p->hub;
  j->pool = p;
  p->hub->refs++;
  j->tasks_live = tasks->n;
  p->live_jobs++;
  if (tasks->n == 0) {
    mp__job_finish(p, j);
  } else {
    if (p->pending.tail)
      p->pending.tail->next = tasks->head;
    else
      p->pending.head = tasks->head;
    p->pending.tail = tasks->tail;
    p->pending.n += tasks->n;
    memset(tasks, 0, sizeof *tasks);
    mp__pool_dispatch(p);
  }
  mp__hub_unlock(p->hub);
  return 0;
}

static mp_async *async_new(int kind, const mp_async_options *opts,
                           int user_ref) {
  mp_async *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->j.magic = MP__ASYNC_MAGIC;
  a->j.kind = (uint32_t)kind;
  a->j.user_ref = user_ref;
  if (opts)
    a->opts = *opts;
  a->fail_index = SIZE_MAX;
  return a;
}

/* user_ref -1: a blocking call of the library (apply, map), which becomes
 * the owner once queued; see enqueue. */
int mp__pool_apply_job(mp_pool *p, mp_task task, const void *arg,
                       size_t arg_size, const mp_async_options *opts,
                       int user_ref, mp_async **out) {
  if (!task || (arg_size > 0 && !arg) || arg_size > (size_t)PTRDIFF_MAX)
    return MP_EINVAL;
  mp_async *a = async_new(MP__JOB_APPLY, opts, user_ref);
  mp__tlist tasks = {NULL, NULL, 0};
  mp__task *t = a ? task_new(&a->j, 0, 1, arg_size, arg, arg_size, UINT64_MAX)
                  : NULL;
  if (!t) {
    free(a);
    return MP_ENOMEM;
  }
  mp__tlist_push(&tasks, t);
  int rc = enqueue(p, task, &a->j, &tasks);
  if (rc < 0) {
    tasks_free(&tasks);
    free(a);
    return rc;
  }
  if (out)
    *out = a;
  return 0;
}

int mp_pool_apply_async(mp_pool *p, mp_task task, const void *arg,
                        size_t arg_size, const mp_async_options *opts,
                        mp_async **out) {
  if (out)
    *out = NULL;
  return mp__pool_apply_job(p, task, arg, arg_size, opts, out ? 1 : 0, out);
}

/* Python's default for map: four chunks per worker. */
static size_t auto_chunksize(size_t workers, size_t count) {
  size_t per = workers * 4;
  return count / per + (count % per != 0);
}

/* Cuts items into tasks of chunksize items. */
static int make_chunks(mp__job *j, const void *items, size_t item_size,
                       size_t count, size_t chunksize, uint64_t result_cap,
                       mp__tlist *tasks) {
  const unsigned char *bytes = items;
  for (size_t first = 0; first < count; first += chunksize) {
    size_t n = count - first < chunksize ? count - first : chunksize;
    mp__task *t = task_new(j, first, n, item_size, bytes + first * item_size,
                           n * item_size, result_cap);
    if (!t) {
      tasks_free(tasks);
      return MP_ENOMEM;
    }
    mp__tlist_push(tasks, t);
  }
  return 0;
}

static int check_items(const void *items, size_t item_size, size_t count) {
  if ((count > 0 && (!items || item_size == 0)) ||
      (item_size && count > (size_t)PTRDIFF_MAX / item_size))
    return MP_EINVAL;
  return 0;
}

/* The pool's size, for the automatic chunk size (fixed at creation). */
static int pool_size(mp_pool *p, size_t *n) {
  int rc = mp__pool_enter(p);
  if (rc < 0)
    return rc;
  *n = p->n;
  mp__hub_unlock(p->hub);
  return 0;
}

int mp__pool_map_job(mp_pool *p, mp_task task, const void *items,
                     size_t item_size, size_t count, void *results,
                     size_t result_size, size_t chunksize,
                     const mp_async_options *opts, int user_ref,
                     mp_async **out) {
  size_t n;
  int rc = check_items(items, item_size, count);
  if (rc == 0 && (!task || (result_size > 0 && !results) ||
                  (result_size && count > (size_t)PTRDIFF_MAX / result_size)))
    rc = MP_EINVAL;
  if (rc == 0)
    rc = pool_size(p, &n);
  if (rc < 0)
    return rc;
  if (chunksize == 0)
    chunksize = count ? auto_chunksize(n, count) : 1;
  mp_async *a = async_new(MP__JOB_MAP, opts, user_ref);
  if (!a)
    return MP_ENOMEM;
  a->results = results;
  a->result_size = result_size;
  a->count = count;
  mp__tlist tasks = {NULL, NULL, 0};
  rc = make_chunks(&a->j, items, item_size, count, chunksize, result_size,
                   &tasks);
  if (rc == 0 && (rc = enqueue(p, task, &a->j, &tasks)) < 0)
    tasks_free(&tasks);
  if (rc < 0) {
    free(a);
    return rc;
  }
  if (out)
    *out = a;
  return 0;
}

int mp_pool_map_async(mp_pool *p, mp_task task, const void *items,
                      size_t item_size, size_t count, void *results,
                      size_t result_size, size_t chunksize,
                      const mp_async_options *opts, mp_async **out) {
  if (out)
    *out = NULL;
  return mp__pool_map_job(p, task, items, item_size, count, results,
                          result_size, chunksize, opts, out ? 1 : 0, out);
}

int mp_pool_imap(mp_pool *p, mp_task task, const void *items,
                 size_t item_size, size_t count, size_t chunksize,
                 int unordered, mp_imap **out) {
  if (out)
    *out = NULL;
  int rc = check_items(items, item_size, count);
  if (rc < 0 || !task || !out)
    return MP_EINVAL;
  if (chunksize == 0)
    chunksize = 1; /* Python's imap default */
  mp_imap *it = calloc(1, sizeof *it);
  if (!it)
    return MP_ENOMEM;
  it->j.magic = MP__IMAP_MAGIC;
  it->j.kind = MP__JOB_IMAP;
  it->j.user_ref = 1;
  it->unordered = unordered != 0;
  it->count = count;
  if (count) {
    it->items = calloc(count, sizeof *it->items);
    if (it->unordered)
      it->order = malloc(count * sizeof *it->order);
    if (!it->items || (it->unordered && !it->order)) {
      imap_destroy(it);
      return MP_ENOMEM;
    }
  }
  mp__tlist tasks = {NULL, NULL, 0};
  rc = make_chunks(&it->j, items, item_size, count, chunksize, UINT64_MAX,
                   &tasks);
  if (rc == 0 && (rc = enqueue(p, task, &it->j, &tasks)) < 0)
    tasks_free(&tasks);
  if (rc < 0) {
    imap_destroy(it);
    return rc;
  }
  *out = it;
  return 0;
}
