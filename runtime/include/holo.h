/* The holo runtime: what compiled holo programs call, and what C hosts may use.
 *
 * Compiled code depends on every declaration here by name and on the layout of
 * holo_string, holo_location, holo_array (with HOLO_ARRAY_DATA_OFFSET) and
 * holo_element_type; changing any of them is an ABI change for the code generator
 * (Sources/HoloCodegen). Plain C11.
 */
#ifndef HOLO_H
#define HOLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HOLO_NORETURN __attribute__((noreturn))
#else
#define HOLO_NORETURN _Noreturn
#endif

/* Exit status of a program stopped by a runtime failure. */
#define HOLO_FAILURE_EXIT_STATUS 101

/* ---- Strings ----------------------------------------------------------------------
 * Immutable UTF-8 text, reference counted. A holo `string` value is a pointer to this.
 * `bytes` holds `length` bytes followed by a NUL (not counted). A negative refcount marks
 * an immortal string (literals the compiler emits as constants); retain and release
 * ignore those. NULL is never a valid holo string.
 */
typedef struct holo_string {
  int64_t refcount;
  int64_t length;
  char bytes[];
} holo_string;

/* An immortal "" that is the runtime's own: a patch leaves it where a value must outlive
 * the patch's memory (a removed global's storage). */
extern holo_string holo_empty_string;

void holo_string_retain(holo_string *s);
void holo_string_release(holo_string *s);
/* A new string (refcount 1) holding a copy of `length` bytes. */
holo_string *holo_string_from_bytes(const char *bytes, int64_t length);
int64_t holo_string_len(const holo_string *s);
bool holo_string_equal(const holo_string *a, const holo_string *b);

/* ---- Strings across the C boundary (LANGUAGE.md §10) ---------------------------------
 * An `export fn` takes a `string` parameter as a holo_str by value, borrowed for the call:
 * the caller keeps ownership of the bytes, which need not be NUL-terminated and need only
 * live until the call returns. A `string` result is a holo_str whose reference the caller
 * owns: it points at the bytes of a holo string (NUL-terminated, not counted in `len`)
 * and must be given back exactly once with holo_str_release. A generated header defines
 * the same type under the same guard, so either may come first. */
#ifndef HOLO_STR_DEFINED
#define HOLO_STR_DEFINED
typedef struct holo_str {
  const char *ptr;
  int64_t len;
} holo_str;
#endif

/* Gives back a holo_str returned by an `export fn`. A NULL `ptr` is ignored. */
void holo_str_release(holo_str s);

/* Template strings are built by appending parts to a builder, then finishing it into a
 * new string (refcount 1). The builder is freed by finish. */
typedef struct holo_builder holo_builder;
holo_builder *holo_builder_new(void);
void holo_builder_append_bytes(holo_builder *b, const char *bytes, int64_t length);
void holo_builder_append_string(holo_builder *b, const holo_string *s);
void holo_builder_append_i64(holo_builder *b, int64_t value);
void holo_builder_append_u64(holo_builder *b, uint64_t value);
void holo_builder_append_f64(holo_builder *b, double value);
void holo_builder_append_f32(holo_builder *b, float value);
void holo_builder_append_bool(holo_builder *b, bool value);
holo_string *holo_builder_finish(holo_builder *b);

/* ---- Output -----------------------------------------------------------------------
 * stdout is buffered by the runtime and flushed at exit, before sleep_ms, before
 * read_line, on a runtime failure, and when the buffer fills. Formatting follows
 * LANGUAGE.md §8 (floats: shortest round-trip, JavaScript-style). The buffer is not
 * stdio's: a C host that prints with both calls holo_flush() before its own output to
 * keep the order. Exit flushes it even when holo_main never ran (a C host). A write that
 * fails ends the program: by SIGPIPE for a closed pipe (even when SIGPIPE is ignored),
 * else as the runtime failure `cannot write to stdout`. */
void holo_print_i64(int64_t value);
void holo_print_u64(uint64_t value);
void holo_print_f64(double value);
void holo_print_f32(float value);
void holo_print_bool(bool value);
void holo_print_string(const holo_string *s);
void holo_print_newline(void);
void holo_flush(void);

/* Writes the §8 text of a float into `out` (at least 32 bytes); returns its length. */
int holo_format_f64(double value, char *out);
int holo_format_f32(float value, char *out);

/* ---- Built-ins --------------------------------------------------------------------- */
holo_string *holo_read_line(void);
bool holo_stdin_eof(void);
int64_t holo_now_ms(void);
void holo_sleep_ms(int64_t ms);
HOLO_NORETURN void holo_exit(int32_t code);

/* ---- Failures ---------------------------------------------------------------------
 * A source location the compiler emits as a constant next to each failing operation.
 * In release builds `line` is the line and `line_base` is NULL. In dev builds `line_base`
 * points at the enclosing function's line-base cell, which holds the line where the
 * function starts, and `line` is relative to it: moving a function in its file then
 * changes one cell (docs/PATCHING.md), not its code. The runtime resolves the line
 * wherever it reports a location. */
typedef struct holo_location {
  const char *file;
  int32_t line;
  int32_t column;
  const int64_t *line_base;
} holo_location;

/* Reports a runtime failure and ends the program with status 101. The report is the line
 * `FILE:LINE:COL: runtime failure: MESSAGE` on stderr; when the environment variable
 * HOLO_FAILURE_REPORT names a file, the runtime writes the failure there instead as four
 * lines (file, line, column, message) so that holoc can render it with a source excerpt.
 * An installed failure handler is called first (see holo_set_failure_handler). */
HOLO_NORETURN void holo_fail(const char *message, const holo_location *location);
HOLO_NORETURN void holo_fail_string(const holo_string *message, const holo_location *location);

/* The text built-ins that can fail (LANGUAGE.md §8): each fails at `location`.
 * string_slice: bytes start..end of s, both on character boundaries. */
holo_string *holo_string_slice(const holo_string *s, int64_t start, int64_t end,
                               const holo_location *location);
/* parse_i64 / parse_f64: decimal text in the forms of holo's literals, without suffixes
 * or separators, with an optional sign. */
int64_t holo_parse_i64(const holo_string *s, const holo_location *location);
double holo_parse_f64(const holo_string *s, const holo_location *location);

/* A C host's hook into runtime failures in the holo code it calls. holo_fail calls the
 * handler after flushing the runtime's stdout, with the message and the failing
 * expression's location (never NULL, its line resolved and its line_base NULL; an unknown
 * location is file "<unknown>", line 0, column 0). Both are valid only during the call.
 * The holo code that failed cannot continue, so the handler should not return: it may
 * exit, or longjmp to a point the host set up before calling into holo (holo values the
 * failed call owned are leaked). If it returns, the runtime prints the usual report and
 * exits with status 101.
 * Crashes caught by signal handlers (stack overflow) do not call it. Set it before
 * calling holo code; NULL removes it. */
typedef void (*holo_failure_handler)(const char *message, const holo_location *location,
                                     void *context);
void holo_set_failure_handler(holo_failure_handler handler, void *context);

/* ---- Arrays (LANGUAGE.md §12) ------------------------------------------------------
 * A holo `[T]` value is a pointer to a holo_array: a header followed by `capacity`
 * element slots of which the first `length` hold values. Copy-on-write value semantics:
 * copying an array value retains it, and an array is written only while its refcount is
 * 1, so every function below that changes an array consumes the caller's reference and
 * returns the array to use from then on (the same one when it was unique, else a copy).
 * Compiled code reads `length` and the elements in place (a[i], len(), for loops) and
 * checks indexes itself, calling holo_fail_index when one is out of range. */
typedef struct holo_array {
  int64_t refcount; /* > 0 counted; negative: immortal (holo_empty_array), never freed or written */
  int64_t length;
  int64_t capacity; /* elements the allocation holds */
  int64_t reserved; /* keeps the elements 32 bytes in, 16-aligned */
  /* elements follow, at HOLO_ARRAY_DATA_OFFSET */
} holo_array;
#define HOLO_ARRAY_DATA_OFFSET 32
static inline void *holo_array_data(holo_array *a) { return (char *)a + HOLO_ARRAY_DATA_OFFSET; }
/* The empty array every `[]` and zero value points at: never NULL. */
extern holo_array holo_empty_array;

/* How the runtime treats an element type; the compiler emits one constant per type.
 * `retain` and `release` take a pointer to the element's slot, not the element. */
typedef struct holo_element_type {
  int64_t size;                   /* stride in bytes (a multiple of align), > 0 */
  int64_t align;                  /* power of two, <= 16 */
  void (*retain)(void *element);  /* NULL: plain data, nothing to retain */
  void (*release)(void *element); /* NULL: plain data, nothing to release */
} holo_element_type;
/* string elements (a pointer to holo_string each) and u8 elements. */
extern const holo_element_type holo_string_element_type;
extern const holo_element_type holo_u8_element_type;

/* An array literal: refcount 1 and `length` uninitialised elements, which the caller
 * fills with values it owns. Length 0 gives &holo_empty_array. */
holo_array *holo_array_alloc(int64_t length, const holo_element_type *type);
/* [x; n]: `element` is borrowed and retained once per copy; n < 0 fails `negative array
 * length`; n == 0 gives &holo_empty_array. */
holo_array *holo_array_repeat(const void *element, int64_t count, const holo_element_type *type,
                              const holo_location *location);
/* Both ignore immortal arrays. The last release releases each element and frees. */
void holo_array_retain(holo_array *a);
void holo_array_release(holo_array *a, const holo_element_type *type);
/* Before `a[i] = x` (or any write in place): consumes `a`; returns an array with refcount
 * 1 and the same elements: `a` itself when already unique, else a copy (elements
 * retained) after releasing `a`'s reference. An empty array that is not unique (the
 * immortal holo_empty_array included) gives &holo_empty_array: it has no elements to
 * write. */
holo_array *holo_array_unique(holo_array *a, const holo_element_type *type);
/* The failure `index out of bounds: the index is 5 but the length is 3`. */
HOLO_NORETURN void holo_fail_index(int64_t index, int64_t length, const holo_location *location);

/* The methods. Each consumes `a` and returns the unique result (copying a shared array
 * first, growing by doubling when full, allocating when `a` is the empty array).
 * push and insert take an owned `element` whose bytes are moved in (it must not point
 * into `a`'s elements); pop and remove move the element out into *out, owned by the
 * caller. insert needs 0 <= index <= length, remove 0 <= index < length, else
 * holo_fail_index; pop of an empty array fails `pop from an empty array`. On a failure
 * `a` is not consumed. */
holo_array *holo_array_push(holo_array *a, const void *element, const holo_element_type *type);
holo_array *holo_array_pop(holo_array *a, void *out, const holo_element_type *type,
                           const holo_location *location);
holo_array *holo_array_insert(holo_array *a, int64_t index, const void *element,
                              const holo_element_type *type, const holo_location *location);
holo_array *holo_array_remove(holo_array *a, int64_t index, void *out,
                              const holo_element_type *type, const holo_location *location);
/* Unique: releases the elements, length 0, keeps the capacity. Shared: releases `a`'s
 * reference and returns &holo_empty_array. */
holo_array *holo_array_clear(holo_array *a, const holo_element_type *type);

/* `==`, element-wise, both borrowed. `equal` NULL compares bytes: only for element types
 * whose `==` is byte equality (integers, bool, u8; not floats, nothing with padding). */
bool holo_array_equal(const holo_array *a, const holo_array *b, const holo_element_type *type,
                      bool (*equal)(const void *x, const void *y));
/* Printing: `[e1, e2, e3]`, `[]` when empty; `append` writes one element (given its slot).
 * holo_builder_append_quoted writes a string inside a struct or an array as a string
 * literal would: `"..."` with `\"`, `\\`, `\n`, `\t`, `\r`, `\0`, other control bytes as
 * `\u{1B}` (the escaping of parse_i64's failure message); other bytes as they are. */
void holo_builder_append_array(holo_builder *b, const holo_array *a, const holo_element_type *type,
                               void (*append)(holo_builder *b, const void *element));
void holo_builder_append_quoted(holo_builder *b, const holo_string *s);

/* The [data] built-ins (LANGUAGE.md §8); each result is a new reference the caller owns.
 * args: the program's command-line arguments without the program name, as holo_main was
 * given them; empty in a C host and in a test executable (holo_test_main keeps its own
 * options). string_bytes: s's bytes, s borrowed. string_from_byte_array: the bytes as a
 * string, `bytes` borrowed; invalid UTF-8 (overlong forms, surrogates, past U+10FFFF,
 * truncated sequences, stray continuation bytes) fails `invalid UTF-8`. */
holo_array *holo_args(void);
holo_array *holo_string_bytes(const holo_string *s);
holo_string *holo_string_from_byte_array(const holo_array *bytes, const holo_location *location);

/* ---- Program start ----------------------------------------------------------------
 * The compiler describes every holo function so a stack overflow (caught on an
 * alternate signal stack) can name the function that overflowed, or the innermost holo
 * function on the stack when the runtime, C or libc overflowed. */
typedef struct holo_function_info {
  const void *address;
  const char *name;
  holo_location location;
} holo_function_info;

typedef struct holo_program_info {
  const holo_function_info *functions;
  int64_t function_count;
  /* Dev executables: holo_agent_start, which holo_main calls before the entry function.
   * NULL elsewhere, so a release executable does not refer to the agent at all. */
  void (*start_agent)(void);
  /* Where the code of `functions` lies, [code_start, code_end), and nothing else: the
   * compiler places holo functions in the section `holo_code`, whose bounds the linker
   * defines (__start_holo_code, __stop_holo_code). An address in it belongs to the
   * function with the highest address at or below it. Both NULL when there is none. */
  const void *code_start;
  const void *code_end;
  /* Runs every global's initializer in order and stores its value (LANGUAGE.md §3):
   * holo_main calls it before the entry function, holo_test_main before each test, in
   * the test's process. NULL for a program without globals. A library's constructor
   * calls it in a C host. */
  void (*initialize_globals)(void);
  /* Dev executables: the entry function's slot, through which holo_main calls it (so a
   * frame restart, which calls it again, runs its current version). NULL elsewhere. */
  void (*const *entry_slot)(void);
} holo_program_info;

typedef struct holo_test_info {
  const char *name;
  void (*function)(void);
  holo_location location;
  /* Dev builds: the test's slot (docs/PATCHING.md). The test is called through it, so a
   * test process that `holoc dev` patches runs the test's current version. NULL in
   * release builds, where `function` is called. */
  void (*const *slot)(void);
} holo_test_info;

/* Runs `entry` as the program: installs the stack-overflow handler, initialises the
 * globals, runs, flushes,
 * returns the exit status. The generated C `main` of a holo executable calls this. */
int holo_main(int argc, char **argv, void (*entry)(void), const holo_program_info *program);

/* The generated `main` of a test executable. `--list` prints each test as
 * `NAME\tFILE\tLINE\tCOLUMN`; `--run NAME` runs one test (exit 0 when it returns, 101 on a
 * runtime failure); `--serve` reads requests to run tests on stdin and runs each in a
 * forked child, answering on stdout (the test process of `holoc dev`, docs/PATCHING.md). */
int holo_test_main(int argc, char **argv, const holo_test_info *tests, int64_t test_count,
                   const holo_program_info *program);

/* Ends this process with its parent when the environment variable HOLO_PARENT_PID
 * names the parent: holoc sets it for every program, test and C host it starts, so that
 * none outlives it, however holoc ends (PR_SET_PDEATHSIG with SIGKILL). A process whose
 * named parent has already ended is killed at once. The variable is removed, so the
 * process's own children are not affected. holo_main and holo_test_main call this; a dev
 * library's constructor calls it in a C host. A second call does nothing. */
void holo_die_with_parent(void);

/* ---- Dev builds (docs/PATCHING.md) -------------------------------------------------
 * The patch agent's entry point, defined by the agent (runtime/agent), which only dev
 * builds link. Runs once; dormant unless HOLO_AGENT_SOCKET names the daemon's socket. */
void holo_agent_start(void);

/* Frame restarts (`holoc dev --restart frame`, docs/PATCHING.md "Frame restarts"): the
 * frame of the runtime function that calls the entry function while it runs, NULL when it
 * does not (a C host, a test). The patch agent unwinds the stack down to it, then resumes
 * it there, which calls the entry function again (through its slot: its current version).
 * holo_entry_resume does not return. */
void *holo_entry_frame(void);
void holo_entry_resume(void) __attribute__((noreturn));
/* The agent's unwind has reached the caller of the frame to restart, whose frame address
 * is `frame` (NULL: none): the landing pad there claims the restart, once
 * (holo_dev_restart_claim, in the runtime because every dev function's pads call it,
 * with or without the agent). */
void holo_restart_expect_claim(void *frame);

/* Runs `hook` on the thread whose blocking wait in the runtime (sleep_ms, reading input)
 * a signal interrupted, before the wait resumes. The patch agent takes its cooperative
 * safepoints there (docs/PATCHING.md, "Safepoints"); NULL (the default) runs nothing. */
void holo_set_wait_interrupted_hook(void (*hook)(void));

/* The functions a patch object defines, under the symbol `holo.functions#N`. */
typedef struct holo_function_table {
  const holo_function_info *functions;
  int64_t function_count;
} holo_function_table;

/* The agent registers each linked patch's table, whose functions' code lies in
 * [code_start, code_end), so that the stack-overflow handler names patched functions as
 * it names the executable's. Returns a handle, or -1 when the runtime's fixed registry
 * is full (a crash in that patch is then reported at "<unknown>"). The table must stay
 * valid until holo_unregister_patch_functions(handle) returns, which the agent calls
 * before freeing the patch; if a crash is being reported meanwhile, that call never
 * returns (the process is exiting, and the handler may be reading the table). Both are
 * called from one thread; the handler reads the registry without locks. */
int holo_register_patch_functions(const holo_function_table *table, const void *code_start,
                                  const void *code_end);
void holo_unregister_patch_functions(int handle);

/* Whether `word` is a return address into the code [code_start, code_end]: past its start
 * and at most at its end (after a call that never returns), with a call instruction
 * ending exactly at it. Reads only bytes of that code. The crash handler and the patch
 * agent's stack scans use it to tell frames from other words (x86-64; elsewhere always
 * false). */
bool holo_is_return_address(const void *code_start, const void *code_end, uintptr_t word);

#ifdef __cplusplus
}
#endif

#endif /* HOLO_H */
