/* Target address <-> (module, offset).
 *
 * A spawned child runs the same executable, but address-space
 * randomisation loads it (and every shared library) at another base. The
 * offset from the module's base is the same in both, and needs no symbol
 * table, so static functions work. dl_iterate_phdr names modules by path;
 * the executable has the empty name and always comes first.
 *
 * A library named by the parent is loaded in the child only once the file
 * at that path is shown to be the very file the parent has mapped
 * (image.c): the path comes from another process, and the file may have
 * been replaced since the parent loaded it. On Linux the file is opened
 * once, checked through that descriptor and loaded through it
 * (/proc/self/fd/N), so nobody can swap it between the check and the
 * load. Elsewhere it is checked by path before and after dlopen, which
 * leaves a window in which a replaced file's constructors could run. */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Libraries this process loaded through a descriptor: the loader knows
 * them as /proc/self/fd/N, a name that means nothing to a child of ours,
 * so their real path is kept. Written by the guard before the target runs
 * (one library at most), read-only afterwards; forked children inherit it. */
#define FD_NAME "/proc/self/fd/"
static struct {
  uintptr_t base;
  char path[sizeof((mp__module_ref *)0)->path];
} loaded_by_fd[4];
static size_t n_loaded_by_fd;

static const char *real_name(const struct dl_phdr_info *info) {
  const char *name = info->dlpi_name ? info->dlpi_name : "";
  if (strncmp(name, FD_NAME, sizeof FD_NAME - 1) == 0)
    for (size_t i = 0; i < n_loaded_by_fd; i++)
      if (loaded_by_fd[i].base == (uintptr_t)info->dlpi_addr)
        return loaded_by_fd[i].path;
  return name;
}

/* The identity of a library's file as the parent and the child both
 * take it. */
static int module_file_id(const void *addr, const char *path, mp__file_id *id) {
#ifdef __linux__
  (void)path;
  return mp__posix_mapped_id(addr, id);
#else
  (void)addr;
  struct stat st;
  if (stat(path, &st) != 0)
    return -1;
  id->dev = (uint64_t)st.st_dev;
  id->ino = (uint64_t)st.st_ino;
  return 0;
#endif
}

/* The zero identity, "unknown", matches nothing. */
static int same_file(const mp__file_id *a, const mp__file_id *b) {
  return (a->dev | a->ino) != 0 && a->dev == b->dev && a->ino == b->ino;
}

typedef struct {
  uintptr_t addr;
  mp__module_ref *ref;
  int found;
} locate_ctx;

static int in_segment(const struct dl_phdr_info *info, uintptr_t addr,
                      int want_exec) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || (want_exec && !(ph->p_flags & PF_X)))
      continue;
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (addr >= start && addr < start + ph->p_memsz)
      return 1;
  }
  return 0;
}

static int locate_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  locate_ctx *c = data;
  if (!in_segment(info, c->addr, 1))
    return 0;
  const char *name = real_name(info);
  c->ref->is_main = name[0] == '\0';
  if (strlen(name) >= sizeof c->ref->path)
    return 1; /* found, but unnameable: found stays 0 */
  strcpy(c->ref->path, name);
  c->ref->offset = c->addr - info->dlpi_addr;
  c->found = 1;
  return 1;
}

int mp__module_locate(const void *addr, mp__module_ref *ref) {
  locate_ctx c = {(uintptr_t)addr, ref, 0};
  memset(ref, 0, sizeof *ref);
  dl_iterate_phdr(locate_cb, &c);
  /* Not inside any loaded module's code: a JIT buffer or a bad pointer. */
  if (!c.found)
    return MP_EINVAL;
  /* The executable is vouched for by its own identity (image.c). A
   * library whose mapping has no file identity keeps the zero one: its
   * child refuses, rather than the start failing here. */
  if (!ref->is_main && module_file_id(addr, ref->path, &ref->file) != 0)
    memset(&ref->file, 0, sizeof ref->file);
  return 0;
}

typedef struct {
  const mp__module_ref *ref;
  uintptr_t base; /* match by load base instead of by name, when set */
  uintptr_t addr;
  int index, found;
} resolve_ctx;

static int resolve_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  resolve_ctx *c = data;
  int match = c->base           ? (uintptr_t)info->dlpi_addr == c->base
              : c->ref->is_main ? c->index == 0
                                : strcmp(real_name(info), c->ref->path) == 0;
  c->index++;
  if (!match)
    return 0;
  c->found = 1;
  uintptr_t addr = info->dlpi_addr + (uintptr_t)c->ref->offset;
  /* A different build would put code elsewhere; refuse anything that is
   * not code rather than jump into data. */
  if (in_segment(info, addr, 1))
    c->addr = addr;
  return 1;
}

/* Loads the library at ref->path if it is the parent's file: the
 * handle is kept open on purpose (the target lives in it). Sets c->base. */
static const char *load_checked(const mp__module_ref *ref, resolve_ctx *c) {
#ifdef __linux__
  int fd = open(ref->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "the target's module cannot be opened";
  struct stat st;
  mp__file_id id;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      mp__posix_fd_mapped_id(fd, &id) != 0 || !same_file(&id, &ref->file)) {
    close(fd);
    return "the target's module is not the file the parent loaded (was it "
           "replaced on disk?)";
  }
  char name[sizeof FD_NAME + 16];
  snprintf(name, sizeof name, FD_NAME "%d", fd);
  void *h = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
  close(fd);
  struct link_map *lm = NULL;
  if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
    return "the target's module cannot be loaded";
  c->base = (uintptr_t)lm->l_addr;
  if (n_loaded_by_fd < sizeof loaded_by_fd / sizeof loaded_by_fd[0]) {
    loaded_by_fd[n_loaded_by_fd].base = c->base;
    strcpy(loaded_by_fd[n_loaded_by_fd].path, ref->path);
    n_loaded_by_fd++;
  }
  return NULL;
#else
  mp__file_id id;
  if (module_file_id(NULL, ref->path, &id) != 0 || !same_file(&id, &ref->file))
    return "the target's module is not the file the parent loaded (was it "
           "replaced on disk?)";
  void *h = dlopen(ref->path, RTLD_NOW | RTLD_GLOBAL);
  struct link_map *lm = NULL;
  if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
    return "the target's module cannot be loaded";
  c->base = (uintptr_t)lm->l_addr;
  return NULL; /* checked again below, by path */
#endif
}

void *mp__module_resolve(const mp__module_ref *ref, const char **why) {
  resolve_ctx c = {ref, 0, 0, 0, 0};
  *why = NULL;
  dl_iterate_phdr(resolve_cb, &c);
  if (ref->is_main) {
    if (!c.addr)
      *why = "the target is not code in this executable";
    return (void *)c.addr;
  }
  if (!c.found) {
    /* A library the parent loaded with dlopen, not loaded here yet. */
    if ((*why = load_checked(ref, &c)) != NULL)
      return NULL;
    c.index = 0;
    dl_iterate_phdr(resolve_cb, &c);
  }
  mp__file_id id;
  if (!c.addr) {
    *why = "the target is not code in its module";
  } else if (module_file_id((void *)c.addr, ref->path, &id) != 0 ||
             !same_file(&id, &ref->file)) {
    /* Also a library this process loaded by itself under that name: the
     * code at the target must come from the parent's file. */
    *why = "the target's module is not the file the parent loaded";
    c.addr = 0;
  }
  return (void *)c.addr;
}
