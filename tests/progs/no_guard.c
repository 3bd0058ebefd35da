/* A program that FORGETS mp_main_guard and starts a process under spawn.
 *
 * The library must not fork-bomb: the re-run child (which runs this main
 * again, unguarded) must refuse to start a process, write one message to
 * stderr naming mp_main_guard, and exit non-zero (1).
 *
 * Prints one line to stdout, "NO_GUARD_RESULT start=S join=J code=C",
 * from the launched program only. A safety net bounds the damage if the
 * library gets it wrong: each re-run increments NO_GUARD_DEPTH in the
 * environment, and a run at depth >= 2 (a grandchild: the library let an
 * unguarded child start a process) prints NO_GUARD_BOMB to stderr and
 * exits 99 at once. */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#ifdef _WIN32
#include <windows.h>
#endif

static int target(void *arg) {
  (void)arg;
  /* Must never run: the child is refused before it gets here. */
  printf("NO_GUARD_TARGET_RAN\n");
  fflush(stdout);
  return 0;
}

static void set_depth(int depth) {
  char value[16];
  snprintf(value, sizeof value, "%d", depth);
#ifdef _WIN32
  char buf[64];
  snprintf(buf, sizeof buf, "NO_GUARD_DEPTH=%s", value);
  _putenv(buf);
  SetEnvironmentVariableA("NO_GUARD_DEPTH", value);
#else
  setenv("NO_GUARD_DEPTH", value, 1);
#endif
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* No mp_main_guard here, on purpose. */
  const char *d = getenv("NO_GUARD_DEPTH");
  int depth = d ? atoi(d) : 0;
  if (depth >= 2) {
    fprintf(stderr, "NO_GUARD_BOMB depth=%d\n", depth);
    return 99;
  }
  set_depth(depth + 1);

  int rc = mp_set_start_method(MP_START_SPAWN);
  if (rc != 0) {
    printf("NO_GUARD_RESULT set_start_method=%d\n", rc);
    return 2;
  }
  mp_process *p = NULL;
  int start = -100, join = -100, code = -100;
  rc = mp_process_create(&p, target, NULL, 0, NULL);
  if (rc == 0) {
    start = mp_process_start(p);
    if (start == 0) {
      join = mp_process_join(p, 60000);
      if (join == 0) {
        mp_process_exitcode(p, &code);
      } else {
        mp_process_kill(p);
        mp_process_join(p, MP_INFINITE);
      }
    }
    mp_process_free(p);
  }
  printf("NO_GUARD_RESULT create=%d start=%d join=%d code=%d\n", rc, start,
         join, code);
  return 0;
}
