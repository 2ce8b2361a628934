/* The agent's linker: one ORC LLJIT for the process, one resource tracker per patch. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct agent_jit {
  LLVMOrcLLJITRef lljit;
  LLVMOrcJITDylibRef main;
  /* The first error the session reported since the last operation began: for a failed
   * link it names the cause ("Symbols not found: ..."), where the lookup's own error only
   * says that materialization failed. */
  char reported[AGENT_ERROR_MAX];
};

/* Turns an LLVM error into text, consuming it; true when there was none. */
static bool succeeded(agent_jit *jit, LLVMErrorRef failure, const char *action, char *error) {
  if (failure == NULL) {
    return true;
  }
  char *message = LLVMGetErrorMessage(failure);
  if (jit != NULL && jit->reported[0] != '\0') {
    agent_error(error, "%s: %s", action, jit->reported);
  } else {
    agent_error(error, "%s: %s", action, message);
  }
  LLVMDisposeErrorMessage(message);
  return false;
}

static void report_session_error(void *context, LLVMErrorRef failure) {
  agent_jit *jit = context;
  char *message = LLVMGetErrorMessage(failure);
  if (jit->reported[0] == '\0') {
    snprintf(jit->reported, sizeof jit->reported, "%s", message);
  }
  LLVMDisposeErrorMessage(message);
}

agent_jit *jit_create(char *error) {
  if (LLVMInitializeNativeTarget() != 0 || LLVMInitializeNativeAsmPrinter() != 0) {
    agent_error(error, "LLVM has no support for this machine");
    return NULL;
  }
  agent_jit *jit = calloc(1, sizeof *jit);
  if (jit == NULL) {
    agent_error(error, "out of memory");
    return NULL;
  }
  if (!succeeded(NULL, LLVMOrcCreateLLJIT(&jit->lljit, NULL), "cannot create the JIT", error)) {
    free(jit);
    return NULL;
  }
  LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(jit->lljit),
                                          report_session_error, jit);
  jit->main = LLVMOrcLLJITGetMainJITDylib(jit->lljit);
  /* Patches resolve slots, version-0 functions, the runtime and libc in the process
   * (dev executables export their symbols with -rdynamic). */
  LLVMOrcDefinitionGeneratorRef process;
  if (!succeeded(NULL,
                 LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                     &process, LLVMOrcLLJITGetGlobalPrefix(jit->lljit), NULL, NULL),
                 "cannot search the process's symbols", error)) {
    LLVMOrcDisposeLLJIT(jit->lljit);
    free(jit);
    return NULL;
  }
  LLVMOrcJITDylibAddGenerator(jit->main, process);
  return jit;
}

bool jit_define_absolute(agent_jit *jit, const char *name, uintptr_t address, char *error) {
  jit->reported[0] = '\0';
  LLVMOrcCSymbolMapPair symbol = {
      .Name = LLVMOrcLLJITMangleAndIntern(jit->lljit, name),
      .Sym = {.Address = address,
              .Flags = {.GenericFlags = LLVMJITSymbolGenericFlagsExported, .TargetFlags = 0}},
  };
  LLVMOrcMaterializationUnitRef unit = LLVMOrcAbsoluteSymbols(&symbol, 1);
  LLVMErrorRef failure = LLVMOrcJITDylibDefine(jit->main, unit);
  if (failure != NULL) {
    LLVMOrcDisposeMaterializationUnit(unit);
  }
  return succeeded(jit, failure, "cannot define the slot", error);
}

agent_tracker *jit_add_object(agent_jit *jit, const uint8_t *bytes, size_t length,
                              const char *name, char *error) {
  jit->reported[0] = '\0';
  LLVMMemoryBufferRef buffer =
      LLVMCreateMemoryBufferWithMemoryRangeCopy((const char *)bytes, length, name);
  LLVMOrcResourceTrackerRef tracker = LLVMOrcJITDylibCreateResourceTracker(jit->main);
  /* The JIT takes the buffer, whether it succeeds or not. */
  if (!succeeded(jit, LLVMOrcLLJITAddObjectFileWithRT(jit->lljit, tracker, buffer),
                 "cannot add the object", error)) {
    jit_remove(jit, (agent_tracker *)tracker);
    return NULL;
  }
  return (agent_tracker *)tracker;
}

bool jit_lookup(agent_jit *jit, const char *name, uintptr_t *address, char *error) {
  jit->reported[0] = '\0';
  LLVMOrcExecutorAddress found = 0;
  char action[AGENT_ERROR_MAX];
  snprintf(action, sizeof action, "cannot link `%s`", name);
  if (!succeeded(jit, LLVMOrcLLJITLookup(jit->lljit, &found, name), action, error)) {
    return false;
  }
  *address = (uintptr_t)found;
  return true;
}

void jit_remove(agent_jit *jit, agent_tracker *tracker) {
  LLVMOrcResourceTrackerRef handle = (LLVMOrcResourceTrackerRef)tracker;
  /* An error here comes from a resource manager (say, unregistering unwind info); the
   * tracker is defunct either way, so there is nothing left to retry. */
  LLVMErrorRef failure = LLVMOrcResourceTrackerRemove(handle);
  if (failure != NULL) {
    LLVMConsumeError(failure);
  }
  LLVMOrcReleaseResourceTracker(handle);
  /* Names only the removed code used (its version symbols) are dropped from the pool. */
  LLVMOrcSymbolStringPoolClearDeadEntries(
      LLVMOrcExecutionSessionGetSymbolStringPool(LLVMOrcLLJITGetExecutionSession(jit->lljit)));
}
