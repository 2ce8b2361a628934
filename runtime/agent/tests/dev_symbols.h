/* Symbol names of the dev calling convention (docs/PATCHING.md) for C test code.
 * `HOLO_SYMBOL("holo.value()->i64#0")` gives a C declaration that assembler name. GCC
 * pastes the name into its assembly, where `#` starts a comment unless the name is
 * quoted; clang writes objects directly and needs the bare name. */
#ifndef HOLO_AGENT_TEST_DEV_SYMBOLS_H
#define HOLO_AGENT_TEST_DEV_SYMBOLS_H

#if defined(__clang__)
#define HOLO_SYMBOL(name) __asm__(name)
#else
#define HOLO_SYMBOL(name) __asm__("\"" name "\"")
#endif

#endif
