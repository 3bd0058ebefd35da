/* The main guard.
 *  - In the launched program it returns (this test runs at all).
 *  - In a spawned child it runs the target and never returns: the rest of
 *    main (below the guard) never runs there. main() below writes a marker
 *    file if it ever gets past the guard in a child.
 *  - A program that forgets the guard (tests/progs/no_guard) and starts a
 *    process under spawn does not fork-bomb: it finishes in bounded time,
 *    stderr holds one message naming mp_main_guard, the target never runs
 *    and the child's exit code is 1. */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKER_ENV "MPROC_TEST_MAIN_MARKER"

static int role_check_env(void *arg) {
  (void)arg;
  /* The environment reached the child (so the marker check below is
   * meaningful). */
  return getenv(MARKER_ENV) != NULL ? 33 : 34;
}

static void check_main_not_rerun(const char *dir, mp_start_method m) {
  char marker[TST_PATH_MAX];
  tst_path(marker, sizeof marker, dir, "main-ran");
  assert_int_equal(tst_setenv(MARKER_ENV, marker), 0);
  mp_process_options o = {0};
  o.method = m;
  mp_process *p = tst_start(role_check_env, NULL, 0, &o);
  int code = tst_join_code(p, TST_LONG_MS);
  tst_setenv(MARKER_ENV, NULL);
  assert_int_equal(mp_process_free(p), 0);
  if (tst_file_exists(marker))
    fail_msg("main() continued past mp_main_guard in the child");
  assert_int_equal(code, 33);
}

static void test_spawned_child_never_returns_from_guard(void **state) {
  check_main_not_rerun(*state, MP_START_SPAWN);
}

static void test_leg_child_never_returns_from_guard(void **state) {
  check_main_not_rerun(*state, MP_START_DEFAULT);
}

static void test_no_guard_program(void **state) {
  const char *dir = *state;
  char exe[TST_PATH_MAX], out[TST_PATH_MAX], err[TST_PATH_MAX];
  char obuf[8192], ebuf[8192];
  assert_int_equal(tst_prog_path(exe, sizeof exe, "no_guard"), 0);
  if (!tst_file_exists(exe))
    fail_msg("helper program %s is missing", exe);
  tst_path(out, sizeof out, dir, "out.txt");
  tst_path(err, sizeof err, dir, "err.txt");
  tst_setenv("NO_GUARD_DEPTH", NULL);

  int code = -1;
  int64_t t0 = tst_now_ms();
  int rc = tst_run(exe, NULL, out, err, TST_LONG_MS, &code);
  int64_t took = tst_now_ms() - t0;
  obuf[0] = ebuf[0] = '\0';
  tst_read_file(out, obuf, sizeof obuf);
  tst_read_file(err, ebuf, sizeof ebuf);
  tst_strip_cr(obuf);
  tst_strip_cr(ebuf);
  print_message("no_guard took %lld ms, exit %d\nstdout: [%s]\nstderr: [%s]\n",
                (long long)took, code, obuf, ebuf);
  /* Bounded: it ended by itself. */
  assert_int_equal(rc, 0);
  /* No grandchild ever ran (the safety net in no_guard). */
  assert_int_equal(tst_count(ebuf, "NO_GUARD_BOMB"), 0);
  /* The target never ran. */
  assert_int_equal(tst_count(obuf, "NO_GUARD_TARGET_RAN"), 0);
  /* A message naming the guard... */
  assert_true(tst_count(ebuf, "mp_main_guard") >= 1);
  /* ...written once: its first line does not repeat (one refused child,
   * no chain of them each writing it). */
  {
    char first[512];
    size_t n = strcspn(ebuf, "\r\n");
    assert_true(n > 0 && n < sizeof first);
    memcpy(first, ebuf, n);
    first[n] = '\0';
    assert_int_equal(tst_count(ebuf, first), 1);
  }
  /* The launched program went on: start succeeded, join succeeded, and the
   * child failed with 1; the child itself never got to print a result
   * (it exited inside mp_process_start). */
  assert_int_equal(tst_count(obuf, "NO_GUARD_RESULT"), 1);
  assert_int_equal(
      tst_count(obuf, "NO_GUARD_RESULT create=0 start=0 join=0 code=1\n"), 1);
  assert_int_equal(code, 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  {
    /* Only a child that got past the guard can get here with the marker
     * set: the test process sets it after its own main passed here. */
    const char *marker = getenv(MARKER_ENV);
    if (marker != NULL) {
      tst_write_text(marker, "main ran in pid %lld\n", (long long)tst_os_pid());
      return 99;
    }
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_spawned_child_never_returns_from_guard, tst_setup_tmpdir,
          tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_leg_child_never_returns_from_guard,
                                      tst_setup_tmpdir, tst_teardown_tmpdir),
      cmocka_unit_test_setup_teardown(test_no_guard_program, tst_setup_tmpdir,
                                      tst_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
