/* A patch that adds the global `counter` (its storage is the agent's): its safepoint
 * function gives it VALUE, and its value() returns it. VERSION is the patch's id. */
#include "../dev_symbols.h"

#include <stdint.h>

extern int64_t counter HOLO_SYMBOL("holo.global.counter:i64");
void initialize(void) HOLO_SYMBOL("holo.safepoint#" VERSION);
int64_t value_next(void) HOLO_SYMBOL("holo.value()->i64#" VERSION);

void initialize(void) { counter = VALUE; }

int64_t value_next(void) { return counter; }
