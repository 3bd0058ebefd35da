#include <stdlib.h>
#include <string.h>
#include "shared.h"

#include <bcrypt.h>

#include <tlhelp32.h> /* needs <windows.h> from internal.h first */

/* GetTickCount64 moves in 10-16 ms steps, which would end a deadline loop
 * up to a step early; the performance counter is monotonic and exact. */
uint64_t mp__now_ms(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)now.QuadPart;
  return c / f * 1000u + c % f * 1000u / f;
}

void mp__sleep_ms(unsigned ms) { Sleep(ms); }

void mp__mutex_lock(mp__mutex *m) { AcquireSRWLockExclusive(m); }
void mp__mutex_unlock(mp__mutex *m) { ReleaseSRWLockExclusive(m); }
void mp__mutex_reinit(mp__mutex *m) { InitializeSRWLock(m); }

/* No fork on Windows: nothing to mend in a child. */
void mp__os_after_fork_child(void) {}

int mp__os_handle_dup(int64_t h, int64_t *out) {
  HANDLE dup;
  if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)(intptr_t)h,
                       GetCurrentProcess(), &dup, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return mp__os_error((int)GetLastError());
  *out = (int64_t)(intptr_t)dup;
  return 0;
}

void mp__os_handle_close(int64_t h) { CloseHandle((HANDLE)(intptr_t)h); }

/* The system's preferred generator (the one CryptGenRandom and rand_s
 * draw on); no handle to open or keep. */
int mp__os_random(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ULONG n = len > 0x10000000u ? 0x10000000u : (ULONG)len;
    NTSTATUS st = BCryptGenRandom(NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    if (st < 0)
      return mp__os_error((int)st);
    p += n;
    len -= n;
  }
  return 0;
}

mp_pid mp__os_current_pid(void) { return (mp_pid)GetCurrentProcessId(); }

/* Windows keeps no parent link a process can ask for directly; the
 * snapshot records the pid of the creator, as os.getppid() reports. */
mp_pid mp__os_parent_pid(void) {
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return 0;
  PROCESSENTRY32W e;
  e.dwSize = sizeof e;
  DWORD self = GetCurrentProcessId();
  mp_pid parent = 0;
  for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e))
    if (e.th32ProcessID == self) {
      parent = (mp_pid)e.th32ParentProcessID;
      break;
    }
  CloseHandle(snap);
  return parent;
}

int mp__os_cpu_count(void) {
  DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? (int)n : 1;
}

int mp__os_last_error(void) { return (int)GetLastError(); }

void mp__exit_now(int code) { ExitProcess((UINT)code); }

void mp__os_die_now(void) {
  TerminateProcess(GetCurrentProcess(), MP__WIN_KILL_CODE);
  ExitProcess(MP__WIN_KILL_CODE); /* not reached */
}

/* The live process environment, not the C runtime's copy taken at start. */
int mp__getenv(const char *name, char *buf, size_t cap) {
  DWORD n = GetEnvironmentVariableA(name, buf, (DWORD)cap);
  return n > 0 && n < cap ? 0 : -1;
}

/* Both copies: the C runtime's feeds _spawn and system(). */
void mp__unsetenv(const char *name) {
  char entry[128];
  if (strlen(name) + 2 <= sizeof entry) {
    strcpy(entry, name);
    strcat(entry, "=");
    _putenv(entry);
  }
  SetEnvironmentVariableA(name, NULL);
}
