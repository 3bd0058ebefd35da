/* The spawned child's side on POSIX: read the start data from the socket
 * the parent named in MP__CHILD_ENV. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return MP_EINVAL; /* the parent died mid-way: no usable data */
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int receive(int fd, mp__start_data *d, void **arg) {
  unsigned char prefix[MP__START_PREFIX_LEN];
  int rc = read_all(fd, prefix, sizeof prefix);
  if (rc < 0)
    return rc;
  uint64_t header_len;
  memcpy(&header_len, prefix + 8, sizeof header_len);
  if (header_len > (16u << 20))
    return MP_EINVAL;
  unsigned char *block = malloc(sizeof prefix + (size_t)header_len);
  if (!block)
    return MP_ENOMEM;
  memcpy(block, prefix, sizeof prefix);
  rc = read_all(fd, block + sizeof prefix, (size_t)header_len);
  if (rc == 0)
    rc = mp__start_data_unpack(block, sizeof prefix + (size_t)header_len, d);
  free(block);
  if (rc < 0)
    return rc;
  *arg = NULL;
  if (d->arg_size > 0) {
    if (d->arg_size > (uint64_t)PTRDIFF_MAX || !(*arg = malloc((size_t)d->arg_size)))
      return MP_ENOMEM;
    rc = read_all(fd, *arg, (size_t)d->arg_size);
  }
  return rc;
}

int mp__os_child_receive(mp__start_data *d, void **arg) {
  char value[32];
  if (mp__getenv(MP__CHILD_ENV, value, sizeof value) != 0)
    return 0;
  /* Our own children must not see it: they are not spawned by this
   * mechanism unless we spawn them, which sets it afresh. */
  mp__unsetenv(MP__CHILD_ENV);
  char *end;
  long fd = strtol(value, &end, 10);
  if (*end != '\0' || fd < 0 || fd > 1 << 20)
    return MP_EINVAL;
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  int rc = receive((int)fd, d, arg);
  close((int)fd);
  return rc < 0 ? rc : 1;
}

void mp__os_child_setup(const mp__start_data *d) {
  int sentinel = (int)d->sentinel;
  /* Kept open for life, hidden from anything we exec. */
  if (fcntl(sentinel, F_SETFD, FD_CLOEXEC) == 0)
    mp__posix_own_sentinel = sentinel;
  if (d->daemon)
    mp__posix_die_with_parent(d->parent_pid);
}
