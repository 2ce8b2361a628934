/* read_line and stdin_eof, reading stdin with read(2) through the runtime's own buffer. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { INPUT_CAPACITY = 64 * 1024 };

static char input_buffer[INPUT_CAPACITY];
static size_t input_start;
static size_t input_end;
static bool input_exhausted;
static bool stdin_at_eof;

/* Refills the empty buffer; false at end of input. Read errors count as end of input. */
static bool refill(void) {
  input_start = 0;
  input_end = 0;
  if (input_exhausted) {
    return false;
  }
  for (;;) {
    holo_wait_readable(STDIN_FILENO);
    ssize_t count = read(STDIN_FILENO, input_buffer, INPUT_CAPACITY);
    if (count > 0) {
      input_end = (size_t)count;
      return true;
    }
    if (count < 0 && errno == EINTR) {
      continue;
    }
    input_exhausted = true;
    return false;
  }
}

/* A line longer than what is buffered is collected here across refills. */
typedef struct pending_line {
  char *bytes;
  size_t length;
  size_t capacity;
} pending_line;

static void pending_append(pending_line *line, const char *bytes, size_t length) {
  if (line->length + length > line->capacity) {
    size_t capacity = line->capacity == 0 ? INPUT_CAPACITY : line->capacity;
    while (capacity < line->length + length) {
      capacity *= 2;
    }
    line->bytes = holo_checked_realloc(line->bytes, capacity);
    line->capacity = capacity;
  }
  memcpy(line->bytes + line->length, bytes, length);
  line->length += length;
}

/* The line without its "\n" terminator and a "\r" before it. */
static holo_string *make_line(const char *bytes, size_t length, bool terminated) {
  if (terminated && length > 0 && bytes[length - 1] == '\r') {
    length--;
  }
  return holo_string_from_bytes(bytes, (int64_t)length);
}

holo_string *holo_read_line(void) {
  holo_flush();
  pending_line line = {NULL, 0, 0};
  bool found_input = false;
  for (;;) {
    if (input_start == input_end && !refill()) {
      break;
    }
    found_input = true;
    char *start = input_buffer + input_start;
    size_t available = input_end - input_start;
    char *newline = memchr(start, '\n', available);
    if (newline == NULL) {
      pending_append(&line, start, available);
      input_start = input_end;
      continue;
    }
    size_t length = (size_t)(newline - start);
    input_start += length + 1;
    if (line.bytes == NULL) {
      return make_line(start, length, true);
    }
    pending_append(&line, start, length);
    holo_string *result = make_line(line.bytes, line.length, true);
    free(line.bytes);
    return result;
  }
  if (!found_input) {
    stdin_at_eof = true;
  }
  holo_string *result = make_line(line.bytes, line.length, false);
  free(line.bytes);
  return result;
}

bool holo_stdin_eof(void) { return stdin_at_eof; }
