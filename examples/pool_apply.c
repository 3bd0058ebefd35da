/* Twin of "3、进程池（1）简单示例" in seeds/001 with its commented-out line:
 * po.apply(worker,(i,)) instead of apply_async. apply waits for each task,
 * so the ten run one after the other, in order.
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
 *           # po.apply_async(worker,(i,)) # 异步
 *           po.apply(worker,(i,)) #　同步
 *       po.close() #关闭进程池，关闭后po不再接收新的请求
 *       po.join() #等待po中所有的进程执行完成，必须放在close语句之后
 *       print("-----end-----")
 *
 * The seed's broken indentation is mended as in pool_apply_async.c. */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* random.random(): a double in [0, 1). */
static double random_random(void) { return rand() / ((double)RAND_MAX + 1); }

static int worker(const void *arg, size_t size, mp_result *res) {
  (void)size;
  (void)res;
  int msg = *(const int *)arg;
  seed_random_once();
  double t_start = now_s();
  printf("%d开始执行,进程号为%lld\n", msg, (long long)mp_current_pid());
  fflush(stdout);
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
    /* 同步: returns once worker(i) has run; the task has no result, so no
     * buffer (NULL, 0). */
    CHECK(mp_pool_apply(po, worker, &i, sizeof i, NULL, 0, NULL));
  }
  CHECK(mp_pool_close(po));
  CHECK(mp_pool_join(po, MP_INFINITE));
  printf("-----end-----\n");
  CHECK(mp_pool_free(po));
  return 0;
}
