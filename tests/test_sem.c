/* Semaphore and bounded semaphore: the value sequence and timeouts of
 * CPython's _test_multiprocessing (semaphore, bounded semaphore, timeout),
 * the value readable on every OS (Python: not on macOS), a bound that holds
 * under concurrent releases, releases waking exactly as many sleepers,
 * many producers and consumers, and bad input. */
#include "support/sync_util.h"

#include <limits.h>
#include <string.h>

#ifdef MPROC_FAULT_POINTS
#include "fault.h"
#endif

#define PROCS 4

typedef struct board {
  _Atomic int64_t ok;      /* releases that were accepted */
  _Atomic int64_t refused; /* releases refused at the bound */
  _Atomic int64_t taken;   /* acquires that succeeded */
  _Atomic int64_t over;    /* times the value was seen above the bound */
  _Atomic int64_t ready;   /* start gate: children at the line */
  _Atomic int64_t go;
} board;

typedef struct s_arg {
  mp_sem sem;
  mp_sem sleeping; /* children count themselves here before sleeping */
  mp_sem woken;    /* and here once through */
  mp_shm shm;
  int count;
} s_arg;

static unsigned value_of(mp_sem *s) {
  unsigned v = 12345;
  assert_int_equal(mp_sem_value(s, &v), 0);
  return v;
}

/* ---- roles ---- */

static int role_acquire_once(void *arg) {
  s_arg *a = arg;
  SU_CHECK(mp_sem_release(&a->sleeping) == 0);
  SU_CHECK(mp_sem_acquire(&a->sem, TST_LONG_MS) == 0);
  SU_CHECK(mp_sem_release(&a->woken) == 0);
  return 0;
}

static int role_release_many(void *arg) {
  s_arg *a = arg;
  board *b = mp_shm_ptr(a->shm);
  SU_CHECK(b != NULL);
  for (int i = 0; i < a->count; i++) {
    int rc = mp_sem_release(&a->sem);
    SU_CHECK(rc == 0 || rc == MP_ESTATE);
    atomic_fetch_add(rc == 0 ? &b->ok : &b->refused, 1);
  }
  return 0;
}

/* Releases and takes in a tight loop against the others, from a common
 * start, watching the value never pass the bound. */
static int role_churn_bounded(void *arg) {
  s_arg *a = arg;
  board *b = mp_shm_ptr(a->shm);
  SU_CHECK(b != NULL);
  atomic_fetch_add(&b->ready, 1);
  SU_CHECK(su_wait_eq(&b->go, 1, TST_LONG_MS));
  for (int i = 0; i < a->count; i++) {
    int rc = mp_sem_release(&a->sem);
    SU_CHECK(rc == 0 || rc == MP_ESTATE);
    atomic_fetch_add(rc == 0 ? &b->ok : &b->refused, 1);
    unsigned v = 0;
    SU_CHECK(mp_sem_value(&a->sem, &v) == 0);
    if (v > 3)
      atomic_fetch_add(&b->over, 1);
    if (i % 2 == 0) {
      rc = mp_sem_acquire(&a->sem, 0);
      SU_CHECK(rc == 0 || rc == MP_ETIMEDOUT);
      if (rc == 0)
        atomic_fetch_add(&b->taken, 1);
    }
  }
  return 0;
}

static int role_acquire_many(void *arg) {
  s_arg *a = arg;
  for (int i = 0; i < a->count; i++)
    SU_CHECK(mp_sem_acquire(&a->sem, TST_LONG_MS) == 0);
  return 0;
}

static int role_check_value(void *arg) {
  s_arg *a = arg;
  unsigned v = 0;
  SU_CHECK(mp_sem_value(&a->sem, &v) == 0);
  SU_CHECK(v == (unsigned)a->count);
  SU_CHECK(mp_sem_acquire(&a->sem, 0) == 0);
  return 0;
}

/* ---- tests ---- */

/* CPython's _test_semaphore sequence on a semaphore of 2. */
static void value_sequence(mp_sem *s) {
  assert_int_equal(value_of(s), 2);
  assert_int_equal(mp_sem_acquire(s, MP_INFINITE), 0);
  assert_int_equal(value_of(s), 1);
  assert_int_equal(mp_sem_acquire(s, 0), 0);
  assert_int_equal(value_of(s), 0);
  assert_int_equal(mp_sem_acquire(s, 0), MP_ETIMEDOUT);
  assert_int_equal(value_of(s), 0);
  assert_int_equal(mp_sem_release(s), 0);
  assert_int_equal(value_of(s), 1);
  assert_int_equal(mp_sem_release(s), 0);
  assert_int_equal(value_of(s), 2);
}

static void test_semaphore_values(void **state) {
  (void)state;
  mp_sem s;
  assert_int_equal(mp_sem_create(&s, 2, 0), 0);
  value_sequence(&s);
  /* Unbounded: past the initial value. */
  assert_int_equal(mp_sem_release(&s), 0);
  assert_int_equal(value_of(&s), 3);
  assert_int_equal(mp_sem_free(&s), 0);
}

static void test_bounded_semaphore_values(void **state) {
  (void)state;
  mp_sem s;
  assert_int_equal(mp_sem_create(&s, 2, 2), 0);
  value_sequence(&s);
  assert_int_equal(mp_sem_release(&s), MP_ESTATE);
  assert_int_equal(value_of(&s), 2);
  assert_int_equal(mp_sem_free(&s), 0);

  assert_int_equal(mp_sem_create(&s, 0, 1), 0);
  assert_int_equal(mp_sem_release(&s), 0);
  assert_int_equal(mp_sem_release(&s), MP_ESTATE);
  assert_int_equal(mp_sem_acquire(&s, 0), 0);
  assert_int_equal(mp_sem_acquire(&s, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_sem_free(&s), 0);

  /* The value cannot start above the bound. */
  assert_int_equal(mp_sem_create(&s, 3, 2), MP_EINVAL);
  /* The largest value is a bound too. */
  assert_int_equal(mp_sem_create(&s, UINT_MAX, 0), 0);
  assert_int_equal(mp_sem_release(&s), MP_ESTATE);
  assert_int_equal(value_of(&s), UINT_MAX);
  assert_int_equal(mp_sem_free(&s), 0);
}

static void test_semaphore_timeout(void **state) {
  (void)state;
  mp_sem s;
  assert_int_equal(mp_sem_create(&s, 0, 0), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_sem_acquire(&s, 0), MP_ETIMEDOUT);
  su_assert_took(t0, 0);
  t0 = tst_now_ms();
  assert_int_equal(mp_sem_acquire(&s, 100), MP_ETIMEDOUT);
  su_assert_took(t0, 100);
  t0 = tst_now_ms();
  assert_int_equal(mp_sem_acquire(&s, 300), MP_ETIMEDOUT);
  su_assert_took(t0, 300);
  assert_int_equal(mp_sem_free(&s), 0);
}

/* Sleepers in other processes: each release lets exactly one through. */
static void test_semaphore_wakes_one_per_release(void **state) {
  (void)state;
  s_arg a;
  memset(&a, 0, sizeof a);
  assert_int_equal(mp_sem_create(&a.sem, 0, 0), 0);
  assert_int_equal(mp_sem_create(&a.sleeping, 0, 0), 0);
  assert_int_equal(mp_sem_create(&a.woken, 0, 0), 0);
  mp_process *ps[PROCS];
  su_start_n(ps, PROCS, role_acquire_once, &a, sizeof a);
  for (int i = 0; i < PROCS; i++)
    assert_int_equal(mp_sem_acquire(&a.sleeping, TST_LONG_MS), 0);
  tst_sleep_ms(100);
  assert_int_equal(value_of(&a.woken), 0);

  assert_int_equal(mp_sem_release(&a.sem), 0);
  assert_int_equal(mp_sem_release(&a.sem), 0);
  assert_true(su_wait_sem(&a.woken, 2, TST_LONG_MS));
  tst_sleep_ms(200);
  assert_int_equal(value_of(&a.woken), 2);
  assert_int_equal(value_of(&a.sem), 0);

  for (int i = 0; i < PROCS - 2; i++)
    assert_int_equal(mp_sem_release(&a.sem), 0);
  su_join_n(ps, PROCS, 0);
  assert_int_equal(value_of(&a.woken), PROCS);
  assert_int_equal(value_of(&a.sem), 0);
  assert_int_equal(mp_sem_free(&a.sem), 0);
  assert_int_equal(mp_sem_free(&a.sleeping), 0);
  assert_int_equal(mp_sem_free(&a.woken), 0);
}

/* Racing releases never pass the bound: the check and the increment are
 * one step. Children start together and keep the value near the bound. */
static void test_bounded_release_is_atomic(void **state) {
  (void)state;
  s_arg a;
  memset(&a, 0, sizeof a);
  enum { BOUND = 3, EACH = 5000 };
  assert_int_equal(mp_sem_create(&a.sem, 0, BOUND), 0);
  board *b = su_shm_new(&a.shm, sizeof *b);
  a.count = EACH;
  mp_process *ps[PROCS];
  su_start_n(ps, PROCS, role_churn_bounded, &a, sizeof a);
  assert_true(su_wait_eq(&b->ready, PROCS, TST_LONG_MS));
  atomic_store(&b->go, 1);
  su_join_n(ps, PROCS, 0);
  assert_int_equal(atomic_load(&b->over), 0);
  assert_true(atomic_load(&b->refused) > 0);
  assert_int_equal(atomic_load(&b->ok) + atomic_load(&b->refused),
                   PROCS * EACH);
  assert_int_equal(atomic_load(&b->ok) - atomic_load(&b->taken),
                   value_of(&a.sem));
  assert_true(value_of(&a.sem) <= BOUND);
  assert_int_equal(mp_sem_free(&a.sem), 0);
  assert_int_equal(mp_shm_free(&a.shm), 0);
}

/* Many producers, many consumers: every unit arrives, none twice. */
static void test_semaphore_producers_consumers(void **state) {
  (void)state;
  s_arg a;
  memset(&a, 0, sizeof a);
  assert_int_equal(mp_sem_create(&a.sem, 0, 0), 0);
  su_shm_new(&a.shm, sizeof(board));
  a.count = 500;
  mp_process *consumers[3], *producers[3];
  su_start_n(consumers, 3, role_acquire_many, &a, sizeof a);
  su_start_n(producers, 3, role_release_many, &a, sizeof a);
  su_join_n(producers, 3, 0);
  su_join_n(consumers, 3, 0);
  assert_int_equal(value_of(&a.sem), 0);
  assert_int_equal(mp_sem_acquire(&a.sem, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_sem_free(&a.sem), 0);
  assert_int_equal(mp_shm_free(&a.shm), 0);
}

/* A value set here is what a child reads, and the reverse. */
static void test_semaphore_value_across_processes(void **state) {
  (void)state;
  s_arg a;
  memset(&a, 0, sizeof a);
  assert_int_equal(mp_sem_create(&a.sem, 5, 10), 0);
  assert_int_equal(mp_sem_acquire(&a.sem, 0), 0);
  a.count = 4;
  mp_process *p = tst_start(role_check_value, &a, sizeof a, NULL);
  su_join_n(&p, 1, 0);
  assert_int_equal(value_of(&a.sem), 3);
  assert_int_equal(mp_sem_free(&a.sem), 0);
}

static void test_semaphore_bad_input(void **state) {
  (void)state;
  unsigned v;
  assert_int_equal(mp_sem_create(NULL, 0, 0), MP_EINVAL);
  assert_int_equal(mp_sem_acquire(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_sem_release(NULL), MP_EINVAL);
  assert_int_equal(mp_sem_value(NULL, &v), MP_EINVAL);
  assert_int_equal(mp_sem_free(NULL), MP_EINVAL);

  mp_sem zero = {0, 0, 0};
  assert_int_equal(mp_sem_acquire(&zero, 0), MP_EINVAL);
  assert_int_equal(mp_sem_release(&zero), MP_EINVAL);
  assert_int_equal(mp_sem_value(&zero, &v), MP_EINVAL);
  assert_int_equal(mp_sem_free(&zero), MP_EINVAL);

  mp_sem s;
  assert_int_equal(mp_sem_create(&s, 1, 0), 0);
  assert_int_equal(mp_sem_acquire(&s, -2), MP_EINVAL);
  assert_int_equal(mp_sem_value(&s, NULL), MP_EINVAL);
  assert_int_equal(value_of(&s), 1);

  mp_sem forged = s;
  forged._off += 16;
  assert_int_equal(mp_sem_release(&forged), MP_EINVAL);
  forged = s;
  forged._id += 7;
  assert_int_equal(mp_sem_acquire(&forged, 0), MP_EINVAL);
  /* Another object's handle is no semaphore. */
  mp_lock l;
  assert_int_equal(mp_lock_create(&l), 0);
  memcpy(&forged, &l, sizeof forged);
  assert_int_equal(mp_sem_release(&forged), MP_EINVAL);
  assert_int_equal(mp_lock_free(&l), 0);

  mp_sem copy = s;
  assert_int_equal(mp_sem_free(&s), 0);
  assert_int_equal(mp_sem_acquire(&copy, 0), MP_EINVAL);
  assert_int_equal(mp_sem_release(&copy), MP_EINVAL);
  assert_int_equal(mp_sem_value(&copy, &v), MP_EINVAL);
  assert_int_equal(mp_sem_free(&copy), MP_EINVAL);
}

/* A release killed after the count went up but before its wake: the
 * process asleep in an infinite acquire takes the unit all the same. */
typedef struct wake_arg {
  mp_sem s, ready;
} wake_arg;

#ifdef MPROC_FAULT_POINTS
static int role_acquire_forever(void *p) {
  wake_arg *a = p;
  SU_CHECK(mp_sem_release(&a->ready) == 0);
  SU_CHECK(mp_sem_acquire(&a->s, MP_INFINITE) == 0);
  return 0;
}

static int role_release_and_die(void *p) {
  wake_arg *a = p;
  su_wait_asleep(&a->ready);
  mp__fault_arm("sem.release.wake", 0, MP__FAULT_KILL, 0);
  mp_sem_release(&a->s);
  SU_CHECK(!"killed at sem.release.wake");
  return 0;
}
#endif

static void test_semaphore_release_killed_before_wake(void **state) {
  (void)state;
#ifndef MPROC_FAULT_POINTS
  skip();
#else
  wake_arg a;
  assert_int_equal(mp_sem_create(&a.s, 0, 0), 0);
  assert_int_equal(mp_sem_create(&a.ready, 0, 0), 0);
  su_killed_before_wake(role_acquire_forever, role_release_and_die, &a,
                        sizeof a);
  unsigned v = 99;
  assert_int_equal(mp_sem_value(&a.s, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(mp_sem_free(&a.s), 0);
  assert_int_equal(mp_sem_free(&a.ready), 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_semaphore_values),
      cmocka_unit_test(test_bounded_semaphore_values),
      cmocka_unit_test(test_semaphore_timeout),
      cmocka_unit_test(test_semaphore_wakes_one_per_release),
      cmocka_unit_test(test_bounded_release_is_atomic),
      cmocka_unit_test(test_semaphore_producers_consumers),
      cmocka_unit_test(test_semaphore_value_across_processes),
      cmocka_unit_test(test_semaphore_bad_input),
      cmocka_unit_test_teardown(test_semaphore_release_killed_before_wake,
                                tst_teardown_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
