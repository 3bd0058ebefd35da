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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "internal.h"

extern char **environ;

int mp__posix_own_sentinel = -1;

void mp__os_proc_init(mp__os_proc *os) { os->sentinel = -1; }

void mp__os_proc_release(mp__os_proc *os) {
  if (os->sentinel >= 0)
    close(os->sentinel);
  os->sentinel = -1;
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

int mp__os_fork(mp_process *p) {
  int sentinel[2];
  if (pipe2(sentinel, O_CLOEXEC) != 0)
    return mp__os_error(errno);
  mp_pid parent = (mp_pid)getpid();

  /* The library's own state is made whole in the child by the fork
   * handlers (atfork.c), which every fork runs. */
  pid_t pid = fork();
  if (pid == 0) {
    close(sentinel[0]);
    /* A grandchild must not keep our parent's view of us alive. */
    if (mp__posix_own_sentinel >= 0)
      close(mp__posix_own_sentinel);
    mp__posix_own_sentinel = sentinel[1];
    snprintf(mp__self.name, sizeof mp__self.name, "%s", p->name);
    snprintf(mp__self.identity, sizeof mp__self.identity, "%s", p->identity);
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

/* MSG_NOSIGNAL: a child that died before reading must not kill us with
 * SIGPIPE; that is why the channel is a socket and not a pipe. */
static int send_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    size_t chunk = len > (1u << 20) ? (1u << 20) : len;
    ssize_t n = send(fd, p, chunk, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
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

static int spawn_child(pid_t *pid, const int *keep, size_t nkeep) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0)
    return mp__os_error(errno);
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
  int rc = posix_spawn(pid, exe, &fa, &attr, argv, env);
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
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) != 0)
    return mp__os_error(errno);
  if (pipe2(sentinel, O_CLOEXEC) != 0) {
    int rc = mp__os_error(errno);
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
  int rc = keep ? mp__start_data_pack(&d, &block, &block_len) : MP_ENOMEM;
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
  /* A failed send means the child already died; it is started all the
   * same and its exit code tells the story. */
  if (send_all(chan[0], block, block_len) == 0 && p->arg_size > 0)
    send_all(chan[0], p->arg, p->arg_size);
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

int mp__os_wait(mp_process *p, int timeout_ms) {
  uint64_t deadline = timeout_ms > 0 ? mp__now_ms() + (uint64_t)timeout_ms : 0;
  unsigned backoff = 1;
  int sentinel_fired = 0;
  for (;;) {
    int status;
    pid_t r = waitpid((pid_t)p->pid, &status, WNOHANG);
    if (r == (pid_t)p->pid) {
      p->exitcode = decode_status(status);
      mp__os_proc_release(&p->os);
      return 0;
    }
    if (r < 0 && errno != EINTR)
      return mp__os_error(errno); /* ECHILD: reaped behind our back */
    if (timeout_ms == 0)
      return MP_ETIMEDOUT;
    int slice = 100;
    if (timeout_ms > 0) {
      uint64_t now = mp__now_ms();
      if (now >= deadline)
        return MP_ETIMEDOUT;
      if (deadline - now < (uint64_t)slice)
        slice = (int)(deadline - now);
    }
    /* EOF with the child not yet reapable: it is mid-exit (the kernel
     * closes its files before it becomes a zombie), or it closed the
     * sentinel itself. Sleep in short steps rather than spin on poll. */
    if (!sentinel_fired && p->os.sentinel >= 0) {
      /* Slices bound the wait if a raw fork() of the child still holds the
       * write end after the child itself has gone. */
      struct pollfd pfd = {p->os.sentinel, POLLIN, 0};
      sentinel_fired = poll(&pfd, 1, slice) > 0;
    } else {
      mp__sleep_ms(backoff < (unsigned)slice ? backoff : (unsigned)slice);
      backoff = backoff < 16 ? backoff * 2 : 16;
    }
  }
}

int mp__os_signal(mp_process *p, int kill_it) {
  /* Not yet reaped, so the pid cannot have been reused. */
  if (kill((pid_t)p->pid, kill_it ? SIGKILL : SIGTERM) != 0 && errno != ESRCH)
    return mp__os_error(errno);
  return 0;
}
