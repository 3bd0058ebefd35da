/* Twin of "创建进程池" in seeds/003: a Pool of four runs five
 * long_time_task tasks, then close and join.
 *
 *   from multiprocessing import Pool
 *   import os, time, random
 *
 *   def long_time_task(name):
 *       print('Run task %s (%s)' %(name, os.getpid()))
 *       start = time.time()
 *       time.sleep(random.random() * 3)
 *       end = time.time()
 *       print('Task %s runs %0.2f seconds.\n' % (name, end-start))
 *
 *   if __name__ == '__main__':
 *       print('Parent process %s.' % os.getpid())
 *       # 限制最多同时跑4个进程，这也是Pool的有意设计
 *       p = Pool(4)
 *       print(type(p))
 *       for i in range(5):
 *           p.apply_async(long_time_task, args=(i, ))
 *       print('Waiting for all subprocesses done...')
 *       p.close()
 *       p.join()
 *       print('All subprocesses done.')
 *
 * Each "Task ... seconds." line is followed by an empty one: the format
 * ends with '\n' and print adds another. print(type(p)) shows Python's
 * class; the twin prints the same words. As in Python, a task may start
 * (and print) before "Waiting for all subprocesses done..." appears. */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* random.random(): a double in [0, 1). */
static double random_random(void) { return rand() / ((double)RAND_MAX + 1); }

static int long_time_task(const void *arg, size_t size, mp_result *res) {
  (void)size;
  (void)res;
  int name = *(const int *)arg;
  seed_random_once();
  printf("Run task %d (%lld)\n", name, (long long)mp_current_pid());
  fflush(stdout);
  double start = now_s();
  sleep_s(random_random() * 3);
  double end = now_s();
  printf("Task %d runs %0.2f seconds.\n\n", name, end - start);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  printf("Parent process %lld.\n", (long long)mp_current_pid());
  /* 限制最多同时跑4个进程，这也是Pool的有意设计 */
  mp_pool_options opts = {0};
  opts.processes = 4;
  mp_pool *p;
  CHECK(mp_pool_create(&p, &opts));
  printf("<class 'multiprocessing.pool.Pool'>\n"); /* print(type(p)) */
  fflush(stdout);
  for (int i = 0; i < 5; i++)
    CHECK(mp_pool_apply_async(p, long_time_task, &i, sizeof i, NULL, NULL));
  printf("Waiting for all subprocesses done...\n");
  fflush(stdout);
  CHECK(mp_pool_close(p));
  CHECK(mp_pool_join(p, MP_INFINITE));
  printf("All subprocesses done.\n");
  CHECK(mp_pool_free(p));
  return 0;
}
