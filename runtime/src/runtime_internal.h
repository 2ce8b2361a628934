/* Private declarations shared by the runtime's source files. Not part of the ABI. */
#ifndef HOLO_RUNTIME_INTERNAL_H
#define HOLO_RUNTIME_INTERNAL_H

#include "../include/holo.h"
#include "../include/holo_dev_abi.h"

#include <stddef.h>
#include <stdint.h>

/* Room for any formatted integer or float (holo_format_* promises at most 32 bytes). */
#define HOLO_NUMBER_TEXT_MAX 32

/* Writes the decimal text of `value` into `out` (at least 21 bytes, no NUL); returns its
 * length. Async-signal-safe. */
int holo_format_u64_digits(uint64_t value, char *out);
int holo_format_i64_digits(int64_t value, char *out);

/* Runs the hook of holo_set_wait_interrupted_hook, if any (runtime/src/wait.c). */
void holo_wait_interrupted(void);

/* Waits until `fd` is readable (or at its end), running the hook after each signal. */
void holo_wait_readable(int fd);

/* Appends bytes to the stdout buffer. */
void holo_output_write(const char *bytes, size_t length);

/* Writes every byte to `fd`, retrying on EINTR and short writes and waiting while a
 * non-blocking descriptor is full; returns 0, or the errno of the write that failed.
 * Async-signal-safe. */
int holo_write_all(int fd, const char *bytes, size_t length);

/* Flushes the stdout buffer on the way to reporting a failure: a write error is ignored,
 * the failure being reported matters more. Async-signal-safe. */
void holo_flush_for_failure(void);

/* holo_flush after `entry` returned (no holo frame is left on the stack): a failed write
 * is located at `entry`. */
void holo_flush_after(void (*entry)(void));

/* Makes stdout line buffered if it is a terminal, and flushes at process exit. Called by
 * holo_main and holo_test_main, and by the first write to stdout (a C host has no
 * holo_main); a second call does nothing. */
void holo_output_init(void);

/* Reports a runtime failure and ends the process with status 101. `file` NULL means
 * unknown. When `from_signal` is true only async-signal-safe calls are made. */
HOLO_NORETURN void holo_report_failure(const char *message, size_t message_length,
                                       const char *file, int64_t line, int64_t column,
                                       bool from_signal);

/* The line a location names: `line` itself, or relative to its line-base cell (dev
 * builds). Async-signal-safe. */
int64_t holo_location_line(const holo_location *location);

/* Reads HOLO_FAILURE_REPORT once so the signal path need not call getenv. */
void holo_failure_init(void);

/* Makes failures go to the report file `path` (NULL: the stderr line) instead of the one
 * HOLO_FAILURE_REPORT named: a test child of a test server (`--serve`) is told its own.
 * `path` must stay valid until the process ends. */
void holo_failure_report_to(const char *path);

/* Set in a test child forked by a test server (`--serve`): the process ends with _exit,
 * never running the atexit handlers it inherited from the server (those of the patch
 * agent and of LLVM belong to threads and state the child does not have). */
extern bool holo_exits_without_atexit;

/* Installs the SIGSEGV/SIGBUS/SIGFPE/SIGILL handler on an alternate signal stack, and
 * records the main thread's stack and the program's functions for the lookups below. */
void holo_signals_init(const holo_program_info *program);

/* The location of the innermost holo function with a frame on the main thread's stack
 * (the one that called the runtime); NULL off the main thread, in a C host, or when no
 * holo function is on the stack. Only for a failure that ends the process: patches can
 * no longer be freed afterwards. */
const holo_location *holo_innermost_frame_location(void);

/* The location of the program's function at `function`; NULL if it is none. */
const holo_location *holo_function_location(const void *function);

/* The command-line arguments holo_main was given, for args(): 0 and NULL until then, and
 * in a test executable (holo_test_main records none: its arguments are its own options). */
extern int holo_program_argc;
extern char **holo_program_argv;

/* The most bytes holo_escape_byte writes (`\u{1B}`). */
#define HOLO_ESCAPE_MAX 6

/* How a string literal writes `byte` between its quotes: the escape `\"`, `\\`, `\n`,
 * `\t`, `\r`, `\0`, or `\u{1B}` for another control byte (< 0x20 or 0x7F, hex without
 * leading zeros), written into `out` (no NUL) and its length returned; 0 when the byte
 * stands for itself (bytes of UTF-8 text do). Quoted strings (holo_builder_append_quoted)
 * and the `invalid number: "…"` failure share it. */
int holo_escape_byte(unsigned char byte, char out[HOLO_ESCAPE_MAX]);

/* Calls malloc/calloc/realloc and reports "out of memory" as a runtime failure on NULL. */
void *holo_checked_malloc(size_t size);
void *holo_checked_calloc(size_t size);
void *holo_checked_realloc(void *pointer, size_t size);

#endif
