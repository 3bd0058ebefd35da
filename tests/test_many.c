/* Many processes: 16 running at once, each with its own argument and exit
 * code and a distinct pid, joined in forward and reverse order; 16 killed
 * and terminated at once; and many start/join/free rounds in a row (no
 * leak of whatever a process object holds). */
#include "support/test_support.h"

#include <string.h>

#define N 16

typedef struct m_arg {
  int index;
  int sleep_ms;
} m_arg;

static int role_indexed(void *arg) {
  m_arg *a = arg;
  tst_sleep_ms(a->sleep_ms);
  return 100 + a->index;
}

static void run_many(int reverse) {
  mp_process *ps[N];
  mp_pid pids[N];
  for (int i = 0; i < N; i++) {
    m_arg a = {i, 300 + 10 * (i % 4)};
    ps[i] = tst_start(role_indexed, &a, sizeof a, NULL);
    pids[i] = mp_process_pid(ps[i]);
    assert_true(pids[i] > 0);
    for (int j = 0; j < i; j++)
      assert_int_not_equal(pids[i], pids[j]);
  }
  for (int k = 0; k < N; k++) {
    int i = reverse ? N - 1 - k : k;
    assert_int_equal(tst_join_code(ps[i], 2 * TST_LONG_MS), 100 + i);
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_process_is_alive(ps[i]), 0);
    assert_int_equal(mp_process_pid(ps[i]), pids[i]);
    assert_int_equal(mp_process_free(ps[i]), 0);
  }
}

static void test_sixteen_at_once(void **state) {
  (void)state;
  run_many(0);
}

static void test_sixteen_joined_in_reverse(void **state) {
  (void)state;
  run_many(1);
}

static void test_sixteen_stopped_at_once(void **state) {
  (void)state;
  mp_process *ps[N];
  for (int i = 0; i < N; i++) {
    m_arg a = {i, 120000};
    ps[i] = tst_start(role_indexed, &a, sizeof a, NULL);
    tst_guard_process(ps[i]);
  }
  for (int i = 0; i < N; i++) {
    if (i % 2)
      assert_int_equal(mp_process_kill(ps[i]), 0);
    else
      assert_int_equal(mp_process_terminate(ps[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(tst_join_code(ps[i], TST_LONG_MS), i % 2 ? -9 : -15);
    assert_int_equal(tst_free(ps[i]), 0);
  }
}

static void test_many_rounds(void **state) {
  (void)state;
  for (int i = 0; i < 40; i++) {
    m_arg a = {i % 100, 0};
    mp_process *p = tst_start(role_indexed, &a, sizeof a, NULL);
    assert_int_equal(tst_join_code(p, TST_LONG_MS), 100 + i % 100);
    assert_int_equal(mp_process_free(p), 0);
  }
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sixteen_at_once),
      cmocka_unit_test(test_sixteen_joined_in_reverse),
      cmocka_unit_test_teardown(test_sixteen_stopped_at_once,
                                tst_teardown_processes),
      cmocka_unit_test(test_many_rounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
