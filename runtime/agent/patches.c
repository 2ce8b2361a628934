/* Applying a patch (docs/PATCHING.md, "Applying a patch") and freeing the versions no one
 * uses any more ("Freeing old versions"). Runs on the agent thread only. */
#define _GNU_SOURCE

#include "agent_internal.h"
#include "holo.h"

#include <dlfcn.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct live_patch {
  agent_tracker *tracker;
  /* The patch's loaded sections whose address is known (code and the data it refers
   * to): a word pointing in here keeps the patch alive. */
  agent_range *footprint;
  size_t footprint_count;
  /* The functions the patch put into slots, for stale-frame reports. */
  agent_range *functions;
  size_t function_count;
  /* The runtime's handle of the patch's function table, -1 when it has none registered. */
  int function_table;
} live_patch;

/* A replaced version that still had a frame on the stack when last looked for: the slot
 * it was replaced in, and its code. */
typedef struct superseded {
  char *slot;
  agent_range function;
} superseded;

/* A cell the agent created: a zeroed 8-byte global it owns for good, named by the patch
 * that needed it. New slots (new signatures) and new line-base cells (new functions) are
 * both such cells; so is the storage of a new global, of the global's size. */
typedef struct owned_cell {
  char *name;
  void **cell;
} owned_cell;

struct patch_state {
  agent_jit *jit;
  char jit_error[AGENT_ERROR_MAX];
  function_table version0;
  symbol_index executable;
  live_patch *patches;
  size_t patch_count;
  size_t patch_capacity;
  owned_cell *owned;
  size_t owned_count;
  size_t owned_capacity;
  /* Every slot ever written: what they point at is in use. */
  void ***written;
  size_t written_count;
  size_t written_capacity;
  uint32_t freed;
  superseded *superseded;
  size_t superseded_count;
  size_t superseded_capacity;
};

/* One slot update being applied. */
typedef struct update {
  void **slot;
  uintptr_t function;
  /* The range of the function the slot pointed at before; empty when unknown. */
  agent_range previous;
} update;

static uint64_t now_us(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

static uint32_t elapsed_us(uint64_t start) {
  uint64_t elapsed = now_us() - start;
  return elapsed > UINT32_MAX ? UINT32_MAX : (uint32_t)elapsed;
}

patch_state *patch_state_create(void) {
  patch_state *state = calloc(1, sizeof *state);
  if (state == NULL) {
    return NULL;
  }
  /* Without the executable's symbol table (stripped), stale frames of version 0 go
   * unreported and patches link only against what dlsym finds (an executable linked with
   * -rdynamic). */
  char ignored[AGENT_ERROR_MAX];
  executable_read(&state->version0, &state->executable, ignored);
  state->jit = jit_create(&state->executable, state->jit_error);
  return state;
}

uint32_t patch_live_count(const patch_state *state) { return (uint32_t)state->patch_count; }
uint32_t patch_freed_count(const patch_state *state) { return state->freed; }

/* ---- Names ------------------------------------------------------------------------ */

/* The agent writes only into cells named as the dev calling convention names them
 * (docs/PATCHING.md): a slot `holo.slot.KEY` gets only a version `holo.KEY#N` of its own
 * function, a data write goes only to a line-base cell `holo.line.KEY`. Any symbol of the
 * process can be looked up, so without this a damaged message naming a function or a C
 * symbol would have the safepoint write into code, or point a slot at a function of
 * another signature. */
static const char slot_prefix[] = HOLO_DEV_SLOT_PREFIX;
static const char cell_prefix[] = HOLO_DEV_LINE_BASE_PREFIX;
static const char function_prefix[] = HOLO_DEV_FUNCTION_PREFIX;
static const char global_prefix[] = HOLO_DEV_GLOBAL_PREFIX;
static const char safepoint_function_prefix[] = HOLO_DEV_SAFEPOINT_FUNCTION_PREFIX;

/* The KEY of `name` when it is PREFIX followed by a non-empty KEY, else NULL. */
static const char *key_of(const char *name, const char *prefix) {
  size_t length = strlen(prefix);
  return strncmp(name, prefix, length) == 0 && name[length] != '\0' ? name + length : NULL;
}

/* True when `function` is `holo.KEY#N`, a version of the function keyed `key`. */
static bool is_version_of(const char *function, const char *key) {
  size_t prefix = sizeof function_prefix - 1;
  size_t length = strlen(key);
  const char *version = function + prefix + length + 1;
  if (strncmp(function, function_prefix, prefix) != 0 ||
      strncmp(function + prefix, key, length) != 0 ||
      function[prefix + length] != HOLO_DEV_VERSION_SEPARATOR || *version == '\0') {
    return false;
  }
  for (; *version != '\0'; version++) {
    if (*version < '0' || *version > '9') {
      return false;
    }
  }
  return true;
}

static bool check_names(const wire_patch *message, char *error) {
  for (size_t i = 0; i < message->new_slot_count; i++) {
    if (key_of(message->new_slots[i], slot_prefix) == NULL) {
      agent_error(error, "new slot `%s` is not named as a slot", message->new_slots[i]);
      return false;
    }
  }
  for (size_t i = 0; i < message->new_cell_count; i++) {
    if (key_of(message->new_cells[i], cell_prefix) == NULL) {
      agent_error(error, "new cell `%s` is not named as a line-base cell", message->new_cells[i]);
      return false;
    }
  }
  for (size_t i = 0; i < message->update_count; i++) {
    const char *slot = message->update_slots[i];
    const char *key = key_of(slot, slot_prefix);
    if (key == NULL) {
      agent_error(error, "`%s` is not a slot", slot);
      return false;
    }
    if (!is_version_of(message->update_functions[i], key)) {
      agent_error(error, "`%s` is not a version of the function of slot `%s`",
                  message->update_functions[i], slot);
      return false;
    }
  }
  for (size_t i = 0; i < message->data_count; i++) {
    if (key_of(message->data_symbols[i], cell_prefix) == NULL) {
      agent_error(error, "`%s` is not a line-base cell", message->data_symbols[i]);
      return false;
    }
  }
  for (size_t i = 0; i < message->new_global_count; i++) {
    uint32_t size = message->new_global_sizes[i];
    uint32_t alignment = message->new_global_alignments[i];
    if (key_of(message->new_globals[i], global_prefix) == NULL) {
      agent_error(error, "new global `%s` is not named as a global", message->new_globals[i]);
      return false;
    }
    if (size == 0 || size > HOLO_DEV_GLOBAL_SIZE_MAX || alignment == 0 ||
        alignment > HOLO_DEV_GLOBAL_ALIGNMENT_MAX || (alignment & (alignment - 1)) != 0) {
      agent_error(error, "new global `%s` has size %u and alignment %u", message->new_globals[i],
                  size, alignment);
      return false;
    }
  }
  /* The safepoint function is the patch's own: `holo.safepoint#ID`. */
  char expected[sizeof safepoint_function_prefix + 24];
  snprintf(expected, sizeof expected, "%s%llu", safepoint_function_prefix,
           (unsigned long long)message->id);
  if (message->safepoint_function[0] != '\0' &&
      strcmp(message->safepoint_function, expected) != 0) {
    agent_error(error, "`%s` is not the safepoint function of patch %llu",
                message->safepoint_function, (unsigned long long)message->id);
    return false;
  }
  return true;
}

/* ---- New cells -------------------------------------------------------------------- */

static void **owned_cell_named(const patch_state *state, const char *name) {
  for (size_t i = 0; i < state->owned_count; i++) {
    if (strcmp(state->owned[i].name, name) == 0) {
      return state->owned[i].cell;
    }
  }
  return NULL;
}

/* Creates `name` as `size` zeroed bytes aligned to `alignment`, owned for good, unless the
 * program or an earlier patch already has it: the daemon keys cells by name and
 * signature, globals by name and type, so it is the same cell. What was created stays
 * defined even if the patch then fails; it holds zero and nothing uses it. */
static bool define_owned(patch_state *state, const char *name, size_t size, size_t alignment,
                         char *error) {
  uintptr_t existing;
  if (owned_cell_named(state, name) != NULL ||
      symbol_index_find(&state->executable, name, &existing) ||
      dlsym(RTLD_DEFAULT, name) != NULL) {
    return true;
  }
  alignment = alignment < sizeof(void *) ? sizeof(void *) : alignment;
  size = (size + alignment - 1) / alignment * alignment;
  owned_cell *grown = agent_array_grow(state->owned, &state->owned_capacity,
                                       state->owned_count + 1, sizeof *state->owned);
  void *storage = aligned_alloc(alignment, size);
  char *copy = strdup(name);
  if (grown != NULL) {
    state->owned = grown;
  }
  if (grown == NULL || storage == NULL || copy == NULL) {
    free(storage);
    free(copy);
    agent_error(error, "out of memory");
    return false;
  }
  memset(storage, 0, size);
  if (!jit_define_absolute(state->jit, name, (uintptr_t)storage, error)) {
    free(storage);
    free(copy);
    return false;
  }
  state->owned[state->owned_count++] = (owned_cell){copy, storage};
  return true;
}

/* Creates the named 8-byte cells (new slots or line-base cells). */
static bool define_new_cells(patch_state *state, char *const *names, size_t count,
                             char *error) {
  for (size_t i = 0; i < count; i++) {
    if (!define_owned(state, names[i], sizeof(void *), sizeof(void *), error)) {
      return false;
    }
  }
  return true;
}

/* Creates the storage of the globals the patch adds. A global removed and added again
 * reuses its storage, which its removal left holding the zero value. */
static bool define_new_globals(patch_state *state, const wire_patch *message, char *error) {
  for (size_t i = 0; i < message->new_global_count; i++) {
    if (!define_owned(state, message->new_globals[i], message->new_global_sizes[i],
                      message->new_global_alignments[i], error)) {
      return false;
    }
  }
  return true;
}

/* ---- Where the patch's code and data are -------------------------------------------- */

static bool learn_base(const object_info *object, uintptr_t *bases, uint32_t section,
                       uintptr_t base) {
  if (section == 0 || section >= object->section_count || !object->sections[section].allocated ||
      bases[section] != 0 || base == 0) {
    return false;
  }
  bases[section] = base;
  return true;
}

/* Where a relocation made its place point, read back from the linked memory; false for
 * kinds the linker may have rewritten (GOT accesses) or that say nothing about an
 * address. */
static bool relocated_target(const object_relocation *relocation, uintptr_t place,
                             uintptr_t *target) {
  switch (relocation->type) {
  case R_X86_64_PC32:
  case R_X86_64_PLT32: {
    int32_t displacement;
    memcpy(&displacement, (const void *)place, sizeof displacement);
    *target = place + (uintptr_t)(intptr_t)displacement - (uintptr_t)relocation->addend;
    return true;
  }
  case R_X86_64_64: {
    uint64_t value;
    memcpy(&value, (const void *)place, sizeof value);
    *target = (uintptr_t)value - (uintptr_t)relocation->addend;
    return true;
  }
  default:
    return false;
  }
}

/* Finds the load address of every section of the object it can: from the symbols the
 * JIT looks up, then, to a fixed point, from the relocations in sections already placed
 * (a function's `lea` of a string literal reveals where the literal's section is). The
 * JIT loads each ELF section as one contiguous block, so one address places a section. */
static void find_section_bases(patch_state *state, const object_info *object, uintptr_t *bases) {
  char ignored[AGENT_ERROR_MAX];
  for (size_t i = 1; i < object->symbol_count; i++) {
    const object_symbol *symbol = &object->symbols[i];
    uintptr_t address;
    if (symbol->is_global && symbol->section != 0 && symbol->section < object->section_count &&
        object->sections[symbol->section].allocated && bases[symbol->section] == 0 &&
        jit_lookup(state->jit, symbol->name, &address, ignored)) {
      learn_base(object, bases, symbol->section, address - (uintptr_t)symbol->value);
    }
  }
  bool learned = true;
  while (learned) {
    learned = false;
    for (size_t i = 0; i < object->relocation_count; i++) {
      const object_relocation *relocation = &object->relocations[i];
      const object_symbol *symbol = &object->symbols[relocation->symbol];
      uint32_t source = relocation->target_section;
      uint64_t width = relocation->type == R_X86_64_64 ? 8 : 4;
      uintptr_t target;
      if (source == 0 || bases[source] == 0 || symbol->section == 0 ||
          bases[symbol->section] != 0 || relocation->offset > object->sections[source].size ||
          object->sections[source].size - relocation->offset < width ||
          !relocated_target(relocation, bases[source] + (uintptr_t)relocation->offset,
                            &target)) {
        continue;
      }
      learned |= learn_base(object, bases, symbol->section, target - (uintptr_t)symbol->value);
    }
  }
}

static agent_range range_of(uintptr_t start, uint64_t size) {
  return (agent_range){start, start + (uintptr_t)(size == 0 ? 1 : size)};
}

static bool in_ranges(const agent_range *ranges, size_t count, uintptr_t address) {
  for (size_t i = 0; i < count; i++) {
    if (ranges[i].start <= address && address < ranges[i].end) {
      return true;
    }
  }
  return false;
}

/* The JIT's jump stub for calls to other modules: `jmp *GOT(%rip)`. */
enum { JUMP_STUB_SIZE = 6 };

static bool add_footprint(live_patch *patch, size_t *capacity, agent_range range) {
  agent_range *grown = agent_array_grow(patch->footprint, capacity, patch->footprint_count + 1,
                                        sizeof *patch->footprint);
  if (grown == NULL) {
    return false;
  }
  patch->footprint = grown;
  patch->footprint[patch->footprint_count++] = range;
  return true;
}

/* Adds the stubs that calls from placed sections to other modules go through: a safepoint
 * can interrupt a tail call on its stub, when no frame of the patch is left. Where the JIT
 * bypassed the stub (target in reach), the range is the callee's first bytes, which at
 * worst keeps the patch alive a little longer. */
static bool add_stubs(const object_info *object, const uintptr_t *bases, live_patch *patch,
                      size_t *capacity) {
  for (size_t i = 0; i < object->relocation_count; i++) {
    const object_relocation *relocation = &object->relocations[i];
    uint32_t source = relocation->target_section;
    uintptr_t target;
    if (relocation->type != R_X86_64_PLT32 || source == 0 || bases[source] == 0 ||
        object->symbols[relocation->symbol].section != 0 ||
        relocation->offset > object->sections[source].size ||
        object->sections[source].size - relocation->offset < 4 ||
        !relocated_target(relocation, bases[source] + (uintptr_t)relocation->offset, &target)) {
      continue;
    }
    if (!in_ranges(patch->footprint, patch->footprint_count, target) &&
        !add_footprint(patch, capacity, range_of(target, JUMP_STUB_SIZE))) {
      return false;
    }
  }
  return true;
}

/* Fills the footprint and function ranges of a linked patch. */
static bool describe_patch(patch_state *state, const object_info *object,
                           const wire_patch *message, const update *updates,
                           live_patch *patch) {
  uintptr_t *bases = calloc(object->section_count + 1, sizeof *bases);
  patch->functions = calloc(message->update_count + 1, sizeof *patch->functions);
  if (bases == NULL || patch->functions == NULL) {
    free(bases);
    return false;
  }
  for (size_t i = 0; i < message->update_count; i++) {
    const object_symbol *symbol = object_info_find(object, message->update_functions[i]);
    if (symbol != NULL) {
      learn_base(object, bases, symbol->section, updates[i].function - (uintptr_t)symbol->value);
      patch->functions[patch->function_count++] = range_of(updates[i].function, symbol->size);
    }
  }
  find_section_bases(state, object, bases);
  size_t capacity = 0;
  bool described = true;
  for (size_t i = 1; i < object->section_count && described; i++) {
    if (bases[i] != 0 && object->sections[i].size > 0) {
      described = add_footprint(patch, &capacity, range_of(bases[i], object->sections[i].size));
    }
  }
  described = described && add_stubs(object, bases, patch, &capacity);
  free(bases);
  return described;
}

static void live_patch_free(live_patch *patch) {
  free(patch->footprint);
  free(patch->functions);
}

/* The function table a patch object defines, `holo.functions#N` (docs/PATCHING.md). */
static const char function_table_prefix[] = HOLO_DEV_FUNCTION_TABLE_PREFIX;

/* Registers the linked patch's function table with the runtime, so that a stack overflow
 * in its code names the function. A patch without a table (or a full registry) only
 * goes unnamed. Before the safepoint: until then nothing runs the code, so early is
 * harmless, and a crash right after it is named. */
static void register_function_table(patch_state *state, const object_info *object,
                                    live_patch *patch) {
  if (patch->function_count == 0) {
    return;
  }
  agent_range code = patch->functions[0];
  for (size_t i = 1; i < patch->function_count; i++) {
    code.start = patch->functions[i].start < code.start ? patch->functions[i].start : code.start;
    code.end = patch->functions[i].end > code.end ? patch->functions[i].end : code.end;
  }
  char ignored[AGENT_ERROR_MAX];
  for (size_t i = 1; i < object->symbol_count; i++) {
    const object_symbol *symbol = &object->symbols[i];
    uintptr_t table;
    if (symbol->is_global && symbol->section != 0 &&
        strncmp(symbol->name, function_table_prefix, sizeof function_table_prefix - 1) == 0 &&
        jit_lookup(state->jit, symbol->name, &table, ignored)) {
      patch->function_table = holo_register_patch_functions(
          (const holo_function_table *)table, (const void *)code.start, (const void *)code.end);
      return;
    }
  }
}

/* Frees a patch's code and data, and first takes its function table from the runtime. */
static void unlink_patch(patch_state *state, live_patch *patch) {
  if (patch->function_table >= 0) {
    holo_unregister_patch_functions(patch->function_table);
    patch->function_table = -1;
  }
  jit_remove(state->jit, patch->tracker);
}

/* The range of the function at `target` (a slot's current value), in a live patch or in
 * the executable; empty when unknown. */
static agent_range function_at(const patch_state *state, uintptr_t target) {
  if (target != 0) {
    for (size_t i = 0; i < state->patch_count; i++) {
      const live_patch *patch = &state->patches[i];
      for (size_t j = 0; j < patch->function_count; j++) {
        if (patch->functions[j].start <= target && target < patch->functions[j].end) {
          return patch->functions[j];
        }
      }
    }
    const agent_range *range = function_table_find(&state->version0, target);
    if (range != NULL) {
      return *range;
    }
  }
  return (agent_range){0, 0};
}

/* ---- The safepoint and what follows it ---------------------------------------------- */

/* Owners in the safepoint request: live patch i is owner i, the new patch (if any) is
 * owner `patch_count`, update i's previous function is owner `patch_count + 1 + i`, and
 * superseded version j is owner `patch_count + 1 + update_count + j`. The request's
 * writes are the data writes, then the slot updates. */
typedef struct scan_plan {
  agent_range *ranges;
  size_t *owners;
  size_t range_count;
  agent_range *frames;
  size_t *frame_owners;
  size_t frame_count;
  bool *owner_hit;
  void **slots;
  void **values;
  size_t write_count;
} scan_plan;

static void plan_free(scan_plan *plan) {
  free(plan->ranges);
  free(plan->owners);
  free(plan->frames);
  free(plan->frame_owners);
  free(plan->owner_hit);
  free(plan->slots);
  free(plan->values);
}

/* The safepoint request that carries out `plan`. */
static safepoint_request plan_request(const scan_plan *plan) {
  return (safepoint_request){
      .slots = plan->slots,
      .values = plan->values,
      .write_count = plan->write_count,
      .ranges = plan->ranges,
      .owners = plan->owners,
      .range_count = plan->range_count,
      .frames = plan->frames,
      .frame_owners = plan->frame_owners,
      .frame_count = plan->frame_count,
      .owner_hit = plan->owner_hit,
  };
}

static void plan_frame(scan_plan *plan, agent_range function, size_t owner) {
  plan->frames[plan->frame_count] = function;
  plan->frame_owners[plan->frame_count++] = owner;
}

static bool plan_scan(const patch_state *state, const live_patch *patch, const update *updates,
                      size_t update_count, const wire_patch *message, void **data_cells,
                      scan_plan *plan) {
  size_t data_count = message == NULL ? 0 : message->data_count;
  size_t write_count = data_count + update_count;
  plan->write_count = write_count;
  size_t capacity = patch == NULL ? 0 : patch->footprint_count;
  for (size_t i = 0; i < state->patch_count; i++) {
    capacity += state->patches[i].footprint_count;
  }
  size_t frame_capacity = update_count + state->superseded_count;
  plan->ranges = calloc(capacity + 1, sizeof *plan->ranges);
  plan->owners = calloc(capacity + 1, sizeof *plan->owners);
  plan->frames = calloc(frame_capacity + 1, sizeof *plan->frames);
  plan->frame_owners = calloc(frame_capacity + 1, sizeof *plan->frame_owners);
  plan->owner_hit = calloc(state->patch_count + 1 + frame_capacity, sizeof *plan->owner_hit);
  plan->slots = calloc(write_count + 1, sizeof *plan->slots);
  plan->values = calloc(write_count + 1, sizeof *plan->values);
  if (plan->ranges == NULL || plan->owners == NULL || plan->frames == NULL ||
      plan->frame_owners == NULL || plan->owner_hit == NULL || plan->slots == NULL ||
      plan->values == NULL) {
    return false;
  }
  for (size_t i = 0; i <= state->patch_count; i++) {
    const live_patch *owner = i < state->patch_count ? &state->patches[i] : patch;
    for (size_t j = 0; owner != NULL && j < owner->footprint_count; j++) {
      plan->ranges[plan->range_count] = owner->footprint[j];
      plan->owners[plan->range_count++] = i;
    }
  }
  /* A data cell is a word like a slot, so the safepoint writes both the same way. */
  for (size_t i = 0; i < data_count; i++) {
    plan->slots[i] = data_cells[i];
    plan->values[i] = (void *)(uintptr_t)message->data_values[i];
  }
  size_t first_frame_owner = state->patch_count + 1;
  for (size_t i = 0; i < update_count; i++) {
    if (updates[i].previous.end != 0) {
      plan_frame(plan, updates[i].previous, first_frame_owner + i);
    }
    plan->slots[data_count + i] = (void *)updates[i].slot;
    plan->values[data_count + i] = (void *)updates[i].function;
  }
  for (size_t j = 0; j < state->superseded_count; j++) {
    plan_frame(plan, state->superseded[j].function, first_frame_owner + update_count + j);
  }
  return true;
}

/* Frees every patch that no slot points into and no scanned word hit. */
static void free_unused_patches(patch_state *state, const safepoint_request *request) {
  if (!request->scanned) {
    return;
  }
  size_t kept = 0;
  for (size_t i = 0; i < state->patch_count; i++) {
    live_patch *patch = &state->patches[i];
    bool used = request->owner_hit[i] || patch->footprint_count == 0;
    for (size_t j = 0; j < state->written_count && !used; j++) {
      used = in_ranges(patch->footprint, patch->footprint_count, (uintptr_t)*state->written[j]);
    }
    if (!used) {
      unlink_patch(state, patch);
      live_patch_free(patch);
      state->freed++;
    } else {
      state->patches[kept++] = *patch;
    }
  }
  state->patch_count = kept;
}

static void remember_written_slots(patch_state *state, const update *updates, size_t count) {
  for (size_t i = 0; i < count; i++) {
    bool known = false;
    for (size_t j = 0; j < state->written_count && !known; j++) {
      known = state->written[j] == updates[i].slot;
    }
    if (!known) {
      state->written[state->written_count++] = updates[i].slot;
    }
  }
}

/* Forgets the superseded versions the scan found no frame of; `first_owner` is the owner
 * of the first one. */
static void forget_returned(patch_state *state, const safepoint_request *request,
                            size_t first_owner) {
  if (!request->scanned) {
    return;
  }
  size_t kept = 0;
  for (size_t j = 0; j < state->superseded_count; j++) {
    if (request->owner_hit[first_owner + j]) {
      state->superseded[kept++] = state->superseded[j];
    } else {
      free(state->superseded[j].slot);
    }
  }
  state->superseded_count = kept;
}

/* Remembers a replaced version found on the stack, so later FRAMES requests can tell
 * when it returned; false when memory ran out (it is then simply not followed). */
static bool remember_superseded(patch_state *state, const char *slot, agent_range function) {
  superseded *grown =
      agent_array_grow(state->superseded, &state->superseded_capacity,
                       state->superseded_count + 1, sizeof *state->superseded);
  char *copy = strdup(slot);
  if (grown == NULL || copy == NULL) {
    free(copy);
    return false;
  }
  state->superseded = grown;
  state->superseded[state->superseded_count++] = (superseded){copy, function};
  return true;
}

static bool listed(char *const *names, size_t count, const char *name) {
  for (size_t j = 0; j < count; j++) {
    if (strcmp(names[j], name) == 0) {
      return true;
    }
  }
  return false;
}

/* Moves the names of slots whose previous function is still on the stack into `result`,
 * and follows those versions until they return. */
static void collect_stale_slots(patch_state *state, wire_patch *message, const update *updates,
                                const safepoint_request *request, size_t first_owner,
                                patch_result *result) {
  result->stale_slots = calloc(message->update_count + 1, sizeof *result->stale_slots);
  if (result->stale_slots == NULL || !request->scanned) {
    return;
  }
  for (size_t i = 0; i < message->update_count; i++) {
    if (updates[i].previous.end == 0 || !request->owner_hit[first_owner + i]) {
      continue;
    }
    remember_superseded(state, message->update_slots[i], updates[i].previous);
    if (!listed(result->stale_slots, result->stale_count, message->update_slots[i])) {
      result->stale_slots[result->stale_count++] = message->update_slots[i];
      message->update_slots[i] = NULL;
    }
  }
}

/* Makes room for the patch and its slots before anything is written, so that nothing
 * after the safepoint can fail. */
static bool reserve(patch_state *state, size_t update_count) {
  live_patch *patches = agent_array_grow(state->patches, &state->patch_capacity,
                                         state->patch_count + 1, sizeof *state->patches);
  if (patches == NULL) {
    return false;
  }
  state->patches = patches;
  /* A patch that writes no slot may come before any did, when there is no array yet. */
  if (update_count == 0) {
    return true;
  }
  void ***written = agent_array_grow(state->written, &state->written_capacity,
                                     state->written_count + update_count, sizeof *state->written);
  if (written == NULL) {
    return false;
  }
  state->written = written;
  return true;
}

/* ---- Applying --------------------------------------------------------------------- */

/* Links the object (if any) and resolves every update, data write and the safepoint
 * function; on success the caller owns `tracker`. */
static bool link_patch(patch_state *state, const wire_patch *message, update *updates,
                       void **data_cells, void (**safepoint_function)(void),
                       agent_tracker **tracker, char *error) {
  if (message->object_length > 0) {
    char name[64];
    snprintf(name, sizeof name, "holo-patch-%llu", (unsigned long long)message->id);
    *tracker = jit_add_object(state->jit, message->object, message->object_length, name, error);
    if (*tracker == NULL) {
      return false;
    }
  }
  for (size_t i = 0; i < message->update_count; i++) {
    uintptr_t slot;
    char ignored[AGENT_ERROR_MAX];
    if (!jit_lookup(state->jit, message->update_slots[i], &slot, ignored)) {
      agent_error(error, "unknown slot `%s`", message->update_slots[i]);
      return false;
    }
    updates[i].slot = (void **)slot;
    if (!jit_lookup(state->jit, message->update_functions[i], &updates[i].function, error)) {
      return false;
    }
  }
  for (size_t i = 0; i < message->new_slot_count; i++) {
    void **cell = owned_cell_named(state, message->new_slots[i]);
    bool written = false;
    for (size_t j = 0; j < message->update_count && !written; j++) {
      written = updates[j].slot == cell;
    }
    if (cell != NULL && *cell == NULL && !written) {
      agent_error(error, "new slot `%s` is given no function", message->new_slots[i]);
      return false;
    }
  }
  for (size_t i = 0; i < message->data_count; i++) {
    uintptr_t cell;
    char ignored[AGENT_ERROR_MAX];
    if (!jit_lookup(state->jit, message->data_symbols[i], &cell, ignored)) {
      agent_error(error, "unknown cell `%s`", message->data_symbols[i]);
      return false;
    }
    data_cells[i] = (void *)cell;
  }
  if (message->safepoint_function[0] != '\0') {
    uintptr_t function;
    if (message->object_length == 0 ||
        !jit_lookup(state->jit, message->safepoint_function, &function, error)) {
      agent_error(error, "the patch does not define `%s`", message->safepoint_function);
      return false;
    }
    *safepoint_function = (void (*)(void))function;
  }
  return true;
}

static void run_nothing(void) {}

static void run_patch(patch_state *state, wire_patch *message, patch_result *result) {
  uint64_t start = now_us();
  /* A patch without an object (functions that only moved) links nothing, so there is no
   * code of it to keep alive or free. */
  bool links = message->object_length > 0;
  object_info object = {0};
  char object_error[AGENT_ERROR_MAX];
  if (links &&
      !object_info_read(message->object, message->object_length, &object, object_error)) {
    agent_error(result->error, "invalid patch object: %s", object_error);
    return;
  }
  update *updates = calloc(message->update_count + 1, sizeof *updates);
  void **data_cells = calloc(message->data_count + 1, sizeof *data_cells);
  live_patch patch = {.function_table = -1};
  scan_plan plan = {0};
  void (*safepoint_function)(void) = NULL;
  if (updates == NULL || data_cells == NULL || !reserve(state, message->update_count)) {
    agent_error(result->error, "out of memory");
  } else if (define_new_cells(state, message->new_slots, message->new_slot_count,
                              result->error) &&
             define_new_cells(state, message->new_cells, message->new_cell_count,
                              result->error) &&
             define_new_globals(state, message, result->error) &&
             link_patch(state, message, updates, data_cells, &safepoint_function, &patch.tracker,
                        result->error)) {
    for (size_t i = 0; i < message->update_count; i++) {
      updates[i].previous = function_at(state, (uintptr_t)*updates[i].slot);
    }
    if ((links && !describe_patch(state, &object, message, updates, &patch)) ||
        !plan_scan(state, &patch, updates, message->update_count, message, data_cells, &plan)) {
      agent_error(result->error, "out of memory");
    } else {
      register_function_table(state, &object, &patch);
      result->link_us = elapsed_us(start);
      safepoint_request request = plan_request(&plan);
      request.call = safepoint_function;
      if (message->restarts_frames) {
        /* A restart runs on the main thread after the safepoint: a cooperative one. */
        request.call = safepoint_function != NULL ? safepoint_function : run_nothing;
        request.restarts_frames = true;
      }
      uint64_t apply_start = now_us();
      bool ran = safepoint_run(&request, result->error);
      migration_report_take(&result->migration);
      if (ran) {
        result->apply_us = elapsed_us(apply_start);
        result->applied = true;
        size_t first_stale_owner = state->patch_count + 1;
        forget_returned(state, &request, first_stale_owner + message->update_count);
        if (links) {
          state->patches[state->patch_count++] = patch;
          patch.tracker = NULL;
        }
        remember_written_slots(state, updates, message->update_count);
        /* A restart unwinds every frame the scan found. */
        if (!message->restarts_frames) {
          collect_stale_slots(state, message, updates, &request, first_stale_owner, result);
        }
        free_unused_patches(state, &request);
      }
    }
  }
  if (!result->applied) {
    result->link_us = elapsed_us(start);
    if (patch.tracker != NULL) {
      unlink_patch(state, &patch);
    }
    live_patch_free(&patch);
  }
  plan_free(&plan);
  free(updates);
  free(data_cells);
  object_info_free(&object);
}

void patch_apply(patch_state *state, wire_patch *message, patch_result *result) {
  if (state->jit == NULL) {
    agent_error(result->error, "the agent has no JIT: %s", state->jit_error);
  } else if (check_names(message, result->error)) {
    run_patch(state, message, result);
  }
}

void patch_result_free(patch_result *result) {
  migration_report_free(&result->migration);
  agent_free_strings(result->stale_slots, result->stale_count);
  result->stale_slots = NULL;
  result->stale_count = 0;
}

void patch_find_frames(patch_state *state, frames_result *result) {
  memset(result, 0, sizeof *result);
  scan_plan plan = {0};
  result->stale_slots = calloc(state->superseded_count + 1, sizeof *result->stale_slots);
  if (state->superseded_count == 0) {
    /* Nothing to look for: no need to stop the program. */
    result->scanned = result->stale_slots != NULL;
  } else if (result->stale_slots != NULL && plan_scan(state, NULL, NULL, 0, NULL, NULL, &plan)) {
    safepoint_request request = plan_request(&plan);
    char ignored[AGENT_ERROR_MAX];
    if (safepoint_run(&request, ignored) && request.scanned) {
      result->scanned = true;
      forget_returned(state, &request, state->patch_count + 1);
      for (size_t j = 0; j < state->superseded_count; j++) {
        const char *slot = state->superseded[j].slot;
        char *copy = listed(result->stale_slots, result->stale_count, slot) ? NULL : strdup(slot);
        if (copy != NULL) {
          result->stale_slots[result->stale_count++] = copy;
        }
      }
      free_unused_patches(state, &request);
    }
  }
  plan_free(&plan);
}

void frames_result_free(frames_result *result) {
  agent_free_strings(result->stale_slots, result->stale_count);
  result->stale_slots = NULL;
  result->stale_count = 0;
}
