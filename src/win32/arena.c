/* The arena's memory on Windows: an unnamed pagefile-backed section
 * reserved at full size (SEC_RESERVE) and committed as the allocator
 * grows. No name: the kernel frees it with its last handle or view, kill
 * included. Commits apply to the section, so every view sees them, but
 * each view must also commit the range before touching it. */
#include "shared.h"

static HANDLE section;
static void *view;
static uint64_t view_size;
/* How far this view is committed; only grows. */
static _Atomic uint64_t view_committed;

static int map_section(HANDLE h, uint64_t size, mp__arena_map *m) {
  void *v = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
  if (!v)
    return mp__os_error((int)GetLastError());
  /* The size of the view as the OS mapped it, not as the header (written
   * by another process) says. */
  MEMORY_BASIC_INFORMATION info;
  uint64_t mapped = 0;
  for (char *p = v; VirtualQuery(p, &info, sizeof info) != 0 &&
                    info.AllocationBase == v;
       p += info.RegionSize)
    mapped += info.RegionSize;
  if (size && size < mapped)
    mapped = size;
  /* The header and the owner table (owner.c) first: they are read before
   * any block. */
  if (mapped < MP__ARENA_HEADER_BYTES ||
      !VirtualAlloc(v, MP__ARENA_HEADER_BYTES, MEM_COMMIT, PAGE_READWRITE)) {
    int rc = mp__os_error((int)GetLastError());
    UnmapViewOfFile(v);
    return rc;
  }
  section = h;
  view = v;
  view_size = mapped;
  atomic_store(&view_committed, MP__ARENA_HEADER_BYTES);
  m->base = v;
  m->size = mapped;
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
  if (upto <= atomic_load(&view_committed))
    return 0;
  /* In 1 MiB steps, so that the next few allocations need no call. */
  uint64_t target = (upto + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
  if (target > view_size)
    target = view_size;
  if (upto > target)
    return MP_ENOMEM;
  if (!VirtualAlloc(view, (SIZE_T)target, MEM_COMMIT, PAGE_READWRITE))
    return mp__os_error((int)GetLastError());
  uint64_t seen = atomic_load(&view_committed);
  while (seen < target &&
         !atomic_compare_exchange_weak(&view_committed, &seen, target)) {
  }
  return 0;
}

void mp__os_arena_discard(void *addr, size_t len) {
  /* A view of a section cannot be decommitted; its pages stay until the
   * family ends. Reuse through the free lists bounds the growth. */
  (void)addr;
  (void)len;
}
