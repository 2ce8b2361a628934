/* The runtime's blocking waits (sleep_ms, reading input) and the hook that runs when a
 * signal interrupts one. The patch agent installs the hook in dev programs: its signal
 * ends a wait, and the hook takes the cooperative safepoint the agent asked for
 * (docs/PATCHING.md, "Safepoints"); the wait then resumes. Nothing sets it elsewhere. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>

static void (*_Atomic wait_interrupted_hook)(void);

void holo_set_wait_interrupted_hook(void (*hook)(void)) {
  atomic_store(&wait_interrupted_hook, hook);
}

void holo_wait_interrupted(void) {
  void (*hook)(void) = atomic_load(&wait_interrupted_hook);
  if (hook != NULL) {
    hook();
  }
}

void holo_wait_readable(int fd) {
  struct pollfd readable = {.fd = fd, .events = POLLIN};
  /* poll(2) is never restarted after a signal handler, so a signal ends the wait and the
   * hook runs; read(2) would resume by itself. */
  while (poll(&readable, 1, -1) < 0 && errno == EINTR) {
    holo_wait_interrupted();
  }
}
