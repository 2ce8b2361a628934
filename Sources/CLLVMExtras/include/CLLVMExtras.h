// What LLVM's C API cannot do: list the processors a target knows (Processors.cpp),
// switch the alignment of branches on and off between emissions (BranchAlignment.cpp), and
// leave out a pass that has nothing to do for holo code (VariableLocations.cpp).
// Implemented in C++ against LLVM 19.
#ifndef CLLVM_EXTRAS_H
#define CLLVM_EXTRAS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The processors LLVM can generate code for on `triple` that have every feature in
/// `required_features` (features of that target in LLVM's syntax, such as "+64bit"), one
/// name per line in LLVM's order, in a string to release with free(). NULL when LLVM has no
/// target for the triple (its targets must be initialised first).
char *holo_llvm_processor_names(const char *triple, const char *required_features);

/// Whether code emitted from now on keeps branches within 32-byte boundaries (LLVM's
/// `-x86-branches-within-32B-boundaries`, Intel's JCC-erratum mitigation). The setting is
/// global: the caller must not change it while another thread emits code.
void holo_llvm_set_branch_alignment(int enabled);

/// Makes code generation skip LiveDebugValues, which extends variable locations (DBG_VALUE
/// instructions) across blocks, for every emission from now on. Only for code without
/// variable locations: holo's debug information is line tables and subprograms. Call
/// before any emission, once.
void holo_llvm_skip_variable_location_ranges(void);

#ifdef __cplusplus
}
#endif

#endif
