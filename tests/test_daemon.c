/* Daemon processes: the flag is reported (mp_process_daemon in the parent,
 * mp_current_daemon in the child, under every method); a daemon cannot
 * start a child (MP_ESTATE from start, reported through its exit code; the
 * would-be grandchild never runs), but it runs, returns and is joined like
 * any process. */
#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

typedef struct d_arg {
  char dir[TST_PATH_MAX];
  mp_start_method grandchild_method;
} d_arg;

static int role_marker(void *arg) {
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, ((d_arg *)arg)->dir, "grandchild.marker");
  tst_write_text(path, "ran\n");
  return 0;
}

/* Exit codes: 0 = start refused with MP_ESTATE as it must be. */
static int role_daemon_tries_child(void *arg) {
  d_arg *a = arg;
  if (mp_current_daemon() != 1)
    return 2;
  mp_process_options o = {0};
  o.method = a->grandchild_method;
  mp_process *p = NULL;
  int rc = mp_process_create(&p, role_marker, a, sizeof *a, &o);
  if (rc != 0)
    return 3; /* create is fine; it is start that is refused */
  rc = mp_process_start(p);
  if (rc == 0) {
    mp_process_join(p, 60000);
    mp_process_free(p);
    return 4;
  }
  if (rc != MP_ESTATE)
    return 5;
  if (mp_process_pid(p) != 0)
    return 6;
  if (mp_process_is_alive(p) != 0)
    return 7;
  if (mp_process_free(p) != 0)
    return 8;
  return 0;
}

static int role_return_4(void *arg) {
  (void)arg;
  return mp_current_daemon() == 1 ? 4 : 40;
}

static void check_daemon_cannot_start(const char *dir, mp_start_method own,
                                      mp_start_method gm) {
  d_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.dir, sizeof a.dir, "%s", dir);
  a.grandchild_method = gm;
  mp_process_options o = {0};
  o.daemon = 1;
  o.method = own;
  mp_process *p = tst_start(role_daemon_tries_child, &a, sizeof a, &o);
  assert_int_equal(mp_process_daemon(p), 1);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  /* Give a wrongly started grandchild time to show itself. */
  char path[TST_PATH_MAX];
  tst_path(path, sizeof path, dir, "grandchild.marker");
  if (code == 4 || code == 0)
    tst_sleep_ms(300);
  assert_false(tst_file_exists(path));
  assert_int_equal(code, 0);
}

static void test_daemon_cannot_start_leg_method(void **state) {
  check_daemon_cannot_start(*state, MP_START_DEFAULT, MP_START_DEFAULT);
}

static void test_spawned_daemon_cannot_start(void **state) {
  check_daemon_cannot_start(*state, MP_START_SPAWN, MP_START_SPAWN);
}

static void test_forked_daemon_cannot_start(void **state) {
#ifdef _WIN32
  (void)state;
  skip(); /* no fork on Windows */
#else
  check_daemon_cannot_start(*state, MP_START_FORK, MP_START_FORK);
  check_daemon_cannot_start(*state, MP_START_FORK, MP_START_SPAWN);
  check_daemon_cannot_start(*state, MP_START_SPAWN, MP_START_FORK);
#endif
}

static void test_daemon_runs_and_joins(void **state) {
  (void)state;
  mp_process_options o = {0};
  o.daemon = 1;
  mp_process *p = tst_start(role_return_4, NULL, 0, &o);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 4);
  assert_int_equal(mp_process_free(p), 0);
  /* And a non-daemon is not one. */
  p = tst_start(role_return_4, NULL, 0, NULL);
  assert_int_equal(mp_process_daemon(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 40);
  assert_int_equal(mp_process_free(p), 0);
}

/* The main process is no daemon: it may start children after having
 * started daemons. */
static void test_parent_of_daemon_can_still_start(void **state) {
  (void)state;
  mp_process_options o = {0};
  o.daemon = 1;
  mp_process *d = tst_start(role_return_4, NULL, 0, &o);
  mp_process *n = tst_start(role_return_4, NULL, 0, NULL);
  assert_int_equal(tst_join_code(d, TST_LONG_MS), 4);
  assert_int_equal(tst_join_code(n, TST_LONG_MS), 40);
  assert_int_equal(mp_process_free(d), 0);
  assert_int_equal(mp_process_free(n), 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_daemon_cannot_start_leg_method,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_spawned_daemon_cannot_start,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_forked_daemon_cannot_start,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test(test_daemon_runs_and_joins),
      cmocka_unit_test(test_parent_of_daemon_can_still_start),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
