/* The runtime-owned stdout buffer and the print functions.
 *
 * Output is written with write(2) when the buffer fills and at the flush points LANGUAGE.md
 * §8 names (exit, sleep_ms, read_line, runtime failure). When stdout is a terminal the
 * buffer is also flushed at every newline, as C and Rust do, so progress lines appear.
 *
 * A write that fails is not ignored: a closed pipe ends the program as it ends a C
 * program (SIGPIPE), any other error (a full disk, a closed descriptor) is the runtime
 * failure `cannot write to stdout`.
 */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OUTPUT_CAPACITY = 64 * 1024 };

static char output_buffer[OUTPUT_CAPACITY];
static size_t output_length;
static bool output_line_buffered;
static bool output_initialised;

int holo_write_all(int fd, const char *bytes, size_t length) {
  while (length > 0) {
    ssize_t written = write(fd, bytes, length);
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      /* A non-blocking descriptor someone else made: wait until it takes more. */
      struct pollfd entry = {.fd = fd, .events = POLLOUT, .revents = 0};
      poll(&entry, 1, -1);
      continue;
    }
    if (written <= 0) {
      return written < 0 ? errno : EIO;
    }
    bytes += written;
    length -= (size_t)written;
  }
  return 0;
}

/* Ends the program the way a closed pipe ends a C program, even when SIGPIPE was ignored
 * or blocked by whoever started it: `prog | head` is not a failure. */
static HOLO_NORETURN void end_at_closed_pipe(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(SIGPIPE, &action, NULL);
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &pipe_signal, NULL);
  raise(SIGPIPE);
  _exit(128 + SIGPIPE);
}

/* The buffered bytes cannot be told apart by the print that wrote them, so the failure is
 * located where it is found: the holo function that flushed (directly, or by printing
 * into a full buffer), else the entry that had just returned. */
static HOLO_NORETURN void stdout_failed(int error, void (*returned_entry)(void)) {
  if (error == EPIPE) {
    end_at_closed_pipe();
  }
  const holo_location *location = holo_innermost_frame_location();
  if (location == NULL && returned_entry != NULL) {
    location = holo_function_location((const void *)returned_entry);
  }
  holo_fail("cannot write to stdout", location);
}

static void write_stdout(const char *bytes, size_t length, void (*returned_entry)(void)) {
  int error = holo_write_all(STDOUT_FILENO, bytes, length);
  if (error != 0) {
    stdout_failed(error, returned_entry);
  }
}

/* Reset the buffer before writing, so that a failure reported meanwhile (which flushes
 * too) cannot write the same bytes twice. */
static void flush(void (*returned_entry)(void)) {
  size_t length = output_length;
  output_length = 0;
  write_stdout(output_buffer, length, returned_entry);
}

void holo_flush(void) { flush(NULL); }

void holo_flush_after(void (*entry)(void)) { flush(entry); }

void holo_flush_for_failure(void) {
  size_t length = output_length;
  output_length = 0;
  (void)holo_write_all(STDOUT_FILENO, output_buffer, length);
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
      write_stdout(bytes, length, NULL);
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
