/* Target address <-> (module, offset), as in ../posix/module.c: a module's
 * load base differs between parent and child under ASLR, the offset of a
 * function inside it does not.
 *
 * A DLL named by the parent is loaded in the child only once the file at
 * that path is shown to be the file the parent has mapped (image.c). The
 * child holds the file open, shared for reading only, from the check until
 * LoadLibrary has mapped it: while that handle is open nobody can rename,
 * replace or write it. */
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
    /* The executable is vouched for by its own identity (image.c). A
     * DLL whose file cannot be found any more (replaced, where the name
     * does not follow renames) keeps the zero identity: its child
     * refuses, which it should, rather than the start failing here. */
    if (mp__win_module_identity(mod, &ref->file) < 0)
      memset(&ref->file, 0, sizeof ref->file);
  }
  return 0;
}

/* The zero identity, "unknown", matches nothing. */
static int same_file(const mp__file_id *a, const mp__file_id *b) {
  return (a->dev | a->ino) != 0 && a->dev == b->dev && a->ino == b->ino;
}

/* Loads the DLL at wpath if it is the parent's file; kept loaded: the
 * target is in it. */
static HMODULE load_checked(const wchar_t *wpath, const mp__file_id *want,
                            const char **why) {
  HANDLE f = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL,
                         OPEN_EXISTING, 0, NULL);
  if (f == INVALID_HANDLE_VALUE) {
    *why = "the target's module cannot be opened";
    return NULL;
  }
  mp__file_id id;
  HMODULE mod = NULL;
  if (mp__win_file_identity(f, &id) < 0 || !same_file(&id, want))
    *why = "the target's module is not the file the parent loaded (was it "
           "replaced on disk?)";
  else if (!(mod = LoadLibraryW(wpath)))
    *why = "the target's module cannot be loaded";
  CloseHandle(f);
  return mod;
}

void *mp__module_resolve(const mp__module_ref *ref, const char **why) {
  HMODULE mod = NULL;
  *why = NULL;
  if (ref->is_main) {
    mod = GetModuleHandleW(NULL);
  } else {
    wchar_t wpath[MAX_PATH * 4];
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, ref->path, -1,
                             wpath, sizeof wpath / sizeof wpath[0])) {
      *why = "the target's module path is not valid UTF-8";
      return NULL;
    }
    mod = GetModuleHandleW(wpath);
    /* A DLL the parent loaded at run time. */
    if (!mod && !(mod = load_checked(wpath, &ref->file, why)))
      return NULL;
    /* Also a DLL this process loaded by itself under that name: the code
     * at the target must come from the parent's file. */
    mp__file_id id;
    if (mp__win_module_identity(mod, &id) < 0 || !same_file(&id, &ref->file)) {
      *why = "the target's module is not the file the parent loaded";
      return NULL;
    }
  }
  if (!is_code(mod, ref->offset)) {
    *why = "the target is not code in its module";
    return NULL;
  }
  return (char *)mod + ref->offset;
}
