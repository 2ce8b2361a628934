// What LLVM's C API cannot tell: the processors a target knows. Implemented in C++ against
// LLVM 19 (Processors.cpp).
#ifndef CLLVM_PROCESSORS_H
#define CLLVM_PROCESSORS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The processors LLVM can generate code for on `triple` that have every feature in
/// `required_features` (features of that target in LLVM's syntax, such as "+64bit"), one
/// name per line in LLVM's order, in a string to release with free(). NULL when LLVM has no
/// target for the triple (its targets must be initialised first).
char *holo_llvm_processor_names(const char *triple, const char *required_features);

#ifdef __cplusplus
}
#endif

#endif
