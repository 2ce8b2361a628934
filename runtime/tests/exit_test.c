/* Ending the program: holo_exit, returning from the entry, exit() from C code (all flush
 * buffered output), and the clock built-ins. Mode is the first argument. */
#include "check.h"
#include "holo.h"

#include <stdlib.h>
#include <string.h>

static void print_text(const char *text) {
  holo_string *s = holo_string_from_bytes(text, (int64_t)strlen(text));
  holo_print_string(s);
  holo_string_release(s);
}

static void exit_with_code(void) {
  print_text("bye");
  holo_exit(3);
}

static void return_normally(void) { print_text("done"); }

static void exit_from_c(void) {
  print_text("via C");
  exit(7);
}

static void use_clock(void) {
  int64_t start = holo_now_ms();
  holo_sleep_ms(50);
  int64_t slept = holo_now_ms() - start;
  CHECK(slept >= 50 && slept < 5000);
  start = holo_now_ms();
  holo_sleep_ms(0);
  holo_sleep_ms(-10);
  CHECK(holo_now_ms() - start < 40);
  CHECK(holo_now_ms() >= start);
  print_text(check_failures == 0 ? "clock ok" : "clock failed");
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  void (*entry)(void) = NULL;
  if (strcmp(mode, "exit") == 0) {
    entry = exit_with_code;
  } else if (strcmp(mode, "return") == 0) {
    entry = return_normally;
  } else if (strcmp(mode, "c-exit") == 0) {
    entry = exit_from_c;
  } else if (strcmp(mode, "clock") == 0) {
    entry = use_clock;
  } else {
    return 2;
  }
  int status = holo_main(argc, argv, entry, NULL);
  return status != 0 ? status : check_exit_status();
}
