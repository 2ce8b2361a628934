import CLLVM
import Foundation
import HoloIR
import HoloSource

/// DWARF line tables for dev builds, so debuggers and profilers map machine code back to
/// holo source lines.
final class DebugInfo {
  private let builder: LLVMDIBuilderRef
  private let context: LLVMContextRef
  private let sources: SourceManager
  private var files: [FileID: LLVMMetadataRef] = [:]
  private var compileUnit: LLVMMetadataRef?

  init(module: LLVMModuleRef, context: LLVMContextRef, sources: SourceManager) {
    self.builder = LLVMCreateDIBuilder(module)
    self.context = context
    self.sources = sources
    let version = LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(context), 3, 0))
    LLVMAddModuleFlag(
      module, LLVMModuleFlagBehaviorWarning, "Debug Info Version", 18, version)
  }

  deinit { LLVMDisposeDIBuilder(builder) }

  /// Attaches a subprogram to `function`; the returned scope is what locations refer to.
  func attach(_ function: IRFunction, to llvmFunction: LLVMValueRef, linkageName: String)
    -> LLVMMetadataRef
  {
    let file = self.file(function.span.file)
    let unit = compileUnit ?? createCompileUnit(file)
    let line = UInt32(sources.file(function.span.file).location(of: function.span.start).line)
    let type = LLVMDIBuilderCreateSubroutineType(builder, file, nil, 0, LLVMDIFlagZero)
    let subprogram = LLVMDIBuilderCreateFunction(
      builder, unit, function.name, function.name.utf8.count, linkageName,
      linkageName.utf8.count, file, line, type, 0, 1, line, LLVMDIFlagZero, 0)!
    LLVMSetSubprogram(llvmFunction, subprogram)
    return subprogram
  }

  func location(_ span: Span, scope: LLVMMetadataRef) -> LLVMMetadataRef {
    let position = sources.file(span.file).location(of: span.start)
    return LLVMDIBuilderCreateDebugLocation(
      context, UInt32(position.line), UInt32(position.column), scope, nil)
  }

  func finalize() { LLVMDIBuilderFinalize(builder) }

  private func file(_ id: FileID) -> LLVMMetadataRef {
    if let known = files[id] { return known }
    let url = URL(fileURLWithPath: sources.file(id).path).standardizedFileURL
    let name = url.lastPathComponent
    let directory = url.deletingLastPathComponent().path
    let file = LLVMDIBuilderCreateFile(
      builder, name, name.utf8.count, directory, directory.utf8.count)!
    files[id] = file
    return file
  }

  private func createCompileUnit(_ file: LLVMMetadataRef) -> LLVMMetadataRef {
    let producer = "holoc"
    let unit = LLVMDIBuilderCreateCompileUnit(
      builder, LLVMDWARFSourceLanguageC, file, producer, producer.utf8.count, 0, "", 0, 0, "", 0,
      LLVMDWARFEmissionFull, 0, 0, 0, "", 0, "", 0)!
    compileUnit = unit
    return unit
  }
}
