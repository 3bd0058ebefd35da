/* Twin of "创建并开启子进程的方式一" in seeds/002: four processes, one
 * function.
 *
 *   def piao(name):
 *       print('%s piaoing' %name)
 *       time.sleep(random.randrange(1,5))
 *       print('%s piao end' %name)
 *
 *   if __name__ == '__main__':
 *       p1=Process(target=piao,args=('egon',))
 *       p2=Process(target=piao,args=('alex',))
 *       p3=Process(target=piao,args=('wupeqi',))
 *       p4=Process(target=piao,args=('yuanhao',))
 *       p1.start()
 *       p2.start()
 *       p3.start()
 *       p4.start()
 *       print('主')
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

#include "example.h"

static int piao(void *arg) {
  const char *name = arg;
  seed_random();
  printf("%s piaoing\n", name);
  fflush(stdout);
  sleep_s(1 + rand() % 4); /* random.randrange(1,5): 1, 2, 3 or 4 */
  printf("%s piao end\n", name);
  fflush(stdout);
  return 0;
}

/* args=(name,): the string and its terminating NUL are copied. */
static int create_piao(mp_process **p, const char *name) {
  return mp_process_create(p, piao, name, strlen(name) + 1, NULL);
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  mp_process *p1, *p2, *p3, *p4;
  CHECK(create_piao(&p1, "egon"));
  CHECK(create_piao(&p2, "alex"));
  CHECK(create_piao(&p3, "wupeqi"));
  CHECK(create_piao(&p4, "yuanhao"));

  CHECK(mp_process_start(p1));
  CHECK(mp_process_start(p2));
  CHECK(mp_process_start(p3));
  CHECK(mp_process_start(p4));
  printf("主\n");
  fflush(stdout);
  /* No join, as in Python: the library waits for the four at exit. */
  return 0;
}
