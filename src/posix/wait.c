/* mp_wait on POSIX: one poll() over the connections' descriptors and, for
 * each process, its pidfd (readable once the child has exited) or, where
 * there is none, its sentinel (the read end of a pipe only the child
 * holds open, readable just before the child is gone). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "conn.h"

/* -1: ready without asking the OS; otherwise the descriptor to poll. */
static int slot_fd(mp__wait_slot *s) {
  if (s->kind == MP_WAIT_CONN) {
    mp__mutex_lock(&s->conn->rd);
    int ready = mp__conn_buffered_ready(s->conn);
    mp__mutex_unlock(&s->conn->rd);
    return ready ? -1 : (int)s->conn->os.rd;
  }
  if (mp__wait_proc_done(s->proc) || s->proc->os.sentinel < 0)
    return -1;
  return s->proc->os.pidfd >= 0 ? s->proc->os.pidfd : s->proc->os.sentinel;
}

int mp__os_wait_slots(mp__wait_slot *s, size_t n, int timeout_ms) {
  struct pollfd *p = malloc((n ? n : 1) * sizeof *p);
  if (!p)
    return MP_ENOMEM;
  size_t np = 0;
  int ready = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i].kind == MP_WAIT_QUEUE)
      continue;
    int fd = slot_fd(&s[i]);
    if (fd < 0) {
      s[i].ready = 1;
      ready++;
      continue;
    }
    p[np++] = (struct pollfd){fd, POLLIN, 0};
  }
  /* Everything ready is reported, not only the first. With nothing to
   * poll, poll() still sleeps: the caller checks queues in slices. */
  int rc = poll(p, (nfds_t)np, ready ? 0 : timeout_ms);
  if (rc < 0 && errno != EINTR) {
    free(p);
    return mp__os_error(errno);
  }
  size_t k = 0;
  for (size_t i = 0; rc > 0 && i < n; i++) {
    if (s[i].kind == MP_WAIT_QUEUE || s[i].ready)
      continue;
    if (p[k++].revents != 0) {
      s[i].ready = 1;
      ready++;
    }
  }
  free(p);
  return ready;
}
