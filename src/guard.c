/* The main guard: the C form of `if __name__ == '__main__':`.
 *
 * A spawned child is this executable started again. Its environment holds
 * MP__CHILD_ENV, which names the channel carrying the start data. The
 * guard reads the data, finds the target by (module, offset), becomes the
 * process the parent created and never returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

void mp_main_guard(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (mp__self.guard_ran)
    return;
  mp__self.guard_ran = 1;

  mp__start_data d;
  void *arg = NULL;
  int rc = mp__os_child_receive(&d, &arg);
  if (rc == 0)
    return; /* the program a user launched */
  if (rc < 0)
    mp__exit_now(MP__EXIT_BOOT_FAILED);

  mp_target target = (mp_target)(uintptr_t)mp__module_resolve(&d.target);
  if (!target || mp__inherit_adopt(d.inherit, d.n_inherit) < 0)
    mp__exit_now(MP__EXIT_BOOT_FAILED);
  mp__start_data_clear(&d);

  mp__self.is_spawned_child = 1;
  snprintf(mp__self.name, sizeof mp__self.name, "%s", d.name);
  snprintf(mp__self.identity, sizeof mp__self.identity, "%s", d.identity);
  mp__self.parent_pid = d.parent_pid;
  mp__self.daemon = d.daemon;
  mp__self.counter = 0;
  mp_set_start_method(d.parent_method);
  mp__os_child_setup(&d);
  mp__child_run_and_exit(target, arg);
}

/* A spawned child whose main never called the guard re-ran main from the
 * top and is now about to start a process of its own: under spawn that
 * would recurse without end. */
void mp__refuse_if_missing_guard(void) {
  char channel[64];
  if (mp__self.guard_ran || mp__getenv(MP__CHILD_ENV, channel, sizeof channel))
    return;
  fputs("mproc: this process was started by spawn, but its main() did not "
        "call mp_main_guard(argc, argv) first,\n"
        "mproc: so it re-ran main() from the top and tried to start another "
        "process.\n"
        "mproc: fix: make `mp_main_guard(argc, argv);` the first line of "
        "main() (the C form of `if __name__ == '__main__':`).\n",
        stderr);
  fflush(stderr);
  mp__exit_now(MP__EXIT_BOOT_FAILED);
}
