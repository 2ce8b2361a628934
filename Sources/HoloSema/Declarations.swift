import HoloIR
import HoloSource
import HoloSyntax

/// What a project-wide name refers to, as a body sees it.
enum GlobalDefinition {
  case function(FunctionID, FunctionSignature)
  case externFunction(IRExtern)
  /// A global, named by its initializer's id (LANGUAGE.md §3), and its type.
  case global(FunctionID, IRType, nameSpan: Span)
  /// A struct (LANGUAGE.md §11).
  case structure(StructDefinition)

  /// The name in the declaration.
  var nameSpan: Span {
    switch self {
    case .function(_, let signature): return signature.nameSpan
    case .externFunction(let external): return external.span
    case .global(_, _, let nameSpan): return nameSpan
    case .structure(let definition): return definition.nameSpan
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
    case .structure(let definition):
      return GlobalShape(
        kind: .structure, id: 0, parameterTypes: definition.fields.map(\.type),
        returnType: .structure(definition.name), detail: definition.shapeText)
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
    case structure = "struct"
  }

  var kind: Kind
  var id: Int
  /// None for a global.
  var parameterTypes: [IRType]
  /// A global's type.
  var returnType: IRType
  /// A struct's field names and default texts (its types are `parameterTypes`).
  var detail = ""

  var target: IRRead.Target {
    switch kind {
    case .function: return .function(FunctionID(id))
    case .external: return .external(ExternID(id))
    case .global: return .global(FunctionID(id))
    case .structure: return .structure(returnType.description)
    }
  }

  /// The shape as a body record keeps it: all but the id, which only names the
  /// declaration within one database.
  var recorded: String {
    switch kind {
    case .global: return "global:\(returnType)"
    case .structure:
      return "struct(" + parameterTypes.map(\.description).joined(separator: ",") + ")" + detail
    case .function, .external:
      return kind.rawValue + "(" + parameterTypes.map(\.description).joined(separator: ",")
        + ")->\(returnType)"
    }
  }
}

/// A struct as the bodies that use it see it.
struct StructDefinition {
  struct Field {
    var name: String
    var type: IRType
    var defaultValue: Expr?
    var span: Span
  }

  var name: String
  var fields: [Field]
  var nameSpan: Span
  /// Its field names and the texts of its defaults: with the field types, everything a
  /// body's check reads of it.
  var shapeText: String

  func field(named name: String) -> (index: Int, field: Field)? {
    fields.firstIndex { $0.name == name }.map { ($0, fields[$0]) }
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
      // Whether a struct has this name is known once every file is declared:
      // `structNames(in:)` gives what to check.
      return .structure(syntax.name)
    }
  }

  /// The struct names `syntax` mentions, with where: each must name a struct.
  static func structNames(in syntax: TypeSyntax?) -> [(name: String, span: Span)] {
    guard var syntax else { return [] }
    while let element = syntax.element { syntax = element }
    switch syntax.name {
    case "bool", "i32", "i64", "u8", "u32", "u64", "f32", "f64", "string", "()": return []
    default: return [(syntax.name, syntax.span)]
    }
  }

  static func reportUnknownType(_ name: String, at span: Span, _ diagnostics: inout DiagnosticBag) {
    diagnostics.error(
      .unknownType, "unknown type `\(name)`", at: span, labels: [Label(span, "not a type")])
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
