/* The start data channel on POSIX: a socket pair the parent makes for one
 * spawn. The child gets one end as a descriptor whose number is the value
 * of MP__CHILD_ENV.
 *
 * A socket, not a pipe: the parent sends with MSG_NOSIGNAL, so a child
 * that dies early cannot kill it with SIGPIPE; and the kernel records who
 * made the pair, which is how the child tells a channel from its parent
 * from a descriptor someone else left at that number (a terminal, a file
 * with a forged block, another program's socket). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

int mp__posix_channel_pair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return mp__os_error(errno);
  return 0;
}

int mp__posix_channel_send(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    size_t chunk = len > (1u << 20) ? (1u << 20) : len;
    ssize_t n = send(fd, p, chunk, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return mp__os_error(errno);
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One function per OS family, so that a BSD or macOS backend only adds a
 * branch here. Linux and OpenBSD: SO_PEERCRED (the pid of the process
 * that called socketpair); macOS: LOCAL_PEERPID; FreeBSD: the pid in
 * LOCAL_PEERCRED (FreeBSD >= 13). */
int mp__posix_peer(int fd, mp_pid *pid, uint64_t *uid) {
#if defined(__linux__)
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      len != sizeof cred)
    return -1;
  *pid = (mp_pid)cred.pid;
  *uid = (uint64_t)cred.uid;
  return 0;
#elif defined(__OpenBSD__)
  struct sockpeercred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return -1;
  *pid = (mp_pid)cred.pid;
  *uid = (uint64_t)cred.uid;
  return 0;
#elif defined(__APPLE__) && defined(LOCAL_PEERPID)
  uid_t u;
  gid_t g;
  pid_t p;
  socklen_t len = sizeof p;
  if (getpeereid(fd, &u, &g) != 0 ||
      getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &p, &len) != 0)
    return -1;
  *pid = (mp_pid)p;
  *uid = (uint64_t)u;
  return 0;
#elif defined(__FreeBSD__) && defined(LOCAL_PEERCRED)
  struct xucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &cred, &len) != 0 ||
      cred.cr_version != XUCRED_VERSION)
    return -1;
  *pid = (mp_pid)cred.cr_pid;
  *uid = (uint64_t)cred.cr_uid;
  return 0;
#else
  (void)fd;
  (void)pid;
  (void)uid;
  return -1;
#endif
}

/* Strictly a decimal number in [0, INT_MAX]: no sign, no spaces. */
static int parse_fd(const char *value, int *fd) {
  long long v = 0;
  if (!*value)
    return -1;
  for (const char *c = value; *c; c++) {
    if (*c < '0' || *c > '9' || v > 0x7fffffff / 10)
      return -1;
    v = v * 10 + (*c - '0');
  }
  if (v > 0x7fffffff)
    return -1;
  *fd = (int)v;
  return 0;
}

/* The socket's creator must be our parent. A parent killed right after
 * the start (before this check runs) has left us to a reaper, so a creator
 * that no longer exists, with a parent that is not it, is taken for a
 * parent that died: a process that is alive and not our parent is never
 * taken. The uid check above it is what keeps other users out. */
static int from_parent(mp_pid peer) {
  if (peer <= 0)
    return 0;
  if (peer == (mp_pid)getppid())
    return 1;
  return kill((pid_t)peer, 0) != 0 && errno == ESRCH;
}

/* Every check is a question the kernel answers at once: nothing here
 * reads the descriptor, so a terminal or a pipe that nobody writes cannot
 * make the child wait. */
const char *mp__os_channel_open(const char *value, int64_t *channel,
                                mp_pid *parent) {
  int fd;
  if (parse_fd(value, &fd) < 0)
    return "the value is not a descriptor number";
  struct stat st;
  if (fstat(fd, &st) != 0)
    return "no such open descriptor";
  if (!S_ISSOCK(st.st_mode))
    return "the descriptor is not a socket";
  struct sockaddr_storage sa;
  socklen_t salen = sizeof sa;
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0 ||
      sa.ss_family != AF_UNIX ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
      type != SOCK_STREAM)
    return "the descriptor is not a Unix stream socket";
  mp_pid peer = 0;
  uint64_t uid = 0;
  if (mp__posix_peer(fd, &peer, &uid) != 0)
    return "the socket's peer cannot be identified";
  if (uid != (uint64_t)geteuid() || !from_parent(peer))
    return "the socket does not come from the parent process";
  /* Nothing we exec later may inherit it. */
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
    return "the descriptor cannot be made close-on-exec";
  *channel = fd;
  *parent = peer;
  return NULL;
}

int mp__os_channel_read(int64_t channel, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read((int)channel, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return MP_EINVAL; /* the parent died mid-way: no usable data */
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void mp__os_channel_close(int64_t channel) { close((int)channel); }
