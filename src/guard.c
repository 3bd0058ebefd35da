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

static int read_start_data(int64_t chan, mp__start_data *d, void **arg) {
  unsigned char prefix[MP__START_PREFIX_LEN];
  int rc = mp__os_channel_read(chan, prefix, sizeof prefix);
  if (rc < 0)
    return rc;
  uint64_t header_len;
  memcpy(&header_len, prefix + 8, sizeof header_len);
  if (header_len > (16u << 20))
    return MP_EINVAL;
  unsigned char *block = malloc(sizeof prefix + (size_t)header_len);
  if (!block)
    return MP_ENOMEM;
  memcpy(block, prefix, sizeof prefix);
  rc = mp__os_channel_read(chan, block + sizeof prefix, (size_t)header_len);
  if (rc == 0)
    rc = mp__start_data_unpack(block, sizeof prefix + (size_t)header_len, d);
  free(block);
  if (rc < 0)
    return rc;
  *arg = NULL;
  if (d->arg_size > 0) {
    if (d->arg_size > (uint64_t)PTRDIFF_MAX ||
        !(*arg = malloc((size_t)d->arg_size)))
      return MP_ENOMEM;
    rc = mp__os_channel_read(chan, *arg, (size_t)d->arg_size);
  }
  return rc;
}

/* 1 and the start data plus arg block if this is a spawned child; 0 if
 * not; a negative code if it is one but the data is unusable. */
static int receive(mp__start_data *d, void **arg) {
  char value[32];
  if (mp__getenv(MP__CHILD_ENV, value, sizeof value) != 0)
    return 0;
  /* Our own children must not see it: if we spawn them, we set it afresh. */
  mp__unsetenv(MP__CHILD_ENV);
  char *end;
  long long chan = strtoll(value, &end, 10);
  if (*end != '\0' || end == value)
    return MP_EINVAL;
  int rc = mp__os_channel_prepare(chan);
  if (rc < 0)
    return rc;
  rc = read_start_data(chan, d, arg);
  mp__os_channel_close(chan);
  return rc < 0 ? rc : 1;
}

void mp_main_guard(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (mp__self.guard_ran)
    return;
  mp__self.guard_ran = 1;

  mp__start_data d;
  void *arg = NULL;
  int rc = receive(&d, &arg);
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
