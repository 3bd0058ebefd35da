/* Twin of "创建并开启子进程的方式二" in seeds/002: the same four processes,
 * written as a Process subclass that sets the process name.
 *
 *   class Piao(Process):
 *       def __init__(self,name):
 *           super().__init__()
 *           self.name=name
 *       def run(self):
 *           print('%s piaoing' %self.name)
 *           time.sleep(random.randrange(1,5))
 *           print('%s piao end' %self.name)
 *
 *   if __name__ == '__main__':
 *       p1=Piao('egon')
 *       p2=Piao('alex')
 *       p3=Piao('wupeiqi')
 *       p4=Piao('yuanhao')
 *       p1.start()
 *       p2.start()
 *       p3.start()
 *       p4.start()
 *       print('主')
 *
 * self.name is the process's name (Process.name), so the C "class" needs
 * no data of its own: the constructor sets the name in the options, and
 * run reads it back with mp_current_name(). */
#include <stdio.h>

#include <mproc.h>

#include "example.h"

/* def run(self) */
static int Piao_run(void *self) {
  (void)self; /* no data besides the name */
  const char *name = mp_current_name(); /* self.name, inside the child */
  seed_random();
  printf("%s piaoing\n", name);
  fflush(stdout);
  sleep_s(1 + rand() % 4); /* random.randrange(1,5) */
  printf("%s piao end\n", name);
  fflush(stdout);
  return 0;
}

/* Piao(name): super().__init__(), then self.name = name. */
static int Piao_new(mp_process **p, const char *name) {
  mp_process_options opts = {0};
  opts.name = name; /* copied by mp_process_create */
  return mp_process_create(p, Piao_run, NULL, 0, &opts);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_process *p1, *p2, *p3, *p4;
  CHECK(Piao_new(&p1, "egon"));
  CHECK(Piao_new(&p2, "alex"));
  CHECK(Piao_new(&p3, "wupeiqi"));
  CHECK(Piao_new(&p4, "yuanhao"));

  CHECK(mp_process_start(p1)); /* start runs Piao_run in the child */
  CHECK(mp_process_start(p2));
  CHECK(mp_process_start(p3));
  CHECK(mp_process_start(p4));
  printf("主\n");
  fflush(stdout);
  return 0;
}
