/* Shared helpers for the mproc test executables.
 *
 * Everything OS-specific a test needs lives here, behind one portable
 * interface: clocks and sleeps, a private temp dir per run, small report
 * files (children report to the parent through exit codes and files),
 * "is this pid gone" waits, locating and running the helper programs in
 * tests/progs with their output captured, and a real invalid memory access.
 *
 * Child roles must never call cmocka asserts (under fork a failed assert
 * would longjmp into the copied test runner): they report through exit
 * codes and files only. Helpers named tst_* below are safe in children;
 * the ones named tst_assert_* / tst_join_* use cmocka and are for the
 * test process only. */
#ifndef MPROC_TEST_SUPPORT_H
#define MPROC_TEST_SUPPORT_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <mproc.h>

#ifdef _WIN32
#define TST_SEP "\\"
#define TST_EXE_SUFFIX ".exe"
#else
#define TST_SEP "/"
#define TST_EXE_SUFFIX ""
#endif

#define TST_PATH_MAX 1024

/* Generous bound for "this should finish": a loaded machine under Wine. */
#define TST_LONG_MS 60000

/* ---- time ---- */
int64_t tst_now_ms(void); /* monotonic */
void tst_sleep_ms(int ms);

/* ---- files ---- */
/* Creates a fresh private directory; 0 on success. */
int tst_make_tmpdir(char *out, size_t cap);
/* Removes the (flat) directory and the files in it. */
void tst_remove_tmpdir(const char *dir);
/* out = dir + separator + name. */
void tst_path(char *out, size_t cap, const char *dir, const char *name);
/* Writes the whole file atomically (temp file + rename); 0 on success. */
int tst_write_file(const char *path, const void *data, size_t len);
int tst_write_text(const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Reads up to cap-1 bytes, NUL-terminates; the byte count or -1. */
long tst_read_file(const char *path, char *buf, size_t cap);
int tst_file_exists(const char *path);
/* Copies a file byte for byte (POSIX: the copy is executable, 0755); 0 on
 * success. For tests that run or load a copy of a program or library. */
int tst_copy_file(const char *from, const char *to);
/* 1 once the file exists (polling), 0 if it has not within timeout_ms. */
int tst_wait_file(const char *path, int timeout_ms);
int tst_write_i64(const char *path, int64_t v);
int tst_read_i64(const char *path, int64_t *v); /* 0 on success */
/* Non-overlapping occurrences of needle in hay. */
int tst_count(const char *hay, const char *needle);
/* Removes every '\r' in place (Windows text-mode output has "\r\n"). */
void tst_strip_cr(char *s);
/* Position of needle in hay or -1. */
long tst_find(const char *hay, const char *needle);

/* ---- processes as the OS sees them ---- */
mp_pid tst_os_pid(void);
mp_pid tst_os_ppid(void); /* -1 if unknown */

/* Watches a pid so that its disappearance can be awaited. On Windows the
 * process is opened now (call this while it surely runs). On Linux a
 * zombie counts as gone; it is not reaped (see tst_reap). */
typedef struct tst_watch tst_watch;
tst_watch *tst_watch_pid(mp_pid pid); /* NULL if it could not be opened */
/* 1 once gone, 0 if still there after timeout_ms. */
int tst_watch_gone(tst_watch *w, int timeout_ms);
void tst_watch_free(tst_watch *w);
/* Best effort SIGKILL / TerminateProcess, for cleanup after a failure. */
void tst_kill_pid(mp_pid pid);
/* POSIX: waitpid(pid, WNOHANG), for a process reparented to us. */
void tst_reap(mp_pid pid);
/* Linux: prctl(PR_SET_CHILD_SUBREAPER). 0 on success, -1 elsewhere. */
int tst_become_subreaper(void);

/* ---- helper programs ---- */
/* The directory holding the running executable (no trailing separator). */
int tst_exe_dir(char *out, size_t cap);
/* Full path of tests/progs/<name> built next to the test executable. */
int tst_prog_path(char *out, size_t cap, const char *name);
/* Runs exe with args (NULL-terminated, not including argv[0]); stdout and
 * stderr go to the given files (NULL: inherited). Returns 0 when it ended
 * (*exit_code set: its exit status, or -N for a POSIX signal N), 1 when it
 * did not end within timeout_ms (then it is killed, with its process group
 * on POSIX), -1 if it could not be run. */
int tst_run(const char *exe, const char *const *args, const char *out_path,
            const char *err_path, int timeout_ms, int *exit_code);
/* Sets (value != NULL) or removes an environment variable of this
 * process, for the C runtime and for the OS block children inherit. */
int tst_setenv(const char *name, const char *value);

/* ---- threads ---- */
typedef struct tst_thread tst_thread;
/* Starts fn(arg) on a new thread; NULL on failure. */
tst_thread *tst_thread_start(int (*fn)(void *), void *arg);
/* Waits for it, frees it, returns fn's result. */
int tst_thread_join(tst_thread *t);

/* ---- misc ---- */
/* Crashes on an invalid memory access (a write to an unmapped low
 * address), after restoring the default SIGSEGV/SIGBUS disposition
 * (sanitizers install their own) / disabling Windows' crash dialogs. */
void tst_crash_now(void);
/* A target living in this translation unit: returns *(int *)arg, or 0
 * for NULL. */
int tst_role_return_int(void *arg);
/* The alignment malloc guarantees here. */
size_t tst_malloc_align(void);

/* ---- cmocka-side helpers (test process only) ---- */
/* Joins p within timeout_ms and returns its exit code; on timeout it
 * kills the child, reaps it, and fails the test. */
int tst_join_code(mp_process *p, int timeout_ms);
/* create + start with the given options, asserting success. */
mp_process *tst_start(mp_target target, const void *arg, size_t arg_size,
                      const mp_process_options *opts);
/* Failure safety: a test that starts a child which would run for a long
 * time (or for ever) guards it; if an assert fails before the test frees
 * it, the teardown kills, joins and frees it, so that neither the library's
 * at-exit wait nor CTest's wait for the output pipe hangs. tst_free forgets
 * and frees. Pids of processes the library does not own (grandchildren)
 * can be guarded too; they are killed by pid. tst_free forgets p only
 * when mp_process_free succeeded. */
void tst_guard_process(mp_process *p);
void tst_guard_pid(mp_pid pid);
int tst_free(mp_process *p);
void tst_unguard_pid(mp_pid pid);
/* Kills, joins and frees what is still guarded. */
void tst_cleanup_guarded(void);
int tst_teardown_processes(void **state); /* tst_cleanup_guarded */
/* A per-test temp dir for cmocka setup/teardown (state = char *). The
 * teardown also runs tst_cleanup_guarded. */
int tst_setup_tmpdir(void **state);
int tst_teardown_tmpdir(void **state);

/* Is the start method of the current leg spawn? */
int tst_leg_is_spawn(void);

#endif
