/* A function no code of the program calls: the wire fuzz of daemon.py links it into a new
 * slot, so that a damaged object that still links never runs. Its version suffix is
 * VERSION. */
#include "../dev_symbols.h"

#include <stdint.h>

int64_t unused_next(void) HOLO_SYMBOL("holo.unused()->i64#" VERSION);

int64_t unused_next(void) { return VALUE; }
