/* The security every named object of the library is created with: only the
 * user running the program may open it (one ACE, for the user's own SID,
 * protected from inheritance). A NULL descriptor would give the token's
 * default DACL, which also admits SYSTEM and the Administrators group. */
#include <stdio.h>
#include <wchar.h>

#include "internal.h" /* <windows.h> first: <sddl.h> needs it */

#include <sddl.h>

static SECURITY_ATTRIBUTES owner_only;
static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
static int build_rc;

static int build(void) {
  HANDLE token;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
    return mp__os_error((int)GetLastError());
  union {
    TOKEN_USER user;
    unsigned char bytes[512]; /* a SID is at most 68 bytes */
  } info;
  DWORD n = 0;
  BOOL ok = GetTokenInformation(token, TokenUser, &info, sizeof info, &n);
  DWORD err = GetLastError();
  CloseHandle(token);
  if (!ok)
    return mp__os_error((int)err);
  wchar_t *sid = NULL;
  if (!ConvertSidToStringSidW(info.user.User.Sid, &sid))
    return mp__os_error((int)GetLastError());
  /* D:P = a protected DACL; GA = generic all, for that SID alone. */
  wchar_t sddl[256];
  swprintf(sddl, sizeof sddl / sizeof sddl[0], L"D:P(A;;GA;;;%ls)", sid);
  LocalFree(sid);
  PSECURITY_DESCRIPTOR sd = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
          sddl, SDDL_REVISION_1, &sd, NULL))
    return mp__os_error((int)GetLastError());
  owner_only.nLength = sizeof owner_only;
  owner_only.lpSecurityDescriptor = sd; /* kept for the process's life */
  owner_only.bInheritHandle = FALSE;
  return 0;
}

static BOOL CALLBACK build_once(INIT_ONCE *o, void *arg, void **ctx) {
  (void)o;
  (void)arg;
  (void)ctx;
  build_rc = build();
  return TRUE;
}

/* A one-time initialisation of its own, not a local lock: callers may hold
 * MP__LOCK_OS already, and Windows has no fork to make it unsafe. */
int mp__win_owner_only(SECURITY_ATTRIBUTES **out) {
  InitOnceExecuteOnce(&once, build_once, NULL, NULL);
  *out = build_rc == 0 ? &owner_only : NULL;
  return build_rc;
}
