/* Program and test-executable entry points called by the generated `main`. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

enum { USAGE_EXIT_STATUS = 64 };

static const char parent_variable[] = HOLO_DEV_ENV_PARENT_PID;

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
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have ended between the check and prctl, which then has no parent
   * left to watch. */
  if (getppid() != (pid_t)parent) {
    raise(SIGKILL);
  }
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

static void start_runtime(const holo_program_info *program) {
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

int holo_main(int argc, char **argv, void (*entry)(void), const holo_program_info *program) {
  (void)argc;
  (void)argv;
  start_runtime(program);
  entry();
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

int holo_test_main(int argc, char **argv, const holo_test_info *tests, int64_t test_count,
                   const holo_program_info *program) {
  const char *program_name = argc > 0 ? argv[0] : "test";
  start_runtime(program);
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    list_tests(tests, test_count);
    holo_flush();
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--run") == 0) {
    for (int64_t i = 0; i < test_count; i++) {
      if (strcmp(tests[i].name, argv[2]) == 0) {
        tests[i].function();
        holo_flush_after(tests[i].function);
        return 0;
      }
    }
    fprintf(stderr, "%s: no test named `%s`\n", program_name, argv[2]);
    return USAGE_EXIT_STATUS;
  }
  fprintf(stderr, "usage: %s --list | --run NAME\n", program_name);
  return USAGE_EXIT_STATUS;
}
