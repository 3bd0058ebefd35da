/* Barrier across processes, after CPython's _TestBarrier (itself from
 * lock_tests): lockstep passes, the index returned, abort, reset, abort
 * then reset, timeout, a single party, many passes in a row; plus the
 * state queries and bad input. As in Python, N parties are N-1 child
 * processes and this process. */
#include "support/sync_util.h"

#include <string.h>

#ifdef MPROC_FAULT_POINTS
#include "fault.h"
#endif

#define N 5
#define MANY_PASSES 300

typedef struct board {
  _Atomic int64_t phase[2];        /* multipass counters */
  _Atomic int64_t index_seen[N];   /* how often each index came back */
  _Atomic int64_t results[3];
  _Atomic int64_t timeouts;
  _Atomic int64_t arrived[MANY_PASSES];
} board;

typedef struct b_arg {
  mp_barrier barrier;
  mp_barrier barrier2;
  mp_shm shm;
  int passes;
} b_arg;

typedef int (*party_fn)(b_arg *a, board *b);

/* ---- what each party does ---- */

static int multipass(b_arg *a, board *b) {
  SU_CHECK(mp_barrier_parties(&a->barrier) == N);
  for (int i = 0; i < a->passes; i++) {
    atomic_fetch_add(&b->phase[0], 1);
    SU_CHECK(atomic_load(&b->phase[1]) == (int64_t)i * N);
    SU_CHECK(mp_barrier_wait(&a->barrier, TST_LONG_MS) >= 0);
    atomic_fetch_add(&b->phase[1], 1);
    SU_CHECK(atomic_load(&b->phase[0]) == (int64_t)(i + 1) * N);
    SU_CHECK(mp_barrier_wait(&a->barrier, TST_LONG_MS) >= 0);
  }
  SU_CHECK(mp_barrier_broken(&a->barrier) == 0);
  return 0;
}

static int record_index(b_arg *a, board *b) {
  int i = mp_barrier_wait(&a->barrier, TST_LONG_MS);
  SU_CHECK(i >= 0 && i < N);
  atomic_fetch_add(&b->index_seen[i], 1);
  return 0;
}

/* CPython's _test_abort_f: the middle party aborts instead of waiting
 * again; everyone else's second wait breaks. */
static int abort_f(b_arg *a, board *b) {
  int i = mp_barrier_wait(&a->barrier, TST_LONG_MS);
  SU_CHECK(i >= 0);
  if (i == N / 2) {
    SU_CHECK(mp_barrier_abort(&a->barrier) == 0);
    return 0;
  }
  int rc = mp_barrier_wait(&a->barrier, TST_LONG_MS);
  SU_CHECK(rc >= 0 || rc == MP_EBROKEN);
  atomic_fetch_add(&b->results[rc >= 0 ? 0 : 1], 1);
  return 0;
}

/* CPython's _test_reset_f: the middle party resets while the others wait
 * in the second round; then everybody passes a third time. */
static int reset_f(b_arg *a, board *b) {
  int i = mp_barrier_wait(&a->barrier, TST_LONG_MS);
  SU_CHECK(i >= 0);
  if (i == N / 2) {
    int64_t end = tst_now_ms() + TST_LONG_MS;
    while (mp_barrier_n_waiting(&a->barrier) < N - 1 && tst_now_ms() < end)
      tst_sleep_ms(1);
    SU_CHECK(mp_barrier_n_waiting(&a->barrier) == N - 1);
    SU_CHECK(mp_barrier_reset(&a->barrier) == 0);
  } else {
    int rc = mp_barrier_wait(&a->barrier, TST_LONG_MS);
    SU_CHECK(rc >= 0 || rc == MP_EBROKEN);
    atomic_fetch_add(&b->results[rc >= 0 ? 0 : 1], 1);
  }
  SU_CHECK(mp_barrier_wait(&a->barrier, TST_LONG_MS) >= 0);
  atomic_fetch_add(&b->results[2], 1);
  return 0;
}

/* CPython's _test_abort_and_reset_f, with barrier2 to make sure everyone
 * has left the broken barrier before it is reset, and nobody enters it
 * before the reset. */
static int abort_and_reset_f(b_arg *a, board *b) {
  int i = mp_barrier_wait(&a->barrier, TST_LONG_MS);
  SU_CHECK(i >= 0);
  if (i == N / 2) {
    SU_CHECK(mp_barrier_abort(&a->barrier) == 0);
  } else {
    int rc = mp_barrier_wait(&a->barrier, TST_LONG_MS);
    SU_CHECK(rc >= 0 || rc == MP_EBROKEN);
    atomic_fetch_add(&b->results[rc >= 0 ? 0 : 1], 1);
  }
  if (mp_barrier_wait(&a->barrier2, TST_LONG_MS) == N / 2)
    SU_CHECK(mp_barrier_reset(&a->barrier) == 0);
  SU_CHECK(mp_barrier_wait(&a->barrier2, TST_LONG_MS) >= 0);
  SU_CHECK(mp_barrier_wait(&a->barrier, TST_LONG_MS) >= 0);
  atomic_fetch_add(&b->results[2], 1);
  return 0;
}

/* CPython's _test_timeout_f: one party is late; the others' timed wait
 * breaks the barrier, for all of them. */
static int timeout_f(b_arg *a, board *b) {
  int i = mp_barrier_wait(&a->barrier, TST_LONG_MS);
  SU_CHECK(i >= 0);
  if (i == N / 2)
    tst_sleep_ms(1000);
  int rc = mp_barrier_wait(&a->barrier, 300);
  SU_CHECK(rc == MP_ETIMEDOUT || rc == MP_EBROKEN);
  if (rc == MP_ETIMEDOUT)
    atomic_fetch_add(&b->timeouts, 1);
  atomic_fetch_add(&b->results[1], 1);
  return 0;
}

/* Many passes: after pass i every party has arrived at pass i, so all
 * of them have counted themselves for pass i-1. Nobody runs ahead. */
static int many_passes(b_arg *a, board *b) {
  for (int i = 0; i < MANY_PASSES; i++) {
    atomic_fetch_add(&b->arrived[i], 1);
    SU_CHECK(mp_barrier_wait(&a->barrier, TST_LONG_MS) >= 0);
    SU_CHECK(atomic_load(&b->arrived[i]) == N);
    if (i + 1 < MANY_PASSES)
      SU_CHECK(atomic_load(&b->arrived[i + 1]) < N);
  }
  return 0;
}

/* ---- running N parties ---- */

typedef struct party_arg {
  b_arg a;
  int which;
} party_arg;

static const party_fn parties_fns[] = {multipass,  record_index,
                                       abort_f,    reset_f,
                                       abort_and_reset_f, timeout_f,
                                       many_passes};

static int role_party(void *arg) {
  party_arg *p = arg;
  board *b = mp_shm_ptr(p->a.shm);
  SU_CHECK(b != NULL);
  return parties_fns[p->which](&p->a, b);
}

static void make(b_arg *a, unsigned parties) {
  memset(a, 0, sizeof *a);
  assert_int_equal(mp_barrier_create(&a->barrier, parties), 0);
  assert_int_equal(mp_barrier_create(&a->barrier2, parties), 0);
  su_shm_new(&a->shm, sizeof(board));
  a->passes = 1;
}

static void unmake(b_arg *a) {
  assert_int_equal(mp_barrier_free(&a->barrier), 0);
  assert_int_equal(mp_barrier_free(&a->barrier2), 0);
  assert_int_equal(mp_shm_free(&a->shm), 0);
}

/* N-1 children and this process run fn; all must succeed. */
static board *run_parties(b_arg *a, party_fn fn) {
  party_arg p = {*a, -1};
  for (size_t i = 0; i < sizeof parties_fns / sizeof parties_fns[0]; i++)
    if (parties_fns[i] == fn)
      p.which = (int)i;
  assert_true(p.which >= 0);
  mp_process *ps[N - 1];
  su_start_n(ps, N - 1, role_party, &p, sizeof p);
  board *b = mp_shm_ptr(a->shm);
  int rc = fn(a, b);
  if (rc != 0)
    fail_msg("the party in the test process failed: %d", rc);
  su_join_n(ps, N - 1, 0);
  return b;
}

/* ---- tests ---- */

static void test_barrier_lockstep(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  run_parties(&a, multipass);
  assert_int_equal(mp_barrier_n_waiting(&a.barrier), 0);
  unmake(&a);
}

static void test_barrier_10_passes(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  a.passes = 10;
  board *b = run_parties(&a, multipass);
  assert_int_equal(atomic_load(&b->phase[0]), 10 * N);
  unmake(&a);
}

static void test_barrier_wait_return(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  board *b = run_parties(&a, record_index);
  for (int i = 0; i < N; i++)
    assert_int_equal(atomic_load(&b->index_seen[i]), 1);
  unmake(&a);
}

static void test_barrier_abort(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  board *b = run_parties(&a, abort_f);
  assert_int_equal(atomic_load(&b->results[0]), 0);
  assert_int_equal(atomic_load(&b->results[1]), N - 1);
  assert_int_equal(mp_barrier_broken(&a.barrier), 1);
  assert_int_equal(mp_barrier_n_waiting(&a.barrier), 0);
  /* Broken until reset: waits fail at once. */
  assert_int_equal(mp_barrier_wait(&a.barrier, TST_LONG_MS), MP_EBROKEN);
  assert_int_equal(mp_barrier_reset(&a.barrier), 0);
  assert_int_equal(mp_barrier_broken(&a.barrier), 0);
  unmake(&a);
}

static void test_barrier_reset(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  board *b = run_parties(&a, reset_f);
  assert_int_equal(atomic_load(&b->results[0]), 0);
  assert_int_equal(atomic_load(&b->results[1]), N - 1);
  assert_int_equal(atomic_load(&b->results[2]), N);
  assert_int_equal(mp_barrier_broken(&a.barrier), 0);
  unmake(&a);
}

static void test_barrier_abort_and_reset(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  board *b = run_parties(&a, abort_and_reset_f);
  assert_int_equal(atomic_load(&b->results[0]), 0);
  assert_int_equal(atomic_load(&b->results[1]), N - 1);
  assert_int_equal(atomic_load(&b->results[2]), N);
  unmake(&a);
}

static void test_barrier_timeout(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  board *b = run_parties(&a, timeout_f);
  assert_int_equal(atomic_load(&b->results[1]), N);
  /* Someone's timeout broke it; the late party found it broken. */
  assert_true(atomic_load(&b->timeouts) >= 1);
  assert_true(atomic_load(&b->timeouts) <= N - 1);
  assert_int_equal(mp_barrier_broken(&a.barrier), 1);
  unmake(&a);
}

static void test_barrier_single_party(void **state) {
  (void)state;
  mp_barrier b;
  assert_int_equal(mp_barrier_create(&b, 1), 0);
  assert_int_equal(mp_barrier_wait(&b, MP_INFINITE), 0);
  assert_int_equal(mp_barrier_wait(&b, 0), 0);
  assert_int_equal(mp_barrier_broken(&b), 0);
  assert_int_equal(mp_barrier_free(&b), 0);
}

static void test_barrier_many_passes(void **state) {
  (void)state;
  b_arg a;
  make(&a, N);
  run_parties(&a, many_passes);
  unmake(&a);
}

/* The queries, and a timeout in this process alone. */
static void test_barrier_state(void **state) {
  (void)state;
  mp_barrier b;
  assert_int_equal(mp_barrier_create(&b, 2), 0);
  assert_int_equal(mp_barrier_parties(&b), 2);
  assert_int_equal(mp_barrier_n_waiting(&b), 0);
  assert_int_equal(mp_barrier_broken(&b), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_barrier_wait(&b, 0), MP_ETIMEDOUT);
  su_assert_took(t0, 0);
  assert_int_equal(mp_barrier_broken(&b), 1);
  assert_int_equal(mp_barrier_wait(&b, 0), MP_EBROKEN);
  assert_int_equal(mp_barrier_reset(&b), 0);
  assert_int_equal(mp_barrier_broken(&b), 0);
  t0 = tst_now_ms();
  assert_int_equal(mp_barrier_wait(&b, 150), MP_ETIMEDOUT);
  su_assert_took(t0, 150);
  assert_int_equal(mp_barrier_reset(&b), 0);
  assert_int_equal(mp_barrier_abort(&b), 0);
  assert_int_equal(mp_barrier_abort(&b), 0);
  assert_int_equal(mp_barrier_broken(&b), 1);
  assert_int_equal(mp_barrier_reset(&b), 0);
  assert_int_equal(mp_barrier_reset(&b), 0);
  assert_int_equal(mp_barrier_broken(&b), 0);
  assert_int_equal(mp_barrier_free(&b), 0);
}

static void test_barrier_bad_input(void **state) {
  (void)state;
  mp_barrier b;
  assert_int_equal(mp_barrier_create(NULL, 2), MP_EINVAL);
  assert_int_equal(mp_barrier_create(&b, 0), MP_EINVAL);
  assert_int_equal(mp_barrier_create(&b, 0x80000000u), MP_EINVAL);
  assert_int_equal(mp_barrier_wait(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_barrier_abort(NULL), MP_EINVAL);
  assert_int_equal(mp_barrier_reset(NULL), MP_EINVAL);
  assert_int_equal(mp_barrier_broken(NULL), MP_EINVAL);
  assert_int_equal(mp_barrier_parties(NULL), MP_EINVAL);
  assert_int_equal(mp_barrier_n_waiting(NULL), MP_EINVAL);
  assert_int_equal(mp_barrier_free(NULL), MP_EINVAL);

  mp_barrier zero = {0, 0, 0};
  assert_int_equal(mp_barrier_wait(&zero, 0), MP_EINVAL);
  assert_int_equal(mp_barrier_parties(&zero), MP_EINVAL);

  assert_int_equal(mp_barrier_create(&b, 3), 0);
  assert_int_equal(mp_barrier_wait(&b, -2), MP_EINVAL);
  assert_int_equal(mp_barrier_n_waiting(&b), 0); /* -2 did not arrive */
  mp_barrier forged = b;
  forged._id--;
  assert_int_equal(mp_barrier_abort(&forged), MP_EINVAL);
  assert_int_equal(mp_barrier_broken(&b), 0);

  mp_barrier copy = b;
  assert_int_equal(mp_barrier_free(&b), 0);
  assert_int_equal(mp_barrier_wait(&copy, 0), MP_EINVAL);
  assert_int_equal(mp_barrier_abort(&copy), MP_EINVAL);
  assert_int_equal(mp_barrier_reset(&copy), MP_EINVAL);
  assert_int_equal(mp_barrier_broken(&copy), MP_EINVAL);
  assert_int_equal(mp_barrier_n_waiting(&copy), MP_EINVAL);
  assert_int_equal(mp_barrier_free(&copy), MP_EINVAL);
}

/* The last party killed after it ended the round but before its wake (it
 * dies holding the barrier's own lock too): the party asleep in an
 * infinite wait passes all the same, and the barrier goes on. */
typedef struct wake_arg {
  mp_barrier b;
  mp_sem ready;
} wake_arg;

#ifdef MPROC_FAULT_POINTS
static int role_first_forever(void *p) {
  wake_arg *a = p;
  SU_CHECK(mp_sem_release(&a->ready) == 0);
  SU_CHECK(mp_barrier_wait(&a->b, MP_INFINITE) == 0);
  return 0;
}

static int role_last_and_die(void *p) {
  wake_arg *a = p;
  su_wait_asleep(&a->ready);
  mp__fault_arm("barrier.wake", 0, MP__FAULT_KILL, 0);
  mp_barrier_wait(&a->b, MP_INFINITE);
  SU_CHECK(!"killed at barrier.wake");
  return 0;
}

static int role_pass_once(void *p) {
  wake_arg *a = p;
  int rc = mp_barrier_wait(&a->b, TST_LONG_MS);
  SU_CHECK(rc == 0 || rc == 1);
  return 0;
}
#endif

static void test_barrier_killed_before_wake(void **state) {
  (void)state;
#ifndef MPROC_FAULT_POINTS
  skip();
#else
  wake_arg a;
  assert_int_equal(mp_barrier_create(&a.b, 2), 0);
  assert_int_equal(mp_sem_create(&a.ready, 0, 0), 0);
  su_killed_before_wake(role_first_forever, role_last_and_die, &a, sizeof a);
  assert_int_equal(mp_barrier_broken(&a.b), 0);
  assert_int_equal(mp_barrier_n_waiting(&a.b), 0);
  mp_process *p = tst_start(role_pass_once, &a, sizeof a, NULL);
  int rc = mp_barrier_wait(&a.b, TST_LONG_MS);
  assert_true(rc == 0 || rc == 1);
  su_join_n(&p, 1, 0);
  assert_int_equal(mp_barrier_free(&a.b), 0);
  assert_int_equal(mp_sem_free(&a.ready), 0);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_barrier_lockstep),
      cmocka_unit_test(test_barrier_10_passes),
      cmocka_unit_test(test_barrier_wait_return),
      cmocka_unit_test(test_barrier_abort),
      cmocka_unit_test(test_barrier_reset),
      cmocka_unit_test(test_barrier_abort_and_reset),
      cmocka_unit_test(test_barrier_timeout),
      cmocka_unit_test(test_barrier_single_party),
      cmocka_unit_test(test_barrier_many_passes),
      cmocka_unit_test(test_barrier_state),
      cmocka_unit_test(test_barrier_bad_input),
      cmocka_unit_test_teardown(test_barrier_killed_before_wake,
                                tst_teardown_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
