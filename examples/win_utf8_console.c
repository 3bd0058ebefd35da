/* Windows only; linked into every example by examples/CMakeLists.txt.
 * Nothing to do with mproc.
 *
 * The examples print UTF-8 (the seeds' Chinese text). A Windows console
 * shows UTF-8 correctly only when its output code page is 65001, so this
 * switches it before main runs. (Python needs no such step: it writes to
 * the console in UTF-16.) Output to a pipe or a file is not affected.
 *
 * The old code page is not put back at exit: the children share the
 * console and may still be printing when the program that started them
 * returns from main. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static void utf8_console(void) {
  if (GetConsoleOutputCP() != 0) /* 0: no console attached */
    SetConsoleOutputCP(CP_UTF8);
}

#if defined(_MSC_VER)
/* A pointer in the C runtime's initializer table; /include keeps the
 * linker from dropping it, since nothing refers to it by name. */
#pragma section(".CRT$XCU", read)
__declspec(allocate(".CRT$XCU")) void (*mproc_example_utf8_init)(void) =
    utf8_console;
#ifdef _M_IX86
#pragma comment(linker, "/include:_mproc_example_utf8_init")
#else
#pragma comment(linker, "/include:mproc_example_utf8_init")
#endif
#else
__attribute__((constructor)) static void utf8_console_init(void) {
  utf8_console();
}
#endif
