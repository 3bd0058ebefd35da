/* The OS pipe of a connection on POSIX: a Unix stream socket pair. A
 * socket, not pipe(2), because send(MSG_NOSIGNAL) reports a vanished
 * reader as EPIPE instead of killing us with SIGPIPE, and because one
 * pair serves both duplex and one-way pipes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"

int mp__os_conn_pair(int duplex, int64_t *a, int64_t *b) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return mp__os_error(errno);
  /* The kernel then refuses the wrong direction too, whatever a forged
   * handle claims. */
  if (!duplex) {
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  *a = sv[0];
  *b = sv[1];
  return 0;
}

static int wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int n = poll(&p, 1, timeout_ms);
  if (n < 0 && errno != EINTR)
    return mp__os_error(errno);
  return n > 0 ? 0 : MP_ETIMEDOUT;
}

int mp__os_conn_read(mp__conn *c, void *dst, size_t cap, int timeout_ms,
                     size_t *got) {
  int fd = (int)c->os.h;
  uint64_t deadline = mp__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  if (cap > SSIZE_MAX)
    cap = SSIZE_MAX;
  for (;;) {
    /* Blocking only when there is no timeout: then one system call. A
     * timed read tries first, then sleeps in poll. MSG_DONTWAIT rather
     * than O_NONBLOCK, which other processes' copies would share. */
    ssize_t n = recv(fd, dst, cap, timeout_ms < 0 ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      *got = (size_t)n;
      return 0;
    }
    if (n == 0 || errno == ECONNRESET)
      return MP_EEOF;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return mp__os_error(errno);
    uint64_t now = mp__now_ms();
    if (timeout_ms == 0 || now >= deadline)
      return MP_ETIMEDOUT;
    int left = (int)(deadline - now);
    int rc = wait_readable(fd, left);
    if (rc == MP_ESYS)
      return rc;
  }
}

int mp__os_conn_write(mp__conn *c, const void *hdr, size_t hlen,
                      const void *data, size_t len) {
  struct iovec iov[2] = {{(void *)hdr, hlen}, {(void *)data, len}};
  struct msghdr m = {0};
  m.msg_iov = iov;
  m.msg_iovlen = len > 0 ? 2 : 1;
  while (m.msg_iovlen > 0) {
    ssize_t n = sendmsg((int)c->os.h, &m, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EPIPE || errno == ECONNRESET)
        return MP_EEOF;
      return mp__os_error(errno);
    }
    /* A large message goes in several pieces. */
    size_t done = (size_t)n;
    while (m.msg_iovlen > 0 && done >= m.msg_iov[0].iov_len) {
      done -= m.msg_iov[0].iov_len;
      m.msg_iov++;
      m.msg_iovlen--;
    }
    if (m.msg_iovlen > 0) {
      m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + done;
      m.msg_iov[0].iov_len -= done;
    }
  }
  return 0;
}

/* posix_spawn's dup2 onto the same number cleared close-on-exec. */
void mp__os_conn_adopt(mp__conn *c) {
  fcntl((int)c->os.h, F_SETFD, FD_CLOEXEC);
}

void mp__os_conn_close(mp__conn *c) {
  if (c->os.h >= 0)
    close((int)c->os.h);
  c->os.h = -1;
}

/* The table's lock must not be held by a thread that does not exist in
 * the child. */
static void child_after_fork(void) { mp__conn_table_after_fork(); }

void mp__os_conn_init(void) {
  /* Called with the table locked, once: hold it across every fork. */
  pthread_atfork(mp__conn_table_lock, mp__conn_table_unlock, child_after_fork);
}
