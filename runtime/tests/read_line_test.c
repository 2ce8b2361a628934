/* Echoes stdin line by line as `[LINE] EOF-FLAG` until read_line reports end of input,
 * then reads once more to show that "" keeps coming. RuntimeTests.swift feeds the input. */
#include "holo.h"

#include <string.h>

static void print_text(const char *text) {
  holo_string *s = holo_string_from_bytes(text, (int64_t)strlen(text));
  holo_print_string(s);
  holo_string_release(s);
}

static void echo_line(void) {
  holo_string *line = holo_read_line();
  print_text("[");
  holo_print_string(line);
  print_text("] ");
  holo_print_bool(holo_stdin_eof());
  holo_print_newline();
  holo_string_release(line);
}

static void entry(void) {
  do {
    echo_line();
  } while (!holo_stdin_eof());
  echo_line();
}

int main(int argc, char **argv) { return holo_main(argc, argv, entry, NULL); }
