/* Twin of net04_getpid.py in seeds/004: sing and dance again, now showing
 * the three process ids (parent, singer, dancer).
 *
 *   def sing():
 *       print('唱歌进程pid: %d' % os.getpid())
 *       for i in range(5):
 *           print('正在唱歌呢 %d' % i)
 *           time.sleep(1)  # 休息1秒
 *
 *   def dance():
 *       print('跳舞进程pid: %d' % os.getpid())
 *       for i in range(5):
 *           print('正在跳舞呢 %d' % i)
 *           time.sleep(1)  # 休息1秒
 *
 *   if __name__ == '__main__':
 *       print('父进程pid: %d' % os.getpid())
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
  printf("唱歌进程pid: %lld\n", (long long)mp_current_pid());
  for (int i = 0; i < 5; i++) {
    printf("正在唱歌呢 %d\n", i);
    fflush(stdout);
    sleep_s(1);
  }
  return 0;
}

static int dance(void *unused) {
  (void)unused;
  printf("跳舞进程pid: %lld\n", (long long)mp_current_pid());
  for (int i = 0; i < 5; i++) {
    printf("正在跳舞呢 %d\n", i);
    fflush(stdout);
    sleep_s(1);
  }
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  printf("父进程pid: %lld\n", (long long)mp_current_pid());
  mp_process *p1, *p2;
  CHECK(mp_process_create(&p1, sing, NULL, 0, NULL));
  CHECK(mp_process_create(&p2, dance, NULL, 0, NULL));
  CHECK(mp_process_start(p1)); /* flushes the parent's line first */
  CHECK(mp_process_start(p2));
  return 0;
}
