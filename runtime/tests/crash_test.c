/* Fatal signals as runtime failures, selected by the first argument: a stack overflow from
 * deep recursion, an invalid memory access, an integer division trap, a fault inside
 * the C library, a stack overflow in runtime code called by a holo function, and a stack
 * overflow in code the patch agent registered. Each is located at the registered function
 * containing the faulting instruction, else at the innermost registered function on the
 * stack, else at <unknown>:0:0. The "holo" functions are in the section `holo_code`, as
 * compiled ones are. RuntimeTests.swift asserts streams and status. */
#include "holo.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Volatile so the compiler can neither fold the faults away nor end the recursion. */
static volatile int64_t never = -1;
static int *volatile invalid_pointer = (int *)16;
static volatile int zero = 0;
static volatile int numerator = 7;
static size_t (*volatile c_string_length)(const char *) = strlen;

#define HOLO_CODE __attribute__((noinline, section("holo_code")))

/* The bounds of `holo_code`, which the linker defines. */
extern const char __start_holo_code[];
extern const char __stop_holo_code[];

HOLO_CODE static int64_t recurse(int64_t depth) {
  volatile char frame[128];
  frame[0] = (char)depth;
  if (depth == never) {
    return 0;
  }
  return recurse(depth + 1) + frame[0];
}

HOLO_CODE static void overflow_stack(void) {
  holo_string *s = holo_string_from_bytes("recursing\n", 10);
  holo_print_string(s);
  holo_string_release(s);
  holo_print_i64(recurse(0));
}

HOLO_CODE static void write_invalid_address(void) { *invalid_pointer = 1; }

HOLO_CODE static void divide_by_zero(void) { holo_print_i64(numerator / zero); }

HOLO_CODE static void fault_in_c_library(void) {
  holo_print_u64(c_string_length((const char *)invalid_pointer));
}

/* Runtime code, outside `holo_code`: recursion through it overflows the stack outside
 * every holo function. */
__attribute__((noinline)) static int64_t runtime_recurse(int64_t depth) {
  volatile char frame[128];
  frame[0] = (char)depth;
  if (depth == never) {
    return 0;
  }
  return runtime_recurse(depth + 1) + frame[0];
}

HOLO_CODE static void overflow_in_runtime(void) { holo_print_i64(runtime_recurse(0)); }

/* A dev build's line-base cell: recurse starts on line 10 of deep.holo. */
static int64_t recurse_line = 10;

static const holo_function_info functions[] = {
    {(const void *)overflow_stack, "overflow_stack", {"main.holo", 1, 1, NULL}},
    {(const void *)recurse, "recurse", {"deep.holo", 0, 1, &recurse_line}},
    {(const void *)write_invalid_address, "write_invalid_address", {"poke.holo", 5, 3, NULL}},
    {(const void *)divide_by_zero, "divide_by_zero", {"math.holo", 7, 2, NULL}},
    {(const void *)fault_in_c_library, "fault_in_c_library", {"extern.holo", 2, 1, NULL}},
    {(const void *)overflow_in_runtime, "overflow_in_runtime", {"template.holo", 4, 1, NULL}},
};

static const holo_program_info program = {
    functions, sizeof functions / sizeof functions[0], NULL, __start_holo_code, __stop_holo_code,
    NULL, NULL};
static const holo_program_info empty_program = {NULL, 0, NULL, NULL, NULL, NULL, NULL};

/* recurse as a patch's function, as the agent registers it: the code range is a generous
 * guess at recurse's size, which only needs to hold the faulting instruction. */
static int64_t patched_line = 30;
static const holo_function_info patched_functions[] = {
    {(const void *)recurse, "recurse", {"patch.holo", 2, 5, &patched_line}},
};
static const holo_function_table patched_table = {patched_functions, 1};

static int register_patched_recurse(void) {
  const char *start = (const char *)recurse;
  return holo_register_patch_functions(&patched_table, start, start + 1024);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "overflow") == 0) {
    return holo_main(argc, argv, overflow_stack, &program);
  }
  if (strcmp(mode, "segfault") == 0) {
    return holo_main(argc, argv, write_invalid_address, &program);
  }
  if (strcmp(mode, "divide") == 0) {
    return holo_main(argc, argv, divide_by_zero, &program);
  }
  if (strcmp(mode, "c-library") == 0) {
    return holo_main(argc, argv, fault_in_c_library, &program);
  }
  if (strcmp(mode, "runtime-overflow") == 0) {
    return holo_main(argc, argv, overflow_in_runtime, &program);
  }
  if (strcmp(mode, "unregistered") == 0) {
    return holo_main(argc, argv, overflow_stack, &empty_program);
  }
  if (strcmp(mode, "patched") == 0) {
    /* Far more patches than the registry holds come and go: unregistering frees entries. */
    for (int i = 0; i < 1000; i++) {
      int handle = register_patched_recurse();
      if (handle < 0) {
        return 3;
      }
      holo_unregister_patch_functions(handle);
    }
    if (register_patched_recurse() < 0) {
      return 3;
    }
    return holo_main(argc, argv, overflow_stack, &empty_program);
  }
  fprintf(stderr, "unknown mode\n");
  return 2;
}
