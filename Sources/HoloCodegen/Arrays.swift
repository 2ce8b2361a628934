import CLLVM
import HoloIR

// Arrays in generated code (LANGUAGE.md §12; the runtime's side is runtime/src/array.c).
// An array value is a pointer to a `holo_array`: a header of four `int64_t` (refcount,
// length, capacity, reserved) and the elements from byte 32. Reads (length, bounds
// checks, elements) are emitted inline, so the optimiser sees them; what allocates or
// copies calls the runtime, with the element type's `holo_element_type`.
//
// Each module makes its own element types and element functions (retain, release,
// equality, printing), internal to it: the runtime is handed them for the call and keeps
// no pointer to them, so a patch's memory is never referenced from an array.

extension ModuleEmitter {
  /// Byte offsets in `holo_array` (runtime/include/holo.h).
  private static let lengthOffset: UInt64 = 8
  private static let dataOffset: UInt64 = 32

  /// `holo_empty_array`: what `[]` and every array's zero value point at.
  var emptyArray: LLVMValueRef {
    runtimeGlobal("holo_empty_array", fields: [i64Type, i64Type, i64Type, i64Type])
  }

  private func runtimeGlobal(_ name: String, fields: [LLVMTypeRef]) -> LLVMValueRef {
    if let known = LLVMGetNamedGlobal(module, name) { return known }
    var fieldTypes: [LLVMTypeRef?] = fields
    let type = LLVMStructTypeInContext(context, &fieldTypes, UInt32(fields.count), 0)
    return LLVMAddGlobal(module, type, name)!
  }

  // MARK: Ownership

  /// Takes a reference to a string or array (nothing for other types).
  func emitRetain(_ value: LLVMValueRef, of type: IRType, on builder: LLVMBuilderRef? = nil) {
    switch type {
    case .string: callRuntime("holo_string_retain", [value], on: builder)
    case .array: callRuntime("holo_array_retain", [value], on: builder)
    case .structure:
      forEachManagedField(of: value, type, on: builder) { emitRetain($0, of: $1, on: builder) }
    default: break
    }
  }

  /// Calls `body` with each field of `value` (a struct) that holds references.
  private func forEachManagedField(
    of value: LLVMValueRef, _ type: IRType, on builder: LLVMBuilderRef?,
    _ body: (LLVMValueRef, IRType) -> Void
  ) {
    guard case .structure(let name) = type else { return }
    for (index, field) in program.structure(named: name).fields.enumerated()
    where isManaged(field.type) {
      body(LLVMBuildExtractValue(builder ?? self.builder, value, UInt32(index), "")!, field.type)
    }
  }

  func isManaged(_ type: IRType) -> Bool { program.isManaged(type) }

  func isStruct(_ type: IRType) -> Bool {
    if case .structure = type { return true }
    return false
  }

  /// The type of field `index` of the struct type `type`.
  func fieldType(of type: IRType, at index: Int) -> IRType {
    guard case .structure(let name) = type else { preconditionFailure("a field of a struct") }
    return program.structure(named: name).fields[index].type
  }

  /// Gives back a reference to a string or array (nothing for other types).
  func emitRelease(_ value: LLVMValueRef, of type: IRType, on builder: LLVMBuilderRef? = nil) {
    switch type {
    case .string: callRuntime("holo_string_release", [value], on: builder)
    case .array(let element):
      callRuntime("holo_array_release", [value, elementType(of: element)], on: builder)
    case .structure:
      forEachManagedField(of: value, type, on: builder) { emitRelease($0, of: $1, on: builder) }
    default: break
    }
  }

  // MARK: Reading arrays

  func arrayLength(_ array: LLVMValueRef) -> LLVMValueRef {
    headerAccess(LLVMBuildLoad2(builder, i64Type, bytePointer(array, Self.lengthOffset), "length")!)
  }

  /// The reference count of `array`.
  func arrayReferenceCount(_ array: LLVMValueRef) -> LLVMValueRef {
    headerAccess(LLVMBuildLoad2(builder, i64Type, array, "refcount")!)
  }

  /// Marks a load of an array's header: type-based alias analysis then knows that no
  /// store to an element changes a length or a reference count, so loops keep them in
  /// registers (a byte store could otherwise alias anything).
  private func headerAccess(_ instruction: LLVMValueRef) -> LLVMValueRef {
    LLVMSetMetadata(instruction, tbaaKind, aliasTag("header"))
    return instruction
  }

  /// Marks a load or store of an array's element.
  @discardableResult
  private func elementAccess(_ instruction: LLVMValueRef) -> LLVMValueRef {
    LLVMSetMetadata(instruction, tbaaKind, aliasTag("element"))
    return instruction
  }

  private var tbaaKind: UInt32 { LLVMGetMDKindIDInContext(context, "tbaa", 4) }

  /// The TBAA access tag of `name` under holo's own root: headers and elements are two
  /// types that never alias each other (only the runtime, behind calls, sees both).
  private func aliasTag(_ name: String) -> LLVMValueRef {
    if let known = aliasTags[name] { return known }
    let string = { (text: String) in LLVMMDStringInContext2(self.context, text, text.utf8.count) }
    let node = { (operands: [LLVMMetadataRef?]) -> LLVMMetadataRef in
      var operands = operands
      return LLVMMDNodeInContext2(self.context, &operands, operands.count)!
    }
    let zero = LLVMValueAsMetadata(LLVMConstInt(i64Type, 0, 0))
    let root = node([string("holo arrays")])
    let type = node([string("holo array \(name)"), root, zero])
    let tag = LLVMMetadataAsValue(context, node([type, type, zero]))!
    aliasTags[name] = tag
    return tag
  }

  /// The address of element `index` of `array` (of elements of type `element`).
  func elementAddress(_ array: LLVMValueRef, _ index: LLVMValueRef, of element: IRType)
    -> LLVMValueRef
  {
    var indices: [LLVMValueRef?] = [index]
    return LLVMBuildInBoundsGEP2(
      builder, storageType(element), bytePointer(array, Self.dataOffset), &indices, 1, "")!
  }

  /// The LLVM type an element is stored as: one of its stride (bool is a byte).
  func storageType(_ type: IRType) -> LLVMTypeRef {
    type == .bool ? i8Type : llvmType(type)
  }

  /// Loads an element of type `type` from `address`.
  func loadElement(_ address: LLVMValueRef, of type: IRType, on builder: LLVMBuilderRef? = nil)
    -> LLVMValueRef
  {
    let builder = builder ?? self.builder
    let loaded = elementAccess(LLVMBuildLoad2(builder, storageType(type), address, "")!)
    return type == .bool ? LLVMBuildTrunc(builder, loaded, boolType, "")! : loaded
  }

  /// Stores `value` of type `type` at an element's `address`.
  func storeElement(_ value: LLVMValueRef, of type: IRType, at address: LLVMValueRef) {
    let stored = type == .bool ? LLVMBuildZExt(builder, value, i8Type, "")! : value
    elementAccess(LLVMBuildStore(builder, stored, address)!)
  }

  private func bytePointer(_ base: LLVMValueRef, _ offset: UInt64) -> LLVMValueRef {
    var indices: [LLVMValueRef?] = [LLVMConstInt(i64Type, offset, 0)]
    return LLVMBuildInBoundsGEP2(builder, i8Type, base, &indices, 1, "")!
  }

  /// A private constant holding `elements`, when each is a numeric or bool constant of
  /// `type`, as they are stored in an array; else nil.
  func constantElements(_ elements: [IRExpr], of type: IRType) -> LLVMValueRef? {
    guard type.isNumeric || type == .bool else { return nil }
    let storage = storageType(type)
    var values: [LLVMValueRef?] = []
    values.reserveCapacity(elements.count)
    for element in elements {
      switch element.kind {
      case .integerConstant(let bits): values.append(LLVMConstInt(storage, bits, 0))
      case .floatConstant(let value): values.append(LLVMConstReal(storage, value))
      case .boolConstant(let value): values.append(LLVMConstInt(storage, value ? 1 : 0, 0))
      default: return nil
      }
    }
    let array = LLVMConstArray2(storage, &values, UInt64(values.count))!
    let global = LLVMAddGlobal(module, LLVMTypeOf(array), "holo.elements")!
    LLVMSetInitializer(global, array)
    LLVMSetGlobalConstant(global, 1)
    LLVMSetLinkage(global, LLVMPrivateLinkage)
    LLVMSetUnnamedAddress(global, LLVMGlobalUnnamedAddr)
    return global
  }

  // MARK: Element types and functions

  /// A pointer to the `holo_element_type` of `type`.
  func elementType(of type: IRType) -> LLVMValueRef {
    if type == .string {
      return runtimeGlobal(
        "holo_string_element_type", fields: [i64Type, i64Type, pointerType, pointerType])
    }
    if let known = elementTypes[type] { return known }
    let managed = isManaged(type)
    var fields: [LLVMValueRef?] = [
      LLVMConstInt(i64Type, storageSize(of: type), 0),
      LLVMConstInt(i64Type, UInt64(storageAlignment(of: type)), 0),
      managed ? retainElement(of: type) : LLVMConstNull(pointerType),
      managed ? releaseElement(of: type) : LLVMConstNull(pointerType),
    ]
    let value = LLVMConstStructInContext(context, &fields, 4, 0)!
    let global = LLVMAddGlobal(module, LLVMTypeOf(value), "holo.element_type.\(type)")!
    LLVMSetInitializer(global, value)
    LLVMSetGlobalConstant(global, 1)
    LLVMSetLinkage(global, LLVMPrivateLinkage)
    elementTypes[type] = global
    return global
  }

  /// Bytes a value of `type` takes in memory, a multiple of its alignment: C's layout.
  func storageSize(of type: IRType) -> UInt64 {
    LLVMABISizeOfType(LLVMGetModuleDataLayout(module), storageType(type))
  }

  func storageAlignment(of type: IRType) -> UInt32 {
    LLVMABIAlignmentOfType(LLVMGetModuleDataLayout(module), storageType(type))
  }

  /// `void (void *element)`: retains the element at the pointer.
  private func retainElement(of type: IRType) -> LLVMValueRef {
    elementFunction("retain", of: type, returning: voidType, parameters: [pointerType]) {
      builder, function in
      let value = self.loadElement(LLVMGetParam(function, 0), of: type, on: builder)
      self.emitRetain(value, of: type, on: builder)
      LLVMBuildRetVoid(builder)
    }
  }

  /// `void (void *element)`: releases the element at the pointer.
  private func releaseElement(of type: IRType) -> LLVMValueRef {
    elementFunction("release", of: type, returning: voidType, parameters: [pointerType]) {
      builder, function in
      let value = self.loadElement(LLVMGetParam(function, 0), of: type, on: builder)
      self.emitRelease(value, of: type, on: builder)
      LLVMBuildRetVoid(builder)
    }
  }

  /// `bool (const void *, const void *)` comparing two elements as `==` does; null for
  /// types whose bytes say it (integers, bool: no padding, one representation per value).
  func elementEquality(of type: IRType) -> LLVMValueRef {
    guard type.isFloat || isManaged(type) || isStruct(type) else {
      return LLVMConstNull(pointerType)
    }
    let function = elementFunction(
      "equal", of: type, returning: boolType, parameters: [pointerType, pointerType]
    ) { builder, function in
      let left = self.loadElement(LLVMGetParam(function, 0), of: type, on: builder)
      let right = self.loadElement(LLVMGetParam(function, 1), of: type, on: builder)
      LLVMBuildRet(builder, self.emitEquality(left, right, of: type, on: builder))
    }
    addAttribute("zeroext", to: function, index: 0)
    return function
  }

  /// `left == right` for values of `type` that `==` accepts.
  func emitEquality(
    _ left: LLVMValueRef, _ right: LLVMValueRef, of type: IRType,
    on builder: LLVMBuilderRef? = nil
  ) -> LLVMValueRef {
    let builder = builder ?? self.builder
    switch type {
    case .string:
      return callRuntime("holo_string_equal", [left, right], on: builder)
    case .array(let element):
      return callRuntime(
        "holo_array_equal",
        [left, right, elementType(of: element), elementEquality(of: element)], on: builder)
    case .structure(let name):
      // Field by field, all of them (no short cut: they are values, cheap to compare).
      var equal = LLVMConstInt(boolType, 1, 0)!
      for (index, field) in program.structure(named: name).fields.enumerated() {
        let l = LLVMBuildExtractValue(builder, left, UInt32(index), "")!
        let r = LLVMBuildExtractValue(builder, right, UInt32(index), "")!
        equal = LLVMBuildAnd(builder, equal, emitEquality(l, r, of: field.type, on: builder), "")!
      }
      return equal
    case _ where type.isFloat:
      return LLVMBuildFCmp(builder, LLVMRealOEQ, left, right, "")
    default:
      return LLVMBuildICmp(builder, LLVMIntEQ, left, right, "")
    }
  }

  /// `void (holo_builder *, const void *element)`: appends an element as it is printed
  /// inside an array (strings quoted).
  private func elementAppend(of type: IRType) -> LLVMValueRef {
    elementFunction(
      "append", of: type, returning: voidType, parameters: [pointerType, pointerType]
    ) { builder, function in
      let value = self.loadElement(LLVMGetParam(function, 1), of: type, on: builder)
      self.append(value, of: type, to: LLVMGetParam(function, 0), quoted: true, on: builder)
      LLVMBuildRetVoid(builder)
    }
  }

  /// Appends `value` of a printable type to the template builder `textBuilder`; inside an
  /// array (`quoted`) a string is written as a literal.
  func append(
    _ value: LLVMValueRef, of type: IRType, to textBuilder: LLVMValueRef, quoted: Bool = false,
    on builder: LLVMBuilderRef? = nil
  ) {
    let builder = builder ?? self.builder
    switch type {
    case .string:
      callRuntime(
        quoted ? "holo_builder_append_quoted" : "holo_builder_append_string",
        [textBuilder, value], on: builder)
    case .array(let element):
      callRuntime(
        "holo_builder_append_array",
        [textBuilder, value, elementType(of: element), elementAppend(of: element)], on: builder)
    case .structure(let name):
      // `Point { x: 1, y: 2 }`, strings quoted as inside an array.
      let fields = program.structure(named: name).fields
      let text = { (text: String) -> Void in
        self.callRuntime(
          "holo_builder_append_bytes",
          [
            textBuilder, self.cString(text), LLVMConstInt(self.i64Type, UInt64(text.utf8.count), 0),
          ],
          on: builder)
      }
      text(fields.isEmpty ? "\(name) {}" : "\(name) { ")
      for (index, field) in fields.enumerated() {
        text((index == 0 ? "" : ", ") + "\(field.name): ")
        append(
          LLVMBuildExtractValue(builder, value, UInt32(index), "")!, of: field.type,
          to: textBuilder, quoted: true, on: builder)
      }
      if !fields.isEmpty { text(" }") }
    default:
      let (suffix, widened) = printable(value, of: type, on: builder)
      callRuntime("holo_builder_append_" + suffix, [textBuilder, widened], on: builder)
    }
  }

  /// The suffix of the runtime's print and append functions for a scalar type, and the
  /// value widened to what they take.
  func printable(_ value: LLVMValueRef, of type: IRType, on builder: LLVMBuilderRef? = nil)
    -> (suffix: String, value: LLVMValueRef)
  {
    let builder = builder ?? self.builder
    switch type {
    case .i32: return ("i64", LLVMBuildSExt(builder, value, i64Type, "")!)
    case .i64: return ("i64", value)
    case .u8, .u32: return ("u64", LLVMBuildZExt(builder, value, i64Type, "")!)
    case .u64: return ("u64", value)
    case .f32: return ("f32", value)
    case .f64: return ("f64", value)
    case .bool: return ("bool", value)
    default: return ("string", value)
    }
  }

  /// The internal function `holo.element.KIND.TYPE` of this module, made by `body` on its
  /// own builder (the module's may be in the middle of a function).
  private func elementFunction(
    _ kind: String, of type: IRType, returning result: LLVMTypeRef, parameters: [LLVMTypeRef],
    body: (LLVMBuilderRef, LLVMValueRef) -> Void
  ) -> LLVMValueRef {
    let name = "holo.element.\(kind).\(type)"
    if let known = elementFunctions[name] { return known }
    var parameterTypes: [LLVMTypeRef?] = parameters
    let functionType = LLVMFunctionType(
      result, &parameterTypes, UInt32(parameters.count), 0)!
    let function = LLVMAddFunction(module, name, functionType)!
    LLVMSetLinkage(function, LLVMInternalLinkage)
    addAttribute("nounwind", to: function)
    elementFunctions[name] = function
    let builder = LLVMCreateBuilderInContext(context)!
    defer { LLVMDisposeBuilder(builder) }
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, function, "entry"))
    body(builder, function)
    return function
  }
}
