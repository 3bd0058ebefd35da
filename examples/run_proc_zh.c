/* Twin of "（1）简单示例" in seeds/001:
 *
 *   def run_proc(name):
 *       print("子进程运行中, name=%s"%name)
 *
 *   if __name__ == "__main__":
 *       print("父进程 %d" % os.getpid())
 *       p = Process(target=run_proc, args=('test',))
 *       print("子进程将要执行")
 *       p.start()
 *       p.join()
 *       print("子进程已经结束")
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

static int run_proc(void *arg) {
  const char *name = arg; /* args=('test',): a copy of "test" */
  printf("子进程运行中, name=%s\n", name);
  return 0;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  printf("父进程 %lld\n", (long long)mp_current_pid());
  mp_process *p;
  CHECK(mp_process_create(&p, run_proc, "test", sizeof "test", NULL));
  printf("子进程将要执行\n");
  CHECK(mp_process_start(p));
  CHECK(mp_process_join(p, MP_INFINITE));
  printf("子进程已经结束\n");
  mp_process_free(p);
  return 0;
}
