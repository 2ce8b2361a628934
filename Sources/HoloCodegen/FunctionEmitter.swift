import CLLVM
import HoloIR
import HoloSource

/// A value produced by an expression. A `string` or an array is either owned (+1: the
/// consumer must release it or hand it on) or borrowed (from a local or a constant, valid
/// for the moment).
/// Unit and never expressions produce no LLVM value.
struct EmittedValue {
  var value: LLVMValueRef?
  var owned: Bool

  static var none: EmittedValue { EmittedValue(value: nil, owned: false) }
}

/// Lowers one IR function to LLVM IR.
///
/// Reference counting of strings, arrays and structs holding them (managed values): every
/// managed local owns its value, but for parameters and `for` variables the body never
/// changes, which borrow theirs; expression results are owned or borrowed (see
/// `EmittedValue`); a scope releases its managed locals
/// when control leaves it, including through `break`, `continue` and `return`. Parameters
/// that the body changes are retained on entry, so callees may reassign them without
/// touching the caller's value.
final class FunctionEmitter {
  private let module: ModuleEmitter
  private let function: IRFunction
  private let llvmFunction: LLVMValueRef
  private let builder: LLVMBuilderRef
  private var slots: [LLVMValueRef?]
  /// Managed values to release when control leaves their scope, innermost scope last:
  /// locals, and what a loop holds (the array a `for` iterates over).
  private var scopes: [[(slot: LLVMValueRef, type: IRType)]] = []
  /// Set while the value of `local = f(..., local, ...)` is emitted, when `f` consumes that
  /// argument and it is the value's only mention of the local: the local's value moves
  /// into the call (the call after it is taken).
  private var pendingMove: (local: LocalID, argument: Int)?
  /// The function's debug-info scope (dev builds).
  private var debugScope: LLVMMetadataRef?
  private var loops:
    [(continueTarget: LLVMBasicBlockRef, breakTarget: LLVMBasicBlockRef, scopeDepth: Int)] = []
  /// Local arrays known to be unique in the loop being emitted (`withUniqueArrays`).
  private var uniqueLocals: Set<Int> = []
  /// Dev builds: the landing pads made so far, by the managed values they release.
  private var cleanupBlocks: [[LLVMValueRef]: (block: LLVMBasicBlockRef, landing: LLVMValueRef)] =
    [:]

  init(module: ModuleEmitter, function: IRFunction) {
    self.module = module
    self.function = function
    self.llvmFunction = module.functions[function.id]!
    self.builder = module.builder
    self.slots = Array(repeating: nil, count: function.locals.count)
  }

  private init(module: ModuleEmitter, expressionsIn llvmFunction: LLVMValueRef, at span: Span) {
    self.module = module
    function = IRFunction(
      id: FunctionID(-1), name: "", kind: .user, isExport: false, parameters: [], locals: [],
      returnType: .unit, body: IRBlock(statements: [], result: nil, type: .unit, span: span),
      span: span)
    self.llvmFunction = llvmFunction
    builder = module.builder
    slots = []
  }

  /// `expression`, a field's default (a constant expression, which uses no local), as an
  /// owned value, emitted at the builder's position in `llvmFunction`: how a live migration
  /// gives a struct a field its old value did not have (LANGUAGE.md §13).
  static func emitOwnedDefault(
    _ expression: IRExpr, module: ModuleEmitter, in llvmFunction: LLVMValueRef
  ) -> LLVMValueRef? {
    let emitter = FunctionEmitter(module: module, expressionsIn: llvmFunction, at: expression.span)
    return emitter.makeOwned(emitter.emitExpr(expression), type: expression.type).value
  }

  func emit() {
    let entry = LLVMAppendBasicBlockInContext(module.context, llvmFunction, "entry")
    LLVMPositionBuilderAtEnd(builder, entry)
    debugScope = module.debugInfo?.attach(
      function, to: llvmFunction, linkageName: module.symbol(of: function))
    setLocation(function.span)
    // Every local gets a stack slot in the entry block; mem2reg turns them into registers.
    for local in function.locals where ModuleEmitter.hasValue(local.type) {
      slots[local.id.index] = LLVMBuildAlloca(builder, module.llvmType(local.type), local.name)
    }
    scopes.append([])
    var uses = LocalUses()
    uses.visit(function.body)
    if uses.hasLoops {
      module.functionsWithLoops.insert(llvmFunction)
    } else if !uses.hasCalls {
      module.leafFunctions.insert(llvmFunction)
    }
    for (index, id) in function.parameters.enumerated() {
      guard let slot = slots[id.index] else { continue }
      let parameter = LLVMGetParam(llvmFunction, UInt32(index))
      LLVMBuildStore(builder, parameter, slot)
      let type = function.locals[id.index].type
      // A parameter the body never changes stays borrowed from the caller, who keeps it
      // alive for the call: no reference counting for it at all. One it changes is the
      // function's own: given to it (consumed) or retained.
      if module.isManaged(type), uses.changed.contains(id.index) {
        if !module.consumes(function.id, parameter: index) {
          module.emitRetain(parameter!, of: type)
        }
        scopes[scopes.count - 1].append((slot, type))
      }
    }
    if module.options.restartableFrames {
      module.unwindDestination = { self.cleanupBlock() }
    }
    defer { module.unwindDestination = nil }
    let result = emitBlock(function.body, wantsValue: ModuleEmitter.hasValue(function.returnType))
    emitReturn(result)
    LLVMSetCurrentDebugLocation2(builder, nil)
  }

  /// Where the landing pad of a call emitted now goes: when a frame restart unwinds the
  /// stack through the call, this block releases every managed value the function holds
  /// there (its scopes' locals and held temporaries, innermost first) and unwinds on,
  /// with the pad's value (the phi each pad joins). One per set of values.
  private func cleanupBlock() -> (block: LLVMBasicBlockRef, landing: LLVMValueRef) {
    let held = scopes.joined().reversed()
    let key = held.map(\.slot)
    if let known = cleanupBlocks[key] { return known }
    let block = appendBlock("unwind")
    let padBuilder = LLVMCreateBuilderInContext(module.context)!
    defer { LLVMDisposeBuilder(padBuilder) }
    LLVMPositionBuilderAtEnd(padBuilder, block)
    LLVMSetCurrentDebugLocation2(padBuilder, LLVMGetCurrentDebugLocation2(builder))
    let landing = LLVMBuildPhi(padBuilder, module.landingPadType, "")!
    for (slot, type) in held {
      let value = LLVMBuildLoad2(padBuilder, module.llvmType(type), slot, "")!
      module.emitRelease(value, of: type, on: padBuilder)
    }
    LLVMBuildResume(padBuilder, landing)
    cleanupBlocks[key] = (block, landing)
    return (block, landing)
  }

  private func setLocation(_ span: Span) {
    guard let debugInfo = module.debugInfo, let debugScope else { return }
    LLVMSetCurrentDebugLocation2(builder, debugInfo.location(span, scope: debugScope))
  }

  // MARK: Control flow helpers

  /// A stack slot in the entry block, where it is allocated once per call (an `alloca` in a
  /// loop would take more stack on every iteration) and mem2reg promotes it to registers.
  private func entryBlockAlloca(_ type: LLVMTypeRef, _ name: String) -> LLVMValueRef {
    let entryBuilder = LLVMCreateBuilderInContext(module.context)!
    defer { LLVMDisposeBuilder(entryBuilder) }
    let entry = LLVMGetEntryBasicBlock(llvmFunction)!
    if let first = LLVMGetFirstInstruction(entry) {
      LLVMPositionBuilderBefore(entryBuilder, first)
    } else {
      LLVMPositionBuilderAtEnd(entryBuilder, entry)
    }
    return LLVMBuildAlloca(entryBuilder, type, name)
  }

  private var isTerminated: Bool {
    LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(builder)) != nil
  }

  private func appendBlock(_ name: String) -> LLVMBasicBlockRef {
    LLVMAppendBasicBlockInContext(module.context, llvmFunction, name)
  }

  /// After a terminator, code that follows is unreachable; it still needs a block to go in.
  private func startDeadBlock() {
    LLVMPositionBuilderAtEnd(builder, appendBlock("dead"))
  }

  private func branch(to block: LLVMBasicBlockRef) {
    if !isTerminated { LLVMBuildBr(builder, block) }
  }

  /// Ends the current block as unreachable: it follows a call that never returns.
  private func markUnreachable() {
    LLVMBuildUnreachable(builder)
    startDeadBlock()
  }

  private func releaseScopes(downTo depth: Int) {
    for scope in scopes[depth...].reversed() {
      for (slot, type) in scope.reversed() {
        module.emitRelease(LLVMBuildLoad2(builder, module.llvmType(type), slot, "")!, of: type)
      }
    }
  }

  private func emitReturn(_ result: EmittedValue) {
    if isTerminated { return }
    releaseScopes(downTo: 0)
    if ModuleEmitter.hasValue(function.returnType), let value = result.value {
      LLVMBuildRet(builder, value)
    } else if ModuleEmitter.hasValue(function.returnType) {
      LLVMBuildUnreachable(builder)
    } else {
      LLVMBuildRetVoid(builder)
    }
  }

  // MARK: Ownership

  private func makeOwned(_ value: EmittedValue, type: IRType) -> EmittedValue {
    guard module.isManaged(type), !value.owned, let llvmValue = value.value else { return value }
    module.emitRetain(llvmValue, of: type)
    return EmittedValue(value: llvmValue, owned: true)
  }

  private func releaseIfOwned(_ value: EmittedValue, type: IRType) {
    guard module.isManaged(type), value.owned, let llvmValue = value.value else { return }
    module.emitRelease(llvmValue, of: type)
  }

  // MARK: Blocks and statements

  /// Emits a block; when `wantsValue`, its result is returned (owned, for strings, since
  /// the block's own locals are released before it ends).
  private func emitBlock(_ block: IRBlock, wantsValue: Bool) -> EmittedValue {
    scopes.append([])
    for statement in block.statements { emitStatement(statement) }
    var result = EmittedValue.none
    if let value = block.result {
      let emitted = emitExpr(value)
      if wantsValue {
        result = makeOwned(emitted, type: value.type)
      } else {
        releaseIfOwned(emitted, type: value.type)
      }
    }
    if !isTerminated { releaseScopes(downTo: scopes.count - 1) }
    scopes.removeLast()
    return result
  }

  private func emitStatement(_ statement: IRStmt) {
    setLocation(function.located(statement.span))
    switch statement.kind {
    case .letBinding(let id, let valueExpr):
      let value = makeOwned(emitExpr(valueExpr), type: valueExpr.type)
      guard let slot = slots[id.index], let llvmValue = value.value, !isTerminated else { return }
      LLVMBuildStore(builder, llvmValue, slot)
      let type = function.locals[id.index].type
      if module.isManaged(type) { scopes[scopes.count - 1].append((slot, type)) }

    case .assign(let id, let valueExpr):
      pendingMove = moveIntoCall(of: id, valueExpr)
      let value = makeOwned(emitExpr(valueExpr), type: valueExpr.type)
      guard let slot = slots[id.index], let llvmValue = value.value, !isTerminated else { return }
      module.storeOwned(llvmValue, of: valueExpr.type, into: slot)

    case .assignElement(let place, let valueExpr):
      emitAssignElement(place, valueExpr)

    case .forEach(let variable, let arrayExpr, let body):
      emitForEach(variable: variable, arrayExpr: arrayExpr, body: body)

    case .assignGlobal(let id, let valueExpr):
      let value = makeOwned(emitExpr(valueExpr), type: valueExpr.type)
      guard let llvmValue = value.value, !isTerminated else { return }
      module.storeOwned(llvmValue, of: valueExpr.type, into: module.storage(ofGlobal: id))

    case .expression(let expr):
      releaseIfOwned(emitExpr(expr), type: expr.type)

    case .whileLoop(let condition, let body):
      withUniqueArrays(in: body, alsoIn: [condition]) { emitWhile(condition, body) }

    case .forLoop(let variable, let startExpr, let endExpr, let inclusive, let body):
      emitFor(
        variable: variable, startExpr: startExpr, endExpr: endExpr, inclusive: inclusive, body: body
      )

    case .breakLoop, .continueLoop:
      guard let loop = loops.last else { return }
      releaseScopes(downTo: loop.scopeDepth)
      if case .breakLoop = statement.kind {
        LLVMBuildBr(builder, loop.breakTarget)
      } else {
        LLVMBuildBr(builder, loop.continueTarget)
      }
      startDeadBlock()

    case .returnValue(let valueExpr):
      var result = EmittedValue.none
      if let valueExpr { result = makeOwned(emitExpr(valueExpr), type: valueExpr.type) }
      emitReturn(result)
      startDeadBlock()

    case .assert(let condition, let message):
      let test = emitExpr(condition).value
      let failBlock = appendBlock("assert.fail")
      let okBlock = appendBlock("assert.ok")
      if !isTerminated { LLVMBuildCondBr(builder, test, okBlock, failBlock) }
      LLVMPositionBuilderAtEnd(builder, failBlock)
      let location = module.locationPointer(function.located(condition.span), in: function)
      if let message {
        let text = emitExpr(message).value
        if !isTerminated { module.callRuntime("holo_fail_string", [text, location]) }
      } else {
        module.callRuntime("holo_fail", [module.cString("assertion failed"), location])
      }
      LLVMBuildUnreachable(builder)
      LLVMPositionBuilderAtEnd(builder, okBlock)
    }
  }

  private func emitWhile(_ condition: IRExpr, _ body: IRBlock) {
    let conditionBlock = appendBlock("while.cond")
    let bodyBlock = appendBlock("while.body")
    let exitBlock = appendBlock("while.exit")
    branch(to: conditionBlock)
    LLVMPositionBuilderAtEnd(builder, conditionBlock)
    module.emitSafepointPoll()
    let test = emitExpr(condition).value
    if !isTerminated { LLVMBuildCondBr(builder, test, bodyBlock, exitBlock) }
    LLVMPositionBuilderAtEnd(builder, bodyBlock)
    loops.append((conditionBlock, exitBlock, scopes.count))
    _ = emitBlock(body, wantsValue: false)
    loops.removeLast()
    branch(to: conditionBlock)
    LLVMPositionBuilderAtEnd(builder, exitBlock)
  }

  /// `for i in start..end` (or `..=`): both bounds are evaluated once; the counter never
  /// steps past `end`, so `..=` up to the type's maximum terminates.
  private func emitFor(
    variable: LocalID, startExpr: IRExpr, endExpr: IRExpr, inclusive: Bool, body: IRBlock
  ) {
    let type = startExpr.type
    guard let start = emitExpr(startExpr).value, let end = emitExpr(endExpr).value, !isTerminated
    else { return }
    withUniqueArrays(in: body) {
      emitForLoop(
        variable: variable, type: type, start: start, end: end, inclusive: inclusive, body: body)
    }
  }

  private func emitForLoop(
    variable: LocalID, type: IRType, start: LLVMValueRef, end: LLVMValueRef, inclusive: Bool,
    body: IRBlock
  ) {
    let llvmType = module.llvmType(type)
    let counter = entryBlockAlloca(llvmType, "for.counter")
    LLVMBuildStore(builder, start, counter)
    let checkBlock = appendBlock("for.check")
    let bodyBlock = appendBlock("for.body")
    let latchBlock = appendBlock("for.latch")
    let exitBlock = appendBlock("for.exit")
    LLVMBuildBr(builder, checkBlock)

    LLVMPositionBuilderAtEnd(builder, checkBlock)
    module.emitSafepointPoll()
    let current = LLVMBuildLoad2(builder, llvmType, counter, "")
    let signed = type.isSignedInteger
    let predicate: LLVMIntPredicate =
      inclusive ? (signed ? LLVMIntSLE : LLVMIntULE) : (signed ? LLVMIntSLT : LLVMIntULT)
    LLVMBuildCondBr(
      builder, LLVMBuildICmp(builder, predicate, current, end, ""), bodyBlock, exitBlock)

    LLVMPositionBuilderAtEnd(builder, bodyBlock)
    if let slot = slots[variable.index] {
      LLVMBuildStore(builder, LLVMBuildLoad2(builder, llvmType, counter, ""), slot)
    }
    loops.append((latchBlock, exitBlock, scopes.count))
    _ = emitBlock(body, wantsValue: false)
    loops.removeLast()
    branch(to: latchBlock)

    LLVMPositionBuilderAtEnd(builder, latchBlock)
    let value = LLVMBuildLoad2(builder, llvmType, counter, "")
    let next = LLVMBuildAdd(builder, value, LLVMConstInt(llvmType, 1, 0), "")
    LLVMBuildStore(builder, next, counter)
    if inclusive {
      let atEnd = LLVMBuildICmp(builder, LLVMIntEQ, value, end, "")
      LLVMBuildCondBr(builder, atEnd, exitBlock, checkBlock)
    } else {
      LLVMBuildBr(builder, checkBlock)
    }
    LLVMPositionBuilderAtEnd(builder, exitBlock)
  }

  // MARK: Expressions

  private func emitExpr(_ expr: IRExpr) -> EmittedValue {
    setLocation(function.located(expr.span))
    let type = expr.type
    switch expr.kind {
    case .integerConstant(let bits):
      return EmittedValue(value: LLVMConstInt(module.llvmType(type), bits, 0), owned: false)
    case .floatConstant(let value):
      return EmittedValue(value: LLVMConstReal(module.llvmType(type), value), owned: false)
    case .boolConstant(let value):
      return EmittedValue(value: LLVMConstInt(module.boolType, value ? 1 : 0, 0), owned: false)
    case .stringConstant(let text):
      // A patch's memory is freed once its code is unused, but a string could outlive it:
      // patch code copies its literals to the heap instead of handing out constants.
      if module.version > 0 {
        let copy = module.callRuntime(
          "holo_string_from_bytes",
          [module.cString(text), LLVMConstInt(module.i64Type, UInt64(text.utf8.count), 0)])
        return EmittedValue(value: copy, owned: true)
      }
      return EmittedValue(value: module.stringConstant(text), owned: false)
    case .unitConstant:
      return .none
    case .template(let parts):
      return emitTemplate(parts)
    case .local(let id):
      guard let slot = slots[id.index] else { return .none }
      return EmittedValue(
        value: LLVMBuildLoad2(builder, module.llvmType(type), slot, ""), owned: false)
    case .global(let id):
      // Owned: a callee may assign the global while the value is still in use.
      let value = LLVMBuildLoad2(builder, module.llvmType(type), module.storage(ofGlobal: id), "")!
      return makeOwned(EmittedValue(value: value, owned: false), type: type)
    case .call(let id, let arguments):
      let move = pendingMove
      pendingMove = nil
      let (values, cleanup) = emitArguments(
        arguments, consumed: module.consumedParameters(of: id), moving: move,
        heldDuringCall: true)
      let result = module.emitCall(id, arguments: values)
      cleanup()
      return afterCall(result, type: type)
    case .callExtern(let id, let arguments):
      let (values, cleanup) = emitArguments(arguments)
      let (function, lowering) = module.externFunction(id)
      let result = module.emitCCall(
        function, lowering, arguments: values, types: arguments.map(\.type), result: type,
        stackSlot: { self.entryBlockAlloca($0, "c.value") })
      cleanup()
      // A string from C is a copy: the C side keeps its memory.
      return type == .string
        ? EmittedValue(value: result, owned: true) : afterCall(result, type: type)
    case .callBuiltin(let builtin, let arguments):
      return emitBuiltin(builtin, arguments, span: expr.span, type: type)
    case .binary, .logical, .cast:
      return emitChain(expr)
    case .unary(let op, let operandExpr):
      guard let operand = emitExpr(operandExpr).value else { return .none }
      switch op {
      case .negate:
        let value =
          type.isFloat
          ? LLVMBuildFNeg(builder, operand, "")
          : LLVMBuildSub(builder, LLVMConstInt(module.llvmType(type), 0, 0), operand, "")
        return EmittedValue(value: value, owned: false)
      case .not:
        return EmittedValue(value: LLVMBuildNot(builder, operand, ""), owned: false)
      }
    case .block(let block):
      return emitBlock(block, wantsValue: ModuleEmitter.hasValue(type))
    case .ifElse(let arms, let elseBlock):
      return emitIf(arms, elseBlock, type: type)
    case .arrayLiteral(let elements):
      return emitArrayLiteral(elements, type: type)
    case .arrayRepeat(let valueExpr, let countExpr):
      let depth = scopes.count
      let value = hold(emitExpr(valueExpr), type: valueExpr.type, across: [countExpr])
      let count = emitExpr(countExpr)
      endHolds(downTo: depth)
      guard let element = value.value, let count = count.value, !isTerminated else { return .none }
      let temporary = entryBlockAlloca(module.llvmType(valueExpr.type), "repeat.value")
      module.storeElement(element, of: valueExpr.type, at: temporary)
      let array = module.callRuntime(
        "holo_array_repeat",
        [
          temporary, count, module.elementType(of: valueExpr.type),
          module.locationPointer(function.located(countExpr.span), in: function),
        ])
      releaseIfOwned(value, type: valueExpr.type)
      return EmittedValue(value: array, owned: true)
    case .index(let arrayExpr, let indexExpr):
      let depth = scopes.count
      let array = hold(emitExpr(arrayExpr), type: arrayExpr.type, across: [indexExpr])
      let index = emitExpr(indexExpr)
      endHolds(downTo: depth)
      guard let arrayValue = array.value, let indexValue = index.value, !isTerminated else {
        return .none
      }
      checkBounds(indexValue, in: arrayValue, span: indexExpr.span)
      let element = module.loadElement(
        module.elementAddress(arrayValue, indexValue, of: type), of: type)
      return part(element, type: type, of: array, type: arrayExpr.type)
    case .arrayLength(let arrayExpr):
      let array = emitExpr(arrayExpr)
      guard let arrayValue = array.value, !isTerminated else { return .none }
      let length = module.arrayLength(arrayValue)
      releaseIfOwned(array, type: arrayExpr.type)
      return EmittedValue(value: length, owned: false)
    case .arrayMutation(let mutation, let place, let arguments):
      return emitArrayMutation(mutation, place, arguments, span: expr.span, type: type)
    case .placeValue:
      preconditionFailure("a place's value is read by its assignment (`emitAssignElement`)")
    case .structLiteral(let fieldExprs):
      let values = emitOwnedInOrder(fieldExprs)
      guard !isTerminated else { return .none }
      var value = LLVMGetUndef(module.llvmType(type))!
      for (index, field) in values.enumerated() {
        guard let field else { continue }
        value = LLVMBuildInsertValue(builder, value, field, UInt32(index), "")!
      }
      return EmittedValue(value: value, owned: true)
    case .field(let baseExpr, let index):
      let base = emitExpr(baseExpr)
      guard let baseValue = base.value, !isTerminated else { return .none }
      let field = LLVMBuildExtractValue(builder, baseValue, UInt32(index), "")!
      return part(field, type: type, of: base, type: baseExpr.type)
    }
  }

  /// An element or field `value` of `whole`. Borrowed from a borrowed whole, whose owner
  /// keeps it alive as long as the whole; owned when managed from an owned whole, a
  /// temporary released now.
  private func part(
    _ value: LLVMValueRef, type: IRType, of whole: EmittedValue, type wholeType: IRType
  ) -> EmittedValue {
    guard whole.owned else { return EmittedValue(value: value, owned: false) }
    let result = makeOwned(EmittedValue(value: value, owned: false), type: type)
    releaseIfOwned(whole, type: wholeType)
    return result
  }

  // MARK: Arrays

  private func emitArrayLiteral(_ elements: [IRExpr], type: IRType) -> EmittedValue {
    let element = type.element!
    if elements.count > 1, let constants = module.constantElements(elements, of: element) {
      // One copy of constant bytes, not a store per element: a literal of 40,000 numbers
      // took LLVM's optimiser 40 s as stores. No pointer into the constant is kept.
      let array = module.callRuntime(
        "holo_array_alloc",
        [LLVMConstInt(module.i64Type, UInt64(elements.count), 0), module.elementType(of: element)])
      let data = module.elementAddress(array, LLVMConstInt(module.i64Type, 0, 0), of: element)
      let size = module.storageSize(of: element) * UInt64(elements.count)
      LLVMBuildMemCpy(
        builder, data, 16, constants, module.storageAlignment(of: element),
        LLVMConstInt(module.i64Type, size, 0))
      return EmittedValue(value: array, owned: true)
    }
    let values = emitOwnedInOrder(elements)
    guard !isTerminated else { return .none }
    let array = module.callRuntime(
      "holo_array_alloc",
      [LLVMConstInt(module.i64Type, UInt64(elements.count), 0), module.elementType(of: element)])
    for (index, value) in values.enumerated() {
      guard let value else { continue }
      let address = module.elementAddress(
        array, LLVMConstInt(module.i64Type, UInt64(index), 0), of: element)
      module.storeElement(value, of: element, at: address)
    }
    return EmittedValue(value: array, owned: true)
  }

  /// Fails at `span` unless `0 <= index < array's length`.
  private func checkBounds(_ index: LLVMValueRef, in array: LLVMValueRef, span: Span) {
    let length = module.arrayLength(array)
    let failBlock = appendBlock("bounds.fail")
    let okBlock = appendBlock("bounds.ok")
    // Unsigned, so a negative index is out of bounds too.
    LLVMBuildCondBr(
      builder, LLVMBuildICmp(builder, LLVMIntULT, index, length, ""), okBlock, failBlock)
    LLVMPositionBuilderAtEnd(builder, failBlock)
    module.callRuntime(
      "holo_fail_index",
      [index, length, module.locationPointer(function.located(span), in: function)])
    LLVMBuildUnreachable(builder)
    LLVMPositionBuilderAtEnd(builder, okBlock)
  }

  /// `array` with a reference count of one: itself, else the runtime's copy (which takes
  /// over `array`'s reference). Inline, so writes to an unshared array cost one compare.
  private func uniqueArray(_ array: LLVMValueRef, of element: IRType) -> LLVMValueRef {
    let refcount = module.arrayReferenceCount(array)
    let isUnique = LLVMBuildICmp(
      builder, LLVMIntEQ, refcount, LLVMConstInt(module.i64Type, 1, 0), "")
    let start = LLVMGetInsertBlock(builder)!
    let copyBlock = appendBlock("unique.copy")
    let doneBlock = appendBlock("unique.done")
    LLVMBuildCondBr(builder, isUnique, doneBlock, copyBlock)
    LLVMPositionBuilderAtEnd(builder, copyBlock)
    let copy = module.callRuntime("holo_array_unique", [array, module.elementType(of: element)])
    LLVMBuildBr(builder, doneBlock)
    LLVMPositionBuilderAtEnd(builder, doneBlock)
    let phi = LLVMBuildPhi(builder, module.pointerType, "")!
    var values: [LLVMValueRef?] = [array, copy]
    var blocks: [LLVMBasicBlockRef?] = [start, copyBlock]
    LLVMAddIncoming(phi, &values, &blocks, 2)
    return phi
  }

  /// The address of the value at `place`, whose indices are `indices` (evaluated): the
  /// arrays on the way are made unique, since a write follows, and each index is checked.
  private func address(of place: IRPlace, indices: [LLVMValueRef]) -> LLVMValueRef {
    var address: LLVMValueRef
    switch place.root {
    case .local(let id): address = slots[id.index]!
    case .global(let id): address = module.storage(ofGlobal: id)
    }
    var type = place.rootType
    var knownUnique = false
    if case .local(let id) = place.root { knownUnique = uniqueLocals.contains(id.index) }
    var indices = indices.makeIterator()
    for step in place.path {
      switch step {
      case .index(let indexExpr):
        let index = indices.next()!
        let element = type.element!
        var array = LLVMBuildLoad2(builder, module.pointerType, address, "")!
        if !knownUnique {
          array = uniqueArray(array, of: element)
          LLVMBuildStore(builder, array, address)
        }
        checkBounds(index, in: array, span: indexExpr.span)
        address = module.elementAddress(array, index, of: element)
        type = element
      case .field(let index):
        address = LLVMBuildStructGEP2(
          builder, module.llvmType(type), address, UInt32(index), "")!
        type = module.fieldType(of: type, at: index)
      }
      knownUnique = false
    }
    return address
  }

  /// `place = value` or `place op= value`: the value first (it may change the array),
  /// then the place.
  private func emitAssignElement(_ place: IRPlace, _ valueExpr: IRExpr) {
    let type = place.type
    if case .binary(let op, let left, let right) = valueExpr.kind, case .placeValue = left.kind {
      let rightValue = emitExpr(right)
      let indices = place.indices.compactMap { emitExpr($0).value }
      guard !isTerminated else { return }
      let address = address(of: place, indices: indices)
      let current = EmittedValue(value: module.loadElement(address, of: type), owned: false)
      let result = emitBinary(op, current, type: type, rightValue, span: valueExpr.span)
      if let value = result.value, !isTerminated {
        module.storeElement(value, of: type, at: address)
      }
      return
    }
    let value = makeOwned(emitExpr(valueExpr), type: valueExpr.type)
    let indices = place.indices.compactMap { emitExpr($0).value }
    guard let llvmValue = value.value, !isTerminated else { return }
    let address = address(of: place, indices: indices)
    let old = module.isManaged(type) ? module.loadElement(address, of: type) : nil
    module.storeElement(llvmValue, of: type, at: address)
    if let old { module.emitRelease(old, of: type) }
  }

  /// `push`, `pop`, `insert`, `remove`, `clear` on the array at `place`: the arguments
  /// first, then the place; the runtime takes the array and gives back the one to keep.
  private func emitArrayMutation(
    _ mutation: IRArrayMutation, _ place: IRPlace, _ arguments: [IRExpr], span: Span,
    type: IRType
  ) -> EmittedValue {
    let element = place.type.element!
    let values = arguments.map { makeOwned(emitExpr($0), type: $0.type).value }
    let indices = place.indices.compactMap { emitExpr($0).value }
    guard !isTerminated, values.allSatisfy({ $0 != nil }) else { return .none }
    let address = address(of: place, indices: indices)
    let array = LLVMBuildLoad2(builder, module.pointerType, address, "")!
    let elementType = module.elementType(of: element)
    let storage = module.storageType(element)
    let location = { (span: Span) in
      self.module.locationPointer(self.function.located(span), in: self.function)
    }
    /// A stack slot holding `value`, as the runtime takes an element.
    let passed = { (value: LLVMValueRef) -> LLVMValueRef in
      let slot = self.entryBlockAlloca(storage, "element")
      self.module.storeElement(value, of: element, at: slot)
      return slot
    }
    let result: LLVMValueRef
    var out: LLVMValueRef?
    switch mutation {
    case .push:
      result = module.callRuntime("holo_array_push", [array, passed(values[0]!), elementType])
    case .pop:
      out = entryBlockAlloca(storage, "popped")
      result = module.callRuntime(
        "holo_array_pop", [array, out, elementType, location(span)])
    case .insert:
      result = module.callRuntime(
        "holo_array_insert",
        [array, values[0], passed(values[1]!), elementType, location(arguments[0].span)])
    case .remove:
      out = entryBlockAlloca(storage, "removed")
      result = module.callRuntime(
        "holo_array_remove", [array, values[0], out, elementType, location(arguments[0].span)])
    case .clear:
      result = module.callRuntime("holo_array_clear", [array, elementType])
    }
    LLVMBuildStore(builder, result, address)
    guard let out else { return .none }
    return EmittedValue(value: module.loadElement(out, of: type), owned: module.isManaged(type))
  }

  /// `for x in array`: the loop holds a reference to the array, so it iterates over the
  /// array as it was (a write in the body copies it), and releases it when the loop ends
  /// however it ends. Each element is a fresh local, released at the end of its turn.
  private func emitForEach(variable: LocalID, arrayExpr: IRExpr, body: IRBlock) {
    let element = arrayExpr.type.element!
    var uses = LocalUses()
    uses.visit(body)
    // An array in a local (or in a local's fields) the body never changes is iterated as
    // it is, borrowed: it stays as it was without the loop holding a reference.
    var borrowed = false
    if let id = Self.rootLocal(of: arrayExpr) { borrowed = !uses.changed.contains(id.index) }
    let emitted = emitExpr(arrayExpr)
    borrowed = borrowed && !emitted.owned
    guard
      let array = borrowed ? emitted.value : makeOwned(emitted, type: arrayExpr.type).value,
      !isTerminated
    else { return }
    let held = entryBlockAlloca(module.pointerType, "for.array")
    LLVMBuildStore(builder, array, held)
    scopes.append(borrowed ? [] : [(held, arrayExpr.type)])
    withUniqueArrays(in: body) {
      emitForEachLoop(
        variable: variable, array: array, of: element, body: body,
        borrowsElements: !uses.changed.contains(variable.index))
    }
    releaseScopes(downTo: scopes.count - 1)
    scopes.removeLast()
  }

  /// The local that `expression` reads, directly or through fields (`node.kids`).
  private static func rootLocal(of expression: IRExpr) -> LocalID? {
    switch expression.kind {
    case .local(let id): return id
    case .field(let base, _): return rootLocal(of: base)
    default: return nil
    }
  }

  /// `borrowsElements`: the body never changes the variable, which then borrows each
  /// element from the array (which nothing changes during the loop).
  private func emitForEachLoop(
    variable: LocalID, array: LLVMValueRef, of element: IRType, body: IRBlock,
    borrowsElements: Bool
  ) {
    let length = module.arrayLength(array)
    let counter = entryBlockAlloca(module.i64Type, "for.index")
    LLVMBuildStore(builder, LLVMConstInt(module.i64Type, 0, 0), counter)
    let checkBlock = appendBlock("foreach.check")
    let bodyBlock = appendBlock("foreach.body")
    let latchBlock = appendBlock("foreach.latch")
    let exitBlock = appendBlock("foreach.exit")
    LLVMBuildBr(builder, checkBlock)

    LLVMPositionBuilderAtEnd(builder, checkBlock)
    module.emitSafepointPoll()
    let index = LLVMBuildLoad2(builder, module.i64Type, counter, "")!
    LLVMBuildCondBr(
      builder, LLVMBuildICmp(builder, LLVMIntULT, index, length, ""), bodyBlock, exitBlock)

    LLVMPositionBuilderAtEnd(builder, bodyBlock)
    let value = module.loadElement(module.elementAddress(array, index, of: element), of: element)
    var variableScope: [(slot: LLVMValueRef, type: IRType)] = []
    if let slot = slots[variable.index] {
      LLVMBuildStore(builder, value, slot)
      if module.isManaged(element), !borrowsElements {
        module.emitRetain(value, of: element)
        variableScope.append((slot, element))
      }
    }
    loops.append((latchBlock, exitBlock, scopes.count))
    scopes.append(variableScope)
    _ = emitBlock(body, wantsValue: false)
    if !isTerminated { releaseScopes(downTo: scopes.count - 1) }
    scopes.removeLast()
    loops.removeLast()
    branch(to: latchBlock)

    LLVMPositionBuilderAtEnd(builder, latchBlock)
    let current = LLVMBuildLoad2(builder, module.i64Type, counter, "")
    LLVMBuildStore(
      builder, LLVMBuildAdd(builder, current, LLVMConstInt(module.i64Type, 1, 0), ""), counter)
    LLVMBuildBr(builder, checkBlock)

    LLVMPositionBuilderAtEnd(builder, exitBlock)
  }

  /// For `local = value`: the argument of `value`, a call, whose value can move out of
  /// `local` because the callee consumes it and nothing else in `value` mentions `local`
  /// (the assignment replaces it right after the call).
  private func moveIntoCall(of local: LocalID, _ value: IRExpr) -> (local: LocalID, argument: Int)?
  {
    guard case .call(let id, let arguments) = value.kind else { return nil }
    let consumed = module.consumedParameters(of: id)
    guard
      let position = arguments.indices.first(where: { position in
        guard consumed[position],
          case .local(let argument) = arguments[position].kind
        else { return false }
        return argument == local
      })
    else { return nil }
    var uses = LocalUses()
    for (other, argument) in arguments.enumerated() where other != position {
      uses.visit(argument)
    }
    return uses.mentioned.contains(local.index) ? nil : (local, position)
  }

  /// Runs `emitLoop` with the local arrays the loop writes elements of, and never copies,
  /// made unique once at its entry: no second reference to them can come to exist in the
  /// loop (`LocalUses`), so they stay unique and its writes skip the check, which
  /// lets the optimiser keep their storage and length in registers.
  private func withUniqueArrays(
    in body: IRBlock, alsoIn expressions: [IRExpr] = [], _ emitLoop: () -> Void
  ) {
    var writes = LocalUses()
    writes.visit(body)
    for expression in expressions { writes.visit(expression) }
    let saved = uniqueLocals
    for index in writes.inPlace.sorted() where !uniqueLocals.contains(index) && !isTerminated {
      guard let slot = slots[index], let element = function.locals[index].type.element else {
        continue
      }
      let array = LLVMBuildLoad2(builder, module.pointerType, slot, "")!
      LLVMBuildStore(builder, uniqueArray(array, of: element), slot)
      uniqueLocals.insert(index)
    }
    emitLoop()
    uniqueLocals = saved
  }

  /// Operators and casts chain to the left (`a + b + c` is `(a + b) + c`, `x as T as U` is
  /// `(x as T) as U`): the left spine is emitted from its innermost operand outwards in a
  /// loop, so chains of any length need no deeper stack than one link.
  private func emitChain(_ expr: IRExpr) -> EmittedValue {
    var outer: [IRExpr] = []
    var node = expr
    spine: while true {
      switch node.kind {
      case .binary(_, let left, _), .logical(_, let left, _), .cast(let left):
        outer.append(node)
        node = left
      default:
        break spine
      }
    }
    var value = emitExpr(node)
    for link in outer.reversed() {
      switch link.kind {
      case .binary(let op, let left, let right):
        value = emitBinary(op, value, type: left.type, right, span: link.span)
      case .logical(let isAnd, _, let right):
        value = emitLogical(isAnd: isAnd, value, right)
      case .cast(let operand):
        value = EmittedValue(
          value: value.value.map { module.emitCast($0, from: operand.type, to: link.type) },
          owned: false)
      default:
        preconditionFailure("only operators and casts are links of a chain")
      }
    }
    return value
  }

  /// `emitted`, an operand of type `type`, held while the operands `later` are emitted.
  /// A value borrowed from a local is valid only while the local holds it, so one that a
  /// later operand could change (`f(a, a.pop())`, `a[{ a = b; 0 }]`) is made owned first;
  /// an owned one that a later operand could leave by `return`, `break` or `continue` is
  /// put in a scope of its own, which leaving releases. The operation using the operands
  /// ends the holds (`endHolds`) once the later ones are emitted.
  private func hold(_ emitted: EmittedValue, type: IRType, across later: ArraySlice<IRExpr>)
    -> EmittedValue
  {
    guard let value = emitted.value, module.isManaged(type), !later.isEmpty else {
      return emitted
    }
    var uses = LocalUses()
    for expression in later { uses.visit(expression) }
    let held = uses.changed.isEmpty ? emitted : makeOwned(emitted, type: type)
    if held.owned, uses.exits {
      let slot = entryBlockAlloca(module.llvmType(type), "held")
      LLVMBuildStore(builder, value, slot)
      scopes.append([(slot, type)])
    }
    return held
  }

  /// The values of `expressions`, emitted in order and each owned (held while the later
  /// ones are emitted): elements and fields of a new value.
  private func emitOwnedInOrder(_ expressions: [IRExpr]) -> [LLVMValueRef?] {
    let depth = scopes.count
    let values = expressions.enumerated().map { position, expression in
      hold(
        makeOwned(emitExpr(expression), type: expression.type), type: expression.type,
        across: expressions[(position + 1)...]
      ).value
    }
    endHolds(downTo: depth)
    return values
  }

  /// Ends the holds made since there were `depth` scopes: their operands are in use now.
  private func endHolds(downTo depth: Int) { scopes.removeLast(scopes.count - depth) }

  /// Arguments are borrowed by the callee, except those at `consumed` positions, whose
  /// references the callee takes: an owned temporary, the value of the local `moving` says
  /// (its slot left holding the zero value), or a retained one. Owned temporaries the callee
  /// borrows are released after the call; `heldDuringCall`, in a dev build, they are held
  /// during it too, so a frame restart that unwinds the call releases them.
  private func emitArguments(
    _ arguments: [IRExpr], consumed: [Bool]? = nil, moving: (local: LocalID, argument: Int)? = nil,
    heldDuringCall: Bool = false
  ) -> ([LLVMValueRef?], () -> Void) {
    var values: [LLVMValueRef?] = []
    var owned: [(LLVMValueRef, IRType)] = []
    let consumed = consumed ?? Array(repeating: false, count: arguments.count)
    let depth = scopes.count
    for (position, argument) in arguments.enumerated() {
      var emitted = emitExpr(argument)
      if consumed[position] {
        if let moving, moving.argument == position, let slot = slots[moving.local.index] {
          LLVMBuildStore(builder, module.zeroValue(of: argument.type), slot)
          emitted.owned = true
        } else {
          emitted = makeOwned(emitted, type: argument.type)
        }
      }
      emitted = hold(emitted, type: argument.type, across: arguments[(position + 1)...])
      values.append(emitted.value)
      if !consumed[position], module.isManaged(argument.type), emitted.owned,
        let value = emitted.value
      {
        owned.append((value, argument.type))
      }
    }
    endHolds(downTo: depth)
    let holds = heldDuringCall && module.unwindDestination != nil && !owned.isEmpty && !isTerminated
    if holds {
      scopes.append(
        owned.map { value, type in
          let slot = entryBlockAlloca(module.llvmType(type), "argument")
          LLVMBuildStore(builder, value, slot)
          return (slot, type)
        })
    }
    return (
      values,
      { [self] in
        if holds { endHolds(downTo: depth) }
        for (value, type) in owned { module.emitRelease(value, of: type) }
      }
    )
  }

  private func afterCall(_ result: LLVMValueRef, type: IRType) -> EmittedValue {
    if type == .never {
      markUnreachable()
      return .none
    }
    return ModuleEmitter.hasValue(type)
      ? EmittedValue(value: result, owned: module.isManaged(type)) : .none
  }

  /// The values first, each held while the later ones are emitted, then the text: a
  /// value that leaves by `return`, `break` or `continue` leaves no builder behind.
  private func emitTemplate(_ parts: [IRTemplatePart]) -> EmittedValue {
    let valueExprs = parts.compactMap { part -> IRExpr? in
      if case .value(let valueExpr) = part { return valueExpr }
      return nil
    }
    let depth = scopes.count
    let values = valueExprs.enumerated().map { position, valueExpr in
      hold(emitExpr(valueExpr), type: valueExpr.type, across: valueExprs[(position + 1)...])
    }
    endHolds(downTo: depth)
    guard !isTerminated else { return .none }
    let builderValue = module.callRuntime("holo_builder_new", [])
    var next = 0
    for part in parts {
      switch part {
      case .text(let text):
        guard !text.isEmpty else { continue }
        module.callRuntime(
          "holo_builder_append_bytes",
          [
            builderValue, module.cString(text),
            LLVMConstInt(module.i64Type, UInt64(text.utf8.count), 0),
          ])
      case .value(let valueExpr):
        let emitted = values[next]
        next += 1
        guard let value = emitted.value else { continue }
        module.append(value, of: valueExpr.type, to: builderValue)
        releaseIfOwned(emitted, type: valueExpr.type)
      }
    }
    return EmittedValue(
      value: module.callRuntime("holo_builder_finish", [builderValue]), owned: true)
  }

  private func emitBuiltin(_ builtin: Builtin, _ arguments: [IRExpr], span: Span, type: IRType)
    -> EmittedValue
  {
    switch builtin {
    case .print, .println, .printString, .printlnString:
      if let argument = arguments.first {
        let emitted = emitExpr(argument)
        if let value = emitted.value {
          if argument.type.element != nil || module.isStruct(argument.type) {
            // An array or a struct is formatted into a string first, as a template does.
            let text = module.callRuntime("holo_builder_new", [])
            module.append(value, of: argument.type, to: text)
            let string = module.callRuntime("holo_builder_finish", [text])
            module.callRuntime("holo_print_string", [string])
            module.callRuntime("holo_string_release", [string])
          } else {
            let (suffix, widened) = module.printable(value, of: argument.type)
            module.callRuntime("holo_print_" + suffix, [widened])
          }
          releaseIfOwned(emitted, type: argument.type)
        }
      }
      if builtin == .println || builtin == .printlnString {
        module.callRuntime("holo_print_newline", [])
      }
      return .none
    case .panic:
      guard let message = emitExpr(arguments[0]).value else { return .none }
      module.callRuntime(
        "holo_fail_string", [message, module.locationPointer(function.located(span), in: function)])
      markUnreachable()
      return .none
    case .exit:
      guard let code = emitExpr(arguments[0]).value else { return .none }
      module.callRuntime("holo_exit", [code])
      markUnreachable()
      return .none
    case .stringLen:
      let emitted = emitExpr(arguments[0])
      guard let value = emitted.value else { return .none }
      let length = module.callRuntime("holo_string_len", [value])
      releaseIfOwned(emitted, type: .string)
      return EmittedValue(value: length, owned: false)
    case .stringSlice, .parseI64, .parseF64:
      // Each can fail: the runtime is told where the call is.
      let depth = scopes.count
      let emitted = arguments.enumerated().map { position, argument in
        hold(emitExpr(argument), type: argument.type, across: arguments[(position + 1)...])
      }
      endHolds(downTo: depth)
      guard !isTerminated else { return .none }
      let values = emitted.compactMap(\.value)
      let location = module.locationPointer(function.located(span), in: function)
      let name =
        switch builtin {
        case .stringSlice: "holo_string_slice"
        case .parseI64: "holo_parse_i64"
        default: "holo_parse_f64"
        }
      let result = module.callRuntime(name, values + [location])
      releaseIfOwned(emitted[0], type: .string)
      return EmittedValue(value: result, owned: builtin == .stringSlice)
    case .args:
      return EmittedValue(value: module.callRuntime("holo_args", []), owned: true)
    case .stringBytes, .stringFromBytes:
      let emitted = emitExpr(arguments[0])
      guard let value = emitted.value, !isTerminated else { return .none }
      let result =
        builtin == .stringBytes
        ? module.callRuntime("holo_string_bytes", [value])
        : module.callRuntime(
          "holo_string_from_byte_array",
          [value, module.locationPointer(function.located(span), in: function)])
      releaseIfOwned(emitted, type: arguments[0].type)
      return EmittedValue(value: result, owned: true)
    case .readLine:
      return EmittedValue(value: module.callRuntime("holo_read_line", []), owned: true)
    case .stdinEOF:
      return EmittedValue(value: module.callRuntime("holo_stdin_eof", []), owned: false)
    case .nowMs:
      return EmittedValue(value: module.callRuntime("holo_now_ms", []), owned: false)
    case .sleepMs:
      guard let ms = emitExpr(arguments[0]).value else { return .none }
      module.callRuntime("holo_sleep_ms", [ms])
      return .none
    }
  }

  /// `left && right` or `left || right`, once `left` is emitted.
  private func emitLogical(isAnd: Bool, _ left: EmittedValue, _ right: IRExpr) -> EmittedValue {
    guard let leftValue = left.value, !isTerminated else { return .none }
    let leftEnd = LLVMGetInsertBlock(builder)!
    let rightBlock = appendBlock(isAnd ? "and.rhs" : "or.rhs")
    let mergeBlock = appendBlock(isAnd ? "and.end" : "or.end")
    if isAnd {
      LLVMBuildCondBr(builder, leftValue, rightBlock, mergeBlock)
    } else {
      LLVMBuildCondBr(builder, leftValue, mergeBlock, rightBlock)
    }
    LLVMPositionBuilderAtEnd(builder, rightBlock)
    let rightValue = emitExpr(right).value
    let rightEnd = LLVMGetInsertBlock(builder)!
    let rightReaches = !isTerminated && rightValue != nil
    branch(to: mergeBlock)
    LLVMPositionBuilderAtEnd(builder, mergeBlock)
    let phi = LLVMBuildPhi(builder, module.boolType, "")
    var values: [LLVMValueRef?] = [LLVMConstInt(module.boolType, isAnd ? 0 : 1, 0)]
    var blocks: [LLVMBasicBlockRef?] = [leftEnd]
    if rightReaches {
      values.append(rightValue)
      blocks.append(rightEnd)
    }
    LLVMAddIncoming(phi, &values, &blocks, UInt32(values.count))
    return EmittedValue(value: phi, owned: false)
  }

  /// An `if` / `else if` chain: each arm's condition branches to its body or to the next
  /// arm, and every body that completes branches to one merge block. The value goes through
  /// a stack slot rather than a phi: mem2reg makes the phi when optimising, and a function
  /// too large to optimise keeps the slot, where a phi with an incoming value per arm would
  /// take LLVM's register coalescer time quadratic in the arms.
  private func emitIf(_ arms: [IRIfArm], _ elseBlock: IRBlock?, type: IRType) -> EmittedValue {
    let wantsValue = ModuleEmitter.hasValue(type)
    let slot = wantsValue ? entryBlockAlloca(module.llvmType(type), "if.value") : nil
    let mergeBlock = LLVMCreateBasicBlockInContext(module.context, "if.end")!
    var reachesMerge = false

    // A body that completes stores its value and branches to the merge block; one that
    // cannot complete ends in `unreachable`.
    func finish(_ body: IRBlock) {
      let value = emitBlock(body, wantsValue: wantsValue)
      guard !isTerminated else { return }
      guard body.type != .never else {
        LLVMBuildUnreachable(builder)
        return
      }
      if let slot, let value = value.value { LLVMBuildStore(builder, value, slot) }
      LLVMBuildBr(builder, mergeBlock)
      reachesMerge = true
    }

    var reachesEnd = true
    for arm in arms {
      guard let test = emitExpr(arm.condition).value, !isTerminated else {
        // The condition never completes: the arms after it are unreachable.
        if !isTerminated { LLVMBuildUnreachable(builder) }
        reachesEnd = false
        break
      }
      let thenBlock = appendBlock("if.then")
      let nextBlock = appendBlock("if.else")
      LLVMBuildCondBr(builder, test, thenBlock, nextBlock)
      LLVMPositionBuilderAtEnd(builder, thenBlock)
      finish(arm.body)
      LLVMPositionBuilderAtEnd(builder, nextBlock)
    }
    if reachesEnd, let elseBlock {
      finish(elseBlock)
    } else if reachesEnd {
      LLVMBuildBr(builder, mergeBlock)
      reachesMerge = true
    }

    LLVMAppendExistingBasicBlock(llvmFunction, mergeBlock)
    LLVMPositionBuilderAtEnd(builder, mergeBlock)
    guard reachesMerge else {
      markUnreachable()
      return .none
    }
    guard let slot else { return .none }
    return EmittedValue(
      value: LLVMBuildLoad2(builder, module.llvmType(type), slot, ""), owned: module.isManaged(type)
    )
  }

  // MARK: Arithmetic

  /// `left op right`, once `left` (of type `type`) is emitted.
  private func emitBinary(
    _ op: IRBinaryOperator, _ leftEmitted: EmittedValue, type: IRType, _ right: IRExpr, span: Span
  ) -> EmittedValue {
    let depth = scopes.count
    let left = hold(leftEmitted, type: type, across: [right])
    let rightEmitted = emitExpr(right)
    endHolds(downTo: depth)
    return emitBinary(op, left, type: type, rightEmitted, span: span)
  }

  /// `left op right`, both emitted.
  private func emitBinary(
    _ op: IRBinaryOperator, _ leftEmitted: EmittedValue, type: IRType,
    _ rightEmitted: EmittedValue, span: Span
  ) -> EmittedValue {
    guard let l = leftEmitted.value, let r = rightEmitted.value, !isTerminated else { return .none }
    if module.isManaged(type) || module.isStruct(type) {
      let equal = module.emitEquality(l, r, of: type)
      releaseIfOwned(leftEmitted, type: type)
      releaseIfOwned(rightEmitted, type: type)
      let value = op == .equal ? equal : LLVMBuildNot(builder, equal, "")
      return EmittedValue(value: value, owned: false)
    }
    let value: LLVMValueRef?
    if type.isFloat {
      value = emitFloatBinary(op, l, r)
    } else {
      value = emitIntegerBinary(op, l, r, type: type, span: span)
    }
    return EmittedValue(value: value, owned: false)
  }

  private func emitFloatBinary(_ op: IRBinaryOperator, _ l: LLVMValueRef, _ r: LLVMValueRef)
    -> LLVMValueRef?
  {
    switch op {
    case .add: return LLVMBuildFAdd(builder, l, r, "")
    case .subtract: return LLVMBuildFSub(builder, l, r, "")
    case .multiply: return LLVMBuildFMul(builder, l, r, "")
    case .divide: return LLVMBuildFDiv(builder, l, r, "")
    case .remainder: return LLVMBuildFRem(builder, l, r, "")
    case .equal: return LLVMBuildFCmp(builder, LLVMRealOEQ, l, r, "")
    case .notEqual: return LLVMBuildFCmp(builder, LLVMRealUNE, l, r, "")
    case .less: return LLVMBuildFCmp(builder, LLVMRealOLT, l, r, "")
    case .lessEqual: return LLVMBuildFCmp(builder, LLVMRealOLE, l, r, "")
    case .greater: return LLVMBuildFCmp(builder, LLVMRealOGT, l, r, "")
    case .greaterEqual: return LLVMBuildFCmp(builder, LLVMRealOGE, l, r, "")
    case .bitAnd, .bitOr, .bitXor, .shiftLeft, .shiftRight: return nil
    }
  }

  private func emitIntegerBinary(
    _ op: IRBinaryOperator, _ l: LLVMValueRef, _ r: LLVMValueRef, type: IRType, span: Span
  ) -> LLVMValueRef? {
    let signed = type.isSignedInteger
    let llvmType = module.llvmType(type)
    switch op {
    case .add: return LLVMBuildAdd(builder, l, r, "")
    case .subtract: return LLVMBuildSub(builder, l, r, "")
    case .multiply: return LLVMBuildMul(builder, l, r, "")
    case .divide, .remainder:
      guard type != .bool else { return nil }
      let isDivide = op == .divide
      failIf(
        LLVMBuildICmp(builder, LLVMIntEQ, r, LLVMConstInt(llvmType, 0, 0), ""),
        message: isDivide ? "division by zero" : "modulo by zero", span: span)
      if signed {
        let minimum = LLVMConstInt(llvmType, 1 << UInt64(type.bitWidth - 1), 0)
        let isMinimum = LLVMBuildICmp(builder, LLVMIntEQ, l, minimum, "")
        let isMinusOne = LLVMBuildICmp(builder, LLVMIntEQ, r, LLVMConstAllOnes(llvmType), "")
        failIf(
          LLVMBuildAnd(builder, isMinimum, isMinusOne, ""), message: "integer overflow", span: span)
        return isDivide ? LLVMBuildSDiv(builder, l, r, "") : LLVMBuildSRem(builder, l, r, "")
      }
      return isDivide ? LLVMBuildUDiv(builder, l, r, "") : LLVMBuildURem(builder, l, r, "")
    case .bitAnd: return LLVMBuildAnd(builder, l, r, "")
    case .bitOr: return LLVMBuildOr(builder, l, r, "")
    case .bitXor: return LLVMBuildXor(builder, l, r, "")
    case .shiftLeft, .shiftRight:
      let amount = LLVMBuildAnd(
        builder, r, LLVMConstInt(llvmType, UInt64(type.bitWidth - 1), 0), "")
      if op == .shiftLeft { return LLVMBuildShl(builder, l, amount, "") }
      return signed ? LLVMBuildAShr(builder, l, amount, "") : LLVMBuildLShr(builder, l, amount, "")
    case .equal: return LLVMBuildICmp(builder, LLVMIntEQ, l, r, "")
    case .notEqual: return LLVMBuildICmp(builder, LLVMIntNE, l, r, "")
    case .less: return LLVMBuildICmp(builder, signed ? LLVMIntSLT : LLVMIntULT, l, r, "")
    case .lessEqual: return LLVMBuildICmp(builder, signed ? LLVMIntSLE : LLVMIntULE, l, r, "")
    case .greater: return LLVMBuildICmp(builder, signed ? LLVMIntSGT : LLVMIntUGT, l, r, "")
    case .greaterEqual: return LLVMBuildICmp(builder, signed ? LLVMIntSGE : LLVMIntUGE, l, r, "")
    }
  }

  /// Branches to a runtime failure at `span` when `condition` holds.
  private func failIf(_ condition: LLVMValueRef?, message: String, span: Span) {
    let failBlock = appendBlock("fail")
    let continueBlock = appendBlock("ok")
    LLVMBuildCondBr(builder, condition, failBlock, continueBlock)
    LLVMPositionBuilderAtEnd(builder, failBlock)
    module.callRuntime(
      "holo_fail",
      [module.cString(message), module.locationPointer(function.located(span), in: function)])
    LLVMBuildUnreachable(builder)
    LLVMPositionBuilderAtEnd(builder, continueBlock)
  }
}

extension ModuleEmitter {
  /// Which parameters of `id` the function consumes: in release builds, those of managed
  /// types its body changes, so a caller that has no further use for the value hands its
  /// reference over and the callee's first write needs no copy (`bodies = advance(bodies)`).
  /// Dev builds keep every parameter borrowed: a patch may change a body, never the calling
  /// convention its callers were compiled for.
  func consumedParameters(of id: FunctionID) -> [Bool] {
    guard options.mode == .release else {
      return Array(repeating: false, count: program.function(id).parameters.count)
    }
    if let known = consumedParameterCache[id] { return known }
    let function = program.function(id)
    var uses = LocalUses()
    uses.visit(function.body)
    let consumed = function.parameters.map {
      isManaged(function.locals[$0.index].type) && uses.changed.contains($0.index)
    }
    consumedParameterCache[id] = consumed
    return consumed
  }

  func consumes(_ id: FunctionID, parameter: Int) -> Bool { consumedParameters(of: id)[parameter] }
}

/// The local arrays a loop writes elements of in place and never copies: roots of element
/// assignments that the loop neither reads as a whole value (passing, binding, storing,
/// returning, iterating over it would take a second reference) nor assigns or binds (a
/// `let` in the loop gives it a new, perhaps shared, value). Reading an element or the
/// length takes no reference.
private struct LocalUses {
  private var written: Set<Int> = []
  private var copied: Set<Int> = []
  /// Locals assigned, or whose elements or fields are assigned or changed by a method.
  private(set) var changed: Set<Int> = []
  /// Locals read or changed in any way.
  var mentioned: Set<Int> { copied.union(changed).union(readOnly) }
  private var readOnly: Set<Int> = []
  /// Whether it has a `return`, `break` or `continue`.
  private(set) var exits = false
  private(set) var hasLoops = false
  private(set) var hasCalls = false

  /// Arrays written in place and never copied.
  var inPlace: Set<Int> { written.subtracting(copied) }

  mutating func visit(_ block: IRBlock) {
    for statement in block.statements { visit(statement) }
    if let result = block.result { visit(result) }
  }

  private mutating func visit(_ statement: IRStmt) {
    switch statement.kind {
    case .expression(let value), .assignGlobal(_, let value):
      visit(value)
    case .assign(let id, let value):
      // A new value, perhaps shared: it is not the one made unique.
      copied.insert(id.index)
      changed.insert(id.index)
      visit(value)
    case .letBinding(let id, let value):
      copied.insert(id.index)
      visit(value)
    case .assignElement(let place, let value):
      if case .local(let id) = place.root {
        changed.insert(id.index)
        if case .index? = place.path.first { written.insert(id.index) }
      }
      for index in place.indices { visit(index) }
      visit(value)
    case .whileLoop(let condition, let body):
      hasLoops = true
      visit(condition)
      visit(body)
    case .forLoop(_, let start, let end, _, let body):
      hasLoops = true
      visit(start)
      visit(end)
      visit(body)
    case .forEach(let variable, let array, let body):
      hasLoops = true
      copied.insert(variable.index)
      visit(array)
      visit(body)
    case .breakLoop, .continueLoop, .returnValue(nil):
      exits = true
    case .returnValue(let value?):
      exits = true
      visit(value)
    case .assert(let condition, let message):
      visit(condition)
      if let message { visit(message) }
    }
  }

  mutating func visit(_ expression: IRExpr) {
    switch expression.kind {
    case .integerConstant, .floatConstant, .boolConstant, .stringConstant, .unitConstant,
      .global, .placeValue:
      break
    case .local(let id):
      copied.insert(id.index)
    case .index(let array, let index):
      visitReadOnly(array)
      visit(index)
    case .arrayLength(let array):
      visitReadOnly(array)
    case .template(let parts):
      for case .value(let value) in parts { visit(value) }
    case .call(_, let arguments):
      hasCalls = true
      for argument in arguments { visit(argument) }
    case .callExtern(_, let arguments),
      .callBuiltin(_, let arguments), .arrayLiteral(let arguments),
      .structLiteral(let arguments):
      for argument in arguments { visit(argument) }
    case .field(let base, _):
      visit(base)
    case .arrayMutation(_, let place, let arguments):
      if case .local(let id) = place.root { changed.insert(id.index) }
      for index in place.indices { visit(index) }
      for argument in arguments { visit(argument) }
    case .unary(_, let operand), .cast(let operand):
      visit(operand)
    case .binary(_, let left, let right), .logical(_, let left, let right),
      .arrayRepeat(let left, let right):
      visit(left)
      visit(right)
    case .block(let block):
      visit(block)
    case .ifElse(let arms, let elseBlock):
      for arm in arms {
        visit(arm.condition)
        visit(arm.body)
      }
      if let elseBlock { visit(elseBlock) }
    }
  }

  /// An array read from, not copied: a local there takes no reference.
  private mutating func visitReadOnly(_ array: IRExpr) {
    if case .local(let id) = array.kind {
      readOnly.insert(id.index)
      return
    }
    visit(array)
  }
}

extension ModuleEmitter {
  /// `as` (LANGUAGE.md §6): int→int truncates or extends by the source's signedness,
  /// float→int saturates with NaN → 0, int→float rounds to nearest.
  func emitCast(_ value: LLVMValueRef, from source: IRType, to target: IRType)
    -> LLVMValueRef
  {
    let targetType = llvmType(target)
    if source == .bool { return LLVMBuildZExt(builder, value, targetType, "") }
    if source.isInteger, target.isInteger {
      if source.bitWidth == target.bitWidth { return value }
      if source.bitWidth > target.bitWidth { return LLVMBuildTrunc(builder, value, targetType, "") }
      return source.isSignedInteger
        ? LLVMBuildSExt(builder, value, targetType, "")
        : LLVMBuildZExt(builder, value, targetType, "")
    }
    if source.isInteger {
      return source.isSignedInteger
        ? LLVMBuildSIToFP(builder, value, targetType, "")
        : LLVMBuildUIToFP(builder, value, targetType, "")
    }
    if target.isFloat {
      return source.bitWidth < target.bitWidth
        ? LLVMBuildFPExt(builder, value, targetType, "")
        : LLVMBuildFPTrunc(builder, value, targetType, "")
    }
    let name =
      "llvm.\(target.isSignedInteger ? "fptosi" : "fptoui").sat.i\(target.bitWidth).f\(source.bitWidth)"
    var parameters: [LLVMTypeRef?] = [llvmType(source)]
    let functionType = LLVMFunctionType(targetType, &parameters, 1, 0)
    let intrinsic =
      LLVMGetNamedFunction(module, name)
      ?? LLVMAddFunction(module, name, functionType)
    var arguments: [LLVMValueRef?] = [value]
    return LLVMBuildCall2(builder, functionType, intrinsic, &arguments, 1, "")
  }
}
