/* Turns stack overflows and other fatal signals into runtime failures.
 *
 * The handler runs on an alternate signal stack, since an overflowed stack has no room
 * left for it. It only reads state prepared by holo_signals_init (stack bounds, the
 * function table) and the function tables the patch agent registered, and reports
 * through the async-signal-safe failure path.
 */
#define _GNU_SOURCE

#include "runtime_internal.h"

#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* A fault this far below the lowest stack address still counts as an overflow: a frame
 * with large locals can skip over the guard page. */
enum { STACK_GUARD_MARGIN = 1024 * 1024 };
enum { ALTERNATE_STACK_SIZE = 64 * 1024 };

static _Alignas(16) char alternate_stack[ALTERNATE_STACK_SIZE];
static uintptr_t stack_low;
static uintptr_t stack_high;
static const holo_program_info *crash_program;
/* The executable segment holding the holo functions; a pc outside it (libc, say) is not in
 * any holo function even if some holo function has a lower address. */
static uintptr_t holo_code_start;
static uintptr_t holo_code_end;

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
/* Set by the crash handler before it reads the tables: from then on no table may be
 * unregistered (and freed), since the handler may be reading it. */
static atomic_bool reporting_crash;

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

static int find_code_segment(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t address = (uintptr_t)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *header = &info->dlpi_phdr[i];
    if (header->p_type != PT_LOAD || (header->p_flags & PF_X) == 0) {
      continue;
    }
    uintptr_t start = info->dlpi_addr + header->p_vaddr;
    uintptr_t end = start + header->p_memsz;
    if (start <= address && address < end) {
      holo_code_start = start;
      holo_code_end = end;
      return 1;
    }
  }
  return 0;
}

static bool is_stack_overflow(uintptr_t fault_address) {
  if (stack_high == 0) {
    return false;
  }
  uintptr_t lowest = stack_low > STACK_GUARD_MARGIN ? stack_low - STACK_GUARD_MARGIN : 0;
  return lowest <= fault_address && fault_address < stack_high;
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
  while (atomic_load(&reporting_crash)) {
    pause();
  }
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

static const holo_function_info *function_containing(uintptr_t pc) {
  if (pc == 0) {
    return NULL;
  }
  atomic_store(&reporting_crash, true);
  for (int i = 0; i < PATCH_TABLES_MAX; i++) {
    const patch_table *entry = &patch_tables[i];
    if (atomic_load(&entry->state) == TABLE_PUBLISHED && entry->code_start <= pc &&
        pc < entry->code_end) {
      return closest_below(entry->functions, entry->function_count, pc);
    }
  }
  if (crash_program == NULL ||
      (holo_code_end != 0 && (pc < holo_code_start || pc >= holo_code_end))) {
    return NULL;
  }
  return closest_below(crash_program->functions, crash_program->function_count, pc);
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

static const char *signal_message(int signal_number, uintptr_t fault_address) {
  switch (signal_number) {
  case SIGSEGV:
  case SIGBUS:
    if (is_stack_overflow(fault_address)) {
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

static void on_fatal_signal(int signal_number, siginfo_t *info, void *context) {
  const char *message = signal_message(signal_number, (uintptr_t)info->si_addr);
  const holo_function_info *function = function_containing(faulting_pc(context));
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
  if (program != NULL && program->function_count > 0) {
    dl_iterate_phdr(find_code_segment, (void *)program->functions[0].address);
  }
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
