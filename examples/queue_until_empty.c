/* Twin of "（1）Process中使用Queue" in seeds/001: a writer puts A, B and C
 * into a queue; once it has ended, a reader gets them back and stops when
 * the queue is empty.
 *
 *   from multiprocessing import Process, Queue
 *   import os, time, random
 *   # 写数据进程执行的代码:
 *   def write(q):
 *       for value in ['A', 'B', 'C']:
 *           print('Put %s to queue...' % value)
 *           q.put(value)
 *           time.sleep(random.random())
 *
 *   # 读数据进程执行的代码:
 *   def read(q):
 *       while True:
 *           if not q.empty():
 *               value = q.get(True)
 *               print('Get %s from queue.' % value)
 *               time.sleep(random.random())
 *           else:
 *               break
 *
 *   if __name__=='__main__':
 *       # 主进程创建Queue，并传给各个子进程：
 *       q = Queue()
 *       pw = Process(target=write, args=(q,))
 *       pr = Process(target=read, args=(q,))
 *       # 启动子进程pw，写入:
 *       pw.start()
 *       # 等待pw结束:
 *       pw.join()
 *       # 启动子进程pr，读取:
 *       pr.start()
 *       pr.join()
 *       # pr进程是死循环，等待其结束，只能强制终止
 *       print('')
 *       print('所有数据都写并且读完')
 *
 * The seed is Python 2 (`print 'Put %s to queue...' % value`) and its
 * read() lost its indentation; above is what it means, in Python 3. It
 * prints the three Put lines, the three Get lines, an empty line and
 * 所有数据都写并且读完.
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* random.random(): a double in [0, 1). */
static double random_random(void) { return rand() / ((double)RAND_MAX + 1); }

/* 写数据进程执行的代码: write() in Python, renamed, as POSIX has a write(). */
static int writer(void *arg) {
  mp_queue *q = arg; /* args=(q,): the handle is a plain value, copied */
  static const char *const values[] = {"A", "B", "C"};
  seed_random();
  for (int k = 0; k < 3; k++) {
    printf("Put %s to queue...\n", values[k]);
    fflush(stdout);
    /* A message is a byte string: here the one letter, without its NUL. */
    CHECK(mp_queue_put(q, values[k], 1, MP_INFINITE));
    sleep_s(random_random());
  }
  return 0;
}

/* 读数据进程执行的代码: read(), renamed likewise. */
static int reader(void *arg) {
  mp_queue *q = arg;
  seed_random();
  for (;;) {
    int empty = mp_queue_empty(q);
    CHECK(empty);
    if (!empty) {
      char value[16];
      size_t len;
      CHECK(mp_queue_get(q, value, sizeof value, &len, MP_INFINITE));
      printf("Get %.*s from queue.\n", (int)len, value);
      fflush(stdout);
      sleep_s(random_random());
    } else {
      break;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  /* 主进程创建Queue，并传给各个子进程： */
  mp_queue q;
  CHECK(mp_queue_create(&q, 0));
  mp_process *pw, *pr;
  CHECK(mp_process_create(&pw, writer, &q, sizeof q, NULL));
  CHECK(mp_process_create(&pr, reader, &q, sizeof q, NULL));
  /* 启动子进程pw，写入: */
  CHECK(mp_process_start(pw));
  /* 等待pw结束: */
  CHECK(mp_process_join(pw, MP_INFINITE));
  /* 启动子进程pr，读取: */
  CHECK(mp_process_start(pr));
  CHECK(mp_process_join(pr, MP_INFINITE));
  /* The seed's comment says pr loops forever and must be terminated; that
   * is the seeds/003 program (queue_read_forever.c). This reader stops
   * when the queue is empty, so join returns. */
  printf("\n");
  printf("所有数据都写并且读完\n");

  mp_process_free(pw);
  mp_process_free(pr);
  CHECK(mp_queue_free(&q));
  return 0;
}
