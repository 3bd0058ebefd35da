/* The spawned child's side on Windows: read the start data from the pipe
 * handle the parent named in MP__CHILD_ENV. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int read_all(HANDLE h, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    DWORD chunk = len > (1u << 20) ? (1u << 20) : (DWORD)len, got = 0;
    if (!ReadFile(h, p, chunk, &got, NULL) || got == 0)
      return MP_EINVAL; /* the parent died mid-way: no usable data */
    p += got;
    len -= got;
  }
  return 0;
}

static int receive(HANDLE h, mp__start_data *d, void **arg) {
  unsigned char prefix[MP__START_PREFIX_LEN];
  int rc = read_all(h, prefix, sizeof prefix);
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
  rc = read_all(h, block + sizeof prefix, (size_t)header_len);
  if (rc == 0)
    rc = mp__start_data_unpack(block, sizeof prefix + (size_t)header_len, d);
  free(block);
  if (rc < 0)
    return rc;
  *arg = NULL;
  if (d->arg_size > 0) {
    if (d->arg_size > (uint64_t)PTRDIFF_MAX || !(*arg = malloc((size_t)d->arg_size)))
      return MP_ENOMEM;
    rc = read_all(h, *arg, (size_t)d->arg_size);
  }
  return rc;
}

int mp__os_child_receive(mp__start_data *d, void **arg) {
  char value[32];
  if (mp__getenv(MP__CHILD_ENV, value, sizeof value) != 0)
    return 0;
  mp__unsetenv(MP__CHILD_ENV);
  char *end;
  unsigned long long v = strtoull(value, &end, 10);
  if (*end != '\0' || v == 0)
    return MP_EINVAL;
  HANDLE h = (HANDLE)(uintptr_t)v;
  /* Nothing we start later may inherit it. */
  SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
  int rc = receive(h, d, arg);
  CloseHandle(h);
  return rc < 0 ? rc : 1;
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
