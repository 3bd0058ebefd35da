/* A child's own side on Windows: the spawned child's setup and its end. */
#include "internal.h"

/* An unhandled exception ends the child with the exception code as exit
 * code, which the parent maps to a signal number (access violation: -11).
 * Without this, Windows error reporting or Wine's debugger may step in
 * and the parent waits on a dialog or reads a different code. */
static LONG WINAPI exit_on_crash(EXCEPTION_POINTERS *info) {
  TerminateProcess(GetCurrentProcess(), info->ExceptionRecord->ExceptionCode);
  return EXCEPTION_CONTINUE_SEARCH;
}

void mp__os_child_setup(const mp__start_data *d) {
  (void)d; /* daemons: the job object kills us with the parent */
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
  SetUnhandledExceptionFilter(exit_on_crash);
}

/* A spawned child is a fresh run of the executable: the atexit handlers it
 * has are its own, and the exit code of a process is never lost here. */
void mp__os_child_exit_hook(void) {}
void mp__os_child_report(int code) { (void)code; }
