/* Shared helpers for the mproc tests: see test_support.h. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif

#ifdef _WIN32
/* windows.h first: the others need its types. */
#include <windows.h>

#include <io.h>
#include <process.h>
#include <tlhelp32.h>
#else
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
extern char **environ;
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

/* ---- time ------------------------------------------------------------ */

int64_t tst_now_ms(void) {
#ifdef _WIN32
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (int64_t)(now.QuadPart * 1000 / freq.QuadPart);
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

void tst_sleep_ms(int ms) {
  if (ms <= 0)
    return;
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
#endif
}

/* ---- files ----------------------------------------------------------- */

int tst_make_tmpdir(char *out, size_t cap) {
#ifdef _WIN32
  static LONG counter;
  char base[MAX_PATH];
  DWORD n = GetTempPathA(sizeof base, base);
  if (n == 0 || n >= sizeof base)
    return -1;
  for (int attempt = 0; attempt < 100; attempt++) {
    LONG c = InterlockedIncrement(&counter);
    snprintf(out, cap, "%smproc-test-%lu-%lu-%ld", base,
             (unsigned long)GetCurrentProcessId(),
             (unsigned long)GetTickCount(), (long)c);
    if (CreateDirectoryA(out, NULL))
      return 0;
    if (GetLastError() != ERROR_ALREADY_EXISTS)
      return -1;
  }
  return -1;
#else
  const char *base = getenv("TMPDIR");
  if (base == NULL || base[0] == '\0')
    base = "/tmp";
  if ((size_t)snprintf(out, cap, "%s/mproc-test-XXXXXX", base) >= cap)
    return -1;
  return mkdtemp(out) != NULL ? 0 : -1;
#endif
}

void tst_remove_tmpdir(const char *dir) {
  char path[TST_PATH_MAX];
  if (dir == NULL || dir[0] == '\0')
    return;
#ifdef _WIN32
  WIN32_FIND_DATAA fd;
  char pattern[TST_PATH_MAX];
  snprintf(pattern, sizeof pattern, "%s\\*", dir);
  HANDLE h = FindFirstFileA(pattern, &fd);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
        continue;
      tst_path(path, sizeof path, dir, fd.cFileName);
      DeleteFileA(path);
    } while (FindNextFileA(h, &fd));
    FindClose(h);
  }
  RemoveDirectoryA(dir);
#else
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      tst_path(path, sizeof path, dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
#endif
}

void tst_path(char *out, size_t cap, const char *dir, const char *name) {
  snprintf(out, cap, "%s%s%s", dir, TST_SEP, name);
}

int tst_write_file(const char *path, const void *data, size_t len) {
  char tmp[TST_PATH_MAX + 32];
  static unsigned serial;
  snprintf(tmp, sizeof tmp, "%s.%lld.%u.tmp", path, (long long)tst_os_pid(),
           serial++);
  FILE *f = fopen(tmp, "wb");
  if (f == NULL)
    return -1;
  size_t w = len ? fwrite(data, 1, len, f) : 0;
  if (fclose(f) != 0 || w != len) {
    remove(tmp);
    return -1;
  }
#ifdef _WIN32
  /* A reader holding the old file open can make the replace fail for a
   * moment. */
  int moved = 0;
  for (int attempt = 0; attempt < 200 && !moved; attempt++) {
    moved = MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING) != 0;
    if (!moved)
      Sleep(10);
  }
  if (!moved) {
    DeleteFileA(tmp);
    return -1;
  }
#else
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
#endif
  return 0;
}

int tst_write_text(const char *path, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof buf)
    return -1;
  return tst_write_file(path, buf, (size_t)n);
}

long tst_read_file(const char *path, char *buf, size_t cap) {
#ifdef _WIN32
  /* Share everything, delete included: a writer's rename into place
   * (tst_write_file) holds DELETE access on the new file for a moment,
   * and an fopen() then would fail with a sharing violation. Retry for a
   * while on that all the same. */
  HANDLE h = INVALID_HANDLE_VALUE;
  for (int attempt = 0; attempt < 200; attempt++) {
    h = CreateFileA(path, GENERIC_READ,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h != INVALID_HANDLE_VALUE ||
        GetLastError() != ERROR_SHARING_VIOLATION)
      break;
    Sleep(10);
  }
  if (h == INVALID_HANDLE_VALUE)
    return -1;
  size_t n = 0;
  while (n < cap - 1) {
    DWORD got = 0;
    if (!ReadFile(h, buf + n, (DWORD)(cap - 1 - n), &got, NULL) || got == 0)
      break;
    n += got;
  }
  CloseHandle(h);
  buf[n] = '\0';
  return (long)n;
#else
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return (long)n;
#endif
}

int tst_file_exists(const char *path) {
#ifdef _WIN32
  return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
#else
  struct stat st;
  return stat(path, &st) == 0;
#endif
}

int tst_copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
  char buf[65536];
  size_t n;
  int rc = in && out ? 0 : -1;
  while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, out) != n)
      rc = -1;
  if (in)
    fclose(in);
  if (out && fclose(out) != 0)
    rc = -1;
#ifndef _WIN32
  if (rc == 0)
    rc = chmod(to, 0755);
#endif
  return rc;
}

int tst_wait_file(const char *path, int timeout_ms) {
  int64_t deadline = tst_now_ms() + timeout_ms;
  for (;;) {
    if (tst_file_exists(path))
      return 1;
    if (tst_now_ms() >= deadline)
      return 0;
    tst_sleep_ms(10);
  }
}

int tst_write_i64(const char *path, int64_t v) {
  return tst_write_text(path, "%lld\n", (long long)v);
}

int tst_read_i64(const char *path, int64_t *v) {
  char buf[64];
  char *end;
  if (tst_read_file(path, buf, sizeof buf) <= 0)
    return -1;
  long long x = strtoll(buf, &end, 10);
  if (end == buf)
    return -1;
  *v = (int64_t)x;
  return 0;
}

int tst_count(const char *hay, const char *needle) {
  int n = 0;
  size_t len = strlen(needle);
  if (len == 0)
    return 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
    n++;
  return n;
}

void tst_strip_cr(char *s) {
  char *w = s;
  for (const char *r = s; *r; r++)
    if (*r != '\r')
      *w++ = *r;
  *w = '\0';
}

long tst_find(const char *hay, const char *needle) {
  const char *p = strstr(hay, needle);
  return p ? (long)(p - hay) : -1;
}

/* ---- processes as the OS sees them ---------------------------------- */

mp_pid tst_os_pid(void) {
#ifdef _WIN32
  return (mp_pid)GetCurrentProcessId();
#else
  return (mp_pid)getpid();
#endif
}

mp_pid tst_os_ppid(void) {
#ifdef _WIN32
  DWORD self = GetCurrentProcessId();
  mp_pid found = -1;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return -1;
  PROCESSENTRY32 pe;
  pe.dwSize = sizeof pe;
  if (Process32First(snap, &pe)) {
    do {
      if (pe.th32ProcessID == self) {
        found = (mp_pid)pe.th32ParentProcessID;
        break;
      }
    } while (Process32Next(snap, &pe));
  }
  CloseHandle(snap);
  return found;
#else
  return (mp_pid)getppid();
#endif
}

struct tst_watch {
  mp_pid pid;
#ifdef _WIN32
  HANDLE h;
#endif
};

tst_watch *tst_watch_pid(mp_pid pid) {
  tst_watch *w = calloc(1, sizeof *w);
  if (w == NULL)
    return NULL;
  w->pid = pid;
#ifdef _WIN32
  w->h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                     (DWORD)pid);
  if (w->h == NULL) {
    free(w);
    return NULL;
  }
#else
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
    free(w);
    return NULL;
  }
#endif
  return w;
}

#ifndef _WIN32
/* 1 if the pid no longer names a live process. */
static int posix_pid_gone(mp_pid pid) {
#ifdef __linux__
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  long n = tst_read_file(path, buf, sizeof buf);
  if (n <= 0)
    return 1;
  const char *rp = strrchr(buf, ')');
  if (rp == NULL || rp[1] == '\0' || rp[2] == '\0')
    return 0;
  char state = rp[2];
  /* A zombie has ended; it is not reaped here (it may be the library's
   * child, whose status must stay for the library). */
  return state == 'Z' || state == 'X';
#else
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
#endif
}
#endif

int tst_watch_gone(tst_watch *w, int timeout_ms) {
#ifdef _WIN32
  return WaitForSingleObject(w->h, (DWORD)timeout_ms) == WAIT_OBJECT_0;
#else
  int64_t deadline = tst_now_ms() + timeout_ms;
  for (;;) {
    if (posix_pid_gone(w->pid))
      return 1;
    if (tst_now_ms() >= deadline)
      return 0;
    tst_sleep_ms(10);
  }
#endif
}

void tst_watch_free(tst_watch *w) {
  if (w == NULL)
    return;
#ifdef _WIN32
  CloseHandle(w->h);
#endif
  free(w);
}

void tst_kill_pid(mp_pid pid) {
  if (pid <= 0)
    return;
#ifdef _WIN32
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
  if (h != NULL) {
    TerminateProcess(h, 137);
    CloseHandle(h);
  }
#else
  kill((pid_t)pid, SIGKILL);
#endif
}

void tst_reap(mp_pid pid) {
#ifndef _WIN32
  if (pid > 0)
    waitpid((pid_t)pid, NULL, WNOHANG);
#else
  (void)pid;
#endif
}

int tst_become_subreaper(void) {
#ifdef __linux__
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -1;
#else
  return -1;
#endif
}

/* ---- helper programs ------------------------------------------------- */

int tst_exe_dir(char *out, size_t cap) {
#ifdef _WIN32
  DWORD n = GetModuleFileNameA(NULL, out, (DWORD)cap);
  if (n == 0 || n >= cap)
    return -1;
  char *slash = strrchr(out, '\\');
  char *slash2 = strrchr(out, '/');
  if (slash2 > slash)
    slash = slash2;
  if (slash == NULL)
    return -1;
  *slash = '\0';
  return 0;
#elif defined(__linux__)
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0 || (size_t)n >= cap - 1)
    return -1;
  out[n] = '\0';
  char *slash = strrchr(out, '/');
  if (slash == NULL)
    return -1;
  *slash = '\0';
  return 0;
#else
  (void)out;
  (void)cap;
  return -1;
#endif
}

int tst_prog_path(char *out, size_t cap, const char *name) {
  char dir[TST_PATH_MAX];
  if (tst_exe_dir(dir, sizeof dir) != 0)
    return -1;
  int n = snprintf(out, cap, "%s%s%s%s", dir, TST_SEP, name, TST_EXE_SUFFIX);
  return (n > 0 && (size_t)n < cap) ? 0 : -1;
}

#ifdef _WIN32
/* Appends one argument quoted the way CommandLineToArgvW parses it. */
static void win_quote_arg(char *cmd, size_t cap, const char *arg) {
  size_t len = strlen(cmd);
  if (len + 1 < cap && len > 0)
    cmd[len++] = ' ';
  if (len + 1 < cap)
    cmd[len++] = '"';
  size_t backslashes = 0;
  for (const char *p = arg; *p; p++) {
    if (*p == '\\') {
      backslashes++;
      if (len + 1 < cap)
        cmd[len++] = '\\';
      continue;
    }
    if (*p == '"') {
      for (size_t i = 0; i < backslashes + 1 && len + 1 < cap; i++)
        cmd[len++] = '\\';
    }
    backslashes = 0;
    if (len + 1 < cap)
      cmd[len++] = *p;
  }
  for (size_t i = 0; i < backslashes && len + 1 < cap; i++)
    cmd[len++] = '\\';
  if (len + 1 < cap)
    cmd[len++] = '"';
  cmd[len] = '\0';
}

static HANDLE win_open_out(const char *path) {
  SECURITY_ATTRIBUTES sa;
  sa.nLength = sizeof sa;
  sa.lpSecurityDescriptor = NULL;
  sa.bInheritHandle = TRUE;
  return CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     &sa, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
}
#endif

int tst_run(const char *exe, const char *const *args, const char *out_path,
            const char *err_path, int timeout_ms, int *exit_code) {
  fflush(NULL);
#ifdef _WIN32
  char cmd[8192];
  cmd[0] = '\0';
  win_quote_arg(cmd, sizeof cmd, exe);
  for (size_t i = 0; args && args[i]; i++)
    win_quote_arg(cmd, sizeof cmd, args[i]);

  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  HANDLE hout = NULL, herr = NULL, hin = NULL;
  SECURITY_ATTRIBUTES sa;
  sa.nLength = sizeof sa;
  sa.lpSecurityDescriptor = NULL;
  sa.bInheritHandle = TRUE;
  hin = CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                    &sa, OPEN_EXISTING, 0, NULL);
  si.hStdInput = hin;
  if (out_path) {
    hout = win_open_out(out_path);
    if (hout == INVALID_HANDLE_VALUE)
      return -1;
    si.hStdOutput = hout;
  } else {
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  }
  if (err_path) {
    herr = win_open_out(err_path);
    if (herr == INVALID_HANDLE_VALUE) {
      if (hout)
        CloseHandle(hout);
      return -1;
    }
    si.hStdError = herr;
  } else {
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  }
  BOOL ok = CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
  if (hout)
    CloseHandle(hout);
  if (herr)
    CloseHandle(herr);
  if (hin && hin != INVALID_HANDLE_VALUE)
    CloseHandle(hin);
  if (!ok)
    return -1;
  CloseHandle(pi.hThread);
  DWORD w = WaitForSingleObject(pi.hProcess, (DWORD)timeout_ms);
  if (w != WAIT_OBJECT_0) {
    TerminateProcess(pi.hProcess, 137);
    WaitForSingleObject(pi.hProcess, 10000);
    CloseHandle(pi.hProcess);
    return 1;
  }
  DWORD code = 0;
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  *exit_code = (int)code;
  return 0;
#else
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char *argv[64];
  size_t argc = 0;
  argv[argc++] = (char *)exe;
  for (size_t i = 0; args && args[i] && argc < 63; i++)
    argv[argc++] = (char *)args[i];
  argv[argc] = NULL;

  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out_path)
    posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (err_path)
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_init(&attr);
  /* Own process group, so that a runaway tree can be killed whole. */
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, exe, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return -1;
  int64_t deadline = tst_now_ms() + timeout_ms;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR)
      return -1;
    if (tst_now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 1;
    }
    tst_sleep_ms(10);
  }
  if (WIFEXITED(status))
    *exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    *exit_code = -WTERMSIG(status);
  else
    *exit_code = -1000;
  return 0;
#endif
}

int tst_setenv(const char *name, const char *value) {
#ifdef _WIN32
  char buf[2048];
  snprintf(buf, sizeof buf, "%s=%s", name, value ? value : "");
  if (_putenv(buf) != 0)
    return -1;
  return SetEnvironmentVariableA(name, value) ? 0 : -1;
#else
  return value ? setenv(name, value, 1) : unsetenv(name);
#endif
}

/* ---- threads ------------------------------------------------------- */

struct tst_thread {
  int (*fn)(void *);
  void *arg;
  int result;
#ifdef _WIN32
  HANDLE h;
#else
  pthread_t t;
#endif
};

#ifdef _WIN32
static unsigned __stdcall thread_main(void *p) {
  tst_thread *t = p;
  t->result = t->fn(t->arg);
  return 0;
}
#else
static void *thread_main(void *p) {
  tst_thread *t = p;
  t->result = t->fn(t->arg);
  return NULL;
}
#endif

tst_thread *tst_thread_start(int (*fn)(void *), void *arg) {
  tst_thread *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->fn = fn;
  t->arg = arg;
#ifdef _WIN32
  t->h = (HANDLE)_beginthreadex(NULL, 0, thread_main, t, 0, NULL);
  if (t->h == NULL) {
    free(t);
    return NULL;
  }
#else
  if (pthread_create(&t->t, NULL, thread_main, t) != 0) {
    free(t);
    return NULL;
  }
#endif
  return t;
}

int tst_thread_join(tst_thread *t) {
#ifdef _WIN32
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
#else
  pthread_join(t->t, NULL);
#endif
  int r = t->result;
  free(t);
  return r;
}

/* ---- misc ------------------------------------------------------------ */

/* volatile so the compiler cannot see what is dereferenced. */
static volatile uintptr_t tst_bad_address = 16;

void tst_crash_now(void) {
#ifdef _WIN32
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
#else
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
#endif
  fflush(NULL);
  volatile int *p = (volatile int *)tst_bad_address;
  *p = 42;
  /* Not reached. */
  abort();
}

int tst_role_return_int(void *arg) { return arg ? *(int *)arg : 0; }

size_t tst_malloc_align(void) { return sizeof(void *) >= 8 ? 16 : 8; }

/* ---- cmocka-side helpers -------------------------------------------- */

int tst_join_code(mp_process *p, int timeout_ms) {
  assert_non_null(p);
  int rc = mp_process_join(p, timeout_ms);
  if (rc == MP_ETIMEDOUT) {
    mp_process_kill(p);
    mp_process_join(p, MP_INFINITE);
    fail_msg("child %s (pid %lld) did not end within %d ms", mp_process_name(p),
             (long long)mp_process_pid(p), timeout_ms);
  }
  assert_int_equal(rc, 0);
  int code = -12345;
  assert_int_equal(mp_process_exitcode(p, &code), 0);
  return code;
}

mp_process *tst_start(mp_target target, const void *arg, size_t arg_size,
                      const mp_process_options *opts) {
  mp_process *p = NULL;
  int rc = mp_process_create(&p, target, arg, arg_size, opts);
  if (rc != 0)
    fail_msg("mp_process_create: %d (%s)", rc, mp_strerror(rc));
  assert_non_null(p);
  rc = mp_process_start(p);
  if (rc != 0)
    fail_msg("mp_process_start: %d (%s), os error %d", rc, mp_strerror(rc),
             mp_last_os_error());
  return p;
}

#define TST_GUARD_MAX 64
static mp_process *guarded[TST_GUARD_MAX];
static mp_pid guarded_pids[TST_GUARD_MAX];

void tst_guard_process(mp_process *p) {
  for (int i = 0; i < TST_GUARD_MAX; i++)
    if (guarded[i] == NULL) {
      guarded[i] = p;
      return;
    }
}

void tst_guard_pid(mp_pid pid) {
  for (int i = 0; i < TST_GUARD_MAX; i++)
    if (guarded_pids[i] == 0) {
      guarded_pids[i] = pid;
      return;
    }
}

void tst_unguard_pid(mp_pid pid) {
  for (int i = 0; i < TST_GUARD_MAX; i++)
    if (guarded_pids[i] == pid)
      guarded_pids[i] = 0;
}

int tst_free(mp_process *p) {
  int rc = mp_process_free(p);
  if (rc == 0) /* still guarded when free refused */
    for (int i = 0; i < TST_GUARD_MAX; i++)
      if (guarded[i] == p)
        guarded[i] = NULL;
  return rc;
}

void tst_cleanup_guarded(void) {
  for (int i = 0; i < TST_GUARD_MAX; i++) {
    if (guarded[i] != NULL) {
      mp_process_kill(guarded[i]);
      mp_process_join(guarded[i], TST_LONG_MS);
      mp_process_free(guarded[i]);
      guarded[i] = NULL;
    }
    if (guarded_pids[i] != 0) {
      tst_kill_pid(guarded_pids[i]);
      tst_sleep_ms(50);
      tst_reap(guarded_pids[i]);
      guarded_pids[i] = 0;
    }
  }
}

int tst_teardown_processes(void **state) {
  (void)state;
  tst_cleanup_guarded();
  return 0;
}

int tst_setup_tmpdir(void **state) {
  char *dir = malloc(TST_PATH_MAX);
  if (dir == NULL || tst_make_tmpdir(dir, TST_PATH_MAX) != 0) {
    free(dir);
    return -1;
  }
  *state = dir;
  return 0;
}

int tst_teardown_tmpdir(void **state) {
  tst_cleanup_guarded();
  char *dir = *state;
  if (dir != NULL) {
    tst_remove_tmpdir(dir);
    free(dir);
  }
  *state = NULL;
  return 0;
}

int tst_leg_is_spawn(void) { return mp_get_start_method() == MP_START_SPAWN; }
