/* Twin of "（5）继承类" in seeds/001: a Process subclass with its own run().
 *
 *   class Process_Class(Process):
 *       def __init__(self,interval):
 *           Process.__init__(self)
 *           self.interval = interval
 *       def run(self):
 *           print("子进程(%d) 开始执行，父进程为（%d）"%(os.getpid(),os.getppid()))
 *           t_start = time.time()
 *           time.sleep(self.interval)
 *           t_stop = time.time()
 *           print("(%s)执行结束，耗时%0.2f秒"%(os.getpid(),t_stop-t_start))
 *
 *   if __name__=="__main__":
 *       t_start = time.time()
 *       print("当前程序进程(%s)"%os.getpid())
 *       p1 = Process_Class(2)
 *       p1.start()
 *       p1.join()
 *       t_stop = time.time()
 *       print("(%s)执行结束，耗时%0.2f"%(os.getpid(),t_stop-t_start))
 *
 * In C the "class" is a struct holding the object's data (self.interval)
 * and a run function that is the process's target: the child gets its own
 * copy of the struct as `self`. */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

typedef struct Process_Class {
  double interval;
} Process_Class;

/* def run(self) */
static int Process_Class_run(void *arg) {
  Process_Class *self = arg;
  printf("子进程(%lld) 开始执行，父进程为（%lld）\n",
         (long long)mp_current_pid(), (long long)mp_parent_pid());
  fflush(stdout);
  double t_start = now_s();
  sleep_s(self->interval);
  double t_stop = now_s();
  printf("(%lld)执行结束，耗时%0.2f秒\n", (long long)mp_current_pid(),
         t_stop - t_start);
  return 0;
}

/* Process_Class(interval): Process.__init__(self), then self.interval. */
static int Process_Class_new(mp_process **p, double interval) {
  Process_Class self = {interval};
  return mp_process_create(p, Process_Class_run, &self, sizeof self, NULL);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  double t_start = now_s();
  printf("当前程序进程(%lld)\n", (long long)mp_current_pid());
  mp_process *p1;
  CHECK(Process_Class_new(&p1, 2));
  CHECK(mp_process_start(p1)); /* runs Process_Class_run in the child */
  CHECK(mp_process_join(p1, MP_INFINITE));
  double t_stop = now_s();
  printf("(%lld)执行结束，耗时%0.2f\n", (long long)mp_current_pid(),
         t_stop - t_start);
  mp_process_free(p1);
  return 0;
}
