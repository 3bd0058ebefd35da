/* Shared Pool test tasks and helpers: see pool_util.h. */
#include <stdlib.h>
#include <string.h>

#include "pool_util.h"

int pu_sqr(const void *arg, size_t size, mp_result *res) {
  if (size != sizeof(int64_t))
    return 101;
  int64_t x;
  memcpy(&x, arg, sizeof x);
  int64_t y = x * x;
  return mp_result_set(res, &y, sizeof y);
}

int pu_code(const void *arg, size_t size, mp_result *res) {
  (void)res;
  if (size != sizeof(int))
    return 101;
  return *(const int *)arg;
}

int pu_echo(const void *arg, size_t size, mp_result *res) {
  return mp_result_set(res, arg, size);
}

int pu_who_am_i(const void *arg, size_t size, mp_result *res) {
  pu_who w = {mp_current_pid(), 0};
  if (size == sizeof(int64_t))
    memcpy(&w.item, arg, sizeof w.item);
  return mp_result_set(res, &w, sizeof w);
}

static pu_board *board_of(const pu_job *j) { return mp_shm_ptr(j->board); }

int pu_count(const void *arg, size_t size, mp_result *res) {
  const pu_job *j = arg;
  pu_board *b = size == sizeof *j ? board_of(j) : NULL;
  if (!b || j->index < 0 || j->index >= PU_SLOTS)
    return 102;
  atomic_store(&b->pid[j->index], mp_current_pid());
  atomic_fetch_add(&b->runs[j->index], 1);
  atomic_fetch_add(&b->count, 1);
  return mp_result_set(res, &j->index, sizeof j->index);
}

int pu_hold(const void *arg, size_t size, mp_result *res) {
  const pu_job *j = arg;
  pu_board *b = size == sizeof *j ? board_of(j) : NULL;
  if (!b || j->index < 0 || j->index >= PU_SLOTS)
    return 102;
  mp_event go = j->go;
  int64_t pid = mp_current_pid();
  atomic_store(&b->pid[j->index], pid);
  if (mp_event_wait(&go, 60000) != 0)
    return 1;
  atomic_fetch_add(&b->count, 1);
  return mp_result_set(res, &pid, sizeof pid);
}

int pu_die(const void *arg, size_t size, mp_result *res) {
  (void)res;
  const pu_job *j = arg;
  pu_board *b = size == sizeof *j ? board_of(j) : NULL;
  if (!b || j->index < 0 || j->index >= PU_SLOTS)
    return 102;
  if (j->how == 0)
    return pu_count(arg, size, res);
  atomic_store(&b->pid[j->index], mp_current_pid());
  switch (j->how) {
  case PU_DIE_CRASH:
    tst_crash_now();
    break;
  case PU_DIE_EXIT:
    exit(3);
  case PU_DIE_KILL_SELF:
    tst_kill_pid(mp_current_pid());
    tst_sleep_ms(60000);
    break;
  }
  return 103;
}

int pu_init_flaky(void *arg) {
  pu_job *j = arg;
  pu_board *b = j ? board_of(j) : NULL;
  if (!b)
    return 102;
  int64_t call = atomic_fetch_add(&b->inits, 1) + 1;
  if (call <= PU_SLOTS)
    atomic_store(&b->pid[call - 1], mp_current_pid());
  return j->fail_at > 0 && call >= j->fail_at ? 9 : 0;
}

mp_pool *pu_pool(unsigned n, unsigned maxtasks) {
  mp_pool_options o;
  memset(&o, 0, sizeof o);
  o.processes = n;
  o.maxtasksperchild = maxtasks;
  mp_pool *p = NULL;
  assert_int_equal(mp_pool_create(&p, &o), 0);
  assert_non_null(p);
  return p;
}

void pu_pool_end(mp_pool *p) {
  assert_int_equal(mp_pool_terminate(p), 0);
  assert_int_equal(mp_pool_join(p, TST_LONG_MS), 0);
  assert_int_equal(mp_pool_free(p), 0);
}

pu_board *pu_board_new(mp_shm *m) {
  assert_int_equal(mp_shm_create(m, sizeof(pu_board)), 0);
  pu_board *b = mp_shm_ptr(*m);
  assert_non_null(b);
  return b;
}

pu_job pu_job_make(mp_shm m, int64_t index) {
  pu_job j;
  memset(&j, 0, sizeof j);
  j.board = m;
  j.index = index;
  return j;
}

void pu_jobs_make(pu_job *jobs, int n, mp_shm m) {
  for (int i = 0; i < n; i++)
    jobs[i] = pu_job_make(m, i);
}

pu_job pu_job_held(mp_shm m, int64_t index) {
  pu_job j = pu_job_make(m, index);
  assert_int_equal(mp_event_create(&j.go), 0);
  return j;
}

static void counts_ok(mp_async *a, void *user) {
  (void)a;
  atomic_fetch_add(&((pu_counts *)user)->ok, 1);
}

static void counts_err(mp_async *a, void *user) {
  pu_counts *c = user;
  atomic_store(&c->last_rc, mp_async_get(a, NULL, 0, NULL, 0));
  atomic_fetch_add(&c->err, 1);
}

mp_async_options pu_counting(pu_counts *c) {
  memset(c, 0, sizeof *c);
  mp_async_options o = {counts_ok, counts_err, c};
  return o;
}

int pu_pid_after_barrier(const void *arg, size_t size, mp_result *res) {
  if (size != sizeof(mp_barrier))
    return 101;
  mp_barrier b;
  memcpy(&b, arg, sizeof b);
  if (mp_barrier_wait(&b, 60000) < 0)
    return 102;
  int64_t pid = mp_current_pid();
  return mp_result_set(res, &pid, sizeof pid);
}

int pu_worker_pids(mp_pool *p, unsigned n, int64_t *pids) {
  mp_barrier b;
  if (mp_barrier_create(&b, n) != 0)
    return -1;
  mp_barrier *items = malloc(n * sizeof *items);
  if (!items)
    return -1;
  for (unsigned i = 0; i < n; i++)
    items[i] = b;
  int rc = mp_pool_map(p, pu_pid_after_barrier, items, sizeof b, n, pids, 8, 1);
  free(items);
  mp_barrier_free(&b);
  return rc;
}

int64_t pu_wait_pid(pu_board *b, int i) {
  int64_t end = tst_now_ms() + TST_LONG_MS;
  while (atomic_load(&b->pid[i]) == 0) {
    if (tst_now_ms() > end)
      fail_msg("task %d never started", i);
    tst_sleep_ms(1);
  }
  return atomic_load(&b->pid[i]);
}
