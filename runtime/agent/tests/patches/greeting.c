/* A new greeting(): returns an immortal string literal (TEXT) in this patch's own data. */
#include "../dev_symbols.h"
#include "holo.h"

holo_string *greeting_next(void) HOLO_SYMBOL("holo.greeting()->string#" VERSION);

static const struct {
  int64_t refcount;
  int64_t length;
  char bytes[sizeof TEXT];
} literal = {-1, sizeof TEXT - 1, TEXT};

holo_string *greeting_next(void) { return (holo_string *)&literal; }
