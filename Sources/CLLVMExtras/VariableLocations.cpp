#include "CLLVMExtras.h"

#include <llvm/CodeGen/MachineFunction.h>
#include <llvm/CodeGen/MachineFunctionPass.h>
#include <llvm/CodeGen/Passes.h>
#include <llvm/InitializePasses.h>
#include <llvm/PassInfo.h>
#include <llvm/PassRegistry.h>
#include <llvm/Support/ErrorHandling.h>

namespace {

// Takes the place of LiveDebugValues, which extends the ranges of variable locations
// (DBG_VALUE instructions) across blocks. holo code has none, yet the pass walks every
// instruction of every function: a twentieth of a cold dev build.
class NoVariableLocations final : public llvm::MachineFunctionPass {
public:
  static char ID;
  NoVariableLocations() : llvm::MachineFunctionPass(ID) {}

  llvm::StringRef getPassName() const override { return "holo: no variable locations"; }

  void getAnalysisUsage(llvm::AnalysisUsage &usage) const override {
    usage.setPreservesAll();
    llvm::MachineFunctionPass::getAnalysisUsage(usage);
  }

  bool runOnMachineFunction(llvm::MachineFunction &function) override {
#ifdef DEBUG
    // The premise, checked in debug builds of holoc (SwiftPM's), which the tests run.
    for (const llvm::MachineBasicBlock &block : function)
      for (const llvm::MachineInstr &instruction : block)
        if (instruction.isDebugValue())
          llvm::report_fatal_error("holo code has a variable location: LiveDebugValues is needed");
#else
    (void)function;
#endif
    return false;
  }
};

char NoVariableLocations::ID = 0;

}  // namespace

void holo_llvm_skip_variable_location_ranges(void) {
  llvm::PassRegistry &registry = *llvm::PassRegistry::getPassRegistry();
  llvm::initializeLiveDebugValuesPass(registry);
  const llvm::PassInfo *info = registry.getPassInfo(&llvm::LiveDebugValuesID);
  if (info == nullptr) return;
  const_cast<llvm::PassInfo *>(info)->setNormalCtor(
      []() -> llvm::Pass * { return new NoVariableLocations(); });
}
