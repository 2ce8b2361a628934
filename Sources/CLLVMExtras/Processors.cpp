#include "CLLVMExtras.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>

char *holo_llvm_processor_names(const char *triple, const char *required_features) {
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) return nullptr;
  std::unique_ptr<llvm::MCSubtargetInfo> generic(target->createMCSubtargetInfo(triple, "", ""));
  if (!generic) return nullptr;
  std::string names;
  for (const llvm::SubtargetSubTypeKV &processor : generic->getAllProcessorDescriptions()) {
    // A processor LLVM knows may still lack what the triple needs (i386 has no 64-bit mode),
    // and creating a target machine for it would abort.
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        target->createMCSubtargetInfo(triple, processor.Key, ""));
    if (subtarget && subtarget->checkFeatures(required_features)) {
      names += processor.Key;
      names += '\n';
    }
  }
  return strdup(names.c_str());
}
