/* Starting children from a process whose other threads are inside the
 * library at that moment. Any private lock of the library may be held by
 * one of those threads at the instant of a fork, and a forked child that
 * inherits it locked waits for ever (before the one fork policy of
 * src/atfork.c, a child hung within about 2,000 forks).
 *
 * Three threads churn: one creates and closes pipes (the table of pipe
 * ends, the inherit table), one closes a queue over and over (the set of
 * queues closed in this process), one creates and frees locks (the
 * arena's allocator). Meanwhile the main thread starts children that use
 * all of it; each must finish in time. Under spawn (and on Windows) the
 * same runs with fewer children: a spawn costs more, and there is no
 * fork to get wrong, but the parent's locks are still crossed. */
#include "support/sync_util.h"

#include <string.h>

#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif
#ifndef TSAN
#define TSAN 0
#endif

typedef struct ft_arg {
  mp_queue results; /* every child puts one message here */
  mp_queue closed;  /* closed in the parent over and over */
  mp_shm flags;     /* ft_flags */
} ft_arg;

typedef struct ft_flags {
  _Atomic int64_t stop;
  _Atomic int64_t churned; /* rounds of all churners, for the record */
} ft_flags;

enum { CHILD_OK = 0, CHILD_PIPE = 10, CHILD_QUEUE, CHILD_CLOSED, CHILD_LOCK };

/* What a child does: each step takes a lock a churner takes too. */
static int role_use_everything(void *arg) {
  ft_arg *a = arg;
  mp_conn r, w;
  if (mp_pipe_create(&r, &w, 0) != 0)
    return CHILD_PIPE;
  char buf[8] = "ping";
  size_t n = 0;
  if (mp_conn_send(&w, buf, sizeof buf) != 0 ||
      mp_conn_recv(&r, buf, sizeof buf, &n, TST_LONG_MS) != 0 ||
      n != sizeof buf || mp_conn_close(&r) != 0 || mp_conn_close(&w) != 0)
    return CHILD_PIPE;
  mp_lock l;
  if (mp_lock_create(&l) != 0 || mp_lock_acquire(&l, 0) != 0 ||
      mp_lock_release(&l) != 0 || mp_lock_free(&l) != 0)
    return CHILD_LOCK;
  /* Closed in the parent, open in every child (as in Python). */
  if (mp_queue_put(&a->closed, "c", 1, TST_LONG_MS) != 0)
    return CHILD_CLOSED;
  if (mp_queue_put(&a->results, "r", 1, TST_LONG_MS) != 0)
    return CHILD_QUEUE;
  return CHILD_OK;
}

static int churn_pipes(void *arg) {
  ft_arg *a = arg;
  ft_flags *f = mp_shm_ptr(a->flags);
  while (!atomic_load(&f->stop)) {
    mp_conn x, y;
    if (mp_pipe_create(&x, &y, 1) != 0)
      return 1;
    if (mp_conn_close(&x) != 0 || mp_conn_close(&y) != 0)
      return 2;
    atomic_fetch_add(&f->churned, 1);
  }
  return 0;
}

static int churn_queue_close(void *arg) {
  ft_arg *a = arg;
  ft_flags *f = mp_shm_ptr(a->flags);
  while (!atomic_load(&f->stop)) {
    if (mp_queue_close(&a->closed) != 0)
      return 1;
    atomic_fetch_add(&f->churned, 1);
  }
  return 0;
}

static int churn_locks(void *arg) {
  ft_arg *a = arg;
  ft_flags *f = mp_shm_ptr(a->flags);
  while (!atomic_load(&f->stop)) {
    mp_lock l;
    if (mp_lock_create(&l) != 0 || mp_lock_free(&l) != 0)
      return 1;
    atomic_fetch_add(&f->churned, 1);
  }
  return 0;
}

static int children_for_this_leg(void) {
#ifdef _WIN32
  return 30;
#else
  if (tst_leg_is_spawn())
    return TSAN ? 20 : 150;
  return TSAN ? 300 : 2500;
#endif
}

/* Forked children are started until the leg's number or, past a tenth
 * of it, until the budget is spent: a loaded machine (ASan's slow forks,
 * other jobs on the cores) then runs fewer rather than hitting CTest's
 * timeout. Spawn and Windows counts are small and always run whole. How
 * many ran is printed. */
#define FT_BUDGET_MS 40000

static int budgeted_leg(void) {
#ifdef _WIN32
  return 0;
#else
  return !tst_leg_is_spawn();
#endif
}

static int enough_children(int done, int wanted, int budgeted, int64_t t0) {
  if (done >= wanted)
    return 1;
  return budgeted && done >= wanted / 10 && tst_now_ms() - t0 > FT_BUDGET_MS;
}

static void test_start_while_threads_use_the_library(void **state) {
  (void)state;
  ft_arg a;
  memset(&a, 0, sizeof a);
  assert_int_equal(mp_queue_create(&a.results, 0), 0);
  assert_int_equal(mp_queue_create(&a.closed, 0), 0);
  ft_flags *f = su_shm_new(&a.flags, sizeof *f);
  int (*churners[])(void *) = {churn_pipes, churn_queue_close, churn_locks};
  tst_thread *t[3];
  for (int i = 0; i < 3; i++)
    assert_non_null(t[i] = tst_thread_start(churners[i], &a));

  int wanted = children_for_this_leg(), children = 0;
  int budgeted = budgeted_leg();
  int64_t t0 = tst_now_ms();
  for (int i = 0; !enough_children(i, wanted, budgeted, t0); i++, children++) {
    mp_process *p = tst_start(role_use_everything, &a, sizeof a, NULL);
    /* A child that inherited a held lock never ends: tst_join_code kills
     * it and fails the test after the timeout. */
    int code = tst_join_code(p, TST_LONG_MS / 2);
    if (code != CHILD_OK)
      fail_msg("child %d of %d exited with %d", i + 1, wanted, code);
    assert_int_equal(tst_free(p), 0);
  }
  print_message("%d of %d children in %lld ms\n", children, wanted,
                (long long)(tst_now_ms() - t0));
  atomic_store(&f->stop, 1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(tst_thread_join(t[i]), 0);
  assert_true(atomic_load(&f->churned) > 0);
  assert_int_equal(mp_queue_qsize(&a.results), children);
  assert_int_equal(mp_queue_qsize(&a.closed), children);
  assert_int_equal(mp_queue_free(&a.results), 0);
  assert_int_equal(mp_queue_free(&a.closed), 0);
  assert_int_equal(mp_shm_free(&a.flags), 0);
}

/* The program's own fork() from a threaded process, not the library's:
 * the fork handlers run for it too, so a child that then uses the library
 * does not hang either. */
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>

static void test_raw_fork_while_threads_use_the_library(void **state) {
  (void)state;
  ft_arg a;
  memset(&a, 0, sizeof a);
  assert_int_equal(mp_queue_create(&a.results, 0), 0);
  assert_int_equal(mp_queue_create(&a.closed, 0), 0);
  ft_flags *f = su_shm_new(&a.flags, sizeof *f);
  tst_thread *t[2];
  assert_non_null(t[0] = tst_thread_start(churn_pipes, &a));
  assert_non_null(t[1] = tst_thread_start(churn_queue_close, &a));
  int wanted = TSAN ? 100 : 2500, children = 0;
  int64_t t0 = tst_now_ms();
  for (int i = 0; !enough_children(i, wanted, 1, t0); i++, children++) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(role_use_everything(&a));
    assert_true(pid > 0);
    tst_guard_pid((mp_pid)pid);
    tst_watch *w = tst_watch_pid((mp_pid)pid);
    assert_non_null(w);
    if (!tst_watch_gone(w, TST_LONG_MS / 2))
      fail_msg("raw fork child %d of %d hung", i + 1, wanted);
    tst_watch_free(w);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    tst_unguard_pid((mp_pid)pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CHILD_OK);
  }
  print_message("%d of %d raw fork children in %lld ms\n", children, wanted,
                (long long)(tst_now_ms() - t0));
  atomic_store(&f->stop, 1);
  for (int i = 0; i < 2; i++)
    assert_int_equal(tst_thread_join(t[i]), 0);
  assert_int_equal(mp_queue_qsize(&a.results), children);
  assert_int_equal(mp_queue_free(&a.results), 0);
  assert_int_equal(mp_queue_free(&a.closed), 0);
  assert_int_equal(mp_shm_free(&a.flags), 0);
}
#else
static void test_raw_fork_while_threads_use_the_library(void **state) {
  (void)state;
  skip(); /* Windows has no fork() */
}
#endif

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_start_while_threads_use_the_library,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_raw_fork_while_threads_use_the_library,
                                tst_teardown_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
