/* File identities on POSIX: of the running executable, and of the file
 * behind a mapping.
 *
 * A path names whatever file is there now; what a spawned child must
 * compare is the file its parent actually runs. Two ways of asking, each
 * compared only with itself:
 *
 *   - the executable: stat("/proc/self/exe"), which follows the kernel's
 *     link to the file this process was started from, even once that file
 *     is renamed, replaced or deleted;
 *   - a shared library: the device and inode /proc/self/maps lists for
 *     the mapping. On overlayfs (containers) these are the underlying
 *     file's, which stat() of the path does not give, so the child asks
 *     the same question of the file it is about to load, by mapping a page
 *     of it (mp__posix_fd_mapped_id). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Taken once; a forked child runs the same file, so the copy stays true.
 * Threads that race to take it write the same values. */
static _Atomic uint64_t exe_dev, exe_ino;
static _Atomic int exe_known;

int mp__os_exe_identity(mp__file_id *id) {
  if (!atomic_load_explicit(&exe_known, memory_order_acquire)) {
#ifdef __linux__
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0)
      return mp__os_error(errno);
    atomic_store_explicit(&exe_dev, (uint64_t)st.st_dev, memory_order_relaxed);
    atomic_store_explicit(&exe_ino, (uint64_t)st.st_ino, memory_order_relaxed);
    atomic_store_explicit(&exe_known, 1, memory_order_release);
#else
    /* No link to the running file to ask: no spawn until a backend for
     * this OS says how (see README, limits). */
    (void)id;
    return MP_ENOTSUP;
#endif
  }
  id->dev = atomic_load_explicit(&exe_dev, memory_order_relaxed);
  id->ino = atomic_load_explicit(&exe_ino, memory_order_relaxed);
  return 0;
}

static uint64_t hex(const char **p) {
  uint64_t v = 0;
  for (;; (*p)++) {
    char c = **p;
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return v;
    v = v * 16 + (uint64_t)d;
  }
}

static uint64_t dec(const char **p) {
  uint64_t v = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++)
    v = v * 10 + (uint64_t)(**p - '0');
  return v;
}

static void skip_field(const char **p) {
  while (**p && **p != ' ')
    (*p)++;
  while (**p == ' ')
    (*p)++;
}

/* One line of maps: "start-end perms offset major:minor inode path". 1 if
 * it covers addr (*id set, zero for an anonymous mapping). */
static int line_covers(const char *l, uintptr_t addr, mp__file_id *id) {
  uint64_t start = hex(&l);
  if (*l++ != '-')
    return 0;
  uint64_t end = hex(&l);
  if (addr < start || addr >= end)
    return 0;
  skip_field(&l); /* to perms */
  skip_field(&l); /* to offset */
  skip_field(&l); /* to device */
  uint64_t major = hex(&l);
  if (*l++ != ':')
    return 0;
  uint64_t minor = hex(&l);
  while (*l == ' ')
    l++;
  id->dev = major << 32 | minor;
  id->ino = dec(&l);
  return 1;
}

int mp__posix_mapped_id(const void *addr, mp__file_id *id) {
#ifdef __linux__
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  /* A line holds a path of up to PATH_MAX bytes after about 80 others. */
  char buf[8192];
  size_t have = 0;
  int found = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    have += (size_t)n;
    buf[have] = '\0';
    char *line = buf, *nl;
    while (!found && (nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      found = line_covers(line, (uintptr_t)addr, id);
      line = nl + 1;
    }
    if (found)
      break;
    have = (size_t)(buf + have - line);
    memmove(buf, line, have);
    if (have == sizeof buf - 1)
      have = 0; /* a line longer than any real one: drop it */
  }
  close(fd);
  return found && id->ino != 0 ? 0 : -1;
#else
  (void)addr;
  (void)id;
  return -1;
#endif
}

int mp__posix_fd_mapped_id(int fd, mp__file_id *id) {
  long page = sysconf(_SC_PAGESIZE);
  void *m = mmap(NULL, page > 0 ? (size_t)page : 4096u, PROT_READ, MAP_PRIVATE,
                 fd, 0);
  if (m == MAP_FAILED)
    return -1;
  int rc = mp__posix_mapped_id(m, id);
  munmap(m, page > 0 ? (size_t)page : 4096u);
  return rc;
}
