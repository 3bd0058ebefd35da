/* mp_wait: Python's multiprocessing.connection.wait behaviours (several
 * connections written by children until EOF, timeouts, process sentinels
 * in the same list), more than 64 objects on every OS, queues mixed in,
 * and every bad input. */
#include "support/test_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OK = 0, E_SEND = 2 };

typedef struct writer_arg {
  mp_conn w;
  int index;
  int count;
} writer_arg;

static int role_writer(void *arg) {
  writer_arg *a = arg;
  for (int i = 0; i < a->count; i++) {
    int msg[2] = {a->index, i};
    if (mp_conn_send(&a->w, msg, sizeof msg) != 0)
      return E_SEND;
    tst_sleep_ms(a->index * 3);
  }
  return OK;
}

static int role_sleep(void *arg) {
  tst_sleep_ms(*(int *)arg);
  return OK;
}

static mp_wait_item conn_item(mp_conn *c) {
  return (mp_wait_item){.kind = MP_WAIT_CONN, .obj.conn = c};
}

static mp_wait_item proc_item(mp_process *p) {
  return (mp_wait_item){.kind = MP_WAIT_PROCESS, .obj.process = p};
}

static mp_wait_item queue_item(mp_queue *q) {
  return (mp_wait_item){.kind = MP_WAIT_QUEUE, .obj.queue = q};
}

/* Python's test_wait: children write to their own pipes; the parent
 * waits on all of them and reads what is ready until each gives EOF. */
static void test_wait_many_writers(void **state) {
  (void)state;
  enum { N = 4, COUNT = 10 };
  mp_conn r[N];
  mp_process *p[N];
  for (int i = 0; i < N; i++) {
    writer_arg a;
    assert_int_equal(mp_pipe_create(&r[i], &a.w, 0), 0);
    a.index = i;
    a.count = COUNT;
    p[i] = tst_start(role_writer, &a, sizeof a, NULL);
    /* Before the next start, so that no other child holds it. */
    assert_int_equal(mp_conn_close(&a.w), 0);
  }
  int next[N] = {0}, open = N;
  mp_wait_item items[N];
  int map[N];
  while (open > 0) {
    int n = 0;
    for (int i = 0; i < N; i++)
      if (next[i] >= 0) {
        map[n] = i;
        items[n++] = conn_item(&r[i]);
      }
    int rc = mp_wait(items, (size_t)n, TST_LONG_MS);
    assert_true(rc >= 1 && rc <= n);
    int marked = 0;
    for (int k = 0; k < n; k++) {
      if (!items[k].ready)
        continue;
      marked++;
      int i = map[k], msg[2];
      size_t len;
      rc = mp_conn_recv(&r[i], msg, sizeof msg, &len, 0);
      if (rc == MP_EEOF) {
        assert_int_equal(next[i], COUNT);
        next[i] = -1;
        open--;
        continue;
      }
      assert_int_equal(rc, 0);
      assert_int_equal(msg[0], i);
      assert_int_equal(msg[1], next[i]++);
    }
    assert_true(marked >= 1);
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(tst_join_code(p[i], TST_LONG_MS), OK);
    mp_process_free(p[i]);
    mp_conn_close(&r[i]);
  }
}

static void test_wait_timeout(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  mp_wait_item it = conn_item(&a);
  it.ready = 7;
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_wait(&it, 1, 300), MP_ETIMEDOUT);
  int64_t took = tst_now_ms() - t0;
  assert_true(took >= 250 && took < TST_LONG_MS);
  assert_int_equal(it.ready, 0);
  assert_int_equal(mp_wait(&it, 1, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_conn_send(&b, "hi", 2), 0);
  t0 = tst_now_ms();
  assert_int_equal(mp_wait(&it, 1, TST_LONG_MS), 1);
  assert_true(tst_now_ms() - t0 < 5000);
  assert_int_equal(it.ready, 1);
  /* Waiting consumes nothing: the whole message is still there. */
  assert_int_equal(mp_wait(&it, 1, 0), 1);
  char buf[4];
  size_t len;
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(len, 2);
  assert_memory_equal(buf, "hi", 2);
  /* EOF counts as ready. */
  mp_conn_close(&b);
  assert_int_equal(mp_wait(&it, 1, TST_LONG_MS), 1);
  assert_int_equal(mp_conn_recv(&a, buf, sizeof buf, &len, 0), MP_EEOF);
  mp_conn_close(&a);
}

/* Python's test_wait_integer: process sentinels and a connection in one
 * list, ready in the order things happen. */
static void test_wait_sentinels(void **state) {
  (void)state;
  int ms[3] = {0, 400, 800};
  mp_process *p[3];
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 0), 0);
  for (int i = 0; i < 3; i++)
    p[i] = tst_start(role_sleep, &ms[i], sizeof ms[i], NULL);
  int done[3] = {0, 0, 0};
  for (int round = 0; round < 3; round++) {
    mp_wait_item items[4];
    int idx[3], k = 0;
    for (int i = 0; i < 3; i++)
      if (!done[i]) {
        idx[k] = i;
        items[k++] = proc_item(p[i]);
      }
    if (k == 0)
      break;
    items[k] = conn_item(&a);
    int rc = mp_wait(items, (size_t)k + 1, TST_LONG_MS);
    assert_true(rc >= 1 && rc <= k);
    assert_int_equal(items[k].ready, 0);
    for (int j = 0; j < k; j++)
      if (items[j].ready) {
        done[idx[j]] = 1;
        assert_int_equal(tst_join_code(p[idx[j]], 5000), OK);
      }
  }
  assert_true(done[0] && done[1] && done[2]);
  /* An exited (and joined) process is ready at once. */
  mp_wait_item one = proc_item(p[2]);
  assert_int_equal(mp_wait(&one, 1, 0), 1);
  mp_conn_send(&b, "x", 1);
  mp_wait_item two[2] = {proc_item(p[0]), conn_item(&a)};
  assert_int_equal(mp_wait(two, 2, 0), 2);
  for (int i = 0; i < 3; i++)
    mp_process_free(p[i]);
  mp_conn_close(&a);
  mp_conn_close(&b);
}

/* More objects than WaitForMultipleObjects takes at once. */
static void test_wait_over_64(void **state) {
  (void)state;
  enum { N = 70 };
  mp_conn r[N], w[N];
  mp_wait_item items[N + 1];
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_pipe_create(&r[i], &w[i], 0), 0);
    items[i] = conn_item(&r[i]);
  }
  int ms = 300;
  mp_process *p = tst_start(role_sleep, &ms, sizeof ms, NULL);
  items[N] = proc_item(p);
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_wait(items, N, 200), MP_ETIMEDOUT);
  assert_true(tst_now_ms() - t0 >= 150);
  int picks[3] = {67, 3, 69};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(mp_conn_send(&w[picks[k]], &k, sizeof k), 0);
    assert_int_equal(mp_wait(items, N, TST_LONG_MS), k + 1);
    for (int i = 0; i < N; i++) {
      int want = 0;
      for (int j = 0; j <= k; j++)
        want |= i == picks[j];
      assert_int_equal(items[i].ready, want);
    }
  }
  /* The process, last of 71, wakes the wait when it ends. */
  for (int k = 0; k < 3; k++) {
    int x;
    size_t len;
    assert_int_equal(mp_conn_recv(&r[picks[k]], &x, sizeof x, &len, 0), 0);
    assert_int_equal(x, k);
  }
  assert_int_equal(mp_wait(items, N + 1, TST_LONG_MS), 1);
  assert_int_equal(items[N].ready, 1);
  assert_int_equal(tst_join_code(p, 5000), OK);
  mp_process_free(p);
  /* The last of 70 at EOF. */
  mp_conn_close(&w[N - 1]);
  assert_int_equal(mp_wait(items, N, TST_LONG_MS), 1);
  assert_int_equal(items[N - 1].ready, 1);
  for (int i = 0; i < N; i++) {
    mp_conn_close(&r[i]);
    mp_conn_close(&w[i]);
  }
}

static void test_wait_same_end_twice(void **state) {
  (void)state;
  mp_conn a, b;
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  mp_wait_item items[2] = {conn_item(&a), conn_item(&a)};
  assert_int_equal(mp_wait(items, 2, 100), MP_ETIMEDOUT);
  assert_int_equal(mp_conn_send(&b, "x", 1), 0);
  assert_int_equal(mp_wait(items, 2, TST_LONG_MS), 2);
  assert_true(items[0].ready && items[1].ready);
  mp_conn_close(&a);
  mp_conn_close(&b);
}

static void test_wait_queue(void **state) {
  (void)state;
  mp_queue q;
  mp_conn a, b;
  assert_int_equal(mp_queue_create(&q, 0), 0);
  assert_int_equal(mp_pipe_create(&a, &b, 1), 0);
  mp_wait_item items[2] = {conn_item(&a), queue_item(&q)};
  int64_t t0 = tst_now_ms();
  assert_int_equal(mp_wait(items, 2, 200), MP_ETIMEDOUT);
  assert_true(tst_now_ms() - t0 >= 150);
  assert_int_equal(mp_queue_put(&q, "m", 1, 0), 0);
  assert_int_equal(mp_wait(items, 2, TST_LONG_MS), 1);
  assert_int_equal(items[0].ready, 0);
  assert_int_equal(items[1].ready, 1);
  assert_int_equal(mp_conn_send(&b, "c", 1), 0);
  assert_int_equal(mp_wait(items, 2, TST_LONG_MS), 2);
  char c;
  size_t len;
  assert_int_equal(mp_queue_get(&q, &c, 1, &len, 0), 0);
  assert_int_equal(mp_wait(items, 2, TST_LONG_MS), 1);
  assert_int_equal(items[0].ready, 1);
  mp_conn_close(&a);
  mp_conn_close(&b);
  mp_queue_free(&q);
}

static void test_wait_bad_input(void **state) {
  (void)state;
  mp_conn a, b, zero;
  memset(&zero, 0, sizeof zero);
  assert_int_equal(mp_pipe_create(&a, &b, 0), 0);
  mp_wait_item it = conn_item(&a);
  assert_int_equal(mp_wait(NULL, 1, 0), MP_EINVAL);
  assert_int_equal(mp_wait(&it, 0, 0), MP_EINVAL);
  assert_int_equal(mp_wait(&it, 1, -2), MP_EINVAL);
  mp_wait_item bad[4] = {conn_item(NULL), conn_item(&zero), proc_item(NULL),
                         queue_item(NULL)};
  for (int i = 0; i < 4; i++) {
    mp_wait_item two[2] = {it, bad[i]};
    assert_int_equal(mp_wait(two, 2, 0), MP_EINVAL);
  }
  mp_wait_item odd = it;
  odd.kind = (mp_wait_kind)99;
  assert_int_equal(mp_wait(&odd, 1, 0), MP_EINVAL);
  /* A sending-only end has nothing to wait for. */
  mp_wait_item wr = conn_item(&b);
  assert_int_equal(mp_wait(&wr, 1, 0), MP_ENOTSUP);
  /* A process not started yet has no sentinel. */
  mp_process *p = NULL;
  assert_int_equal(mp_process_create(&p, tst_role_return_int, NULL, 0, NULL), 0);
  mp_wait_item pi = proc_item(p);
  assert_int_equal(mp_wait(&pi, 1, 0), MP_ESTATE);
  mp_process_free(p);
  mp_conn_close(&b);
  assert_int_equal(mp_wait(&wr, 1, 0), MP_ECLOSED);
  mp_conn_close(&a);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wait_many_writers),
      cmocka_unit_test(test_wait_timeout),
      cmocka_unit_test(test_wait_sentinels),
      cmocka_unit_test(test_wait_over_64),
      cmocka_unit_test(test_wait_same_end_twice),
      cmocka_unit_test(test_wait_queue),
      cmocka_unit_test(test_wait_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
