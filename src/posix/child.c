/* The spawned child's side on POSIX: the start data channel is a socket
 * whose descriptor number the parent put in MP__CHILD_ENV. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

int mp__os_channel_prepare(int64_t channel) {
  if (channel < 0 || channel > INT32_MAX)
    return MP_EINVAL;
  /* Nothing we exec later may inherit it. */
  if (fcntl((int)channel, F_SETFD, FD_CLOEXEC) != 0)
    return mp__os_error(errno);
  return 0;
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

void mp__os_child_setup(const mp__start_data *d) {
  int sentinel = (int)d->sentinel;
  /* Kept open for life, hidden from anything we exec. */
  if (fcntl(sentinel, F_SETFD, FD_CLOEXEC) == 0)
    mp__posix_own_sentinel = sentinel;
  if (d->daemon)
    mp__posix_die_with_parent(d->parent_pid);
}
