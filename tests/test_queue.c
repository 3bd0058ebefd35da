/* Queue and JoinableQueue: the behaviours CPython's _test_multiprocessing
 * checks for them (put/get timeouts, the qsize sequence, Full/Empty,
 * close, task_done/join), handles passed through argument blocks and
 * through other queues, many producers and consumers, 0-byte and 64 MiB
 * messages, and processes killed in the middle of put and get.
 *
 * Child roles report through their exit code (SU_CHECK), never cmocka. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_util.h"

#ifdef MPROC_FAULT_POINTS
#include "fault.h"
#endif

#define BIG ((size_t)64 << 20)
#define MID ((size_t)300 << 10) /* above the inline limit: own block */
#define INL ((size_t)200 << 10) /* below it: copied under the put lock */

/* ---- Message contents: every message says which it is and is checkable
 * in full, so a torn or mixed message cannot pass. ---- */

static uint64_t pattern_word(uint64_t id, size_t k) {
  uint64_t x = (id + 1) * 0x9e3779b97f4a7c15ull + (uint64_t)k;
  return x ^ (x >> 29);
}

/* len is a multiple of 8, at least 8. Word 0 is the id. */
static void fill(void *buf, size_t len, uint64_t id) {
  uint64_t *w = buf;
  w[0] = id;
  for (size_t k = 1; k < len / 8; k++)
    w[k] = pattern_word(id, k);
}

/* 1 if buf is a whole message; its id in *id. */
static int whole(const void *buf, size_t len, uint64_t *id) {
  const uint64_t *w = buf;
  if (len < 8 || len % 8)
    return 0;
  *id = w[0];
  for (size_t k = 1; k < len / 8; k++)
    if (w[k] != pattern_word(w[0], k))
      return 0;
  return 1;
}

static int put_str(mp_queue *q, const char *s, int timeout_ms) {
  return mp_queue_put(q, s, strlen(s), timeout_ms);
}

static void assert_get_str(mp_queue *q, const char *want, int timeout_ms) {
  char buf[64];
  size_t len = 0;
  assert_int_equal(mp_queue_get(q, buf, sizeof buf, &len, timeout_ms), 0);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(buf, want, len);
}

/* ---- Children ---- */

typedef struct q_arg {
  mp_queue q, q2;
  int n, delay_ms, id;
  size_t size;
  mp_shm shm;
} q_arg;

/* Sleeps, then gets n messages. */
static int role_get_n(void *p) {
  q_arg *a = p;
  tst_sleep_ms(a->delay_ms);
  char buf[64];
  size_t len;
  for (int i = 0; i < a->n; i++)
    SU_CHECK(mp_queue_get(&a->q, buf, sizeof buf, &len, TST_LONG_MS) == 0);
  return 0;
}

/* Sleeps, then puts "0".."n-1". */
static int role_put_n(void *p) {
  q_arg *a = p;
  tst_sleep_ms(a->delay_ms);
  for (int i = 0; i < a->n; i++) {
    char s[16];
    snprintf(s, sizeof s, "%d", i);
    SU_CHECK(put_str(&a->q, s, TST_LONG_MS) == 0);
  }
  return 0;
}

/* ---- CPython test_put / test_get / test_qsize ---- */

static void test_qsize_sequence(void **state) {
  (void)state;
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  assert_int_equal(mp_queue_qsize(&q), 0);
  assert_int_equal(mp_queue_empty(&q), 1);
  assert_int_equal(mp_queue_full(&q), 0);
  assert_int_equal(put_str(&q, "5", 0), 0);
  assert_int_equal(mp_queue_qsize(&q), 1);
  assert_int_equal(put_str(&q, "3", 0), 0);
  assert_int_equal(mp_queue_qsize(&q), 2);
  assert_int_equal(mp_queue_empty(&q), 0);
  assert_get_str(&q, "5", 0);
  assert_int_equal(mp_queue_qsize(&q), 1);
  assert_get_str(&q, "3", 0);
  assert_int_equal(mp_queue_qsize(&q), 0);
  assert_int_equal(mp_queue_empty(&q), 1);
  assert_int_equal(mp_queue_free(&q), 0);
}

static void test_put_full_and_timeouts(void **state) {
  (void)state;
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 6), 0);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(mp_queue_qsize(&q), i);
    assert_int_equal(mp_queue_full(&q), 0);
    /* blocking, non-blocking and timed puts all fit */
    assert_int_equal(put_str(&q, "x", i % 3 == 0 ? MP_INFINITE
                                       : i % 3 == 1 ? 0 : 100), 0);
  }
  assert_int_equal(mp_queue_qsize(&q), 6);
  assert_int_equal(mp_queue_full(&q), 1);
  assert_int_equal(mp_queue_empty(&q), 0);

  int64_t t0 = tst_now_ms();
  assert_int_equal(put_str(&q, "y", 0), MP_EFULL);
  su_assert_took(t0, 0);
  t0 = tst_now_ms();
  assert_int_equal(put_str(&q, "y", 200), MP_EFULL);
  su_assert_took(t0, 200);
  assert_int_equal(mp_queue_qsize(&q), 6);

  /* A child drains it after a while; the blocked put then goes in. */
  q_arg a = {.q = q, .n = 6, .delay_ms = 300};
  mp_process *p = tst_start(role_get_n, &a, sizeof a, NULL);
  assert_int_equal(put_str(&q, "z", TST_LONG_MS), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(mp_queue_qsize(&q), 1);
  assert_get_str(&q, "z", 0);
  assert_int_equal(mp_queue_empty(&q), 1);
  assert_int_equal(mp_queue_free(&q), 0);
}

static void test_get_empty_and_timeouts(void **state) {
  (void)state;
  mp_queue q;
  char buf[8];
  size_t len = 99;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_queue_get(&q, buf, sizeof buf, &len, 0), MP_EEMPTY);
  su_assert_took(t0, 0);
  t0 = tst_now_ms();
  assert_int_equal(mp_queue_get(&q, buf, sizeof buf, &len, 200), MP_EEMPTY);
  su_assert_took(t0, 200);

  /* A child puts later; a blocking get waits for it, in order. */
  q_arg a = {.q = q, .n = 5, .delay_ms = 200};
  mp_process *p = tst_start(role_put_n, &a, sizeof a, NULL);
  for (int i = 0; i < 5; i++) {
    char want[16];
    snprintf(want, sizeof want, "%d", i);
    assert_get_str(&q, want, TST_LONG_MS);
  }
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(mp_queue_get(&q, buf, sizeof buf, &len, 0), MP_EEMPTY);
  assert_int_equal(mp_queue_free(&q), 0);
}

static void test_msgsize_and_zero_bytes(void **state) {
  (void)state;
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  assert_int_equal(put_str(&q, "hello", 0), 0);
  assert_int_equal(mp_queue_put(&q, NULL, 0, 0), 0);
  char buf[8];
  size_t len = 0;
  assert_int_equal(mp_queue_get(&q, buf, 4, &len, 0), MP_EMSGSIZE);
  assert_int_equal(len, 5);
  assert_int_equal(mp_queue_qsize(&q), 2); /* it stays queued */
  assert_int_equal(mp_queue_get(&q, NULL, 0, &len, 0), MP_EMSGSIZE);
  assert_get_str(&q, "hello", 0);
  len = 99;
  assert_int_equal(mp_queue_get(&q, NULL, 0, &len, 0), 0);
  assert_int_equal(len, 0);
  assert_int_equal(mp_queue_empty(&q), 1);

  /* A large message too: the size is reported, the message kept. */
  char *big = malloc(MID), *back = malloc(MID);
  assert_non_null(big);
  assert_non_null(back);
  fill(big, MID, 42);
  assert_int_equal(mp_queue_put(&q, big, MID, 0), 0);
  assert_int_equal(mp_queue_get(&q, back, MID - 8, &len, 0), MP_EMSGSIZE);
  assert_int_equal(len, MID);
  assert_int_equal(mp_queue_get(&q, back, MID, &len, 0), 0);
  assert_memory_equal(big, back, MID);
  free(big);
  free(back);
  assert_int_equal(mp_queue_free(&q), 0);
}

/* ---- close ---- */

static int role_put_after_close(void *p) {
  q_arg *a = p;
  /* close is per process: a new process may put */
  SU_CHECK(put_str(&a->q, "child", TST_LONG_MS) == 0);
  return 0;
}

static void test_close(void **state) {
  (void)state;
  mp_queue q, other;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  assert_int_equal(mp_queue_create(&other, 0), 0);
  assert_int_equal(put_str(&q, "before", 0), 0);
  assert_int_equal(mp_queue_close(&q), 0);
  assert_int_equal(mp_queue_close(&q), 0); /* idempotent, as Python */
  assert_int_equal(put_str(&q, "after", 0), MP_ECLOSED);
  assert_int_equal(put_str(&other, "other", 0), 0); /* only that queue */
  q_arg a = {.q = q};
  mp_process *p = tst_start(role_put_after_close, &a, sizeof a, NULL);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  /* gets still work in the closing process */
  assert_get_str(&q, "before", 0);
  assert_get_str(&q, "child", 0);
  assert_get_str(&other, "other", 0);
  assert_int_equal(mp_queue_free(&q), 0);
  assert_int_equal(mp_queue_free(&other), 0);
}

/* ---- JoinableQueue (CPython test_task_done) ---- */

static int role_worker(void *p) {
  q_arg *a = p;
  char buf[64];
  size_t len;
  for (;;) {
    SU_CHECK(mp_queue_get(&a->q, buf, sizeof buf, &len, TST_LONG_MS) == 0);
    tst_sleep_ms(5); /* the work */
    SU_CHECK(mp_queue_task_done(&a->q) == 0);
    if (len == 0) /* None */
      return 0;
  }
}

static void test_joinable(void **state) {
  (void)state;
  mp_queue plain, q;
  assert_int_equal(mp_queue_create(&plain, 0), 0);
  assert_int_equal(mp_queue_task_done(&plain), MP_ENOTSUP);
  assert_int_equal(mp_queue_join(&plain, 0), MP_ENOTSUP);
  assert_int_equal(mp_queue_free(&plain), 0);

  assert_int_equal(mp_joinable_queue_create(&q, 0), 0);
  assert_int_equal(mp_queue_task_done(&q), MP_ESTATE);
  assert_int_equal(mp_queue_join(&q, 0), 0); /* nothing unfinished */
  assert_int_equal(put_str(&q, "task", 0), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_queue_join(&q, 200), MP_ETIMEDOUT);
  su_assert_took(t0, 200);
  assert_get_str(&q, "task", 0);
  assert_int_equal(mp_queue_join(&q, 0), MP_ETIMEDOUT); /* got, not done */
  assert_int_equal(mp_queue_task_done(&q), 0);
  assert_int_equal(mp_queue_join(&q, 0), 0);
  assert_int_equal(mp_queue_task_done(&q), MP_ESTATE);

  enum { WORKERS = 4, TASKS = 40 };
  q_arg a = {.q = q};
  mp_process *ps[WORKERS];
  su_start_n(ps, WORKERS, role_worker, &a, sizeof a);
  for (int i = 0; i < TASKS; i++)
    assert_int_equal(put_str(&q, "work", 0), 0);
  assert_int_equal(mp_queue_join(&q, TST_LONG_MS), 0);
  assert_int_equal(mp_queue_qsize(&q), 0);
  for (int i = 0; i < WORKERS; i++)
    assert_int_equal(mp_queue_put(&q, NULL, 0, 0), 0);
  assert_int_equal(mp_queue_join(&q, TST_LONG_MS), 0);
  su_join_n(ps, WORKERS, 0);
  assert_int_equal(mp_queue_task_done(&q), MP_ESTATE);
  assert_int_equal(mp_queue_free(&q), 0);
}

/* ---- Bad input ---- */

static void test_bad_input(void **state) {
  (void)state;
  mp_queue q, zero = {0, 0, 0};
  char buf[8];
  size_t len;
  assert_int_equal(mp_queue_create(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_joinable_queue_create(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_queue_create(&q, 0), 0);

  assert_int_equal(mp_queue_put(NULL, "x", 1, 0), MP_EINVAL);
  assert_int_equal(mp_queue_put(&q, NULL, 1, 0), MP_EINVAL);
  assert_int_equal(mp_queue_put(&q, "x", 1, -2), MP_EINVAL);
  assert_int_equal(mp_queue_get(NULL, buf, 8, &len, 0), MP_EINVAL);
  assert_int_equal(mp_queue_get(&q, buf, 8, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_queue_get(&q, NULL, 8, &len, 0), MP_EINVAL);
  assert_int_equal(mp_queue_get(&q, buf, 8, &len, -2), MP_EINVAL);
  assert_int_equal(mp_queue_join(&q, -5), MP_EINVAL);
  assert_int_equal(mp_queue_qsize(NULL), MP_EINVAL);
  assert_int_equal(mp_queue_empty(NULL), MP_EINVAL);
  assert_int_equal(mp_queue_full(NULL), MP_EINVAL);
  assert_int_equal(mp_queue_close(NULL), MP_EINVAL);
  assert_int_equal(mp_queue_free(NULL), MP_EINVAL);
  assert_int_equal(mp_queue_task_done(NULL), MP_EINVAL);

  /* zeroed */
  assert_int_equal(mp_queue_put(&zero, "x", 1, 0), MP_EINVAL);
  assert_int_equal(mp_queue_get(&zero, buf, 8, &len, 0), MP_EINVAL);
  assert_int_equal(mp_queue_qsize(&zero), MP_EINVAL);
  assert_int_equal(mp_queue_free(&zero), MP_EINVAL);
  /* forged: right arena, wrong id; misaligned; far out of range */
  mp_queue forged = q;
  forged._id ^= 0x5555;
  assert_int_equal(mp_queue_put(&forged, "x", 1, 0), MP_EINVAL);
  forged = q;
  forged._off += 8;
  assert_int_equal(mp_queue_qsize(&forged), MP_EINVAL);
  forged = q;
  forged._off = (uint64_t)1 << 50;
  assert_int_equal(mp_queue_get(&forged, buf, 8, &len, 0), MP_EINVAL);
  /* another type of object is not a queue */
  mp_lock l;
  assert_int_equal(mp_lock_create(&l), 0);
  assert_int_equal(mp_queue_put((mp_queue *)&l, "x", 1, 0), MP_EINVAL);
  assert_int_equal(mp_lock_free(&l), 0);
  /* a foreign arena */
  mp_queue foreign = q;
  foreign._arena ^= 0x1234;
  assert_int_equal(mp_queue_put(&foreign, "x", 1, 0), MP_ENOTSUP);
  assert_int_equal(mp_queue_qsize(&foreign), MP_ENOTSUP);

  /* freed: every copy of the handle is dead */
  mp_queue copy = q;
  assert_int_equal(put_str(&q, "left", 0), 0);
  assert_int_equal(mp_queue_free(&q), 0);
  assert_int_equal(mp_queue_put(&copy, "x", 1, 0), MP_EINVAL);
  assert_int_equal(mp_queue_get(&copy, buf, 8, &len, 0), MP_EINVAL);
  assert_int_equal(mp_queue_close(&copy), MP_EINVAL);
  assert_int_equal(mp_queue_free(&copy), MP_EINVAL);
}

/* ---- Handles through argument blocks and through other queues ---- */

/* Gets a queue handle as a message of a.q, answers through it. */
static int role_handle_via_queue(void *p) {
  q_arg *a = p;
  mp_queue inner;
  size_t len;
  SU_CHECK(mp_queue_get(&a->q, &inner, sizeof inner, &len, TST_LONG_MS) == 0);
  SU_CHECK(len == sizeof inner);
  SU_CHECK(put_str(&inner, "via queue", TST_LONG_MS) == 0);
  /* and the one from the argument block */
  SU_CHECK(put_str(&a->q2, "via arg", TST_LONG_MS) == 0);
  return 0;
}

static void test_handles_travel(void **state) {
  (void)state;
  mp_queue carrier, inner, direct;
  assert_int_equal(mp_queue_create(&carrier, 0), 0);
  assert_int_equal(mp_queue_create(&direct, 0), 0);
  q_arg a = {.q = carrier, .q2 = direct};
  mp_process *p = tst_start(role_handle_via_queue, &a, sizeof a, NULL);
  /* created after the child started: only the message can carry it */
  assert_int_equal(mp_joinable_queue_create(&inner, 1), 0);
  assert_int_equal(mp_queue_put(&carrier, &inner, sizeof inner, 0), 0);
  assert_get_str(&inner, "via queue", TST_LONG_MS);
  assert_get_str(&direct, "via arg", TST_LONG_MS);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(mp_queue_free(&carrier), 0);
  assert_int_equal(mp_queue_free(&inner), 0);
  assert_int_equal(mp_queue_free(&direct), 0);
}

/* ---- Many producers, many consumers: each message exactly once ---- */

enum { PRODUCERS = 3, CONSUMERS = 3, PER_PRODUCER = 1500 };

static size_t mpmc_size(uint64_t id) {
  if (id % 500 == 7)
    return MID; /* through the large-message path now and then */
  return 8 + (size_t)(id * 37 % 64) * 8;
}

static int role_mpmc_producer(void *p) {
  q_arg *a = p;
  unsigned char *buf = malloc(MID);
  SU_CHECK(buf != NULL);
  for (int i = 0; i < PER_PRODUCER; i++) {
    uint64_t id = (uint64_t)a->id * PER_PRODUCER + (uint64_t)i;
    fill(buf, mpmc_size(id), id);
    SU_CHECK(mp_queue_put(&a->q, buf, mpmc_size(id), TST_LONG_MS) == 0);
  }
  free(buf);
  return 0;
}

static int role_mpmc_consumer(void *p) {
  q_arg *a = p;
  _Atomic int32_t *seen = mp_shm_ptr(a->shm);
  unsigned char *buf = malloc(MID);
  SU_CHECK(seen != NULL && buf != NULL);
  for (;;) {
    size_t len;
    uint64_t id;
    SU_CHECK(mp_queue_get(&a->q, buf, MID, &len, TST_LONG_MS) == 0);
    if (len == 0) /* the end */
      break;
    SU_CHECK(whole(buf, len, &id));
    SU_CHECK(id < PRODUCERS * PER_PRODUCER && len == mpmc_size(id));
    atomic_fetch_add(&seen[id], 1);
  }
  free(buf);
  return 0;
}

static void test_many_producers_consumers(void **state) {
  (void)state;
  mp_shm shm;
  _Atomic int32_t *seen =
      su_shm_new(&shm, PRODUCERS * PER_PRODUCER * sizeof *seen);
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 50), 0); /* bounded: both sides wait */
  q_arg a = {.q = q, .shm = shm};
  mp_process *cons[CONSUMERS], *prod[PRODUCERS];
  su_start_n(cons, CONSUMERS, role_mpmc_consumer, &a, sizeof a);
  for (int i = 0; i < PRODUCERS; i++) {
    a.id = i;
    prod[i] = tst_start(role_mpmc_producer, &a, sizeof a, NULL);
  }
  su_join_n(prod, PRODUCERS, 0);
  for (int i = 0; i < CONSUMERS; i++)
    assert_int_equal(mp_queue_put(&q, NULL, 0, TST_LONG_MS), 0);
  su_join_n(cons, CONSUMERS, 0);
  for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++)
    if (atomic_load(&seen[i]) != 1)
      fail_msg("message %d was seen %d times", i, (int)atomic_load(&seen[i]));
  assert_int_equal(mp_queue_qsize(&q), 0);
  assert_int_equal(mp_queue_free(&q), 0);
  assert_int_equal(mp_shm_free(&shm), 0);
}

/* ---- 0-byte and 64 MiB messages, writer far ahead ---- */

static int role_put_big_then_exit(void *p) {
  q_arg *a = p;
  unsigned char *buf = malloc(a->size);
  SU_CHECK(buf != NULL);
  SU_CHECK(mp_queue_put(&a->q, NULL, 0, TST_LONG_MS) == 0);
  for (int i = 0; i < a->n; i++) {
    fill(buf, a->size, (uint64_t)i);
    SU_CHECK(mp_queue_put(&a->q, buf, a->size, TST_LONG_MS) == 0);
  }
  SU_CHECK(mp_queue_put(&a->q, NULL, 0, TST_LONG_MS) == 0);
  free(buf);
  return 0;
}

static void test_huge_writer_far_ahead(void **state) {
  (void)state;
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  q_arg a = {.q = q, .n = 4, .size = BIG};
  mp_process *p = tst_start(role_put_big_then_exit, &a, sizeof a, NULL);
  /* The writer puts everything and exits before anything is read. */
  assert_int_equal(tst_join_code(p, 4 * TST_LONG_MS), 0);
  assert_int_equal(mp_process_free(p), 0);
  assert_int_equal(mp_queue_qsize(&q), a.n + 2);
  unsigned char *buf = malloc(BIG);
  assert_non_null(buf);
  size_t len = 1;
  assert_int_equal(mp_queue_get(&q, buf, BIG, &len, 0), 0);
  assert_int_equal(len, 0);
  for (int i = 0; i < a.n; i++) {
    uint64_t id;
    assert_int_equal(mp_queue_get(&q, buf, BIG, &len, 0), 0);
    assert_int_equal(len, BIG);
    assert_true(whole(buf, len, &id));
    assert_int_equal(id, (uint64_t)i);
  }
  assert_int_equal(mp_queue_get(&q, buf, BIG, &len, 0), 0);
  assert_int_equal(len, 0);
  assert_int_equal(mp_queue_empty(&q), 1);
  free(buf);
  assert_int_equal(mp_queue_free(&q), 0);
}

/* ---- Faults ---- */

/* Puts messages of a->size bytes with ids 0, 1, 2, ... until killed. */
static int role_put_forever(void *p) {
  q_arg *a = p;
  unsigned char *buf = malloc(a->size);
  SU_CHECK(buf != NULL);
  for (uint64_t i = 0;; i++) {
    fill(buf, a->size, i);
    SU_CHECK(mp_queue_put(&a->q, buf, a->size, MP_INFINITE) == 0);
  }
}

/* Checks that the next message is whole and has the id after *next. */
static void expect_next(mp_queue *q, unsigned char *buf, size_t size,
                        uint64_t *next, int timeout_ms) {
  size_t len;
  uint64_t id;
  assert_int_equal(mp_queue_get(q, buf, size, &len, timeout_ms), 0);
  assert_int_equal(len, size);
  assert_true(whole(buf, len, &id));
  assert_int_equal(id, *next);
  ++*next;
}

/* The queue still carries whole messages both ways after the kill. */
static void assert_still_works(mp_queue *q, unsigned char *buf, size_t size) {
  uint64_t next = 1000000;
  fill(buf, size, next);
  assert_int_equal(mp_queue_put(q, buf, size, TST_LONG_MS), 0);
  memset(buf, 0, size);
  expect_next(q, buf, size, &next, 0);
  assert_int_equal(mp_queue_empty(q), 1);
}

/* A producer putting messages of `size` is killed at a random moment
 * while the test reads; what is left must be whole and in order. */
static void kill_producer_rounds(size_t size, size_t maxsize, int rounds) {
  unsigned char *buf = malloc(size);
  assert_non_null(buf);
  for (int r = 0; r < rounds; r++) {
    mp_queue q;
    assert_int_equal(mp_queue_create(&q, maxsize), 0);
    q_arg a = {.q = q, .size = size};
    mp_process *p = tst_start(role_put_forever, &a, sizeof a, NULL);
    uint64_t next = 0;
    expect_next(&q, buf, size, &next, TST_LONG_MS); /* it runs */
    int64_t until = tst_now_ms() + 20 + rand() % 300;
    while (tst_now_ms() < until)
      expect_next(&q, buf, size, &next, TST_LONG_MS);
    assert_int_equal(mp_process_kill(p), 0);
    int code = tst_join_code(p, TST_LONG_MS);
    assert_int_equal(code, -9);
    assert_int_equal(mp_process_free(p), 0);
    int left = mp_queue_qsize(&q);
    assert_in_range(left, 0, (int)maxsize);
    for (int i = 0; i < left; i++)
      expect_next(&q, buf, size, &next, 0);
    size_t len;
    assert_int_equal(mp_queue_get(&q, buf, size, &len, 0), MP_EEMPTY);
    assert_still_works(&q, buf, size);
    assert_int_equal(mp_queue_free(&q), 0);
  }
  free(buf);
}

static void test_kill_producer_mid_put_huge(void **state) {
  (void)state;
  kill_producer_rounds(BIG, 2, 3);
}

static void test_kill_producer_mid_put_inline(void **state) {
  (void)state;
  /* Copied while the put lock is held: kills land inside it. */
  kill_producer_rounds(INL, 4, 10);
}

/* Gets one message straight into shared memory, where the test watches
 * the copy progress. */
static int role_get_into_shm(void *p) {
  q_arg *a = p;
  void *dst = mp_shm_ptr(a->shm);
  size_t len;
  SU_CHECK(dst != NULL);
  SU_CHECK(mp_queue_get(&a->q, dst, BIG, &len, TST_LONG_MS) == 0);
  tst_sleep_ms(TST_LONG_MS); /* be killed here if not before */
  return 0;
}

static void test_kill_consumer_mid_get(void **state) {
  (void)state;
  mp_shm shm;
  uint64_t *dst = su_shm_new(&shm, BIG);
  uint64_t *buf = malloc(BIG);
  assert_non_null(buf);
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  fill(buf, BIG, 7);
  int caught = 0;
  for (int attempt = 0; attempt < 20 && caught < 2; attempt++) {
    memset(dst, 0, BIG);
    if (mp_queue_qsize(&q) == 0)
      assert_int_equal(mp_queue_put(&q, buf, BIG, 0), 0);
    q_arg a = {.q = q, .shm = shm};
    mp_process *p = tst_start(role_get_into_shm, &a, sizeof a, NULL);
    /* Kill once the copy is under way: past its first MiB. */
    volatile uint64_t *started = &dst[(1u << 20) / 8];
    int64_t give_up = tst_now_ms() + TST_LONG_MS;
    while (*started == 0 && tst_now_ms() < give_up) {
    }
    assert_int_equal(mp_process_kill(p), 0);
    assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
    assert_int_equal(mp_process_free(p), 0);
    /* The copy writes the last word last: still zero, so the get had
     * not finished, and the message must still be there. */
    if (dst[BIG / 8 - 1] == 0) {
      caught++;
      assert_int_equal(mp_queue_qsize(&q), 1);
    }
  }
  if (!caught)
    skip(); /* the copies always finished before the kill landed */
  /* The last attempt may have been too late to catch: its get completed
   * and took the message, as it should. */
  if (mp_queue_qsize(&q) == 0)
    assert_int_equal(mp_queue_put(&q, buf, BIG, 0), 0);
  size_t len;
  uint64_t id;
  memset(dst, 0, BIG);
  assert_int_equal(mp_queue_get(&q, dst, BIG, &len, TST_LONG_MS), 0);
  assert_int_equal(len, BIG);
  assert_true(whole(dst, len, &id));
  assert_int_equal(id, 7);
  assert_still_works(&q, (unsigned char *)buf, 4096);
  free(buf);
  assert_int_equal(mp_queue_free(&q), 0);
  assert_int_equal(mp_shm_free(&shm), 0);
}

typedef struct killer {
  mp_process *p;
  int after_ms;
} killer;

static int kill_later(void *p) {
  killer *k = p;
  tst_sleep_ms(k->after_ms);
  return mp_process_kill(k->p);
}

static void test_get_timeout_while_writer_killed(void **state) {
  (void)state;
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 1), 0);
  q_arg a = {.q = q, .size = INL};
  mp_process *p = tst_start(role_put_forever, &a, sizeof a, NULL);
  killer k = {p, 100 + rand() % 300};
  unsigned char *buf = malloc(INL);
  assert_non_null(buf);
  uint64_t next = 0;
  expect_next(&q, buf, INL, &next, TST_LONG_MS); /* it runs */
  tst_thread *t = tst_thread_start(kill_later, &k);
  assert_non_null(t);
  /* Every get returns a whole message or times out on time; once the
   * writer is dead, one times out. */
  for (;;) {
    size_t len;
    uint64_t id;
    int64_t t0 = tst_now_ms();
    int rc = mp_queue_get(&q, buf, INL, &len, 300);
    if (rc == MP_EEMPTY) {
      su_assert_took(t0, 300);
      break;
    }
    assert_int_equal(rc, 0);
    assert_true(tst_now_ms() - t0 <= 300 + SU_LATE_MS);
    assert_true(whole(buf, len, &id));
    assert_int_equal(id, next++);
  }
  assert_int_equal(tst_thread_join(t), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
  assert_int_equal(mp_process_free(p), 0);
  assert_still_works(&q, buf, INL);
  free(buf);
  assert_int_equal(mp_queue_free(&q), 0);
}

/* ---- Killed between publishing and waking (issue 7 #4) ----
 * A put, get or task_done killed after its change is visible but before
 * its wake: the process asleep in an infinite get, put or join notices
 * all the same. (Reproduced before: the consumer stayed in
 * get(MP_INFINITE) with qsize 1.) */

typedef enum { W_PUT, W_GET, W_TASK_DONE } wake_op;

typedef struct wake_arg {
  mp_queue q;
  mp_sem ready;
  wake_op op; /* what the killer does; the waiter waits for its effect */
} wake_arg;

#ifdef MPROC_FAULT_POINTS
/* Asleep for ever in get (op put), put on a full queue (op get) or join
 * (op task_done), until the killer's change. */
static int role_wake_waiter(void *p) {
  wake_arg *a = p;
  char buf[16];
  size_t len = 0;
  SU_CHECK(mp_sem_release(&a->ready) == 0);
  if (a->op == W_PUT) {
    SU_CHECK(mp_queue_get(&a->q, buf, sizeof buf, &len, MP_INFINITE) == 0);
    SU_CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);
  } else if (a->op == W_GET) {
    SU_CHECK(put_str(&a->q, "later", MP_INFINITE) == 0);
  } else {
    SU_CHECK(mp_queue_join(&a->q, MP_INFINITE) == 0);
  }
  return 0;
}

static int role_wake_killer(void *p) {
  static const char *const points[] = {"queue.put.wake", "queue.get.wake",
                                       "queue.task_done.wake"};
  wake_arg *a = p;
  char buf[16];
  size_t len;
  su_wait_asleep(&a->ready);
  mp__fault_arm(points[a->op], 0, MP__FAULT_KILL, 0);
  if (a->op == W_PUT)
    put_str(&a->q, "hello", 0);
  else if (a->op == W_GET)
    mp_queue_get(&a->q, buf, sizeof buf, &len, 0);
  else
    mp_queue_task_done(&a->q);
  SU_CHECK(!"killed at the fault point");
  return 0;
}
#endif

/* The queue for op, as the waiter must find it, and after the kill. */
static void killed_before_wake(wake_op op) {
#ifndef MPROC_FAULT_POINTS
  (void)op;
  skip();
#else
  wake_arg a;
  a.op = op;
  assert_int_equal(op == W_TASK_DONE ? mp_joinable_queue_create(&a.q, 0)
                                     : mp_queue_create(&a.q, op == W_GET),
                   0);
  assert_int_equal(mp_sem_create(&a.ready, 0, 0), 0);
  if (op != W_PUT) /* W_GET: full; W_TASK_DONE: one task not done */
    assert_int_equal(put_str(&a.q, "first", 0), 0);
  if (op == W_TASK_DONE)
    assert_get_str(&a.q, "first", 0);
  su_killed_before_wake(role_wake_waiter, role_wake_killer, &a, sizeof a);
  if (op == W_GET)
    assert_get_str(&a.q, "later", 0);
  assert_int_equal(mp_queue_qsize(&a.q), 0);
  assert_int_equal(mp_queue_join(&a.q, 0), op == W_TASK_DONE ? 0 : MP_ENOTSUP);
  assert_int_equal(mp_queue_free(&a.q), 0);
  assert_int_equal(mp_sem_free(&a.ready), 0);
#endif
}

static void test_put_killed_before_wake(void **state) {
  (void)state;
  killed_before_wake(W_PUT);
}

static void test_get_killed_before_wake(void **state) {
  (void)state;
  killed_before_wake(W_GET);
}

static void test_task_done_killed_before_wake(void **state) {
  (void)state;
  killed_before_wake(W_TASK_DONE);
}

/* ---- A rogue process of the family (issue 7 #11) ----
 * Every byte of a queue lives in the arena, where any process of the
 * family can write. A rogue child overwrites one word of each of many
 * queues (every word of the object, the head record's header and payload,
 * the head chunk's link) with values that look like offsets, lengths and
 * positions; this process then uses each queue: every call returns an
 * MP_E* code or a message no longer than the buffer, never a crash, a hang
 * or a copy out of bounds (the ASan leg checks the last), and every queue
 * can be freed. Then aimed corruptions, each of which must make the next
 * get fail with MP_EINVAL: a record's length that runs past its chunk (the
 * queue used to copy it), a large message's length past its block or its
 * offset off any block, a record that is not a message. These know the
 * record layout of queue.c: a header {seq, len << 2 | kind}, kind 1 for an
 * inline message, 2 for a large one (its block's offset follows), 3 for
 * "continued in the next chunk", 0 for nothing yet. */
#define ROGUE_MAX 96
#define ROGUE_PATTERNS 12
#define ROGUE_BIG (300u << 10)

#define ROGUE_CHUNK_DATA (((size_t)1 << 20) - 32) /* a chunk's records */
#define ROGUE_AIMED 5

typedef struct rogue_arg {
  mp_queue q[ROGUE_MAX];
  int n;
  int target;  /* 0: object word i; 1: head record word i, 4: chunk link;
                  2: aimed corruption i */
  int pattern; /* what is written (rogue_value) */
} rogue_arg;

/* The aimed corruptions, on a queue whose head record is inline (i < 3)
 * or a large message's (i >= 3): the header word or the offset. */
static void rogue_aim(int i, uint64_t *rec) {
  switch (i) {
  case 0: rec[1] = (uint64_t)ROGUE_CHUNK_DATA << 2 | 1; break;
  case 1: rec[1] = (uint64_t)5 << 2 | 0; break;
  case 2: rec[1] = (uint64_t)5 << 2 | 3; break;
  case 3: rec[1] = (uint64_t)(600u << 10) << 2 | 2; break;
  default: rec[2] += 4096; break;
  }
}

static uint64_t rogue_value(uint64_t old, int pattern) {
  switch (pattern) {
  case 0: return 0;
  case 1: return 1;
  case 2: return UINT64_MAX;
  case 3: return old + 16;
  case 4: return old - 16;
  case 5: return old ^ ((uint64_t)1 << 21); /* a position's chunk bits */
  case 6: return old ^ ((uint64_t)1 << 36);
  case 7: return old ^ 3;                   /* a record's kind */
  case 8: return old << 8;                  /* a record's length */
  case 9: return (uint64_t)1 << 40;
  case 10: return old | ((uint64_t)1 << 62);
  default: return old * 0x9e3779b97f4a7c15ull;
  }
}

#ifdef MPROC_FAULT_POINTS
static int role_rogue(void *p) {
  rogue_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    void *obj, *chunk, *rec;
    size_t bytes;
    SU_CHECK(mp__fault_queue_memory(&a->q[i], &obj, &bytes, &chunk, &rec) == 0);
    if (a->target == 2) {
      rogue_aim(i, rec);
      continue;
    }
    uint64_t *w = a->target == 0 ? (uint64_t *)obj + i
                  : i < 4       ? (uint64_t *)rec + i
                                : (uint64_t *)chunk;
    *w = rogue_value(*w, a->pattern);
  }
  return 0;
}
#endif

static int rogue_rc_ok(int rc) {
  return rc >= 0 || rc == MP_EEMPTY || rc == MP_EFULL || rc == MP_EMSGSIZE ||
         rc == MP_EINVAL || rc == MP_ESTATE || rc == MP_ENOMEM ||
         rc == MP_ESYS || rc == MP_ENOTSUP;
}

/* Uses a corrupted queue every way that cannot wait for ever. */
static void use_corrupted(mp_queue *q, unsigned char *buf, size_t cap,
                          int *bad) {
  size_t len = 0;
  int rc;
  *bad += !rogue_rc_ok(mp_queue_qsize(q));
  *bad += !rogue_rc_ok(mp_queue_empty(q));
  *bad += !rogue_rc_ok(mp_queue_full(q));
  for (int i = 0; i < 3; i++) {
    len = 0;
    rc = mp_queue_get(q, buf, cap, &len, 0);
    *bad += !rogue_rc_ok(rc) || (rc == 0 && len > cap);
  }
  *bad += !rogue_rc_ok(mp_queue_put(q, "again", 5, 0));
  len = 0;
  rc = mp_queue_get(q, buf, cap, &len, 0);
  *bad += !rogue_rc_ok(rc) || (rc == 0 && len > cap);
  *bad += !rogue_rc_ok(mp_queue_task_done(q));
  rc = mp_queue_free(q);
  *bad += rc != 0 && rc != MP_EINVAL;
}

static void test_rogue_corrupts_queue(void **state) {
  (void)state;
#ifndef MPROC_FAULT_POINTS
  skip(); /* the rogue finds the queue's memory through a test-only view */
#else
  size_t cap = 1u << 20;
  unsigned char *buf = malloc(cap), *big = malloc(ROGUE_BIG);
  assert_non_null(buf);
  assert_non_null(big);
  fill(big, ROGUE_BIG, 3);
  static rogue_arg a;
  int bad = 0;
  for (int target = 0; target < 3; target++) {
    for (int pattern = 0; pattern < ROGUE_PATTERNS; pattern++) {
      memset(&a, 0, sizeof a);
      a.target = target ? 1 : 0;
      a.pattern = pattern;
      a.n = 5;
      for (int i = 0; i < ROGUE_MAX && i < a.n; i++) {
        mp_queue *q = &a.q[i];
        assert_int_equal(
            i % 2 ? mp_joinable_queue_create(q, 8) : mp_queue_create(q, 0), 0);
        if (target == 2) /* the head record is a large message's */
          assert_int_equal(mp_queue_put(q, big, ROGUE_BIG, 0), 0);
        assert_int_equal(put_str(q, "hello", 0), 0);
        assert_int_equal(put_str(q, "world!", 0), 0);
        if (i == 0 && target == 0) {
          void *obj, *chunk, *rec;
          size_t bytes;
          assert_int_equal(
              mp__fault_queue_memory(q, &obj, &bytes, &chunk, &rec), 0);
          a.n = (int)(bytes / 8);
          assert_true(a.n <= ROGUE_MAX);
        }
      }
      mp_process *p = tst_start(role_rogue, &a, sizeof a, NULL);
      su_join_n(&p, 1, 0);
      for (int i = 0; i < a.n; i++)
        use_corrupted(&a.q[i], buf, cap, &bad);
    }
  }
  assert_int_equal(bad, 0);

  memset(&a, 0, sizeof a);
  a.target = 2;
  a.n = ROGUE_AIMED;
  for (int i = 0; i < a.n; i++) {
    assert_int_equal(mp_queue_create(&a.q[i], 0), 0);
    if (i >= 3)
      assert_int_equal(mp_queue_put(&a.q[i], big, ROGUE_BIG, 0), 0);
    assert_int_equal(put_str(&a.q[i], "hello", 0), 0);
  }
  mp_process *p = tst_start(role_rogue, &a, sizeof a, NULL);
  su_join_n(&p, 1, 0);
  for (int i = 0; i < a.n; i++) {
    size_t len = 0;
    int rc = mp_queue_get(&a.q[i], buf, cap, &len, 0);
    if (rc != MP_EINVAL)
      fail_msg("aimed corruption %d: get returned %d, %zu bytes", i, rc, len);
    int again = mp_queue_free(&a.q[i]);
    assert_true(again == 0 || again == MP_EINVAL);
  }
  /* The family goes on. */
  mp_queue q;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  assert_still_works(&q, big, ROGUE_BIG);
  assert_int_equal(mp_queue_free(&q), 0);
  free(buf);
  free(big);
#endif
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  unsigned seed = (unsigned)tst_now_ms();
  srand(seed);
  printf("# test_queue: random seed %u\n", seed);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qsize_sequence),
      cmocka_unit_test(test_put_full_and_timeouts),
      cmocka_unit_test(test_get_empty_and_timeouts),
      cmocka_unit_test(test_msgsize_and_zero_bytes),
      cmocka_unit_test(test_close),
      cmocka_unit_test(test_joinable),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_handles_travel),
      cmocka_unit_test(test_many_producers_consumers),
      cmocka_unit_test(test_huge_writer_far_ahead),
      cmocka_unit_test(test_kill_producer_mid_put_huge),
      cmocka_unit_test(test_kill_producer_mid_put_inline),
      cmocka_unit_test(test_kill_consumer_mid_get),
      cmocka_unit_test(test_get_timeout_while_writer_killed),
      cmocka_unit_test_teardown(test_put_killed_before_wake,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_get_killed_before_wake,
                                tst_teardown_processes),
      cmocka_unit_test_teardown(test_task_done_killed_before_wake,
                                tst_teardown_processes),
      cmocka_unit_test(test_rogue_corrupts_queue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
