/* The clock, sleeping and exiting built-ins. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int64_t holo_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + (int64_t)(now.tv_nsec / 1000000);
}

void holo_sleep_ms(int64_t ms) {
  holo_flush();
  if (ms <= 0) {
    return;
  }
  /* An absolute deadline: signals (the dev agent's safepoints) may interrupt the sleep any
   * number of times without shortening or stretching it; the wait hook runs after each. */
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += (time_t)(ms / 1000);
  deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
    holo_wait_interrupted();
  }
}

bool holo_exits_without_atexit;

void holo_exit(int32_t code) {
  holo_flush();
  if (holo_exits_without_atexit) {
    /* Output of C code the test calls, buffered by stdio, which exit() would flush. */
    fflush(NULL);
    _exit(code);
  }
  exit(code);
}
