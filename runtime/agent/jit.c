/* The agent's linker: one ORC LLJIT for the process, one resource tracker per patch.
 *
 * LLVM is loaded with dlopen when the agent activates, not linked: a dev executable that
 * is never patched does not pay for mapping and initialising libLLVM. The headers still
 * give every function's type, so the calls through the table below are checked. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(LLVM_NATIVE_TARGETINFO) || !defined(LLVM_NATIVE_TARGET) ||                      \
    !defined(LLVM_NATIVE_TARGETMC) || !defined(LLVM_NATIVE_ASMPRINTER)
#error "LLVM has no native target for this machine"
#endif

/* Where Debian's llvm-19 puts the library, then its soname for the loader's search path. */
#define LLVM_LIBRARY_PATH "/usr/lib/llvm-19/lib/libLLVM.so.19.1"
#define LLVM_LIBRARY_SONAME "libLLVM.so.19.1"

/* Every LLVM function the agent calls. The LLVM_NATIVE_* names are macros for the host
 * target's initialisers (LLVMInitializeX86Target, ...), which LLVMInitializeNativeTarget,
 * an inline function of the header, would call. */
#define LLVM_FUNCTIONS(F)                                                                   \
  F(LLVM_NATIVE_TARGETINFO)                                                                 \
  F(LLVM_NATIVE_TARGET)                                                                     \
  F(LLVM_NATIVE_TARGETMC)                                                                   \
  F(LLVM_NATIVE_ASMPRINTER)                                                                 \
  F(LLVMGetErrorMessage)                                                                    \
  F(LLVMDisposeErrorMessage)                                                                \
  F(LLVMConsumeError)                                                                       \
  F(LLVMCreateMemoryBufferWithMemoryRangeCopy)                                              \
  F(LLVMOrcCreateLLJIT)                                                                     \
  F(LLVMOrcDisposeLLJIT)                                                                    \
  F(LLVMOrcLLJITGetExecutionSession)                                                        \
  F(LLVMOrcLLJITGetMainJITDylib)                                                            \
  F(LLVMOrcLLJITGetGlobalPrefix)                                                            \
  F(LLVMOrcLLJITMangleAndIntern)                                                            \
  F(LLVMOrcLLJITAddObjectFileWithRT)                                                        \
  F(LLVMOrcLLJITLookup)                                                                     \
  F(LLVMOrcExecutionSessionSetErrorReporter)                                                \
  F(LLVMOrcExecutionSessionGetSymbolStringPool)                                             \
  F(LLVMOrcSymbolStringPoolClearDeadEntries)                                                \
  F(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess)                                   \
  F(LLVMOrcCreateCustomCAPIDefinitionGenerator)                                             \
  F(LLVMOrcSymbolStringPoolEntryStr)                                                        \
  F(LLVMOrcRetainSymbolStringPoolEntry)                                                     \
  F(LLVMOrcJITDylibAddGenerator)                                                            \
  F(LLVMOrcJITDylibDefine)                                                                  \
  F(LLVMOrcJITDylibCreateResourceTracker)                                                   \
  F(LLVMOrcResourceTrackerRemove)                                                           \
  F(LLVMOrcReleaseResourceTracker)                                                          \
  F(LLVMOrcAbsoluteSymbols)                                                                 \
  F(LLVMOrcDisposeMaterializationUnit)

#define LLVM_FUNCTION_POINTER(name) __typeof__(&name) name;
/* Filled once by jit_load_llvm, on the main thread before the agent thread starts. */
static struct {
  LLVM_FUNCTIONS(LLVM_FUNCTION_POINTER)
} llvm;
#undef LLVM_FUNCTION_POINTER

/* Expands `name` first, so the native-target macros give the real symbol names. */
#define LLVM_SYMBOL_NAME(name) LLVM_SYMBOL_NAME_OF(name)
#define LLVM_SYMBOL_NAME_OF(name) #name

bool jit_load_llvm(char *error) {
  void *library = dlopen(LLVM_LIBRARY_PATH, RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) {
    char first[AGENT_ERROR_MAX];
    snprintf(first, sizeof first, "%s", dlerror());
    library = dlopen(LLVM_LIBRARY_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
      agent_error(error, "cannot load LLVM: %s; %s", first, dlerror());
      return false;
    }
  }
#define LLVM_RESOLVE(name)                                                                  \
  llvm.name = (__typeof__(llvm.name))dlsym(library, LLVM_SYMBOL_NAME(name));                \
  if (llvm.name == NULL) {                                                                  \
    agent_error(error, "cannot load LLVM: %s", dlerror());                                  \
    dlclose(library);                                                                       \
    return false;                                                                           \
  }
  LLVM_FUNCTIONS(LLVM_RESOLVE)
#undef LLVM_RESOLVE
  return true;
}

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
  char *message = llvm.LLVMGetErrorMessage(failure);
  if (jit != NULL && jit->reported[0] != '\0') {
    agent_error(error, "%s: %s", action, jit->reported);
  } else {
    agent_error(error, "%s: %s", action, message);
  }
  llvm.LLVMDisposeErrorMessage(message);
  return false;
}

static void report_session_error(void *context, LLVMErrorRef failure) {
  agent_jit *jit = context;
  char *message = llvm.LLVMGetErrorMessage(failure);
  if (jit->reported[0] == '\0') {
    snprintf(jit->reported, sizeof jit->reported, "%s", message);
  }
  llvm.LLVMDisposeErrorMessage(message);
}

/* The definition generator that defines, as absolute symbols, the names a lookup wants
 * that the executable defines (its symbol table, `symbol_index`). */
static LLVMErrorRef define_from_executable(LLVMOrcDefinitionGeneratorRef generator,
                                           void *context, LLVMOrcLookupStateRef *state,
                                           LLVMOrcLookupKind kind, LLVMOrcJITDylibRef dylib,
                                           LLVMOrcJITDylibLookupFlags dylib_flags,
                                           LLVMOrcCLookupSet names, size_t count) {
  (void)generator, (void)state, (void)kind, (void)dylib_flags;
  const symbol_index *executable = context;
  LLVMOrcCSymbolMapPair *found = malloc((count == 0 ? 1 : count) * sizeof *found);
  if (found == NULL) {
    /* The names stay unresolved: the process generator, then the lookup, reports them. */
    return NULL;
  }
  size_t defined = 0;
  for (size_t i = 0; i < count; i++) {
    uintptr_t address;
    if (symbol_index_find(executable, llvm.LLVMOrcSymbolStringPoolEntryStr(names[i].Name),
                          &address)) {
      /* LLVMOrcAbsoluteSymbols takes a reference to each name. */
      llvm.LLVMOrcRetainSymbolStringPoolEntry(names[i].Name);
      found[defined++] = (LLVMOrcCSymbolMapPair){
          .Name = names[i].Name,
          .Sym = {.Address = address,
                  .Flags = {.GenericFlags = LLVMJITSymbolGenericFlagsExported,
                            .TargetFlags = 0}},
      };
    }
  }
  LLVMErrorRef failure = NULL;
  if (defined > 0) {
    LLVMOrcMaterializationUnitRef unit = llvm.LLVMOrcAbsoluteSymbols(found, defined);
    failure = llvm.LLVMOrcJITDylibDefine(dylib, unit);
    if (failure != NULL) {
      llvm.LLVMOrcDisposeMaterializationUnit(unit);
    }
  }
  free(found);
  return failure;
}

agent_jit *jit_create(const symbol_index *executable, char *error) {
  llvm.LLVM_NATIVE_TARGETINFO();
  llvm.LLVM_NATIVE_TARGET();
  llvm.LLVM_NATIVE_TARGETMC();
  llvm.LLVM_NATIVE_ASMPRINTER();
  agent_jit *jit = calloc(1, sizeof *jit);
  if (jit == NULL) {
    agent_error(error, "out of memory");
    return NULL;
  }
  if (!succeeded(NULL, llvm.LLVMOrcCreateLLJIT(&jit->lljit, NULL), "cannot create the JIT",
                 error)) {
    free(jit);
    return NULL;
  }
  llvm.LLVMOrcExecutionSessionSetErrorReporter(
      llvm.LLVMOrcLLJITGetExecutionSession(jit->lljit), report_session_error, jit);
  jit->main = llvm.LLVMOrcLLJITGetMainJITDylib(jit->lljit);
  /* Patches resolve slots, line-base cells, version-0 functions and the runtime in the
   * executable's symbol table, and libc and other shared libraries through dlsym. */
  llvm.LLVMOrcJITDylibAddGenerator(
      jit->main, llvm.LLVMOrcCreateCustomCAPIDefinitionGenerator(define_from_executable,
                                                                 (void *)executable, NULL));
  LLVMOrcDefinitionGeneratorRef process;
  if (!succeeded(NULL,
                 llvm.LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                     &process, llvm.LLVMOrcLLJITGetGlobalPrefix(jit->lljit), NULL, NULL),
                 "cannot search the process's symbols", error)) {
    llvm.LLVMOrcDisposeLLJIT(jit->lljit);
    free(jit);
    return NULL;
  }
  llvm.LLVMOrcJITDylibAddGenerator(jit->main, process);
  return jit;
}

bool jit_define_absolute(agent_jit *jit, const char *name, uintptr_t address, char *error) {
  jit->reported[0] = '\0';
  LLVMOrcCSymbolMapPair symbol = {
      .Name = llvm.LLVMOrcLLJITMangleAndIntern(jit->lljit, name),
      .Sym = {.Address = address,
              .Flags = {.GenericFlags = LLVMJITSymbolGenericFlagsExported, .TargetFlags = 0}},
  };
  LLVMOrcMaterializationUnitRef unit = llvm.LLVMOrcAbsoluteSymbols(&symbol, 1);
  LLVMErrorRef failure = llvm.LLVMOrcJITDylibDefine(jit->main, unit);
  if (failure != NULL) {
    llvm.LLVMOrcDisposeMaterializationUnit(unit);
  }
  char action[AGENT_ERROR_MAX];
  snprintf(action, sizeof action, "cannot define `%s`", name);
  return succeeded(jit, failure, action, error);
}

agent_tracker *jit_add_object(agent_jit *jit, const uint8_t *bytes, size_t length,
                              const char *name, char *error) {
  jit->reported[0] = '\0';
  LLVMMemoryBufferRef buffer =
      llvm.LLVMCreateMemoryBufferWithMemoryRangeCopy((const char *)bytes, length, name);
  LLVMOrcResourceTrackerRef tracker = llvm.LLVMOrcJITDylibCreateResourceTracker(jit->main);
  /* The JIT takes the buffer, whether it succeeds or not. */
  if (!succeeded(jit, llvm.LLVMOrcLLJITAddObjectFileWithRT(jit->lljit, tracker, buffer),
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
  if (!succeeded(jit, llvm.LLVMOrcLLJITLookup(jit->lljit, &found, name), action, error)) {
    return false;
  }
  *address = (uintptr_t)found;
  return true;
}

void jit_remove(agent_jit *jit, agent_tracker *tracker) {
  LLVMOrcResourceTrackerRef handle = (LLVMOrcResourceTrackerRef)tracker;
  /* An error here comes from a resource manager (say, unregistering unwind info); the
   * tracker is defunct either way, so there is nothing left to retry. */
  LLVMErrorRef failure = llvm.LLVMOrcResourceTrackerRemove(handle);
  if (failure != NULL) {
    llvm.LLVMConsumeError(failure);
  }
  llvm.LLVMOrcReleaseResourceTracker(handle);
  /* Names only the removed code used (its version symbols) are dropped from the pool. */
  LLVMOrcExecutionSessionRef session = llvm.LLVMOrcLLJITGetExecutionSession(jit->lljit);
  llvm.LLVMOrcSymbolStringPoolClearDeadEntries(
      llvm.LLVMOrcExecutionSessionGetSymbolStringPool(session));
}
