/* A library a test loads at run time (dlopen / LoadLibrary) and whose
 * function a spawned child must run: tests/test_spawn.c. */
#ifdef _WIN32
#define MOD_EXPORT __declspec(dllexport)
#else
#define MOD_EXPORT __attribute__((visibility("default")))
#endif

MOD_EXPORT int mod_target(void *arg);

MOD_EXPORT int mod_target(void *arg) {
  (void)arg;
  return 42;
}
