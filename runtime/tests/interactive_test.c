/* When output reaches the reader: runs scenarios in a child process whose stdin and stdout
 * are pipes (or a terminal) held by this process, and checks what arrives while the child
 * is still running. A missing flush shows up as a read that times out. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600

#include "check.h"
#include "holo.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*scenario)(void);

static void print_text(const char *text) {
  holo_string *s = holo_string_from_bytes(text, (int64_t)strlen(text));
  holo_print_string(s);
  holo_string_release(s);
}

static void prompt_then_read(void) {
  print_text("name? ");
  holo_string *name = holo_read_line();
  print_text("hello ");
  holo_print_string(name);
  holo_print_newline();
  holo_string_release(name);
}

static void print_then_sleep(void) {
  print_text("before sleep");
  holo_sleep_ms(5000);
}

static void print_then_wait(void) {
  print_text("buffered\n");
  pause();
}

static void fill_buffer_then_wait(void) {
  for (int i = 0; i < 2000; i++) {
    print_text("0123456789012345678901234567890123456789012345678901234567890123456789"
               "0123456789012345678901234567890\n");
  }
  pause();
}

static scenario child_scenario;
static void run_child_scenario(void) { child_scenario(); }

typedef struct child {
  pid_t pid;
  int to_stdin;
  int from_stdout;
} child;

/* Starts `body` under holo_main with stdout on a pipe, or on a terminal if `terminal`. */
static child start_child(scenario body, bool terminal) {
  int input[2];
  int output[2];
  CHECK(pipe(input) == 0);
  if (terminal) {
    output[0] = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(output[0] >= 0 && grantpt(output[0]) == 0 && unlockpt(output[0]) == 0);
    output[1] = open(ptsname(output[0]), O_RDWR | O_NOCTTY);
  } else {
    CHECK(pipe(output) == 0);
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(input[0], STDIN_FILENO);
    dup2(output[1], STDOUT_FILENO);
    close(input[0]);
    close(input[1]);
    close(output[0]);
    close(output[1]);
    child_scenario = body;
    char *argv[] = {"child", NULL};
    _exit(holo_main(1, argv, run_child_scenario, NULL));
  }
  close(input[0]);
  close(output[1]);
  return (child){pid, input[1], output[0]};
}

/* Reads until `expected` bytes arrived or nothing arrives for `timeout_ms`. */
static size_t read_some(int fd, char *buffer, size_t capacity, size_t expected, int timeout_ms) {
  size_t length = 0;
  while (length < expected && length < capacity) {
    struct pollfd ready = {fd, POLLIN, 0};
    if (poll(&ready, 1, timeout_ms) <= 0) {
      break;
    }
    ssize_t count = read(fd, buffer + length, capacity - length);
    if (count <= 0) {
      break;
    }
    length += (size_t)count;
  }
  return length;
}

static void stop_child(child *c) {
  kill(c->pid, SIGKILL);
  waitpid(c->pid, NULL, 0);
  close(c->to_stdin);
  close(c->from_stdout);
}

static void check_prompt_arrives_before_read_line_blocks(void) {
  child c = start_child(prompt_then_read, false);
  char text[256] = {0};
  size_t length = read_some(c.from_stdout, text, sizeof text - 1, 6, 3000);
  CHECK(length == 6 && memcmp(text, "name? ", 6) == 0);
  CHECK(write(c.to_stdin, "holo\n", 5) == 5);
  close(c.to_stdin);
  length = read_some(c.from_stdout, text, sizeof text - 1, 11, 3000);
  text[length] = '\0';
  CHECK_TEXT(text, "hello holo\n");
  int status = -1;
  waitpid(c.pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(c.from_stdout);
}

static void check_output_arrives_before_sleep(void) {
  child c = start_child(print_then_sleep, false);
  char text[64] = {0};
  size_t length = read_some(c.from_stdout, text, sizeof text - 1, 12, 2000);
  text[length] = '\0';
  CHECK_TEXT(text, "before sleep");
  stop_child(&c);
}

static void check_pipe_output_waits_for_a_flush(void) {
  child c = start_child(print_then_wait, false);
  char text[64];
  CHECK(read_some(c.from_stdout, text, sizeof text, 1, 300) == 0);
  stop_child(&c);
}

static void check_full_buffer_is_written(void) {
  child c = start_child(fill_buffer_then_wait, false);
  static char text[256 * 1024];
  size_t length = read_some(c.from_stdout, text, sizeof text, 2000 * 101, 1000);
  /* Everything but what fits in the (64 KiB) buffer must have been written. */
  CHECK(length >= 2000 * 101 - 64 * 1024);
  CHECK(memcmp(text, "0123456789", 10) == 0);
  stop_child(&c);
}

static void check_terminal_output_is_line_buffered(void) {
  child c = start_child(print_then_wait, true);
  char text[64] = {0};
  size_t length = read_some(c.from_stdout, text, sizeof text - 1, 10, 2000);
  text[length] = '\0';
  /* The terminal turns "\n" into "\r\n". */
  CHECK_TEXT(text, "buffered\r\n");
  stop_child(&c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  check_prompt_arrives_before_read_line_blocks();
  check_output_arrives_before_sleep();
  check_pipe_output_waits_for_a_flush();
  check_full_buffer_is_written();
  check_terminal_output_is_line_buffered();
  return check_exit_status();
}
