/* Twin of "1、fork（unix like系统）" in seeds/001: the raw os.fork(),
 * without mproc's Process.
 *
 *   # 只能在unix like系统上运行
 *   pid = os.fork()
 *   if pid == 0:
 *       print("子进程：%d,%d"%(os.getpid(),os.getppid()))
 *   else:
 *       print("父进程：%d"%os.getpid())
 *
 * Windows has no fork(). This file is built there too and says so, rather
 * than being left out of the Windows build: every example then exists on
 * every OS, and the Windows test run shows the message instead of silently
 * missing a program. mp_process_create (run_proc.c) is the portable way. */
#include <stdio.h>

#include <mproc.h>

#ifdef _WIN32

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);
  printf("os.fork() 只能在unix like系统上运行: Windows has no fork(); "
         "use mp_process_create (see run_proc.c), which works everywhere.\n");
  return 0;
}

#else

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  mp_main_guard(argc, argv);

  pid_t pid = fork(); /* returns twice: 0 in the child, its pid in the parent */
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    printf("子进程：%d,%d\n", (int)getpid(), (int)getppid());
  } else {
    printf("父进程：%d\n", (int)getpid());
    fflush(stdout);
    /* Python's version does not wait; we do, so that the child still has
     * this process as its parent when it prints, and leaves no zombie. */
    waitpid(pid, NULL, 0);
  }
  return 0;
}

#endif
