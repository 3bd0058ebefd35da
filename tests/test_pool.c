/* Pool: the API, as CPython's _TestPool tests it (apply, map order and
 * chunksize, empty input, imap, imap_unordered, async timeout, callbacks
 * exactly once, error propagation, invalid arguments), plus what the C
 * API adds: task codes, MP_EMSGSIZE and retries, alignment, zeroed failed
 * slots.
 *
 * Most cases share one pool of 3 workers, made once for the group (under
 * Wine a worker costs ~30 ms to start); the worker faults and lifecycles
 * are in test_pool_faults.c, processes and shared objects in
 * test_pool_procs.c. */
#include "support/pool_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mp_pool *pool;

static int group_setup(void **state) {
  (void)state;
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = 3;
  return mp_pool_create(&pool, &o);
}

static int group_teardown(void **state) {
  (void)state;
  int rc = mp_pool_terminate(pool);
  if (rc == 0)
    rc = mp_pool_join(pool, TST_LONG_MS);
  if (rc == 0)
    rc = mp_pool_free(pool);
  return rc;
}

/* ---- Tasks of this file ---- */

/* The result is 40 + item_size bytes: a name and the item. */
typedef struct name_out {
  char name[32];
  int64_t daemon;
} name_out;

static int task_name(const void *arg, size_t size, mp_result *res) {
  (void)arg;
  (void)size;
  name_out o;
  memset(&o, 0, sizeof o);
  snprintf(o.name, sizeof o.name, "%s", mp_current_name());
  o.daemon = mp_current_daemon();
  return mp_result_set(res, &o, sizeof o);
}

/* Checks it got NULL, 0 and sets an empty result twice. */
static int task_empty(const void *arg, size_t size, mp_result *res) {
  if (arg != NULL || size != 0)
    return 1;
  if (mp_result_set(res, "xyz", 3) != 0 || mp_result_set(res, NULL, 0) != 0)
    return 2;
  /* Bad calls are refused, not crashes. */
  if (mp_result_set(NULL, "a", 1) != MP_EINVAL ||
      mp_result_set(res, NULL, 1) != MP_EINVAL)
    return 3;
  return 0;
}

/* An item of any size: fails unless aligned as malloc aligns; result: the
 * item's first byte, repeated `first byte` times (so sizes vary). */
static int task_aligned(const void *arg, size_t size, mp_result *res) {
  if ((uintptr_t)arg % tst_malloc_align() != 0)
    return 77;
  unsigned char b = size ? *(const unsigned char *)arg : 0;
  unsigned char out[256];
  memset(out, b, b);
  return mp_result_set(res, out, b);
}

/* int64 x: fails with code 1000 + x when x % 5 == 3; result x * 2 (8
 * bytes) except x % 7 == 2, whose result is 16 bytes. */
static int task_mixed(const void *arg, size_t size, mp_result *res) {
  int64_t x;
  if (size != sizeof x)
    return 101;
  memcpy(&x, arg, sizeof x);
  if (x % 5 == 3)
    return (int)(1000 + x);
  int64_t y[2] = {x * 2, x};
  return mp_result_set(res, y, x % 7 == 2 ? sizeof y : sizeof y[0]);
}

/* ---- apply ---- */

static void test_apply(void **state) {
  (void)state;
  int64_t x = 5, y = 0;
  size_t len = 99;
  assert_int_equal(mp_pool_apply(pool, pu_sqr, &x, sizeof x, &y, sizeof y, &len), 0);
  assert_int_equal(y, 25);
  assert_int_equal(len, sizeof y);
  /* out_len may be NULL. */
  x = -7;
  assert_int_equal(mp_pool_apply(pool, pu_sqr, &x, sizeof x, &y, sizeof y, NULL), 0);
  assert_int_equal(y, 49);
  /* No argument, empty result; out NULL with cap 0. */
  len = 99;
  assert_int_equal(mp_pool_apply(pool, task_empty, NULL, 0, NULL, 0, &len), 0);
  assert_int_equal(len, 0);
}

static void test_apply_worker_identity(void **state) {
  (void)state;
  name_out o;
  assert_int_equal(mp_pool_apply(pool, task_name, NULL, 0, &o, sizeof o, NULL), 0);
  /* Python's names and daemon flag for pool workers. */
  const char *want = tst_leg_is_spawn() ? "SpawnPoolWorker-" : "ForkPoolWorker-";
  assert_int_equal(strncmp(o.name, want, strlen(want)), 0);
  assert_int_equal(o.daemon, 1);
  pu_who w;
  assert_int_equal(mp_pool_apply(pool, pu_who_am_i, NULL, 0, &w, sizeof w, NULL), 0);
  assert_true(w.pid > 0);
  assert_int_not_equal(w.pid, mp_current_pid());
}

static void test_apply_task_fails(void **state) {
  (void)state;
  int code = 7;
  assert_int_equal(mp_pool_apply(pool, pu_code, &code, sizeof code, NULL, 0, NULL),
                   MP_ETASK);
  assert_int_equal(mp_pool_last_task_code(), 7);
  code = -123456;
  assert_int_equal(mp_pool_apply(pool, pu_code, &code, sizeof code, NULL, 0, NULL),
                   MP_ETASK);
  assert_int_equal(mp_pool_last_task_code(), -123456);
  /* The pool goes on. */
  int64_t x = 3, y = 0;
  assert_int_equal(mp_pool_apply(pool, pu_sqr, &x, sizeof x, &y, sizeof y, NULL), 0);
  assert_int_equal(y, 9);
  /* The code is per thread: a success does not reset it, another thread
   * has its own. */
  assert_int_equal(mp_pool_last_task_code(), -123456);
}

static int thread_code(void *arg) {
  (void)arg;
  int before = mp_pool_last_task_code();
  int code = 55;
  int rc = mp_pool_apply(pool, pu_code, &code, sizeof code, NULL, 0, NULL);
  return before == 0 && rc == MP_ETASK && mp_pool_last_task_code() == 55 ? 0 : 1;
}

static void test_task_code_per_thread(void **state) {
  (void)state;
  int code = 66;
  assert_int_equal(mp_pool_apply(pool, pu_code, &code, sizeof code, NULL, 0, NULL),
                   MP_ETASK);
  tst_thread *t = tst_thread_start(thread_code, NULL);
  assert_non_null(t);
  assert_int_equal(tst_thread_join(t), 0);
  assert_int_equal(mp_pool_last_task_code(), 66);
}

static void test_apply_msgsize(void **state) {
  (void)state;
  char big[100];
  memset(big, 'b', sizeof big);
  char out[10];
  size_t len = 0;
  assert_int_equal(mp_pool_apply(pool, pu_echo, big, sizeof big, out, sizeof out, &len),
                   MP_EMSGSIZE);
  assert_int_equal(len, sizeof big);
  /* A size-only query: NULL out, cap 0. */
  assert_int_equal(mp_pool_apply(pool, pu_echo, big, 42, NULL, 0, &len), MP_EMSGSIZE);
  assert_int_equal(len, 42);
}

/* ---- map ---- */

static void test_map(void **state) {
  (void)state;
  int64_t items[100], out[100];
  for (int i = 0; i < 100; i++)
    items[i] = i;
  /* Automatic chunk size, 1, 20, and more than the count. */
  size_t sizes[] = {0, 1, 20, 1000};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    memset(out, 0xff, sizeof out);
    assert_int_equal(mp_pool_map(pool, pu_sqr, items, sizeof items[0], 100, out,
                                 sizeof out[0], sizes[k]),
                     0);
    for (int i = 0; i < 100; i++)
      assert_int_equal(out[i], (int64_t)i * i);
  }
  /* Ten items, the default. */
  assert_int_equal(mp_pool_map(pool, pu_sqr, items, sizeof items[0], 10, out,
                               sizeof out[0], 0), 0);
  assert_int_equal(out[9], 81);
}

/* A chunk runs whole in one worker: with chunksize 20 the items of one
 * chunk report one pid. Results are in input order whatever the order in
 * which chunks finish. */
static void test_map_chunks(void **state) {
  (void)state;
  int64_t items[100];
  pu_who who[100];
  for (int i = 0; i < 100; i++)
    items[i] = i;
  assert_int_equal(mp_pool_map(pool, pu_who_am_i, items, sizeof items[0], 100, who,
                               sizeof who[0], 20),
                   0);
  for (int i = 0; i < 100; i++) {
    assert_int_equal(who[i].item, i);
    assert_int_equal(who[i].pid, who[i - i % 20].pid);
  }
}

static void test_map_empty(void **state) {
  (void)state;
  /* Python: map, imap, imap_unordered and map_async of [] give []. */
  assert_int_equal(mp_pool_map(pool, pu_sqr, NULL, 0, 0, NULL, 0, 0), 0);
  assert_int_equal(mp_pool_map(pool, pu_sqr, NULL, 8, 0, NULL, 0, 1), 0);
  mp_async *a = NULL;
  assert_int_equal(mp_pool_map_async(pool, pu_sqr, NULL, 8, 0, NULL, 0, 1, NULL, &a), 0);
  assert_int_equal(mp_async_wait(a, TST_LONG_MS), 0);
  assert_int_equal(mp_async_successful(a), 1);
  assert_int_equal(mp_async_get(a, NULL, 0, NULL, 0), 0);
  assert_int_equal(mp_async_free(a), 0);
  for (int unordered = 0; unordered < 2; unordered++) {
    mp_imap *it = NULL;
    assert_int_equal(mp_pool_imap(pool, pu_sqr, NULL, 8, 0, 0, unordered, &it), 0);
    assert_int_equal(mp_imap_next(it, NULL, 0, NULL, NULL, TST_LONG_MS), MP_EDONE);
    assert_int_equal(mp_imap_next(it, NULL, 0, NULL, NULL, 0), MP_EDONE);
    assert_int_equal(mp_imap_free(it), 0);
  }
}

/* The first failure in input order wins; successes are written, failed
 * slots zeroed; results larger than result_size are MP_EMSGSIZE. */
static void test_map_failures(void **state) {
  (void)state;
  int64_t items[40], out[40];
  for (int i = 0; i < 40; i++)
    items[i] = i;
  for (size_t chunk = 1; chunk <= 7; chunk += 6) {
    memset(out, 0xff, sizeof out);
    /* item 2 (2 % 7 == 2): 16 bytes > 8: MP_EMSGSIZE, before item 3's
     * task failure. */
    assert_int_equal(mp_pool_map(pool, task_mixed, items, 8, 40, out, 8, chunk),
                     MP_EMSGSIZE);
    for (int i = 0; i < 40; i++) {
      int failed = i % 5 == 3 || i % 7 == 2;
      assert_int_equal(out[i], failed ? 0 : (int64_t)i * 2);
    }
    /* From item 3 on: a task failure, code 1003. */
    memset(out, 0xff, sizeof out);
    assert_int_equal(mp_pool_map(pool, task_mixed, items + 3, 8, 37, out, 8, chunk),
                     MP_ETASK);
    assert_int_equal(mp_pool_last_task_code(), 1003);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 8);
  }
  /* Larger result slots hold the 16 bytes, zero-padded beyond. */
  unsigned char wide[40][24];
  memset(wide, 0xff, sizeof wide);
  assert_int_equal(mp_pool_map(pool, task_mixed, items, 8, 40, wide, 24, 0), MP_ETASK);
  assert_int_equal(mp_pool_last_task_code(), 1003);
  int64_t v[3];
  memcpy(v, wide[9], sizeof v); /* 9 % 7 == 2: 16 bytes */
  assert_int_equal(v[0], 18);
  assert_int_equal(v[1], 9);
  assert_int_equal(v[2], 0);
  memcpy(v, wide[4], sizeof v);
  assert_int_equal(v[0], 8);
  assert_int_equal(v[1], 0);
  /* map_async: the code of its first failing item. */
  mp_async *a;
  assert_int_equal(mp_pool_map_async(pool, task_mixed, items + 8, 8, 32, out, 8, 3,
                                     NULL, &a), 0);
  assert_int_equal(mp_async_get(a, NULL, 0, NULL, TST_LONG_MS), MP_ETASK);
  assert_int_equal(mp_async_task_code(a), 1008);
  assert_int_equal(mp_async_successful(a), 0);
  assert_int_equal(mp_async_free(a), 0);
  /* results NULL with result_size 0: dropped, failures still told. */
  assert_int_equal(mp_pool_map(pool, task_mixed, items, 8, 3, NULL, 0, 0), MP_EMSGSIZE);
  assert_int_equal(mp_pool_map(pool, task_mixed, items + 3, 8, 2, NULL, 0, 0), MP_ETASK);
  int64_t ok[2] = {0, 1};
  assert_int_equal(mp_pool_map(pool, pu_code, ok, 4, 1, NULL, 0, 0), 0);
}

/* Items of odd sizes reach the task aligned as malloc aligns, in apply,
 * map and imap. */
static void test_alignment(void **state) {
  (void)state;
  unsigned char items[64 * 3];
  for (int i = 0; i < 64 * 3; i++)
    items[i] = (unsigned char)(i / 3);
  unsigned char out[64][64];
  assert_int_equal(mp_pool_map(pool, task_aligned, items, 3, 64, out, 64, 5), 0);
  for (int i = 0; i < 64; i++)
    for (int k = 0; k < 64; k++)
      assert_int_equal(out[i][k], k < i ? i : 0);
  size_t len;
  assert_int_equal(mp_pool_apply(pool, task_aligned, items + 31, 7, out[0], 64, &len), 0);
  assert_int_equal(len, 10);
  mp_imap *it;
  assert_int_equal(mp_pool_imap(pool, task_aligned, items, 1, 30, 7, 0, &it), 0);
  size_t idx;
  for (size_t i = 0; i < 30; i++) {
    assert_int_equal(mp_imap_next(it, out[0], 64, &len, &idx, TST_LONG_MS), 0);
    assert_int_equal(idx, i);
    assert_int_equal(len, items[i]);
  }
  assert_int_equal(mp_imap_free(it), 0);
}

/* ---- apply_async ---- */

static void test_async(void **state) {
  (void)state;
  int64_t x = 7, y = 0;
  mp_async *a = NULL;
  assert_int_equal(mp_pool_apply_async(pool, pu_sqr, &x, sizeof x, NULL, &a), 0);
  assert_non_null(a);
  size_t len;
  assert_int_equal(mp_async_get(a, &y, sizeof y, &len, TST_LONG_MS), 0);
  assert_int_equal(y, 49);
  assert_int_equal(len, sizeof y);
  assert_int_equal(mp_async_ready(a), 1);
  assert_int_equal(mp_async_successful(a), 1);
  assert_int_equal(mp_async_task_code(a), 0);
  /* get again: the result stays until free. */
  y = 0;
  assert_int_equal(mp_async_get(a, &y, sizeof y, NULL, 0), 0);
  assert_int_equal(y, 49);
  assert_int_equal(mp_async_free(a), 0);
}

/* Python's test_async_timeout: get with a timeout on a task that does not
 * end gives a timeout after about that long; the task is held by an event,
 * not a sleep, so the test costs no idle time. */
static void test_async_timeout(void **state) {
  (void)state;
  mp_shm m;
  pu_board *b = pu_board_new(&m);
  pu_job j = pu_job_held(m, 0);
  mp_async *a;
  assert_int_equal(mp_pool_apply_async(pool, pu_hold, &j, sizeof j, NULL, &a), 0);
  assert_int_equal(mp_async_ready(a), 0);
  assert_int_equal(mp_async_successful(a), MP_ESTATE);
  assert_int_equal(mp_async_task_code(a), 0);
  assert_int_equal(mp_async_free(a), MP_ESTATE);
  int64_t start = tst_now_ms();
  int64_t pid;
  assert_int_equal(mp_async_get(a, &pid, sizeof pid, NULL, 200), MP_ETIMEDOUT);
  su_assert_took(start, 200);
  start = tst_now_ms();
  assert_int_equal(mp_async_wait(a, 100), MP_ETIMEDOUT);
  su_assert_took(start, 100);
  assert_int_equal(mp_async_wait(a, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_event_set(&j.go), 0);
  assert_int_equal(mp_async_get(a, &pid, sizeof pid, NULL, TST_LONG_MS), 0);
  assert_int_equal(pid, pu_wait_pid(b, 0));
  assert_int_equal(mp_async_free(a), 0);
  assert_int_equal(mp_event_free(&j.go), 0);
  assert_int_equal(mp_shm_free(&m), 0);
}

static void test_async_msgsize_retry(void **state) {
  (void)state;
  char big[300];
  for (int i = 0; i < 300; i++)
    big[i] = (char)i;
  mp_async *a;
  assert_int_equal(mp_pool_apply_async(pool, pu_echo, big, sizeof big, NULL, &a), 0);
  char out[300];
  size_t len = 0;
  assert_int_equal(mp_async_get(a, out, 10, &len, TST_LONG_MS), MP_EMSGSIZE);
  assert_int_equal(len, 300);
  assert_int_equal(mp_async_get(a, NULL, 0, &len, 0), MP_EMSGSIZE);
  assert_int_equal(mp_async_get(a, out, sizeof out, &len, 0), 0);
  assert_int_equal(len, 300);
  assert_memory_equal(out, big, 300);
  assert_int_equal(mp_async_free(a), 0);
}

/* ---- callbacks ---- */

typedef struct cb_rec {
  _Atomic int ok, err;
  _Atomic int got_inside; /* mp_async_get inside the callback */
  int64_t value;
  mp_async *a;            /* the handle, as the callback saw it */
} cb_rec;

static void on_ok(mp_async *a, void *user) {
  cb_rec *r = user;
  int64_t v = 0;
  if (mp_async_ready(a) == 1 && mp_async_get(a, &v, sizeof v, NULL, 0) == 0)
    atomic_fetch_add(&r->got_inside, 1);
  r->value = v;
  r->a = a;
  atomic_fetch_add(&r->ok, 1);
}

static void on_err(mp_async *a, void *user) {
  cb_rec *r = user;
  if (mp_async_get(a, NULL, 0, NULL, 0) == MP_ETASK && mp_async_successful(a) == 0)
    atomic_fetch_add(&r->got_inside, 1);
  r->value = mp_async_task_code(a);
  r->a = a;
  atomic_fetch_add(&r->err, 1);
}

/* Each task's callback runs once, the right one, before mp_async_wait
 * returns; mp_async_get works inside it. */
static void test_callbacks_exactly_once(void **state) {
  (void)state;
  enum { N = 200 };
  static cb_rec recs[N];
  mp_async *as[N];
  memset(recs, 0, sizeof recs);
  for (int i = 0; i < N; i++) {
    mp_async_options o = {on_ok, on_err, &recs[i]};
    int64_t x = i;
    int code = 500 + i;
    if (i % 2)
      assert_int_equal(mp_pool_apply_async(pool, pu_code, &code, sizeof code, &o,
                                           &as[i]), 0);
    else
      assert_int_equal(mp_pool_apply_async(pool, pu_sqr, &x, sizeof x, &o, &as[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_async_wait(as[i], TST_LONG_MS), 0);
    /* Already ran when wait returned. */
    assert_int_equal(atomic_load(&recs[i].ok) + atomic_load(&recs[i].err), 1);
    assert_int_equal(atomic_load(&recs[i].got_inside), 1);
    assert_ptr_equal(recs[i].a, as[i]);
    if (i % 2) {
      assert_int_equal(atomic_load(&recs[i].err), 1);
      assert_int_equal(recs[i].value, 500 + i);
    } else {
      assert_int_equal(atomic_load(&recs[i].ok), 1);
      assert_int_equal(recs[i].value, (int64_t)i * i);
    }
    assert_int_equal(mp_async_free(as[i]), 0);
  }
  /* Nothing runs twice later. */
  tst_sleep_ms(50);
  for (int i = 0; i < N; i++)
    assert_int_equal(atomic_load(&recs[i].ok) + atomic_load(&recs[i].err), 1);
}

/* A map_async's callback runs once for the whole map (Python's
 * test_map_async_callbacks); an empty map_async calls back too. */
static void test_map_async_callbacks(void **state) {
  (void)state;
  cb_rec r;
  memset(&r, 0, sizeof r);
  mp_async_options o = {on_ok, on_err, &r};
  int64_t items[30], out[30];
  for (int i = 0; i < 30; i++)
    items[i] = i;
  mp_async *a;
  assert_int_equal(mp_pool_map_async(pool, pu_sqr, items, 8, 30, out, 8, 4, &o, &a), 0);
  assert_int_equal(mp_async_wait(a, TST_LONG_MS), 0);
  assert_int_equal(atomic_load(&r.ok), 1);
  assert_int_equal(atomic_load(&r.err), 0);
  assert_int_equal(out[29], 29 * 29);
  assert_int_equal(mp_async_free(a), 0);
  memset(&r, 0, sizeof r);
  assert_int_equal(mp_pool_map_async(pool, task_mixed, items, 8, 30, out, 8, 4, &o, &a), 0);
  assert_int_equal(mp_async_wait(a, TST_LONG_MS), 0);
  assert_int_equal(atomic_load(&r.ok), 0);
  assert_int_equal(atomic_load(&r.err), 1);
  assert_int_equal(mp_async_free(a), 0);
  memset(&r, 0, sizeof r);
  assert_int_equal(mp_pool_map_async(pool, pu_sqr, NULL, 8, 0, NULL, 0, 0, &o, &a), 0);
  assert_int_equal(mp_async_wait(a, TST_LONG_MS), 0);
  assert_int_equal(atomic_load(&r.ok), 1);
  assert_int_equal(mp_async_free(a), 0);
}

/* Fire and forget: no handle; the callbacks still run once, with a handle
 * valid inside them, and the library frees it (ASan's leak check and the
 * handle count below would see otherwise). */
static _Atomic int forgotten_ok, forgotten_err, forgotten_free_refused;

static void forget_ok(mp_async *a, void *user) {
  (void)user;
  int64_t v = 0;
  if (mp_async_get(a, &v, sizeof v, NULL, 0) == 0 && v == 144)
    atomic_fetch_add(&forgotten_ok, 1);
  if (mp_async_free(a) == MP_ESTATE) /* the library's, not ours */
    atomic_fetch_add(&forgotten_free_refused, 1);
}

static void forget_err(mp_async *a, void *user) {
  (void)user;
  if (mp_async_task_code(a) == 31)
    atomic_fetch_add(&forgotten_err, 1);
}

static void test_fire_and_forget(void **state) {
  (void)state;
  atomic_store(&forgotten_ok, 0);
  atomic_store(&forgotten_err, 0);
  mp_async_options o = {forget_ok, forget_err, NULL};
  int64_t x = 12;
  int code = 31;
  for (int i = 0; i < 50; i++) {
    assert_int_equal(mp_pool_apply_async(pool, pu_sqr, &x, sizeof x, &o, NULL), 0);
    assert_int_equal(mp_pool_apply_async(pool, pu_code, &code, sizeof code, &o, NULL), 0);
  }
  /* Without any callback at all, too (the seeds' apply_async(worker,(i,))). */
  for (int i = 0; i < 50; i++)
    assert_int_equal(mp_pool_apply_async(pool, pu_sqr, &x, sizeof x, NULL, NULL), 0);
  int64_t end = tst_now_ms() + TST_LONG_MS;
  while ((atomic_load(&forgotten_ok) < 50 || atomic_load(&forgotten_err) < 50) &&
         tst_now_ms() < end)
    tst_sleep_ms(2);
  assert_int_equal(atomic_load(&forgotten_ok), 50);
  assert_int_equal(atomic_load(&forgotten_err), 50);
  assert_int_equal(atomic_load(&forgotten_free_refused), 50);
}

/* What a callback may and may not do: submit more work, read its own
 * result, free its own handle; not wait on the pool it runs for (that
 * would wait for itself): MP_ESTATE, never a hang. */
typedef struct cb_calls {
  mp_async *other;  /* a task that cannot end while the callback runs */
  int apply_rc, join_rc, free_rc, wait_rc, wait0_rc, submit_rc;
  int map_rc, self_free_rc, terminate_rc;
  mp_async *submitted;
  _Atomic int done;
} cb_calls;

static void on_calls(mp_async *a, void *user) {
  cb_calls *c = user;
  int64_t x = 2;
  c->apply_rc = mp_pool_apply(pool, pu_sqr, &x, sizeof x, NULL, 0, NULL);
  c->map_rc = mp_pool_map(pool, pu_sqr, &x, 8, 1, NULL, 0, 0);
  c->join_rc = mp_pool_join(pool, 0);
  c->free_rc = mp_pool_free(pool);
  c->wait_rc = mp_async_wait(c->other, MP_INFINITE);
  c->wait0_rc = mp_async_wait(c->other, 0);
  c->submit_rc = mp_pool_apply_async(pool, pu_sqr, &x, sizeof x, NULL, &c->submitted);
  c->self_free_rc = mp_async_free(a);
  atomic_store(&c->done, 1);
}

static void test_callback_rules(void **state) {
  (void)state;
  mp_shm m;
  pu_board *b = pu_board_new(&m);
  (void)b;
  pu_job j = pu_job_held(m, 1);
  cb_calls c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mp_pool_apply_async(pool, pu_hold, &j, sizeof j, NULL, &c.other), 0);
  mp_async_options o = {on_calls, on_calls, &c};
  int64_t x = 3;
  mp_async *a;
  assert_int_equal(mp_pool_apply_async(pool, pu_sqr, &x, sizeof x, &o, &a), 0);
  int64_t end = tst_now_ms() + TST_LONG_MS;
  while (!atomic_load(&c.done) && tst_now_ms() < end)
    tst_sleep_ms(2);
  assert_int_equal(atomic_load(&c.done), 1);
  assert_int_equal(c.apply_rc, MP_ESTATE);
  assert_int_equal(c.map_rc, MP_ESTATE);
  assert_int_equal(c.join_rc, MP_ESTATE);
  assert_int_equal(c.free_rc, MP_ESTATE);
  assert_int_equal(c.wait_rc, MP_ESTATE);
  assert_int_equal(c.wait0_rc, MP_ETIMEDOUT);
  assert_int_equal(c.submit_rc, 0);
  assert_int_equal(c.self_free_rc, 0); /* `a` is gone after the callback */
  int64_t y = 0;
  assert_int_equal(mp_async_get(c.submitted, &y, sizeof y, NULL, TST_LONG_MS), 0);
  assert_int_equal(y, 4);
  assert_int_equal(mp_async_free(c.submitted), 0);
  assert_int_equal(mp_event_set(&j.go), 0);
  assert_int_equal(mp_async_wait(c.other, TST_LONG_MS), 0);
  assert_int_equal(mp_async_free(c.other), 0);
  assert_int_equal(mp_event_free(&j.go), 0);
  assert_int_equal(mp_shm_free(&m), 0);
}

/* ---- imap ---- */

static void test_imap(void **state) {
  (void)state;
  enum { N = 1000 };
  static int64_t items[N];
  for (int i = 0; i < N; i++)
    items[i] = i;
  size_t chunks[] = {0, 1, 100};
  for (size_t k = 0; k < 3; k++) {
    size_t n = chunks[k] == 100 ? N : 10;
    mp_imap *it = NULL;
    assert_int_equal(mp_pool_imap(pool, pu_sqr, items, 8, n, chunks[k], 0, &it), 0);
    for (size_t i = 0; i < n; i++) {
      int64_t y = -1;
      size_t len = 0, idx = 99999;
      assert_int_equal(mp_imap_next(it, &y, sizeof y, &len, &idx, TST_LONG_MS), 0);
      assert_int_equal(idx, i);
      assert_int_equal(len, 8);
      assert_int_equal(y, (int64_t)(i * i));
    }
    assert_int_equal(mp_imap_next(it, NULL, 0, NULL, NULL, TST_LONG_MS), MP_EDONE);
    assert_int_equal(mp_imap_free(it), 0);
  }
}

static void test_imap_unordered(void **state) {
  (void)state;
  enum { N = 1000 };
  static int64_t items[N];
  static char seen[N];
  for (int i = 0; i < N; i++)
    items[i] = i;
  size_t chunks[] = {1, 100};
  for (size_t k = 0; k < 2; k++) {
    memset(seen, 0, sizeof seen);
    mp_imap *it;
    assert_int_equal(mp_pool_imap(pool, pu_sqr, items, 8, N, chunks[k], 1, &it), 0);
    for (int i = 0; i < N; i++) {
      int64_t y;
      size_t idx = N;
      assert_int_equal(mp_imap_next(it, &y, sizeof y, NULL, &idx, TST_LONG_MS), 0);
      assert_true(idx < N);
      assert_int_equal(seen[idx], 0); /* every index exactly once */
      seen[idx] = 1;
      assert_int_equal(y, (int64_t)(idx * idx));
    }
    assert_int_equal(mp_imap_next(it, NULL, 0, NULL, NULL, 0), MP_EDONE);
    assert_int_equal(mp_imap_free(it), 0);
  }
}

/* Python's test_imap_handle_iterable_exception, for failing items:
 * the failure comes for that item and iteration goes on. */
static void test_imap_failures(void **state) {
  (void)state;
  int64_t items[20];
  for (int i = 0; i < 20; i++)
    items[i] = i;
  for (int unordered = 0; unordered < 2; unordered++) {
    mp_imap *it;
    assert_int_equal(mp_pool_imap(pool, task_mixed, items, 8, 20, 2, unordered, &it), 0);
    char seen[20] = {0};
    for (int k = 0; k < 20; k++) {
      int64_t y[2];
      size_t len = 0, idx = 99;
      int rc = mp_imap_next(it, y, sizeof y, &len, &idx, TST_LONG_MS);
      assert_true(idx < 20);
      if (!unordered)
        assert_int_equal(idx, k);
      assert_int_equal(seen[idx], 0);
      seen[idx] = 1;
      if (idx % 5 == 3) {
        assert_int_equal(rc, MP_ETASK);
        assert_int_equal(mp_pool_last_task_code(), (int)(1000 + idx));
      } else {
        assert_int_equal(rc, 0);
        assert_int_equal(y[0], (int64_t)idx * 2);
        assert_int_equal(len, idx % 7 == 2 ? 16 : 8);
      }
    }
    assert_int_equal(mp_imap_next(it, NULL, 0, NULL, NULL, TST_LONG_MS), MP_EDONE);
    assert_int_equal(mp_imap_free(it), 0);
  }
}

static void test_imap_msgsize_retry(void **state) {
  (void)state;
  char items[4][100];
  memset(items, 'q', sizeof items);
  mp_imap *it;
  assert_int_equal(mp_pool_imap(pool, pu_echo, items, 100, 4, 1, 0, &it), 0);
  char out[100];
  size_t len = 0, idx = 9;
  assert_int_equal(mp_imap_next(it, out, 50, &len, &idx, TST_LONG_MS), MP_EMSGSIZE);
  assert_int_equal(len, 100);
  assert_int_equal(idx, 0);
  /* Still the first. */
  idx = 9;
  assert_int_equal(mp_imap_next(it, out, sizeof out, &len, &idx, TST_LONG_MS), 0);
  assert_int_equal(idx, 0);
  assert_memory_equal(out, items[0], 100);
  /* Give up early: allowed, and the pool goes on. */
  assert_int_equal(mp_imap_free(it), 0);
  int64_t x = 6, y;
  assert_int_equal(mp_pool_apply(pool, pu_sqr, &x, 8, &y, 8, NULL), 0);
  assert_int_equal(y, 36);
}

static void test_imap_timeout(void **state) {
  (void)state;
  mp_shm m;
  pu_board *b = pu_board_new(&m);
  (void)b;
  pu_job j = pu_job_held(m, 2);
  mp_imap *it;
  assert_int_equal(mp_pool_imap(pool, pu_hold, &j, sizeof j, 1, 1, 0, &it), 0);
  int64_t start = tst_now_ms();
  size_t idx = 77;
  assert_int_equal(mp_imap_next(it, NULL, 0, NULL, &idx, 150), MP_ETIMEDOUT);
  su_assert_took(start, 150);
  assert_int_equal(idx, 77); /* no item concerned */
  assert_int_equal(mp_event_set(&j.go), 0);
  int64_t pid;
  assert_int_equal(mp_imap_next(it, &pid, sizeof pid, NULL, &idx, TST_LONG_MS), 0);
  assert_int_equal(idx, 0);
  assert_int_equal(mp_imap_next(it, NULL, 0, NULL, NULL, 0), MP_EDONE);
  assert_int_equal(mp_imap_free(it), 0);
  assert_int_equal(mp_event_free(&j.go), 0);
  assert_int_equal(mp_shm_free(&m), 0);
}

/* ---- invalid arguments ---- */

static void test_invalid_arguments(void **state) {
  (void)state;
  int64_t x = 1, y;
  size_t len;
  mp_async *a = NULL;
  mp_imap *it = NULL;
  /* create */
  assert_int_equal(mp_pool_create(NULL, NULL), MP_EINVAL);
  mp_pool *p = (mp_pool *)&x;
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.initarg_size = 4;
  assert_int_equal(mp_pool_create(&p, &o), MP_EINVAL);
  assert_null(p);
  memset(&o, 0, sizeof o);
  o.method = (mp_start_method)99;
  assert_int_equal(mp_pool_create(&p, &o), MP_EINVAL);
  o.method = (mp_start_method)-1;
  assert_int_equal(mp_pool_create(&p, &o), MP_EINVAL);
  memset(&o, 0, sizeof o);
  o.processes = 1000000;
  assert_int_equal(mp_pool_create(&p, &o), MP_EINVAL);
#ifdef _WIN32
  memset(&o, 0, sizeof o);
  o.method = MP_START_FORK;
  assert_int_equal(mp_pool_create(&p, &o), MP_ENOTSUP);
#endif
  /* a task or initializer that is not code */
  memset(&o, 0, sizeof o);
  o.initializer = (mp_target)(uintptr_t)&x;
  assert_int_equal(mp_pool_create(&p, &o), MP_EINVAL);
  assert_int_equal(mp_pool_apply(pool, (mp_task)(uintptr_t)&x, NULL, 0, NULL, 0, NULL),
                   MP_EINVAL);

  /* apply */
  assert_int_equal(mp_pool_apply(NULL, pu_sqr, &x, 8, &y, 8, &len), MP_EINVAL);
  assert_int_equal(mp_pool_apply(pool, NULL, &x, 8, &y, 8, &len), MP_EINVAL);
  assert_int_equal(mp_pool_apply(pool, pu_sqr, NULL, 8, &y, 8, &len), MP_EINVAL);
  assert_int_equal(mp_pool_apply(pool, pu_sqr, &x, 8, NULL, 8, &len), MP_EINVAL);
  /* apply_async */
  assert_int_equal(mp_pool_apply_async(NULL, pu_sqr, &x, 8, NULL, &a), MP_EINVAL);
  assert_int_equal(mp_pool_apply_async(pool, NULL, &x, 8, NULL, &a), MP_EINVAL);
  assert_int_equal(mp_pool_apply_async(pool, pu_sqr, NULL, 8, NULL, &a), MP_EINVAL);
  assert_null(a);
  /* map */
  assert_int_equal(mp_pool_map(NULL, pu_sqr, &x, 8, 1, &y, 8, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map(pool, NULL, &x, 8, 1, &y, 8, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map(pool, pu_sqr, NULL, 8, 1, &y, 8, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map(pool, pu_sqr, &x, 0, 1, &y, 8, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map(pool, pu_sqr, &x, 8, 1, NULL, 8, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map(pool, pu_sqr, &x, SIZE_MAX / 2, 4, &y, 8, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map(pool, pu_sqr, &x, 8, 4, &y, SIZE_MAX / 2, 0), MP_EINVAL);
  assert_int_equal(mp_pool_map_async(pool, pu_sqr, NULL, 8, 2, &y, 8, 0, NULL, &a),
                   MP_EINVAL);
  assert_null(a);
  /* imap */
  assert_int_equal(mp_pool_imap(pool, pu_sqr, &x, 8, 1, 0, 0, NULL), MP_EINVAL);
  assert_int_equal(mp_pool_imap(NULL, pu_sqr, &x, 8, 1, 0, 0, &it), MP_EINVAL);
  assert_int_equal(mp_pool_imap(pool, NULL, &x, 8, 1, 0, 0, &it), MP_EINVAL);
  assert_int_equal(mp_pool_imap(pool, pu_sqr, NULL, 8, 1, 0, 0, &it), MP_EINVAL);
  assert_int_equal(mp_pool_imap(pool, pu_sqr, &x, 0, 1, 0, 0, &it), MP_EINVAL);
  assert_null(it);
  /* the handles */
  assert_int_equal(mp_async_ready(NULL), MP_EINVAL);
  assert_int_equal(mp_async_successful(NULL), MP_EINVAL);
  assert_int_equal(mp_async_wait(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_async_get(NULL, NULL, 0, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_async_task_code(NULL), MP_EINVAL);
  assert_int_equal(mp_async_free(NULL), MP_EINVAL);
  assert_int_equal(mp_imap_next(NULL, NULL, 0, NULL, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_imap_free(NULL), MP_EINVAL);
  /* a garbage handle, a garbage pool */
  int64_t junk[64];
  memset(junk, 0x5a, sizeof junk);
  assert_int_equal(mp_async_ready((mp_async *)junk), MP_EINVAL);
  assert_int_equal(mp_imap_free((mp_imap *)junk), MP_EINVAL);
  assert_int_equal(mp_pool_close((mp_pool *)junk), MP_EINVAL);
  assert_int_equal(mp_pool_apply((mp_pool *)junk, pu_sqr, &x, 8, &y, 8, NULL), MP_EINVAL);
  /* timeouts below -1, buffers */
  assert_int_equal(mp_pool_apply_async(pool, pu_sqr, &x, 8, NULL, &a), 0);
  assert_int_equal(mp_async_wait(a, -2), MP_EINVAL);
  assert_int_equal(mp_async_get(a, &y, 8, NULL, -5), MP_EINVAL);
  assert_int_equal(mp_async_get(a, NULL, 8, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_async_get(a, &y, 8, NULL, TST_LONG_MS), 0);
  assert_int_equal(mp_async_free(a), 0);
  assert_int_equal(mp_pool_imap(pool, pu_sqr, &x, 8, 1, 0, 0, &it), 0);
  assert_int_equal(mp_imap_next(it, &y, 8, NULL, NULL, -2), MP_EINVAL);
  assert_int_equal(mp_imap_next(it, NULL, 8, NULL, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_imap_free(it), 0);
  /* the pool calls */
  assert_int_equal(mp_pool_close(NULL), MP_EINVAL);
  assert_int_equal(mp_pool_terminate(NULL), MP_EINVAL);
  assert_int_equal(mp_pool_join(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_pool_join(pool, -2), MP_EINVAL);
  assert_int_equal(mp_pool_free(NULL), MP_EINVAL);
  /* join while open */
  assert_int_equal(mp_pool_join(pool, 0), MP_ESTATE);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apply),
      cmocka_unit_test(test_apply_worker_identity),
      cmocka_unit_test(test_apply_task_fails),
      cmocka_unit_test(test_task_code_per_thread),
      cmocka_unit_test(test_apply_msgsize),
      cmocka_unit_test(test_map),
      cmocka_unit_test(test_map_chunks),
      cmocka_unit_test(test_map_empty),
      cmocka_unit_test(test_map_failures),
      cmocka_unit_test(test_alignment),
      cmocka_unit_test(test_async),
      cmocka_unit_test(test_async_timeout),
      cmocka_unit_test(test_async_msgsize_retry),
      cmocka_unit_test(test_callbacks_exactly_once),
      cmocka_unit_test(test_map_async_callbacks),
      cmocka_unit_test(test_fire_and_forget),
      cmocka_unit_test(test_callback_rules),
      cmocka_unit_test(test_imap),
      cmocka_unit_test(test_imap_unordered),
      cmocka_unit_test(test_imap_failures),
      cmocka_unit_test(test_imap_msgsize_retry),
      cmocka_unit_test(test_imap_timeout),
      cmocka_unit_test(test_invalid_arguments),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
