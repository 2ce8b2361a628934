/* Private declarations shared by the patch agent's source files (docs/PATCHING.md). */
#ifndef HOLO_AGENT_INTERNAL_H
#define HOLO_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "holo_dev_abi.h"

/* Room for one error text sent back in a PATCH_ACK. */
enum { AGENT_ERROR_MAX = 1024 };

/* Formats an error text into `error` (AGENT_ERROR_MAX bytes). */
void agent_error(char *error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Frees `count` malloc'd strings and their malloc'd array (which may be NULL). */
void agent_free_strings(char **strings, size_t count);

/* Grows a malloc'd array to hold at least `needed` elements (doubling); NULL, with the
 * array left as it was, when memory runs out or the size overflows. */
void *agent_array_grow(void *array, size_t *capacity, size_t needed, size_t element_size);

/* A half-open address range [start, end). */
typedef struct agent_range {
  uintptr_t start;
  uintptr_t end;
} agent_range;

struct migration_report;

/* ---- wire.c: the patch protocol's codec (holo_dev_abi.h has its constants) -------- */

/* A message being built; `failed` is set when memory ran out. */
typedef struct wire_writer {
  uint8_t *bytes;
  size_t length;
  size_t capacity;
  bool failed;
} wire_writer;

/* The messages the agent sends, each begun in `writer` (then wire_send it). */
void wire_hello(wire_writer *writer, uint32_t process_id);
void wire_patch_ack(wire_writer *writer, uint64_t id, bool applied, uint32_t link_us,
                    uint32_t apply_us, const char *error, char *const *stale_slots,
                    size_t stale_count, const struct migration_report *migration);
void wire_status_reply(wire_writer *writer, uint64_t id, uint32_t live_patches,
                       uint32_t freed_patches, uint64_t resident_kib);
void wire_frames_reply(wire_writer *writer, uint64_t id, bool scanned, char *const *stale_slots,
                       size_t stale_count);

/* Fills in the length prefix, leaving the whole frame in `bytes`; false when memory ran
 * out while the message was built. */
bool wire_finish(wire_writer *writer);
/* Sends the message with its length prefix and frees the writer's memory. */
bool wire_send(int fd, wire_writer *writer);

/* Reads a received payload; any read past its end sets `failed` and yields zeros. */
typedef struct wire_reader {
  const uint8_t *bytes;
  size_t length;
  size_t offset;
  bool failed;
} wire_reader;

uint8_t wire_get_u8(wire_reader *reader);
uint32_t wire_get_u32(wire_reader *reader);
uint64_t wire_get_u64(wire_reader *reader);
/* A string's bytes in place (not NUL-terminated). */
const uint8_t *wire_get_bytes(wire_reader *reader, size_t *length);
/* A string as a new NUL-terminated copy; NULL (and `failed`) when it is truncated or
 * contains a NUL byte. */
char *wire_get_string(wire_reader *reader);

/* A PATCH message, parsed; the strings are owned, the object points into the payload. */
typedef struct wire_patch {
  uint64_t id;
  char **new_slots;
  size_t new_slot_count;
  char **new_cells;
  size_t new_cell_count;
  /* Empty: the patch links nothing and only writes data and slots. */
  const uint8_t *object;
  size_t object_length;
  char **update_slots;
  char **update_functions;
  size_t update_count;
  char **data_symbols;
  uint64_t *data_values;
  size_t data_count;
  /* Storage for globals the patch adds: zeroed, `size` bytes aligned to `alignment`. */
  char **new_globals;
  uint32_t *new_global_sizes;
  uint32_t *new_global_alignments;
  size_t new_global_count;
  /* `holo.safepoint#ID`, run on the main thread at the safepoint after the writes, or ""
   * when the patch runs no code there. */
  char *safepoint_function;
  /* After the safepoint: restart the outermost frame running replaced code. */
  bool restarts_frames;
} wire_patch;

/* Reads a PATCH after its type byte. False when it is malformed: a count or length past
 * the end, a string with a NUL byte, bytes left over after the last field; `patch->id` is
 * the id all the same when one could be read (0 otherwise). Free with wire_patch_free
 * either way. */
bool wire_get_patch(wire_reader *reader, wire_patch *patch);
void wire_patch_free(wire_patch *patch);

/* Receives one message into a new buffer. False on end of stream, error, or a length
 * beyond what the agent accepts (the stream cannot be resynchronised after that). */
bool wire_receive(int fd, uint8_t **payload, size_t *length);

/* ---- elf.c: symbols, sections and relocations of ELF files ------------------------
 * Parsed by hand with bounds checks: the LLVM Object C API ends the process
 * (report_fatal_error) on some malformed inputs, and a patch must never do that. */

/* Function ranges sorted by start address. */
typedef struct function_table {
  agent_range *ranges;
  size_t count;
} function_table;

/* The executable's defined global symbols by name, at their run-time addresses: what
 * patches link against (slots, line-base cells, version-0 functions, the runtime). Read
 * from its symbol table, so a dev executable needs no dynamic symbol table (-rdynamic). An
 * open-addressing hash table of offsets into the string table (0: an empty slot). */
typedef struct symbol_index {
  const char *strings;
  uint32_t *names;
  uintptr_t *addresses;
  size_t mask; /* the number of slots minus 1, a power of two minus 1 */
} symbol_index;

/* Reads the running executable's symbol table: its function symbols (version 0 of every
 * holo function) and its linkable symbols. False, with both empty, when it has none (a
 * stripped executable). */
bool executable_read(function_table *functions, symbol_index *index, char *error);
/* The range of a function containing `address`, or NULL. */
const agent_range *function_table_find(const function_table *table, uintptr_t address);
/* The run-time address of the executable's symbol `name`; false when it defines none. */
bool symbol_index_find(const symbol_index *index, const char *name, uintptr_t *address);

typedef struct object_section {
  uint64_t size;
  bool allocated; /* SHF_ALLOC: the linker loads it into memory */
} object_section;

/* A symbol table entry; `name` points into object_info's copy of the file. */
typedef struct object_symbol {
  const char *name;
  uint64_t value; /* offset in its section */
  uint64_t size;
  uint32_t section; /* 0 when undefined or not in a section */
  bool is_global; /* STB_GLOBAL: visible to lookups, and not replaceable like a weak one */
} object_symbol;

typedef struct object_relocation {
  uint32_t target_section; /* the section whose bytes the relocation patches */
  uint64_t offset;
  uint32_t type;
  uint32_t symbol;
  int64_t addend;
} object_relocation;

/* A relocatable x86-64 ELF object, indexed as in the file (section and symbol 0 are the
 * null entries). */
typedef struct object_info {
  uint8_t *bytes; /* a copy of the file, which symbol names point into */
  object_section *sections;
  size_t section_count;
  object_symbol *symbols;
  size_t symbol_count;
  object_relocation *relocations;
  size_t relocation_count;
} object_info;

bool object_info_read(const uint8_t *bytes, size_t length, object_info *info, char *error);
/* The defined symbol named `name`, or NULL. */
const object_symbol *object_info_find(const object_info *info, const char *name);
void object_info_free(object_info *info);

/* ---- safepoint.c: running slot writes and a stack scan on the main thread --------- */

/* What the main thread does at one safepoint. Prepared by the agent thread; the signal
 * handler only reads the inputs and writes the outputs (no allocation). */
typedef struct safepoint_request {
  /* Slot writes, applied in order. */
  void **slots;
  void **values;
  size_t write_count;
  /* Ranges to look for on the stack and in the registers; range i belongs to owner
   * owners[i], and owner_hit[owner] is set when any word falls inside it. */
  const agent_range *ranges;
  const size_t *owners;
  size_t range_count;
  /* Functions whose frames are looked for: owner_hit[frame_owners[i]] is set when the
   * interrupted instruction pointer is inside frames[i], or a stack word is a return
   * address into it (it follows a call instruction inside the function). A mere pointer
   * to a function (a slot's value in a register, the constant an optimised guard compares
   * with) is not a frame. */
  const agent_range *frames;
  const size_t *frame_owners;
  size_t frame_count;
  bool *owner_hit;
  /* Run on the main thread after the writes and before the scan (a patch's safepoint
   * function), or NULL. With one, the safepoint is cooperative: the main thread takes it
   * where it polls (holo_safepoint_poll), never inside a signal handler, since the
   * function runs holo code that allocates. */
  void (*call)(void);
  /* After the call and the scan: restart the outermost frame running one of `frames`
   * (a frame restart); needs `call`. */
  bool restarts_frames;
  /* Set when the whole stack was scanned; false leaves owner_hit meaningless. */
  bool scanned;
} safepoint_request;

/* Records the calling thread as the main thread and installs the SIGURG handler. */
bool safepoint_install(char *error);
/* Runs `request` on the main thread. False (nothing written) when the main thread does
 * not reach the safepoint in time. */
bool safepoint_run(safepoint_request *request, char *error);

/* ---- jit.c: ORC LLJIT --------------------------------------------------------------- */

typedef struct agent_jit agent_jit;
typedef struct agent_tracker agent_tracker;

/* Loads libLLVM and resolves every function the agent calls. Called once, on the main
 * thread before the agent thread starts; every other jit_ function needs it to have
 * succeeded. */
bool jit_load_llvm(char *error);

/* The JIT resolves a patch's symbols in `executable` (which must outlive it), then in the
 * process's shared libraries (dlsym). */
agent_jit *jit_create(const symbol_index *executable, char *error);
/* Defines `name` as an absolute symbol at `address` for good. */
bool jit_define_absolute(agent_jit *jit, const char *name, uintptr_t address, char *error);
/* Adds an object (copied) under a new resource tracker; the tracker is returned. */
agent_tracker *jit_add_object(agent_jit *jit, const uint8_t *bytes, size_t length,
                              const char *name, char *error);
/* Looks a symbol up in the main JITDylib, linking whatever defines it. */
bool jit_lookup(agent_jit *jit, const char *name, uintptr_t *address, char *error);
/* Frees everything the tracker's object brought in, and the tracker. */
void jit_remove(agent_jit *jit, agent_tracker *tracker);

/* ---- patches.c: applying patches and freeing old ones ----------------------------- */

typedef struct patch_state patch_state;

/* What a patch's migration reported (migration.c): per conversion, the values converted
 * and how many lost information; the lossy conversions told one by one. */
typedef struct migration_report {
  uint64_t *values;
  uint64_t *lossy;
  size_t count;
  size_t capacity;
  char **texts;
  size_t text_count;
  size_t text_capacity;
} migration_report;

/* Moves what the last safepoint function reported into `report`, leaving nothing behind. */
void migration_report_take(migration_report *report);
void migration_report_free(migration_report *report);

typedef struct patch_result {
  bool applied;
  uint32_t link_us;
  uint32_t apply_us;
  char error[AGENT_ERROR_MAX];
  /* Slot symbols whose previous version is still on the stack (owned by the result). */
  char **stale_slots;
  size_t stale_count;
  migration_report migration;
} patch_result;

patch_state *patch_state_create(void);
/* Applies a well-formed PATCH message; takes the update slots it reports as stale. */
void patch_apply(patch_state *state, wire_patch *message, patch_result *result);
void patch_result_free(patch_result *result);

/* Slot symbols whose replaced versions still have frames on the main thread's stack. */
typedef struct frames_result {
  bool scanned; /* false: the main thread was not reached, nothing is known */
  char **stale_slots; /* owned by the result */
  size_t stale_count;
} frames_result;

/* Scans the stack for frames of every replaced version still reported stale, forgets
 * those that returned, and frees the patches nothing uses any more. */
void patch_find_frames(patch_state *state, frames_result *result);
void frames_result_free(frames_result *result);
uint32_t patch_live_count(const patch_state *state);
uint32_t patch_freed_count(const patch_state *state);

#endif
