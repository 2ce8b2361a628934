/* Turns stack overflows and other fatal signals into runtime failures, and finds the holo
 * function a failure happened in.
 *
 * The handler runs on an alternate signal stack, since an overflowed stack has no room
 * left for it. It only reads state prepared by holo_signals_init (stack bounds, the
 * function table) and the function tables the patch agent registered, and reports
 * through the async-signal-safe failure path.
 */
#define _GNU_SOURCE

#include "runtime_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* A fault this far below the lowest stack address still counts as an overflow: a frame
 * with large locals can skip over the guard page. */
enum { STACK_GUARD_MARGIN = 1024 * 1024 };
enum { ALTERNATE_STACK_SIZE = 64 * 1024 };

static _Alignas(16) char alternate_stack[ALTERNATE_STACK_SIZE];
static uintptr_t stack_low;
static uintptr_t stack_high;
static uintptr_t page_size;
static const holo_program_info *crash_program;

/* Function tables of live patches (dev builds). An entry's fields are written while it is
 * free and read only while it is published, so the handler needs no lock. Far more than
 * the patches an agent keeps alive at once (a few, plus those stuck on the stack). */
enum { PATCH_TABLES_MAX = 256 };
enum { TABLE_FREE, TABLE_PUBLISHED };

typedef struct patch_table {
  atomic_int state;
  const holo_function_info *functions;
  int64_t function_count;
  uintptr_t code_start;
  uintptr_t code_end;
} patch_table;

static patch_table patch_tables[PATCH_TABLES_MAX];
/* One past the highest entry ever published: a stack scan tests every word against the
 * tables, and most programs never have more than a few. */
static atomic_int patch_tables_used;
/* Set before a failure that ends the process reads the tables (the crash handler, or a
 * failed write to stdout): from then on no table may be unregistered (and freed). */
static atomic_bool reporting_failure;

static void record_stack_bounds(void) {
  pthread_attr_t attributes;
  if (pthread_getattr_np(pthread_self(), &attributes) != 0) {
    return;
  }
  void *address;
  size_t size;
  if (pthread_attr_getstack(&attributes, &address, &size) == 0) {
    stack_low = (uintptr_t)address;
    stack_high = stack_low + size;
  }
  pthread_attr_destroy(&attributes);
}

/* Whether `address` is in the main thread's stack or in the margin below it: a fault
 * there is a stack overflow. */
static bool is_on_main_stack(uintptr_t address) {
  if (stack_high == 0) {
    return false;
  }
  uintptr_t lowest = stack_low > STACK_GUARD_MARGIN ? stack_low - STACK_GUARD_MARGIN : 0;
  return lowest <= address && address < stack_high;
}

int holo_register_patch_functions(const holo_function_table *table, const void *code_start,
                                  const void *code_end) {
  for (int i = 0; i < PATCH_TABLES_MAX; i++) {
    patch_table *entry = &patch_tables[i];
    if (atomic_load(&entry->state) == TABLE_FREE) {
      entry->functions = table->functions;
      entry->function_count = table->function_count;
      entry->code_start = (uintptr_t)code_start;
      entry->code_end = (uintptr_t)code_end;
      if (atomic_load(&patch_tables_used) <= i) {
        atomic_store(&patch_tables_used, i + 1);
      }
      atomic_store(&entry->state, TABLE_PUBLISHED);
      return i;
    }
  }
  return -1;
}

void holo_unregister_patch_functions(int handle) {
  if (handle < 0 || handle >= PATCH_TABLES_MAX) {
    return;
  }
  atomic_store(&patch_tables[handle].state, TABLE_FREE);
  /* Both sides are sequentially consistent: either the handler sets its flag after this
   * store (and then finds the entry free), or this load sees the flag and the table must
   * outlive the handler, which ends the process. */
  while (atomic_load(&reporting_failure)) {
    pause();
  }
}

#if defined(__x86_64__)
/* The length of a ModRM operand (ModRM byte, SIB, displacement) starting at `modrm`,
 * when its reg field is 2 (the `call` form of opcode 0xff); 0 otherwise. No byte at or
 * past `end` is read. */
static size_t call_operand_length(const uint8_t *modrm, const uint8_t *end) {
  uint8_t mod = *modrm >> 6;
  uint8_t reg = (*modrm >> 3) & 7;
  uint8_t rm = *modrm & 7;
  if (reg != 2) {
    return 0;
  }
  if (mod == 3) {
    return 1;
  }
  size_t length = 1;
  uint8_t base = rm;
  if (rm == 4) {
    if (modrm + 1 >= end) {
      return 0;
    }
    length++; /* SIB */
    base = modrm[1] & 7;
  }
  if (mod == 1) {
    length += 1;
  } else if (mod == 2 || (mod == 0 && (rm == 5 || base == 5))) {
    length += 4;
  }
  return length;
}
#endif

/* Direct calls (e8 rel32) and indirect calls (ff /2, with an optional REX prefix) are the
 * forms code generators emit. Other architectures: no word is taken for a return
 * address, so no frame is found. */
bool holo_is_return_address(const void *code_start, const void *code_end, uintptr_t word) {
  uintptr_t start = (uintptr_t)code_start;
  if (word <= start || word > (uintptr_t)code_end) {
    return false;
  }
#if defined(__x86_64__)
  const uint8_t *end = (const uint8_t *)word;
  if (word - start >= 5 && end[-5] == 0xe8) {
    return true;
  }
  for (size_t length = 2; length <= 8 && length <= word - start; length++) {
    const uint8_t *opcode = end - length;
    if (opcode[0] >= 0x40 && opcode[0] <= 0x4f && length >= 3) {
      opcode++; /* REX prefix */
    }
    if (opcode[0] != 0xff) {
      continue;
    }
    size_t operand = call_operand_length(opcode + 1, end);
    if (operand != 0 && opcode + 1 + operand == end) {
      return true;
    }
  }
#endif
  return false;
}

/* The function of `functions` with the highest address at or below `pc`. */
static const holo_function_info *closest_below(const holo_function_info *functions,
                                               int64_t count, uintptr_t pc) {
  const holo_function_info *best = NULL;
  for (int64_t i = 0; i < count; i++) {
    const holo_function_info *function = &functions[i];
    uintptr_t address = (uintptr_t)function->address;
    if (address <= pc && (best == NULL || address > (uintptr_t)best->address)) {
      best = function;
    }
  }
  return best;
}

/* The functions and code of the program or of one patch. */
typedef struct code_table {
  const holo_function_info *functions;
  int64_t function_count;
  uintptr_t code_start;
  uintptr_t code_end;
} code_table;

/* The table whose code holds `address`, the program's first, then each live patch's. */
static bool table_holding(uintptr_t address, code_table *found) {
  if (crash_program != NULL && (uintptr_t)crash_program->code_start <= address &&
      address < (uintptr_t)crash_program->code_end) {
    *found = (code_table){crash_program->functions, crash_program->function_count,
                          (uintptr_t)crash_program->code_start,
                          (uintptr_t)crash_program->code_end};
    return true;
  }
  int used = atomic_load(&patch_tables_used);
  for (int i = 0; i < used; i++) {
    const patch_table *entry = &patch_tables[i];
    if (atomic_load(&entry->state) == TABLE_PUBLISHED && entry->code_start <= address &&
        address < entry->code_end) {
      *found = (code_table){entry->functions, entry->function_count, entry->code_start,
                            entry->code_end};
      return true;
    }
  }
  return false;
}

/* The holo function whose code holds `pc`; NULL for code of the runtime, of C and of
 * the system libraries. */
static const holo_function_info *function_containing(uintptr_t pc) {
  code_table table;
  if (pc == 0 || !table_holding(pc, &table)) {
    return NULL;
  }
  return closest_below(table.functions, table.function_count, pc);
}

/* The holo function `word` returns into, if it is a return address into holo code. The
 * call instruction's last byte, just before the return address, is in the caller even
 * when the call ends it (a call that never returns). */
static const holo_function_info *function_returned_to(uintptr_t word) {
  code_table table;
  if (word == 0 || !table_holding(word - 1, &table) ||
      !holo_is_return_address((const void *)table.code_start, (const void *)table.code_end,
                              word)) {
    return NULL;
  }
  return closest_below(table.functions, table.function_count, word - 1);
}

static bool is_mapped(uintptr_t page) {
  unsigned char resident;
  return mincore((void *)page, page_size, &resident) == 0;
}

/* The innermost holo function with a frame on the main thread's stack at or above
 * `stack_pointer`: the one the first return address into holo code returns to. Frames
 * of the runtime, of C and of libc lie in between when they called no holo code; their
 * saved registers and locals are read too, so a stale word there may, rarely, name a
 * function that is not on the stack any more. Pages of the stack that are not mapped (the
 * overflowed part) are skipped. NULL off the main thread or without a holo frame.
 * Async-signal-safe. */
static const holo_function_info *innermost_holo_frame(uintptr_t stack_pointer) {
  if (!is_on_main_stack(stack_pointer) || page_size == 0) {
    return NULL;
  }
  uintptr_t word_size = sizeof(uintptr_t);
  uintptr_t address = stack_pointer < stack_low ? stack_low : stack_pointer;
  address = (address + word_size - 1) & ~(word_size - 1);
  bool readable = is_mapped(address & ~(page_size - 1));
  while (address + word_size <= stack_high) {
    if ((address & (page_size - 1)) == 0) {
      readable = is_mapped(address);
    }
    if (!readable) {
      address = (address | (page_size - 1)) + 1;
      continue;
    }
    const holo_function_info *function = function_returned_to(*(const uintptr_t *)address);
    if (function != NULL) {
      return function;
    }
    address += word_size;
  }
  return NULL;
}

const holo_location *holo_innermost_frame_location(void) {
  if (stack_high == 0) {
    return NULL;
  }
  atomic_store(&reporting_failure, true);
  volatile char marker = 0;
  const holo_function_info *function = innermost_holo_frame((uintptr_t)&marker);
  return function != NULL ? &function->location : NULL;
}

const holo_location *holo_function_location(const void *function) {
  if (crash_program == NULL) {
    return NULL;
  }
  for (int64_t i = 0; i < crash_program->function_count; i++) {
    if (crash_program->functions[i].address == function) {
      return &crash_program->functions[i].location;
    }
  }
  return NULL;
}

static uintptr_t faulting_pc(const void *context) {
  const ucontext_t *machine = context;
#if defined(__x86_64__)
  return (uintptr_t)machine->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)machine->uc_mcontext.pc;
#else
  (void)machine;
  return 0;
#endif
}

static uintptr_t faulting_stack_pointer(const void *context) {
  const ucontext_t *machine = context;
#if defined(__x86_64__)
  return (uintptr_t)machine->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (uintptr_t)machine->uc_mcontext.sp;
#else
  (void)machine;
  return 0;
#endif
}

static const char *signal_message(int signal_number, uintptr_t fault_address) {
  switch (signal_number) {
  case SIGSEGV:
  case SIGBUS:
    if (is_on_main_stack(fault_address)) {
      return "stack overflow";
    }
    return signal_number == SIGSEGV ? "segmentation fault" : "bus error";
  case SIGFPE:
    return "floating point exception";
  case SIGILL:
    return "illegal instruction";
  default:
    return "fatal signal";
  }
}

/* The fault is located at the holo function whose code faulted, or else (a fault in the
 * runtime, in C code or in libc) at the innermost holo function on the stack, which
 * called the code that faulted. */
static void on_fatal_signal(int signal_number, siginfo_t *info, void *context) {
  const char *message = signal_message(signal_number, (uintptr_t)info->si_addr);
  atomic_store(&reporting_failure, true);
  const holo_function_info *function = function_containing(faulting_pc(context));
  if (function == NULL) {
    function = innermost_holo_frame(faulting_stack_pointer(context));
  }
  if (function != NULL) {
    holo_report_failure(message, strlen(message), function->location.file,
                        holo_location_line(&function->location), function->location.column,
                        true);
  }
  holo_report_failure(message, strlen(message), NULL, 0, 0, true);
}

void holo_signals_init(const holo_program_info *program) {
  crash_program = program;
  record_stack_bounds();
  page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
  stack_t alternate = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack, .ss_flags = 0};
  sigaltstack(&alternate, NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fatal_signal;
  /* SA_RESETHAND: a fault inside the handler itself kills the process instead of looping. */
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    sigaction(signals[i], &action, NULL);
  }
}
