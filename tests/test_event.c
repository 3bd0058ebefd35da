/* Event across processes: CPython's _test_event sequence (is_set, waits
 * with and without timeout before and after set, a child setting it
 * later), many waiters released by one set, Python's rule that a set
 * wakes every waiter even if a clear follows at once, and bad input. */
#include "support/sync_util.h"

#include <string.h>

#ifdef MPROC_FAULT_POINTS
#include "fault.h"
#endif

#define PROCS 5

typedef struct e_arg {
  mp_event ev;
  mp_sem sleeping;
  int delay_ms;
  int timeout_ms;
  int expect; /* what wait must return */
} e_arg;

static int role_set_later(void *arg) {
  e_arg *a = arg;
  tst_sleep_ms(a->delay_ms);
  SU_CHECK(mp_event_set(&a->ev) == 0);
  return 0;
}

static int role_wait(void *arg) {
  e_arg *a = arg;
  SU_CHECK(mp_sem_release(&a->sleeping) == 0);
  int64_t t0 = tst_now_ms();
  SU_CHECK(mp_event_wait(&a->ev, a->timeout_ms) == a->expect);
  if (a->expect == MP_ETIMEDOUT)
    SU_CHECK(tst_now_ms() - t0 >= a->timeout_ms - SU_EARLY_MS);
  return 0;
}

static void make(e_arg *a) {
  memset(a, 0, sizeof *a);
  assert_int_equal(mp_event_create(&a->ev), 0);
  assert_int_equal(mp_sem_create(&a->sleeping, 0, 0), 0);
}

static void unmake(e_arg *a) {
  assert_int_equal(mp_event_free(&a->ev), 0);
  assert_int_equal(mp_sem_free(&a->sleeping), 0);
}

static void test_event_sequence(void **state) {
  (void)state;
  e_arg a;
  make(&a);
  assert_int_equal(mp_event_is_set(&a.ev), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_event_wait(&a.ev, 0), MP_ETIMEDOUT);
  su_assert_took(t0, 0);
  t0 = tst_now_ms();
  assert_int_equal(mp_event_wait(&a.ev, 100), MP_ETIMEDOUT);
  su_assert_took(t0, 100);

  assert_int_equal(mp_event_set(&a.ev), 0);
  assert_int_equal(mp_event_is_set(&a.ev), 1);
  t0 = tst_now_ms();
  assert_int_equal(mp_event_wait(&a.ev, MP_INFINITE), 0);
  assert_int_equal(mp_event_wait(&a.ev, 100), 0);
  assert_int_equal(mp_event_wait(&a.ev, 0), 0);
  su_assert_took(t0, 0);
  assert_int_equal(mp_event_set(&a.ev), 0); /* setting twice is fine */
  assert_int_equal(mp_event_is_set(&a.ev), 1);

  assert_int_equal(mp_event_clear(&a.ev), 0);
  assert_int_equal(mp_event_is_set(&a.ev), 0);
  assert_int_equal(mp_event_clear(&a.ev), 0);
  assert_int_equal(mp_event_wait(&a.ev, 0), MP_ETIMEDOUT);

  a.delay_ms = 200;
  mp_process *p = tst_start(role_set_later, &a, sizeof a, NULL);
  assert_int_equal(mp_event_wait(&a.ev, MP_INFINITE), 0);
  assert_int_equal(mp_event_is_set(&a.ev), 1);
  su_join_n(&p, 1, 0);
  unmake(&a);
}

/* One set releases every process waiting; a child's timed wait on an
 * unset event times out on its own clock. */
static void test_event_many_waiters(void **state) {
  (void)state;
  e_arg a;
  make(&a);
  a.timeout_ms = 150;
  a.expect = MP_ETIMEDOUT;
  mp_process *ps[PROCS];
  su_start_n(ps, 2, role_wait, &a, sizeof a);
  su_join_n(ps, 2, 0);

  a.timeout_ms = TST_LONG_MS;
  a.expect = 0;
  su_start_n(ps, PROCS, role_wait, &a, sizeof a);
  for (int i = 0; i < PROCS; i++)
    assert_int_equal(mp_sem_acquire(&a.sleeping, TST_LONG_MS), 0);
  tst_sleep_ms(100);
  for (int i = 0; i < PROCS; i++)
    assert_int_equal(mp_process_is_alive(ps[i]), 1);
  assert_int_equal(mp_event_set(&a.ev), 0);
  su_join_n(ps, PROCS, 0);
  unmake(&a);
}

/* Python: a set wakes every thread waiting at that moment, even if the
 * event is cleared before they run. A waiter must not miss that set. */
static void test_event_set_then_clear_wakes_sleepers(void **state) {
  (void)state;
  e_arg a;
  make(&a);
  a.timeout_ms = TST_LONG_MS;
  a.expect = 0;
  mp_process *ps[PROCS];
  su_start_n(ps, PROCS, role_wait, &a, sizeof a);
  for (int i = 0; i < PROCS; i++)
    assert_int_equal(mp_sem_acquire(&a.sleeping, TST_LONG_MS), 0);
  tst_sleep_ms(300); /* from "about to wait" to asleep */
  assert_int_equal(mp_event_set(&a.ev), 0);
  assert_int_equal(mp_event_clear(&a.ev), 0);
  su_join_n(ps, PROCS, 0);
  assert_int_equal(mp_event_is_set(&a.ev), 0);
  unmake(&a);
}

static void test_event_bad_input(void **state) {
  (void)state;
  assert_int_equal(mp_event_create(NULL), MP_EINVAL);
  assert_int_equal(mp_event_set(NULL), MP_EINVAL);
  assert_int_equal(mp_event_clear(NULL), MP_EINVAL);
  assert_int_equal(mp_event_is_set(NULL), MP_EINVAL);
  assert_int_equal(mp_event_wait(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_event_free(NULL), MP_EINVAL);

  mp_event zero = {0, 0, 0};
  assert_int_equal(mp_event_set(&zero), MP_EINVAL);
  assert_int_equal(mp_event_is_set(&zero), MP_EINVAL);
  assert_int_equal(mp_event_wait(&zero, 0), MP_EINVAL);

  mp_event e;
  assert_int_equal(mp_event_create(&e), 0);
  assert_int_equal(mp_event_wait(&e, -2), MP_EINVAL);
  mp_event forged = e;
  forged._off += 32;
  assert_int_equal(mp_event_set(&forged), MP_EINVAL);
  forged = e;
  forged._id ^= 0x100;
  assert_int_equal(mp_event_wait(&forged, 0), MP_EINVAL);

  mp_event copy = e;
  assert_int_equal(mp_event_free(&e), 0);
  assert_int_equal(mp_event_set(&copy), MP_EINVAL);
  assert_int_equal(mp_event_clear(&copy), MP_EINVAL);
  assert_int_equal(mp_event_is_set(&copy), MP_EINVAL);
  assert_int_equal(mp_event_wait(&copy, 0), MP_EINVAL);
  assert_int_equal(mp_event_free(&copy), MP_EINVAL);
}

/* A set killed after the flag went up but before its wake: the process
 * asleep in an infinite wait returns all the same. */
typedef struct wake_arg {
  mp_event e;
  mp_sem ready;
} wake_arg;

#ifdef MPROC_FAULT_POINTS
static int role_wait_forever(void *p) {
  wake_arg *a = p;
  SU_CHECK(mp_sem_release(&a->ready) == 0);
  SU_CHECK(mp_event_wait(&a->e, MP_INFINITE) == 0);
  return 0;
}

static int role_set_and_die(void *p) {
  wake_arg *a = p;
  su_wait_asleep(&a->ready);
  mp__fault_arm("event.set.wake", 0, MP__FAULT_KILL, 0);
  mp_event_set(&a->e);
  SU_CHECK(!"killed at event.set.wake");
  return 0;
}
#endif

static void test_event_set_killed_before_wake(void **state) {
  (void)state;
#ifndef MPROC_FAULT_POINTS
  skip();
#else
  wake_arg a;
  assert_int_equal(mp_event_create(&a.e), 0);
  assert_int_equal(mp_sem_create(&a.ready, 0, 0), 0);
  su_killed_before_wake(role_wait_forever, role_set_and_die, &a, sizeof a);
  assert_int_equal(mp_event_is_set(&a.e), 1);
  assert_int_equal(mp_event_free(&a.e), 0);
  assert_int_equal(mp_sem_free(&a.ready), 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_sequence),
      cmocka_unit_test(test_event_many_waiters),
      cmocka_unit_test(test_event_set_then_clear_wakes_sleepers),
      cmocka_unit_test(test_event_bad_input),
      cmocka_unit_test_teardown(test_event_set_killed_before_wake,
                                tst_teardown_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
