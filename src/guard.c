/* The main guard: the C form of `if __name__ == '__main__':`.
 *
 * A spawned child is this executable started again. Its environment holds
 * MP__CHILD_ENV, which names the channel carrying the start data. The
 * guard checks that the channel and the data really come from its parent,
 * finds the target by (module, offset), becomes the process the parent
 * created and never returns.
 *
 * Nothing in the environment or on the channel is trusted before it is
 * checked: anyone can start a program with MP__CHILD_ENV set, a
 * set-user-ID one included. A process that fails a check is "not a child
 * of ours": it says why on one line and exits with MP_EXITCODE_NOT_CHILD,
 * before main() runs and without waiting for anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

/* Bounds a header length read from the channel, so that a forged prefix
 * cannot make the child allocate much. A real header is under 2 KiB plus
 * 24 bytes per inherited handle. */
#define MP__START_HEADER_MAX (16u << 20)

static char
    shown_value[40]; /* MP__CHILD_ENV's value, printable, for the diagnostic */

void mp__not_our_child(const char *why) {
  fprintf(stderr,
          "mproc: not started as a child of this program (" MP__CHILD_ENV
          "=%s): %s; exiting with code %d\n",
          shown_value, why, MP_EXITCODE_NOT_CHILD);
  fflush(stderr);
  mp__exit_now(MP_EXITCODE_NOT_CHILD);
}

/* The value as it may be shown: whoever set it may have put anything in. */
static void keep_shown(const char *value, int too_long) {
  size_t n = 0;
  for (; value[n] && n < sizeof shown_value - 4; n++)
    shown_value[n] = value[n] >= 0x20 && value[n] < 0x7f ? value[n] : '?';
  if (too_long || value[n])
    memcpy(shown_value + n, "...", 3), n += 3;
  shown_value[n] = '\0';
}

/* Reads the block; on any failure the process is not a child of ours
 * (a parent of ours writes a whole, well-formed block at once), except
 * for memory, which is a boot failure. */
static void read_start_data(int64_t chan, mp__start_data *d, void **arg) {
  unsigned char prefix[MP__START_PREFIX_LEN];
  if (mp__os_channel_read(chan, prefix, sizeof prefix) < 0)
    mp__not_our_child("the start data ended early");
  uint64_t header_len;
  memcpy(&header_len, prefix + 8, sizeof header_len);
  if (header_len > MP__START_HEADER_MAX)
    mp__not_our_child("the start data is malformed (header length)");
  unsigned char *block = malloc(sizeof prefix + (size_t)header_len);
  if (!block)
    mp__exit_now(MP__EXIT_BOOT_FAILED);
  memcpy(block, prefix, sizeof prefix);
  int rc = mp__os_channel_read(chan, block + sizeof prefix, (size_t)header_len);
  if (rc == 0)
    rc = mp__start_data_unpack(block, sizeof prefix + (size_t)header_len, d);
  free(block);
  if (rc == MP_ENOMEM)
    mp__exit_now(MP__EXIT_BOOT_FAILED);
  if (rc < 0)
    mp__not_our_child("the start data is malformed");
  *arg = NULL;
  if (d->arg_size > 0) {
    if (d->arg_size > (uint64_t)PTRDIFF_MAX ||
        !(*arg = malloc((size_t)d->arg_size)))
      mp__exit_now(MP__EXIT_BOOT_FAILED);
    if (mp__os_channel_read(chan, *arg, (size_t)d->arg_size) < 0)
      mp__not_our_child("the start data ended early");
  }
}

/* The block describes a child of the process that is our parent, run from
 * the same executable. */
static void check_start_data(const mp__start_data *d, mp_pid parent) {
  if (d->parent_pid != parent)
    mp__not_our_child("the start data names another parent process");
  mp__file_id exe;
  if (mp__os_exe_identity(&exe) < 0 || exe.dev != d->exe.dev ||
      exe.ino != d->exe.ino)
    mp__not_our_child("this executable is not the parent's (was it replaced "
                      "on disk?)");
}

/* 1 and the start data plus arg block if this is a spawned child; 0 if
 * not. Never returns for a process that is not a child of ours. */
static int receive(mp__start_data *d, void **arg) {
  char value[32];
  int rc = mp__getenv(MP__CHILD_ENV, value, sizeof value);
  if (rc < 0)
    return 0;
  keep_shown(rc > 0 ? "" : value, rc > 0); /* too long: not copied */
  /* Our own children must not see it: if we spawn them, we set it afresh. */
  mp__unsetenv(MP__CHILD_ENV);
  /* A set-user-ID program must not let its caller decide what it runs. */
  if (mp__os_secure_exec())
    mp__not_our_child("this is a set-user-ID or set-group-ID "
                      "(secure-execution) process");
  if (rc > 0)
    mp__not_our_child("the value is not a channel number");
  int64_t chan;
  mp_pid parent = 0;
  const char *why = mp__os_channel_open(value, &chan, &parent);
  if (why)
    mp__not_our_child(why);
  read_start_data(chan, d, arg);
  mp__os_channel_close(chan);
  check_start_data(d, parent);
  return 1;
}

void mp_main_guard(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (mp__self.guard_ran)
    return;
  mp__self.guard_ran = 1;

  mp__start_data d;
  void *arg = NULL;
  if (receive(&d, &arg) == 0) {
    /* The program a user launched. Its executable's identity is taken
     * now, before anyone can rename or replace the file, for the spawned
     * children to check theirs against. */
    mp__file_id exe;
    mp__os_exe_identity(&exe);
    return;
  }

  const char *why = NULL;
  mp_target target = (mp_target)(uintptr_t)mp__module_resolve(&d.target, &why);
  if (!target)
    mp__not_our_child(why ? why : "the target is not in this program");
  if (mp__inherit_adopt(d.inherit, d.n_inherit) < 0)
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
  if (mp__self.guard_ran ||
      mp__getenv(MP__CHILD_ENV, channel, sizeof channel) < 0)
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
