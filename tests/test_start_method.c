/* The start method: default per OS, the MP_START_METHOD override (read at
 * first use), set/get, FORK on Windows is MP_ENOTSUP, values outside the
 * enum are MP_EINVAL, per-process methods, and a spawned child starting
 * with its parent's method. */
#include "support/test_support.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The method this leg should start with, from the environment. */
static mp_start_method expected_default(void) {
  const char *env = getenv("MP_START_METHOD");
#ifdef _WIN32
  (void)env;
  return MP_START_SPAWN;
#else
  if (env != NULL && strcmp(env, "spawn") == 0)
    return MP_START_SPAWN;
  return MP_START_FORK;
#endif
}

/* Set to 77 in the parent before each start: a forked child sees 77, a
 * spawned one (a fresh run of the executable) sees 0. */
static int g_marker = 0;

/* Exit code: 10 * (the child's method) + 1 if it was forked. */
static int role_report_method(void *arg) {
  (void)arg;
  return 10 * (int)mp_get_start_method() + (g_marker == 77 ? 1 : 0);
}

#define FORKED(method) (10 * (method) + 1)
#define SPAWNED(method) (10 * (method))

static void test_initial_method_follows_env(void **state) {
  (void)state;
  mp_start_method m = mp_get_start_method();
  assert_true(m == MP_START_FORK || m == MP_START_SPAWN);
  assert_int_equal(m, expected_default());
}

static void test_env_read_at_first_use_only(void **state) {
  (void)state;
  mp_start_method before = mp_get_start_method();
  const char *old = getenv("MP_START_METHOD");
  char saved[64] = "";
  if (old)
    snprintf(saved, sizeof saved, "%s", old);
  int set_rc = tst_setenv("MP_START_METHOD",
                          before == MP_START_FORK ? "spawn" : "fork");
  mp_start_method after_env = mp_get_start_method();
  int default_rc = mp_set_start_method(MP_START_DEFAULT);
  /* DEFAULT returns to the default as it was established, still. */
  mp_start_method after_default = mp_get_start_method();
  /* Restore before asserting, so a failure here cannot spill over. */
  tst_setenv("MP_START_METHOD", old ? saved : NULL);
  assert_int_equal(set_rc, 0);
  assert_int_equal(default_rc, 0);
  if (after_env != before)
    fail_msg("the method changed from %d to %d when MP_START_METHOD changed "
             "after first use (mproc.h: the variable is read at first use)",
             (int)before, (int)after_env);
  assert_int_equal(after_default, before);
}

static void test_set_and_get(void **state) {
  (void)state;
  assert_int_equal(mp_set_start_method(MP_START_SPAWN), 0);
  assert_int_equal(mp_get_start_method(), MP_START_SPAWN);
#ifdef _WIN32
  assert_int_equal(mp_set_start_method(MP_START_FORK), MP_ENOTSUP);
  assert_int_equal(mp_get_start_method(), MP_START_SPAWN);
#else
  assert_int_equal(mp_set_start_method(MP_START_FORK), 0);
  assert_int_equal(mp_get_start_method(), MP_START_FORK);
#endif
  assert_int_equal(mp_set_start_method(MP_START_DEFAULT), 0);
  assert_int_equal(mp_get_start_method(), expected_default());
  assert_int_not_equal(mp_get_start_method(), MP_START_DEFAULT);
}

static void test_fork_on_windows_not_supported(void **state) {
  (void)state;
#ifdef _WIN32
  mp_process *p = NULL;
  mp_process_options o = {0};
  o.method = MP_START_FORK;
  assert_int_equal(mp_set_start_method(MP_START_FORK), MP_ENOTSUP);
  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, &o),
                   MP_ENOTSUP);
#else
  skip(); /* fork exists on POSIX; covered by test_set_and_get */
#endif
}

static void test_bad_enum(void **state) {
  (void)state;
  mp_start_method before = mp_get_start_method();
  assert_int_equal(mp_set_start_method((mp_start_method)3), MP_EINVAL);
  assert_int_equal(mp_set_start_method((mp_start_method)-1), MP_EINVAL);
  assert_int_equal(mp_set_start_method((mp_start_method)1000), MP_EINVAL);
  assert_int_equal(mp_get_start_method(), before);

  mp_process *p = NULL;
  mp_process_options o = {0};
  o.method = (mp_start_method)3; /* one past the last */
  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, &o),
                   MP_EINVAL);
  o.method = (mp_start_method)7;
  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, &o),
                   MP_EINVAL);
  o.method = (mp_start_method)-2;
  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, &o),
                   MP_EINVAL);
  o.method = (mp_start_method)INT_MAX;
  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, &o),
                   MP_EINVAL);
  assert_null(p);
}

/* A spawned child starts with its parent's method: SPAWN set globally. */
static void test_spawned_child_inherits_spawn(void **state) {
  (void)state;
  assert_int_equal(mp_set_start_method(MP_START_SPAWN), 0);
  g_marker = 77;
  mp_process *p = tst_start(role_report_method, NULL, 0, NULL);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(mp_set_start_method(MP_START_DEFAULT), 0);
  assert_int_equal(code, SPAWNED(MP_START_SPAWN));
}

/* The per-process method wins for that process; the child's own method is
 * its parent's method in effect (as Python's spawn passes it along). */
static void test_per_process_method(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* only spawn exists */
#else
  mp_process_options o = {0};
  assert_int_equal(mp_set_start_method(MP_START_FORK), 0);
  o.method = MP_START_SPAWN;
  g_marker = 77;
  mp_process *p = tst_start(role_report_method, NULL, 0, &o);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, SPAWNED(MP_START_FORK));

  assert_int_equal(mp_set_start_method(MP_START_SPAWN), 0);
  o.method = MP_START_FORK;
  p = tst_start(role_report_method, NULL, 0, &o);
  code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, FORKED(MP_START_SPAWN));
  assert_int_equal(mp_set_start_method(MP_START_DEFAULT), 0);
#endif
}

/* MP_START_DEFAULT in the options means "the method in effect at start",
 * not at create. */
static void test_default_option_resolved_at_start(void **state) {
  (void)state;
#ifdef _WIN32
  skip(); /* only spawn exists */
#else
  mp_process *p = NULL;
  g_marker = 77;
  assert_int_equal(mp_set_start_method(MP_START_FORK), 0);
  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, NULL), 0);
  assert_int_equal(mp_set_start_method(MP_START_SPAWN), 0);
  assert_int_equal(mp_process_start(p), 0);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, SPAWNED(MP_START_SPAWN));

  assert_int_equal(mp_process_create(&p, role_report_method, NULL, 0, NULL), 0);
  assert_int_equal(mp_set_start_method(MP_START_FORK), 0);
  assert_int_equal(mp_process_start(p), 0);
  code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, FORKED(MP_START_FORK));
  assert_int_equal(mp_set_start_method(MP_START_DEFAULT), 0);
#endif
}

/* The default method of this leg is the one used. */
static void test_leg_method_used(void **state) {
  (void)state;
  g_marker = 77;
  mp_start_method m = mp_get_start_method();
  mp_process *p = tst_start(role_report_method, NULL, 0, NULL);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(code, m == MP_START_FORK ? FORKED(m) : SPAWNED(m));
}

/* Runs the probe program with MP_START_METHOD set to value (NULL: unset)
 * and returns the method it printed. */
static int probe_method(const char *value) {
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], buf[4096];
  char dir[TST_PATH_MAX];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "probe"), 0);
  assert_true(tst_file_exists(exe));
  assert_int_equal(tst_make_tmpdir(dir, sizeof dir), 0);
  tst_path(out, sizeof out, dir, "probe.out");

  const char *old = getenv("MP_START_METHOD");
  char saved[64] = "";
  if (old)
    snprintf(saved, sizeof saved, "%s", old);
  tst_setenv("MP_START_METHOD", value);
  int code = -1;
  int rc = tst_run(exe, NULL, out, NULL, TST_LONG_MS, &code);
  tst_setenv("MP_START_METHOD", old ? saved : NULL);
  assert_int_equal(rc, 0);
  assert_int_equal(code, 0);
  assert_true(tst_read_file(out, buf, sizeof buf) > 0);
  tst_remove_tmpdir(dir);
  const char *m = strstr(buf, "method=");
  assert_non_null(m);
  return atoi(m + 7);
}

static void test_env_override_in_fresh_program(void **state) {
  (void)state;
#ifdef _WIN32
  assert_int_equal(probe_method(NULL), MP_START_SPAWN);
  assert_int_equal(probe_method("spawn"), MP_START_SPAWN);
  /* FORK can never be in effect on Windows. */
  assert_int_equal(probe_method("fork"), MP_START_SPAWN);
#else
  assert_int_equal(probe_method(NULL), MP_START_FORK);
  assert_int_equal(probe_method("spawn"), MP_START_SPAWN);
  assert_int_equal(probe_method("fork"), MP_START_FORK);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_initial_method_follows_env),
      cmocka_unit_test(test_env_read_at_first_use_only),
      cmocka_unit_test(test_set_and_get),
      cmocka_unit_test(test_fork_on_windows_not_supported),
      cmocka_unit_test(test_bad_enum),
      cmocka_unit_test(test_leg_method_used),
      cmocka_unit_test(test_spawned_child_inherits_spawn),
      cmocka_unit_test(test_per_process_method),
      cmocka_unit_test(test_default_option_resolved_at_start),
      cmocka_unit_test(test_env_override_in_fresh_program),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
