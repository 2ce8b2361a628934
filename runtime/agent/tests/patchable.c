/* Imitates a dev build of a holo program: every call goes through a slot holding the
 * current version of the callee, versions are named `holo.NAME(...)->R#N`, and the
 * program starts through holo_main, which starts the patch agent its program info names.
 *
 * Modes (argv[1]):
 *   sleep  loop: tick(), sleep 5 ms
 *   spin   main calls spin(), which loops forever: tick(), sleep 5 ms
 *   read   sleep 500 ms and report how long that took, then per line of stdin: tick(),
 *          then the line
 *   busy   call value() in a tight loop, printing `value V` (and flushing) every 20 ms
 *   hold   per line of stdin: print the string greeting() returned for the previous
 *          line, so the string is held (in a frame of version 0) while waiting for input
 *   pointer  as sleep, with the address of value()'s version 0 kept on the stack (as an
 *          optimised caller that inlined it keeps it for its guard): not a frame of it
 *   cells  loop: print `line L value V` with L = value()'s line-base cell, V = value(),
 *          sleep 5 ms
 * tick() prints `value V` with V = value(), and polls for a cooperative safepoint as dev
 * code does at a loop's head (every mode but busy calls it).
 */
#include "dev_symbols.h"
#include "holo.h"

#include <stdatomic.h>
#include <string.h>

int64_t value_0(void) HOLO_SYMBOL("holo.value()->i64#0");
void tick_0(void) HOLO_SYMBOL("holo.tick()->()#0");
void spin_0(void) HOLO_SYMBOL("holo.spin()->()#0");
holo_string *greeting_0(void) HOLO_SYMBOL("holo.greeting()->string#0");

int64_t (*value_slot)(void) HOLO_SYMBOL("holo.slot.value()->i64") = value_0;
void (*tick_slot)(void) HOLO_SYMBOL("holo.slot.tick()->()") = tick_0;
void (*spin_slot)(void) HOLO_SYMBOL("holo.slot.spin()->()") = spin_0;
holo_string *(*greeting_slot)(void) HOLO_SYMBOL("holo.slot.greeting()->string") = greeting_0;

/* value()'s line-base cell: the line where it starts. */
int64_t value_line HOLO_SYMBOL("holo.line.value()->i64") = 7;

/* What a dev build's glue defines for its polls (docs/PATCHING.md, "Safepoints"). */
atomic_int safepoint_requested HOLO_SYMBOL("holo.safepoint.requested");
void (*_Atomic safepoint_handler)(void) HOLO_SYMBOL("holo.safepoint.handler");

static void poll_safepoint(void) {
  if (atomic_load_explicit(&safepoint_requested, memory_order_relaxed) != 0) {
    void (*handler)(void) = atomic_load(&safepoint_handler);
    if (handler != NULL) {
      handler();
    }
  }
}

static const char *mode;

static void print_text(const char *text) {
  holo_string *s = holo_string_from_bytes(text, (int64_t)strlen(text));
  holo_print_string(s);
  holo_string_release(s);
}

int64_t value_0(void) { return 1; }

void tick_0(void) {
  poll_safepoint();
  print_text("value ");
  holo_print_i64(value_slot());
  holo_print_newline();
}

void spin_0(void) {
  for (;;) {
    tick_slot();
    holo_sleep_ms(5);
  }
}

/* An immortal string literal, laid out as the compiler emits them. */
static const struct {
  int64_t refcount;
  int64_t length;
  char bytes[6];
} hello = {-1, 5, "hello"};

holo_string *greeting_0(void) { return (holo_string *)&hello; }

static void hold_greetings(void) {
  holo_string *greeting = greeting_slot();
  for (;;) {
    holo_string *line = holo_read_line();
    bool done = holo_stdin_eof();
    holo_string_release(line);
    if (done) {
      return;
    }
    print_text("held ");
    holo_print_string(greeting);
    holo_print_newline();
    holo_string_release(greeting);
    greeting = greeting_slot();
  }
}

static void read_lines(void) {
  int64_t start = holo_now_ms();
  holo_sleep_ms(500);
  print_text("slept ");
  holo_print_i64(holo_now_ms() - start);
  holo_print_newline();
  for (;;) {
    holo_string *line = holo_read_line();
    if (holo_stdin_eof()) {
      holo_string_release(line);
      return;
    }
    tick_slot();
    holo_print_string(line);
    holo_print_newline();
    holo_string_release(line);
  }
}

/* Never blocks: safepoints land anywhere in the calls, also between loading a slot and
 * calling the target it held. */
static void call_busily(void) {
  int64_t printed = 0;
  for (;;) {
    int64_t value = value_slot();
    int64_t now = holo_now_ms();
    if (now - printed >= 20) {
      print_text("value ");
      holo_print_i64(value);
      holo_print_newline();
      holo_flush();
      printed = now;
    }
  }
}

static void tick_holding_a_pointer(void) {
  int64_t (*volatile held)(void) = value_0;
  for (;;) {
    tick_slot();
    holo_sleep_ms(held == value_slot ? 5 : 6);
  }
}

static void print_lines(void) {
  for (;;) {
    print_text("line ");
    holo_print_i64(value_line);
    print_text(" value ");
    holo_print_i64(value_slot());
    holo_print_newline();
    holo_sleep_ms(5);
  }
}

static void entry(void) {
  if (strcmp(mode, "pointer") == 0) {
    tick_holding_a_pointer();
  } else if (strcmp(mode, "busy") == 0) {
    call_busily();
  } else if (strcmp(mode, "spin") == 0) {
    spin_slot();
  } else if (strcmp(mode, "read") == 0) {
    read_lines();
  } else if (strcmp(mode, "hold") == 0) {
    hold_greetings();
  } else if (strcmp(mode, "cells") == 0) {
    print_lines();
  } else {
    for (;;) {
      tick_slot();
      holo_sleep_ms(5);
    }
  }
}

/* A dev build names the agent in its program info; PATCHABLE_RELEASE builds the program
 * as a release build would, without the agent. */
#ifdef PATCHABLE_RELEASE
static const holo_program_info program = {NULL, 0, NULL, NULL, NULL, NULL, NULL};
#else
static const holo_program_info program = {NULL, 0, holo_agent_start, NULL, NULL, NULL, NULL};
#endif

int main(int argc, char **argv) {
  mode = argc > 1 ? argv[1] : "sleep";
  return holo_main(argc, argv, entry, &program);
}
