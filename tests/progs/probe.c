/* A plain mproc program that prints what the library reports about the
 * launched process: the start method in effect (so the tests can check the
 * MP_START_METHOD override in a fresh program), the current name, daemon
 * flag, pids and CPU count. Exits 0. */
#include <stdio.h>

#include <mproc.h>

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  printf("method=%d\n", (int)mp_get_start_method());
  printf("name=%s\n", mp_current_name());
  printf("daemon=%d\n", mp_current_daemon());
  printf("pid=%lld\n", (long long)mp_current_pid());
  printf("ppid=%lld\n", (long long)mp_parent_pid());
  printf("cpus=%d\n", mp_cpu_count());
  return 0;
}
