/* Starting, waiting for and signalling children on POSIX: fork, or
 * posix_spawn of the running executable for the spawn method. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "deadline.h"
#include "internal.h"

extern char **environ;

int mp__posix_own_sentinel = -1;

void mp__os_proc_init(mp__os_proc *os) {
  os->sentinel = -1;
  os->pidfd = -1;
  os->signalled = 0;
}

void mp__os_proc_release(mp__os_proc *os) {
  if (os->sentinel >= 0)
    close(os->sentinel);
  if (os->pidfd >= 0)
    close(os->pidfd);
  os->sentinel = -1;
  os->pidfd = -1;
}

void mp__posix_die_with_parent(mp_pid parent) {
#ifdef __linux__
  /* The signal fires when the thread that started us ends, not only the
   * process; documented in mproc.h. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  /* The parent may have died before prctl took effect. */
  if ((mp_pid)getppid() != parent)
    _exit(MP__EXIT_BOOT_FAILED);
}

/* A pidfd for our child pid, or -1 (no pidfd_open: Linux < 5.3, or a
 * seccomp filter). A child that already exited and was reaped by someone
 * else (SIGCHLD ignored, a waitpid(-1) elsewhere) may have left its pid to
 * another process before pidfd_open ran; the pidfd is kept only if the pid
 * is still our child's, running or a zombie, after it was opened. */
static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec */
  if (fd < 0)
    return -1;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
    close(fd);
    return -1;
  }
  return fd;
#else
  (void)pid;
  return -1;
#endif
}

int mp__os_fork(mp_process *p) {
  int sentinel[2];
  if (pipe2(sentinel, O_CLOEXEC) != 0)
    return mp__os_error(errno);
  mp_pid parent = (mp_pid)getpid();

  /* The library's own state is made whole in the child by the fork
   * handlers (atfork.c), which every fork runs. */
  pid_t pid = fork();
  if (pid == 0) {
    mp__posix_forked_child_begin();
    close(sentinel[0]);
    /* The fork handlers closed the one we inherited (system.c). */
    mp__posix_own_sentinel = sentinel[1];
    /* Both fit (process.c). Plain copies: every page of code a forked
     * child runs is a page fault of its own, printf's are many. */
    strcpy(mp__self.name, p->name);
    strcpy(mp__self.identity, p->identity);
    mp__self.counter = 0;
    mp__self.parent_pid = parent;
    mp__self.daemon = p->daemon;
    mp__self.guard_ran = 1;
    if (p->daemon)
      mp__posix_die_with_parent(parent);
    mp__child_run_and_exit(p->target, p->arg);
  }
  int saved = errno;
  close(sentinel[1]);
  if (pid < 0) {
    close(sentinel[0]);
    return mp__os_error(saved);
  }
  p->pid = pid;
  p->os.sentinel = sentinel[0];
  p->os.pidfd = open_pidfd(pid);
  return 0;
}

/* The child's environment: ours, with the channel variable replaced. */
static char **child_environ(const char *channel_entry) {
  size_t n = 0;
  while (environ && environ[n])
    n++;
  char **env = malloc((n + 2) * sizeof *env);
  if (!env)
    return NULL;
  size_t k = 0;
  size_t keylen = strlen(MP__CHILD_ENV);
  for (size_t i = 0; i < n; i++)
    if (!(strncmp(environ[i], MP__CHILD_ENV, keylen) == 0 &&
          environ[i][keylen] == '='))
      env[k++] = environ[i];
  env[k++] = (char *)channel_entry;
  env[k] = NULL;
  return env;
}

/* The child gets exactly the descriptors in `keep`, renumbered 3, 4, ...
 * in order, and nothing else above stderr: not even the caller's own
 * descriptors that lack close-on-exec, as Python's spawn does. Moving them
 * first to numbers above all of them, then down, is safe whatever their
 * numbers are: a later move can only overwrite a temporary already used. */
static void plan_descriptors(posix_spawn_file_actions_t *fa, const int *keep,
                             size_t n) {
  int high = 3;
  for (size_t i = 0; i < n; i++)
    if (keep[i] >= high)
      high = keep[i] + 1;
  for (size_t i = 0; i < n; i++)
    posix_spawn_file_actions_adddup2(fa, keep[i], high + (int)i);
  for (size_t i = 0; i < n; i++)
    posix_spawn_file_actions_adddup2(fa, high + (int)i, 3 + (int)i);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  posix_spawn_file_actions_addclosefrom_np(fa, 3 + (int)n);
#else
  /* No closefrom action: the temporaries at least must go. Descriptors
   * the caller opened without close-on-exec stay inherited here. */
  for (size_t i = 0; i < n; i++)
    posix_spawn_file_actions_addclose(fa, high + (int)i);
#endif
}

/* The file run is /proc/self/exe: the kernel's link to the very file this
 * process runs, which still works once the file at its path has been
 * replaced or deleted (an upgrade under a running program), where the path
 * would start something else or nothing. Its path is only argv[0]. */
static int spawn_child(pid_t *pid, const int *keep, size_t nkeep) {
  static const char self_exe[] = "/proc/self/exe";
  char exe[PATH_MAX];
  ssize_t n = readlink(self_exe, exe, sizeof exe - 1);
  if (n <= 0)
    n = (ssize_t)strlen(strcpy(exe, self_exe));
  exe[n] = '\0';

  char entry[64];
  snprintf(entry, sizeof entry, "%s=3", MP__CHILD_ENV); /* keep[0] */
  char **env = child_environ(entry);
  if (!env)
    return MP_ENOMEM;

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  plan_descriptors(&fa, keep, nkeep);
  posix_spawnattr_init(&attr);
  /* A child born with SIGTERM blocked or ignored could not be terminated. */
  sigset_t none, deflt;
  sigemptyset(&none);
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &deflt);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  char marker[] = "--mproc-child";
  char *argv[] = {exe, marker, NULL};
  int rc = posix_spawn(pid, self_exe, &fa, &attr, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free(env);
  return rc == 0 ? 0 : mp__os_error(rc);
}

/* The descriptors a spawned child keeps, in the order plan_descriptors
 * numbers them: the start data channel (3), the sentinel (4), then the
 * inherited table; d gets the numbers they will have in the child. */
static int *child_descriptors(int channel, int sentinel, mp__start_data *d) {
  int *keep = malloc((2 + d->n_inherit) * sizeof *keep);
  if (!keep)
    return NULL;
  keep[0] = channel;
  keep[1] = sentinel;
  d->sentinel = 4;
  for (size_t i = 0; i < d->n_inherit; i++) {
    keep[2 + i] = (int)d->inherit[i].handle;
    d->inherit[i].handle = 5 + (int64_t)i;
  }
  return keep;
}

int mp__os_spawn(mp_process *p, const mp__start_data *d0) {
  int chan[2], sentinel[2];
  int rc = mp__posix_channel_pair(chan);
  if (rc < 0)
    return rc;
  if (pipe2(sentinel, O_CLOEXEC) != 0) {
    rc = mp__os_error(errno);
    close(chan[0]);
    close(chan[1]);
    return rc;
  }
  mp__start_data d = *d0;
  d.inherit = NULL;
  if (d.n_inherit > 0 && (d.inherit = malloc(d.n_inherit * sizeof *d.inherit)))
    memcpy(d.inherit, d0->inherit, d.n_inherit * sizeof *d.inherit);
  int *keep = (d.n_inherit == 0 || d.inherit)
                  ? child_descriptors(chan[1], sentinel[1], &d)
                  : NULL;
  void *block = NULL;
  size_t block_len = 0;
  pid_t pid = 0;
  rc = keep ? mp__start_data_pack(&d, &block, &block_len) : MP_ENOMEM;
  if (rc == 0)
    rc = spawn_child(&pid, keep, 2 + d.n_inherit);
  free(keep);
  free(d.inherit);
  close(chan[1]);
  close(sentinel[1]);
  if (rc < 0) {
    free(block);
    close(chan[0]);
    close(sentinel[0]);
    return rc;
  }
  p->pid = pid;
  p->os.sentinel = sentinel[0];
  p->os.pidfd = open_pidfd(pid);
  /* A failed send means the child already died; it is started all the
   * same and its exit code tells the story. */
  if (mp__posix_channel_send(chan[0], block, block_len) == 0 && p->arg_size > 0)
    mp__posix_channel_send(chan[0], p->arg, p->arg_size);
  free(block);
  close(chan[0]);
  return 0;
}

static int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return -WTERMSIG(status);
  return -1;
}

/* The code a child whose status is gone reported on its sentinel just
 * before it exited (child.c), -signal if we signalled it, else unknown. A
 * killed child reports nothing. */
static int lost_status_code(mp__os_proc *os) {
  uint32_t msg[2];
  struct pollfd pfd = {os->sentinel, POLLIN, 0};
  if (os->sentinel >= 0 && poll(&pfd, 1, 0) > 0 &&
      read(os->sentinel, msg, sizeof msg) == (ssize_t)sizeof msg &&
      msg[0] == MP__POSIX_REPORT_MAGIC && msg[1] <= 255)
    return (int)msg[1];
  if (os->signalled)
    return -os->signalled;
  return MP_EXITCODE_UNKNOWN;
}

/* 0 once the child is reaped or known gone (p->exitcode set, handles
 * released), MP_ETIMEDOUT while it runs, MP_ESYS. */
static int try_reap(mp_process *p) {
  for (;;) {
    int status;
    pid_t r = waitpid((pid_t)p->pid, &status, WNOHANG);
    if (r == (pid_t)p->pid) {
      p->exitcode = decode_status(status);
      break;
    }
    if (r == 0)
      return MP_ETIMEDOUT;
    if (errno == EINTR)
      continue;
    if (errno != ECHILD)
      return mp__os_error(errno);
    /* Reaped by someone else: the kernel, when SIGCHLD is ignored, or a
     * waitpid(-1) elsewhere in the program. It is gone all the same, and
     * its object must reach its end. */
    p->exitcode = lost_status_code(&p->os);
    break;
  }
  mp__os_proc_release(&p->os);
  return 0;
}

int mp__os_wait(mp_process *p, int timeout_ms) {
  mp__deadline dl = mp__deadline_in(timeout_ms);
  int nap = 0, fired = 0;
  for (;;) {
    int rc = try_reap(p);
    if (rc != MP_ETIMEDOUT)
      return rc;
    int left = mp__deadline_left(&dl);
    if (left == 0)
      return MP_ETIMEDOUT;
    int fd = p->os.pidfd >= 0 ? p->os.pidfd : p->os.sentinel;
    if (!fired && fd >= 0) {
      /* The pidfd is readable once the child can be reaped: the kernel
       * wakes us, whatever ended the child, so no cap. The sentinel
       * fires a little earlier (the exit report, then the kernel closing
       * the child's files before it becomes a zombie), and may be held by
       * a raw fork() of the child after the child itself has gone: its
       * waits are cut into slices. */
      struct pollfd pfd = {fd, POLLIN, 0};
      fired = poll(&pfd, 1, fd == p->os.pidfd ? left : mp__nap_cap(left)) > 0;
    } else {
      /* It fired but the child was not reapable yet: it is mid-exit. */
      mp__sleep_ms((unsigned)mp__deadline_nap(&dl, &nap));
    }
  }
}

/* A pid is safe to signal only while it is still our unreaped child:
 * once another waiter took its status the pid may already name another
 * process. A pidfd names the process itself; without one, ask first (the
 * instant between asking and kill() remains). */
int mp__os_signal(mp_process *p, int kill_it) {
  int sig = kill_it ? SIGKILL : SIGTERM;
#ifdef SYS_pidfd_send_signal
  if (p->os.pidfd >= 0) {
    if (syscall(SYS_pidfd_send_signal, p->os.pidfd, sig, NULL, 0) == 0) {
      p->os.signalled = sig;
      return 0;
    }
    if (errno == ESRCH)
      return 0;
    if (errno != ENOSYS)
      return mp__os_error(errno);
  }
#endif
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD ? 0 : mp__os_error(errno);
  if (si.si_pid != 0)
    return 0; /* exited, not yet reaped */
  if (kill((pid_t)p->pid, sig) != 0)
    return errno == ESRCH ? 0 : mp__os_error(errno);
  p->os.signalled = sig;
  return 0;
}
