# FindCMocka: locate the cmocka unit-testing library.
#
# Gives the imported target CMocka::cmocka (and CMOCKA_FOUND,
# CMOCKA_INCLUDE_DIR, CMOCKA_LIBRARY).
#
# Where it looks, first match wins:
#   1. CMOCKA_ROOT (CMake variable or environment variable), then each entry
#      of CMAKE_PREFIX_PATH: a prefix holding include/cmocka.h and lib/.
#      Searched as given, even when cross-compiling: the toolchain file
#      restricts the normal search to the MinGW sysroot, and the cross-built
#      cmocka (scripts/build-cmocka-mingw.sh) lives in the build tree.
#   2. The normal search paths (natively: Debian's libcmocka-dev).
#
# We do not use cmocka's own cmocka-config.cmake: the 1.1.x one defines no
# target and names only the shared library, while on Windows we want the
# static one (libcmocka-static.a), so the .exe files need no cmocka.dll.

set(CMOCKA_ROOT "${CMOCKA_ROOT}" CACHE PATH "Prefix of a cmocka installation (optional)")

set(_cmocka_roots ${CMOCKA_ROOT} $ENV{CMOCKA_ROOT} ${CMAKE_PREFIX_PATH})
# Static first when targeting Windows; natively the shared one is fine.
if(WIN32)
  set(_cmocka_names cmocka-static cmocka)
else()
  set(_cmocka_names cmocka cmocka-static)
endif()

if(_cmocka_roots)
  find_path(CMOCKA_INCLUDE_DIR cmocka.h
    PATHS ${_cmocka_roots} PATH_SUFFIXES include
    NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  find_library(CMOCKA_LIBRARY NAMES ${_cmocka_names}
    PATHS ${_cmocka_roots} PATH_SUFFIXES lib lib64
    NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
endif()
# No-ops when the explicit search above already succeeded.
find_path(CMOCKA_INCLUDE_DIR cmocka.h)
find_library(CMOCKA_LIBRARY NAMES ${_cmocka_names})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CMocka
  REQUIRED_VARS CMOCKA_LIBRARY CMOCKA_INCLUDE_DIR)
mark_as_advanced(CMOCKA_INCLUDE_DIR CMOCKA_LIBRARY)

if(CMOCKA_FOUND AND NOT TARGET CMocka::cmocka)
  add_library(CMocka::cmocka UNKNOWN IMPORTED)
  set_target_properties(CMocka::cmocka PROPERTIES
    IMPORTED_LOCATION "${CMOCKA_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}")
endif()

unset(_cmocka_roots)
unset(_cmocka_names)
