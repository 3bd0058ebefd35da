/* Twin of "join()方法的使用" in seeds/000: two children, is_alive, name,
 * pid, and join.
 *
 *   def child_1(n):
 *       print("子进程({})开始执行，它的父进程是({})".format(os.getpid(),os.getppid()))
 *       t_start = time.time()
 *       time.sleep(n)
 *       t_end = time.time()
 *       print("子进程（{}）执行时间为%0.2f秒".format(os.getpid(), t_end-t_start))
 *
 *   def child_2(n): ...the same body...
 *
 *   def main1():
 *       print("主进程开始")
 *       print("主进程的PID；{}".format(os.getpid()))
 *       p1 = Process(target=child_1, args=(1,))
 *       p2 = Process(target=child_2, args=(2,))
 *       p1.start()
 *       p2.start()
 *       print("p1.is_alive={}".format(p1.is_alive()))
 *       print("p2.is_alive={}".format(p2.is_alive()))
 *       print("p1.name={}".format(p1.name))
 *       print("p1.id={}".format(p1.pid))
 *       print("p2.name={}".format(p2.name))
 *       print("p2.id={}".format(p2.pid))
 *       p1.join()
 *       p2.join()
 *       print("主进程结束..")
 */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* child_1 and child_2 have the same body in the seed; one function serves
 * both. */
static int child(void *arg) {
  int n = *(const int *)arg;
  printf("子进程(%lld)开始执行，它的父进程是(%lld)\n",
         (long long)mp_current_pid(), (long long)mp_parent_pid());
  fflush(stdout);
  sleep_s(n);
  /* The seed measures the sleep with time.time(), but it mixes "{}" with a
   * "%0.2f" placeholder, so Python prints "%0.2f" literally instead of the
   * time. We print what Python prints. (process_class.c prints a measured
   * time the way it was meant.) */
  printf("子进程（%lld）执行时间为%%0.2f秒\n", (long long)mp_current_pid());
  return 0;
}

static const char *py_bool(int b) { return b > 0 ? "True" : "False"; }

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  printf("主进程开始\n");
  printf("主进程的PID；%lld\n", (long long)mp_current_pid());
  int n1 = 1, n2 = 2;
  mp_process *p1, *p2;
  CHECK(mp_process_create(&p1, child, &n1, sizeof n1, NULL));
  CHECK(mp_process_create(&p2, child, &n2, sizeof n2, NULL));
  CHECK(mp_process_start(p1));
  CHECK(mp_process_start(p2));
  printf("p1.is_alive=%s\n", py_bool(mp_process_is_alive(p1)));
  printf("p2.is_alive=%s\n", py_bool(mp_process_is_alive(p2)));
  printf("p1.name=%s\n", mp_process_name(p1));
  printf("p1.id=%lld\n", (long long)mp_process_pid(p1));
  printf("p2.name=%s\n", mp_process_name(p2));
  printf("p2.id=%lld\n", (long long)mp_process_pid(p2));
  fflush(stdout);
  /* join: the main process waits here until each child has ended. */
  CHECK(mp_process_join(p1, MP_INFINITE));
  CHECK(mp_process_join(p2, MP_INFINITE));
  printf("主进程结束..\n");
  mp_process_free(p1);
  mp_process_free(p2);
  return 0;
}
