/* Pool: processes and shared objects. A pool inside a child process
 * (CPython's test_pool_in_process), a forked child of the pool's process
 * (which must not touch the parent's pool), workers dying with a parent
 * that is killed, more than 64 workers (Python stops at 61 on Windows:
 * cpython issue 89240), tasks using every kind of shared object made
 * before or after the pool started (the seeds' Manager().Queue() is a
 * plain mp_queue), the pipe rules, 64 MiB arguments and results, and a
 * program that leaves its pool open at exit. */
#include "support/pool_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Shared objects in tasks ---- */

typedef struct objects {
  mp_queue q;
  mp_lock l;
  mp_rlock rl;
  mp_sem s;
  mp_event e;
  mp_cond c;
  mp_barrier b; /* one party: a wait returns at once */
  mp_shm m;
  int64_t tag;
} objects;

static void objects_make(objects *o, int64_t tag) {
  memset(o, 0, sizeof *o);
  assert_int_equal(mp_queue_create(&o->q, 0), 0);
  assert_int_equal(mp_lock_create(&o->l), 0);
  assert_int_equal(mp_rlock_create(&o->rl), 0);
  assert_int_equal(mp_sem_create(&o->s, 0, 0), 0);
  assert_int_equal(mp_event_create(&o->e), 0);
  assert_int_equal(mp_cond_create(&o->c), 0);
  assert_int_equal(mp_barrier_create(&o->b, 1), 0);
  assert_int_equal(mp_shm_create(&o->m, 64), 0);
  o->tag = tag;
}

static void objects_check_and_free(objects *o) {
  char buf[16];
  size_t len;
  assert_int_equal(mp_queue_get(&o->q, buf, sizeof buf, &len, TST_LONG_MS), 0);
  assert_int_equal(len, 8);
  int64_t v;
  memcpy(&v, buf, 8);
  assert_int_equal(v, o->tag);
  unsigned sv = 0;
  assert_int_equal(mp_sem_value(&o->s, &sv), 0);
  assert_int_equal(sv, 1);
  assert_int_equal(mp_event_is_set(&o->e), 1);
  int64_t *shm = mp_shm_ptr(o->m);
  assert_non_null(shm);
  assert_int_equal(shm[0], o->tag * 3);
  assert_int_equal(mp_lock_acquire(&o->l, 0), 0); /* released by the task */
  assert_int_equal(mp_lock_release(&o->l), 0);
  mp_queue_free(&o->q);
  mp_lock_free(&o->l);
  mp_rlock_free(&o->rl);
  mp_sem_free(&o->s);
  mp_event_free(&o->e);
  mp_cond_free(&o->c);
  mp_barrier_free(&o->b);
  mp_shm_free(&o->m);
}

/* Uses each object once; returns the step that failed, or 0. */
static int task_use_objects(const void *arg, size_t size, mp_result *res) {
  (void)res;
  if (size != sizeof(objects))
    return 1;
  objects o;
  memcpy(&o, arg, sizeof o);
  if (mp_queue_put(&o.q, &o.tag, sizeof o.tag, 10000) != 0)
    return 2;
  if (mp_lock_acquire(&o.l, 10000) != 0 || mp_lock_release(&o.l) != 0)
    return 3;
  if (mp_rlock_acquire(&o.rl, 10000) != 0 || mp_rlock_acquire(&o.rl, 0) != 0 ||
      mp_rlock_release(&o.rl) != 0 || mp_rlock_release(&o.rl) != 0)
    return 4;
  if (mp_sem_release(&o.s) != 0)
    return 5;
  if (mp_event_set(&o.e) != 0)
    return 6;
  if (mp_cond_acquire(&o.c, 10000) != 0 || mp_cond_notify_all(&o.c) != 0 ||
      mp_cond_release(&o.c) != 0)
    return 7;
  if (mp_barrier_wait(&o.b, 10000) != 0)
    return 8;
  int64_t *shm = mp_shm_ptr(o.m);
  if (!shm)
    return 9;
  shm[0] = o.tag * 3;
  return 0;
}

static void test_shared_objects(void **state) {
  (void)state;
  objects before, after;
  objects_make(&before, 11);
  mp_pool *p = pu_pool(2, 0);
  /* Made after the workers started: under spawn (and on Windows) they must
   * still reach them, through the arena that existed before them. */
  objects_make(&after, 22);
  assert_int_equal(mp_pool_apply(p, task_use_objects, &before, sizeof before, NULL, 0,
                                 NULL), 0);
  assert_int_equal(mp_pool_apply(p, task_use_objects, &after, sizeof after, NULL, 0,
                                 NULL), 0);
  objects_check_and_free(&before);
  objects_check_and_free(&after);
  pu_pool_end(p);
}

/* The seeds' program: a writer task and a reader task, run with apply one
 * after the other, share one queue. */
static int task_writer(const void *arg, size_t size, mp_result *res) {
  (void)res;
  mp_queue q;
  if (size != sizeof q)
    return 1;
  memcpy(&q, arg, sizeof q);
  for (const char *c = "dongGe"; *c; c++)
    if (mp_queue_put(&q, c, 1, 10000) != 0)
      return 2;
  return 0;
}

static int task_reader(const void *arg, size_t size, mp_result *res) {
  mp_queue q;
  if (size != sizeof q)
    return 1;
  memcpy(&q, arg, sizeof q);
  char out[16];
  int n = mp_queue_qsize(&q);
  if (n < 0 || n > 15)
    return 2;
  for (int i = 0; i < n; i++) {
    size_t len;
    if (mp_queue_get(&q, &out[i], 1, &len, 10000) != 0)
      return 3;
  }
  return mp_result_set(res, out, (size_t)n);
}

static void test_queue_between_tasks(void **state) {
  (void)state;
  mp_pool *p = pu_pool(2, 0);
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  assert_int_equal(mp_pool_apply(p, task_writer, &q, sizeof q, NULL, 0, NULL), 0);
  char got[16];
  size_t len = 0;
  assert_int_equal(mp_pool_apply(p, task_reader, &q, sizeof q, got, sizeof got, &len), 0);
  assert_int_equal(len, 6);
  assert_memory_equal(got, "dongGe", 6);
  assert_int_equal(mp_pool_close(p), 0);
  assert_int_equal(mp_pool_join(p, TST_LONG_MS), 0);
  assert_int_equal(mp_pool_free(p), 0);
  assert_int_equal(mp_queue_free(&q), 0);
}

/* ---- Pipes follow the pipe rules ---- */

static int task_send(const void *arg, size_t size, mp_result *res) {
  (void)res;
  mp_conn c;
  if (size != sizeof c)
    return 1;
  memcpy(&c, arg, sizeof c);
  int rc = mp_conn_send(&c, "ping", 4);
  return rc == 0 ? 0 : rc;
}

static void test_pipe_rules(void **state) {
  (void)state;
  mp_conn r1, w1, r2, w2;
  assert_int_equal(mp_pipe_create(&r1, &w1, 0), 0);
  mp_pool *p = pu_pool(1, 0);
  assert_int_equal(mp_pipe_create(&r2, &w2, 0), 0);
  /* Open before the worker started: it works in the task. */
  assert_int_equal(mp_pool_apply(p, task_send, &w1, sizeof w1, NULL, 0, NULL), 0);
  char buf[8];
  size_t len;
  assert_int_equal(mp_conn_recv(&r1, buf, sizeof buf, &len, TST_LONG_MS), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "ping", 4);
  /* Made after: the worker never had it, a clear error. */
  assert_int_equal(mp_pool_apply(p, task_send, &w2, sizeof w2, NULL, 0, NULL), MP_ETASK);
  assert_int_equal(mp_pool_last_task_code(), MP_ENOTSUP);
  pu_pool_end(p);
  mp_conn_close(&r1);
  mp_conn_close(&w1);
  mp_conn_close(&r2);
  mp_conn_close(&w2);
}

/* ---- Sizes ---- */

/* Checks the pattern, answers with the bytes reversed. */
static int task_reverse(const void *arg, size_t size, mp_result *res) {
  const unsigned char *in = arg;
  for (size_t i = 0; i < size; i += 4093)
    if (in[i] != (unsigned char)(i * 7 + 1))
      return 1;
  unsigned char *out = malloc(size ? size : 1);
  if (!out)
    return 2;
  for (size_t i = 0; i < size; i++)
    out[i] = in[size - 1 - i];
  int rc = mp_result_set(res, out, size);
  free(out);
  return rc;
}

static void test_large_and_empty(void **state) {
  (void)state;
  const size_t big = (size_t)64 << 20;
  unsigned char *in = malloc(big), *out = malloc(big);
  assert_non_null(in);
  assert_non_null(out);
  for (size_t i = 0; i < big; i++)
    in[i] = (unsigned char)(i * 7 + 1);
  mp_pool *p = pu_pool(1, 0);
  size_t len = 0;
  assert_int_equal(mp_pool_apply(p, task_reverse, in, big, out, big, &len), 0);
  assert_int_equal(len, big);
  for (size_t i = 0; i < big; i += 4099)
    assert_int_equal(out[i], in[big - 1 - i]);
  assert_int_equal(out[0], in[big - 1]);
  assert_int_equal(out[big - 1], in[0]);
  /* Through apply_async and a retry after MP_EMSGSIZE (a result kept in
   * the block it arrived in). */
  const size_t mid = (size_t)8 << 20;
  mp_async *a;
  assert_int_equal(mp_pool_apply_async(p, pu_echo, in, mid, NULL, &a), 0);
  assert_int_equal(mp_async_get(a, out, 1000, &len, TST_LONG_MS), MP_EMSGSIZE);
  assert_int_equal(len, mid);
  assert_int_equal(mp_async_get(a, out, big, &len, TST_LONG_MS), 0);
  assert_int_equal(len, mid);
  assert_int_equal(memcmp(out, in, mid), 0);
  assert_int_equal(mp_async_free(a), 0);
  /* Empty argument and result. */
  assert_int_equal(mp_pool_apply(p, task_reverse, NULL, 0, NULL, 0, &len), 0);
  assert_int_equal(len, 0);
  /* The pool still works. */
  int64_t x = 12, y;
  assert_int_equal(mp_pool_apply(p, pu_sqr, &x, 8, &y, 8, NULL), 0);
  assert_int_equal(y, 144);
  pu_pool_end(p);
  free(in);
  free(out);
}

/* ---- Pools and other processes ---- */

/* CPython's test_pool_in_process: a child process runs a pool of its own,
 * and leaves a second one open at its end (the child's exit terminates
 * it). */
static int role_pool_in_child(void *arg) {
  (void)arg;
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = 2;
  mp_pool *p, *left;
  SU_CHECK(mp_pool_create(&p, &o) == 0);
  int64_t items[10], out[10];
  for (int i = 0; i < 10; i++)
    items[i] = i;
  SU_CHECK(mp_pool_map(p, pu_sqr, items, 8, 10, out, 8, 0) == 0);
  for (int i = 0; i < 10; i++)
    SU_CHECK(out[i] == i * i);
  SU_CHECK(mp_pool_close(p) == 0);
  SU_CHECK(mp_pool_join(p, 60000) == 0);
  SU_CHECK(mp_pool_free(p) == 0);
  o.processes = 1;
  SU_CHECK(mp_pool_create(&left, &o) == 0);
  SU_CHECK(mp_pool_apply_async(left, pu_sqr, items, 8, NULL, NULL) == 0);
  return 0;
}

static void test_pool_in_child(void **state) {
  (void)state;
  mp_process *c = tst_start(role_pool_in_child, NULL, 0, NULL);
  tst_guard_process(c);
  assert_int_equal(tst_join_code(c, TST_LONG_MS), 0);
  assert_int_equal(tst_free(c), 0);
}

/* A forked child of the pool's process: the copies of the parent's pool
 * and results are not its own (MP_EINVAL, never a hang on a mutex a pool
 * thread held at the fork), its exit leaves them alone, and it can make a
 * pool of its own. */
#ifndef _WIN32
static mp_pool *parent_pool;
static mp_async *parent_async;
static mp_imap *parent_imap;

static int role_forked_child(void *arg) {
  (void)arg;
  int64_t x = 3, y;
  SU_CHECK(mp_pool_apply(parent_pool, pu_sqr, &x, 8, &y, 8, NULL) == MP_EINVAL);
  SU_CHECK(mp_pool_apply_async(parent_pool, pu_sqr, &x, 8, NULL, NULL) == MP_EINVAL);
  SU_CHECK(mp_pool_close(parent_pool) == MP_EINVAL);
  SU_CHECK(mp_pool_terminate(parent_pool) == MP_EINVAL);
  SU_CHECK(mp_pool_join(parent_pool, 0) == MP_EINVAL);
  SU_CHECK(mp_async_ready(parent_async) == MP_EINVAL);
  SU_CHECK(mp_async_get(parent_async, &y, 8, NULL, 0) == MP_EINVAL);
  SU_CHECK(mp_async_free(parent_async) == MP_EINVAL);
  SU_CHECK(mp_imap_next(parent_imap, &y, 8, NULL, NULL, 0) == MP_EINVAL);
  SU_CHECK(mp_imap_free(parent_imap) == MP_EINVAL);
  SU_CHECK(mp_pool_free(parent_pool) == MP_EINVAL);
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = 1;
  mp_pool *mine;
  SU_CHECK(mp_pool_create(&mine, &o) == 0);
  SU_CHECK(mp_pool_apply(mine, pu_sqr, &x, 8, &y, 8, NULL) == 0 && y == 9);
  SU_CHECK(mp_pool_free(mine) == 0);
  return 0;
}
#endif

static void test_forked_child_of_pool_owner(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* no fork */
#else
  parent_pool = pu_pool(2, 0);
  int64_t x = 5, y = 0;
  assert_int_equal(mp_pool_apply_async(parent_pool, pu_sqr, &x, 8, NULL, &parent_async),
                   0);
  int64_t items[4] = {1, 2, 3, 4};
  assert_int_equal(mp_pool_imap(parent_pool, pu_sqr, items, 8, 4, 1, 0, &parent_imap), 0);
  /* Forked while the pool's threads run, and busy. */
  mp_async *busy[50];
  for (int i = 0; i < 50; i++)
    assert_int_equal(mp_pool_apply_async(parent_pool, pu_sqr, &x, 8, NULL, &busy[i]), 0);
  mp_process_options o = {NULL, 0, MP_START_FORK};
  mp_process *c = tst_start(role_forked_child, NULL, 0, &o);
  tst_guard_process(c);
  assert_int_equal(tst_join_code(c, TST_LONG_MS), 0);
  assert_int_equal(tst_free(c), 0);
  /* The parent's pool is untouched. */
  assert_int_equal(mp_async_get(parent_async, &y, 8, NULL, TST_LONG_MS), 0);
  assert_int_equal(y, 25);
  for (int i = 0; i < 4; i++) {
    size_t idx;
    assert_int_equal(mp_imap_next(parent_imap, &y, 8, NULL, &idx, TST_LONG_MS), 0);
    assert_int_equal(y, items[i] * items[i]);
  }
  for (int i = 0; i < 50; i++) {
    assert_int_equal(mp_async_get(busy[i], &y, 8, NULL, TST_LONG_MS), 0);
    mp_async_free(busy[i]);
  }
  assert_int_equal(mp_async_free(parent_async), 0);
  assert_int_equal(mp_imap_free(parent_imap), 0);
  pu_pool_end(parent_pool);
#endif
}

/* More than 64 workers, all running at once (Windows waits on 64 handles
 * at most per call; Python's Pool stops at 61 there). */
static void test_many_workers(void **state) {
  (void)state;
  enum { N = 70 };
  mp_pool *p = pu_pool(N, 0);
  int64_t pids[N];
  assert_int_equal(pu_worker_pids(p, N, pids), 0);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < i; k++)
      assert_int_not_equal(pids[i], pids[k]);
  /* A death among them is noticed and replaced too. */
  mp_shm m;
  pu_board *b = pu_board_new(&m);
  pu_job j = pu_job_make(m, 0);
  j.how = PU_DIE_EXIT;
  assert_int_equal(mp_pool_apply(p, pu_die, &j, sizeof j, NULL, 0, NULL), MP_EWORKERDIED);
  (void)b;
  assert_int_equal(pu_worker_pids(p, N, pids), 0);
  assert_int_equal(mp_pool_close(p), 0);
  assert_int_equal(mp_pool_join(p, TST_LONG_MS), 0);
  assert_int_equal(mp_pool_free(p), 0);
  mp_shm_free(&m);
}

/* Workers die with the pool's process when it is killed (kill -9): the
 * child below runs a pool of 3 and sleeps; the test kills it and watches
 * the three workers go. */
typedef struct orphan_arg {
  char dir[TST_PATH_MAX];
} orphan_arg;

static int role_pool_then_sleep(void *arg) {
  orphan_arg *a = arg;
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = 3;
  mp_pool *p;
  SU_CHECK(mp_pool_create(&p, &o) == 0);
  int64_t pids[3];
  SU_CHECK(pu_worker_pids(p, 3, pids) == 0);
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, a->dir, "workers");
  SU_CHECK(tst_write_text(path, "%lld %lld %lld\n", (long long)pids[0],
                          (long long)pids[1], (long long)pids[2]) == 0);
  for (;;)
    tst_sleep_ms(1000);
  return 0;
}

static void test_workers_die_with_killed_parent(void **state) {
  const char *dir = *state;
#ifdef __linux__
  /* Orphaned workers come to us, so that they can be watched and reaped
   * (a zombie counts as gone). */
  assert_int_equal(tst_become_subreaper(), 0);
#endif
  orphan_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  char path[TST_PATH_MAX], buf[256];
  tst_path(path, sizeof path, dir, "workers");
  mp_process *c = tst_start(role_pool_then_sleep, &a, sizeof a, NULL);
  tst_guard_process(c);
  if (!tst_wait_file(path, TST_LONG_MS))
    fail_msg("the child's pool never started (exit %d)",
             (mp_process_kill(c), tst_join_code(c, TST_LONG_MS)));
  assert_true(tst_read_file(path, buf, sizeof buf) > 0);
  long long pids[3];
  assert_int_equal(sscanf(buf, "%lld %lld %lld", &pids[0], &pids[1], &pids[2]), 3);
  tst_watch *w[3];
  for (int i = 0; i < 3; i++) {
    tst_guard_pid(pids[i]);
    w[i] = tst_watch_pid(pids[i]);
    assert_non_null(w[i]); /* alive now */
    assert_false(tst_watch_gone(w[i], 0));
  }
  assert_int_equal(mp_process_kill(c), 0);
  assert_int_equal(tst_join_code(c, TST_LONG_MS), -9);
  assert_int_equal(tst_free(c), 0);
  for (int i = 0; i < 3; i++) {
    int gone = tst_watch_gone(w[i], 10000);
    tst_watch_free(w[i]);
    tst_reap(pids[i]);
    if (!gone)
      fail_msg("worker %lld outlived its killed parent", pids[i]);
    tst_unguard_pid(pids[i]);
  }
}

/* A program that leaves its pool open: it exits promptly with its own
 * code, the held task's error callback runs once (MP_ECLOSED; none when
 * a callback calls exit: the thread that would run it is exiting), and the
 * workers are gone. */
static void check_left_open(const char *dir, const char *mode) {
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX], buf[4096];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "pool_left_open"), 0);
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  const char *args[] = {mode, NULL};
  int code = -1;
  assert_int_equal(tst_run(exe, args, out, err, TST_LONG_MS, &code), 0);
  assert_true(tst_read_file(out, buf, sizeof buf) > 0);
  tst_strip_cr(buf);
  if (code != 0)
    fail_msg("exit code %d; output:\n%s", code, buf);
  assert_int_equal(tst_count(buf, "sqr 36\n"), 1);
  assert_int_equal(tst_count(buf, "exiting\n"), 1);
  int in_cb = strcmp(mode, "callback") == 0;
  assert_int_equal(tst_count(buf, "callback exit\n"), in_cb);
  assert_int_equal(tst_count(buf, "error_callback object is closed\n"),
                   in_cb ? 0 : 1);
  assert_int_equal(tst_count(buf, "worker "), 2);
  const char *at = buf;
  for (int i = 0; i < 2; i++) {
    at = strstr(at, "worker ");
    long long pid = 0;
    assert_int_equal(sscanf(at, "worker %lld", &pid), 1);
    at += 7;
    tst_watch *w = tst_watch_pid(pid); /* NULL: already gone */
    if (w) {
      int gone = tst_watch_gone(w, 10000);
      tst_watch_free(w);
      tst_reap(pid);
      if (!gone)
        fail_msg("worker %lld outlived its program", pid);
    }
  }
}

static void test_pool_left_open_at_exit(void **state) {
  check_left_open(*state, "return");
  check_left_open(*state, "exit");
  check_left_open(*state, "callback");
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared_objects),
      cmocka_unit_test(test_queue_between_tasks),
      cmocka_unit_test(test_pipe_rules),
      cmocka_unit_test(test_large_and_empty),
      cmocka_unit_test_teardown(test_pool_in_child, tst_teardown_processes),
      cmocka_unit_test_teardown(test_forked_child_of_pool_owner,
                                tst_teardown_processes),
      cmocka_unit_test(test_many_workers),
      cmocka_unit_test_setup_teardown(test_pool_left_open_at_exit,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_workers_die_with_killed_parent,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
