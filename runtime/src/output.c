/* The runtime-owned stdout buffer and the print functions.
 *
 * Output is written with write(2) when the buffer fills and at the flush points LANGUAGE.md
 * §8 names (exit, sleep_ms, read_line, runtime failure). When stdout is a terminal the
 * buffer is also flushed at every newline, as C and Rust do, so progress lines appear.
 */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OUTPUT_CAPACITY = 64 * 1024 };

static char output_buffer[OUTPUT_CAPACITY];
static size_t output_length;
static bool output_line_buffered;
static bool output_initialised;

void holo_write_all(int fd, const char *bytes, size_t length) {
  while (length > 0) {
    ssize_t written = write(fd, bytes, length);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    bytes += written;
    length -= (size_t)written;
  }
}

void holo_flush(void) {
  /* Reset the buffer before writing so a flush interrupted by a failure report (which
   * flushes too) cannot write the same bytes twice. */
  size_t length = output_length;
  output_length = 0;
  holo_write_all(STDOUT_FILENO, output_buffer, length);
}

static void flush_at_exit(void) { holo_flush(); }

void holo_output_init(void) {
  if (output_initialised) {
    return;
  }
  output_initialised = true;
  output_line_buffered = isatty(STDOUT_FILENO) == 1;
  /* Also covers exit() called by C code the program links against. */
  atexit(flush_at_exit);
}

void holo_output_write(const char *bytes, size_t length) {
  /* A C host calls holo functions without holo_main: the first write arranges the flush
   * at exit that holo_main would have. */
  if (!output_initialised) {
    holo_output_init();
  }
  if (length > OUTPUT_CAPACITY - output_length) {
    holo_flush();
    if (length >= OUTPUT_CAPACITY) {
      holo_write_all(STDOUT_FILENO, bytes, length);
      return;
    }
  }
  memcpy(output_buffer + output_length, bytes, length);
  output_length += length;
  if (output_line_buffered && memchr(bytes, '\n', length) != NULL) {
    holo_flush();
  }
}

void holo_print_i64(int64_t value) {
  char text[HOLO_NUMBER_TEXT_MAX];
  holo_output_write(text, (size_t)holo_format_i64_digits(value, text));
}

void holo_print_u64(uint64_t value) {
  char text[HOLO_NUMBER_TEXT_MAX];
  holo_output_write(text, (size_t)holo_format_u64_digits(value, text));
}

void holo_print_f64(double value) {
  char text[HOLO_NUMBER_TEXT_MAX];
  holo_output_write(text, (size_t)holo_format_f64(value, text));
}

void holo_print_f32(float value) {
  char text[HOLO_NUMBER_TEXT_MAX];
  holo_output_write(text, (size_t)holo_format_f32(value, text));
}

void holo_print_bool(bool value) {
  if (value) {
    holo_output_write("true", 4);
  } else {
    holo_output_write("false", 5);
  }
}

void holo_print_string(const holo_string *s) { holo_output_write(s->bytes, (size_t)s->length); }

void holo_print_newline(void) { holo_output_write("\n", 1); }
