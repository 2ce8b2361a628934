/* A new value() returning the line-base cell of a function the program does not have: the
 * patch that brings it lists the cell as new and writes it. */
#include "../dev_symbols.h"

#include <stdint.h>

extern int64_t fresh_line HOLO_SYMBOL("holo.line.fresh()->i64");

int64_t value_fresh(void) HOLO_SYMBOL("holo.value()->i64#" VERSION);

int64_t value_fresh(void) { return fresh_line; }
