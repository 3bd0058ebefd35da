/* The start data channel on Windows: a named pipe the parent makes for
 * one spawn. Its name is random (mp__os_random), it is the first and only
 * instance, admits only the current user and no remote client, and the
 * parent opens its client end itself before the child exists, so no other
 * process can have connected to it. The child inherits that client end
 * and finds its value in MP__CHILD_ENV.
 *
 * The child checks the handle before reading from it: a pipe, the client
 * end, whose server is its parent process. A handle value can name
 * anything in the child (a console, a file, an event), and a pipe from
 * elsewhere could carry a forged block. */
#include <wchar.h>

#include "internal.h"

int mp__win_channel_create(HANDLE *server, HANDLE *client) {
  unsigned char rnd[16];
  int rc = mp__os_random(rnd, sizeof rnd);
  if (rc < 0)
    return rc;
  wchar_t name[64];
  int at = swprintf(name, 64, L"\\\\.\\pipe\\mproc-start-");
  for (size_t i = 0; i < sizeof rnd; i++)
    at += swprintf(name + at, 64 - (size_t)at, L"%02x", rnd[i]);
  SECURITY_ATTRIBUTES *owner_only;
  if ((rc = mp__win_owner_only(&owner_only)) < 0)
    return rc;
  HANDLE s = CreateNamedPipeW(
      name, PIPE_ACCESS_OUTBOUND | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
          PIPE_REJECT_REMOTE_CLIENTS,
      1, 1 << 16, 1 << 16, 0, owner_only);
  if (s == INVALID_HANDLE_VALUE)
    return mp__os_error((int)GetLastError());
  /* Inheritable, but only a CreateProcess that lists it (process.c) can
   * give it away. With one instance, a client that connected before us
   * would make this fail: nobody but us holds the other end. */
  SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
  HANDLE c =
      CreateFileW(name, GENERIC_READ, 0, &inherit, OPEN_EXISTING, 0, NULL);
  if (c == INVALID_HANDLE_VALUE) {
    rc = mp__os_error((int)GetLastError());
    CloseHandle(s);
    return rc;
  }
  if (!ConnectNamedPipe(s, NULL) && GetLastError() != ERROR_PIPE_CONNECTED) {
    rc = mp__os_error((int)GetLastError());
    CloseHandle(c);
    CloseHandle(s);
    return rc;
  }
  *server = s;
  *client = c;
  return 0;
}

int mp__win_channel_write(HANDLE server, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    DWORD chunk = len > (1u << 20) ? (1u << 20) : (DWORD)len, done = 0;
    if (!WriteFile(server, p, chunk, &done, NULL))
      return mp__os_error((int)GetLastError());
    p += done;
    len -= done;
  }
  return 0;
}

/* Strictly a decimal number, not 0, that fits a handle. */
static int parse_handle(const char *value, HANDLE *h) {
  unsigned long long v = 0;
  if (!*value)
    return -1;
  for (const char *c = value; *c; c++) {
    if (*c < '0' || *c > '9' || v > (UINTPTR_MAX - 9) / 10)
      return -1;
    v = v * 10 + (unsigned)(*c - '0');
  }
  if (v == 0)
    return -1;
  *h = (HANDLE)(uintptr_t)v;
  return 0;
}

/* Each check asks about the handle without reading from it, so nothing
 * here can wait. (Wine 8 answers all three as Windows does.) */
const char *mp__os_channel_open(const char *value, int64_t *channel,
                                mp_pid *parent_out) {
  HANDLE h;
  if (parse_handle(value, &h) < 0)
    return "the value is not a handle number";
  if (GetFileType(h) != FILE_TYPE_PIPE)
    return "the handle is not a pipe";
  DWORD flags = 0;
  if (!GetNamedPipeInfo(h, &flags, NULL, NULL, NULL))
    return "the handle is not a named pipe";
  if (flags & PIPE_SERVER_END)
    return "the handle is the server end of a pipe";
  ULONG server = 0;
  mp_pid parent = mp__os_parent_pid();
  if (!GetNamedPipeServerProcessId(h, &server) || parent == 0 ||
      (mp_pid)server != parent)
    return "the pipe does not come from the parent process";
  /* Nothing we start later may inherit it. */
  if (!SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0))
    return "the handle cannot be made private";
  *channel = (int64_t)(intptr_t)h;
  *parent_out = parent;
  return NULL;
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
