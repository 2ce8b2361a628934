/* A patch that cannot link: it calls a function nothing defines. */
#include "../dev_symbols.h"

#include <stdint.h>

int64_t holo_agent_test_missing_function(void);
int64_t value_broken(void) HOLO_SYMBOL("holo.value()->i64#" VERSION);

int64_t value_broken(void) { return holo_agent_test_missing_function() + 100; }
