import HoloIR
import HoloSource
import HoloSyntax

/// What a project-wide name refers to, as a body sees it.
enum GlobalDefinition {
  case function(FunctionID, FunctionSignature)
  case externFunction(IRExtern)
  /// A global, named by its initializer's id (LANGUAGE.md §3), and its type.
  case global(FunctionID, IRType, nameSpan: Span)

  /// The name in the declaration.
  var nameSpan: Span {
    switch self {
    case .function(_, let signature): return signature.nameSpan
    case .externFunction(let external): return external.span
    case .global(_, _, let nameSpan): return nameSpan
    }
  }

  var shape: GlobalShape {
    switch self {
    case .function(let id, let signature):
      return GlobalShape(
        kind: .function, id: id.index, parameterTypes: signature.parameterTypes,
        returnType: signature.returnType)
    case .externFunction(let external):
      return GlobalShape(
        kind: .external, id: external.id.index, parameterTypes: external.parameterTypes,
        returnType: external.returnType)
    case .global(let id, let type, _):
      return GlobalShape(kind: .global, id: id.index, parameterTypes: [], returnType: type)
    }
  }
}

/// What a body's typed IR can depend on in a definition it looked up: which declaration it
/// is and its types. Names and places of parameters only reach diagnostics, and a body
/// with diagnostics is checked again on every change (`ProgramDatabase`).
struct GlobalShape: Hashable {
  enum Kind: String {
    case function = "fn"
    case external = "extern"
    case global
  }

  var kind: Kind
  var id: Int
  /// None for a global.
  var parameterTypes: [IRType]
  /// A global's type.
  var returnType: IRType

  var target: IRRead.Target {
    switch kind {
    case .function: return .function(FunctionID(id))
    case .external: return .external(ExternID(id))
    case .global: return .global(FunctionID(id))
    }
  }

  /// The shape as a body record keeps it: all but the id, which only names the
  /// declaration within one database.
  var recorded: String {
    kind == .global
      ? "global:\(returnType)"
      : kind.rawValue + "(" + parameterTypes.map(\.description).joined(separator: ",")
        + ")->\(returnType)"
  }
}

/// A function's signature as callers see it.
struct FunctionSignature {
  var name: String
  var parameterNames: [String]
  var parameterTypes: [IRType]
  var parameterSpans: [Span]
  var returnType: IRType
  /// The name in the declaration: where "defined here" labels point.
  var nameSpan: Span
}

/// Resolves written types.
enum TypeResolver {
  static func resolve(_ syntax: TypeSyntax?, diagnostics: inout DiagnosticBag) -> IRType {
    guard let syntax else { return .unit }
    if let element = syntax.element {
      let elementType = resolve(element, diagnostics: &diagnostics)
      guard elementType != .unit else {
        diagnostics.error(
          .unknownType, "an array cannot hold `()`", at: element.span,
          labels: [Label(element.span, "an element needs a value")])
        return .never
      }
      return elementType == .never ? .never : .array(elementType)
    }
    switch syntax.name {
    case "bool": return .bool
    case "i32": return .i32
    case "i64": return .i64
    case "u8": return .u8
    case "u32": return .u32
    case "u64": return .u64
    case "f32": return .f32
    case "f64": return .f64
    case "string": return .string
    case "()": return .unit
    default:
      diagnostics.error(
        .unknownType, "unknown type `\(syntax.name)`", at: syntax.span,
        labels: [Label(syntax.span, "not a type")])
      return .never
    }
  }
}

/// The signatures of the built-in functions that are ordinary calls (LANGUAGE.md §8).
/// `print`/`println` (any printable value) and `assert` are checked specially.
enum BuiltinSignatures {
  static func fixed(_ builtin: Builtin) -> (parameters: [IRType], result: IRType)? {
    switch builtin {
    case .print, .println: return nil
    case .printString, .printlnString: return ([.string], .unit)
    case .panic: return ([.string], .never)
    case .stringLen: return ([.string], .i64)
    case .stringSlice: return ([.string, .i64, .i64], .string)
    case .args: return ([], .array(.string))
    case .stringBytes: return ([.string], .array(.u8))
    case .stringFromBytes: return ([.array(.u8)], .string)
    case .parseI64: return ([.string], .i64)
    case .parseF64: return ([.string], .f64)
    case .readLine: return ([], .string)
    case .stdinEOF: return ([], .bool)
    case .nowMs: return ([], .i64)
    case .sleepMs: return ([.i64], .unit)
    case .exit: return ([.i32], .never)
    }
  }

  static let assertName = "assert"

  static func isBuiltinName(_ name: String) -> Bool {
    name == assertName || Builtin(rawValue: name) != nil
  }
}
