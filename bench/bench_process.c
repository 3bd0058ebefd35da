/* Process start + join, one process at a time, with fork and with spawn:
 * milliseconds per process (create, start, join, free; the target returns
 * 0 at once), next to the raw OS doing the least it can for the same
 * result: fork + _exit(0) + waitpid, and posix_spawn of this same
 * executable (which returns 0 from main at once) + waitpid.
 *
 * The four contestants take turns, in rounds, so that they share the
 * machine's load; each keeps its best round. One untimed warm-up process
 * each first.
 *
 * Output: op=process impl=mproc fork_ms=.. spawn_ms=.. raw_fork_ms=..
 *         raw_spawn_ms=.. */
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define ROUNDS 5
#define RAW_CHILD_ARG "--raw-child"

static int noop(void *arg) {
  (void)arg;
  return 0;
}

static void check_code(int code) {
  if (code != 0) {
    fprintf(stderr, "bench_process: child exited with %d\n", code);
    exit(2);
  }
}

static void one_mproc(mp_start_method method) {
  mp_process_options o = {NULL, 0, method};
  mp_process *p;
  int code = -1;
  BENCH_CHECK(mp_process_create(&p, noop, NULL, 0, &o));
  BENCH_CHECK(mp_process_start(p));
  BENCH_CHECK(mp_process_join(p, MP_INFINITE));
  BENCH_CHECK(mp_process_exitcode(p, &code));
  check_code(code);
  BENCH_CHECK(mp_process_free(p));
}

static void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
  }
  check_code(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
}

/* Bound when the program starts, as the library binds what its forked
 * children call (src/posix/child.c): through the PLT every raw child would
 * pay the dynamic linker's lookup of _exit, which mproc's do not. */
static void (*volatile const exit_fn)(int) = _exit;

static void one_raw_fork(void) {
  pid_t pid = fork();
  if (pid == 0)
    exit_fn(0);
  BENCH_CHECK_OS(pid);
  reap(pid);
}

static void one_raw_spawn(void) {
  static char self[] = "/proc/self/exe", arg[] = RAW_CHILD_ARG;
  char *argv[] = {self, arg, NULL};
  pid_t pid;
  BENCH_CHECK0(posix_spawn(&pid, self, NULL, NULL, argv, environ));
  reap(pid);
}

enum { MPROC_FORK, MPROC_SPAWN, RAW_FORK, RAW_SPAWN, N_KINDS };

static void one(int kind) {
  switch (kind) {
  case MPROC_FORK:
    one_mproc(MP_START_FORK);
    break;
  case MPROC_SPAWN:
    one_mproc(MP_START_SPAWN);
    break;
  case RAW_FORK:
    one_raw_fork();
    break;
  default:
    one_raw_spawn();
  }
}

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc == 2 && strcmp(argv[1], RAW_CHILD_ARG) == 0)
    return 0;
  double s = bench_target_seconds(1.5) / (2.0 * ROUNDS);
  double best[N_KINDS];
  for (int k = 0; k < N_KINDS; k++) {
    one(k);
    best[k] = 1e300;
  }
  for (int r = 0; r < ROUNDS; r++)
    for (int k = 0; k < N_KINDS; k++) {
      double ms = bench_ms_per(one, k, s, 5);
      if (ms < best[k])
        best[k] = ms;
    }
  printf("op=process impl=mproc fork_ms=%.3f spawn_ms=%.3f raw_fork_ms=%.3f "
         "raw_spawn_ms=%.3f\n",
         best[MPROC_FORK], best[MPROC_SPAWN], best[RAW_FORK], best[RAW_SPAWN]);
  return 0;
}
