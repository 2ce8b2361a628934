/* A C program whose game loop calls holo functions (gameplay.holo) every tick.
 *
 *   c-host [TICKS [TICK_MS]]     defaults: 50 ticks of 100 ms
 *
 * Strings cross as holo_str: one passed to holo is borrowed for the call; one returned by
 * holo belongs to the caller, who gives it back with holo_str_release.
 */
#define _POSIX_C_SOURCE 200809L

#include "gameplay.h"

#include <holo.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long argument(int argc, char **argv, int index, long fallback) {
  if (argc <= index) {
    return fallback;
  }
  char *end;
  long value = strtol(argv[index], &end, 10);
  if (*end != '\0' || value < 0) {
    fprintf(stderr, "usage: %s [TICKS [TICK_MS]]\n", argv[0]);
    exit(64);
  }
  return value;
}

/* Sleeps the whole time even when signals interrupt it (a dev build's patch agent
 * signals this thread to apply patches). */
static void sleep_ms(long ms) {
  struct timespec remaining = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&remaining, &remaining) != 0 && errno == EINTR) {
  }
}

static void print_line(holo_str text) { printf("%.*s\n", (int)text.len, text.ptr); }

int main(int argc, char **argv) {
  long ticks = argument(argc, argv, 1, 50);
  long tick_ms = argument(argc, argv, 2, 100);

  const char *player = "c-host";
  holo_str greeting = greet((holo_str){player, (int64_t)strlen(player)});
  print_line(greeting);
  holo_str_release(greeting);

  int64_t position = 0;
  for (int64_t tick = 0; tick < ticks; tick++) {
    position = update(tick, position);
    holo_str text = describe(tick, position);
    print_line(text);
    holo_str_release(text);
    /* Lines appear as they happen even when stdout is a pipe. */
    fflush(stdout);
    sleep_ms(tick_ms);
  }
  return 0;
}
