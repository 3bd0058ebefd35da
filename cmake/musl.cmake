# Toolchain file: Linux with musl instead of glibc, through Debian's
# musl-tools (apt-get install musl-tools), linking fully static programs as
# Alpine-style images would run them.
#
#   cmake -S . -B build/musl -DCMAKE_TOOLCHAIN_FILE=cmake/musl.cmake \
#         -DCMOCKA_ROOT=$PWD/build/deps/cmocka-musl
#
# musl-gcc sees musl's headers only (not glibc's, nor the kernel's linux/
# headers): the library includes no <linux/...> header for that reason.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

find_program(MUSL_C_COMPILER NAMES musl-gcc)
if(NOT MUSL_C_COMPILER)
  message(FATAL_ERROR "musl-gcc not found: apt-get install musl-tools")
endif()
set(CMAKE_C_COMPILER ${MUSL_C_COMPILER})

# Static programs: no musl dynamic loader is needed to run them. (-static in
# the linker flags of executables only: a shared library is still built as
# one when BUILD_SHARED_LIBS is on.)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
