/* The caller's side of a job: mp_async_* and mp_imap_*, and the blocking
 * mp_pool_apply and mp_pool_map built on them.
 *
 * A job is visible as ready once its callback has returned; inside its
 * own callback (the result thread, mp__pool_cb_job) it already counts as
 * ready, so that the callback can read its result. */
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

static int job_visible(void *arg) {
  mp__job *j = arg;
  return j->ready || (j->done && mp__pool_cb_job == j);
}

/* 0 with the job's hub locked, or MP_EINVAL. */
static int job_enter(mp__job *j, uint32_t magic) {
  if (!j || j->magic != magic || mp__pool_foreign(j->hub))
    return MP_EINVAL;
  mp__hub_lock(j->hub);
  return 0;
}

/* Frees a job the user gave back (mutex held; unlocks). */
static void job_release(mp__job *j) {
  mp__hub *h = j->hub;
  j->user_ref = 0;
  if (mp__pool_cb_job == j || !j->ready) {
    /* In its own callback, or (imap) tasks still running: the result
     * thread frees it when it is over. */
    j->magic = 0;
    mp__hub_unlock(h);
    return;
  }
  mp__job_destroy(j);
  mp__hub_release_unlock(h);
}

/* ---- mp_async ---- */

int mp_async_wait(mp_async *a, int timeout_ms) {
  if (timeout_ms < MP_INFINITE)
    return MP_EINVAL;
  int rc = job_enter(a ? &a->j : NULL, MP__ASYNC_MAGIC);
  if (rc < 0)
    return rc;
  rc = mp__job_wait(a->j.hub, &a->j, job_visible, &a->j, timeout_ms);
  mp__hub_unlock(a->j.hub);
  return rc;
}

int mp_async_ready(mp_async *a) {
  int rc = job_enter(a ? &a->j : NULL, MP__ASYNC_MAGIC);
  if (rc < 0)
    return rc;
  rc = job_visible(&a->j);
  mp__hub_unlock(a->j.hub);
  return rc;
}

int mp_async_successful(mp_async *a) {
  int rc = job_enter(a ? &a->j : NULL, MP__ASYNC_MAGIC);
  if (rc < 0)
    return rc;
  rc = job_visible(&a->j) ? a->rc == 0 : MP_ESTATE;
  mp__hub_unlock(a->j.hub);
  return rc;
}

int mp_async_get(mp_async *a, void *buf, size_t cap, size_t *len,
                 int timeout_ms) {
  if (timeout_ms < MP_INFINITE || (!buf && cap))
    return MP_EINVAL;
  int rc = job_enter(a ? &a->j : NULL, MP__ASYNC_MAGIC);
  if (rc < 0)
    return rc;
  if (len)
    *len = 0;
  rc = mp__job_wait(a->j.hub, &a->j, job_visible, &a->j, timeout_ms);
  if (rc == 0 && a->rc != 0) {
    rc = a->rc;
    if (rc == MP_ETASK)
      mp__pool_task_code = a->code;
  } else if (rc == 0 && a->j.kind == MP__JOB_APPLY) {
    if (len)
      *len = a->len;
    if (a->len > cap)
      rc = MP_EMSGSIZE; /* kept for a retry with more room */
    else if (a->len && buf)
      memcpy(buf, a->data, a->len);
  }
  mp__hub_unlock(a->j.hub);
  return rc;
}

int mp_async_task_code(mp_async *a) {
  int rc = job_enter(a ? &a->j : NULL, MP__ASYNC_MAGIC);
  if (rc < 0)
    return rc;
  rc = job_visible(&a->j) && a->rc == MP_ETASK ? a->code : 0;
  mp__hub_unlock(a->j.hub);
  return rc;
}

int mp_async_free(mp_async *a) {
  int rc = job_enter(a ? &a->j : NULL, MP__ASYNC_MAGIC);
  if (rc < 0)
    return rc;
  /* Not ready: the result thread still writes it. Fire and forget: it
   * is the library's to free. */
  if (!job_visible(&a->j) || a->j.user_ref != 1) {
    mp__hub_unlock(a->j.hub);
    return MP_ESTATE;
  }
  job_release(&a->j);
  return 0;
}

/* ---- The blocking calls ---- */

int mp_pool_apply(mp_pool *p, mp_task task, const void *arg, size_t arg_size,
                  void *out, size_t cap, size_t *out_len) {
  if (!out && cap)
    return MP_EINVAL;
  if (out_len)
    *out_len = 0;
  mp_async *a;
  int rc = mp__pool_apply_job(p, task, arg, arg_size, NULL, -1, &a);
  if (rc < 0)
    return rc;
  rc = mp_async_get(a, out, cap, out_len, MP_INFINITE);
  mp_async_free(a);
  return rc;
}

int mp_pool_map(mp_pool *p, mp_task task, const void *items, size_t item_size,
                size_t count, void *results, size_t result_size,
                size_t chunksize) {
  mp_async *a;
  int rc = mp__pool_map_job(p, task, items, item_size, count, results,
                            result_size, chunksize, NULL, -1, &a);
  if (rc < 0)
    return rc;
  rc = mp_async_get(a, NULL, 0, NULL, MP_INFINITE);
  mp_async_free(a);
  return rc;
}

/* ---- mp_imap ---- */

static int imap_has_next(void *arg) {
  mp_imap *it = arg;
  if (it->delivered == it->count)
    return 1;
  if (it->unordered)
    return it->order_head != it->order_tail;
  return it->items[it->next].state == 1;
}

static void imap_delivered(mp_imap *it, size_t i) {
  mp__imap_item *item = &it->items[i];
  item->state = 2;
  free(item->data);
  item->data = NULL;
  it->delivered++;
  if (it->unordered)
    it->order_head++;
  else
    it->next++;
}

int mp_imap_next(mp_imap *it, void *buf, size_t cap, size_t *len,
                 size_t *index, int timeout_ms) {
  if (timeout_ms < MP_INFINITE || (!buf && cap))
    return MP_EINVAL;
  int rc = job_enter(it ? &it->j : NULL, MP__IMAP_MAGIC);
  if (rc < 0)
    return rc;
  if (len)
    *len = 0;
  rc = mp__job_wait(it->j.hub, &it->j, imap_has_next, it, timeout_ms);
  if (rc == 0 && it->delivered == it->count) {
    rc = MP_EDONE;
  } else if (rc == 0) {
    size_t i = it->unordered ? it->order[it->order_head] : it->next;
    mp__imap_item *item = &it->items[i];
    if (index)
      *index = i;
    if (item->rc != 0) {
      rc = item->rc;
      if (rc == MP_ETASK)
        mp__pool_task_code = item->code;
      imap_delivered(it, i);
    } else {
      if (len)
        *len = item->len;
      if (item->len > cap) {
        rc = MP_EMSGSIZE; /* stays first, for a retry with more room */
      } else {
        if (item->len && buf)
          memcpy(buf, item->data, item->len);
        imap_delivered(it, i);
      }
    }
  }
  mp__hub_unlock(it->j.hub);
  return rc;
}

int mp_imap_free(mp_imap *it) {
  int rc = job_enter(it ? &it->j : NULL, MP__IMAP_MAGIC);
  if (rc < 0)
    return rc;
  job_release(&it->j);
  return 0;
}
