/* At exit, as Python at interpreter exit: when a child's target returns
 * (or it calls exit), and when the launched program returns from main or
 * calls exit, the daemon children still running are terminated and the
 * non-daemon children are waited for.
 *
 * Child view: a child starts a non-daemon grandchild (sleeps 300 ms, then
 * writes a marker) and a daemon grandchild (sleeps for ever), then returns
 * 5 or calls exit(7) without joining: when the child has been joined the
 * marker exists and the daemon grandchild is gone.
 * Program view: tests/progs/atexit_main does the same from main.
 * Children started from a secondary thread, which has ended by the time
 * main returns, are waited for too (tests/progs/thread_children). */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ax_arg {
  char dir[TST_PATH_MAX];
  int use_exit;          /* 0: return 5, 1: exit(7) */
  mp_start_method gmeth; /* grandchildren's method */
} ax_arg;

static int role_slow_marker(void *arg) {
  ax_arg *a = arg;
  char path[TST_PATH_MAX];
  tst_sleep_ms(300);
  tst_path(path, sizeof path, a->dir, "g1.marker");
  return tst_write_text(path, "done\n") == 0 ? 0 : 5;
}

static int role_daemon_forever(void *arg) {
  ax_arg *a = arg;
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, a->dir, "g2.pid");
  tst_write_i64(path, mp_current_pid());
  for (;;)
    tst_sleep_ms(1000);
  return 0;
}

static int role_leave_children(void *arg) {
  ax_arg *a = arg;
  char path[TST_PATH_MAX];
  mp_process_options o = {0};
  o.method = a->gmeth;
  mp_process *g1 = NULL, *g2 = NULL;
  if (mp_process_create(&g1, role_slow_marker, a, sizeof *a, &o) != 0 ||
      mp_process_start(g1) != 0)
    return 20;
  o.daemon = 1;
  if (mp_process_create(&g2, role_daemon_forever, a, sizeof *a, &o) != 0 ||
      mp_process_start(g2) != 0)
    return 21;
  tst_path(path, sizeof path, a->dir, "g2.pid");
  if (!tst_wait_file(path, 60000))
    return 22;
  /* The test opens g2 now (it surely runs), then says go. */
  tst_path(path, sizeof path, a->dir, "ready");
  tst_write_i64(path, mp_process_pid(g2));
  tst_path(path, sizeof path, a->dir, "go");
  if (!tst_wait_file(path, 60000))
    return 23;
  if (a->use_exit)
    exit(7);
  return 5;
}

static void check_child_atexit(const char *dir, int use_exit,
                               mp_start_method gmeth) {
  ax_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.use_exit = use_exit;
  a.gmeth = gmeth;
  char ready[TST_PATH_MAX], go[TST_PATH_MAX], marker[TST_PATH_MAX],
      g2file[TST_PATH_MAX];
  tst_path(ready, sizeof ready, dir, "ready");
  tst_path(go, sizeof go, dir, "go");
  tst_path(marker, sizeof marker, dir, "g1.marker");
  tst_path(g2file, sizeof g2file, dir, "g2.pid");

  mp_process *p = tst_start(role_leave_children, &a, sizeof a, NULL);
  tst_guard_process(p); /* killed by the teardown if an assert fails */
  if (!tst_wait_file(ready, TST_LONG_MS)) {
    int code = tst_join_code(p, TST_LONG_MS);
    fail_msg("child never got its grandchildren going (exit code %d)", code);
  }
  int64_t g2 = 0, g2_self = 0;
  assert_int_equal(tst_read_i64(ready, &g2), 0);
  tst_guard_pid(g2);
  assert_int_equal(tst_read_i64(g2file, &g2_self), 0);
  assert_int_equal(g2, g2_self);
  assert_true(g2 > 0);
  tst_watch *w = tst_watch_pid(g2);
  assert_non_null(w); /* it sleeps for ever: it must be there now */
  assert_int_equal(tst_write_text(go, "go\n"), 0);

  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(tst_free(p), 0);
  assert_int_equal(code, use_exit ? 7 : 5);
  /* The non-daemon grandchild was waited for. */
  assert_true(tst_file_exists(marker));
  /* The daemon grandchild was terminated. */
  int gone = tst_watch_gone(w, 10000);
  tst_watch_free(w);
  if (gone)
    tst_unguard_pid(g2);
  else {
    fail_msg("daemon grandchild %lld still runs after its parent exited",
             (long long)g2);
  }
}

static void test_child_returns(void **state) {
  check_child_atexit(*state, 0, MP_START_DEFAULT);
}

static void test_child_calls_exit(void **state) {
  check_child_atexit(*state, 1, MP_START_DEFAULT);
}

static void test_child_returns_spawned_grandchildren(void **state) {
  check_child_atexit(*state, 0, MP_START_SPAWN);
}

static void test_child_exits_forked_grandchildren(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  check_child_atexit(*state, 1, MP_START_FORK);
#endif
}

static void check_program_atexit(const char *dir, const char *mode,
                                 int want_code) {
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX];
  char marker[TST_PATH_MAX], g2file[TST_PATH_MAX], pids[TST_PATH_MAX];
  char buf[256];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "atexit_main"), 0);
  assert_true(tst_file_exists(exe));
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  tst_path(marker, sizeof marker, dir, "g1.marker");
  tst_path(g2file, sizeof g2file, dir, "g2.pid");
  tst_path(pids, sizeof pids, dir, "pids.txt");
  const char *args[] = {dir, mode, NULL};
  int code = -1;
  int rc = tst_run(exe, args, out, err, TST_LONG_MS, &code);
  assert_int_equal(rc, 0);
  assert_int_equal(code, want_code);
  assert_true(tst_file_exists(marker));
  long long g1pid = 0, g2pid = 0;
  assert_true(tst_read_file(pids, buf, sizeof buf) > 0);
  assert_int_equal(sscanf(buf, "%lld %lld", &g1pid, &g2pid), 2);
  tst_guard_pid(g2pid);
  int64_t g2_self = 0;
  assert_int_equal(tst_read_i64(g2file, &g2_self), 0);
  assert_int_equal(g2_self, g2pid);
  /* The program has exited: its daemon must be gone already, or very
   * soon. On Windows a process that is gone cannot be opened (NULL). */
  tst_watch *w = tst_watch_pid(g2pid);
  if (w != NULL) {
    int gone = tst_watch_gone(w, 10000);
    tst_watch_free(w);
    if (!gone) {
      fail_msg("daemon %lld outlived the program that started it", g2pid);
    }
  }
  tst_unguard_pid(g2pid);
}

static void test_program_returns(void **state) {
  check_program_atexit(*state, "return", 3);
}

static void test_program_calls_exit(void **state) {
  check_program_atexit(*state, "exit", 4);
}

static void check_thread_children(const char *dir, const char *mode) {
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX];
  char c0[TST_PATH_MAX], c1[TST_PATH_MAX];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "thread_children"), 0);
  assert_true(tst_file_exists(exe));
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  tst_path(c0, sizeof c0, dir, "child-0");
  tst_path(c1, sizeof c1, dir, "child-1");
  const char *args[] = {dir, mode, NULL};
  int code = -1;
  assert_int_equal(tst_run(exe, args, out, err, TST_LONG_MS, &code), 0);
  assert_int_equal(code, 0);
  /* The program has ended: so have its non-daemon children, which wrote
   * their files 700 ms after they started. */
  int have0 = tst_file_exists(c0), have1 = tst_file_exists(c1);
  if (!have0 || !have1)
    fail_msg("the program ended before the children its thread started "
             "(%s thread; child-0 %s, child-1 %s)",
             mode, have0 ? "done" : "missing", have1 ? "done" : "missing");
}

static void test_children_of_a_finished_thread(void **state) {
  check_thread_children(*state, "joined");
}

static void test_children_of_a_running_thread(void **state) {
  check_thread_children(*state, "running");
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_child_returns, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_calls_exit, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_returns_spawned_grandchildren,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_child_exits_forked_grandchildren,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_program_returns, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_program_calls_exit, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_children_of_a_finished_thread,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_children_of_a_running_thread,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
