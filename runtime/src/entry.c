/* Program and test-executable entry points called by the generated `main`. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include "holo_dev_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { USAGE_EXIT_STATUS = 64 };

static const char parent_variable[] = HOLO_DEV_ENV_PARENT_PID;

/* Has the kernel kill this process when `parent`, its parent now, ends. */
static void die_with(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have ended between the check and prctl, which then has no parent
   * left to watch. */
  if (getppid() != parent) {
    raise(SIGKILL);
  }
}

void holo_die_with_parent(void) {
  const char *text = getenv(parent_variable);
  if (text == NULL) {
    return;
  }
  char *end;
  long parent = strtol(text, &end, 10);
  bool named = end != text && *end == '\0' && parent > 0;
  unsetenv(parent_variable);
  if (!named) {
    return;
  }
  if (getppid() != (pid_t)parent) {
    /* Either the parent ended before this process got here (it was reparented), or a
     * process in between started this one without exec (a shell script as a C host):
     * only the first ends it. */
    if (kill((pid_t)parent, 0) != 0 && errno == ESRCH) {
      raise(SIGKILL);
    }
    return;
  }
  die_with(parent);
}

/* A standard descriptor the program was started without (`prog >&-`) is taken by
 * /dev/null opened read-only, so that no file the program opens later becomes its stdout
 * and receives its output: writes to it fail (`cannot write to stdout`) and reads from it
 * see the end of input, as they would on the closed descriptor. */
static void hold_standard_descriptors(void) {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      int opened = open("/dev/null", O_RDONLY);
      if (opened != fd && opened >= 0) {
        close(opened);
      }
    }
  }
}

/* The running program's description, for what runs before each test. */
static const holo_program_info *running_program;

/* Gives the globals their first values (LANGUAGE.md §3): before the entry point, and
 * before each test in the test's own process. */
static void initialize_globals(void) {
  if (running_program != NULL && running_program->initialize_globals != NULL) {
    running_program->initialize_globals();
  }
}

static void start_runtime(const holo_program_info *program) {
  running_program = program;
  holo_die_with_parent();
  hold_standard_descriptors();
  holo_output_init();
  holo_failure_init();
  holo_signals_init(program);
  /* Only a dev executable names the patch agent (docs/PATCHING.md), so the runtime itself
   * never refers to it. */
  if (program != NULL && program->start_agent != NULL) {
    program->start_agent();
  }
}

int holo_program_argc;
char **holo_program_argv;

/* ---- Frame restarts (docs/PATCHING.md "Frame restarts") ------------------------------
 * The entry function is called from `run_entry`, whose frame is the restart point: the
 * patch agent unwinds every frame above it (running their cleanups), then jumps back into
 * it, and it calls the entry function again. */

static sigjmp_buf entry_restart;
/* run_entry's frame while the entry function runs; NULL otherwise. */
static void *volatile entry_frame;

void *holo_entry_frame(void) { return entry_frame; }

void holo_entry_resume(void) { siglongjmp(entry_restart, 1); }

/* The frame address of the caller whose landing pad is to claim a restart; NULL: none. */
static void *restart_claimer;

void holo_restart_expect_claim(void *frame) { restart_claimer = frame; }

_Bool holo_dev_restart_claim(void *frame) {
  if (restart_claimer == NULL || frame != restart_claimer) {
    return 0;
  }
  restart_claimer = NULL;
  return 1;
}

__attribute__((noinline)) static void run_entry(void (*const *entry_slot)(void)) {
  entry_frame = __builtin_frame_address(0);
  /* Each restart comes back here, with the stack above unwound, and reads the slot again. */
  sigsetjmp(entry_restart, 1);
  (*entry_slot)();
  entry_frame = NULL;
}

int holo_main(int argc, char **argv, void (*entry)(void), const holo_program_info *program) {
  holo_program_argc = argc;
  holo_program_argv = argv;
  start_runtime(program);
  initialize_globals();
  /* Only a dev executable restarts its entry function. */
  if (program != NULL && program->entry_slot != NULL) {
    run_entry(program->entry_slot);
  } else {
    entry();
  }
  holo_flush_after(entry);
  return 0;
}

static void print_text(const char *text) { holo_output_write(text, strlen(text)); }

static void list_tests(const holo_test_info *tests, int64_t test_count) {
  for (int64_t i = 0; i < test_count; i++) {
    print_text(tests[i].name);
    print_text("\t");
    print_text(tests[i].location.file);
    print_text("\t");
    holo_print_i64(holo_location_line(&tests[i].location));
    print_text("\t");
    holo_print_i64(tests[i].location.column);
    holo_print_newline();
  }
}

/* Runs `test`'s current version (through its slot in a dev build), then flushes. */
static void run_test(const holo_test_info *test) {
  void (*function)(void) = test->slot != NULL ? *test->slot : test->function;
  initialize_globals();
  function();
  holo_flush_after(test->function);
}

/* ---- The test server (`--serve`, docs/PATCHING.md "The test process") -------------- */

/* Longer request lines are refused: a test name and two paths fit many times over. */
enum { REQUEST_CAPACITY = 16 * 1024 };

typedef struct request_reader {
  char buffer[REQUEST_CAPACITY];
  size_t length;
} request_reader;

/* The server's answers, one line each, written unbuffered on stdout. A write that fails
 * means holoc is gone: the server ends. */
static void answer(const char *kind, const char *detail) {
  char line[REQUEST_CAPACITY + 64];
  size_t length = 0;
  for (const char *part = kind; *part != '\0' && length < sizeof line - 2; part++) {
    line[length++] = *part;
  }
  line[length++] = ' ';
  for (const char *part = detail; *part != '\0' && length < sizeof line - 1; part++) {
    /* An answer is one line whatever a request held. */
    line[length++] = *part == '\n' ? ' ' : *part;
  }
  line[length++] = '\n';
  if (holo_write_all(STDOUT_FILENO, line, length) != 0) {
    _exit(0);
  }
}

static void answer_number(const char *kind, int64_t value) {
  char digits[HOLO_NUMBER_TEXT_MAX + 1];
  digits[holo_format_i64_digits(value, digits)] = '\0';
  answer(kind, digits);
}

/* The next request line, NUL-terminated and without its newline; NULL at the end of
 * input. A line too long for the buffer is skipped and reported as "" (malformed). */
static char *next_request(request_reader *reader, size_t *consumed) {
  memmove(reader->buffer, reader->buffer + *consumed, reader->length - *consumed);
  reader->length -= *consumed;
  *consumed = 0;
  bool overlong = false;
  for (;;) {
    char *newline = memchr(reader->buffer, '\n', reader->length);
    if (newline != NULL) {
      *newline = '\0';
      *consumed = (size_t)(newline - reader->buffer) + 1;
      return overlong ? newline : reader->buffer;
    }
    if (reader->length == sizeof reader->buffer) {
      overlong = true;
      reader->length = 0;
    }
    holo_wait_readable(STDIN_FILENO);
    ssize_t count = read(STDIN_FILENO, reader->buffer + reader->length,
                         sizeof reader->buffer - reader->length);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count <= 0) {
      return NULL;
    }
    reader->length += (size_t)count;
  }
}

/* Splits `line` at tabs into exactly `count` non-empty fields; false otherwise. */
static bool split_fields(char *line, char **fields, int count) {
  for (int i = 0; i < count; i++) {
    fields[i] = line;
    char *tab = strchr(line, '\t');
    if (i < count - 1) {
      if (tab == NULL) {
        return false;
      }
      *tab = '\0';
      line = tab + 1;
    } else if (tab != NULL) {
      return false;
    }
    if (fields[i][0] == '\0') {
      return false;
    }
  }
  return true;
}

/* The forked child: its own process group (holoc kills it as a whole on a time limit or
 * when the run is outdated), ended with the server, stdin from /dev/null and stdout and
 * stderr to `output`, failures to `report`. Runs the test's current version through its
 * slot, as `--run` does, and ends without the server's atexit handlers. */
static HOLO_NORETURN void run_forked_test(const holo_test_info *test, int output, int null_input,
                                          const char *report, pid_t server) {
  setpgid(0, 0);
  die_with(server);
  dup2(null_input, STDIN_FILENO);
  dup2(output, STDOUT_FILENO);
  dup2(output, STDERR_FILENO);
  close(output);
  close(null_input);
  holo_failure_report_to(report);
  holo_exits_without_atexit = true;
  run_test(test);
  fflush(NULL);
  _exit(0);
}

/* Answers one `run` request: the child's pid as soon as it exists (so that holoc can kill
 * it), then how it ended. The child is left a zombie, reaped with the next request, so
 * that its pid and process group stay its own while holoc may still signal them. */
static pid_t serve_request(char *request, const holo_test_info *tests, int64_t test_count,
                           int null_input) {
  char *fields[4];
  if (!split_fields(request, fields, 4) || strcmp(fields[0], "run") != 0) {
    answer("error", "malformed request: expected `run`, a test name, an output file and a "
                    "report file, separated by tabs");
    return 0;
  }
  const holo_test_info *test = NULL;
  for (int64_t i = 0; i < test_count && test == NULL; i++) {
    if (strcmp(tests[i].name, fields[1]) == 0) {
      test = &tests[i];
    }
  }
  if (test == NULL) {
    char message[REQUEST_CAPACITY + 32];
    snprintf(message, sizeof message, "no test named `%s`", fields[1]);
    answer("error", message);
    return 0;
  }
  /* Opened here, so that a path the child could not write is an answer, not a crash. */
  int output = open(fields[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (output < 0) {
    char message[REQUEST_CAPACITY + 64];
    snprintf(message, sizeof message, "cannot create `%s`: %s", fields[2], strerror(errno));
    answer("error", message);
    return 0;
  }
  /* Nothing buffered may be written twice, once by each process. */
  holo_flush();
  fflush(NULL);
  pid_t server = getpid();
  pid_t child = fork();
  if (child == 0) {
    run_forked_test(test, output, null_input, fields[3], server);
  }
  close(output);
  if (child < 0) {
    char message[64];
    snprintf(message, sizeof message, "cannot fork: %s", strerror(errno));
    answer("error", message);
    return 0;
  }
  /* Both sides set the group, so it exists before holoc learns the pid. */
  setpgid(child, child);
  answer_number("pid", child);
  siginfo_t ending;
  memset(&ending, 0, sizeof ending);
  int waited;
  while ((waited = waitid(P_PID, (id_t)child, &ending, WEXITED | WNOWAIT)) != 0 &&
         errno == EINTR) {
  }
  if (waited != 0) {
    char message[64];
    snprintf(message, sizeof message, "cannot wait for the test: %s", strerror(errno));
    answer("error", message);
  } else if (ending.si_code == CLD_EXITED) {
    answer_number("exit", ending.si_status);
  } else {
    answer_number("signal", ending.si_status);
  }
  return child;
}

static int serve_tests(const holo_test_info *tests, int64_t test_count) {
  int null_input = open("/dev/null", O_RDONLY | O_CLOEXEC);
  static request_reader reader;
  size_t consumed = 0;
  pid_t unreaped = 0;
  for (;;) {
    char *request = next_request(&reader, &consumed);
    if (unreaped > 0) {
      waitpid(unreaped, NULL, 0);
      unreaped = 0;
    }
    if (request == NULL) {
      return 0;
    }
    unreaped = serve_request(request, tests, test_count, null_input);
  }
}

/* The arguments are the dispatcher's own (`--run NAME`), not the program's: they are not
 * recorded, so args() in a test is the empty array. */
int holo_test_main(int argc, char **argv, const holo_test_info *tests, int64_t test_count,
                   const holo_program_info *program) {
  const char *program_name = argc > 0 ? argv[0] : "test";
  start_runtime(program);
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    list_tests(tests, test_count);
    holo_flush();
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--serve") == 0) {
    return serve_tests(tests, test_count);
  }
  if (argc == 3 && strcmp(argv[1], "--run") == 0) {
    for (int64_t i = 0; i < test_count; i++) {
      if (strcmp(tests[i].name, argv[2]) == 0) {
        run_test(&tests[i]);
        return 0;
      }
    }
    fprintf(stderr, "%s: no test named `%s`\n", program_name, argv[2]);
    return USAGE_EXIT_STATUS;
  }
  fprintf(stderr, "usage: %s --list | --run NAME | --serve\n", program_name);
  return USAGE_EXIT_STATUS;
}
