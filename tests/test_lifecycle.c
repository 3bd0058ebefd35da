/* The life of a process object: pid 0 before start, is_alive 0 -> 1 -> 0,
 * join with a timeout (MP_ETIMEDOUT, then 0), join 0 polls, join and
 * start refused in the wrong state, free refused while running and
 * fine after, a never-started object freed. */
#include "support/test_support.h"

static int role_sleep(void *arg) {
  tst_sleep_ms(*(int *)arg);
  return 17;
}

static void test_pid_zero_before_start(void **state) {
  (void)state;
  mp_process *p = NULL;
  int ms = 0;
  assert_int_equal(mp_process_create(&p, role_sleep, &ms, sizeof ms, NULL), 0);
  assert_int_equal(mp_process_pid(p), 0);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_pid_after_start(void **state) {
  (void)state;
  int ms = 0;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  mp_pid pid = mp_process_pid(p);
  assert_true(pid > 0);
  assert_true(pid != mp_current_pid());
  assert_true(pid != tst_os_pid());
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 17);
  /* The pid stays readable after exit. */
  assert_int_equal(mp_process_pid(p), pid);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_is_alive_transitions(void **state) {
  (void)state;
  mp_process *p = NULL;
  int ms = 1500;
  assert_int_equal(mp_process_create(&p, role_sleep, &ms, sizeof ms, NULL), 0);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_start(p), 0);
  assert_int_equal(mp_process_is_alive(p), 1);
  assert_int_equal(mp_process_is_alive(p), 1);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 17);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(mp_process_free(p), 0);
}

/* is_alive notices the exit by itself, without a join. */
static void test_is_alive_turns_zero_without_join(void **state) {
  (void)state;
  int ms = 100;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  int64_t deadline = tst_now_ms() + TST_LONG_MS;
  while (mp_process_is_alive(p) == 1 && tst_now_ms() < deadline)
    tst_sleep_ms(10);
  assert_int_equal(mp_process_is_alive(p), 0);
  assert_int_equal(tst_join_code(p, 0), 17);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_join_timeout(void **state) {
  (void)state;
  int ms = 1000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_process_join(p, 50), MP_ETIMEDOUT);
  int64_t waited = tst_now_ms() - t0;
  /* It waited about 50 ms: not much less (timer granularity aside), and
   * not forever. */
  assert_true(waited >= 40);
  assert_true(waited < 10000);
  assert_int_equal(mp_process_is_alive(p), 1);
  int code = -1;
  assert_int_equal(mp_process_exitcode(p, &code), MP_ESTATE);
  assert_int_equal(mp_process_join(p, MP_INFINITE), 0);
  /* The child slept 1000 ms, so the whole wait was at least about that. */
  assert_true(tst_now_ms() - t0 >= 900);
  assert_int_equal(mp_process_exitcode(p, &code), 0);
  assert_int_equal(code, 17);
  assert_int_equal(mp_process_free(p), 0);
}

/* The brief's numbers: a 300 ms child, a 50 ms join. */
static void test_join_timeout_short_child(void **state) {
  (void)state;
  int ms = 300;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_process_join(p, 50), MP_ETIMEDOUT);
  assert_true(tst_now_ms() - t0 >= 40);
  assert_int_equal(mp_process_join(p, MP_INFINITE), 0);
  assert_true(tst_now_ms() - t0 >= 250);
  assert_int_equal(tst_join_code(p, 0), 17);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_join_zero_polls(void **state) {
  (void)state;
  int ms = 1500;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_process_join(p, 0), MP_ETIMEDOUT);
  assert_true(tst_now_ms() - t0 < 5000);
  int rc;
  int64_t deadline = tst_now_ms() + TST_LONG_MS;
  while ((rc = mp_process_join(p, 0)) == MP_ETIMEDOUT &&
         tst_now_ms() < deadline)
    tst_sleep_ms(20);
  assert_int_equal(rc, 0);
  assert_true(tst_now_ms() - t0 >= 1400);
  assert_int_equal(tst_join_code(p, 0), 17);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_join_repeatable(void **state) {
  (void)state;
  int ms = 0;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  assert_int_equal(mp_process_join(p, MP_INFINITE), 0);
  assert_int_equal(mp_process_join(p, MP_INFINITE), 0);
  assert_int_equal(mp_process_join(p, 0), 0);
  assert_int_equal(mp_process_join(p, 100), 0);
  assert_int_equal(tst_join_code(p, 0), 17);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_join_before_start(void **state) {
  (void)state;
  mp_process *p = NULL;
  int ms = 0;
  assert_int_equal(mp_process_create(&p, role_sleep, &ms, sizeof ms, NULL), 0);
  assert_int_equal(mp_process_join(p, 0), MP_ESTATE);
  assert_int_equal(mp_process_join(p, 100), MP_ESTATE);
  assert_int_equal(mp_process_join(p, MP_INFINITE), MP_ESTATE);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_start_twice(void **state) {
  (void)state;
  int ms = 300;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  mp_pid pid = mp_process_pid(p);
  assert_int_equal(mp_process_start(p), MP_ESTATE);
  assert_int_equal(mp_process_pid(p), pid);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 17);
  /* Also after it has ended. */
  assert_int_equal(mp_process_start(p), MP_ESTATE);
  assert_int_equal(mp_process_pid(p), pid);
  assert_int_equal(mp_process_free(p), 0);
}

static void test_free_running_refused(void **state) {
  (void)state;
  int ms = 120000;
  mp_process_options o = {0};
  o.name = "keep-me";
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, &o);
  tst_guard_process(p);
  mp_pid pid = mp_process_pid(p);
  int rc = tst_free(p);
  if (rc == 0)
    fail_msg("free accepted a running child");
  assert_int_equal(rc, MP_ESTATE);
  /* Left intact, and still usable. */
  assert_string_equal(mp_process_name(p), "keep-me");
  assert_int_equal(mp_process_pid(p), pid);
  assert_int_equal(mp_process_is_alive(p), 1);
  assert_int_equal(tst_free(p), MP_ESTATE);
  assert_int_equal(mp_process_terminate(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -15);
  assert_int_equal(tst_free(p), 0);
}

/* A child that ends by itself: free is refused while it runs and works
 * once it has been joined. */
static void test_free_after_join(void **state) {
  (void)state;
  int ms = 1500;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  int rc = mp_process_free(p);
  if (rc == 0) /* p is gone: do not touch it again */
    fail_msg("free accepted a child that sleeps 1.5 s, right after start");
  assert_int_equal(rc, MP_ESTATE);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 17);
  assert_int_equal(mp_process_free(p), 0);
}

/* Exited but never joined nor polled: free must find out by itself. */
static void test_free_after_unobserved_exit(void **state) {
  (void)state;
  int ms = 0;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_watch *w = tst_watch_pid(mp_process_pid(p));
  if (w != NULL) {
    /* Wait until the OS says it ended (a zombie counts). */
    assert_true(tst_watch_gone(w, TST_LONG_MS));
    tst_watch_free(w);
  } else {
    tst_sleep_ms(2000);
  }
  int rc = mp_process_free(p);
  if (rc == MP_ESTATE) {
    /* Only acceptable while it truly still runs. */
    assert_int_equal(tst_join_code(p, TST_LONG_MS), 17);
    fail_msg("free refused a child that had already exited");
  }
  assert_int_equal(rc, 0);
}

static void test_free_after_kill(void **state) {
  (void)state;
  int ms = 120000;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  tst_guard_process(p);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
  assert_int_equal(tst_free(p), 0);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pid_zero_before_start),
      cmocka_unit_test(test_pid_after_start),
      cmocka_unit_test(test_is_alive_transitions),
      cmocka_unit_test(test_is_alive_turns_zero_without_join),
      cmocka_unit_test(test_join_timeout),
      cmocka_unit_test(test_join_timeout_short_child),
      cmocka_unit_test(test_join_zero_polls),
      cmocka_unit_test(test_join_repeatable),
      cmocka_unit_test(test_join_before_start),
      cmocka_unit_test(test_start_twice),
      cmocka_unit_test_teardown(test_free_running_refused,
                                tst_teardown_processes),
      cmocka_unit_test(test_free_after_join),
      cmocka_unit_test(test_free_after_unobserved_exit),
      cmocka_unit_test_teardown(test_free_after_kill, tst_teardown_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
