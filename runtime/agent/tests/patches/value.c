/* A new version of value(): returns VALUE after DELAY turns of a loop; its version suffix
 * is VERSION. */
#include "../dev_symbols.h"

#include <stdint.h>

int64_t value_next(void) HOLO_SYMBOL("holo.value()->i64#" VERSION);

int64_t value_next(void) {
  for (volatile int64_t turn = 0; turn < DELAY; turn++) {
  }
  return VALUE;
}
