/* A test executable as the compiler generates it: holo_test_main with a few tests.
 * RuntimeTests.swift runs `--list`, `--run NAME`, `--serve` and bad invocations. */
#include "holo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int64_t never = -1;

static void print_text(const char *text) {
  holo_string *s = holo_string_from_bytes(text, (int64_t)strlen(text));
  holo_print_string(s);
  holo_string_release(s);
}

static void adds(void) {
  print_text("2 + 2 = ");
  holo_print_i64(2 + 2);
  holo_print_newline();
}

/* Line-base cells, as in a dev build: `fails` starts on line 8, `recurse` on line 14. */
static int64_t fails_line = 8;
static int64_t recurse_line = 14;

static void fails(void) {
  print_text("before the assert\n");
  holo_fail("assertion failed", &(holo_location){"math.holo", 1, 12, &fails_line});
}

/* The bounds of `holo_code`, where compiled holo functions are, which the linker defines. */
extern const char __start_holo_code[];
extern const char __stop_holo_code[];

__attribute__((noinline, section("holo_code"))) static int64_t recurse(int64_t depth) {
  volatile char frame[64];
  frame[0] = (char)depth;
  if (depth == never) {
    return 0;
  }
  return recurse(depth + 1) + frame[0];
}

static void overflows(void) { holo_print_i64(recurse(0)); }

/* A dev test whose slot was patched: its current version is not the executable's. */
static void patched_first_version(void) { print_text("first version\n"); }
static void patched_current_version(void) { print_text("current version\n"); }
static void (*patched_slot)(void) = patched_current_version;

static void exits(void) {
  print_text("exiting");
  holo_exit(3);
}

static void aborts(void) { abort(); }

static void hangs(void) {
  for (;;) {
    holo_sleep_ms(1000);
  }
}

static const holo_test_info tests[] = {
    {"adds", adds, {"math.holo", 3, 1, NULL}, NULL},
    {"fails", fails, {"math.holo", 0, 1, &fails_line}, NULL},
    {"overflows", overflows, {"deep.holo", 2, 1, NULL}, NULL},
    {"patched", patched_first_version, {"math.holo", 20, 1, NULL}, &patched_slot},
    {"exits", exits, {"math.holo", 21, 1, NULL}, NULL},
    {"aborts", aborts, {"math.holo", 22, 1, NULL}, NULL},
    {"hangs", hangs, {"math.holo", 23, 1, NULL}, NULL},
};

static const holo_function_info functions[] = {
    {(const void *)recurse, "recurse", {"deep.holo", 0, 1, &recurse_line}},
};

static const holo_program_info program = {functions, 1, NULL, __start_holo_code,
                                          __stop_holo_code, NULL, NULL};

/* A test server's children must not run what the server registered with atexit. */
static void server_exits(void) {
  static const char text[] = "server atexit\n";
  (void)write(STDERR_FILENO, text, sizeof text - 1);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--serve") == 0) {
    atexit(server_exits);
  }
  return holo_test_main(argc, argv, tests, sizeof tests / sizeof tests[0], &program);
}
