/* A new spin(): the old one never returns, so it stays on the stack after this patch. */
#include "../dev_symbols.h"
#include "holo.h"

extern void (*tick_slot)(void) HOLO_SYMBOL("holo.slot.tick()->()");

void spin_next(void) HOLO_SYMBOL("holo.spin()->()#1");

void spin_next(void) {
  for (;;) {
    tick_slot();
    holo_sleep_ms(5);
  }
}
