import CLLVM
import HoloDevABI
import HoloIR
import HoloSource

/// What one LLVM module holds.
enum ModuleContents {
  /// Every function and what runs them: release builds, and dev assembly and IR text.
  case wholeProgram
  /// Version 0 of some functions of a dev build (in the program's order), with their slots,
  /// line-base cells and entries of the function table, and nothing else: calls to other
  /// functions go through slots the module only declares.
  case chunk([FunctionID])
  /// What a dev build needs the whole program for, without any function body: the C
  /// `main`, the test table, the program info (pointing at the function table the chunks'
  /// entries make), export wrappers and the library constructor. It refers to the chunks'
  /// functions by their version-0 symbols.
  case glue
  /// Version `version` (1 or more) of some functions, for a running dev build, with the
  /// safepoint function that adds, removes and resets `globals` when there are any.
  case patch(Set<FunctionID>, version: Int, globals: GlobalChanges)
}

/// Builds one LLVM module (`ModuleContents`): declarations, function bodies, the runtime
/// interface (runtime/include/holo.h), constants, and the C `main`.
final class ModuleEmitter {
  let program: IRProgram
  let sources: SourceManager
  let options: CodegenOptions
  let context: LLVMContextRef
  let module: LLVMModuleRef
  let builder: LLVMBuilderRef

  let voidType: LLVMTypeRef
  let boolType: LLVMTypeRef
  let i8Type: LLVMTypeRef
  let i32Type: LLVMTypeRef
  let i64Type: LLVMTypeRef
  let f32Type: LLVMTypeRef
  let f64Type: LLVMTypeRef
  let pointerType: LLVMTypeRef
  /// `holo_location`: { const char *file; int32_t line; int32_t column;
  /// const int64_t *line_base; }
  let locationType: LLVMTypeRef

  let contents: ModuleContents
  /// The functions this module defines, in the program's order. Loops over the module's
  /// own functions go through this, never through the whole program: a program of 50,000
  /// functions has hundreds of chunks.
  let definedFunctions: [IRFunction]
  /// The version number of the functions this module defines (0 outside patches).
  let version: Int
  /// LLVM functions of the holo functions this module defines.
  private(set) var functions: [FunctionID: LLVMValueRef] = [:]
  private var functionTypes: [FunctionID: LLVMTypeRef] = [:]
  private var keys: [FunctionID: String] = [:]
  /// Dev builds: the slot globals this module defines or references.
  private var slots: [FunctionID: LLVMValueRef] = [:]
  var externFunctions: [ExternID: (LLVMValueRef, CLowering)] = [:]
  /// Release builds: which parameters each function consumes (`consumedParameters(of:)`).
  var consumedParameterCache: [FunctionID: [Bool]] = [:]
  private var runtimeFunctions: [String: (LLVMValueRef, LLVMTypeRef)] = [:]
  private var stringConstants: [String: LLVMValueRef] = [:]
  private var cStringConstants: [String: LLVMValueRef] = [:]
  private var locationConstants: [Span: LLVMValueRef] = [:]
  private var programInfoGlobal: LLVMValueRef?
  /// The program's globals by their initializer's id, and the storage of those this
  /// module uses.
  private let globalsByID: [FunctionID: IRGlobal]
  private var globalStorage: [FunctionID: LLVMValueRef] = [:]
  /// `holo.initialize_globals`, in a module that defines the globals; nil without any.
  private var globalInitialization: LLVMValueRef?
  /// Per type, what arrays of it need (`Arrays.swift`): its `holo_element_type`, and its
  /// element functions.
  var elementTypes: [IRType: LLVMValueRef] = [:]
  var elementFunctions: [String: LLVMValueRef] = [:]
  /// The TBAA tags of arrays' headers and elements.
  var aliasTags: [String: LLVMValueRef] = [:]
  /// The LLVM types of the structs this module uses.
  private var structTypes: [String: LLVMTypeRef] = [:]
  /// Set while a dev function body is emitted: the block that releases what the function
  /// holds at the call being emitted and resumes the unwind, and the phi of the landing
  /// pad values it resumes with (`FunctionEmitter.cleanupBlock`), which each call's pad
  /// joins.
  var unwindDestination: (() -> (block: LLVMBasicBlockRef, landing: LLVMValueRef))?
  /// Dev builds carry DWARF line tables.
  let debugInfo: DebugInfo?

  init(
    program: IRProgram, sources: SourceManager, options: CodegenOptions, context: LLVMContextRef,
    target: TargetMachine, contents: ModuleContents
  ) {
    self.program = program
    self.contents = contents
    switch contents {
    case .wholeProgram:
      definedFunctions = Array(program.functions)
      version = 0
    case .chunk(let functions):
      definedFunctions = functions.map(program.function)
      version = 0
    case .glue:
      definedFunctions = []
      version = 0
    case .patch(let functions, let patchVersion, _):
      definedFunctions = functions.sorted().map(program.function)
      version = patchVersion
    }
    self.sources = sources
    self.options = options
    self.context = context
    globalsByID = Dictionary(
      program.globals.map { ($0.initializer, $0) }, uniquingKeysWith: { first, _ in first })
    module = LLVMModuleCreateWithNameInContext("holo", context)
    builder = LLVMCreateBuilderInContext(context)
    voidType = LLVMVoidTypeInContext(context)
    boolType = LLVMInt1TypeInContext(context)
    i8Type = LLVMInt8TypeInContext(context)
    i32Type = LLVMInt32TypeInContext(context)
    i64Type = LLVMInt64TypeInContext(context)
    f32Type = LLVMFloatTypeInContext(context)
    f64Type = LLVMDoubleTypeInContext(context)
    pointerType = LLVMPointerTypeInContext(context, 0)
    var locationFields: [LLVMTypeRef?] = [pointerType, i32Type, i32Type, pointerType]
    locationType = LLVMStructTypeInContext(context, &locationFields, 4, 0)
    target.configure(module)
    // A patch's code is linked by the agent's JIT, where no debugger reads DWARF: without
    // it the patch compiles in half the time.
    var isPatch = false
    if case .patch = contents { isPatch = true }
    debugInfo =
      options.mode == .dev && !isPatch
      ? DebugInfo(module: module, context: context, sources: sources) : nil
  }

  func dispose() {
    LLVMDisposeBuilder(builder)
    LLVMDisposeModule(module)
  }

  func verify() throws {
    var message: UnsafeMutablePointer<CChar>?
    if LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0 {
      defer { LLVMDisposeMessage(message) }
      throw CodegenError("internal error: invalid LLVM IR: \(String(cString: message!))")
    }
    LLVMDisposeMessage(message)
  }

  /// Functions with more blocks than this are not optimised, and code holding one is
  /// emitted without branch alignment: LLVM 19 takes time quadratic in a function's blocks
  /// for both (docs/DECISIONS.md). About 1,000 `else if` arms or `&&` operands.
  static let maximumOptimizedBlocks = 2_000

  /// Functions defined here whose bodies have loops, and those with neither loops nor
  /// calls (FunctionEmitter records both): what `-O0` optimises a little.
  var functionsWithLoops: Set<LLVMValueRef> = []
  var leafFunctions: Set<LLVMValueRef> = []

  /// At `-O0`, code that runs many times per call is worth a little optimisation: `-O0`
  /// code keeps every value in memory (docs/DECISIONS.md). When the module has functions
  /// with loops, marks every function but those and leaf functions (which loops call)
  /// `optnone`, and returns whether it did.
  func planLightOptimization() -> Bool {
    if functionsWithLoops.isEmpty { return false }
    var function = LLVMGetFirstFunction(module)
    while let current = function {
      if LLVMCountBasicBlocks(current) > 0, !functionsWithLoops.contains(current),
        !leafFunctions.contains(current)
      {
        addAttribute("optnone", to: current)
        addAttribute("noinline", to: current)
      }
      function = LLVMGetNextFunction(current)
    }
    return true
  }

  /// Marks the functions too large to optimise `optnone`; returns whether there was one.
  func excludeOversizedFunctionsFromOptimization() -> Bool {
    var found = false
    var function = LLVMGetFirstFunction(module)
    while let current = function {
      if LLVMCountBasicBlocks(current) > Self.maximumOptimizedBlocks {
        addAttribute("optnone", to: current)
        addAttribute("noinline", to: current)
        found = true
      }
      function = LLVMGetNextFunction(current)
    }
    return found
  }

  // MARK: Program

  func emitProgram() {
    // Only what the module defines: a patch of one function costs nothing per function of
    // the program (the types of the functions it calls are made as calls need them).
    for function in definedFunctions { declare(function) }
    for function in definedFunctions { FunctionEmitter(module: self, function: function).emit() }
    debugInfo?.finalize()
    // C entry points are part of the executable or library; patches only replace the
    // functions behind them.
    switch contents {
    case .wholeProgram, .glue: break
    case .chunk: return
    case .patch(_, _, let globals):
      if !globals.isEmpty { emitSafepointFunction(globals) }
      return
    }
    if options.mode == .dev { emitSafepointDefinitions() }
    globalInitialization = emitGlobalInitialization()
    for function in program.functions where function.isExport { emitExportWrapper(function) }
    if options.entry == .none, options.mode == .dev || globalInitialization != nil {
      emitLibraryConstructor()
    }
    switch options.entry {
    case .program:
      emitProgramMain(entry: program.entry.map(versionZero(of:)) ?? emptyEntry())
    case .tests:
      emitTestMain()
    case .none:
      break
    }
  }

  /// The symbol of a function this module defines. Release builds make holo functions
  /// internal so LLVM may inline and drop them.
  func symbol(of function: IRFunction) -> String {
    options.mode == .release
      ? Symbols.release(of: function) : DevSymbols.version(version, key: key(of: function))
  }

  /// `Symbols.key` of a function, spelled once per module: its symbol, slot and line-base
  /// cell are each named several times.
  private func key(of function: IRFunction) -> String {
    if let known = keys[function.id] { return known }
    let key = Symbols.key(of: function, in: program)
    keys[function.id] = key
    return key
  }

  /// Version 0 of a function (its release symbol in release builds): defined here, or
  /// declared, in a glue module, for the chunk that defines it.
  private func versionZero(of id: FunctionID) -> LLVMValueRef {
    if let defined = functions[id] { return defined }
    let name = symbol(of: program.function(id))
    return LLVMGetNamedFunction(module, name) ?? LLVMAddFunction(
      module, name, functionType(of: id))!
  }

  /// The LLVM type of a holo function.
  private func functionType(of id: FunctionID) -> LLVMTypeRef {
    if let known = functionTypes[id] { return known }
    let function = program.function(id)
    var parameters: [LLVMTypeRef?] = function.parameterTypes.map { llvmType($0) }
    let type = LLVMFunctionType(
      returnLLVMType(function.returnType), &parameters, UInt32(parameters.count), 0)!
    functionTypes[id] = type
    return type
  }

  private func declare(_ function: IRFunction) {
    let type = functionType(of: function.id)
    let value = LLVMAddFunction(module, symbol(of: function), type)!
    if options.mode == .release, !function.isExport {
      LLVMSetLinkage(value, LLVMInternalLinkage)
    }
    if options.mode == .dev {
      addDevFrameAttributes(to: value)
    } else {
      addAttribute("nounwind", to: value)
    }
    functions[function.id] = value
    // Version 0 of a dev-built function (a whole program's or a chunk's) comes with its
    // slot, pointing at it, and its line-base cell, holding the line where it starts now.
    if options.mode == .dev, version == 0 {
      // Patches reach it through its slot and never by name, so it stays out of the
      // executable's dynamic symbol table (a third of it; docs/DECISIONS.md).
      LLVMSetVisibility(value, LLVMHiddenVisibility)
      let slot = LLVMAddGlobal(module, pointerType, DevSymbols.slot(key: key(of: function)))!
      LLVMSetInitializer(slot, value)
      slots[function.id] = slot
      let lineBase = LLVMAddGlobal(module, i64Type, DevSymbols.lineBase(key: key(of: function)))!
      LLVMSetInitializer(
        lineBase, LLVMConstInt(i64Type, UInt64(Codegen.startLine(of: function, sources)), 0))
      LLVMSetAlignment(lineBase, 8)
    }
  }

  /// A dev-built function's line-base cell: defined with its version 0, declared by the
  /// glue and by a patch (the process or the agent defines it). Looked up by name each
  /// time, since optimisation drops declarations nothing uses any more.
  private func lineBase(of function: IRFunction) -> LLVMValueRef {
    let name = DevSymbols.lineBase(key: key(of: function))
    return LLVMGetNamedGlobal(module, name) ?? LLVMAddGlobal(module, i64Type, name)!
  }

  /// The single point where a call to a holo function is lowered: release builds call
  /// directly; dev builds load the callee's current version from its slot and call that.
  func emitCall(_ id: FunctionID, arguments: [LLVMValueRef?]) -> LLVMValueRef {
    var arguments = arguments
    let type = functionType(of: id)
    let count = UInt32(arguments.count)
    guard options.mode == .dev else {
      return LLVMBuildCall2(builder, type, functions[id], &arguments, count, "")
    }
    let target = LLVMBuildLoad2(builder, pointerType, slot(of: id), "")!
    let function = LLVMGetBasicBlockParent(LLVMGetInsertBlock(builder))
    // Guarded direct call: while the slot still holds the version this module defines,
    // call it directly so the optimiser can inline it; once patched, call through the slot.
    // Recursive calls gain nothing from it (a function is not inlined into itself).
    let slot = slot(of: id)
    guard options.optimizationLevel > 0, let known = functions[id], known != function else {
      return emitUnwindableCall(type, target, &arguments, restarting: slot)
    }
    let directBlock = LLVMAppendBasicBlockInContext(context, function, "call.direct")
    let slotBlock = LLVMAppendBasicBlockInContext(context, function, "call.slot")
    let joinBlock = LLVMAppendBasicBlockInContext(context, function, "call.join")
    let isKnown = LLVMBuildICmp(builder, LLVMIntEQ, target, known, "")
    LLVMBuildCondBr(builder, isKnown, directBlock, slotBlock)
    LLVMPositionBuilderAtEnd(builder, directBlock)
    let direct = emitUnwindableCall(type, known, &arguments, restarting: slot)
    let directEnd = LLVMGetInsertBlock(builder)
    LLVMBuildBr(builder, joinBlock)
    LLVMPositionBuilderAtEnd(builder, slotBlock)
    let indirect = emitUnwindableCall(type, target, &arguments, restarting: slot)
    let slotEnd = LLVMGetInsertBlock(builder)
    LLVMBuildBr(builder, joinBlock)
    LLVMPositionBuilderAtEnd(builder, joinBlock)
    return joinedResult(of: type, (direct, directEnd), (indirect, slotEnd))
  }

  /// The result of a call of function type `type` made on two paths that meet at the
  /// builder's block: a phi of the two (the first when the call has no value).
  private func joinedResult(
    of type: LLVMTypeRef, _ first: (LLVMValueRef, LLVMBasicBlockRef?),
    _ second: (LLVMValueRef, LLVMBasicBlockRef?)
  ) -> LLVMValueRef {
    guard LLVMGetReturnType(type) != voidType else { return first.0 }
    let phi = LLVMBuildPhi(builder, LLVMGetReturnType(type), "")!
    var values: [LLVMValueRef?] = [first.0, second.0]
    var blocks: [LLVMBasicBlockRef?] = [first.1, second.1]
    LLVMAddIncoming(phi, &values, &blocks, 2)
    return phi
  }

  /// A call; in the body of dev code with restartable frames, an `invoke` whose unwind
  /// edge runs the function's cleanups (`unwindDestination`): a frame restart unwinds the
  /// stack through every call that can reach a safepoint (docs/PATCHING.md, "Frame
  /// restarts"). A call
  /// through `restarting`, a slot, is where a restarted frame starts again: its landing
  /// pad asks the runtime whether the frame it unwound is the one to restart
  /// (`holo_dev_restart_claim`) and, if so, calls the slot's current version with the
  /// same arguments and goes on as after the call.
  func emitUnwindableCall(
    _ type: LLVMTypeRef, _ callee: LLVMValueRef, _ arguments: inout [LLVMValueRef?],
    restarting slot: LLVMValueRef? = nil
  ) -> LLVMValueRef {
    let count = UInt32(arguments.count)
    guard let unwindDestination else {
      return LLVMBuildCall2(builder, type, callee, &arguments, count, "")
    }
    let function = LLVMGetBasicBlockParent(LLVMGetInsertBlock(builder))!
    let (cleanup, padValues) = unwindDestination()
    let pad = LLVMAppendBasicBlockInContext(context, function, "unwind.call")!
    // A restartable call's normal destination is where its result and a restarted call's
    // meet: no block between them, which -O0 code would pay for at every call.
    let normal = LLVMAppendBasicBlockInContext(
      context, function, slot == nil ? "call.done" : "call.merge")!
    let callBlock = LLVMGetInsertBlock(builder)
    let call = LLVMBuildInvoke2(builder, type, callee, &arguments, count, normal, pad, "")!
    let padBuilder = LLVMCreateBuilderInContext(context)!
    defer { LLVMDisposeBuilder(padBuilder) }
    LLVMPositionBuilderAtEnd(padBuilder, pad)
    LLVMSetCurrentDebugLocation2(padBuilder, LLVMGetCurrentDebugLocation2(builder))
    let landing = LLVMBuildLandingPad(padBuilder, landingPadType, nil, 0, "")!
    LLVMSetCleanup(landing, 1)
    LLVMSetPersonalityFn(function, cleanupPersonality)
    var incoming: [LLVMValueRef?] = [landing]
    var from: [LLVMBasicBlockRef?] = [pad]
    LLVMAddIncoming(padValues, &incoming, &from, 1)
    guard let slot else {
      LLVMBuildBr(padBuilder, cleanup)
      LLVMPositionBuilderAtEnd(builder, normal)
      return call
    }
    let again = LLVMAppendBasicBlockInContext(context, function, "restart.call")!
    var frameArguments: [LLVMValueRef?] = [LLVMConstInt(i32Type, 0, 0)]
    let frame = LLVMBuildCall2(
      padBuilder, frameAddressType, frameAddress, &frameArguments, 1, "")
    var claimArguments: [LLVMValueRef?] = [frame]
    let claimed = LLVMBuildCall2(
      padBuilder, restartClaimType, restartClaim, &claimArguments, 1, "")
    LLVMBuildCondBr(padBuilder, claimed, again, cleanup)
    // Restarted: the callee's current version, from the top, with the same arguments.
    LLVMPositionBuilderAtEnd(padBuilder, again)
    let target = LLVMBuildLoad2(padBuilder, pointerType, slot, "")!
    let restarted = LLVMBuildInvoke2(
      padBuilder, type, target, &arguments, count, normal, pad, "")!
    LLVMPositionBuilderAtEnd(builder, normal)
    return joinedResult(of: type, (call, callBlock), (restarted, again))
  }

  /// `{ ptr, i32 }`: what a landing pad receives.
  var landingPadType: LLVMTypeRef {
    var fields: [LLVMTypeRef?] = [pointerType, i32Type]
    return LLVMStructTypeInContext(context, &fields, 2, 0)
  }

  private var frameAddressType: LLVMTypeRef {
    var parameters: [LLVMTypeRef?] = [i32Type]
    return LLVMFunctionType(pointerType, &parameters, 1, 0)
  }

  private var frameAddress: LLVMValueRef {
    LLVMGetNamedFunction(module, "llvm.frameaddress.p0")
      ?? LLVMAddFunction(module, "llvm.frameaddress.p0", frameAddressType)!
  }

  private var restartClaimType: LLVMTypeRef {
    var parameters: [LLVMTypeRef?] = [pointerType]
    return LLVMFunctionType(boolType, &parameters, 1, 0)
  }

  /// The runtime's `bool holo_dev_restart_claim(void *frame)` (DevABI.FrameRestart).
  private var restartClaim: LLVMValueRef {
    if let known = LLVMGetNamedFunction(module, DevABI.FrameRestart.claim) { return known }
    let function = LLVMAddFunction(module, DevABI.FrameRestart.claim, restartClaimType)!
    addAttribute("nounwind", to: function)
    addAttribute("zeroext", to: function, index: 0)
    return function
  }

  /// A dev function keeps frame pointers, so stacks can be walked (debuggers, the patch
  /// agent) and a frame restart finds the caller that claims it by its frame address, and
  /// has unwind tables, so a frame restart can unwind it (`emitUnwindableCall`).
  func addDevFrameAttributes(to function: LLVMValueRef) {
    let attribute = LLVMCreateStringAttribute(context, "frame-pointer", 13, "all", 3)
    LLVMAddAttributeAtIndex(function, Self.functionAttributeIndex, attribute)
    addUnwindTable(to: function)
  }

  /// Asynchronous unwind tables for `function`: a frame restart can unwind through it.
  private func addUnwindTable(to function: LLVMValueRef) {
    let kind = LLVMGetEnumAttributeKindForName("uwtable", 7)
    // 2: asynchronous tables, valid at every instruction.
    LLVMAddAttributeAtIndex(
      function, Self.functionAttributeIndex, LLVMCreateEnumAttribute(context, kind, 2))
  }

  /// `__gcc_personality_v0` (libgcc's, which C's cleanups use): runs a landing pad's
  /// cleanup when a forced unwind passes the frame. A patch calls it from a function of
  /// its own: an object's unwind information reaches its personality through a weak cell
  /// named after it (`DW.ref.NAME`), and the JIT resolves every later patch's to the
  /// first patch's cell, which is freed with that patch. A cell named after the patch
  /// lives and dies with the patch.
  var cleanupPersonality: LLVMValueRef {
    var parameters: [LLVMTypeRef?] = [i32Type, i32Type, i64Type, pointerType, pointerType]
    let type = LLVMFunctionType(i32Type, &parameters, 5, 0)!
    let libgcc = "__gcc_personality_v0"
    let personality =
      LLVMGetNamedFunction(module, libgcc) ?? LLVMAddFunction(module, libgcc, type)!
    guard case .patch(_, let version, _) = contents else { return personality }
    let name = Symbols.personality(ofPatch: version)
    if let known = LLVMGetNamedFunction(module, name) { return known }
    let function = LLVMAddFunction(module, name, type)!
    LLVMSetLinkage(function, LLVMInternalLinkage)
    addAttribute("nounwind", to: function)
    let forwarder = LLVMCreateBuilderInContext(context)!
    defer { LLVMDisposeBuilder(forwarder) }
    LLVMPositionBuilderAtEnd(forwarder, LLVMAppendBasicBlockInContext(context, function, "entry"))
    var arguments = (0..<5).map { LLVMGetParam(function, $0) }
    let result = LLVMBuildCall2(forwarder, type, personality, &arguments, 5, "")!
    LLVMSetTailCallKind(result, LLVMTailCallKindMustTail)
    LLVMBuildRet(forwarder, result)
    return function
  }

  /// A function's slot: defined with its version 0, declared by other chunks, the glue
  /// and patches (the process or the agent defines it).
  private func slot(of id: FunctionID) -> LLVMValueRef {
    if let known = slots[id] { return known }
    let slot = LLVMAddGlobal(
      module, pointerType, DevSymbols.slot(key: key(of: program.function(id))))!
    slots[id] = slot
    return slot
  }

  /// The slot updates a patch module makes: each defined function's slot now points at
  /// the version this module defines.
  var slotUpdates: [(slot: String, function: String)] {
    definedFunctions.map { (DevSymbols.slot(key: key(of: $0)), symbol(of: $0)) }
  }

  /// Every slot the module references.
  var referencedSlots: [String] {
    slots.keys.sorted().map { DevSymbols.slot(key: key(of: program.function($0))) }
  }

  // MARK: Globals

  /// A global's storage: defined, holding its zero value, by the module with the program's
  /// entry points (a whole program, a dev build's glue), so in a dev build by the
  /// executable, which exports it like a slot; declared by chunks and patches.
  func storage(ofGlobal id: FunctionID) -> LLVMValueRef {
    if let known = globalStorage[id] { return known }
    let global = globalsByID[id]!
    let storage = LLVMAddGlobal(module, llvmType(global.type), Symbols.global(global, in: program))!
    LLVMSetAlignment(storage, storageAlignment(of: global.type))
    switch contents {
    case .wholeProgram, .glue:
      LLVMSetInitializer(storage, zeroValue(of: global.type))
      if options.mode == .release { LLVMSetLinkage(storage, LLVMInternalLinkage) }
    case .chunk, .patch:
      break
    }
    globalStorage[id] = storage
    return storage
  }

  /// A type's zero value (LANGUAGE.md §2) as a constant: a struct's fields hold their
  /// defaults (those `constant(_:)` can make: literals, negated numbers, `[]` and struct
  /// literals of them; docs/DECISIONS.md) or their zero values.
  func zeroValue(of type: IRType) -> LLVMValueRef {
    switch type {
    case .string: return stringConstant("")
    case .array: return emptyArray
    case .structure(let name):
      var fields: [LLVMValueRef?] = program.structure(named: name).fields.map { field in
        field.defaultValue.flatMap(constant) ?? zeroValue(of: field.type)
      }
      return LLVMConstNamedStruct(llvmType(type), &fields, UInt32(fields.count))
    default: return LLVMConstNull(llvmType(type))
    }
  }

  /// `expression` as an LLVM constant, when it is one of the forms `zeroValue` takes.
  private func constant(_ expression: IRExpr) -> LLVMValueRef? {
    let type = expression.type
    switch expression.kind {
    case .integerConstant(let value): return LLVMConstInt(llvmType(type), value, 0)
    case .floatConstant(let value): return LLVMConstReal(llvmType(type), value)
    case .boolConstant(let value): return LLVMConstInt(boolType, value ? 1 : 0, 0)
    case .stringConstant(let text): return stringConstant(text)
    case .arrayLiteral(let elements) where elements.isEmpty: return emptyArray
    case .unary(.negate, let operand):
      switch operand.kind {
      case .integerConstant(let value): return LLVMConstInt(llvmType(type), 0 &- value, 0)
      case .floatConstant(let value): return LLVMConstReal(llvmType(type), -value)
      default: return nil
      }
    case .structLiteral(let fieldExpressions):
      var fields: [LLVMValueRef?] = []
      for field in fieldExpressions {
        guard let value = constant(field) else { return nil }
        fields.append(value)
      }
      return LLVMConstNamedStruct(llvmType(type), &fields, UInt32(fields.count))
    default: return nil
    }
  }

  /// `holo.initialize_globals`: runs each global's initializer, in order, and stores its
  /// value. The runtime calls it before the entry point and before each test (in the test's
  /// own process); a library's constructor calls it. In dev builds it calls the
  /// initializers through their slots, so a patched test process runs their current code.
  private func emitGlobalInitialization() -> LLVMValueRef? {
    guard !program.globals.isEmpty else { return nil }
    let type = LLVMFunctionType(voidType, nil, 0, 0)
    let function = LLVMAddFunction(module, "holo.initialize_globals", type)!
    // Not internal: nothing refers to it until the program info is filled in, after
    // optimisation, which would drop an internal function. Hidden keeps it in the object.
    LLVMSetVisibility(function, LLVMHiddenVisibility)
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, function, "entry"))
    for global in program.globals {
      let value = emitCall(global.initializer, arguments: [])
      storeOwned(value, of: global.type, into: storage(ofGlobal: global.initializer))
    }
    LLVMBuildRetVoid(builder)
    return function
  }

  /// `holo.safepoint#N`: what a patch that adds or removes globals runs on the main
  /// thread at its safepoint, after its slot updates (docs/PATCHING.md, "Globals"). It
  /// runs the initializers of the added globals, in the program's order, through their
  /// slots (so with the patch's code), storing into the agent's zeroed storage without
  /// releasing anything; then it releases each removed global's value and leaves the
  /// immortal zero value in its place, which frames of old code may still read and a
  /// later patch adding the global again overwrites; then it runs the initializers of the
  /// globals to reset and stores their values, releasing the ones they replace.
  private func emitSafepointFunction(_ globals: GlobalChanges) {
    let type = LLVMFunctionType(voidType, nil, 0, 0)
    let function = LLVMAddFunction(module, Symbols.safepointFunction(ofPatch: version), type)!
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, function, "entry"))
    // Before any new code runs: an added global's initializer may read a migrated one.
    if !globals.migrated.isEmpty {
      MigrationEmitter(module: self, changes: globals).emitMigrations(in: function)
    }
    for global in globals.added {
      let value = emitCall(global.initializer, arguments: [])
      LLVMBuildStore(builder, value, storage(ofGlobal: global.initializer))
    }
    for global in globals.removed {
      let storage =
        LLVMGetNamedGlobal(module, global.symbol)
        ?? LLVMAddGlobal(module, llvmType(global.type), global.symbol)!
      storeOwned(immortalZeroValue(of: global.type), of: global.type, into: storage)
    }
    for global in globals.reset {
      let value = emitCall(global.initializer, arguments: [])
      storeOwned(value, of: global.type, into: storage(ofGlobal: global.initializer))
    }
    LLVMBuildRetVoid(builder)
  }

  /// A type's zero value made of immortal values that are the runtime's, not this
  /// module's (`holo_empty_string`, `holo_empty_array`): a patch may leave it in a global
  /// and be freed. Struct fields take their zero values, not their defaults.
  func immortalZeroValue(of type: IRType) -> LLVMValueRef {
    switch type {
    case .string:
      return LLVMGetNamedGlobal(module, "holo_empty_string")
        ?? LLVMAddGlobal(module, i64Type, "holo_empty_string")!
    case .array: return emptyArray
    case .structure(let name):
      var fields: [LLVMValueRef?] = program.structure(named: name).fields.map {
        immortalZeroValue(of: $0.type)
      }
      return LLVMConstNamedStruct(llvmType(type), &fields, UInt32(fields.count))
    default: return LLVMConstNull(llvmType(type))
    }
  }

  /// Dev builds: a cooperative safepoint (docs/PATCHING.md, "Safepoints"), at every
  /// loop's head and at the C entry point of every `export fn`. Reads the
  /// glue's `holo.safepoint.requested` and, when the patch agent raised it, calls
  /// `holo.safepoint.poll`, where the agent runs what must run on the main thread.
  func emitSafepointPoll() {
    guard options.mode == .dev else { return }
    let requested = LLVMBuildLoad2(builder, i32Type, safepointFlag, "safepoint.requested")!
    LLVMSetOrdering(requested, LLVMAtomicOrderingMonotonic)
    LLVMSetAlignment(requested, 4)
    let function = LLVMGetBasicBlockParent(LLVMGetInsertBlock(builder))
    let pollBlock = LLVMAppendBasicBlockInContext(context, function, "safepoint")
    let continueBlock = LLVMAppendBasicBlockInContext(context, function, "safepoint.done")
    LLVMBuildCondBr(
      builder, LLVMBuildICmp(builder, LLVMIntNE, requested, LLVMConstInt(i32Type, 0, 0), ""),
      pollBlock, continueBlock)
    LLVMPositionBuilderAtEnd(builder, pollBlock)
    var none: [LLVMValueRef?] = []
    _ = emitUnwindableCall(LLVMFunctionType(voidType, nil, 0, 0), safepointPoll, &none)
    LLVMBuildBr(builder, continueBlock)
    LLVMPositionBuilderAtEnd(builder, continueBlock)
  }

  private var safepointFlag: LLVMValueRef {
    LLVMGetNamedGlobal(module, DevSymbols.safepointRequested)
      ?? LLVMAddGlobal(module, i32Type, DevSymbols.safepointRequested)!
  }

  /// `holo.safepoint.poll`, declared `cold` (the optimiser moves the path to it aside).
  private var safepointPoll: LLVMValueRef {
    if let known = LLVMGetNamedFunction(module, DevSymbols.safepointPoll) { return known }
    let poll = LLVMAddFunction(
      module, DevSymbols.safepointPoll, LLVMFunctionType(voidType, nil, 0, 0))!
    addAttribute("cold", to: poll)
    // A frame restart unwinds from inside the poll (through the agent's handler).
    addUnwindTable(to: poll)
    return poll
  }

  /// A dev build's glue defines what its code polls, so that every dev executable and
  /// library has it whether or not it carries the agent, and release builds have none of
  /// it: the flag, the handler pointer (null until an agent sets it) and the poll, which
  /// runs the handler.
  private func emitSafepointDefinitions() {
    LLVMSetInitializer(safepointFlag, LLVMConstInt(i32Type, 0, 0))
    let handler = LLVMAddGlobal(module, pointerType, DevSymbols.safepointHandler)!
    LLVMSetInitializer(handler, LLVMConstNull(pointerType))
    let poll = safepointPoll
    let type = LLVMFunctionType(voidType, nil, 0, 0)
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, poll, "entry"))
    let call = LLVMAppendBasicBlockInContext(context, poll, "call")!
    let done = LLVMAppendBasicBlockInContext(context, poll, "done")!
    let target = LLVMBuildLoad2(builder, pointerType, handler, "")!
    LLVMSetOrdering(target, LLVMAtomicOrderingMonotonic)
    LLVMBuildCondBr(builder, LLVMBuildIsNotNull(builder, target, ""), call, done)
    LLVMPositionBuilderAtEnd(builder, call)
    LLVMBuildCall2(builder, type, target, nil, 0, "")
    LLVMBuildBr(builder, done)
    LLVMPositionBuilderAtEnd(builder, done)
    LLVMBuildRetVoid(builder)
  }

  /// Stores `value`, owned, into `storage`, releasing the value it replaces.
  func storeOwned(_ value: LLVMValueRef, of type: IRType, into storage: LLVMValueRef) {
    guard isManaged(type) else {
      LLVMBuildStore(builder, value, storage)
      return
    }
    let old = LLVMBuildLoad2(builder, llvmType(type), storage, "")!
    LLVMBuildStore(builder, value, storage)
    emitRelease(old, of: type)
  }

  /// A library has no `holo_main`, so a constructor does its part when the C host starts:
  /// in a dev build it ties the host's life to `holoc dev`'s and starts the patch agent (on
  /// the main thread, as the agent's safepoints need); it initialises the globals.
  private func emitLibraryConstructor() {
    let type = LLVMFunctionType(voidType, nil, 0, 0)!
    let constructor = LLVMAddFunction(module, "holo.start_library", type)!
    LLVMSetLinkage(constructor, LLVMInternalLinkage)
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, constructor, "entry"))
    if options.mode == .dev {
      _ = callRuntime("holo_die_with_parent", [])
      LLVMBuildCall2(builder, type, agentStart(), nil, 0, "")
    }
    if let globalInitialization {
      LLVMBuildCall2(builder, type, globalInitialization, nil, 0, "")
    }
    LLVMBuildRetVoid(builder)
    var fields: [LLVMTypeRef?] = [i32Type, pointerType, pointerType]
    let entryType = LLVMStructTypeInContext(context, &fields, 3, 0)!
    var entry: [LLVMValueRef?] = [
      LLVMConstInt(i32Type, 65535, 0), constructor, LLVMConstNull(pointerType),
    ]
    var entries: [LLVMValueRef?] = [LLVMConstStructInContext(context, &entry, 3, 0)]
    let table = LLVMConstArray2(entryType, &entries, 1)!
    let global = LLVMAddGlobal(module, LLVMTypeOf(table), "llvm.global_ctors")!
    LLVMSetInitializer(global, table)
    LLVMSetLinkage(global, LLVMAppendingLinkage)
  }

  /// The patch agent's entry point, `void holo_agent_start(void)`: a reference to it is what
  /// links the agent into a dev program or library.
  private func agentStart() -> LLVMValueRef {
    if let known = LLVMGetNamedFunction(module, "holo_agent_start") { return known }
    return LLVMAddFunction(module, "holo_agent_start", LLVMFunctionType(voidType, nil, 0, 0))!
  }

  /// The entry of a program with neither `fn main` nor top-level statements: it does nothing.
  private func emptyEntry() -> LLVMValueRef {
    let type = LLVMFunctionType(voidType, nil, 0, 0)
    let function = LLVMAddFunction(module, "holo.main", type)!
    LLVMSetLinkage(function, LLVMInternalLinkage)
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, function, "entry"))
    LLVMBuildRetVoid(builder)
    return function
  }

  private func emitProgramMain(entry: LLVMValueRef) {
    let main = addCMain()
    let status = callRuntime(
      "holo_main",
      [LLVMGetParam(main, 0), LLVMGetParam(main, 1), entry, programInfo()])
    LLVMBuildRet(builder, status)
  }

  private func emitTestMain() {
    var entries: [LLVMValueRef?] = []
    for id in program.tests {
      let function = program.function(id)
      // A dev test is called through its slot, so a patched test process runs its
      // current version.
      var fields: [LLVMValueRef?] = [
        cString(function.name), versionZero(of: id), location(function.span, in: function),
        options.mode == .dev ? slot(of: id) : LLVMConstNull(pointerType),
      ]
      entries.append(LLVMConstStructInContext(context, &fields, 4, 0))
    }
    let table = constantArray(
      of: entries, elementFields: [pointerType, pointerType, locationType, pointerType],
      name: "holo.tests")
    let main = addCMain()
    let status = callRuntime(
      "holo_test_main",
      [
        LLVMGetParam(main, 0), LLVMGetParam(main, 1), table,
        LLVMConstInt(i64Type, UInt64(entries.count), 0), programInfo(),
      ])
    LLVMBuildRet(builder, status)
  }

  private func addCMain() -> LLVMValueRef {
    var parameters: [LLVMTypeRef?] = [i32Type, pointerType]
    let type = LLVMFunctionType(i32Type, &parameters, 2, 0)
    let main = LLVMAddFunction(module, "main", type)!
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, main, "entry"))
    return main
  }

  /// `holo_program_info`: every function's address, name and location, so the runtime can
  /// name the function in which a stack overflow happened, in a dev program the patch
  /// agent's entry point, and the bounds of the functions' code. Until `finishProgramInfo`
  /// runs (after optimisation) it is only a declaration: taking the functions' addresses
  /// earlier would stop LLVM from optimising their calling convention.
  private func programInfo() -> LLVMValueRef {
    if let global = programInfoGlobal { return global }
    var fields: [LLVMTypeRef?] = [
      pointerType, i64Type, pointerType, pointerType, pointerType, pointerType, pointerType,
    ]
    let type = LLVMStructTypeInContext(context, &fields, 7, 0)
    let global = LLVMAddGlobal(module, type, "holo.program")!
    programInfoGlobal = global
    return global
  }

  /// Fills in the program info with the functions that survived optimisation, gives a
  /// chunk its part of the program's function table, and a patch the function table of
  /// its own functions. A chunk does both whatever the entry, so one chunk object serves
  /// programs, tests and libraries alike.
  func finishProgramInfo() {
    // Optimisation may have merged or deleted the constants these caches point to.
    stringConstants.removeAll()
    cStringConstants.removeAll()
    locationConstants.removeAll()
    switch contents {
    case .wholeProgram:
      guard let global = programInfoGlobal else { return }
      placeInCodeSection()
      let (table, count) = functionTable()
      setProgramInfo(global, functions: table, count: count)
    case .glue:
      // Every function is in the table the chunks' parts make (dev functions are never
      // dropped: none is internal).
      guard let global = programInfoGlobal else { return }
      setProgramInfo(
        global, functions: sectionBound("__start_\(Self.functionTableSection)"),
        count: LLVMConstInt(i64Type, UInt64(program.functions.count), 0))
    case .chunk:
      placeInCodeSection()
      let (table, _) = functionTable()
      // Aligned exactly to its entries' 8 bytes (LLVM would align a large array to 16), so
      // the linker lays the parts of all chunks end to end, one array. Nothing in the
      // chunk refers to it: the glue reaches it through the section's start.
      LLVMSetSection(table, Self.functionTableSection)
      LLVMSetAlignment(table, 8)
    case .patch:
      if !definedFunctions.isEmpty { emitPatchFunctionTable() }
    }
  }

  /// Makes `global` the program info: the function table `functions` of `count` entries,
  /// the agent's entry point in a dev program, the bounds of the holo code, and what
  /// initialises the globals.
  private func setProgramInfo(_ global: LLVMValueRef, functions: LLVMValueRef, count: LLVMValueRef)
  {
    let startAgent = options.startsAgent ? agentStart() : LLVMConstNull(pointerType)
    // A dev program's entry is called through its slot: a frame restart calls it again,
    // and must find its current version.
    let entrySlot =
      options.mode == .dev && options.entry == .program ? program.entry.map(slot(of:)) : nil
    var fields: [LLVMValueRef?] = [
      functions, count, startAgent, sectionBound("__start_\(Self.codeSection)"),
      sectionBound("__stop_\(Self.codeSection)"),
      globalInitialization ?? LLVMConstNull(pointerType), entrySlot ?? LLVMConstNull(pointerType),
    ]
    LLVMSetInitializer(global, LLVMConstStructInContext(context, &fields, 7, 0))
    LLVMSetGlobalConstant(global, 1)
    LLVMSetLinkage(global, LLVMPrivateLinkage)
  }

  /// The section where each chunk of a dev build puts the `holo_function_info` entries of
  /// its functions: linked together, the program's function table, whose start the glue's
  /// program info names.
  static let functionTableSection = "holo_functions"

  /// The section holding the holo functions of an executable, so that the runtime can tell
  /// their code from the runtime's, C's and libc's in the same program (holo.h).
  static let codeSection = "holo_code"

  /// Moves every holo function this module defines into `codeSection`.
  private func placeInCodeSection() {
    for function in definedFunctions {
      guard let value = LLVMGetNamedFunction(module, symbol(of: function)) else { continue }
      LLVMSetSection(value, Self.codeSection)
    }
  }

  /// A bound of a section, which the linker defines when the section exists; a weak
  /// reference, null without any holo function.
  private func sectionBound(_ name: String) -> LLVMValueRef {
    let bound = LLVMAddGlobal(module, i8Type, name)!
    LLVMSetLinkage(bound, LLVMExternalWeakLinkage)
    LLVMSetVisibility(bound, LLVMHiddenVisibility)
    return bound
  }

  /// `holo_function_table` `holo.functions#N` of patch N: the agent registers it with the
  /// runtime, so a stack overflow in the patch's code names its function as one in the
  /// executable's code does.
  private func emitPatchFunctionTable() {
    let (table, count) = functionTable()
    var fields: [LLVMValueRef?] = [table, count]
    let value = LLVMConstStructInContext(context, &fields, 2, 0)!
    let global = LLVMAddGlobal(module, LLVMTypeOf(value), Symbols.functionTable(ofPatch: version))!
    LLVMSetInitializer(global, value)
    LLVMSetGlobalConstant(global, 1)
  }

  /// The `holo_function_info` array of the functions this module defines (that survived
  /// optimisation), and their count.
  private func functionTable() -> (table: LLVMValueRef, count: LLVMValueRef) {
    var entries: [LLVMValueRef?] = []
    for function in definedFunctions {
      guard let value = LLVMGetNamedFunction(module, symbol(of: function)) else { continue }
      var fields: [LLVMValueRef?] = [
        value, cString(function.name), location(function.span, in: function),
      ]
      entries.append(LLVMConstStructInContext(context, &fields, 3, 0))
    }
    let table = constantArray(
      of: entries, elementFields: [pointerType, pointerType, locationType], name: "holo.functions")
    return (table, LLVMConstInt(i64Type, UInt64(entries.count), 0))
  }

  private func constantArray(
    of entries: [LLVMValueRef?], elementFields: [LLVMTypeRef], name: String
  ) -> LLVMValueRef {
    var fields: [LLVMTypeRef?] = elementFields
    let elementType = LLVMStructTypeInContext(context, &fields, UInt32(fields.count), 0)
    var entries = entries
    let array = LLVMConstArray2(elementType, &entries, UInt64(entries.count))!
    return globalConstant(array, name: name)
  }

  private func globalConstant(_ value: LLVMValueRef, name: String) -> LLVMValueRef {
    let global = LLVMAddGlobal(module, LLVMTypeOf(value), name)!
    LLVMSetInitializer(global, value)
    LLVMSetGlobalConstant(global, 1)
    LLVMSetLinkage(global, LLVMPrivateLinkage)
    return global
  }

  // MARK: Types

  /// The LLVM type of a value; unit and never values have none.
  func llvmType(_ type: IRType) -> LLVMTypeRef {
    switch type {
    case .bool: return boolType
    case .u8: return i8Type
    case .i32, .u32: return i32Type
    case .i64, .u64: return i64Type
    case .f32: return f32Type
    case .f64: return f64Type
    case .string, .array: return pointerType
    case .structure(let name):
      if let known = structTypes[name] { return known }
      // Named, so a module refers to its layout once (and IR text reads as the program).
      let type = LLVMStructCreateNamed(context, "holo.struct.\(name)")!
      structTypes[name] = type
      var fields: [LLVMTypeRef?] = program.structure(named: name).fields.map { llvmType($0.type) }
      LLVMStructSetBody(type, &fields, UInt32(fields.count), 0)
      return type
    case .unit, .never: return i8Type
    }
  }

  func returnLLVMType(_ type: IRType) -> LLVMTypeRef {
    type == .unit || type == .never ? voidType : llvmType(type)
  }

  static func hasValue(_ type: IRType) -> Bool { type != .unit && type != .never }

  // MARK: Constants

  /// The UTF-8 bytes of `text` and a NUL, as an LLVM array constant.
  private func nulTerminatedBytes(_ text: String) -> LLVMValueRef {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) {
        LLVMConstStringInContext2(context, $0.baseAddress, bytes.count, 0)!
      }
    }
  }

  /// An immortal `holo_string` constant (refcount -1), shared by equal literals.
  func stringConstant(_ text: String) -> LLVMValueRef {
    if let known = stringConstants[text] { return known }
    var fields: [LLVMValueRef?] = [
      LLVMConstInt(i64Type, UInt64(bitPattern: -1), 1),
      LLVMConstInt(i64Type, UInt64(text.utf8.count), 0), nulTerminatedBytes(text),
    ]
    let value = LLVMConstStructInContext(context, &fields, 3, 0)!
    let global = globalConstant(value, name: "holo.str")
    LLVMSetUnnamedAddress(global, LLVMGlobalUnnamedAddr)
    LLVMSetAlignment(global, 8)
    stringConstants[text] = global
    return global
  }

  func cString(_ text: String) -> LLVMValueRef {
    if let known = cStringConstants[text] { return known }
    let global = globalConstant(nulTerminatedBytes(text), name: "holo.cstr")
    LLVMSetUnnamedAddress(global, LLVMGlobalUnnamedAddr)
    cStringConstants[text] = global
    return global
  }

  /// A `holo_location` constant for the start of `span`, inside `function`. Dev builds make
  /// the line relative to the function's start and point at its line-base cell, so code
  /// that only moved in its file needs no new version (docs/PATCHING.md); release builds
  /// keep the line and a null cell.
  func location(_ span: Span, in function: IRFunction) -> LLVMValueRef {
    if let known = locationConstants[span] { return known }
    let file = sources.file(span.file)
    let position = file.location(of: span.start)
    var line = position.line
    var lineBase = LLVMConstNull(pointerType)
    if options.mode == .dev {
      line -= Codegen.startLine(of: function, sources)
      lineBase = self.lineBase(of: function)
    }
    var fields: [LLVMValueRef?] = [
      cString(file.path), LLVMConstInt(i32Type, UInt64(bitPattern: Int64(line)), 1),
      LLVMConstInt(i32Type, UInt64(position.column), 0), lineBase,
    ]
    let value = LLVMConstStructInContext(context, &fields, 4, 0)!
    locationConstants[span] = value
    return value
  }

  /// A pointer to a global `holo_location`, as the runtime's failure functions take.
  func locationPointer(_ span: Span, in function: IRFunction) -> LLVMValueRef {
    let global = globalConstant(location(span, in: function), name: "holo.loc")
    LLVMSetUnnamedAddress(global, LLVMGlobalUnnamedAddr)
    return global
  }

  // MARK: Runtime

  /// Runtime functions that wait (for input, for time) and run the patch agent's
  /// safepoints meanwhile.
  static let waitingRuntimeFunctions: Set<String> = [
    "holo_read_line", "holo_stdin_eof", "holo_sleep_ms",
  ]

  /// Calls a runtime function declared in holo.h.
  @discardableResult
  func callRuntime(
    _ name: String, _ arguments: [LLVMValueRef?], on builder: LLVMBuilderRef? = nil
  ) -> LLVMValueRef {
    let (function, type) = runtimeFunction(name)
    var arguments = arguments
    if builder == nil, Self.waitingRuntimeFunctions.contains(name) {
      return emitUnwindableCall(type, function, &arguments)
    }
    return LLVMBuildCall2(
      builder ?? self.builder, type, function, &arguments, UInt32(arguments.count), "")
  }

  private func runtimeFunction(_ name: String) -> (LLVMValueRef, LLVMTypeRef) {
    if let known = runtimeFunctions[name] { return known }
    let (result, parameters, noReturn) = runtimeSignature(name)
    var parameterTypes: [LLVMTypeRef?] = parameters
    let type = LLVMFunctionType(result, &parameterTypes, UInt32(parameters.count), 0)!
    let function = LLVMAddFunction(module, name, type)!
    // What waits may reach a safepoint, where a frame restart unwinds the stack from.
    if !(options.restartableFrames && Self.waitingRuntimeFunctions.contains(name)) {
      addAttribute("nounwind", to: function)
    }
    if noReturn {
      addAttribute("noreturn", to: function)
      addAttribute("cold", to: function)
    }
    for (index, parameter) in parameters.enumerated() where parameter == boolType {
      addAttribute("zeroext", to: function, index: UInt32(index + 1))
    }
    if result == boolType { addAttribute("zeroext", to: function, index: 0) }
    runtimeFunctions[name] = (function, type)
    return (function, type)
  }

  private func runtimeSignature(_ name: String) -> (LLVMTypeRef, [LLVMTypeRef], Bool) {
    let pointer = pointerType
    switch name {
    case "holo_string_retain", "holo_string_release", "holo_print_string",
      "holo_builder_append_string":
      return name.hasPrefix("holo_builder")
        ? (voidType, [pointer, pointer], false) : (voidType, [pointer], false)
    case "holo_string_len": return (i64Type, [pointer], false)
    case "holo_string_slice": return (pointer, [pointer, i64Type, i64Type, pointer], false)
    case "holo_parse_i64": return (i64Type, [pointer, pointer], false)
    case "holo_parse_f64": return (f64Type, [pointer, pointer], false)
    case "holo_string_from_bytes": return (pointer, [pointer, i64Type], false)
    case "holo_string_equal": return (boolType, [pointer, pointer], false)
    case "holo_builder_new": return (pointer, [], false)
    case "holo_builder_append_bytes": return (voidType, [pointer, pointer, i64Type], false)
    case "holo_builder_append_i64", "holo_builder_append_u64":
      return (voidType, [pointer, i64Type], false)
    case "holo_builder_append_f64": return (voidType, [pointer, f64Type], false)
    case "holo_builder_append_f32": return (voidType, [pointer, f32Type], false)
    case "holo_builder_append_bool": return (voidType, [pointer, boolType], false)
    case "holo_builder_finish": return (pointer, [pointer], false)
    case "holo_print_i64", "holo_print_u64": return (voidType, [i64Type], false)
    case "holo_print_f64": return (voidType, [f64Type], false)
    case "holo_print_f32": return (voidType, [f32Type], false)
    case "holo_print_bool": return (voidType, [boolType], false)
    case "holo_print_newline", "holo_flush", "holo_die_with_parent": return (voidType, [], false)
    case "holo_read_line": return (pointer, [], false)
    case "holo_stdin_eof": return (boolType, [], false)
    case "holo_now_ms": return (i64Type, [], false)
    case "holo_sleep_ms": return (voidType, [i64Type], false)
    case "holo_exit": return (voidType, [i32Type], true)
    case "holo_fail", "holo_fail_string": return (voidType, [pointer, pointer], true)
    case "holo_array_alloc": return (pointer, [i64Type, pointer], false)
    case "holo_array_repeat": return (pointer, [pointer, i64Type, pointer, pointer], false)
    case "holo_array_retain": return (voidType, [pointer], false)
    case "holo_array_release", "holo_builder_append_quoted":
      return (voidType, [pointer, pointer], false)
    case "holo_array_unique", "holo_array_clear": return (pointer, [pointer, pointer], false)
    case "holo_array_push": return (pointer, [pointer, pointer, pointer], false)
    case "holo_array_pop": return (pointer, [pointer, pointer, pointer, pointer], false)
    case "holo_array_insert", "holo_array_remove":
      return (pointer, [pointer, i64Type, pointer, pointer, pointer], false)
    case "holo_fail_index": return (voidType, [i64Type, i64Type, pointer], true)
    case "holo_array_equal": return (boolType, [pointer, pointer, pointer, pointer], false)
    case "holo_builder_append_array":
      return (voidType, [pointer, pointer, pointer, pointer], false)
    case "holo_args": return (pointer, [], false)
    case "holo_string_bytes": return (pointer, [pointer], false)
    case "holo_string_from_byte_array": return (pointer, [pointer, pointer], false)
    case "holo_main": return (i32Type, [i32Type, pointer, pointer, pointer], false)
    case "holo_test_main": return (i32Type, [i32Type, pointer, pointer, i64Type, pointer], false)
    default: fatalError("unknown runtime function \(name)")
    }
  }

  /// `LLVMAttributeFunctionIndex` (-1) as the C API's unsigned index type.
  static let functionAttributeIndex = UInt32(bitPattern: Int32(LLVMAttributeFunctionIndex))

  func addAttribute(
    _ name: String, to function: LLVMValueRef, index: UInt32 = ModuleEmitter.functionAttributeIndex
  ) {
    let kind = LLVMGetEnumAttributeKindForName(name, name.utf8.count)
    LLVMAddAttributeAtIndex(function, index, LLVMCreateEnumAttribute(context, kind, 0))
  }
}
