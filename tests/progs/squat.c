/* A process outside any mproc family that takes a kernel object's name
 * first (Windows): squat KIND NAME READY_FILE STOP_FILE creates a mutex
 * (KIND "m") or a semaphore ("w") named NAME, the way a hostile program
 * of the same user would, writes READY_FILE, and holds the object until
 * STOP_FILE exists (at most a minute). Exits 0, 1 if it could not create
 * the object, 2 on bad arguments or on POSIX, which has no named objects. */
#ifdef _WIN32
#include <windows.h>
#endif

#include "test_support.h"

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  if (argc != 5)
    return 2;
#ifdef _WIN32
  wchar_t name[256];
  if (!MultiByteToWideChar(CP_UTF8, 0, argv[2], -1, name, 256))
    return 2;
  HANDLE h = argv[1][0] == 'm' ? CreateMutexW(NULL, TRUE, name)
                               : CreateSemaphoreW(NULL, 0, 1, name);
  if (!h)
    return 1;
  if (tst_write_text(argv[3], "ready\n") != 0)
    return 1;
  tst_wait_file(argv[4], 60000);
  CloseHandle(h);
  return 0;
#else
  (void)argv;
  return 2;
#endif
}
