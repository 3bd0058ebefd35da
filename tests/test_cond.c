/* Condition across processes and threads: CPython's _test_multiprocessing
 * condition tests (notify, notify_all after timed-out waiters, notify(n),
 * timeout, wait_for, wait_for with timeout, wait result), plus what Python
 * leaves implicit: a notify never reaches a waiter that came after it,
 * timed-out waiters do not swallow later notifies, wait releases a lock
 * held recursively and restores its depth, the lock is needed, a holder
 * killed inside leaves a working condition, and bad input. */
#include "support/sync_util.h"

#include <string.h>

#ifdef MPROC_FAULT_POINTS
#include "fault.h"
#endif

#define MANY_THREADS 70 /* more timed-out waiters than cond.c keeps holes */

typedef struct board {
  _Atomic int64_t held;
  int64_t state; /* guarded by the condition's lock */
} board;

typedef struct c_arg {
  mp_cond cond;
  mp_sem sleeping; /* a waiter holds the lock and is about to wait */
  mp_sem woken;    /* a waiter is through its wait */
  mp_shm shm;
  int timeout_ms;
  int expect; /* what the wait must return */
} c_arg;

/* CPython's f: take the lock, say so, wait, say so, let go. Runs as a
 * process or as a thread. */
static int role_f(void *arg) {
  c_arg *a = arg;
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  SU_CHECK(mp_sem_release(&a->sleeping) == 0);
  int rc = mp_cond_wait(&a->cond, a->timeout_ms);
  SU_CHECK(mp_sem_release(&a->woken) == 0);
  SU_CHECK(mp_cond_release(&a->cond) == 0);
  SU_CHECK(mp_cond_release(&a->cond) == MP_ESTATE);
  SU_CHECK(rc == a->expect);
  return 0;
}

static int role_notify_one(void *arg) {
  c_arg *a = arg;
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  SU_CHECK(mp_cond_notify(&a->cond, 1) == 0);
  SU_CHECK(mp_cond_release(&a->cond) == 0);
  return 0;
}

static int role_hold_forever(void *arg) {
  c_arg *a = arg;
  board *b = mp_shm_ptr(a->shm);
  SU_CHECK(b != NULL);
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  SU_CHECK(mp_cond_acquire(&a->cond, 0) == 0);
  atomic_store(&b->held, 1);
  for (;;)
    tst_sleep_ms(1000);
}

static int state_is_0(void *arg) { return ((board *)arg)->state == 0; }
static int state_is_4(void *arg) { return ((board *)arg)->state == 4; }

static int role_wait_for(void *arg) {
  c_arg *a = arg;
  board *b = mp_shm_ptr(a->shm);
  SU_CHECK(b != NULL);
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  b->state = 0;
  SU_CHECK(mp_cond_notify(&a->cond, 1) == 0);
  SU_CHECK(mp_cond_wait_for(&a->cond, state_is_4, b, TST_LONG_MS) == 0);
  SU_CHECK(b->state == 4);
  SU_CHECK(mp_cond_release(&a->cond) == 0);
  return 0;
}

static int role_wait_for_timeout(void *arg) {
  c_arg *a = arg;
  board *b = mp_shm_ptr(a->shm);
  SU_CHECK(b != NULL);
  SU_CHECK(mp_sem_release(&a->sleeping) == 0);
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  int64_t t0 = tst_now_ms();
  SU_CHECK(mp_cond_wait_for(&a->cond, state_is_4, b, 100) == MP_ETIMEDOUT);
  SU_CHECK(tst_now_ms() - t0 >= 100 - SU_EARLY_MS);
  SU_CHECK(b->state != 4);
  SU_CHECK(mp_cond_release(&a->cond) == 0);
  return 0;
}

static int thread_notify(void *arg) {
  return mp_cond_notify(&((c_arg *)arg)->cond, 1);
}

/* ---- fixtures ---- */

static void make(c_arg *a) {
  memset(a, 0, sizeof *a);
  assert_int_equal(mp_cond_create(&a->cond), 0);
  assert_int_equal(mp_sem_create(&a->sleeping, 0, 0), 0);
  assert_int_equal(mp_sem_create(&a->woken, 0, 0), 0);
  su_shm_new(&a->shm, sizeof(board));
  a->timeout_ms = TST_LONG_MS;
}

static void unmake(c_arg *a) {
  assert_int_equal(mp_cond_free(&a->cond), 0);
  assert_int_equal(mp_sem_free(&a->sleeping), 0);
  assert_int_equal(mp_sem_free(&a->woken), 0);
  assert_int_equal(mp_shm_free(&a->shm), 0);
}

static unsigned woken(c_arg *a) {
  unsigned v = 0;
  assert_int_equal(mp_sem_value(&a->woken, &v), 0);
  return v;
}

/* Returns once n more waiters are inside mp_cond_wait: each said so while
 * holding the lock, which only the wait gives back. */
static void wait_sleeping(c_arg *a, int n) {
  for (int i = 0; i < n; i++)
    assert_int_equal(mp_sem_acquire(&a->sleeping, TST_LONG_MS), 0);
  assert_int_equal(mp_cond_acquire(&a->cond, TST_LONG_MS), 0);
  assert_int_equal(mp_cond_release(&a->cond), 0);
}

static void notify(c_arg *a, unsigned n) {
  assert_int_equal(mp_cond_acquire(&a->cond, TST_LONG_MS), 0);
  if (n == (unsigned)-1)
    assert_int_equal(mp_cond_notify_all(&a->cond), 0);
  else
    assert_int_equal(mp_cond_notify(&a->cond, n), 0);
  assert_int_equal(mp_cond_release(&a->cond), 0);
}

/* Starts n waiter processes and n waiter threads with a's settings. */
static void start_waiters(c_arg *a, int n, mp_process **ps, tst_thread **ts) {
  for (int i = 0; i < n; i++) {
    ps[i] = tst_start(role_f, a, sizeof *a, NULL);
    ts[i] = tst_thread_start(role_f, a);
    assert_non_null(ts[i]);
  }
}

static void join_waiters(int n, mp_process **ps, tst_thread **ts) {
  su_join_n(ps, n, 0);
  for (int i = 0; i < n; i++)
    assert_int_equal(tst_thread_join(ts[i]), 0);
}

/* Checks that woken stays at want for a while, i.e. nobody else wakes. */
static void assert_woken_stays(c_arg *a, unsigned want) {
  assert_true(su_wait_sem(&a->woken, want, TST_LONG_MS));
  tst_sleep_ms(200);
  assert_int_equal(woken(a), want);
}

/* ---- tests ---- */

static void test_cond_notify(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *p;
  tst_thread *t;
  start_waiters(&a, 1, &p, &t);
  wait_sleeping(&a, 2);
  assert_woken_stays(&a, 0);
  notify(&a, 1);
  assert_woken_stays(&a, 1);
  notify(&a, 1);
  assert_woken_stays(&a, 2);
  join_waiters(1, &p, &t);
  unmake(&a);
}

static void test_cond_notify_all(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *ps[3];
  tst_thread *ts[3];
  a.timeout_ms = 100;
  a.expect = MP_ETIMEDOUT;
  start_waiters(&a, 3, ps, ts);
  wait_sleeping(&a, 6);
  for (int i = 0; i < 6; i++)
    assert_int_equal(mp_sem_acquire(&a.woken, TST_LONG_MS), 0);
  join_waiters(3, ps, ts);
  assert_int_equal(woken(&a), 0);

  a.timeout_ms = TST_LONG_MS;
  a.expect = 0;
  start_waiters(&a, 3, ps, ts);
  wait_sleeping(&a, 6);
  assert_woken_stays(&a, 0);
  notify(&a, (unsigned)-1);
  for (int i = 0; i < 6; i++)
    assert_int_equal(mp_sem_acquire(&a.woken, TST_LONG_MS), 0);
  join_waiters(3, ps, ts);
  unmake(&a);
}

static void test_cond_notify_n(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *ps[3];
  tst_thread *ts[3];
  start_waiters(&a, 3, ps, ts);
  wait_sleeping(&a, 6);
  assert_woken_stays(&a, 0);
  notify(&a, 2);
  assert_woken_stays(&a, 2);
  notify(&a, 4);
  assert_woken_stays(&a, 6);
  notify(&a, 3); /* nobody left: does nothing */
  notify(&a, 0);
  assert_woken_stays(&a, 6);
  join_waiters(3, ps, ts);
  unmake(&a);
}

/* A notify belongs to the waiters present when it ran: this process
 * waiting right after notifying must not take the wake-up meant for the
 * child, which must get it. */
static void test_cond_notify_skips_later_waiters(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *p = tst_start(role_f, &a, sizeof a, NULL);
  wait_sleeping(&a, 1);
  assert_int_equal(mp_cond_acquire(&a.cond, TST_LONG_MS), 0);
  assert_int_equal(mp_cond_notify(&a.cond, 1), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_cond_wait(&a.cond, 300), MP_ETIMEDOUT);
  su_assert_took(t0, 300);
  assert_int_equal(woken(&a), 1);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  su_join_n(&p, 1, 0);
  unmake(&a);
}

/* A waiter that timed out between two others leaves its place; the next
 * two notifies of one reach the two still waiting. */
static void test_cond_timed_out_waiter_takes_no_notify(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *first, *middle, *last;
  first = tst_start(role_f, &a, sizeof a, NULL);
  wait_sleeping(&a, 1);
  c_arg quick = a;
  quick.timeout_ms = 100;
  quick.expect = MP_ETIMEDOUT;
  middle = tst_start(role_f, &quick, sizeof quick, NULL);
  wait_sleeping(&a, 1);
  last = tst_start(role_f, &a, sizeof a, NULL);
  wait_sleeping(&a, 1);
  su_join_n(&middle, 1, 0);
  assert_int_equal(woken(&a), 1);

  notify(&a, 1);
  assert_woken_stays(&a, 2);
  notify(&a, 1);
  assert_woken_stays(&a, 3);
  su_join_n(&first, 1, 0);
  su_join_n(&last, 1, 0);
  unmake(&a);
}

/* Waiters killed while they wait do not swallow notifies: each notify(1)
 * reaches the live waiter behind a dead one. (A dead waiter's ticket used
 * to count as woken, and the live waiter timed out: "notify lost".) */
static void test_cond_killed_waiter_takes_no_notify(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *ps[4]; /* dead, live, dead, live, in ticket order */
  for (int i = 0; i < 4; i++) {
    ps[i] = tst_start(role_f, &a, sizeof a, NULL);
    tst_guard_process(ps[i]);
    wait_sleeping(&a, 1);
  }
  for (int i = 0; i < 4; i += 2) {
    assert_int_equal(mp_process_kill(ps[i]), 0);
    assert_int_equal(tst_join_code(ps[i], TST_LONG_MS), -9);
    assert_int_equal(tst_free(ps[i]), 0);
  }
  assert_int_equal(woken(&a), 0);
  notify(&a, 1);
  assert_true(su_wait_sem(&a.woken, 1, 10000));
  assert_int_equal(tst_join_code(ps[1], TST_LONG_MS), 0);
  assert_int_equal(tst_free(ps[1]), 0);
  notify(&a, 1);
  assert_true(su_wait_sem(&a.woken, 2, 10000));
  assert_int_equal(tst_join_code(ps[3], TST_LONG_MS), 0);
  assert_int_equal(tst_free(ps[3]), 0);
  unmake(&a);
}

/* The same with more timed-out waiters than the condition tracks: the
 * notifies may wake more than asked, never fewer. */
static void test_cond_many_timed_out_waiters(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  mp_process *first = tst_start(role_f, &a, sizeof a, NULL);
  wait_sleeping(&a, 1);
  c_arg quick = a;
  quick.timeout_ms = 1000;
  quick.expect = MP_ETIMEDOUT;
  tst_thread *ts[MANY_THREADS];
  for (int i = 0; i < MANY_THREADS; i++) {
    ts[i] = tst_thread_start(role_f, &quick);
    assert_non_null(ts[i]);
  }
  wait_sleeping(&a, MANY_THREADS);
  mp_process *last = tst_start(role_f, &a, sizeof a, NULL);
  wait_sleeping(&a, 1);
  for (int i = 0; i < MANY_THREADS; i++)
    assert_int_equal(tst_thread_join(ts[i]), 0);
  assert_int_equal(woken(&a), MANY_THREADS);

  notify(&a, 1);
  int64_t end = tst_now_ms() + TST_LONG_MS;
  while (woken(&a) < MANY_THREADS + 1 && tst_now_ms() < end)
    tst_sleep_ms(1);
  assert_true(woken(&a) >= MANY_THREADS + 1);
  notify(&a, 1);
  assert_woken_stays(&a, MANY_THREADS + 2);
  su_join_n(&first, 1, 0);
  su_join_n(&last, 1, 0);
  /* And once nobody waits, notify(n) is exact again. */
  mp_process *ps[2];
  tst_thread *tt[2];
  start_waiters(&a, 2, ps, tt);
  wait_sleeping(&a, 4);
  notify(&a, 3);
  assert_woken_stays(&a, MANY_THREADS + 5);
  notify(&a, 1);
  join_waiters(2, ps, tt);
  unmake(&a);
}

static void test_cond_timeout(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  assert_int_equal(mp_cond_acquire(&a.cond, MP_INFINITE), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_cond_wait(&a.cond, 0), MP_ETIMEDOUT);
  su_assert_took(t0, 0);
  t0 = tst_now_ms();
  assert_int_equal(mp_cond_wait(&a.cond, 100), MP_ETIMEDOUT);
  su_assert_took(t0, 100);
  /* Held again after the timeout, once. */
  assert_int_equal(mp_cond_release(&a.cond), 0);
  assert_int_equal(mp_cond_release(&a.cond), MP_ESTATE);
  unmake(&a);
}

/* wait, notify and notify_all need the lock, held by the calling thread. */
static void test_cond_needs_lock(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  assert_int_equal(mp_cond_wait(&a.cond, 0), MP_ESTATE);
  assert_int_equal(mp_cond_wait(&a.cond, 100), MP_ESTATE);
  assert_int_equal(mp_cond_wait_for(&a.cond, state_is_0, mp_shm_ptr(a.shm), 0),
                   MP_ESTATE);
  assert_int_equal(mp_cond_notify(&a.cond, 1), MP_ESTATE);
  assert_int_equal(mp_cond_notify_all(&a.cond), MP_ESTATE);
  assert_int_equal(mp_cond_release(&a.cond), MP_ESTATE);
  assert_int_equal(mp_cond_acquire(&a.cond, 0), 0);
  tst_thread *t = tst_thread_start(thread_notify, &a);
  assert_non_null(t);
  assert_int_equal(tst_thread_join(t), MP_ESTATE);
  assert_int_equal(mp_cond_notify(&a.cond, 1), 0);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  unmake(&a);
}

/* Held three deep, wait gives the lock away entirely (a child takes it)
 * and gives it back three deep. */
static void test_cond_wait_releases_recursive_lock(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  for (int i = 0; i < 3; i++)
    assert_int_equal(mp_cond_acquire(&a.cond, MP_INFINITE), 0);
  mp_process *p = tst_start(role_notify_one, &a, sizeof a, NULL);
  assert_int_equal(mp_cond_wait(&a.cond, TST_LONG_MS), 0);
  su_join_n(&p, 1, 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(mp_cond_release(&a.cond), 0);
  assert_int_equal(mp_cond_release(&a.cond), MP_ESTATE);
  unmake(&a);
}

static void test_cond_wait_for(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  board *b = mp_shm_ptr(a.shm);
  b->state = -1;
  mp_process *p = tst_start(role_wait_for, &a, sizeof a, NULL);
  assert_int_equal(mp_cond_acquire(&a.cond, TST_LONG_MS), 0);
  assert_int_equal(mp_cond_wait_for(&a.cond, state_is_0, b, TST_LONG_MS), 0);
  assert_int_equal(b->state, 0);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  for (int i = 0; i < 4; i++) {
    tst_sleep_ms(10);
    assert_int_equal(mp_cond_acquire(&a.cond, TST_LONG_MS), 0);
    b->state++;
    assert_int_equal(mp_cond_notify(&a.cond, 1), 0);
    assert_int_equal(mp_cond_release(&a.cond), 0);
  }
  su_join_n(&p, 1, 0);
  unmake(&a);
}

static void test_cond_wait_for_timeout(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  board *b = mp_shm_ptr(a.shm);
  mp_process *p = tst_start(role_wait_for_timeout, &a, sizeof a, NULL);
  assert_int_equal(mp_sem_acquire(&a.sleeping, TST_LONG_MS), 0);
  /* Three increments: the child's state == 4 never comes. */
  for (int i = 0; i < 3; i++) {
    tst_sleep_ms(10);
    assert_int_equal(mp_cond_acquire(&a.cond, TST_LONG_MS), 0);
    b->state++;
    assert_int_equal(mp_cond_notify(&a.cond, 1), 0);
    assert_int_equal(mp_cond_release(&a.cond), 0);
  }
  su_join_n(&p, 1, 0);
  /* A true predicate returns at once, even with a 0 timeout. */
  assert_int_equal(mp_cond_acquire(&a.cond, 0), 0);
  b->state = 0;
  assert_int_equal(mp_cond_wait_for(&a.cond, state_is_0, b, 0), 0);
  b->state = 1;
  assert_int_equal(mp_cond_wait_for(&a.cond, state_is_0, b, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  unmake(&a);
}

static void test_cond_wait_result(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  assert_int_equal(mp_cond_acquire(&a.cond, TST_LONG_MS), 0);
  assert_int_equal(mp_cond_wait(&a.cond, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_cond_wait(&a.cond, 100), MP_ETIMEDOUT);
  mp_process *p = tst_start(role_notify_one, &a, sizeof a, NULL);
  assert_int_equal(mp_cond_wait(&a.cond, TST_LONG_MS), 0);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  su_join_n(&p, 1, 0);
  unmake(&a);
}

/* A process killed holding the condition's lock: the next acquirer is
 * told, and wait/notify go on working. */
static void test_cond_holder_killed(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  board *b = mp_shm_ptr(a.shm);
  mp_process *holder = tst_start(role_hold_forever, &a, sizeof a, NULL);
  assert_true(su_wait_eq(&b->held, 1, TST_LONG_MS));
  assert_int_equal(mp_cond_acquire(&a.cond, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_process_kill(holder), 0);
  assert_int_equal(tst_join_code(holder, TST_LONG_MS), -9);
  assert_int_equal(mp_process_free(holder), 0);
  assert_int_equal(mp_cond_acquire(&a.cond, TST_LONG_MS), MP_EOWNERDEAD);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  assert_int_equal(mp_cond_release(&a.cond), MP_ESTATE);

  mp_process *p = tst_start(role_f, &a, sizeof a, NULL);
  wait_sleeping(&a, 1);
  notify(&a, 1);
  su_join_n(&p, 1, 0);
  assert_int_equal(woken(&a), 1);
  unmake(&a);
}

/* A thread that exits holding the condition's lock is a dead owner, also
 * for a new thread the OS gives its id to (Windows does so soon): that
 * thread is not the holder, so notify, wait and release are MP_ESTATE, and
 * its acquire reports the death. Before owner tokens, Windows compared
 * (pid, tid), and the heir of the id passed the held check. */
typedef struct cond_heir {
  mp_cond *c;
  uint64_t tid, dead_tid;
  int last;
  int notify, wait, release_first, acquire, notify_held, release;
} cond_heir;

static int thread_hold_and_exit(void *arg) {
  cond_heir *h = arg;
  h->tid = su_thread_id();
  return mp_cond_acquire(h->c, 0);
}

static int thread_cond_heir(void *arg) {
  cond_heir *h = arg;
  h->tid = su_thread_id();
  if (h->tid != h->dead_tid && !h->last)
    return 1;
  h->notify = mp_cond_notify(h->c, 1);
  h->wait = mp_cond_wait(h->c, 0);
  h->release_first = mp_cond_release(h->c);
  h->acquire = mp_cond_acquire(h->c, TST_LONG_MS);
  h->notify_held = mp_cond_notify_all(h->c);
  h->release = mp_cond_release(h->c);
  return 0;
}

static void test_cond_thread_id_reused(void **state) {
  (void)state;
  c_arg a;
  make(&a);
  cond_heir dead, next;
  memset(&dead, 0, sizeof dead);
  memset(&next, 0, sizeof next);
  dead.c = next.c = &a.cond;
  tst_thread *t = tst_thread_start(thread_hold_and_exit, &dead);
  assert_non_null(t);
  assert_int_equal(tst_thread_join(t), 0);
  next.dead_tid = dead.tid;
  int64_t t0 = tst_now_ms();
  for (int i = 0; i < 4000; i++) {
    next.last = i + 1 == 4000 || tst_now_ms() - t0 > 20000;
    t = tst_thread_start(thread_cond_heir, &next);
    assert_non_null(t);
    if (tst_thread_join(t) == 0)
      break;
  }
  print_message("thread id of the dead holder %s\n",
                next.tid == dead.tid ? "reused" : "not reused");
  assert_int_equal(next.notify, MP_ESTATE);
  assert_int_equal(next.wait, MP_ESTATE);
  assert_int_equal(next.release_first, MP_ESTATE);
  assert_int_equal(next.acquire, MP_EOWNERDEAD);
  assert_int_equal(next.notify_held, 0);
  assert_int_equal(next.release, 0);
  assert_int_equal(mp_cond_acquire(&a.cond, 0), 0);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  unmake(&a);
}

/* A notify killed after it moved the mark but before its wake (it dies
 * holding the lock, too): the process asleep in an infinite wait returns,
 * with the lock, and hears of the death. */
#ifdef MPROC_FAULT_POINTS
static int role_wait_forever(void *arg) {
  c_arg *a = arg;
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  SU_CHECK(mp_sem_release(&a->sleeping) == 0);
  SU_CHECK(mp_cond_wait(&a->cond, MP_INFINITE) == MP_EOWNERDEAD);
  SU_CHECK(mp_cond_release(&a->cond) == 0);
  return 0;
}

static int role_notify_and_die(void *arg) {
  c_arg *a = arg;
  su_wait_asleep(&a->sleeping);
  SU_CHECK(mp_cond_acquire(&a->cond, TST_LONG_MS) == 0);
  mp__fault_arm("cond.notify.wake", 0, MP__FAULT_KILL, 0);
  mp_cond_notify(&a->cond, 1);
  SU_CHECK(!"killed at cond.notify.wake");
  return 0;
}
#endif

static void test_cond_notify_killed_before_wake(void **state) {
  (void)state;
#ifndef MPROC_FAULT_POINTS
  skip();
#else
  c_arg a;
  make(&a);
  su_killed_before_wake(role_wait_forever, role_notify_and_die, &a, sizeof a);
  assert_int_equal(mp_cond_acquire(&a.cond, 0), 0);
  assert_int_equal(mp_cond_release(&a.cond), 0);
  unmake(&a);
#endif
}

static int never(void *arg) {
  (void)arg;
  return 0;
}

static void test_cond_bad_input(void **state) {
  (void)state;
  assert_int_equal(mp_cond_create(NULL), MP_EINVAL);
  assert_int_equal(mp_cond_acquire(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_cond_release(NULL), MP_EINVAL);
  assert_int_equal(mp_cond_wait(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_cond_wait_for(NULL, never, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_cond_notify(NULL, 1), MP_EINVAL);
  assert_int_equal(mp_cond_notify_all(NULL), MP_EINVAL);
  assert_int_equal(mp_cond_free(NULL), MP_EINVAL);

  mp_cond zero = {0, 0, 0};
  assert_int_equal(mp_cond_acquire(&zero, 0), MP_EINVAL);
  assert_int_equal(mp_cond_wait(&zero, 0), MP_EINVAL);
  assert_int_equal(mp_cond_notify(&zero, 1), MP_EINVAL);

  mp_cond c;
  assert_int_equal(mp_cond_create(&c), 0);
  assert_int_equal(mp_cond_acquire(&c, -2), MP_EINVAL);
  assert_int_equal(mp_cond_acquire(&c, 0), 0);
  assert_int_equal(mp_cond_wait(&c, -2), MP_EINVAL);
  assert_int_equal(mp_cond_wait_for(&c, NULL, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_cond_wait_for(&c, never, NULL, -5), MP_EINVAL);
  mp_cond forged = c;
  forged._off -= 16;
  assert_int_equal(mp_cond_notify(&forged, 1), MP_EINVAL);
  assert_int_equal(mp_cond_release(&c), 0);

  mp_cond copy = c;
  assert_int_equal(mp_cond_free(&c), 0);
  assert_int_equal(mp_cond_acquire(&copy, 0), MP_EINVAL);
  assert_int_equal(mp_cond_release(&copy), MP_EINVAL);
  assert_int_equal(mp_cond_wait(&copy, 0), MP_EINVAL);
  assert_int_equal(mp_cond_notify_all(&copy), MP_EINVAL);
  assert_int_equal(mp_cond_free(&copy), MP_EINVAL);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cond_notify),
      cmocka_unit_test(test_cond_notify_all),
      cmocka_unit_test(test_cond_notify_n),
      cmocka_unit_test(test_cond_notify_skips_later_waiters),
      cmocka_unit_test(test_cond_timed_out_waiter_takes_no_notify),
      cmocka_unit_test(test_cond_many_timed_out_waiters),
      cmocka_unit_test_teardown(test_cond_killed_waiter_takes_no_notify,
                                tst_teardown_processes),
      cmocka_unit_test(test_cond_timeout),
      cmocka_unit_test(test_cond_needs_lock),
      cmocka_unit_test(test_cond_wait_releases_recursive_lock),
      cmocka_unit_test(test_cond_wait_for),
      cmocka_unit_test(test_cond_wait_for_timeout),
      cmocka_unit_test(test_cond_wait_result),
      cmocka_unit_test(test_cond_holder_killed),
      cmocka_unit_test(test_cond_thread_id_reused),
      cmocka_unit_test_teardown(test_cond_notify_killed_before_wake,
                                tst_teardown_processes),
      cmocka_unit_test(test_cond_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
