/* Target address <-> (module, offset).
 *
 * A spawned child runs the same executable, but address-space
 * randomisation loads it (and every shared library) at another base. The
 * offset from the module's base is the same in both, and needs no symbol
 * table, so static functions work. dl_iterate_phdr names modules by path;
 * the executable has the empty name and always comes first. */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

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
  const char *name = info->dlpi_name ? info->dlpi_name : "";
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
  return c.found ? 0 : MP_EINVAL;
}

typedef struct {
  const mp__module_ref *ref;
  uintptr_t addr;
  int index;
} resolve_ctx;

static int resolve_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  resolve_ctx *c = data;
  const char *name = info->dlpi_name ? info->dlpi_name : "";
  int match = c->ref->is_main ? c->index == 0 : strcmp(name, c->ref->path) == 0;
  c->index++;
  if (!match)
    return 0;
  uintptr_t addr = info->dlpi_addr + (uintptr_t)c->ref->offset;
  /* A different build of the executable would put code elsewhere; refuse
   * anything that is not code rather than jump into data. */
  if (in_segment(info, addr, 1))
    c->addr = addr;
  return 1;
}

void *mp__module_resolve(const mp__module_ref *ref) {
  resolve_ctx c = {ref, 0, 0};
  dl_iterate_phdr(resolve_cb, &c);
  if (!c.addr && !ref->is_main && ref->path[0]) {
    /* A library the parent loaded with dlopen is not loaded here yet. The
     * handle is kept open on purpose: the target lives in it. */
    if (dlopen(ref->path, RTLD_NOW | RTLD_GLOBAL)) {
      c.index = 0;
      dl_iterate_phdr(resolve_cb, &c);
    }
  }
  return (void *)c.addr;
}
