/* The arena's memory on POSIX: an anonymous memfd, sparse, mapped shared.
 * It has no name, so nothing can be left behind in /dev/shm: the kernel
 * frees it when the last process that maps it or holds its fd is gone,
 * kill -9 included. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared.h"

static int arena_fd = -1;

static int anonymous_fd(void) {
#ifdef MFD_CLOEXEC
  int fd = memfd_create("mproc-arena", MFD_CLOEXEC);
  if (fd >= 0 || errno != ENOSYS)
    return fd;
#endif
  /* No memfd: a POSIX shm object unlinked at once, which leaves the same
   * nothing behind. The name only has to be unique for an instant. */
  for (int attempt = 0; attempt < 16; attempt++) {
    char name[64];
    snprintf(name, sizeof name, "/mproc-%ld-%llu-%d", (long)getpid(),
             (unsigned long long)mp__now_ms(), attempt);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      shm_unlink(name);
      return fd;
    }
    if (errno != EEXIST)
      return -1;
  }
  return -1;
}

static int map_fd(int fd, uint64_t size, mp__arena_map *m) {
  void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED)
    return mp__os_error(errno);
  m->base = p;
  m->size = size;
  arena_fd = fd;
  return 0;
}

int mp__os_arena_create(uint64_t size_wanted, mp__arena_map *m) {
  int fd = anonymous_fd();
  if (fd < 0)
    return mp__os_error(errno);
  /* Where address space or file size is limited, settle for less. */
  for (uint64_t size = size_wanted; size >= (64ull << 20); size /= 4) {
    if (ftruncate(fd, (off_t)size) != 0)
      continue;
    if (map_fd(fd, size, m) == 0)
      return 0;
  }
  int rc = mp__os_error(errno);
  close(fd);
  return rc;
}

int mp__os_arena_attach(int64_t handle, mp__arena_map *m) {
  int fd = (int)handle;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return mp__os_error(errno);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return map_fd(fd, (uint64_t)st.st_size, m);
}

int64_t mp__os_arena_handle(void) { return arena_fd; }

int mp__os_arena_commit(uint64_t upto) {
  (void)upto; /* shared file pages appear on first touch */
  return 0;
}

void mp__os_arena_discard(void *addr, size_t len) {
  /* Punches the pages out of the memfd for every process at once. */
  uintptr_t start = ((uintptr_t)addr + 4095) & ~(uintptr_t)4095;
  uintptr_t end = ((uintptr_t)addr + len) & ~(uintptr_t)4095;
  if (end > start)
    madvise((void *)start, end - start, MADV_REMOVE);
}
