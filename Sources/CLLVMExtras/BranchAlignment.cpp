#include "CLLVMExtras.h"

#include <llvm/Support/CommandLine.h>

void holo_llvm_set_branch_alignment(int enabled) {
  // X86's assembler backend reads the option when an emission creates it, so a change
  // applies from the next emission on.
  auto &options = llvm::cl::getRegisteredOptions();
  auto option = options.find("x86-branches-within-32B-boundaries");
  if (option == options.end()) return;
  static_cast<llvm::cl::opt<bool> *>(option->second)->setValue(enabled != 0);
}
