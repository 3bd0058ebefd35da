/* Starting, waiting for and signalling children on Windows. There is no
 * fork: a child is this executable started again with CreateProcess, and
 * its main guard reads the start data from the client end of a named pipe
 * it inherits (channel.c). */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "internal.h"

void mp__os_proc_init(mp__os_proc *os) { os->process = NULL; }

void mp__os_proc_release(mp__os_proc *os) {
  if (os->process)
    CloseHandle(os->process);
  os->process = NULL;
}

int mp__os_fork(mp_process *p) {
  (void)p;
  return MP_ENOTSUP;
}

/* Daemon children live in a job that dies with its last handle, which only
 * this process holds (never inherited): if we are killed, so are they. */
static HANDLE daemon_job(void) {
  static HANDLE job;
  mp__local_lock(MP__LOCK_OS);
  if (!job) {
    HANDLE j = CreateJobObjectW(NULL, NULL);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    memset(&info, 0, sizeof info);
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (j && !SetInformationJobObject(j, JobObjectExtendedLimitInformation,
                                      &info, sizeof info)) {
      CloseHandle(j);
      j = NULL;
    }
    job = j;
  }
  HANDLE j = job;
  mp__local_unlock(MP__LOCK_OS);
  return j;
}

/* Our environment with the channel variable replaced, as a Unicode block. */
static wchar_t *child_environment(HANDLE channel) {
  wchar_t entry[64];
  swprintf(entry, sizeof entry / sizeof entry[0], L"%hs=%llu", MP__CHILD_ENV,
           (unsigned long long)(uintptr_t)channel);
  size_t keylen = strlen(MP__CHILD_ENV);
  wchar_t *env = GetEnvironmentStringsW();
  if (!env)
    return NULL;
  size_t total = 0;
  for (wchar_t *e = env; *e; e += wcslen(e) + 1)
    total += wcslen(e) + 1;
  wchar_t *block = malloc((total + wcslen(entry) + 2) * sizeof *block);
  if (block) {
    wchar_t *out = block;
    for (wchar_t *e = env; *e; e += wcslen(e) + 1) {
      int ours = wcslen(e) > keylen && e[keylen] == L'=';
      for (size_t i = 0; ours && i < keylen; i++)
        ours = e[i] == (wchar_t)MP__CHILD_ENV[i];
      if (ours)
        continue;
      wcscpy(out, e);
      out += wcslen(e) + 1;
    }
    wcscpy(out, entry);
    out += wcslen(entry) + 1;
    *out = L'\0';
  }
  FreeEnvironmentStringsW(env);
  return block;
}

/* An inheritable copy of a standard handle, or NULL if there is none:
 * a handle list may hold only valid, inheritable, distinct handles. */
static HANDLE inheritable_std(DWORD which) {
  HANDLE h = GetStdHandle(which), dup = NULL;
  if (h == NULL || h == INVALID_HANDLE_VALUE)
    return NULL;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0,
                       TRUE, DUPLICATE_SAME_ACCESS))
    return NULL;
  return dup;
}

/* The file started is the one the handle image.c keeps on our executable
 * names now: on Windows that follows a rename of the running program. Where
 * it does not (Wine), a replacement at the old path starts instead, and
 * its guard refuses the start data: its identity is not ours. */
static int create_child(mp_process *p, HANDLE channel, PROCESS_INFORMATION *pi) {
  wchar_t *exe = malloc(32768 * sizeof *exe);
  if (!exe)
    return MP_ENOMEM;
  int rc = mp__win_exe_path(exe, 32768);
  if (rc < 0) {
    free(exe);
    return rc;
  }
  size_t n = wcslen(exe);
  wchar_t *cmdline = malloc((n + 32) * sizeof *cmdline);
  wchar_t *env = child_environment(channel);
  HANDLE std[3] = {inheritable_std(STD_INPUT_HANDLE),
                   inheritable_std(STD_OUTPUT_HANDLE),
                   inheritable_std(STD_ERROR_HANDLE)};
  HANDLE list[4];
  DWORD count = 0;
  list[count++] = channel;
  for (int i = 0; i < 3; i++)
    if (std[i])
      list[count++] = std[i];

  rc = MP_ENOMEM;
  SIZE_T attr_size = 0;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
  if (cmdline && env && (attrs = malloc(attr_size))) {
    swprintf(cmdline, n + 32, L"\"%ls\" --mproc-child", exe);
    rc = 0;
    /* Only the listed handles reach the child, whatever else in this
     * process is inheritable: other threads' pipes stay private. */
    if (!InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size) ||
        !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                   list, count * sizeof list[0], NULL, NULL))
      rc = mp__os_error((int)GetLastError());
  }
  if (rc == 0) {
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = std[0];
    si.StartupInfo.hStdOutput = std[1];
    si.StartupInfo.hStdError = std[2];
    si.lpAttributeList = attrs;
    /* A daemon starts suspended so it is in the job before it can run,
     * and before it can start anything that would escape the job. */
    DWORD flags = EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT |
                  (p->daemon ? CREATE_SUSPENDED : 0);
    if (!CreateProcessW(exe, cmdline, NULL, NULL, TRUE, flags, env, NULL,
                        &si.StartupInfo, pi))
      rc = mp__os_error((int)GetLastError());
  }
  if (attrs) {
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  for (int i = 0; i < 3; i++)
    if (std[i])
      CloseHandle(std[i]);
  free(env);
  free(cmdline);
  free(exe);
  return rc;
}

/* The child's own copies of the handles it inherits; their values go in
 * its start data. No handle of ours needs to be inheritable for this. */
static int duplicate_into(HANDLE child, mp__start_data *d) {
  for (size_t i = 0; i < d->n_inherit; i++) {
    HANDLE theirs;
    if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)(intptr_t)d->inherit[i].handle,
                         child, &theirs, 0, FALSE, DUPLICATE_SAME_ACCESS))
      return mp__os_error((int)GetLastError());
    d->inherit[i].handle = (int64_t)(intptr_t)theirs;
  }
  return 0;
}

static int spawn_once(mp_process *p, const mp__start_data *d0) {
  void *block = NULL;
  size_t block_len = 0;
  mp__start_data d = *d0;
  if (d.n_inherit > 0) {
    d.inherit = malloc(d.n_inherit * sizeof *d.inherit);
    if (!d.inherit)
      return MP_ENOMEM;
    memcpy(d.inherit, d0->inherit, d.n_inherit * sizeof *d.inherit);
  }
  HANDLE rd, wr;
  int rc = mp__win_channel_create(&wr, &rd);
  if (rc < 0) {
    free(d.inherit);
    return rc;
  }

  PROCESS_INFORMATION pi;
  rc = create_child(p, rd, &pi);
  CloseHandle(rd);
  if (rc == 0) {
    rc = duplicate_into(pi.hProcess, &d);
    if (rc == 0)
      rc = mp__start_data_pack(&d, &block, &block_len);
    if (rc < 0) {
      TerminateProcess(pi.hProcess, MP__WIN_KILL_CODE);
      CloseHandle(pi.hProcess);
      CloseHandle(pi.hThread);
    }
  }
  free(d.inherit);
  if (rc == 0 && p->daemon) {
    HANDLE job = daemon_job();
    if (!job || !AssignProcessToJobObject(job, pi.hProcess)) {
      rc = mp__os_error((int)GetLastError());
      TerminateProcess(pi.hProcess, MP__WIN_KILL_CODE);
      CloseHandle(pi.hProcess);
    } else {
      ResumeThread(pi.hThread);
    }
    CloseHandle(pi.hThread);
  } else if (rc == 0) {
    CloseHandle(pi.hThread);
  }
  if (rc < 0) {
    CloseHandle(wr);
    free(block);
    return rc;
  }
  p->pid = (mp_pid)pi.dwProcessId;
  p->os.process = pi.hProcess;
  /* A failed write means the child already died; it is started all the
   * same and its exit code tells the story. */
  if (mp__win_channel_write(wr, block, block_len) == 0 && p->arg_size > 0)
    mp__win_channel_write(wr, p->arg, p->arg_size);
  CloseHandle(wr);
  free(block);
  return 0;
}

/* Exit codes as POSIX would report the same ending. */
static int map_exit_code(DWORD code) {
  switch (code) {
  case MP__WIN_TERMINATE_CODE:
    return -15;
  case MP__WIN_KILL_CODE:
    return -9;
  case 0xC0000005u: /* STATUS_ACCESS_VIOLATION */
  case 0xC0000006u: /* STATUS_IN_PAGE_ERROR */
  case 0xC00000FDu: /* STATUS_STACK_OVERFLOW */
    return -11;
  case 0xC000001Du: /* STATUS_ILLEGAL_INSTRUCTION */
  case 0xC0000096u: /* STATUS_PRIVILEGED_INSTRUCTION */
    return -4;
  case 0xC0000094u: /* STATUS_INTEGER_DIVIDE_BY_ZERO */
  case 0xC000008Eu: /* STATUS_FLOAT_DIVIDE_BY_ZERO */
    return -8;
  default:
    return (int)code;
  }
}

int mp__os_wait(mp_process *p, int timeout_ms) {
  DWORD w = WaitForSingleObject(p->os.process,
                                timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  if (w == WAIT_TIMEOUT)
    return MP_ETIMEDOUT;
  if (w != WAIT_OBJECT_0)
    return mp__os_error((int)GetLastError());
  DWORD code;
  if (!GetExitCodeProcess(p->os.process, &code))
    return mp__os_error((int)GetLastError());
  p->exitcode = map_exit_code(code);
  mp__os_proc_release(&p->os);
  return 0;
}

int mp__os_signal(mp_process *p, int kill_it) {
  if (TerminateProcess(p->os.process,
                       kill_it ? MP__WIN_KILL_CODE : MP__WIN_TERMINATE_CODE))
    return 0;
  /* Access denied is what a process that already exited answers. */
  DWORD err = GetLastError();
  if (WaitForSingleObject(p->os.process, 0) == WAIT_OBJECT_0)
    return 0;
  return mp__os_error((int)err);
}

/* Wine under load has been seen to fail a start with ERROR_INTERNAL_ERROR
 * once in hundreds, and to succeed when asked again; nothing was started
 * when it says so, so asking again is safe. */
int mp__os_spawn(mp_process *p, const mp__start_data *d) {
  int rc = spawn_once(p, d);
  for (int attempt = 1; rc == MP_ESYS && attempt < 4 &&
                        mp_last_os_error() == ERROR_INTERNAL_ERROR;
       attempt++) {
    Sleep(10u * attempt);
    rc = spawn_once(p, d);
  }
  return rc;
}
