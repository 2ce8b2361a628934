/* The safepoint: the agent thread signals the main thread (SIGURG); the handler, running
 * on the main thread between two of its instructions, writes the slots and scans the
 * main thread's registers and stack, then wakes the agent thread.
 *
 * The handler is async-signal-safe: it reads a request the agent thread prepared, writes
 * only into it, and calls nothing but sem_post.
 *
 * A request that runs code (a patch's safepoint function) is cooperative instead: the
 * agent raises the flag dev code polls (the glue's holo.safepoint.requested), and the
 * main thread takes the request where it polls, outside any handler. The signal is
 * still sent: it ends a sleep or a wait for input in the runtime, whose wait hook then
 * polls.
 */
#define _GNU_SOURCE

#include "agent_internal.h"
#include "holo.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

/* How long the agent waits for the main thread to take the signal. */
enum { SAFEPOINT_TIMEOUT_SECONDS = 5 };
/* The replaced versions a frame restart looks for, at most (more are not looked for). */
enum { RESTART_FRAMES_MAX = 256 };
/* The x86-64 ABI lets a function keep data in the 128 bytes below its stack pointer. */
enum { RED_ZONE_BYTES = 128 };


static pthread_t main_thread;
static pid_t main_thread_id;
static uintptr_t main_stack_low;
static uintptr_t main_stack_high;

/* The dev glue's poll flag and handler pointer, by their symbol names. Weak: a program
 * without them (no dev code polls there, so no cooperative safepoint can be taken) links,
 * with both NULL. */
extern atomic_int glue_safepoint_requested __asm__(HOLO_DEV_SAFEPOINT_REQUESTED)
    __attribute__((weak));
extern void (*_Atomic glue_safepoint_handler)(void) __asm__(HOLO_DEV_SAFEPOINT_HANDLER)
    __attribute__((weak));
static atomic_int *safepoint_requested;
static void (*_Atomic *safepoint_handler)(void);

static sem_t request_done;
/* The request waiting for the main thread: one for the signal handler, one for a poll.
 * Whoever takes it out (atomic_exchange with NULL) owns it: the main thread runs it, or
 * the agent thread cancels it, never both, and no stale pointer is ever run. */
static safepoint_request *_Atomic signal_request;
static safepoint_request *_Atomic poll_request;

static void note_word(safepoint_request *request, uintptr_t word, uintptr_t lowest,
                      uintptr_t highest) {
  if (word < lowest || word >= highest) {
    return;
  }
  for (size_t i = 0; i < request->range_count; i++) {
    if (request->ranges[i].start <= word && word < request->ranges[i].end) {
      request->owner_hit[request->owners[i]] = true;
    }
  }
}

static void note_frame(safepoint_request *request, uintptr_t word, bool is_instruction_pointer) {
  for (size_t i = 0; i < request->frame_count; i++) {
    agent_range function = request->frames[i];
    const void *start = (const void *)function.start;
    const void *end = (const void *)function.end;
    bool inside = is_instruction_pointer ? function.start <= word && word < function.end
                                         : holo_is_return_address(start, end, word);
    if (inside) {
      request->owner_hit[request->frame_owners[i]] = true;
    }
  }
}

static void scan(safepoint_request *request, const ucontext_t *context) {
  if (request->range_count == 0 && request->frame_count == 0) {
    request->scanned = true;
    return;
  }
  /* Bounds of all ranges, to discard most words with two comparisons. */
  uintptr_t lowest = UINTPTR_MAX;
  uintptr_t highest = 0;
  for (size_t i = 0; i < request->range_count; i++) {
    lowest = request->ranges[i].start < lowest ? request->ranges[i].start : lowest;
    highest = request->ranges[i].end > highest ? request->ranges[i].end : highest;
  }
  uintptr_t frames_lowest = UINTPTR_MAX;
  uintptr_t frames_highest = 0;
  for (size_t i = 0; i < request->frame_count; i++) {
    frames_lowest = request->frames[i].start < frames_lowest ? request->frames[i].start : frames_lowest;
    /* A return address may sit at the very end of a function. */
    frames_highest = request->frames[i].end >= frames_highest ? request->frames[i].end + 1 : frames_highest;
  }
  /* Registers first: the interrupted code may hold a target it loaded from a slot
   * (or be executing one: the instruction pointer is a register too). */
  const mcontext_t *machine = &context->uc_mcontext;
  for (size_t i = 0; i < NGREG; i++) {
    note_word(request, (uintptr_t)machine->gregs[i], lowest, highest);
  }
  note_frame(request, (uintptr_t)machine->gregs[REG_RIP], true);
  if (machine->fpregs != NULL) {
    for (size_t i = 0; i < 16; i++) {
      for (size_t j = 0; j < 4; j += 2) {
        const uint32_t *parts = machine->fpregs->_xmm[i].element;
        note_word(request, (uintptr_t)parts[j] | (uintptr_t)parts[j + 1] << 32, lowest,
                  highest);
      }
    }
  }
  uintptr_t stack_pointer = (uintptr_t)machine->gregs[REG_RSP];
  if (stack_pointer < main_stack_low + RED_ZONE_BYTES || stack_pointer > main_stack_high) {
    /* Not on the main stack (an alternate signal stack, say): nothing is known. */
    request->scanned = false;
    return;
  }
  uintptr_t first = (stack_pointer - RED_ZONE_BYTES) & ~(uintptr_t)7;
  for (const uintptr_t *word = (const uintptr_t *)first; (uintptr_t)word < main_stack_high;
       word++) {
    note_word(request, *word, lowest, highest);
    if (frames_lowest < *word && *word < frames_highest) {
      note_frame(request, *word, false);
    }
  }
  request->scanned = true;
}

static void on_safepoint_signal(int signal_number, siginfo_t *info, void *context) {
  (void)signal_number;
  (void)info;
  int saved_errno = errno;
  /* SIGURG sent by anything else (or to another thread) is ignored, as by default. */
  safepoint_request *request =
      gettid() == main_thread_id ? atomic_exchange(&signal_request, NULL) : NULL;
  if (request != NULL) {
    for (size_t i = 0; i < request->write_count; i++) {
      *(void *volatile *)request->slots[i] = request->values[i];
    }
    scan(request, context);
    sem_post(&request_done);
  }
  errno = saved_errno;
}

/* ---- Frame restarts (docs/PATCHING.md "Frame restarts") ------------------------------
 * From the safepoint, on the main thread: find the outermost frame running replaced code
 * (a walk of the stack), then unwind down to it with a forced unwind (libgcc's), which
 * runs the landing pad dev code has at every call that can reach a safepoint, releasing
 * what each frame holds. At the frame's caller, the unwind stops: the runtime's entry
 * frame is resumed (it calls the entry function again), or the caller's landing pad
 * claims the restart (holo_dev_restart_claim, in the runtime) and calls the function's
 * current version with the same arguments. */

/* Frames are told apart by what libgcc's _Unwind_GetCFA gives while a frame is the one
 * being looked at (by a backtrace's callback or a forced unwind's stop function): the
 * frame's stack pointer at the call it is in, which grows from the innermost frame out. */
typedef struct restart_walk {
  const safepoint_request *request;
  uintptr_t target; /* the outermost frame running replaced code; 0: none */
} restart_walk;

static struct _Unwind_Exception restart_exception;
static uintptr_t restart_target;
/* Whether the unwind has reached the target's caller (holo_restart_expect_claim). */
static bool caller_reached;

static bool runs_replaced_code(const safepoint_request *request, uintptr_t ip) {
  for (size_t i = 0; i < request->frame_count; i++) {
    if (request->frames[i].start <= ip && ip < request->frames[i].end) {
      return true;
    }
  }
  return false;
}

static _Unwind_Reason_Code find_target(struct _Unwind_Context *context, void *parameter) {
  restart_walk *walk = parameter;
  int before_instruction = 0;
  uintptr_t ip = _Unwind_GetIPInfo(context, &before_instruction);
  /* A return address is after its call: look at the call itself. */
  if (ip != 0 && runs_replaced_code(walk->request, before_instruction ? ip : ip - 1)) {
    walk->target = _Unwind_GetCFA(context);
  }
  return _URC_NO_REASON;
}

/* The x86-64 DWARF number of rbp: a dev frame's frame address. */
enum { DWARF_RBP = 6 };

static _Unwind_Reason_Code stop_at_caller(int version, _Unwind_Action actions,
                                          _Unwind_Exception_Class exception_class,
                                          struct _Unwind_Exception *exception,
                                          struct _Unwind_Context *context, void *parameter) {
  (void)version;
  (void)exception_class;
  (void)exception;
  (void)parameter;
  uintptr_t frame = _Unwind_GetCFA(context);
  void *entry_frame = holo_entry_frame();
  /* Past the runtime's entry frame (the target's caller was it, or did not claim): the
   * entry frame resumes, calling the entry function again. */
  if (entry_frame != NULL && frame > (uintptr_t)entry_frame) {
    holo_restart_expect_claim(NULL);
    holo_entry_resume();
  }
  if ((actions & _UA_END_OF_STACK) != 0) {
    fprintf(stderr, "holo: the frame to restart has no caller that can call it again\n");
    abort();
  }
  /* The first frame past the target is its caller: its landing pad may claim. */
  if (frame > restart_target && !caller_reached) {
    caller_reached = true;
    holo_restart_expect_claim((void *)_Unwind_GetGR(context, DWARF_RBP));
  }
  return _URC_NO_REASON;
}

/* Restarts the outermost frame running code a patch replaced; returns when there is none. */
static void restart_replaced_frame(const safepoint_request *request) {
  restart_walk walk = {request, 0};
  _Unwind_Backtrace(find_target, &walk);
  if (walk.target == 0) {
    return;
  }
  restart_target = walk.target;
  caller_reached = false;
  holo_restart_expect_claim(NULL);
  memset(&restart_exception, 0, sizeof restart_exception);
  memcpy(&restart_exception.exception_class, "HOLOREST", sizeof restart_exception.exception_class);
  _Unwind_ForcedUnwind(&restart_exception, stop_at_caller, NULL);
  /* It returns only when the stack cannot be unwound, before any cleanup ran. */
  fprintf(stderr, "holo: cannot unwind the stack to restart a frame\n");
  abort();
}

/* The cooperative safepoint, run by holo_safepoint_poll on the thread that polled. */
static void on_safepoint_poll(void) {
  if (gettid() != main_thread_id) {
    return;
  }
  atomic_store(safepoint_requested, 0);
  safepoint_request *request = atomic_exchange(&poll_request, NULL);
  if (request == NULL) {
    return; /* cancelled meanwhile */
  }
  for (size_t i = 0; i < request->write_count; i++) {
    *(void *volatile *)request->slots[i] = request->values[i];
  }
  request->call();
  /* getcontext captures the registers the code that polled still holds; what it spilled
   * is in the frames from here to the top of the stack, which the scan reads. */
  ucontext_t context;
  if (getcontext(&context) == 0) {
    scan(request, &context);
  }
  /* The request is the agent thread's again once posted: the restart works on a copy. */
  safepoint_request restart = *request;
  agent_range frames[RESTART_FRAMES_MAX];
  restart.frame_count = request->frame_count < RESTART_FRAMES_MAX ? request->frame_count
                                                                  : RESTART_FRAMES_MAX;
  memcpy(frames, request->frames, restart.frame_count * sizeof *frames);
  restart.frames = frames;
  sem_post(&request_done);
  if (restart.restarts_frames) {
    restart_replaced_frame(&restart);
  }
}

/* The runtime's wait hook: a blocking wait the agent's signal ended polls. */
static void on_wait_interrupted(void) {
  if (atomic_load(safepoint_requested) != 0) {
    on_safepoint_poll();
  }
}

bool safepoint_install(char *error) {
  main_thread = pthread_self();
  main_thread_id = gettid();
  pthread_attr_t attributes;
  void *stack_address;
  size_t stack_size;
  if (pthread_getattr_np(main_thread, &attributes) != 0) {
    agent_error(error, "cannot read the main thread's stack bounds");
    return false;
  }
  int found = pthread_attr_getstack(&attributes, &stack_address, &stack_size);
  pthread_attr_destroy(&attributes);
  if (found != 0) {
    agent_error(error, "cannot read the main thread's stack bounds");
    return false;
  }
  main_stack_low = (uintptr_t)stack_address;
  main_stack_high = main_stack_low + stack_size;
  if (sem_init(&request_done, 0, 0) != 0) {
    agent_error(error, "cannot create a semaphore");
    return false;
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_safepoint_signal;
  /* SA_RESTART: most interrupted system calls resume by themselves; the runtime retries
   * the rest (sleep, EINTR). SA_ONSTACK: use the runtime's alternate stack if any. */
  action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGURG, &action, NULL) != 0) {
    agent_error(error, "cannot install the SIGURG handler");
    return false;
  }
  safepoint_requested = &glue_safepoint_requested;
  safepoint_handler = &glue_safepoint_handler;
  if (safepoint_requested == NULL || safepoint_handler == NULL) {
    safepoint_requested = NULL;
    safepoint_handler = NULL;
  } else {
    atomic_store(safepoint_handler, on_safepoint_poll);
    holo_set_wait_interrupted_hook(on_wait_interrupted);
  }
  return true;
}

static bool wait_until(const struct timespec *deadline) {
  for (;;) {
    if (sem_timedwait(&request_done, deadline) == 0) {
      return true;
    }
    if (errno != EINTR) {
      return false;
    }
  }
}

bool safepoint_run(safepoint_request *request, char *error) {
  request->scanned = false;
  bool cooperative = request->call != NULL;
  if (cooperative && safepoint_requested == NULL) {
    agent_error(error, "the program does not poll for safepoints (it has no `%s`)",
                HOLO_DEV_SAFEPOINT_REQUESTED);
    return false;
  }
  safepoint_request *_Atomic *pending = cooperative ? &poll_request : &signal_request;
  atomic_store(pending, request);
  if (cooperative) {
    atomic_store(safepoint_requested, 1);
  }
  int sent = pthread_kill(main_thread, SIGURG);
  if (sent != 0 && atomic_exchange(pending, NULL) != NULL) {
    agent_error(error, "cannot signal the main thread: %s", strerror(sent));
    return false;
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += SAFEPOINT_TIMEOUT_SECONDS;
  if (!wait_until(&deadline)) {
    if (atomic_exchange(pending, NULL) != NULL) {
      agent_error(error, "the main thread did not reach a safepoint within %d s",
                  SAFEPOINT_TIMEOUT_SECONDS);
      return false;
    }
    /* The main thread took it just now: the handler finishes quickly; a safepoint
     * function runs holo code, which the program is waited for to finish like any other. */
    while (sem_wait(&request_done) != 0 && errno == EINTR) {
    }
  }
  return true;
}
