/* Runtime failures raised by compiled code (holo_fail, holo_fail_string), selected by the
 * first argument. Each prints some output first so that the flush on failure and its order
 * relative to the report can be checked. RuntimeTests.swift asserts streams and status. */
#include "holo.h"

#include <stdio.h>
#include <string.h>

static const holo_location division = {"src/main.holo", 3, 14, NULL};
/* A dev build's line-base cell: the failing function starts on line 100 of lib/util.holo. */
static int64_t util_line = 100;

static void print_text(const char *text) {
  holo_string *s = holo_string_from_bytes(text, (int64_t)strlen(text));
  holo_print_string(s);
  holo_string_release(s);
}

static void fail_with_message(void) {
  print_text("partial output");
  holo_fail("division by zero", &division);
}

static void fail_with_string(void) {
  print_text("partial output\n");
  holo_string *message = holo_string_from_bytes("panic: two\nlines", 16);
  holo_fail_string(message, &(holo_location){"lib/util.holo", 20, 9, &util_line});
}

static void fail_without_location(void) { holo_fail("out of memory", NULL); }

static void fail_after_c_output(void) {
  /* Output of C code called through `extern fn`, buffered by stdio. */
  printf("from C\n");
  holo_fail("assertion failed", &division);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  void (*entry)(void) = NULL;
  if (strcmp(mode, "message") == 0) {
    entry = fail_with_message;
  } else if (strcmp(mode, "string") == 0) {
    entry = fail_with_string;
  } else if (strcmp(mode, "no-location") == 0) {
    entry = fail_without_location;
  } else if (strcmp(mode, "c-output") == 0) {
    entry = fail_after_c_output;
  } else if (strcmp(mode, "without-main") == 0) {
    /* A C host calling into holo code never ran holo_main. */
    fail_with_message();
  }
  if (entry == NULL) {
    fprintf(stderr, "unknown mode\n");
    return 2;
  }
  return holo_main(argc, argv, entry, NULL);
}
