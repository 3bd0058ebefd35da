/* The spawned child's side on Windows: the start data channel is a pipe
 * handle whose value the parent put in MP__CHILD_ENV. */
#include "internal.h"

int mp__os_channel_prepare(int64_t channel) {
  if (channel <= 0)
    return MP_EINVAL;
  /* Nothing we start later may inherit it. */
  if (!SetHandleInformation((HANDLE)(intptr_t)channel, HANDLE_FLAG_INHERIT, 0))
    return mp__os_error((int)GetLastError());
  return 0;
}

int mp__os_channel_read(int64_t channel, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    DWORD chunk = len > (1u << 20) ? (1u << 20) : (DWORD)len, got = 0;
    if (!ReadFile((HANDLE)(intptr_t)channel, p, chunk, &got, NULL) || got == 0)
      return MP_EINVAL; /* the parent died mid-way: no usable data */
    p += got;
    len -= got;
  }
  return 0;
}

void mp__os_channel_close(int64_t channel) {
  CloseHandle((HANDLE)(intptr_t)channel);
}

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
