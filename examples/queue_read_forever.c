/* Twin of "进程间通信" in seeds/003: a writer and a reader run side by
 * side; the reader waits on the queue forever, so the parent terminates it
 * once the writer is done.
 *
 *   from multiprocessing import Process, Queue
 *   import os, time, random
 *
 *   # 写数据进程执行的代码
 *   def write(q):
 *       print('Process to write: %s.' % os.getpid())
 *       for value in ['A', 'B', 'C']:
 *           print('Put %s to queue...' % value)
 *           q.put(value)
 *           time.sleep(random.random()*10)
 *
 *   # 读数据进程执行的代码
 *   def read(q):
 *       print('Process to read: %s.' % os.getpid())
 *       while True:
 *           value = q.get(True)
 *           print('Get %s from queue.' % value)
 *
 *   if __name__ == '__main__':
 *       # 父进程传教Queue，并传给各个子进程
 *       q = Queue()
 *       pw = Process(target=write, args=(q, ))
 *       pr = Process(target=read, args=(q, ))
 *       # 启动子进程pw，写入：
 *       pw.start()
 *       # 启动子进程pr，读取：
 *       pr.start()
 *
 *       # 等待子进程pw接收
 *       pw.join()
 *       # pr进程里是死循环，强行关闭
 *       pr.terminate()
 *       print('Process end.')
 *
 * The writer sleeps up to 10 s after each put, as in the seed, so a run
 * takes about 15 s. Every "Put X" comes before its "Get X"; the two
 * "Process to" lines may come in either order. As in Python, "Get C"
 * shows only because the reader gets C while the writer still sleeps
 * after putting it; terminate() comes after that sleep.
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* random.random(): a double in [0, 1). */
static double random_random(void) { return rand() / ((double)RAND_MAX + 1); }

/* 写数据进程执行的代码: write() in Python, renamed, as POSIX has a write(). */
static int writer(void *arg) {
  mp_queue *q = arg; /* args=(q, ): the handle is a plain value, copied */
  static const char *const values[] = {"A", "B", "C"};
  seed_random();
  printf("Process to write: %lld.\n", (long long)mp_current_pid());
  for (int k = 0; k < 3; k++) {
    printf("Put %s to queue...\n", values[k]);
    fflush(stdout);
    /* A message is a byte string: here the one letter, without its NUL. */
    CHECK(mp_queue_put(q, values[k], 1, MP_INFINITE));
    sleep_s(random_random() * 10);
  }
  return 0;
}

/* 读数据进程执行的代码: read(), renamed likewise. */
static int reader(void *arg) {
  mp_queue *q = arg;
  printf("Process to read: %lld.\n", (long long)mp_current_pid());
  fflush(stdout);
  for (;;) {
    char value[16];
    size_t len;
    CHECK(mp_queue_get(q, value, sizeof value, &len, MP_INFINITE));
    printf("Get %.*s from queue.\n", (int)len, value);
    /* Flush now: terminate() ends the process without flushing stdio. */
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  /* 父进程传教Queue，并传给各个子进程 */
  mp_queue q;
  CHECK(mp_queue_create(&q, 0));
  mp_process *pw, *pr;
  CHECK(mp_process_create(&pw, writer, &q, sizeof q, NULL));
  CHECK(mp_process_create(&pr, reader, &q, sizeof q, NULL));
  /* 启动子进程pw，写入： */
  CHECK(mp_process_start(pw));
  /* 启动子进程pr，读取： */
  CHECK(mp_process_start(pr));

  /* 等待子进程pw接收 */
  CHECK(mp_process_join(pw, MP_INFINITE));
  /* pr进程里是死循环，强行关闭 */
  CHECK(mp_process_terminate(pr));
  printf("Process end.\n");
  /* Python stops here; the library would also join pr at exit. Joining it
   * here lets the program free what it created. */
  CHECK(mp_process_join(pr, MP_INFINITE));
  mp_process_free(pw);
  mp_process_free(pr);
  CHECK(mp_queue_free(&q));
  return 0;
}
