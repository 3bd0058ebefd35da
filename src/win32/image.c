/* File identities on Windows: of the running executable and of a loaded
 * DLL, as volume serial number and file index.
 *
 * A loaded image cannot be written or deleted, but it can be renamed, and
 * another file put at its path. The name the kernel gives for a mapping
 * (GetMappedFileNameW) follows such a rename on Windows; Wine 8 keeps the
 * old name, as it does for GetFinalPathNameByHandleW. So the file found by
 * that name is accepted as the image's only if its headers are the ones
 * mapped in memory (everything but ImageBase, which the loader rewrites
 * when it relocates): a different build at that path is caught, on Wine
 * too. Only a file with identical headers could pass there, and the
 * identity then names that file. */
#include <string.h>
#include <wchar.h>

#include "internal.h"

#include <psapi.h>

int mp__win_file_identity(HANDLE h, mp__file_id *id) {
  BY_HANDLE_FILE_INFORMATION fi;
  if (!GetFileInformationByHandle(h, &fi))
    return mp__os_error((int)GetLastError());
  id->dev = fi.dwVolumeSerialNumber;
  id->ino = (uint64_t)fi.nFileIndexHigh << 32 | fi.nFileIndexLow;
  return 0;
}

/* The headers mapped at mod are the ones at the start of the file at h. */
static int same_headers(HMODULE mod, HANDLE h) {
  const unsigned char *mem = (const unsigned char *)mod;
  const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)mem;
  if (dos->e_magic != IMAGE_DOS_SIGNATURE || dos->e_lfanew <= 0 ||
      dos->e_lfanew > 1024)
    return 0;
  const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(mem + dos->e_lfanew);
  if (nt->Signature != IMAGE_NT_SIGNATURE)
    return 0;
  size_t base_at =
      (size_t)((const unsigned char *)&nt->OptionalHeader.ImageBase - mem);
  size_t n = nt->OptionalHeader.SizeOfHeaders;
  unsigned char file[4096];
  if (n > sizeof file)
    n = sizeof file;
  DWORD got = 0;
  LARGE_INTEGER zero = {0};
  if (!SetFilePointerEx(h, zero, NULL, FILE_BEGIN) ||
      !ReadFile(h, file, (DWORD)n, &got, NULL) || got != n ||
      base_at + sizeof nt->OptionalHeader.ImageBase > n)
    return 0;
  return memcmp(file, mem, base_at) == 0 &&
         memcmp(file + base_at + sizeof nt->OptionalHeader.ImageBase,
                mem + base_at + sizeof nt->OptionalHeader.ImageBase,
                n - base_at - sizeof nt->OptionalHeader.ImageBase) == 0;
}

/* An open handle on the file mod was mapped from (share all: holding it
 * prevents nothing), or INVALID_HANDLE_VALUE. */
static HANDLE open_image(HMODULE mod) {
  static const wchar_t device[] = L"\\Device\\", nt[] = L"\\??\\";
  wchar_t name[MAX_PATH * 4], path[MAX_PATH * 4 + 16];
  DWORD n = GetMappedFileNameW(GetCurrentProcess(), mod, name,
                               sizeof name / sizeof name[0]);
  if (n == 0 || n >= sizeof name / sizeof name[0]) {
    /* No name from the memory manager: the path it was loaded from. */
    n = GetModuleFileNameW(mod, path, sizeof path / sizeof path[0]);
    if (n == 0 || n >= sizeof path / sizeof path[0])
      return INVALID_HANDLE_VALUE;
  } else if (wcsncmp(name, device, wcslen(device)) == 0) {
    swprintf(path, sizeof path / sizeof path[0], L"\\\\?\\GLOBALROOT%ls", name);
  } else if (wcsncmp(name, nt, wcslen(nt)) == 0) {
    swprintf(path, sizeof path / sizeof path[0], L"\\\\?\\%ls",
             name + wcslen(nt));
  } else {
    wcscpy(path, name);
  }
  HANDLE h = CreateFileW(path, GENERIC_READ,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, 0, NULL);
  if (h != INVALID_HANDLE_VALUE && !same_headers(mod, h)) {
    CloseHandle(h);
    SetLastError(ERROR_FILE_INVALID);
    return INVALID_HANDLE_VALUE;
  }
  return h;
}

int mp__win_module_identity(HMODULE mod, mp__file_id *id) {
  HANDLE h = open_image(mod);
  if (h == INVALID_HANDLE_VALUE)
    return mp__os_error((int)GetLastError());
  int rc = mp__win_file_identity(h, id);
  CloseHandle(h);
  return rc;
}

/* The executable, opened once (the guard asks first, at the top of main)
 * and kept open for the life of the process: its identity goes in every
 * start block, and its path is taken from it at every spawn. */
static HANDLE exe_file = INVALID_HANDLE_VALUE;
static mp__file_id exe_id;
static DWORD exe_error; /* why it could not be taken, 0 if it was */
static INIT_ONCE exe_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK open_exe(INIT_ONCE *o, void *arg, void **ctx) {
  (void)o;
  (void)arg;
  (void)ctx;
  exe_file = open_image(GetModuleHandleW(NULL));
  if (exe_file == INVALID_HANDLE_VALUE ||
      mp__win_file_identity(exe_file, &exe_id) < 0)
    exe_error = GetLastError() ? GetLastError() : ERROR_FILE_INVALID;
  return TRUE;
}

int mp__os_exe_identity(mp__file_id *id) {
  InitOnceExecuteOnce(&exe_once, open_exe, NULL, NULL);
  *id = exe_id;
  return exe_error ? mp__os_error((int)exe_error) : 0;
}

int mp__win_exe_path(wchar_t *buf, DWORD cap) {
  InitOnceExecuteOnce(&exe_once, open_exe, NULL, NULL);
  DWORD n = 0;
  if (exe_file != INVALID_HANDLE_VALUE)
    n = GetFinalPathNameByHandleW(exe_file, buf, cap,
                                  FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (n == 0 || n >= cap)
    n = GetModuleFileNameW(NULL, buf, cap);
  if (n == 0 || n >= cap)
    return mp__os_error((int)GetLastError());
  return 0;
}
