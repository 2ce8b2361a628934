import CLLVM
import HoloIR

/// The C side of `extern fn` and `export fn` (LANGUAGE.md §10). Scalars map one to one; a
/// `string` crosses as `holo_str { const char *ptr; int64_t len; }` by value, which the
/// x86-64 System V ABI passes in two registers (so two LLVM parameters) and returns in two
/// (an LLVM `{ ptr, i64 }`). `bool` is zero-extended.
extension ModuleEmitter {
  var cStringType: LLVMTypeRef {
    var fields: [LLVMTypeRef?] = [pointerType, i64Type]
    return LLVMStructTypeInContext(context, &fields, 2, 0)
  }

  /// The LLVM type of a C function with holo parameter and result types.
  func cFunctionType(parameters: [IRType], result: IRType) -> LLVMTypeRef {
    var lowered: [LLVMTypeRef?] = parameters.flatMap { type -> [LLVMTypeRef] in
      type == .string ? [pointerType, i64Type] : [llvmType(type)]
    }
    let resultType = result == .string ? cStringType : returnLLVMType(result)
    return LLVMFunctionType(resultType, &lowered, UInt32(lowered.count), 0)!
  }

  /// Marks `bool` and `u8` parameters and results zero-extended, as the C ABI wants.
  func addCAttributes(to function: LLVMValueRef, parameters: [IRType], result: IRType) {
    var index: UInt32 = 1
    for type in parameters {
      if type == .bool || type == .u8 { addAttribute("zeroext", to: function, index: index) }
      index += type == .string ? 2 : 1
    }
    if result == .bool || result == .u8 { addAttribute("zeroext", to: function, index: 0) }
  }

  func externFunction(_ id: ExternID) -> (LLVMValueRef, LLVMTypeRef) {
    if let known = externFunctions[id] { return known }
    let external = program.external(id)
    let type = cFunctionType(parameters: external.parameterTypes, result: external.returnType)
    let value =
      LLVMGetNamedFunction(module, external.name) ?? LLVMAddFunction(module, external.name, type)!
    addCAttributes(to: value, parameters: external.parameterTypes, result: external.returnType)
    externFunctions[id] = (value, type)
    return (value, type)
  }

  /// The `holo_str` view of a holo string: its bytes and length (no reference changes).
  func holoStrParts(of string: LLVMValueRef) -> (bytes: LLVMValueRef, length: LLVMValueRef) {
    var bytesOffset: [LLVMValueRef?] = [LLVMConstInt(i64Type, 16, 0)]
    let bytes = LLVMBuildInBoundsGEP2(builder, i8Type, string, &bytesOffset, 1, "")!
    var lengthOffset: [LLVMValueRef?] = [LLVMConstInt(i64Type, 8, 0)]
    let lengthAddress = LLVMBuildInBoundsGEP2(builder, i8Type, string, &lengthOffset, 1, "")
    return (bytes, LLVMBuildLoad2(builder, i64Type, lengthAddress, "")!)
  }

  /// A C entry point for an `export fn`, under its plain name: it converts `holo_str`
  /// arguments to holo strings, calls the function (through its slot in dev builds, so a
  /// C host runs patched code too) and hands a string result to C as a `holo_str` whose
  /// reference the caller owns (`holo_str_release`).
  func emitExportWrapper(_ function: IRFunction) {
    let parameterTypes = function.parameterTypes
    let type = cFunctionType(parameters: parameterTypes, result: function.returnType)
    let wrapper = LLVMAddFunction(module, function.name, type)!
    addCAttributes(to: wrapper, parameters: parameterTypes, result: function.returnType)
    addAttribute("nounwind", to: wrapper)
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, wrapper, "entry"))
    var arguments: [LLVMValueRef?] = []
    var copies: [LLVMValueRef] = []
    var index: UInt32 = 0
    for parameterType in parameterTypes {
      if parameterType == .string {
        let copy = callRuntime(
          "holo_string_from_bytes",
          [LLVMGetParam(wrapper, index), LLVMGetParam(wrapper, index + 1)])
        copies.append(copy)
        arguments.append(copy)
        index += 2
      } else {
        arguments.append(LLVMGetParam(wrapper, index))
        index += 1
      }
    }
    let result = emitCall(function.id, arguments: arguments)
    for copy in copies { callRuntime("holo_string_release", [copy]) }
    switch function.returnType {
    case .unit, .never:
      LLVMBuildRetVoid(builder)
    case .string:
      let (bytes, length) = holoStrParts(of: result)
      var value = LLVMGetUndef(cStringType)
      value = LLVMBuildInsertValue(builder, value, bytes, 0, "")
      value = LLVMBuildInsertValue(builder, value, length, 1, "")
      LLVMBuildRet(builder, value)
    default:
      LLVMBuildRet(builder, result)
    }
  }
}
