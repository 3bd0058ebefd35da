/* Target address <-> (module, offset), as in ../posix/module.c: a module's
 * load base differs between parent and child under ASLR, the offset of a
 * function inside it does not. */
#include <string.h>

#include "internal.h"

/* 1 if rva falls in an executable section of the image at base. */
static int is_code(HMODULE base, uint64_t rva) {
  const unsigned char *image = (const unsigned char *)base;
  const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)image;
  if (dos->e_magic != IMAGE_DOS_SIGNATURE)
    return 0;
  const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(image + dos->e_lfanew);
  if (nt->Signature != IMAGE_NT_SIGNATURE)
    return 0;
  const IMAGE_SECTION_HEADER *s = IMAGE_FIRST_SECTION(nt);
  for (unsigned i = 0; i < nt->FileHeader.NumberOfSections; i++, s++) {
    uint64_t start = s->VirtualAddress;
    uint64_t size = s->Misc.VirtualSize ? s->Misc.VirtualSize : s->SizeOfRawData;
    if (rva >= start && rva < start + size)
      return (s->Characteristics & IMAGE_SCN_MEM_EXECUTE) != 0;
  }
  return 0;
}

int mp__module_locate(const void *addr, mp__module_ref *ref) {
  memset(ref, 0, sizeof *ref);
  HMODULE mod;
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                              GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                          (LPCWSTR)addr, &mod))
    return MP_EINVAL;
  ref->offset = (uint64_t)((const char *)addr - (const char *)mod);
  if (!is_code(mod, ref->offset))
    return MP_EINVAL;
  ref->is_main = mod == GetModuleHandleW(NULL);
  if (!ref->is_main) {
    wchar_t wpath[MAX_PATH * 4];
    DWORD n = GetModuleFileNameW(mod, wpath, sizeof wpath / sizeof wpath[0]);
    if (n == 0 || n >= sizeof wpath / sizeof wpath[0] ||
        !WideCharToMultiByte(CP_UTF8, 0, wpath, -1, ref->path,
                             (int)sizeof ref->path, NULL, NULL))
      return MP_EINVAL;
  }
  return 0;
}

void *mp__module_resolve(const mp__module_ref *ref) {
  HMODULE mod = NULL;
  if (ref->is_main) {
    mod = GetModuleHandleW(NULL);
  } else {
    wchar_t wpath[MAX_PATH * 4];
    if (!MultiByteToWideChar(CP_UTF8, 0, ref->path, -1, wpath,
                             sizeof wpath / sizeof wpath[0]))
      return NULL;
    mod = GetModuleHandleW(wpath);
    /* A DLL the parent loaded at run time; kept loaded: the target is in it. */
    if (!mod)
      mod = LoadLibraryW(wpath);
  }
  if (!mod || !is_code(mod, ref->offset))
    return NULL;
  return (char *)mod + ref->offset;
}
