/* What a worker runs: the initializer, then one message after another
 * from its inbox until EXIT. Transport-neutral: the I/O comes in
 * mp__pool_wio.
 *
 * Before it runs a task the worker claims it in its ring (pool.h): a task
 * the parent took back meanwhile is skipped, and after a death the parent
 * reads there whether a task had started (it fails with MP_EWORKERDIED) or
 * not (another worker runs it).
 *
 * The messages come from the parent, but are checked all the same: a
 * message that does not parse ends the worker (the parent sees a death),
 * never a read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "pool.h"

#define RESULT_MAGIC 0x6d707273u /* "mprs" */
/* A result buffer larger than this is given back after each task. */
#define RESULT_KEEP ((size_t)1 << 20)
/* Function ids are small integers the parent hands out in order. */
#define FN_MAX (1u << 20)

/* Exit codes of a worker that broke off: the parent sees a death. */
enum { EXIT_IO = 3, EXIT_PROTOCOL = 4, EXIT_NOMEM = 5 };

/* The RESULT message under construction: header, then one record per
 * item; `rec` is where the current item's record starts. */
struct mp_result {
  uint32_t magic;
  unsigned char *buf;
  size_t len, cap, rec;
};

static int reserve(mp_result *r, size_t more) {
  if (more > SIZE_MAX - r->len)
    return MP_ENOMEM;
  size_t need = r->len + more;
  if (need <= r->cap)
    return 0;
  size_t cap = r->cap ? r->cap : 4096;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  unsigned char *grown = realloc(r->buf, cap);
  if (!grown)
    return MP_ENOMEM;
  r->buf = grown;
  r->cap = cap;
  return 0;
}

static void record_set(mp_result *r, uint32_t status, int32_t code,
                       uint64_t len) {
  mp__pe_item it = {status, code, len};
  memcpy(r->buf + r->rec, &it, sizeof it);
}

int mp_result_set(mp_result *r, const void *data, size_t len) {
  if (!r || r->magic != RESULT_MAGIC || (!data && len))
    return MP_EINVAL;
  r->len = r->rec + sizeof(mp__pe_item);
  int rc = reserve(r, len);
  if (rc < 0)
    return rc;
  if (len)
    memcpy(r->buf + r->len, data, len);
  r->len += len;
  record_set(r, MP__ITEM_OK, 0, len);
  return 0;
}

/* ---- The worker's state ---- */

typedef struct worker {
  const mp__pool_wio *io;
  unsigned slot;
  uint32_t gen;
  mp_task *fns; /* by id; NULL where unknown or not found */
  size_t nfns;
  mp_result res;
  void *scratch; /* an aligned copy of an item that arrived unaligned */
  size_t scratch_cap;
} worker;

static int put_event(worker *w, uint32_t kind, int32_t code) {
  mp__pe_hdr e;
  memset(&e, 0, sizeof e);
  e.kind = kind;
  e.slot = w->slot;
  e.gen = w->gen;
  e.code = code;
  return w->io->put(w->io->ctx, &e, sizeof e);
}

static int define(worker *w, const mp__pw_hdr *h, const unsigned char *body,
                  size_t len) {
  mp__module_ref ref;
  if (len != sizeof ref || h->fn >= FN_MAX)
    return EXIT_PROTOCOL;
  memcpy(&ref, body, sizeof ref);
  ref.path[sizeof ref.path - 1] = '\0';
  if (h->fn >= w->nfns) {
    size_t n = (size_t)h->fn + 8;
    mp_task *grown = realloc(w->fns, n * sizeof *grown);
    if (!grown)
      return EXIT_NOMEM;
    for (size_t i = w->nfns; i < n; i++)
      grown[i] = NULL;
    w->fns = grown;
    w->nfns = n;
  }
  /* A function whose module is refused stays NULL: its tasks then fail
   * with MP_ENOTSUP (see run_task), they do not end the worker. */
  const char *why;
  w->fns[h->fn] = (mp_task)(uintptr_t)mp__module_resolve(&ref, &why);
  return 0;
}

/* Items are handed to the task aligned as malloc aligns. The message
 * buffer is malloc'd and its header is a multiple of 16 bytes, so an item
 * is copied only when its size breaks that. */
static const void *aligned_item(worker *w, const unsigned char *item,
                                size_t size) {
  if ((uintptr_t)item % 16 == 0)
    return item;
  if (size > w->scratch_cap) {
    free(w->scratch);
    w->scratch_cap = 0;
    if (!(w->scratch = malloc(size)))
      return NULL;
    w->scratch_cap = size;
  }
  memcpy(w->scratch, item, size);
  return w->scratch;
}

/* 1: ours to run; 0: the parent took it back (skip it); <0: the word is
 * not what the parent's message says. */
static int claim(worker *w, const mp__pw_hdr *h) {
  if (h->ring >= MP__POOL_RING || h->seq == 0 || h->seq >= (uint64_t)1 << 62)
    return -1;
  _Atomic uint64_t *word = &w->io->ring[h->ring];
  uint64_t want = mp__ring_word(h->seq, MP__RING_QUEUED);
  if (atomic_compare_exchange_strong(word, &want,
                                     mp__ring_word(h->seq, MP__RING_STARTED)))
    return 1;
  if (want != mp__ring_word(h->seq, MP__RING_REVOKED))
    return -1;
  atomic_store(word, 0); /* passed over: the parent may reuse it */
  return 0;
}

static int run_task(worker *w, const mp__pw_hdr *h, const unsigned char *body,
                    size_t len) {
  if (h->count == 0 || h->count > SIZE_MAX / 2 ||
      (h->item_size && h->count > len / h->item_size) ||
      h->count * h->item_size != len || (h->count > 1 && h->item_size == 0))
    return EXIT_PROTOCOL;
  int mine = claim(w, h);
  if (mine <= 0)
    return mine < 0 ? EXIT_PROTOCOL : 0;
  mp_task fn = h->fn < w->nfns ? w->fns[h->fn] : NULL;
  mp_result *r = &w->res;
  r->len = 0;
  if (reserve(r, sizeof(mp__pe_hdr)) < 0)
    return EXIT_NOMEM;
  mp__pe_hdr e;
  memset(&e, 0, sizeof e);
  e.kind = MP__PE_RESULT;
  e.slot = w->slot;
  e.gen = w->gen;
  e.seq = h->seq;
  e.count = h->count;
  memcpy(r->buf, &e, sizeof e);
  r->len = sizeof e;

  MP__FAULT("pool.task.started");
  for (uint64_t i = 0; i < h->count; i++) {
    r->rec = r->len;
    if (reserve(r, sizeof(mp__pe_item)) < 0)
      return EXIT_NOMEM;
    r->len += sizeof(mp__pe_item);
    record_set(r, MP__ITEM_OK, 0, 0);
    if (!fn) {
      record_set(r, MP__ITEM_NOFN, 0, 0);
      continue;
    }
    size_t size = (size_t)h->item_size;
    const void *arg = NULL;
    if (size && !(arg = aligned_item(w, body + i * size, size)))
      return EXIT_NOMEM;
    int code = fn(arg, size, r);
    size_t got = r->len - r->rec - sizeof(mp__pe_item);
    if (code != 0) {
      r->len = r->rec + sizeof(mp__pe_item);
      record_set(r, MP__ITEM_TASK, code, 0);
    } else if (got > h->result_cap) {
      r->len = r->rec + sizeof(mp__pe_item);
      record_set(r, MP__ITEM_MSGSIZE, 0, got);
    }
  }
  MP__FAULT("pool.task.finished");
  if (w->io->put(w->io->ctx, r->buf, r->len) < 0)
    return EXIT_IO;
  MP__FAULT("pool.task.delivered");
  if (r->cap > RESULT_KEEP) {
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
  }
  return 0;
}

static int serve(worker *w) {
  void *buf = NULL;
  size_t cap = 0, len = 0;
  int rc = 0;
  for (;;) {
    if (w->io->get(w->io->ctx, &buf, &cap, &len) < 0) {
      rc = EXIT_IO;
      break;
    }
    mp__pw_hdr h;
    if (len < sizeof h) {
      rc = EXIT_PROTOCOL;
      break;
    }
    memcpy(&h, buf, sizeof h);
    const unsigned char *body = (const unsigned char *)buf + sizeof h;
    size_t blen = len - sizeof h;
    if (h.kind == MP__PW_EXIT)
      break;
    if (h.kind == MP__PW_DEFINE)
      rc = define(w, &h, body, blen);
    else if (h.kind == MP__PW_TASK)
      rc = run_task(w, &h, body, blen);
    else
      rc = EXIT_PROTOCOL;
    if (rc != 0)
      break;
    if (cap > RESULT_KEEP) {
      free(buf);
      buf = NULL;
      cap = 0;
    }
  }
  free(buf);
  return rc;
}

int mp__pool_worker_run(const mp__pool_wio *io, unsigned slot, uint32_t gen,
                        mp_target init, const void *initarg,
                        size_t initarg_size) {
  worker w;
  memset(&w, 0, sizeof w);
  w.io = io;
  w.slot = slot;
  w.gen = gen;
  w.res.magic = RESULT_MAGIC;
  if (init) {
    /* The initializer's own copy, kept for the worker's life: it may
     * keep pointers into it, as a Python initializer keeps its args. */
    void *copy = NULL;
    if (initarg_size && !(copy = malloc(initarg_size)))
      return EXIT_NOMEM;
    if (initarg_size)
      memcpy(copy, initarg, initarg_size);
    int code = init(copy);
    if (code != 0) {
      put_event(&w, MP__PE_INITFAIL, code);
      return 0;
    }
  }
  MP__FAULT("pool.worker.boot");
  if (put_event(&w, MP__PE_READY, 0) < 0)
    return EXIT_IO;
  int rc = serve(&w);
  free(w.fns);
  free(w.res.buf);
  free(w.scratch);
  w.res.magic = 0;
  return rc;
}
