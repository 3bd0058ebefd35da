/* Twin of "3、进程池（1）简单示例" in seeds/001: a Pool of three workers runs
 * ten tasks handed over with apply_async, then close and join.
 *
 *   from multiprocessing import Pool
 *   import os,time,random
 *   def worker(msg):
 *       t_start = time.time()
 *       print("%s开始执行,进程号为%d"%(msg,os.getpid()))
 *       #random.random()随机⽣成0~1之间的浮点数
 *       time.sleep(random.random()*2)
 *       t_stop = time.time()
 *       print(msg,"执行完毕，耗时%0.2f"%(t_stop-t_start))
 *
 *   if __name__=="__main__":
 *       po=Pool(3) #定义一个进程池，最多进程数3
 *       print("----start----")
 *       for i in range(0,10):
 *           #Pool.apply_async(要调⽤的⽬标,(传递给⽬标的参数元祖,))
 *           #每次循环将会用空闲出来的子进程去调用目标
 *           po.apply_async(worker,(i,)) # 异步
 *           # po.apply(worker,(i,)) #　同步
 *       po.close() #关闭进程池，关闭后po不再接收新的请求
 *       po.join() #等待po中所有的进程执行完成，必须放在close语句之后
 *       print("-----end-----")
 *
 * The seed lost its indentation: its print, close, join and print sit
 * inside the for loop, so the pool would be closed after the first task
 * and the second apply_async would raise. Above is what it means, as
 * issue 8 reads it: the start line, the ten tasks, close, join, the end
 * line. pool_apply.c is the same program with the commented-out apply.
 *
 * The tasks are fire and forget, as in the seed (the results are not
 * used): apply_async with a NULL handle. At most three run at a time. */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* random.random(): a double in [0, 1). */
static double random_random(void) { return rand() / ((double)RAND_MAX + 1); }

/* def worker(msg): a task gets its argument bytes (here one int) and may
 * leave a result in res; this one has none. */
static int worker(const void *arg, size_t size, mp_result *res) {
  (void)size;
  (void)res;
  int msg = *(const int *)arg;
  seed_random_once();
  double t_start = now_s();
  printf("%d开始执行,进程号为%lld\n", msg, (long long)mp_current_pid());
  fflush(stdout);
  /* random.random()随机⽣成0~1之间的浮点数 */
  sleep_s(random_random() * 2);
  double t_stop = now_s();
  printf("%d 执行完毕，耗时%0.2f\n", msg, t_stop - t_start);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_pool_options opts = {0};
  opts.processes = 3; /* 定义一个进程池，最多进程数3 */
  mp_pool *po;
  CHECK(mp_pool_create(&po, &opts));
  printf("----start----\n");
  fflush(stdout);
  for (int i = 0; i < 10; i++) {
    /* Pool.apply_async(要调⽤的⽬标,(传递给⽬标的参数元祖,))
     * 每次循环将会用空闲出来的子进程去调用目标 */
    CHECK(mp_pool_apply_async(po, worker, &i, sizeof i, NULL, NULL)); /* 异步 */
  }
  CHECK(mp_pool_close(po));              /* 关闭进程池，关闭后po不再接收新的请求 */
  CHECK(mp_pool_join(po, MP_INFINITE));  /* 等待po中所有的进程执行完成，必须放在close语句之后 */
  printf("-----end-----\n");
  CHECK(mp_pool_free(po));
  return 0;
}
