/* A new tick() that recurses without end (through its slot, as dev code calls), with the
 * function table a patch object carries (`holo.functions#VERSION`): the stack overflow
 * must name tick at the line its new line-base cell holds. */
#include "../dev_symbols.h"
#include "holo.h"

#include <stdint.h>

extern const int64_t tick_line HOLO_SYMBOL("holo.line.tick()->()");
extern void (*tick_slot)(void) HOLO_SYMBOL("holo.slot.tick()->()");

void tick_deep(void) HOLO_SYMBOL("holo.tick()->()#" VERSION);

static volatile int64_t always = 1;

void tick_deep(void) {
  volatile char frame[128];
  frame[0] = 1;
  if (always) {
    tick_slot();
  }
  frame[0]++;
}

static const holo_function_info functions[] = {
    {(const void *)tick_deep, "tick", {"patch.holo", 0, 3, &tick_line}},
};

const holo_function_table table HOLO_SYMBOL("holo.functions#" VERSION) = {functions, 1};
