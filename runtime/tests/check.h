/* Minimal assertions for the runtime's C test programs: a failed check is reported on
 * stderr and makes check_exit_status() nonzero. */
#ifndef HOLO_RUNTIME_CHECK_H
#define HOLO_RUNTIME_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(condition)                                                                   \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);       \
      check_failures++;                                                                    \
    }                                                                                      \
  } while (0)

#define CHECK_TEXT(actual, expected)                                                       \
  do {                                                                                     \
    const char *check_actual = (actual);                                                   \
    const char *check_expected = (expected);                                               \
    if (strcmp(check_actual, check_expected) != 0) {                                       \
      fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__,          \
              check_actual, check_expected);                                               \
      check_failures++;                                                                    \
    }                                                                                      \
  } while (0)

static int check_exit_status(void) {
  if (check_failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", check_failures);
    return 1;
  }
  return 0;
}

#endif
