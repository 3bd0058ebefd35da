# Toolchain file: cross-compile for 64-bit Windows with Debian's MinGW-w64
# (apt-get install mingw-w64), then run the results under Wine.
#
#   cmake -S . -B build/mingw -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
#         -DCMOCKA_ROOT=$PWD/build/deps/cmocka-mingw
#
# Debian ships two flavours of the compiler: "-win32" (native Windows
# threads, no libwinpthread-1.dll to carry around) and "-posix". We ask for
# the win32 one by name so the result does not depend on which flavour
# update-alternatives happens to point x86_64-w64-mingw32-gcc at.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MINGW_TRIPLE x86_64-w64-mingw32)

find_program(MINGW_C_COMPILER NAMES ${MINGW_TRIPLE}-gcc-win32 ${MINGW_TRIPLE}-gcc)
find_program(MINGW_CXX_COMPILER NAMES ${MINGW_TRIPLE}-g++-win32 ${MINGW_TRIPLE}-g++)
find_program(MINGW_RC_COMPILER NAMES ${MINGW_TRIPLE}-windres)
if(NOT MINGW_C_COMPILER)
  message(FATAL_ERROR "${MINGW_TRIPLE}-gcc not found: apt-get install mingw-w64")
endif()

set(CMAKE_C_COMPILER ${MINGW_C_COMPILER})
if(MINGW_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER ${MINGW_CXX_COMPILER})
endif()
if(MINGW_RC_COMPILER)
  set(CMAKE_RC_COMPILER ${MINGW_RC_COMPILER})
endif()

# Headers, libraries and CMake packages come from the MinGW sysroot (and
# from any root given with -DCMAKE_FIND_ROOT_PATH=..., e.g. an install
# prefix of Windows libraries), never from the build machine's /usr;
# programs (pkg-config, code generators) are the build machine's. The
# cross-built cmocka is found through CMOCKA_ROOT by cmake/FindCMocka.cmake.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${MINGW_TRIPLE})
list(REMOVE_DUPLICATES CMAKE_FIND_ROOT_PATH)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The emulator (Wine) that runs test executables is set up by the top-level
# CMakeLists.txt, which knows the build tree and so where the Wine prefix
# goes; a CMAKE_CROSSCOMPILING_EMULATOR given on the command line wins.
