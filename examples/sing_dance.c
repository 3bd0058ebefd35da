/* Twin of net04_sing_dance_multiprocess.py in seeds/004: a singer and a
 * dancer, each in its own process.
 *
 *   def sing():
 *       for i in range(5):
 *           print('正在唱歌呢 %d' % i)
 *           time.sleep(1)  # 休息1秒
 *
 *   def dance():
 *       for i in range(5):
 *           print('正在跳舞呢 %d' % i)
 *           time.sleep(1)  # 休息1秒
 *
 *   if __name__ == '__main__':
 *       p1 = multiprocessing.Process(target=sing)  # 创建唱歌进程
 *       p2 = multiprocessing.Process(target=dance)  # 创建跳舞进程
 *       p1.start()  # 开始运行进程sing
 *       p2.start()  # 开始运行进程dance
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

static int sing(void *unused) {
  (void)unused;
  for (int i = 0; i < 5; i++) {
    printf("正在唱歌呢 %d\n", i);
    fflush(stdout); /* show each line now, not when the process ends */
    sleep_s(1);     /* 休息1秒 */
  }
  return 0;
}

static int dance(void *unused) {
  (void)unused;
  for (int i = 0; i < 5; i++) {
    printf("正在跳舞呢 %d\n", i);
    fflush(stdout);
    sleep_s(1);
  }
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_process *p1, *p2;
  CHECK(mp_process_create(&p1, sing, NULL, 0, NULL));  /* 创建唱歌进程 */
  CHECK(mp_process_create(&p2, dance, NULL, 0, NULL)); /* 创建跳舞进程 */
  CHECK(mp_process_start(p1));
  CHECK(mp_process_start(p2));
  return 0; /* the library waits for both at exit */
}
