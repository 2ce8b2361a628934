/* Three updates at once: a new signature value(i64)->i64 in a new slot, a new tick() that
 * calls it, and a new value(). tick() prints `wide V W` with V = value(), W = value(7). */
#include "../dev_symbols.h"
#include "holo.h"

extern int64_t (*value_slot)(void) HOLO_SYMBOL("holo.slot.value()->i64");
extern int64_t (*value_wide_slot)(int64_t) HOLO_SYMBOL("holo.slot.value(i64)->i64");

int64_t value_wide(int64_t x) HOLO_SYMBOL("holo.value(i64)->i64#1");
void tick_wide(void) HOLO_SYMBOL("holo.tick()->()#1");
int64_t value_three(void) HOLO_SYMBOL("holo.value()->i64#" VERSION);

int64_t value_wide(int64_t x) { return x * 10; }

int64_t value_three(void) { return 3; }

static void print_text(const char *text, int64_t length) {
  holo_string *s = holo_string_from_bytes(text, length);
  holo_print_string(s);
  holo_string_release(s);
}

void tick_wide(void) {
  print_text("wide ", 5);
  holo_print_i64(value_slot());
  print_text(" ", 1);
  holo_print_i64(value_wide_slot(7));
  holo_print_newline();
}
