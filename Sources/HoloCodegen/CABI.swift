import CLLVM
import HoloIR

/// The C side of `extern fn` and `export fn` (LANGUAGE.md §10), by the x86-64 System V ABI.
/// Scalars map one to one (`bool` and `u8` zero-extended). A `string` crosses as
/// `holo_str { const char *ptr; int64_t len; }` by value and a scalar-only struct as its C
/// struct: both are aggregates, which the ABI passes in at most two registers when they
/// fit in 16 bytes and enough registers are left, and otherwise in memory (a `byval`
/// argument, an `sret` result).
extension ModuleEmitter {
  var cStringType: LLVMTypeRef {
    var fields: [LLVMTypeRef?] = [pointerType, i64Type]
    return LLVMStructTypeInContext(context, &fields, 2, 0)
  }

  /// How one value crosses.
  enum CPassing {
    /// As its own LLVM value: a scalar, or nothing for `()`.
    case direct
    /// The aggregate's eightbytes, each as one LLVM value in a register.
    case eightbytes(aggregate: LLVMTypeRef, [LLVMTypeRef])
    /// A pointer to the aggregate in memory.
    case memory(aggregate: LLVMTypeRef)
  }

  /// A C function's type and how each of its values crosses.
  struct CLowering {
    let parameters: [CPassing]
    let result: CPassing
    let type: LLVMTypeRef
  }

  /// The aggregate C type of values of `type`; nil for scalars.
  private func cAggregate(_ type: IRType) -> LLVMTypeRef? {
    switch type {
    case .string: return cStringType
    case .structure: return llvmType(type)
    default: return nil
    }
  }

  func cLowering(parameters: [IRType], result: IRType) -> CLowering {
    var integerRegisters = 6
    var sseRegisters = 8
    var resultPassing = CPassing.direct
    if let aggregate = cAggregate(result) {
      if let pieces = eightbytes(of: aggregate) {
        resultPassing = .eightbytes(aggregate: aggregate, pieces)
      } else {
        resultPassing = .memory(aggregate: aggregate)
        integerRegisters -= 1  // the result's address
      }
    }
    let parameterPassing = parameters.map { type -> CPassing in
      guard let aggregate = cAggregate(type) else {
        if type.isFloat { sseRegisters -= 1 } else { integerRegisters -= 1 }
        return .direct
      }
      // An aggregate goes in registers only whole: if they cannot hold all of it, all of
      // it goes in memory.
      guard let pieces = eightbytes(of: aggregate) else { return .memory(aggregate: aggregate) }
      let sse = pieces.filter(isFloatingPoint).count
      let integer = pieces.count - sse
      guard integer <= integerRegisters, sse <= sseRegisters else {
        return .memory(aggregate: aggregate)
      }
      integerRegisters -= integer
      sseRegisters -= sse
      return .eightbytes(aggregate: aggregate, pieces)
    }
    var lowered: [LLVMTypeRef?] = []
    if case .memory = resultPassing { lowered.append(pointerType) }
    for (type, passing) in zip(parameters, parameterPassing) {
      switch passing {
      case .direct: lowered.append(llvmType(type))
      case .eightbytes(_, let pieces): lowered += pieces
      case .memory: lowered.append(pointerType)
      }
    }
    let resultType: LLVMTypeRef
    switch resultPassing {
    case .direct: resultType = returnLLVMType(result)
    case .eightbytes(_, let pieces) where pieces.count == 1: resultType = pieces[0]
    case .eightbytes(_, let pieces):
      var fields: [LLVMTypeRef?] = pieces
      resultType = LLVMStructTypeInContext(context, &fields, UInt32(fields.count), 0)
    case .memory: resultType = voidType
    }
    return CLowering(
      parameters: parameterPassing, result: resultPassing,
      type: LLVMFunctionType(resultType, &lowered, UInt32(lowered.count), 0)!)
  }

  private func isFloatingPoint(_ type: LLVMTypeRef) -> Bool {
    let kind = LLVMGetTypeKind(type)
    return kind == LLVMFloatTypeKind || kind == LLVMDoubleTypeKind || kind == LLVMVectorTypeKind
  }

  /// The register types of an aggregate of at most 16 bytes, one per eightbyte (nil for a
  /// larger one): an eightbyte of floating-point fields only goes in an SSE register, as
  /// `double`, `float` or `<2 x float>`; any other in an integer register, as its one
  /// 8-byte field or an integer of its bytes.
  private func eightbytes(of aggregate: LLVMTypeRef) -> [LLVMTypeRef]? {
    let size = Int(LLVMABISizeOfType(LLVMGetModuleDataLayout(module), aggregate))
    guard size <= 16 else { return nil }
    var scalars: [(offset: Int, type: LLVMTypeRef)] = []
    flattenScalars(of: aggregate, at: 0, into: &scalars)
    return stride(from: 0, to: size, by: 8).map { start in
      let inside = scalars.filter { $0.offset >= start && $0.offset < start + 8 }
      let bytes = min(8, size - start)
      if inside.count == 1, inside[0].offset == start,
        LLVMABISizeOfType(LLVMGetModuleDataLayout(module), inside[0].type) == 8
      {
        return inside[0].type
      }
      if inside.allSatisfy({ LLVMGetTypeKind($0.type) == LLVMFloatTypeKind }) {
        return inside.count == 2 ? LLVMVectorType(f32Type, 2) : f32Type
      }
      return LLVMIntTypeInContext(context, UInt32(bytes * 8))
    }
  }

  private func flattenScalars(
    of type: LLVMTypeRef, at offset: Int, into scalars: inout [(offset: Int, type: LLVMTypeRef)]
  ) {
    guard LLVMGetTypeKind(type) == LLVMStructTypeKind else {
      scalars.append((offset, type))
      return
    }
    let count = LLVMCountStructElementTypes(type)
    var elements = [LLVMTypeRef?](repeating: nil, count: Int(count))
    LLVMGetStructElementTypes(type, &elements)
    for (index, element) in elements.enumerated() {
      let fieldOffset = LLVMOffsetOfElement(
        LLVMGetModuleDataLayout(module), type, UInt32(index))
      flattenScalars(of: element!, at: offset + Int(fieldOffset), into: &scalars)
    }
  }

  /// Marks the function or call `value`'s values as the C ABI wants: `bool` and `u8`
  /// zero-extended, aggregates in memory `byval` and a result in memory `sret`.
  func addCAttributes(
    to value: LLVMValueRef, _ lowering: CLowering, parameters: [IRType], result: IRType,
    isCall: Bool
  ) {
    func add(_ attribute: LLVMAttributeRef, at index: UInt32) {
      if isCall {
        LLVMAddCallSiteAttribute(value, index, attribute)
      } else {
        LLVMAddAttributeAtIndex(value, index, attribute)
      }
    }
    func kind(_ name: String) -> UInt32 { LLVMGetEnumAttributeKindForName(name, name.utf8.count) }
    let zeroExtend = LLVMCreateEnumAttribute(context, kind("zeroext"), 0)!
    var index: UInt32 = 1
    if case .memory(let aggregate) = lowering.result {
      add(LLVMCreateTypeAttribute(context, kind("sret"), aggregate), at: index)
      index += 1
    }
    for (type, passing) in zip(parameters, lowering.parameters) {
      switch passing {
      case .direct:
        if type == .bool || type == .u8 { add(zeroExtend, at: index) }
        index += 1
      case .eightbytes(_, let pieces):
        index += UInt32(pieces.count)
      case .memory(let aggregate):
        add(LLVMCreateTypeAttribute(context, kind("byval"), aggregate), at: index)
        add(
          LLVMCreateEnumAttribute(
            context, kind("align"), UInt64(LLVMABIAlignmentOfType(dataLayout, aggregate)))!,
          at: index)
        index += 1
      }
    }
    if result == .bool || result == .u8 { add(zeroExtend, at: 0) }
  }

  private var dataLayout: LLVMTargetDataRef { LLVMGetModuleDataLayout(module) }

  func externFunction(_ id: ExternID) -> (LLVMValueRef, CLowering) {
    if let known = externFunctions[id] { return known }
    let external = program.external(id)
    let lowering = cLowering(parameters: external.parameterTypes, result: external.returnType)
    let value =
      LLVMGetNamedFunction(module, external.name)
      ?? LLVMAddFunction(module, external.name, lowering.type)!
    addCAttributes(
      to: value, lowering, parameters: external.parameterTypes, result: external.returnType,
      isCall: false)
    externFunctions[id] = (value, lowering)
    return (value, lowering)
  }

  /// The `holo_str` view of a holo string: its bytes and length (no reference changes).
  private func holoStrParts(of string: LLVMValueRef) -> (bytes: LLVMValueRef, length: LLVMValueRef)
  {
    var bytesOffset: [LLVMValueRef?] = [LLVMConstInt(i64Type, 16, 0)]
    let bytes = LLVMBuildInBoundsGEP2(builder, i8Type, string, &bytesOffset, 1, "")!
    var lengthOffset: [LLVMValueRef?] = [LLVMConstInt(i64Type, 8, 0)]
    let lengthAddress = LLVMBuildInBoundsGEP2(builder, i8Type, string, &lengthOffset, 1, "")
    return (bytes, LLVMBuildLoad2(builder, i64Type, lengthAddress, "")!)
  }

  /// `string`'s `holo_str`, borrowing its bytes.
  func holoStr(of string: LLVMValueRef) -> LLVMValueRef {
    let (bytes, length) = holoStrParts(of: string)
    let value = LLVMBuildInsertValue(builder, LLVMGetUndef(cStringType), bytes, 0, "")!
    return LLVMBuildInsertValue(builder, value, length, 1, "")!
  }

  /// A new holo string with the bytes of the `holo_str` `view` (the C side keeps its memory).
  func holoString(copying view: LLVMValueRef) -> LLVMValueRef {
    callRuntime(
      "holo_string_from_bytes",
      [LLVMBuildExtractValue(builder, view, 0, "")!, LLVMBuildExtractValue(builder, view, 1, "")!])
  }

  /// The C arguments carrying `value` (a scalar, or an aggregate as `cAggregate` gives it)
  /// as `passing` says; `stackSlot` allocates memory that lives for the call.
  func cArguments(
    _ value: LLVMValueRef, _ passing: CPassing, stackSlot: (LLVMTypeRef) -> LLVMValueRef
  ) -> [LLVMValueRef] {
    switch passing {
    case .direct:
      return [value]
    case .eightbytes(let aggregate, let pieces):
      if areFields(pieces, of: aggregate) {
        return pieces.indices.map { LLVMBuildExtractValue(builder, value, UInt32($0), "")! }
      }
      let slot = eightbyteSlot(stackSlot)
      LLVMBuildStore(builder, value, slot)
      return pieces.enumerated().map { index, piece in
        LLVMBuildLoad2(builder, piece, eightbyte(index, of: slot), "")!
      }
    case .memory(let aggregate):
      let slot = stackSlot(aggregate)
      LLVMBuildStore(builder, value, slot)
      return [slot]
    }
  }

  /// The value `passing` carries in `arguments` (the C values, in order).
  func holoValue(
    from arguments: [LLVMValueRef], _ passing: CPassing,
    stackSlot: (LLVMTypeRef) -> LLVMValueRef
  ) -> LLVMValueRef {
    switch passing {
    case .direct:
      return arguments[0]
    case .eightbytes(let aggregate, let pieces):
      if areFields(pieces, of: aggregate) {
        var value = LLVMGetUndef(aggregate)!
        for (index, argument) in arguments.enumerated() {
          value = LLVMBuildInsertValue(builder, value, argument, UInt32(index), "")!
        }
        return value
      }
      let slot = eightbyteSlot(stackSlot)
      for (index, argument) in arguments.enumerated() {
        LLVMBuildStore(builder, argument, eightbyte(index, of: slot))
      }
      return LLVMBuildLoad2(builder, aggregate, slot, "")!
    case .memory(let aggregate):
      return LLVMBuildLoad2(builder, aggregate, arguments[0], "")!
    }
  }

  /// Whether the eightbytes are the aggregate's own fields (a `holo_str`, a struct of two
  /// `f64`s), so no memory is needed to convert between them.
  private func areFields(_ pieces: [LLVMTypeRef], of aggregate: LLVMTypeRef) -> Bool {
    pieces.count == LLVMCountStructElementTypes(aggregate)
      && pieces.indices.allSatisfy { LLVMStructGetTypeAtIndex(aggregate, UInt32($0)) == pieces[$0] }
  }

  /// Memory for an aggregate read or written eightbyte by eightbyte: 16 bytes, 8-aligned.
  private func eightbyteSlot(_ stackSlot: (LLVMTypeRef) -> LLVMValueRef) -> LLVMValueRef {
    let slot = stackSlot(LLVMArrayType2(i64Type, 2))
    LLVMSetAlignment(slot, 8)
    return slot
  }

  private func eightbyte(_ index: Int, of slot: LLVMValueRef) -> LLVMValueRef {
    var offset: [LLVMValueRef?] = [LLVMConstInt(i64Type, UInt64(index * 8), 0)]
    return LLVMBuildInBoundsGEP2(builder, i8Type, slot, &offset, 1, "")!
  }

  /// Calls the C function `function`, lowered as `lowering`, with holo values `arguments`
  /// of `types` (strings borrowed for the call); the result as a holo value (a string
  /// copied); for `()`, the call.
  func emitCCall(
    _ function: LLVMValueRef, _ lowering: CLowering, arguments: [LLVMValueRef?],
    types: [IRType], result: IRType, stackSlot: (LLVMTypeRef) -> LLVMValueRef
  ) -> LLVMValueRef {
    var cArgs: [LLVMValueRef?] = []
    var resultSlot: LLVMValueRef?
    if case .memory(let aggregate) = lowering.result {
      resultSlot = stackSlot(aggregate)
      cArgs.append(resultSlot)
    }
    for ((argument, type), passing) in zip(zip(arguments, types), lowering.parameters) {
      guard let argument else { continue }
      cArgs += cArguments(
        type == .string ? holoStr(of: argument) : argument, passing,
        stackSlot: stackSlot)
    }
    let call = LLVMBuildCall2(builder, lowering.type, function, &cArgs, UInt32(cArgs.count), "")!
    addCAttributes(to: call, lowering, parameters: types, result: result, isCall: true)
    let value: LLVMValueRef
    switch lowering.result {
    case .direct:
      return call
    case .eightbytes(_, let pieces):
      let parts =
        pieces.count == 1
        ? [call] : pieces.indices.map { LLVMBuildExtractValue(builder, call, UInt32($0), "")! }
      value = holoValue(from: parts, lowering.result, stackSlot: stackSlot)
    case .memory:
      value = holoValue(from: [resultSlot!], lowering.result, stackSlot: stackSlot)
    }
    return result == .string ? holoString(copying: value) : value
  }

  /// A C entry point for an `export fn`, under its plain name: it converts `holo_str`
  /// arguments to holo strings, calls the function (through its slot in dev builds, so a
  /// C host runs patched code too) and hands a string result to C as a `holo_str` whose
  /// reference the caller owns (`holo_str_release`).
  func emitExportWrapper(_ function: IRFunction) {
    let parameterTypes = function.parameterTypes
    let lowering = cLowering(parameters: parameterTypes, result: function.returnType)
    let wrapper = LLVMAddFunction(module, function.name, lowering.type)!
    addCAttributes(
      to: wrapper, lowering, parameters: parameterTypes, result: function.returnType,
      isCall: false)
    if options.mode == .dev {
      // A frame restart finds the wrapper by its frame address (holo_dev_restart_claim).
      addDevFrameAttributes(to: wrapper)
    } else {
      addAttribute("nounwind", to: wrapper)
    }
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, wrapper, "entry"))
    let stackSlot = { (type: LLVMTypeRef) in LLVMBuildAlloca(self.builder, type, "")! }
    var next: UInt32 = 0
    var resultSlot: LLVMValueRef?
    if case .memory = lowering.result {
      resultSlot = LLVMGetParam(wrapper, 0)
      next = 1
    }
    var arguments: [LLVMValueRef?] = []
    var copies: [LLVMValueRef] = []
    let consumed = consumedParameters(of: function.id)
    for (position, (type, passing)) in zip(parameterTypes, lowering.parameters).enumerated() {
      var count: UInt32 = 1
      if case .eightbytes(_, let pieces) = passing { count = UInt32(pieces.count) }
      let values = (next..<next + count).map { LLVMGetParam(wrapper, $0)! }
      next += count
      let value = holoValue(from: values, passing, stackSlot: stackSlot)
      if type == .string {
        let copy = holoString(copying: value)
        // A function that consumes the string releases it itself.
        if !consumed[position] { copies.append(copy) }
        arguments.append(copy)
      } else {
        arguments.append(value)
      }
    }
    // A C host's loop is C: it reaches a cooperative safepoint here, entering holo code.
    emitSafepointPoll()
    // A frame restart of the function stops here and calls it again: the C host's frames
    // below are never unwound.
    if options.restartableFrames { unwindDestination = { self.resumingBlock(in: wrapper) } }
    let result = emitCall(function.id, arguments: arguments)
    unwindDestination = nil
    for copy in copies { callRuntime("holo_string_release", [copy]) }
    guard ModuleEmitter.hasValue(function.returnType) else {
      LLVMBuildRetVoid(builder)
      return
    }
    // The caller owns a string result's reference: the view keeps it.
    let value = function.returnType == .string ? holoStr(of: result) : result
    switch lowering.result {
    case .direct:
      LLVMBuildRet(builder, value)
    case .eightbytes(_, let pieces):
      let parts = cArguments(value, lowering.result, stackSlot: stackSlot)
      guard pieces.count == 2 else {
        LLVMBuildRet(builder, parts[0])
        return
      }
      var aggregate = LLVMGetUndef(LLVMGetReturnType(lowering.type))
      for (index, part) in parts.enumerated() {
        aggregate = LLVMBuildInsertValue(builder, aggregate, part, UInt32(index), "")
      }
      LLVMBuildRet(builder, aggregate)
    case .memory:
      LLVMBuildStore(builder, value, resultSlot)
      LLVMBuildRetVoid(builder)
    }
  }

  /// A block that only resumes an unwind, with the value of the landing pads that join its
  /// phi: an export wrapper holds nothing to release.
  private func resumingBlock(in function: LLVMValueRef) -> (
    block: LLVMBasicBlockRef, landing: LLVMValueRef
  ) {
    let block = LLVMAppendBasicBlockInContext(context, function, "unwind")!
    let resumeBuilder = LLVMCreateBuilderInContext(context)!
    defer { LLVMDisposeBuilder(resumeBuilder) }
    LLVMPositionBuilderAtEnd(resumeBuilder, block)
    let landing = LLVMBuildPhi(resumeBuilder, landingPadType, "")!
    LLVMBuildResume(resumeBuilder, landing)
    return (block, landing)
  }
}
