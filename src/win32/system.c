#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shared.h"

#include <bcrypt.h>

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

/* The pid of the process that created us, which the kernel records
 * (os.getppid() reports the same); it stays when that process exits. */
mp_pid mp__os_parent_pid(void) {
  typedef LONG(NTAPI * query_fn)(HANDLE, int, void *, ULONG, ULONG *);
  struct {
    LONG_PTR exit_status;
    void *peb;
    ULONG_PTR affinity;
    LONG_PTR priority;
    ULONG_PTR pid;
    ULONG_PTR parent_pid;
  } info;
  query_fn query = (query_fn)(void (*)(void))GetProcAddress(
      GetModuleHandleW(L"ntdll.dll"), "NtQueryInformationProcess");
  ULONG len = 0;
  /* 0: ProcessBasicInformation. */
  if (!query || query(GetCurrentProcess(), 0, &info, sizeof info, &len) < 0)
    return 0;
  return (mp_pid)info.parent_pid;
}

int mp__os_cpu_count(void) {
  DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? (int)n : 1;
}

int mp__os_last_error(void) { return (int)GetLastError(); }

void mp__exit_now(int code) { ExitProcess((UINT)code); }

/* No set-user-ID programs: a process runs with its creator's token or one
 * its creator had the right to use. */
int mp__os_secure_exec(void) { return 0; }

/* The C runtime has no ftrylockfile: a start waits for another thread's
 * write to stdout or stderr in progress (documented in mproc.h). */
void mp__os_flush_std(void) {
  fflush(stdout);
  fflush(stderr);
}

void mp__os_die_now(void) {
  TerminateProcess(GetCurrentProcess(), MP__WIN_KILL_CODE);
  ExitProcess(MP__WIN_KILL_CODE); /* not reached */
}

/* The live process environment, not the C runtime's copy taken at start. */
int mp__getenv(const char *name, char *buf, size_t cap) {
  SetLastError(0);
  DWORD n = GetEnvironmentVariableA(name, buf, (DWORD)cap);
  if (n == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND)
    return -1;
  if (n >= cap)
    return 1;
  buf[n] = '\0';
  return 0;
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
