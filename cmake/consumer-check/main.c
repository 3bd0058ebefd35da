/* Smoke test for an installed mproc: the header compiles, the library links,
 * and a child process runs and returns its exit code. */
#include <mproc.h>

#include <stdio.h>
#include <string.h>

static int child(void *arg) {
  return *(const int *)arg + 1;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  if (strcmp(mp_strerror(0), "") == 0 || mp_cpu_count() < 1) {
    fprintf(stderr, "consumer: unexpected answers from the library\n");
    return 1;
  }

  int in = 41, code = -1;
  mp_process *p = NULL;
  int rc = mp_process_create(&p, child, &in, sizeof in, NULL);
  if (rc == 0) rc = mp_process_start(p);
  if (rc == 0) rc = mp_process_join(p, MP_INFINITE);
  if (rc == 0) rc = mp_process_exitcode(p, &code);
  if (p) mp_process_free(p);
  if (rc != 0 || code != 42) {
    fprintf(stderr, "consumer: child failed: %s, exit code %d\n", mp_strerror(rc), code);
    return 1;
  }
  printf("consumer: mproc %d.%d.%d works (%d CPUs, child exit code %d)\n",
         MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH,
         mp_cpu_count(), code);
  return 0;
}
