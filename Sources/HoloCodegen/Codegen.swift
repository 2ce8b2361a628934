import CLLVM
import CLLVMExtras
import Foundation
import HoloIR
import HoloSource

public struct CodegenOptions: Sendable {
  public enum Mode: Sendable {
    /// Debuggable build (`holoc build`): frame pointers kept, every function visible.
    case dev
    /// Direct calls, full optimisation, nothing of the dev machinery.
    case release
  }

  /// What the generated C `main` does.
  public enum Entry: Sendable {
    /// Runs the program's entry function through `holo_main`.
    case program
    /// Dispatches to the `#[test]` functions through `holo_test_main`.
    case tests
    /// No `main` (an object or library for a C host).
    case none
  }

  public var mode: Mode
  public var optimizationLevel: Int
  /// nil: a portable x86-64 baseline; else one of `TargetCPU.validNames`.
  public var targetCPU: String?
  public var entry: Entry
  /// A dev test executable that `holoc dev` keeps running as its test process and patches
  /// like the program (`--serve`, docs/PATCHING.md). `holoc test`'s are never patched.
  public var patchable: Bool
  /// Dev code whose frames a frame restart can unwind (docs/PATCHING.md, "Frame
  /// restarts"): every call that can reach a safepoint is an `invoke` with a landing pad.
  /// Off, dev calls are plain calls, which LLVM's fast instruction selector takes: an
  /// `invoke` sends its block through SelectionDAG, and -O0 code generation of a program
  /// whose every function calls is then 2-3 times slower (docs/DECISIONS.md).
  public var restartableFrames: Bool

  public init(
    mode: Mode, optimizationLevel: Int, targetCPU: String? = nil, entry: Entry,
    patchable: Bool = false, restartableFrames: Bool = false
  ) {
    self.mode = mode
    self.optimizationLevel = optimizationLevel
    self.targetCPU = targetCPU
    self.entry = entry
    self.patchable = patchable
    self.restartableFrames = mode == .dev && restartableFrames
  }

  /// Whether the executable starts the patch agent, and so must be linked with it: every
  /// dev program, and a patchable dev test executable.
  public var startsAgent: Bool {
    mode == .dev && (entry == .program || (entry == .tests && patchable))
  }
}

public enum EmitKind: Sendable {
  case object
  case assembly
  case llvmIR
}

public struct CodegenError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A patch's slot update: after it, `slot` holds the address of `function`.
public struct SlotUpdate: Sendable, Hashable {
  public var slot: String
  public var function: String
  public init(slot: String, function: String) {
    self.slot = slot
    self.function = function
  }
}

/// Storage the agent creates for a global a patch adds: zeroed bytes.
public struct NewGlobalStorage: Sendable, Equatable {
  public var symbol: String
  public var size: UInt32
  public var alignment: UInt32
}

/// New versions of some functions of a running dev build (docs/PATCHING.md).
public struct Patch: Sendable {
  /// An ELF relocatable object defining the new versions.
  public var object: [UInt8]
  /// Slots the object uses that the running program does not have yet (new signatures).
  public var newSlots: [String]
  /// Line-base cells of the functions the object defines that the running program does not
  /// have yet (new functions and signatures). The agent creates them zeroed: the patch
  /// must also write each one its function's start line.
  public var newCells: [String]
  public var updates: [SlotUpdate]
  /// Storage of the globals the patch adds, and of those it migrates to a new layout.
  public var newGlobals: [NewGlobalStorage] = []
  /// `holo.safepoint#N`, which the object defines when the patch changes globals.
  public var safepointFunction: String?

  /// A patch that links nothing (an empty object) and sets no slot: what carries the line
  /// writes of functions that only moved.
  public static let noCode = Patch(object: [], newSlots: [], newCells: [], updates: [])
}

public enum Codegen {
  /// Compiles a checked program to an object file, assembly or LLVM IR text, in memory.
  public static func generate(
    _ program: IRProgram, sources: SourceManager, options: CodegenOptions, emit: EmitKind
  ) throws -> [UInt8] {
    let target = try TargetMachine(options)
    return try withModule(
      program, sources, options, .wholeProgram, target, keepsValueNames: emit != .object
    ) { module in
      switch emit {
      case .llvmIR:
        let text = LLVMPrintModuleToString(module.module)!
        defer { LLVMDisposeMessage(text) }
        return Array(String(cString: text).utf8)
      case .object:
        return try target.emit(module.module, fileType: LLVMObjectFile)
      case .assembly:
        return try target.emit(module.module, fileType: LLVMAssemblyFile)
      }
    }
  }

  /// Compiles version `version` of `functions` into a patch for a running dev build whose
  /// slots are `existingSlots`. Calls from the patch go through slots like all dev code.
  fileprivate static func generatePatch(
    _ program: IRProgram, sources: SourceManager, functions: Set<FunctionID>, version: Int,
    globals: GlobalChanges, existingSlots: Set<String>, options patchOptions: CodegenOptions,
    target: TargetMachine
  ) throws -> Patch {
    // The old layouts a migration reads exist in the patch under their `'old` names.
    let program = globals.oldStructs.isEmpty ? program : program.adding(globals.oldStructs)
    return try withModule(
      program, sources, patchOptions, .patch(functions, version: version, globals: globals),
      target
    ) { module in
      let updates = module.slotUpdates.map { SlotUpdate(slot: $0.slot, function: $0.function) }
      let referenced = Set(module.referencedSlots).union(updates.map(\.slot))
      // A function's slot and line-base cell come into a process together, with its first
      // version, so the process has the cell exactly when it has the slot.
      // Both looked up in `existingSlots`, never walked: it holds the whole program's.
      let newCells = functions.map(program.function).filter {
        !existingSlots.contains(Symbols.slot(of: $0, in: program))
      }.map { Symbols.lineBase(of: $0, in: program) }
      let newGlobals = (globals.migrated.map(\.new) + globals.added).map { global in
        NewGlobalStorage(
          symbol: Symbols.global(global, in: program),
          size: UInt32(module.storageSize(of: global.type)),
          alignment: module.storageAlignment(of: global.type))
      }
      return Patch(
        object: try target.emit(module.module, fileType: LLVMObjectFile),
        newSlots: referenced.filter { !existingSlots.contains($0) }.sorted(),
        newCells: newCells.sorted(),
        updates: updates, newGlobals: newGlobals,
        safepointFunction: globals.isEmpty ? nil : Symbols.safepointFunction(ofPatch: version))
    }
  }

  /// The version of the LLVM library holoc runs with, `MAJOR.MINOR.PATCH`: part of what
  /// determines the code it emits.
  public static let llvmVersion: String = {
    var (major, minor, patch): (UInt32, UInt32, UInt32) = (0, 0, 0)
    LLVMGetVersion(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
  }()

  /// The line where `function` starts: what its line-base cell holds in a dev build.
  public static func startLine(of function: IRFunction, _ sources: SourceManager) -> Int {
    startLine(at: function.span, sources)
  }

  /// The line where a function whose name is at `span` starts.
  public static func startLine(at span: Span, _ sources: SourceManager) -> Int {
    // The line alone: a save that moves every function of a big file asks for each.
    sources.file(span.file).lineIndex(of: span.start) + 1
  }

  /// The slots a full dev build of `program` defines.
  public static func slots(of program: IRProgram) -> Set<String> {
    Set(program.functions.map { Symbols.slot(of: $0, in: program) })
  }

  /// Builds, verifies and optimises a module of `contents` in a context of its own, for
  /// `body` to emit with `target`. `keepsValueNames`: the module is shown to a reader (IR
  /// or assembly text).
  fileprivate static func withModule<Result>(
    _ program: IRProgram, _ sources: SourceManager, _ options: CodegenOptions,
    _ contents: ModuleContents, _ target: TargetMachine, keepsValueNames: Bool = false,
    _ body: (ModuleEmitter) throws -> Result
  ) throws -> Result {
    let context = LLVMContextCreate()
    defer { LLVMContextDispose(context) }
    // Names of instructions, arguments and blocks only help a reader: an object's module
    // drops them, as clang's -discard-value-names (a debug holoc keeps them for the
    // verifier's messages).
    #if !DEBUG
      if !keepsValueNames { LLVMContextSetDiscardValueNames(context, 1) }
    #endif
    let module = ModuleEmitter(
      program: program, sources: sources, options: options, context: context!, target: target,
      contents: contents)
    defer { module.dispose() }
    module.emitProgram()
    // As clang and rustc built without assertions, a release build of holoc trusts the IR
    // it generates; debug builds (the test suite's) check every module.
    #if DEBUG
      try module.verify()
    #endif
    target.alignsBranches = !module.excludeOversizedFunctionsFromOptimization()
    target.optimizesLoops = options.optimizationLevel == 0 && module.planLightOptimization()
    try target.optimize(module.module, level: options.optimizationLevel)
    module.finishProgramInfo()
    return try body(module)
  }
}

/// Compiles patches for a running dev build, one at a time, with target machines it keeps
/// from patch to patch (making one costs about as much as compiling a small function).
public final class PatchCompiler {
  private let options: CodegenOptions
  private let target: TargetMachine

  /// Patches built with `options` (as a dev build's chunks, without an entry point).
  public init(options: CodegenOptions) throws {
    var patchOptions = options
    patchOptions.mode = .dev
    patchOptions.entry = .none
    self.options = patchOptions
    target = try TargetMachine(patchOptions)
  }

  /// Version `version` of `functions` of `program`, for a process whose slots are
  /// `existingSlots`, adding and removing `globals`.
  public func patch(
    _ program: IRProgram, sources: SourceManager, functions: Set<FunctionID>, version: Int,
    globals: GlobalChanges = .none, existingSlots: Set<String>
  ) throws -> Patch {
    try Codegen.generatePatch(
      program, sources: sources, functions: functions, version: version, globals: globals,
      existingSlots: existingSlots, options: options, target: target)
  }
}

/// Compiles the objects of a dev build one at a time: each `CodeChunk`'s and the glue
/// (what needs the whole program: `main`, the test table, the program info, export
/// wrappers, the library constructor). It owns a target machine, so several compile at
/// once on threads of their own; each object gets an LLVM context of its own.
///
/// A chunk's object depends on the program only through the chunk's functions (their IR,
/// start lines and files) and the signatures of what they call, never on `options.entry`:
/// programs, test executables and libraries share it.
public final class DevObjectCompiler {
  private let program: IRProgram
  private let sources: SourceManager
  private let options: CodegenOptions
  private let target: TargetMachine

  /// Compiles objects of `program` (read, never changed, so compilers on several threads
  /// share it and `sources`) with `options`, whose mode must be `.dev`.
  public init(_ program: IRProgram, sources: SourceManager, options: CodegenOptions) throws {
    precondition(options.mode == .dev, "release builds are one module")
    self.program = program
    self.sources = sources
    self.options = options
    target = try TargetMachine(options)
  }

  public func object(of chunk: CodeChunk) throws -> [UInt8] {
    try emit(.chunk(chunk.functions))
  }

  public func glueObject() throws -> [UInt8] { try emit(.glue) }

  private func emit(_ contents: ModuleContents) throws -> [UInt8] {
    try Codegen.withModule(program, sources, options, contents, target) { module in
      try target.emit(module.module, fileType: LLVMObjectFile)
    }
  }
}

/// The CPU names code can be generated for.
public enum TargetCPU {
  /// This machine's CPU, as LLVM detects it.
  public static let native = "native"

  /// `native`, then every CPU LLVM can generate x86-64 code for, in LLVM's order. LLVM
  /// aborts the process when asked for any other (an unknown name or a 32-bit CPU).
  public static let validNames: [String] = [native] + TargetMachine.processorNames()
}

/// The LLVM target machine for x86-64 Linux, and the passes and emission that use it.
final class TargetMachine {
  let machine: LLVMTargetMachineRef
  /// At `-O0`: the code generator of `-O1`, for modules with functions that have loops.
  private var loopMachine: LLVMTargetMachineRef?
  /// At `-O0`, whether the module being compiled has functions with loops: they and its
  /// leaf functions get `lightPipeline` and `loopMachine` (the fast code generator divides
  /// by a constant with `idiv`); the others are `optnone` (docs/DECISIONS.md).
  var optimizesLoops = false
  private let target: LLVMTargetRef
  private let cpu: String
  private let features: String
  let triple = TargetMachine.defaultTriple
  /// Whether emitted code keeps jumps from crossing 32-byte boundaries: Intel's JCC-erratum
  /// microcode otherwise makes hot loops run at the mercy of where the linker places them.
  var alignsBranches = true
  /// The alignment setting is global to LLVM: emissions with the same setting run at once.
  private static let branchAlignment = BranchAlignmentGate()

  init(_ options: CodegenOptions) throws {
    let requestedCPU = options.targetCPU
    if let requestedCPU, !TargetCPU.validNames.contains(requestedCPU) {
      throw CodegenError("unknown target CPU `\(requestedCPU)`")
    }
    var target: LLVMTargetRef?
    var error: UnsafeMutablePointer<CChar>?
    if LLVMGetTargetFromTriple(triple, &target, &error) != 0 {
      defer { LLVMDisposeMessage(error) }
      throw CodegenError("no LLVM target for \(triple): \(String(cString: error!))")
    }
    var cpu = requestedCPU ?? "x86-64"
    var features = ""
    if cpu == TargetCPU.native {
      let hostCPU = LLVMGetHostCPUName()!
      let hostFeatures = LLVMGetHostCPUFeatures()!
      cpu = String(cString: hostCPU)
      features = String(cString: hostFeatures)
      LLVMDisposeMessage(hostCPU)
      LLVMDisposeMessage(hostFeatures)
    }
    let level: LLVMCodeGenOptLevel
    switch options.optimizationLevel {
    case 0: level = LLVMCodeGenLevelNone
    case 1: level = LLVMCodeGenLevelLess
    case 2: level = LLVMCodeGenLevelDefault
    default: level = LLVMCodeGenLevelAggressive
    }
    self.target = target!
    self.cpu = cpu
    self.features = features
    machine = try Self.create(target!, triple, cpu, features, level)
  }

  private static func create(
    _ target: LLVMTargetRef, _ triple: String, _ cpu: String, _ features: String,
    _ level: LLVMCodeGenOptLevel
  ) throws -> LLVMTargetMachineRef {
    // PIC: Debian's cc links position-independent executables by default.
    guard
      let machine = LLVMCreateTargetMachine(
        target, triple, cpu, features, level, LLVMRelocPIC, LLVMCodeModelDefault)
    else { throw CodegenError("cannot create a target machine for CPU `\(cpu)`") }
    return machine
  }

  /// At `-O0`, what functions with loops and leaf functions get: their locals in
  /// registers and the obvious simplifications, a small part of `-O1`'s cost.
  private static let lightPipeline =
    "function(sroa,early-cse,instcombine<no-verify-fixpoint>,simplifycfg)"

  deinit {
    LLVMDisposeTargetMachine(machine)
    if let loopMachine { LLVMDisposeTargetMachine(loopMachine) }
  }

  /// This machine's triple, the one LLVM was configured for. Reading it initialises LLVM.
  private static let defaultTriple: String = {
    initializeLLVM
    let triple = LLVMGetDefaultTargetTriple()!
    defer { LLVMDisposeMessage(triple) }
    return String(cString: triple)
  }()

  /// The processors LLVM knows that can run 64-bit x86 code.
  fileprivate static func processorNames() -> [String] {
    guard let names = holo_llvm_processor_names(defaultTriple, "+64bit") else { return [] }
    defer { free(names) }
    return String(cString: names).split(separator: "\n").map(String.init)
  }

  private static let initializeLLVM: Void = {
    LLVMInitializeNativeTarget()
    LLVMInitializeNativeAsmPrinter()
    LLVMInitializeNativeAsmParser()
    // holo emits no variable locations (docs/DECISIONS.md, "No variable locations").
    holo_llvm_skip_variable_location_ranges()
  }()

  func configure(_ module: LLVMModuleRef) {
    LLVMSetTarget(module, triple)
    let layout = LLVMCreateTargetDataLayout(machine)
    LLVMSetModuleDataLayout(module, layout)
    LLVMDisposeTargetData(layout)
  }

  /// Runs the new pass manager's standard pipeline for the level (`lightPipeline` at `-O0`
  /// when `optimizesLoops`).
  func optimize(_ module: LLVMModuleRef, level: Int) throws {
    // `default<O0>` only inlines `alwaysinline` functions, which holo code never has.
    if level <= 0, !optimizesLoops { return }
    let options = LLVMCreatePassBuilderOptions()
    defer { LLVMDisposePassBuilderOptions(options) }
    let pipeline = optimizesLoops ? Self.lightPipeline : "default<O\(min(max(level, 0), 3))>"
    if let error = LLVMRunPasses(module, pipeline, machine, options) {
      let message = LLVMGetErrorMessage(error)!
      defer { LLVMDisposeErrorMessage(message) }
      throw CodegenError("LLVM passes failed: \(String(cString: message))")
    }
  }

  func emit(_ module: LLVMModuleRef, fileType: LLVMCodeGenFileType) throws -> [UInt8] {
    var buffer: LLVMMemoryBufferRef?
    var error: UnsafeMutablePointer<CChar>?
    var emitter = machine
    if optimizesLoops {
      if loopMachine == nil {
        loopMachine = try Self.create(target, triple, cpu, features, LLVMCodeGenLevelLess)
      }
      emitter = loopMachine!
    }
    let failed = Self.branchAlignment.whileSet(to: alignsBranches) {
      LLVMTargetMachineEmitToMemoryBuffer(emitter, module, fileType, &error, &buffer) != 0
    }
    if failed {
      defer { LLVMDisposeMessage(error) }
      throw CodegenError("LLVM code emission failed: \(String(cString: error!))")
    }
    defer { LLVMDisposeMemoryBuffer(buffer) }
    let start = LLVMGetBufferStart(buffer)!
    let size = LLVMGetBufferSize(buffer)
    return start.withMemoryRebound(to: UInt8.self, capacity: size) {
      Array(UnsafeBufferPointer(start: $0, count: size))
    }
  }
}

/// Holds LLVM's global branch-alignment option (`holo_llvm_set_branch_alignment`) at one
/// setting while emissions that want it run: any number of them at once, since they only
/// read it. The setting changes only when no emission runs, so one that wants the other
/// setting waits until those running have finished.
private final class BranchAlignmentGate: @unchecked Sendable {
  private let condition = NSCondition()
  /// What the option is set to; nil before the first emission.
  private var aligns: Bool?
  private var running = 0

  func whileSet<Result>(to wanted: Bool, _ body: () -> Result) -> Result {
    condition.lock()
    while running > 0, aligns != wanted { condition.wait() }
    if aligns != wanted {
      holo_llvm_set_branch_alignment(wanted ? 1 : 0)
      aligns = wanted
    }
    running += 1
    condition.unlock()
    defer {
      condition.lock()
      running -= 1
      if running == 0 { condition.broadcast() }
      condition.unlock()
    }
    return body()
  }
}
