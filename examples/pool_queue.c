/* Twin of "4、进程间通信（2）Pool中使用Queue" in seeds/001: a writer task and
 * then a reader task, run with apply one after the other, share a queue.
 *
 *   #修改import中的Queue为Manager
 *   from multiprocessing import Manager,Pool
 *   import os,time,random
 *   def reader(q):
 *       print("reader启动(%s),⽗进程为(%s)"%(os.getpid(),os.getppid()))
 *       for i in range(q.qsize()):
 *           print("reader从Queue获取到消息：%s"%q.get(True))
 *
 *   def writer(q):
 *       print("writer启动(%s),⽗进程为(%s)"%(os.getpid(),os.getppid()))
 *       for i in "dongGe":
 *           q.put(i)
 *
 *   if __name__=="__main__":
 *       print("(%s) start"%os.getpid())
 *       q=Manager().Queue() #使用Manager中的Queue来初始化
 *       po=Pool()
 *       #使用阻塞模式创建进程，这样就不需要在reader中使用死循环了，
 *       #可以让writer完全执⾏完成后，再用reader去读取
 *       po.apply(writer,(q,))
 *       po.apply(reader,(q,))
 *       po.close()
 *       po.join()
 *       print("(%s) End"%os.getpid())
 *
 * The seed lost the indentation of the loops' bodies and put writer's def
 * inside reader; above is what it means.
 *
 * Python needs Manager().Queue() here because a plain multiprocessing
 * Queue cannot be passed to a pool task (it may only be inherited). An
 * mp_queue is a plain value that works in any process of the family,
 * pool workers included, under fork and spawn alike: so a plain mp_queue
 * it is. */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

static int reader(const void *arg, size_t size, mp_result *res) {
  (void)size;
  (void)res;
  mp_queue q = *(const mp_queue *)arg; /* the handle, copied */
  printf("reader启动(%lld),⽗进程为(%lld)\n", (long long)mp_current_pid(),
         (long long)mp_parent_pid());
  int n = mp_queue_qsize(&q);
  CHECK(n);
  for (int i = 0; i < n; i++) {
    char c;
    size_t len;
    CHECK(mp_queue_get(&q, &c, 1, &len, MP_INFINITE));
    printf("reader从Queue获取到消息：%c\n", c);
  }
  fflush(stdout);
  return 0;
}

static int writer(const void *arg, size_t size, mp_result *res) {
  (void)size;
  (void)res;
  mp_queue q = *(const mp_queue *)arg;
  printf("writer启动(%lld),⽗进程为(%lld)\n", (long long)mp_current_pid(),
         (long long)mp_parent_pid());
  fflush(stdout);
  for (const char *i = "dongGe"; *i; i++)
    CHECK(mp_queue_put(&q, i, 1, MP_INFINITE));
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  printf("(%lld) start\n", (long long)mp_current_pid());
  fflush(stdout);
  mp_queue q;
  CHECK(mp_queue_create(&q, 0)); /* Manager().Queue(): see above */
  mp_pool *po;
  CHECK(mp_pool_create(&po, NULL)); /* Pool(): one worker per CPU */
  /* 使用阻塞模式创建进程，这样就不需要在reader中使用死循环了，
   * 可以让writer完全执⾏完成后，再用reader去读取 */
  CHECK(mp_pool_apply(po, writer, &q, sizeof q, NULL, 0, NULL));
  CHECK(mp_pool_apply(po, reader, &q, sizeof q, NULL, 0, NULL));
  CHECK(mp_pool_close(po));
  CHECK(mp_pool_join(po, MP_INFINITE));
  printf("(%lld) End\n", (long long)mp_current_pid());
  CHECK(mp_pool_free(po));
  CHECK(mp_queue_free(&q));
  return 0;
}
