/* The OS pipe of a connection on POSIX: pipe(2), one per direction. Not
 * a Unix socket pair, whose round trip costs far more than a pipe's; the
 * price is SIGPIPE, which a pipe raises on a write with no reader left
 * and which sockets could turn off per call (MSG_NOSIGNAL). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

int mp__os_conn_pair(int duplex, mp__conn_os *a, mp__conn_os *b) {
  int to_a[2], to_b[2] = {-1, -1};
  if (pipe2(to_a, O_CLOEXEC) != 0)
    return mp__os_error(errno);
  if (duplex && pipe2(to_b, O_CLOEXEC) != 0) {
    int rc = mp__os_error(errno);
    close(to_a[0]);
    close(to_a[1]);
    return rc;
  }
  /* A one-way end holds no descriptor for the other direction, so the
   * kernel refuses it too, whatever a forged handle claims. */
  a->rd = to_a[0];
  a->wr = to_b[1];
  b->rd = to_b[0];
  b->wr = to_a[1];
  return 0;
}

static int wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int n = poll(&p, 1, timeout_ms);
  if (n < 0 && errno != EINTR)
    return mp__os_error(errno);
  return n > 0 ? 0 : MP_ETIMEDOUT;
}

#ifdef RWF_NOWAIT
/* Kernels before pipes honoured RWF_NOWAIT answer EOPNOTSUPP: asked once. */
static _Atomic int nowait_unsupported;
#endif

/* One read that never sleeps; -1 with errno EAGAIN when empty. Not
 * O_NONBLOCK, which every process's copy of the pipe would share. */
static ssize_t read_now(int fd, void *dst, size_t cap) {
#ifdef RWF_NOWAIT
  if (!atomic_load_explicit(&nowait_unsupported, memory_order_relaxed)) {
    struct iovec v = {dst, cap};
    ssize_t n = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
    if (n >= 0 || errno != EOPNOTSUPP)
      return n;
    atomic_store_explicit(&nowait_unsupported, 1, memory_order_relaxed);
  }
#endif
  /* Only this process reads the end (mproc.h), so readable stays
   * readable until the read below. */
  int rc = wait_readable(fd, 0);
  if (rc == MP_ETIMEDOUT)
    errno = EAGAIN;
  return rc < 0 ? -1 : read(fd, dst, cap);
}

int mp__os_conn_read(mp__conn *c, void *dst, size_t cap, int timeout_ms,
                     size_t *got) {
  int fd = (int)c->os.rd;
  uint64_t deadline = mp__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  if (cap > SSIZE_MAX)
    cap = SSIZE_MAX;
  for (;;) {
    /* Without a timeout, one blocking read; a timed read tries first,
     * then sleeps in poll. */
    ssize_t n = timeout_ms < 0 ? read(fd, dst, cap) : read_now(fd, dst, cap);
    if (n > 0) {
      *got = (size_t)n;
      return 0;
    }
    if (n == 0)
      return MP_EEOF;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return mp__os_error(errno);
    uint64_t now = mp__now_ms();
    if (timeout_ms == 0 || now >= deadline)
      return MP_ETIMEDOUT;
    int rc = wait_readable(fd, (int)(deadline - now));
    if (rc == MP_ESYS)
      return rc;
  }
}

/* ---- SIGPIPE ----
 * A write to a pipe nobody reads raises SIGPIPE, whose default action
 * kills the process; the caller must get MP_EEOF instead, and the
 * program's own handling of SIGPIPE must not change. So the signal is
 * blocked in the sending thread for the writes of a message (the mask is
 * per thread; the disposition, per process, is never touched), and the
 * one a write raised, which stays pending while blocked, is taken back
 * before the mask is restored. One the program had pending already is
 * left alone: signals of one number do not queue, so taking "ours" would
 * take it.
 *
 * No sigaction() first to skip all this when SIGPIPE is ignored: that
 * query is a system call too, so it saves one call for programs that
 * ignore SIGPIPE and adds one for all others (64-byte ping-pong: 1.18x
 * and 1.38x a raw pipe, against 1.29x for both without it). Once per
 * message, not per packet: a large message is many packets. */
typedef struct sigpipe_guard {
  sigset_t old;
  int restore;        /* SIGPIPE was not blocked: unblock it after */
  int pending_before; /* one was pending before the write: not ours */
} sigpipe_guard;

/* The sending thread's, between begin and end (one message at a time). */
static _Thread_local sigpipe_guard guard;

static void sigpipe_set(sigset_t *s) {
  sigemptyset(s);
  sigaddset(s, SIGPIPE);
}

void mp__os_conn_write_begin(void) {
  sigpipe_guard *g = &guard;
  sigset_t s;
  sigpipe_set(&s);
  pthread_sigmask(SIG_BLOCK, &s, &g->old);
  g->restore = !sigismember(&g->old, SIGPIPE);
  g->pending_before = 0;
  /* Unblocked, a pending SIGPIPE would have been delivered already; only
   * a thread that blocks it can have one waiting. */
  if (!g->restore) {
    sigset_t p;
    g->pending_before = sigpending(&p) == 0 && sigismember(&p, SIGPIPE);
  }
}

void mp__os_conn_write_end(int rc) {
  sigpipe_guard *g = &guard;
  int saved = errno;
  if (rc == MP_EEOF && !g->pending_before) {
    sigset_t s;
    sigpipe_set(&s);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&s, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  if (g->restore) {
    sigset_t s;
    sigpipe_set(&s);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  }
  errno = saved;
}

/* One packet, one write(2): up to PIPE_BUF bytes a write to a pipe is
 * atomic, all of it or, if a signal or a kill comes first, none. A small
 * packet is copied behind its header: on a pipe, writev costs more than
 * that copy and a plain write (measured up to PIPE_BUF). */
static int write_one(int fd, const mp__conn_pkt *p) {
  unsigned char buf[PIPE_BUF];
  memcpy(buf, p->hdr, MP__CONN_HDR);
  if (p->len > 0)
    memcpy(buf + MP__CONN_HDR, p->data, p->len);
  size_t len = MP__CONN_HDR + p->len;
  for (;;) {
    ssize_t n = write(fd, buf, len);
    if (n >= 0)
      return (size_t)n == len ? 0 : mp__os_error(EIO);
    if (errno != EINTR)
      return errno == EPIPE ? MP_EEOF : mp__os_error(errno);
  }
}

/* Linux copies a write to a pipe whose length is a multiple of the page
 * size a whole page at a time, and waits for room (where a kill can stop
 * it) only between pages: so when pages are PIPE_BUF bytes, a writev of
 * packets of exactly PIPE_BUF bytes leaves whole packets however it ends,
 * in one system call instead of one per packet (a 200 kB message: 1 call,
 * not 49). Not a POSIX promise; where it did not hold, the packet a kill
 * cut would only make the reader drop the next writer's following bytes
 * (up to a packet's worth), never complete a message: the LAST packet of
 * a message always goes by itself (packet.c). */
static int whole_pages(const mp__conn_pkt *p, size_t n) {
#ifdef __linux__
  static _Atomic long page;
  long size = atomic_load_explicit(&page, memory_order_relaxed);
  if (size == 0) {
    size = sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&page, size, memory_order_relaxed);
  }
  if (size != PIPE_BUF)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (MP__CONN_HDR + p[i].len != PIPE_BUF)
      return 0;
  return 1;
#else
  (void)p;
  (void)n;
  return 0;
#endif
}

static int writev_all(int fd, struct iovec *v, size_t nv) {
  while (nv > 0) {
    ssize_t done = writev(fd, v, (int)nv);
    if (done < 0) {
      if (errno == EINTR)
        continue;
      return errno == EPIPE ? MP_EEOF : mp__os_error(errno);
    }
    /* Interrupted after some pages: the rest follows at once. */
    size_t k = (size_t)done;
    while (nv > 0 && k >= v->iov_len) {
      k -= v->iov_len;
      v++;
      nv--;
    }
    if (nv > 0) {
      v->iov_base = (char *)v->iov_base + k;
      v->iov_len -= k;
    }
  }
  return 0;
}

int mp__os_conn_write(mp__conn *c, const mp__conn_pkt *p, size_t n) {
  int fd = (int)c->os.wr, rc = 0;
  if (n == 1 || !whole_pages(p, n)) {
    for (size_t i = 0; i < n && rc == 0; i++)
      rc = write_one(fd, &p[i]);
    return rc;
  }
  enum { GROUP = 64 };
  struct iovec v[2 * GROUP];
  for (size_t i = 0; i < n && rc == 0; i += GROUP) {
    size_t nv = 0;
    for (size_t j = i; j < n && j < i + GROUP; j++) {
      v[nv++] = (struct iovec){(void *)p[j].hdr, MP__CONN_HDR};
      v[nv++] = (struct iovec){(void *)p[j].data, p[j].len};
    }
    rc = writev_all(fd, v, nv);
  }
  return rc;
}

/* posix_spawn's dup2 onto the same number cleared close-on-exec. */
void mp__os_conn_adopt(int64_t h) { fcntl((int)h, F_SETFD, FD_CLOEXEC); }

void mp__os_conn_close(mp__conn *c) {
  if (c->os.rd >= 0)
    close((int)c->os.rd);
  if (c->os.wr >= 0 && c->os.wr != c->os.rd)
    close((int)c->os.wr);
  c->os.rd = c->os.wr = -1;
}
