/* A family of its own for test_pipe: makes one pipe and writes its two
 * handles (reading end, then writing end), byte for byte, to the file
 * named by argv[1]. Exits 0, or 1 on any failure. */
#include <mproc.h>

#include "support/test_support.h"

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  mp_conn ends[2];
  if (argc != 2 || mp_pipe_create(&ends[0], &ends[1], 0) != 0)
    return 1;
  return tst_write_file(argv[1], ends, sizeof ends) == 0 ? 0 : 1;
}
