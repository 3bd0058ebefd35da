/* No orphans: a daemon dies when its parent is KILLED (or terminated),
 * not only when the parent exits normally (Linux: a parent-death signal;
 * Windows: a kill-on-close job object).
 *
 * Child A starts daemon B, writes B's pid to a file and sleeps; the test
 * kills A and checks that B is gone within 10 s. On Linux the test process
 * makes itself a child subreaper, so that B is reparented to it and can be
 * watched (a zombie counts as gone) and reaped. On Windows B is opened
 * before A is killed. */
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

typedef struct o_arg {
  char dir[TST_PATH_MAX];
  mp_start_method b_method;
} o_arg;

static int role_b_daemon(void *arg) {
  o_arg *a = arg;
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, a->dir, "b.pid");
  tst_write_i64(path, mp_current_pid());
  for (;;)
    tst_sleep_ms(1000);
  return 0;
}

static int role_a(void *arg) {
  o_arg *a = arg;
  char path[TST_PATH_MAX];
  mp_process_options o = {0};
  o.daemon = 1;
  o.method = a->b_method;
  mp_process *b = NULL;
  if (mp_process_create(&b, role_b_daemon, a, sizeof *a, &o) != 0 ||
      mp_process_start(b) != 0)
    return 20;
  tst_path(path, sizeof path, a->dir, "b.pid");
  if (!tst_wait_file(path, 60000))
    return 21;
  tst_path(path, sizeof path, a->dir, "a.ready");
  tst_write_i64(path, mp_process_pid(b));
  for (;;)
    tst_sleep_ms(1000);
  return 0;
}

static void check_orphan(const char *dir, mp_start_method a_method,
                         mp_start_method b_method, int use_kill) {
  o_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.b_method = b_method;
  char ready[TST_PATH_MAX], bfile[TST_PATH_MAX];
  tst_path(ready, sizeof ready, dir, "a.ready");
  tst_path(bfile, sizeof bfile, dir, "b.pid");
  remove(ready); /* from an earlier round in the same dir */
  remove(bfile);
#ifdef __linux__
  assert_int_equal(tst_become_subreaper(), 0);
#endif
  mp_process_options o = {0};
  o.method = a_method;
  mp_process *p = tst_start(role_a, &a, sizeof a, &o);
  tst_guard_process(p); /* killed by the teardown if an assert fails */
  if (!tst_wait_file(ready, TST_LONG_MS)) {
    mp_process_kill(p);
    int code = tst_join_code(p, TST_LONG_MS);
    fail_msg("A never got B going (A's exit code %d)", code);
  }
  int64_t b = 0, b_self = 0;
  assert_int_equal(tst_read_i64(ready, &b), 0);
  tst_guard_pid(b);
  assert_int_equal(tst_read_i64(bfile, &b_self), 0);
  assert_int_equal(b, b_self);
  assert_true(b > 0);
  assert_int_not_equal(b, mp_process_pid(p));
  tst_watch *w = tst_watch_pid(b);
  assert_non_null(w); /* B sleeps for ever: it must be there now */
  /* B does not die by itself. */
  assert_false(tst_watch_gone(w, 300));

  if (use_kill) {
    assert_int_equal(mp_process_kill(p), 0);
    assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
  } else {
    assert_int_equal(mp_process_terminate(p), 0);
    assert_int_equal(tst_join_code(p, TST_LONG_MS), -15);
  }
  assert_int_equal(tst_free(p), 0);

  int gone = tst_watch_gone(w, 10000);
  tst_watch_free(w);
  tst_reap(b);
  if (gone)
    tst_unguard_pid(b);
  else {
    fail_msg("daemon B (pid %lld) outlived its killed parent", (long long)b);
  }
}

static void test_killed_parent_leg_method(void **state) {
  check_orphan(*state, MP_START_DEFAULT, MP_START_DEFAULT, 1);
}

static void test_terminated_parent_leg_method(void **state) {
  check_orphan(*state, MP_START_DEFAULT, MP_START_DEFAULT, 0);
}

static void test_killed_parent_spawned_daemon(void **state) {
  check_orphan(*state, MP_START_DEFAULT, MP_START_SPAWN, 1);
}

static void test_killed_parent_forked_daemon(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  check_orphan(*state, MP_START_SPAWN, MP_START_FORK, 1);
  check_orphan(*state, MP_START_FORK, MP_START_FORK, 1);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_killed_parent_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_terminated_parent_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_killed_parent_spawned_daemon,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_killed_parent_forked_daemon,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
