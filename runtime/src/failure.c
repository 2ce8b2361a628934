/* Runtime failure reports. The reporting path makes only async-signal-safe calls (no
 * allocation, write(2) only) because the crash handler uses it too. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *failure_report_path;
static bool failure_report_path_known;

void holo_failure_init(void) {
  if (!failure_report_path_known) {
    const char *path = getenv(HOLO_DEV_ENV_FAILURE_REPORT);
    holo_failure_report_to(path != NULL && path[0] != '\0' ? path : NULL);
  }
}

void holo_failure_report_to(const char *path) {
  failure_report_path = path;
  failure_report_path_known = true;
}

/* Collects a report in a fixed buffer, writing it out whenever it fills. */
typedef struct report_writer {
  int fd;
  size_t length;
  char buffer[512];
} report_writer;

static void report_flush(report_writer *writer) {
  /* Nowhere is left to report a report that cannot be written. */
  (void)holo_write_all(writer->fd, writer->buffer, writer->length);
  writer->length = 0;
}

static void report_bytes(report_writer *writer, const char *bytes, size_t length) {
  while (length > 0) {
    if (writer->length == sizeof writer->buffer) {
      report_flush(writer);
    }
    size_t chunk = sizeof writer->buffer - writer->length;
    if (chunk > length) {
      chunk = length;
    }
    memcpy(writer->buffer + writer->length, bytes, chunk);
    writer->length += chunk;
    bytes += chunk;
    length -= chunk;
  }
}

static void report_text(report_writer *writer, const char *text) {
  report_bytes(writer, text, strlen(text));
}

static void report_number(report_writer *writer, int64_t value) {
  char digits[HOLO_NUMBER_TEXT_MAX];
  report_bytes(writer, digits, (size_t)holo_format_i64_digits(value, digits));
}

void holo_report_failure(const char *message, size_t message_length, const char *file,
                         int64_t line, int64_t column, bool from_signal) {
  holo_flush_for_failure();
  if (!from_signal) {
    /* Output of C code the program calls, buffered by stdio. */
    fflush(NULL);
    holo_failure_init();
  }
  if (file == NULL) {
    file = "<unknown>";
  }
  report_writer writer = {.fd = -1, .length = 0};
  if (failure_report_path != NULL) {
    writer.fd = open(failure_report_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (writer.fd >= 0) {
    report_text(&writer, file);
    report_bytes(&writer, "\n", 1);
    report_number(&writer, line);
    report_bytes(&writer, "\n", 1);
    report_number(&writer, column);
    report_bytes(&writer, "\n", 1);
    report_bytes(&writer, message, message_length);
    report_bytes(&writer, "\n", 1);
    report_flush(&writer);
    close(writer.fd);
  } else {
    writer.fd = STDERR_FILENO;
    report_text(&writer, file);
    report_bytes(&writer, ":", 1);
    report_number(&writer, line);
    report_bytes(&writer, ":", 1);
    report_number(&writer, column);
    report_text(&writer, ": runtime failure: ");
    report_bytes(&writer, message, message_length);
    report_bytes(&writer, "\n", 1);
    report_flush(&writer);
  }
  _exit(HOLO_FAILURE_EXIT_STATUS);
}

int64_t holo_location_line(const holo_location *location) {
  return location->line_base != NULL ? *location->line_base + location->line : location->line;
}

/* `location` with its line resolved; "<unknown>":0:0 when there is none. */
static holo_location resolved(const holo_location *location) {
  if (location == NULL || location->file == NULL) {
    return (holo_location){"<unknown>", 0, 0, NULL};
  }
  return (holo_location){location->file, (int32_t)holo_location_line(location), location->column,
                         NULL};
}

static holo_failure_handler failure_handler;
static void *failure_handler_context;

void holo_set_failure_handler(holo_failure_handler handler, void *context) {
  failure_handler = handler;
  failure_handler_context = context;
}

/* Gives an installed handler the failure first; `message` is NUL-terminated. */
static void call_failure_handler(const char *message, const holo_location *location) {
  if (failure_handler == NULL) {
    return;
  }
  holo_flush_for_failure();
  fflush(NULL);
  failure_handler(message, location, failure_handler_context);
}

void holo_fail(const char *message, const holo_location *location) {
  holo_location at = resolved(location);
  call_failure_handler(message, &at);
  holo_report_failure(message, strlen(message), at.file, at.line, at.column, false);
}

void holo_fail_string(const holo_string *message, const holo_location *location) {
  holo_location at = resolved(location);
  /* A holo string's bytes are followed by a NUL. */
  call_failure_handler(message->bytes, &at);
  holo_report_failure(message->bytes, (size_t)message->length, at.file, at.line, at.column,
                      false);
}
