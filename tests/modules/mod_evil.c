/* What an attacker puts at the path of a library the parent loaded: the
 * same function name, another result, and a constructor that leaves a
 * mark (the file MPROC_TEST_EVIL_MARKER names) in any process that loads
 * it. tests/test_spawn.c checks that no spawned child ever does. */
#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#define MOD_EXPORT __declspec(dllexport)
#else
#define MOD_EXPORT __attribute__((visibility("default")))
#endif

__attribute__((constructor)) static void leave_mark(void) {
  const char *path = getenv("MPROC_TEST_EVIL_MARKER");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (f) {
    fputs("mod_evil was loaded\n", f);
    fclose(f);
  }
}

MOD_EXPORT int mod_target(void *arg);

MOD_EXPORT int mod_target(void *arg) {
  (void)arg;
  return 66;
}
