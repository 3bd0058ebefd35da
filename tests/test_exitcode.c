/* Exit codes on every leg: the target's return value 0..255, exit(n)
 * inside the target, terminate -> -15, kill -> -9, an invalid memory
 * access -> -11; terminate/kill are no-ops after exit and refused before
 * start; the code is MP_ESTATE before start and before exit. */
#include "support/test_support.h"

#include <stdlib.h>

static int role_return(void *arg) { return *(int *)arg; }

static int role_exit(void *arg) {
  exit(*(int *)arg);
  return 99; /* not reached */
}

static int role_sleep(void *arg) {
  tst_sleep_ms(*(int *)arg);
  return 0;
}

static int role_crash(void *arg) {
  (void)arg;
  tst_crash_now();
  return 98;
}

static int run_code(mp_target t, int v) {
  mp_process *p = tst_start(t, &v, sizeof v, NULL);
  int code = tst_join_code(p, TST_LONG_MS);
  assert_int_equal(mp_process_free(p), 0);
  return code;
}

static void test_return_values(void **state) {
  (void)state;
  const int values[] = {0, 1, 2, 42, 127, 128, 200, 255};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    assert_int_equal(run_code(role_return, values[i]), values[i]);
}

static void test_exit_inside_target(void **state) {
  (void)state;
  assert_int_equal(run_code(role_exit, 7), 7);
  assert_int_equal(run_code(role_exit, 0), 0);
  assert_int_equal(run_code(role_exit, 1), 1);
  assert_int_equal(run_code(role_exit, 255), 255);
}

static void test_terminate(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  /* Let it get going (not needed for the result, but a more common
   * case), then terminate. */
  tst_sleep_ms(200);
  assert_int_equal(mp_process_is_alive(p), 1);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -15);
  /* It ended because of terminate, not because it slept its time. */
  assert_true(tst_now_ms() - t0 < 60000);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(tst_free(p), 0);
}

static void test_terminate_right_after_start(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -15);
  assert_int_equal(tst_free(p), 0);
}

static void test_kill(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  tst_sleep_ms(200);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(tst_free(p), 0);
}

static void test_crash_is_minus_11(void **state) {
  (void)state;
  int unused = 0;
  assert_int_equal(run_code(role_crash, unused), -11);
}

static void test_terminate_kill_after_exit_are_noops(void **state) {
  (void)state;
  int v = 5;
  mp_process *p = tst_start(role_return, &v, sizeof v, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 5);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(mp_process_join(p, 0), 0);
  int code = -1;
  assert_int_equal(mp_process_exitcode(p, &code), 0);
  assert_int_equal(code, 5);
  assert_int_equal(mp_process_free(p), 0);
}

/* Exited but not yet joined: terminate/kill must not change the code
 * (the child is already gone; the status is the real one). */
static void test_terminate_after_unjoined_exit(void **state) {
  (void)state;
  int v = 6;
  mp_process *p = tst_start(role_return, &v, sizeof v, NULL);
  int64_t deadline = tst_now_ms() + TST_LONG_MS;
  while (mp_process_is_alive(p) == 1 && tst_now_ms() < deadline)
    tst_sleep_ms(10);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 6);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_terminate_kill_before_start(void **state) {
  (void)state;
  mp_process *p = NULL;
  int v = 1;
  assert_int_equal(mp_process_create(&p, role_return, &v, sizeof v, NULL), 0);
  assert_int_equal(mp_process_terminate(p), MP_ESTATE);
  assert_int_equal(mp_process_kill(p), MP_ESTATE);
  /* Still startable afterwards. */
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 1);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_exitcode_before_start_and_before_exit(void **state) {
  (void)state;
  mp_process *p = NULL;
  int ms = 1500;
  int code = 1234;
  assert_int_equal(mp_process_create(&p, role_sleep, &ms, sizeof ms, NULL), 0);
  assert_int_equal(mp_process_exitcode(p, &code), MP_ESTATE);
  assert_int_equal(code, 1234);
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(mp_process_exitcode(p, &code), MP_ESTATE);
  assert_int_equal(code, 1234);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
}

/* exitcode waits for an exited child without blocking: once it has ended,
 * polling exitcode alone eventually gives the code, without a join. */
static void test_exitcode_without_join(void **state) {
  (void)state;
  int v = 33;
  mp_process *p = tst_start(role_return, &v, sizeof v, NULL);
  int code = -1;
  int rc = MP_ESTATE;
  int64_t deadline = tst_now_ms() + TST_LONG_MS;
  while ((rc = mp_process_exitcode(p, &code)) == MP_ESTATE &&
         tst_now_ms() < deadline)
    tst_sleep_ms(10);
  assert_int_equal(rc, 0);
  assert_int_equal(code, 33);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_join(p, 0), 0);
  assert_int_equal(mp_process_free(p), 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_return_values),
      cmocka_unit_test(test_exit_inside_target),
      cmocka_unit_test_teardown(test_terminate, tst_teardown_processes),
      cmocka_unit_test_teardown(test_terminate_right_after_start,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_kill, tst_teardown_processes),
      cmocka_unit_test(test_crash_is_minus_11),
      cmocka_unit_test(test_terminate_kill_after_exit_are_noops),
      cmocka_unit_test(test_terminate_after_unjoined_exit),
      cmocka_unit_test(test_terminate_kill_before_start),
      cmocka_unit_test(test_exitcode_before_start_and_before_exit),
      cmocka_unit_test(test_exitcode_without_join),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
