/* The arena's memory on Windows: an unnamed pagefile-backed section
 * reserved at full size (SEC_RESERVE) and committed as the allocator
 * grows. No name: the kernel frees it with its last handle or view, kill
 * included. Commits apply to the section, so every view sees them, but
 * each view must also commit the range before touching it. */
#include "shared.h"

static HANDLE section;

static int map_section(HANDLE h, uint64_t size, mp__arena_map *m) {
  void *view = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
  if (!view)
    return mp__os_error((int)GetLastError());
  /* The header page first: it says how much the family has committed. */
  if (!VirtualAlloc(view, 65536, MEM_COMMIT, PAGE_READWRITE)) {
    int rc = mp__os_error((int)GetLastError());
    UnmapViewOfFile(view);
    return rc;
  }
  /* The size of the view as the OS mapped it, not as the header (written
   * by another process) says. */
  MEMORY_BASIC_INFORMATION info;
  uint64_t mapped = 0;
  for (char *p = view; VirtualQuery(p, &info, sizeof info) != 0 &&
                       info.AllocationBase == view;
       p += info.RegionSize)
    mapped += info.RegionSize;
  section = h;
  m->base = view;
  m->size = size && size < mapped ? size : mapped;
  m->usable = 65536;
  return 0;
}

int mp__os_arena_create(uint64_t size_wanted, mp__arena_map *m) {
  for (uint64_t size = size_wanted; size >= (64ull << 20); size /= 4) {
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
                                  PAGE_READWRITE | SEC_RESERVE,
                                  (DWORD)(size >> 32), (DWORD)size, NULL);
    if (!h)
      continue;
    if (map_section(h, size, m) == 0)
      return 0;
    CloseHandle(h);
  }
  return mp__os_error((int)GetLastError());
}

int mp__os_arena_attach(int64_t handle, mp__arena_map *m) {
  return map_section((HANDLE)(intptr_t)handle, 0, m);
}

int64_t mp__os_arena_handle(void) { return (int64_t)(intptr_t)section; }

int mp__os_arena_commit(uint64_t upto) {
  if (upto <= atomic_load(&mp__arena_usable))
    return 0;
  /* Commit in 1 MiB steps past what was asked, and at least as far as
   * the family has, so that the next few calls take the fast path. */
  uint64_t family = atomic_load(&mp__arena_get()->committed);
  uint64_t target = (upto + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
  if (target < family)
    target = family;
  if (target > mp__arena_get()->size)
    target = mp__arena_get()->size;
  if (upto > target)
    return MP_ENOMEM;
  if (!VirtualAlloc(mp__arena_get(), (SIZE_T)target, MEM_COMMIT, PAGE_READWRITE))
    return mp__os_error((int)GetLastError());
  atomic_store(&mp__arena_usable, target);
  uint64_t seen = family;
  while (seen < target &&
         !atomic_compare_exchange_weak(&mp__arena_get()->committed, &seen, target)) {
  }
  return 0;
}

void mp__os_arena_discard(void *addr, size_t len) {
  /* A view of a section cannot be decommitted; its pages stay until the
   * family ends. Reuse through the free lists bounds the growth. */
  (void)addr;
  (void)len;
}
