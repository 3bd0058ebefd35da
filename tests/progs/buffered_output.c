/* Output buffered before start appears once, not once per child.
 *
 * Run with stdout redirected to a file (fully buffered): prints
 * "BEFORE-START" without a newline, starts three children that each print
 * "IN-CHILD-<i>" on a line of their own, joins them, prints
 * "\nAFTER-JOIN codes=<c0>,<c1>,<c2>" and returns 0. */
#include <stdio.h>

#include <mproc.h>

static int child(void *arg) {
  printf("IN-CHILD-%d\n", *(int *)arg);
  return 20 + *(int *)arg;
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  printf("BEFORE-START");
  mp_process *p[3];
  int codes[3] = {-1, -1, -1};
  for (int i = 0; i < 3; i++) {
    if (mp_process_create(&p[i], child, &i, sizeof i, NULL) != 0)
      return 10;
    if (mp_process_start(p[i]) != 0)
      return 11;
    /* One at a time, so that the lines cannot interleave. */
    if (mp_process_join(p[i], 60000) != 0)
      return 12;
    mp_process_exitcode(p[i], &codes[i]);
    mp_process_free(p[i]);
  }
  printf("\nAFTER-JOIN codes=%d,%d,%d\n", codes[0], codes[1], codes[2]);
  return 0;
}
