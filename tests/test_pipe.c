/* Pipe and Connection: what CPython's _test_multiprocessing checks for
 * connections (message boundaries, poll, EOF, many sizes, one-way pipes)
 * and what mproc adds: ends passed to children in argument blocks under
 * the leg's start method, EOF when a child exits or is killed mid-send,
 * timeouts that keep what arrived, and every bad input. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "support/test_support.h"

#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#include <time.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OK = 0, E_RECV = 2, E_SEND = 3, E_DATA = 4, E_EOF = 5, E_MEM = 6,
       E_CODE = 7 };

#define BIG ((size_t)64 << 20)

typedef struct ends {
  mp_conn a, b;
  size_t size;
  int rc; /* what a role expects, or reports */
} ends;

static unsigned char pattern(size_t i, uint64_t seed) {
  uint64_t x = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15) + seed;
  x ^= x >> 29;
  x *= UINT64_C(0xBF58476D1CE4E5B9);
  return (unsigned char)(x >> 40);
}

static unsigned char *make(size_t n, uint64_t seed) {
  unsigned char *p = malloc(n ? n : 1);
  for (size_t i = 0; p && i < n; i++)
    p[i] = pattern(i, seed);
  return p;
}

static int check(const unsigned char *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(i, seed))
      return 0;
  return 1;
}

static void send_ok(mp_conn *c, const void *d, size_t n) {
  int rc = mp_conn_send(c, d, n);
  if (rc != 0)
    fail_msg("send %zu: %d (%s)", n, rc, mp_strerror(rc));
}

static size_t recv_ok(mp_conn *c, void *buf, size_t cap) {
  size_t len = (size_t)-1;
  int rc = mp_conn_recv(c, buf, cap, &len, TST_LONG_MS);
  if (rc != 0)
    fail_msg("recv: %d (%s)", rc, mp_strerror(rc));
  return len;
}

static const size_t sizes[] = {0, 1, 2, 15, 16, 17, 64, 1000, 4095, 4096,
                               65535, 65536, 65537, 200000, (1u << 20) + 3};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- roles (children: exit codes only) ---- */

/* Python's _echo: sends back every message until an empty one. */
static int role_echo(void *arg) {
  ends *e = arg;
  size_t cap = (2u << 20), len;
  unsigned char *buf = malloc(cap);
  if (!buf)
    return E_MEM;
  for (;;) {
    int rc = mp_conn_recv(&e->b, buf, cap, &len, MP_INFINITE);
    if (rc != 0)
      return E_RECV;
    if (len == 0)
      break;
    if (mp_conn_send(&e->b, buf, len) != 0)
      return E_SEND;
  }
  free(buf);
  return OK;
}

/* Sends `size` messages numbered 0.., then leaves without closing. */
static int role_count(void *arg) {
  ends *e = arg;
  for (uint32_t i = 0; i < (uint32_t)e->size; i++)
    if (mp_conn_send(&e->b, &i, sizeof i) != 0)
      return E_SEND;
  return OK;
}

static int role_send_big(void *arg) {
  ends *e = arg;
  unsigned char *p = make(e->size, 77);
  if (!p)
    return E_MEM;
  int rc = mp_conn_send(&e->b, p, e->size);
  free(p);
  return rc == 0 ? OK : E_SEND;
}

static int role_recv_big(void *arg) {
  ends *e = arg;
  unsigned char *p = malloc(e->size);
  size_t len = 0;
  if (!p)
    return E_MEM;
  if (mp_conn_recv(&e->b, p, e->size, &len, MP_INFINITE) != 0)
    return E_RECV;
  int good = len == e->size && check(p, len, 78);
  free(p);
  return good ? OK : E_DATA;
}

/* A small message, then one too big for the pipe: blocks mid-send. */
static int role_hello_then_big(void *arg) {
  ends *e = arg;
  if (mp_conn_send(&e->b, "hello", 5) != 0)
    return E_SEND;
  return role_send_big(arg);
}

/* Uses an end its parent closed before starting it. */
static int role_use_closed(void *arg) {
  ends *e = arg;
  int rc = mp_conn_send(&e->b, "x", 1);
  return rc == MP_ECLOSED ? 10 : rc == MP_ENOTSUP ? 11 : E_CODE;
}

/* Gets through pipe a the handle of a pipe made after it started. */
static int role_foreign_handle(void *arg) {
  ends *e = arg;
  mp_conn late;
  size_t len = 0;
  if (mp_conn_recv(&e->a, &late, sizeof late, &len, MP_INFINITE) != 0 ||
      len != sizeof late)
    return E_RECV;
  int rc = mp_conn_send(&late, "x", 1);
  return rc == MP_ENOTSUP ? OK : E_CODE;
}

/* ---- in one process ---- */

static void test_boundaries_and_sizes(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  unsigned char *out = malloc((1u << 20) + 3);
  assert_non_null(out);
  /* Several queued at once still come out one by one, both ways. */
  for (size_t i = 0; i < 8; i++) {
    unsigned char *m = make(sizes[i], i);
    send_ok(&b, m, sizes[i]);
    send_ok(&a, m, sizes[i]);
    free(m);
  }
  for (size_t i = 0; i < 8; i++) {
    assert_int_equal(recv_ok(&a, out, (1u << 20) + 3), sizes[i]);
    assert_true(check(out, sizes[i], i));
    assert_int_equal(recv_ok(&b, out, (1u << 20) + 3), sizes[i]);
    assert_true(check(out, sizes[i], i));
  }
  assert_int_equal(mp_conn_poll(&a, 0), 0);
  free(out);
  assert_int_equal(mp_conn_close(&a), 0);
  assert_int_equal(mp_conn_close(&b), 0);
}

static void test_poll(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  assert_int_equal(mp_conn_poll(&a, 0), 0);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_conn_poll(&a, 300), 0);
  int64_t took = tst_now_ms() - t0;
  assert_true(took >= 250 && took < TST_LONG_MS);
  send_ok(&b, "abc", 3);
  t0 = tst_now_ms();
  assert_int_equal(mp_conn_poll(&a, TST_LONG_MS), 1);
  assert_true(tst_now_ms() - t0 < 5000);
  /* Polling consumes nothing. */
  assert_int_equal(mp_conn_poll(&a, 0), 1);
  assert_int_equal(mp_conn_poll(&a, MP_INFINITE), 1);
  char buf[8];
  assert_int_equal(recv_ok(&a, buf, sizeof buf), 3);
  assert_memory_equal(buf, "abc", 3);
  assert_int_equal(mp_conn_poll(&a, 0), 0);
  /* A 0-byte message is something to receive too. */
  send_ok(&b, NULL, 0);
  assert_int_equal(mp_conn_poll(&a, TST_LONG_MS), 1);
  assert_int_equal(recv_ok(&a, NULL, 0), 0);
  mp_conn_close(&a);
  mp_conn_close(&b);
}

static void test_msgsize_keeps_message(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 0), 0);
  unsigned char *m = make(30000, 5), *out = malloc(30000);
  assert_non_null(out);
  send_ok(&b, m, 30000);
  send_ok(&b, "next", 4);
  size_t len = 0;
  assert_int_equal(mp_conn_recv(&a, out, 10, &len, TST_LONG_MS), MP_EMSGSIZE);
  assert_int_equal(len, 30000);
  len = 0;
  assert_int_equal(mp_conn_recv(&a, NULL, 0, &len, 0), MP_EMSGSIZE);
  assert_int_equal(len, 30000);
  assert_int_equal(recv_ok(&a, out, 30000), 30000);
  assert_true(check(out, 30000, 5));
  assert_int_equal(recv_ok(&a, out, 4), 4);
  assert_memory_equal(out, "next", 4);
  free(m);
  free(out);
  mp_conn_close(&a);
  mp_conn_close(&b);
}

static void test_duplex_false(void **state) {
  (void)state;
  mp_conn r, w;
  assert_int_equal(mp_pipe_create(&r, &w, 0), 0);
  send_ok(&w, "1", 1);
  char c;
  assert_int_equal(recv_ok(&r, &c, 1), 1);
  size_t len;
  assert_int_equal(mp_conn_send(&r, "2", 1), MP_ENOTSUP);
  assert_int_equal(mp_conn_recv(&w, &c, 1, &len, 0), MP_ENOTSUP);
  assert_int_equal(mp_conn_poll(&w, 0), MP_ENOTSUP);
  /* The wrong direction does not hurt the right one. */
  send_ok(&w, "3", 1);
  assert_int_equal(recv_ok(&r, &c, 1), 1);
  assert_int_equal(c, '3');
  mp_conn_close(&r);
  mp_conn_close(&w);
}

static void test_eof_after_close(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  send_ok(&b, "last", 4);
  assert_int_equal(mp_conn_close(&b), 0);
  assert_int_equal(mp_conn_close(&b), 0); /* again: still fine */
  char buf[8];
  size_t len;
  /* What was sent before the close still arrives, then EOF, and EOF
   * stays; poll says there is something to receive: the EOF. */
  assert_int_equal(recv_ok(&a, buf, sizeof buf), 4);
  assert_int_equal(mp_conn_poll(&a, TST_LONG_MS), 1);
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, TST_LONG_MS), MP_EEOF);
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, MP_INFINITE), MP_EEOF);
  /* Sending to a closed peer: an error, never SIGPIPE. */
  assert_int_equal(mp_conn_send(&a, "x", 1), MP_EEOF);
  /* The closed end's handle in this process. */
  assert_int_equal(mp_conn_send(&b, "x", 1), MP_ECLOSED);
  assert_int_equal(mp_conn_poll(&b, 0), MP_ECLOSED);
  assert_int_equal(mp_conn_close(&a), 0);
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, 0), MP_ECLOSED);
}

static void test_recv_timeout(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  char buf[4];
  size_t len = 77;
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, 0), MP_ETIMEDOUT);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, 300), MP_ETIMEDOUT);
  int64_t took = tst_now_ms() - t0;
  assert_true(took >= 250 && took < TST_LONG_MS);
  assert_int_equal(len, 77); /* untouched */
  send_ok(&b, "ok", 2);
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, 300), 0);
  assert_int_equal(len, 2);
  mp_conn_close(&a);
  mp_conn_close(&b);
}

static void test_bad_input(void **state) {
  (void)state;
  mp_conn a, b, zero, junk;
  memset(&zero, 0, sizeof zero);
  memset(&junk, 0x5a, sizeof junk);
  char buf[4];
  size_t len;
  assert_int_equal(mp_pipe_create(NULL, &b, 1), MP_EINVAL);
  assert_int_equal(mp_pipe_create(&a, NULL, 1), MP_EINVAL);
  assert_int_equal(mp_pipe_create(&a, &a, 1), MP_EINVAL);
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  mp_conn *bad[] = {NULL, &zero, &junk};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(mp_conn_send(bad[i], "x", 1), MP_EINVAL);
    assert_int_equal(mp_conn_recv(bad[i], buf, 4, &len, 0), MP_EINVAL);
    assert_int_equal(mp_conn_poll(bad[i], 0), MP_EINVAL);
    assert_int_equal(mp_conn_close(bad[i]), MP_EINVAL);
  }
  /* A real end with its direction flags altered. */
  mp_conn forged = b;
  forged._a ^= 3;
  assert_int_equal(mp_conn_send(&forged, "x", 1), MP_EINVAL);
  /* A well-formed handle of an end this process never had. */
  mp_conn unknown = b;
  unknown._b ^= UINT64_C(0x00000000ffff0000);
  assert_int_equal(mp_conn_send(&unknown, "x", 1), MP_ENOTSUP);
  assert_int_equal(mp_conn_send(&b, NULL, 1), MP_EINVAL);
  assert_int_equal(mp_conn_recv(&a, NULL, 1, &len, 0), MP_EINVAL);
  assert_int_equal(mp_conn_recv(&a, buf, 4, NULL, 0), MP_EINVAL);
  assert_int_equal(mp_conn_recv(&a, buf, 4, &len, -2), MP_EINVAL);
  assert_int_equal(mp_conn_poll(&a, -2), MP_EINVAL);
  /* Nothing above disturbed the pipe. */
  send_ok(&b, "ok", 2);
  assert_int_equal(recv_ok(&a, buf, 4), 2);
  mp_conn_close(&a);
  mp_conn_close(&b);
}

#ifndef _WIN32
/* POSIX pipes raise SIGPIPE on a write nobody will read. A send there is
 * MP_EEOF whatever the program does with SIGPIPE, and leaves its signal
 * state as it was: disposition, this thread's mask, and a SIGPIPE it had
 * pending already (which must not be taken for the send's own). */
static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) {
  (void)sig;
  sigpipes++;
}

static int sigpipe_blocked(void) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  return sigismember(&cur, SIGPIPE);
}

static int sigpipe_pending(void) {
  sigset_t p;
  sigpending(&p);
  return sigismember(&p, SIGPIPE);
}

static void send_to_gone_reader(mp_conn *a) {
  assert_int_equal(mp_conn_send(a, "x", 1), MP_EEOF);
  /* Beyond PIPE_BUF, and with a payload: the multi-write path too. */
  unsigned char *big = make(100000, 9);
  assert_non_null(big);
  assert_int_equal(mp_conn_send(a, big, 100000), MP_EEOF);
  free(big);
}

static void test_sigpipe_state_untouched(void **state) {
  (void)state;
  struct sigaction saved, sa, now;
  sigaction(SIGPIPE, NULL, &saved);
  sigset_t pipe_set, saved_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_UNBLOCK, &pipe_set, &saved_mask);
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  assert_int_equal(mp_conn_close(&b), 0);

  /* Default action (death): survived; nothing left pending or blocked. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &sa, NULL);
  send_to_gone_reader(&a);
  assert_false(sigpipe_blocked());
  assert_false(sigpipe_pending());
  sigaction(SIGPIPE, NULL, &now);
  assert_true(now.sa_handler == SIG_DFL);

  /* The program's handler: not called for our write, still installed. */
  sa.sa_handler = on_sigpipe;
  sigaction(SIGPIPE, &sa, NULL);
  sigpipes = 0;
  send_to_gone_reader(&a);
  assert_int_equal(sigpipes, 0);
  sigaction(SIGPIPE, NULL, &now);
  assert_true(now.sa_handler == on_sigpipe);

  /* Ignored: still MP_EEOF. */
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  send_to_gone_reader(&a);
  sigaction(SIGPIPE, NULL, &now);
  assert_true(now.sa_handler == SIG_IGN);

  /* Blocked by the program: stays blocked, and the send's own SIGPIPE
   * does not stay behind. */
  sa.sa_handler = on_sigpipe;
  sigaction(SIGPIPE, &sa, NULL);
  pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
  send_to_gone_reader(&a);
  assert_true(sigpipe_blocked());
  assert_false(sigpipe_pending());

  /* Blocked with one of the program's pending: still pending after. */
  assert_int_equal(pthread_kill(pthread_self(), SIGPIPE), 0);
  assert_true(sigpipe_pending());
  send_to_gone_reader(&a);
  assert_true(sigpipe_blocked());
  assert_true(sigpipe_pending());
  struct timespec zero = {0, 0};
  assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), SIGPIPE);
  assert_false(sigpipe_pending());
  assert_int_equal(sigpipes, 0);

  pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
  sigaction(SIGPIPE, &saved, NULL);
  assert_int_equal(mp_conn_close(&a), 0);
}
#endif

/* ---- with children ---- */

static void test_echo_child_many_sizes(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 1), 0);
  mp_process *p = tst_start(role_echo, &e, sizeof e, NULL);
  /* Python's pattern: the parent closes its copy of the child's end. */
  assert_int_equal(mp_conn_close(&e.b), 0);
  unsigned char *out = malloc((1u << 20) + 3);
  assert_non_null(out);
  for (size_t i = 1; i < NSIZES; i++) {
    unsigned char *m = make(sizes[i], 100 + i);
    send_ok(&e.a, m, sizes[i]);
    assert_int_equal(recv_ok(&e.a, out, (1u << 20) + 3), sizes[i]);
    assert_true(check(out, sizes[i], 100 + i));
    free(m);
  }
  free(out);
  send_ok(&e.a, NULL, 0); /* stop */
  char c;
  size_t len;
  /* The child's exit closes the last copy of its end: EOF here. */
  assert_int_equal(mp_conn_recv(&e.a, &c, 1, &len, TST_LONG_MS), MP_EEOF);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  mp_process_free(p);
  mp_conn_close(&e.a);
}

static void test_child_exit_gives_eof(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 0), 0);
  e.size = 1000;
  mp_process *p = tst_start(role_count, &e, sizeof e, NULL);
  assert_int_equal(mp_conn_close(&e.b), 0);
  for (uint32_t i = 0; i < 1000; i++) {
    uint32_t got = 0;
    assert_int_equal(recv_ok(&e.a, &got, sizeof got), sizeof got);
    assert_int_equal(got, i);
  }
  size_t len;
  uint32_t x;
  assert_int_equal(mp_conn_recv(&e.a, &x, sizeof x, &len, TST_LONG_MS), MP_EEOF);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  mp_process_free(p);
  mp_conn_close(&e.a);
}

static void test_64mib_both_ways(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 1), 0);
  e.size = BIG;
  mp_process *p = tst_start(role_send_big, &e, sizeof e, NULL);
  unsigned char *out = malloc(BIG);
  assert_non_null(out);
  assert_int_equal(recv_ok(&e.a, out, BIG), BIG);
  assert_true(check(out, BIG, 77));
  assert_int_equal(tst_join_code(p, 4 * TST_LONG_MS), OK);
  mp_process_free(p);

  p = tst_start(role_recv_big, &e, sizeof e, NULL);
  for (size_t i = 0; i < BIG; i++)
    out[i] = pattern(i, 78);
  send_ok(&e.a, out, BIG);
  assert_int_equal(tst_join_code(p, 4 * TST_LONG_MS), OK);
  mp_process_free(p);
  free(out);
  mp_conn_close(&e.a);
  mp_conn_close(&e.b);
}

/* A message arriving in pieces across receives that time out is kept
 * whole: what each timed-out receive read is there for the next one. */
static void test_timeouts_keep_partial_message(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 0), 0);
  e.size = (size_t)8 << 20;
  mp_process *p = tst_start(role_send_big, &e, sizeof e, NULL);
  mp_conn_close(&e.b);
  unsigned char *out = malloc(e.size);
  assert_non_null(out);
  size_t len = 0;
  int rc, timeouts = 0;
  int64_t t0 = tst_now_ms();
  while ((rc = mp_conn_recv(&e.a, out, e.size, &len, 1)) == MP_ETIMEDOUT &&
         tst_now_ms() - t0 < 4 * TST_LONG_MS)
    timeouts++;
  assert_int_equal(rc, 0);
  assert_int_equal(len, e.size);
  assert_true(check(out, e.size, 77));
  (void)timeouts;
  free(out);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  mp_process_free(p);
  mp_conn_close(&e.a);
}

/* Python can hand a reader half a message here; we give EOF instead. */
static void test_writer_killed_mid_send(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 0), 0);
  e.size = BIG;
  mp_process *p = tst_start(role_hello_then_big, &e, sizeof e, NULL);
  mp_conn_close(&e.b);
  char hello[8];
  assert_int_equal(recv_ok(&e.a, hello, sizeof hello), 5);
  assert_memory_equal(hello, "hello", 5);
  /* The big one has started arriving; the OS pipe is full, so the
   * writer is blocked inside its send. */
  assert_int_equal(mp_conn_poll(&e.a, TST_LONG_MS), 1);
  tst_sleep_ms(200);
  assert_int_equal(mp_process_kill(p), 0);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), -9);
  mp_process_free(p);
  unsigned char *out = malloc(BIG);
  assert_non_null(out);
  size_t len = 0;
  assert_int_equal(mp_conn_recv(&e.a, out, BIG, &len, TST_LONG_MS), MP_EEOF);
  assert_int_equal(mp_conn_recv(&e.a, out, BIG, &len, 0), MP_EEOF);
  free(out);
  mp_conn_close(&e.a);
}

static void test_closed_before_start(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 1), 0);
  mp_conn_close(&e.b);
  mp_process *p = tst_start(role_use_closed, &e, sizeof e, NULL);
  int code = tst_join_code(p, TST_LONG_MS);
  /* A forked child has this process's table, tombstone included; a
   * spawned one never heard of the end. */
  assert_int_equal(code, tst_leg_is_spawn() ? 11 : 10);
  mp_process_free(p);
  mp_conn_close(&e.a);
}

static void test_handle_to_older_process(void **state) {
  (void)state;
  ends e;
  assert_int_equal(mp_pipe_create(&e.a, &e.b, 0), 0);
  mp_process *p = tst_start(role_foreign_handle, &e, sizeof e, NULL);
  mp_conn late_a, late_b;
  assert_int_equal(mp_pipe_create(&late_a, &late_b, 0), 0);
  send_ok(&e.b, &late_b, sizeof late_b);
  assert_int_equal(tst_join_code(p, TST_LONG_MS), OK);
  mp_process_free(p);
  mp_conn_close(&late_a);
  mp_conn_close(&late_b);
  mp_conn_close(&e.a);
  mp_conn_close(&e.b);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_boundaries_and_sizes),
      cmocka_unit_test(test_poll),
      cmocka_unit_test(test_msgsize_keeps_message),
      cmocka_unit_test(test_duplex_false),
      cmocka_unit_test(test_eof_after_close),
      cmocka_unit_test(test_recv_timeout),
      cmocka_unit_test(test_bad_input),
#ifndef _WIN32
      cmocka_unit_test(test_sigpipe_state_untouched),
#endif
      cmocka_unit_test(test_echo_child_many_sizes),
      cmocka_unit_test(test_child_exit_gives_eof),
      cmocka_unit_test(test_64mib_both_ways),
      cmocka_unit_test(test_timeouts_keep_partial_message),
      cmocka_unit_test(test_writer_killed_mid_send),
      cmocka_unit_test(test_closed_before_start),
      cmocka_unit_test(test_handle_to_older_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
