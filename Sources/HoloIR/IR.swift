import HoloSource
import Synchronization

// The typed IR: what semantic analysis produces and codegen consumes. It is a tree like the
// syntax, but every name is resolved (to a local, a function or a builtin), every expression
// has its type, implicit things are explicit (literal types, compound assignment, the
// block-value rule, the script-mode entry function), and spans survive for failure locations.

public indirect enum IRType: Hashable, Sendable, CustomStringConvertible {
  case bool
  case u8, i32, i64, u32, u64
  case f32, f64
  case string
  /// `[T]`: a reference-counted, copy-on-write array (LANGUAGE.md §12).
  case array(IRType)
  /// A struct (LANGUAGE.md §11), named: its name is its identity, and
  /// `IRProgram.structure(named:)` its current fields.
  case structure(String)
  case unit
  /// The type of an expression that never produces a value (`panic`, `exit`, a block
  /// ending in `return`). It fits wherever any type is expected.
  case never

  public var description: String {
    switch self {
    case .bool: return "bool"
    case .u8: return "u8"
    case .i32: return "i32"
    case .i64: return "i64"
    case .u32: return "u32"
    case .u64: return "u64"
    case .f32: return "f32"
    case .f64: return "f64"
    case .string: return "string"
    case .array(let element): return "[\(element)]"
    case .structure(let name): return name
    case .unit: return "()"
    case .never: return "!"
    }
  }

  public var isInteger: Bool { [.u8, .i32, .i64, .u32, .u64].contains(self) }
  public var isSignedInteger: Bool { self == .i32 || self == .i64 }
  public var isFloat: Bool { self == .f32 || self == .f64 }
  public var isNumeric: Bool { isInteger || isFloat }
  /// A value holding references that copies retain and the last owner releases (whether a
  /// struct is one depends on its fields: `IRProgram.isManaged`).
  public var isManaged: Bool {
    switch self {
    case .string, .array: return true
    default: return false
    }
  }
  /// The element type of an array type.
  public var element: IRType? {
    if case .array(let element) = self { return element }
    return nil
  }
  /// Width in bits of numeric and bool types.
  public var bitWidth: Int {
    switch self {
    case .bool: return 1
    case .u8: return 8
    case .i32, .u32, .f32: return 32
    case .i64, .u64, .f64: return 64
    default: return 0
    }
  }
}

public struct FunctionID: Hashable, Sendable, Comparable {
  public let index: Int
  public init(_ index: Int) { self.index = index }
  public static func < (a: FunctionID, b: FunctionID) -> Bool { a.index < b.index }
}

public struct ExternID: Hashable, Sendable {
  public let index: Int
  public init(_ index: Int) { self.index = index }
}

/// A local variable or parameter, numbered within its function.
public struct LocalID: Hashable, Sendable {
  public let index: Int
  public init(_ index: Int) { self.index = index }
}

public struct IRLocal: Sendable {
  public var id: LocalID
  public var name: String
  public var type: IRType
  public var span: Span
  public init(id: LocalID, name: String, type: IRType, span: Span) {
    self.id = id
    self.name = name
    self.type = type
    self.span = span
  }
}

/// Raw values name the cases for fingerprints (a stable encoding, without reflection).
public enum FunctionKind: String, Sendable, Equatable {
  /// A `fn` written by the user.
  case user
  /// `#[test] fn`.
  case test
  /// The body made of a file's top-level statements (script mode).
  case scriptEntry
  /// A global's initializer: no parameters, returns the global's first value. The
  /// program's `globals` say in which order they run.
  case globalInitializer
}

/// A project-wide name a function's body looked up, and what it found there (nil: nothing,
/// so the name was not a function's or an extern's). A body's code is a function of its
/// text and of what each name it read was: these, not the code, are what fingerprints hash.
public struct IRRead: Sendable, Equatable {
  public enum Target: Sendable, Equatable {
    case function(FunctionID)
    case external(ExternID)
    /// A global, by its initializer's id.
    case global(FunctionID)
    /// A struct, by name.
    case structure(String)
  }

  public var name: String
  public var target: Target?

  public init(name: String, target: Target?) {
    self.name = name
    self.target = target
  }
}

public struct IRFunction: Sendable {
  /// What checking the body made: made once, shared by every copy.
  private struct Checked: Sendable {
    let parameters: [LocalID]
    let locals: [IRLocal]
    let body: IRBlock
  }

  /// The checked part of a function whose check was deferred: made by the first reader.
  private final class Deferred: Sendable {
    private let check: @Sendable () -> Checked
    private let made = Mutex<Checked?>(nil)

    init(_ check: @escaping @Sendable () -> Checked) { self.check = check }

    var value: Checked {
      made.withLock { made in
        if let made { return made }
        let checked = check()
        made = checked
        return checked
      }
    }
  }

  /// Everything but where the function is, shared by every copy: copying a function (the
  /// program database hands out the same functions edit after edit) costs one reference.
  private final class Code: Sendable {
    let name: String
    let kind: FunctionKind
    let isExport: Bool
    let parameterTypes: [IRType]
    let returnType: IRType
    let reads: [IRRead]
    /// One of the two: the checked part, or how to make it.
    private let made: Checked?
    private let deferred: Deferred?

    init(
      name: String, kind: FunctionKind, isExport: Bool, parameterTypes: [IRType],
      returnType: IRType, reads: [IRRead], checked: Checked?, deferred: Deferred?
    ) {
      self.name = name
      self.kind = kind
      self.isExport = isExport
      self.parameterTypes = parameterTypes
      self.returnType = returnType
      self.reads = reads
      made = checked
      self.deferred = deferred
    }

    var checked: Checked { made ?? deferred!.value }
  }

  private let code: Code
  public var id: FunctionID
  /// The function's name in its declaration (or the first statement in script mode).
  public var span: Span
  /// Its whole text, from the start of its declaration to the end of its body.
  public var extent: Span
  /// Which analysis of the function this is: the program database gives a function a new
  /// revision each time it checks it again, so two versions of a function with the same
  /// id and revision are the same IR at the same place (what per-function work is keyed by).
  public var revision: Int = 0
  /// How many bytes its text has moved in its file since its body was checked: the spans
  /// inside `body` and `locals` are that far behind (`span` and `extent` are always
  /// current). Moving a function is then O(1) (`shifted(by:)`); read inner spans through
  /// `located(_:)`.
  public private(set) var bodyShift = 0

  public var name: String { code.name }
  public var kind: FunctionKind { code.kind }
  public var isExport: Bool { code.isExport }
  public var parameterTypes: [IRType] { code.parameterTypes }
  public var returnType: IRType { code.returnType }
  /// The names its body read, each once, sorted by name.
  public var reads: [IRRead] { code.reads }
  public var parameters: [LocalID] { code.checked.parameters }
  /// Every local of the function, parameters first; indexed by `LocalID.index`.
  public var locals: [IRLocal] { code.checked.locals }
  public var body: IRBlock { code.checked.body }

  public init(
    id: FunctionID, name: String, kind: FunctionKind, isExport: Bool, parameters: [LocalID],
    locals: [IRLocal], returnType: IRType, body: IRBlock, span: Span, extent: Span? = nil,
    reads: [IRRead] = []
  ) {
    code = Code(
      name: name, kind: kind, isExport: isExport,
      parameterTypes: parameters.map { locals[$0.index].type }, returnType: returnType,
      reads: reads, checked: Checked(parameters: parameters, locals: locals, body: body),
      deferred: nil)
    self.id = id
    self.span = span
    self.extent =
      extent ?? Span(file: span.file, start: span.start, end: max(span.end, body.span.end))
  }

  /// A function whose body is known to check cleanly, with what it reads, but whose code
  /// is made by `check` only when something first needs it (`parameters`, `locals`,
  /// `body`): a build whose other outputs are all cached checks only what changed.
  /// `check` must make this function: the same signature, reads and extent.
  public init(
    deferredID id: FunctionID, name: String, kind: FunctionKind, isExport: Bool,
    parameterTypes: [IRType], returnType: IRType, span: Span, extent: Span, reads: [IRRead],
    check: @escaping @Sendable () -> IRFunction
  ) {
    code = Code(
      name: name, kind: kind, isExport: isExport, parameterTypes: parameterTypes,
      returnType: returnType, reads: reads, checked: nil,
      deferred: Deferred {
        let checked = check()
        return Checked(parameters: checked.parameters, locals: checked.locals, body: checked.body)
      })
    self.id = id
    self.span = span
    self.extent = extent
  }

  /// Where `span`, a span of its body or locals, is in the file now.
  public func located(_ span: Span) -> Span { span.shifted(by: bodyShift) }

  /// The same function, `delta` bytes further into its file.
  public func shifted(by delta: Int) -> IRFunction {
    var moved = self
    moved.span = span.shifted(by: delta)
    moved.extent = extent.shifted(by: delta)
    moved.bodyShift += delta
    return moved
  }
}

/// An `extern fn`: a C function called with the C ABI.
public struct IRExtern: Sendable {
  public var id: ExternID
  public var name: String
  public var parameterTypes: [IRType]
  public var returnType: IRType
  public var span: Span
  public init(id: ExternID, name: String, parameterTypes: [IRType], returnType: IRType, span: Span)
  {
    self.id = id
    self.name = name
    self.parameterTypes = parameterTypes
    self.returnType = returnType
    self.span = span
  }
}

/// A global (LANGUAGE.md §3). Its identity is its initializer's: the function that computes
/// its first value, which the program runs before the entry point and before each test.
public struct IRGlobal: Sendable, Equatable {
  public var initializer: FunctionID
  public var name: String
  public var type: IRType
  public init(initializer: FunctionID, name: String, type: IRType) {
    self.initializer = initializer
    self.name = name
    self.type = type
  }
}

/// A struct's definition: its fields in declaration order.
public struct IRStruct: Sendable, Equatable {
  public struct Field: Sendable, Equatable {
    public var name: String
    public var type: IRType
    /// The field's default, a constant expression (LANGUAGE.md §11).
    public var defaultValue: IRExpr?
    public init(name: String, type: IRType, defaultValue: IRExpr? = nil) {
      self.name = name
      self.type = type
      self.defaultValue = defaultValue
    }

    /// Equal when the names and types are, as layouts go: a default is not part of one
    /// (a literal that takes it is checked again when its text changes).
    public static func == (a: Field, b: Field) -> Bool { a.name == b.name && a.type == b.type }
  }

  public var name: String
  public var fields: [Field]
  public init(name: String, fields: [Field]) {
    self.name = name
    self.fields = fields
  }
}

/// A checked program. Function and extern ids are stable identities (the program database
/// gives each declaration name its own id for as long as it lives), not positions, so look
/// declarations up with `function(_:)` and `external(_:)`.
public struct IRProgram: Sendable {
  /// In declaration order: files in load order, then source order. Chunked, so the
  /// program database's next version shares all but the chunks an edit changed.
  public let functions: ChunkedArray<IRFunction>
  public let externs: [IRExtern]
  /// `fn main()` or the script body; nil when the program has neither (a library for a C
  /// host; run on its own it is an empty program, LANGUAGE.md §3).
  public let entry: FunctionID?
  public let tests: [FunctionID]
  /// In initialisation order: files in load order, then source order.
  public let globals: [IRGlobal]
  /// Every struct, in declaration order.
  public let structs: [IRStruct]
  private let structPositions: [String: Int]
  /// Each struct's name with its layout's digest, `Point#1a2b3c4d5e6f`: how symbols spell it.
  private let structSpellings: [String: String]
  /// Where each function is in `functions`, by `FunctionID.index` (-1: not in the program).
  /// Ids are dense, so an array: building it costs no hashing.
  private let functionPositions: ChunkedArray<Int32>
  private let externPositions: [ExternID: Int]

  public init(
    functions: [IRFunction], externs: [IRExtern], entry: FunctionID?, tests: [FunctionID],
    globals: [IRGlobal] = [], structs: [IRStruct] = []
  ) {
    self.init(
      functions: ChunkedArray(functions), positions: nil, externs: externs, entry: entry,
      tests: tests, globals: globals, structs: structs)
  }

  /// `positions`, when given, says where each function is in `functions` by
  /// `FunctionID.index` (-1 for none): the program database keeps it from edit to edit.
  public init(
    functions: ChunkedArray<IRFunction>, positions: ChunkedArray<Int32>?, externs: [IRExtern],
    entry: FunctionID?, tests: [FunctionID], globals: [IRGlobal] = [], structs: [IRStruct] = []
  ) {
    self.functions = functions
    self.externs = externs
    self.entry = entry
    self.tests = tests
    self.globals = globals
    self.structs = structs
    structPositions = Dictionary(
      structs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    structSpellings = Self.spellings(of: structs, positions: structPositions)
    if let positions {
      functionPositions = positions
    } else {
      var count = 0
      for position in functions.indices { count = max(count, functions[position].id.index + 1) }
      var positions = ChunkedArray<Int32>(repeating: -1, count: count)
      for position in functions.indices.reversed() {
        positions[functions[position].id.index] = Int32(position)
      }
      functionPositions = positions
    }
    externPositions = Dictionary(
      externs.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// The same program with `structs` defined too (a patch's old layouts).
  public func adding(_ structs: [IRStruct]) -> IRProgram {
    IRProgram(
      functions: functions, positions: functionPositions, externs: externs, entry: entry,
      tests: tests, globals: globals, structs: self.structs + structs)
  }

  public func function(_ id: FunctionID) -> IRFunction {
    functions[Int(functionPositions[id.index])]
  }

  /// Where function `id` is and which analysis of it this is, without copying the
  /// function: a save that moves every function of a big file asks for each.
  public func placeAndRevision(of id: FunctionID) -> (span: Span, revision: Int) {
    let position = Int(functionPositions[id.index])
    return (functions[position].span, functions[position].revision)
  }

  /// Whether the program has a function `id`.
  public func contains(_ id: FunctionID) -> Bool {
    id.index < functionPositions.count && functionPositions[id.index] >= 0
  }

  public func external(_ id: ExternID) -> IRExtern { externs[externPositions[id]!] }

  /// The struct named `name` (every struct type in the program has one).
  public func structure(named name: String) -> IRStruct { structs[structPositions[name]!] }

  /// Whether values of `type` hold references (strings, arrays, or structs with such
  /// fields).
  public func isManaged(_ type: IRType) -> Bool {
    if case .structure(let name) = type {
      return structure(named: name).fields.contains { isManaged($0.type) }
    }
    return type.isManaged
  }

  /// How symbols spell `type` (docs/PATCHING.md, "Symbols"): as written, but a struct with
  /// its layout's digest, `Enemy#0f3a…`, at any depth (`[Enemy#0f3a…]`). A struct's digest
  /// covers its fields' names, order and types, spelled the same way, so it changes when
  /// the layout of any struct it holds does: a slot or a global's storage keyed by it is
  /// new whenever the layout of a value it holds is (LANGUAGE.md §13).
  public func spelling(of type: IRType) -> String {
    switch type {
    case .structure(let name): return structSpellings[name] ?? name
    case .array(let element): return "[\(spelling(of: element))]"
    default: return type.description
    }
  }

  private static func spellings(of structs: [IRStruct], positions: [String: Int]) -> [String:
    String]
  {
    // A struct holds itself only through an array (a field holding it by value is an
    // error): inside its own definition it is spelled by name, which ends the recursion.
    // A spelling that met no such cycle is the same in every context: reused.
    var contextFree: [String: String] = [:]
    func spell(_ type: IRType, inside: Set<String>) -> (text: String, metCycle: Bool) {
      switch type {
      case .structure(let name):
        if let known = contextFree[name] { return (known, false) }
        guard let position = positions[name] else { return (name, false) }
        guard !inside.contains(name) else { return (name, true) }
        var metCycle = false
        let fields = structs[position].fields.map { field in
          let spelled = spell(field.type, inside: inside.union([name]))
          metCycle = metCycle || spelled.metCycle
          return "\(field.name):\(spelled.text)"
        }
        let text = "\(name)#\(digestHex("\(name){\(fields.joined(separator: ","))}"))"
        if !metCycle { contextFree[name] = text }
        return (text, metCycle)
      case .array(let element):
        let spelled = spell(element, inside: inside)
        return ("[\(spelled.text)]", spelled.metCycle)
      default: return (type.description, false)
      }
    }
    return Dictionary(
      structs.map { ($0.name, spell(.structure($0.name), inside: []).text) },
      uniquingKeysWith: { first, _ in first })
  }

  /// 12 hex digits of the 64-bit FNV-1a hash of `text`: the same in every process.
  private static func digestHex(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let hex = String(hash >> 16, radix: 16)
    return String(repeating: "0", count: 12 - hex.count) + hex
  }

  /// Every struct's fields: what a change to any layout changes. Dev objects and
  /// fingerprints include it, so no code compiled for one layout is used with another.
  public var layoutsDescription: String {
    structs.map { structure in
      structure.name + "{"
        + structure.fields.map { "\($0.name):\($0.type)" }.joined(separator: ",") + "}"
    }.joined(separator: ";")
  }
}

/// A block's statements and, when its last statement is an expression, that value.
public struct IRBlock: Sendable {
  public var statements: [IRStmt]
  /// The block's value (the last expression statement), nil when the block is `()`.
  public var result: IRExpr?
  /// `result`'s type, `.unit` without one, `.never` when the block cannot complete.
  public var type: IRType
  public var span: Span

  public init(statements: [IRStmt], result: IRExpr?, type: IRType, span: Span) {
    self.statements = statements
    self.result = result
    self.type = type
    self.span = span
  }
}

public struct IRStmt: Sendable {
  public var kind: IRStmtKind
  public var span: Span
  public init(_ kind: IRStmtKind, span: Span) {
    self.kind = kind
    self.span = span
  }
}

public indirect enum IRStmtKind: Sendable {
  /// Declares and initialises a local (a fresh one: shadowing made distinct locals).
  case letBinding(LocalID, IRExpr)
  /// Plain assignment; compound assignment is desugared to `x = x op value`.
  case assign(LocalID, IRExpr)
  /// Assignment to an element: `value` is evaluated first, then the place (its arrays
  /// made unique, its indices checked). Compound assignment is a `binary` whose left
  /// operand is `placeValue`: the element's value at that moment.
  case assignElement(IRPlace, IRExpr)
  /// The same for a global (named by its initializer's id).
  case assignGlobal(FunctionID, IRExpr)
  /// An expression evaluated for its effect; its value (if any) is discarded.
  case expression(IRExpr)
  case whileLoop(condition: IRExpr, body: IRBlock)
  /// `for variable in start..end` / `..=`; `variable` is fresh each iteration.
  case forLoop(variable: LocalID, start: IRExpr, end: IRExpr, inclusive: Bool, body: IRBlock)
  /// `for variable in array`: over the array as it was when the loop started; `variable`
  /// holds a copy of each element.
  case forEach(variable: LocalID, array: IRExpr, body: IRBlock)
  case breakLoop
  case continueLoop
  case returnValue(IRExpr?)
  /// `assert(condition)` / `assert(condition, message)`; the failure points at `condition`.
  case assert(condition: IRExpr, message: IRExpr?)
}

public struct IRExpr: Sendable {
  public var kind: IRExprKind
  public var type: IRType
  /// Where a runtime failure raised by this expression is reported.
  public var span: Span
  public init(_ kind: IRExprKind, type: IRType, span: Span) {
    self.kind = kind
    self.type = type
    self.span = span
  }
}

/// Where a value that code changes lives: a local or a global, then the elements and
/// fields `path` selects, outermost first.
public struct IRPlace: Sendable {
  public enum Root: Sendable {
    case local(LocalID)
    case global(FunctionID)
  }

  public enum Step: Sendable {
    /// An element of an array; the index is an `i64`, and its span is where an
    /// out-of-bounds failure is reported.
    case index(IRExpr)
    /// A field of a struct, by position.
    case field(Int)
  }

  public var root: Root
  /// The root's type.
  public var rootType: IRType
  public var path: [Step]
  /// The type of the value at the place.
  public var type: IRType

  public init(root: Root, rootType: IRType, path: [Step], type: IRType) {
    self.root = root
    self.rootType = rootType
    self.path = path
    self.type = type
  }

  /// The index expressions on the path, in order.
  public var indices: [IRExpr] {
    path.compactMap { step in
      if case .index(let index) = step { return index }
      return nil
    }
  }
}

/// What an array method does to its array (LANGUAGE.md §12). Raw values name the cases
/// for fingerprints.
public enum IRArrayMutation: String, Sendable {
  /// `push(x)`.
  case push
  /// `pop() -> T`; fails on an empty array.
  case pop
  /// `insert(i, x)`: `0 <= i <= len`.
  case insert
  /// `remove(i) -> T`: `0 <= i < len`.
  case remove
  /// `clear()`.
  case clear
}

public enum IRTemplatePart: Sendable {
  case text(String)
  case value(IRExpr)
}

/// Functions provided by the runtime (LANGUAGE.md §8).
public enum Builtin: String, Sendable, CaseIterable {
  case print
  case println
  case printString = "print_string"
  case printlnString = "println_string"
  case panic
  case stringLen = "string_len"
  case stringSlice = "string_slice"
  case parseI64 = "parse_i64"
  case parseF64 = "parse_f64"
  case args
  case stringBytes = "string_bytes"
  case stringFromBytes = "string_from_bytes"
  case readLine = "read_line"
  case stdinEOF = "stdin_eof"
  case nowMs = "now_ms"
  case sleepMs = "sleep_ms"
  case exit

  /// A runtime failure located at the call can come out of it.
  public var canFail: Bool {
    [.panic, .stringSlice, .parseI64, .parseF64, .stringFromBytes].contains(self)
  }
}

/// Raw values name the cases for fingerprints (a stable encoding, without reflection).
public enum IRUnaryOperator: String, Sendable {
  /// Two's complement negation for integers (wrapping), IEEE negation for floats.
  case negate
  case not
}

/// Raw values name the cases for fingerprints (a stable encoding, without reflection).
public enum IRBinaryOperator: String, Sendable {
  case add, subtract, multiply
  /// Integer division fails on zero and on `MIN / -1`.
  case divide
  /// Integer remainder fails on zero and on `MIN % -1`.
  case remainder
  case bitAnd, bitOr, bitXor
  /// Shift amounts are masked to the bit width; `>>` is arithmetic for signed types.
  case shiftLeft, shiftRight
  case equal, notEqual, less, lessEqual, greater, greaterEqual
}

public indirect enum IRExprKind: Sendable {
  /// The bit pattern of an integer constant of the expression's type.
  case integerConstant(UInt64)
  case floatConstant(Double)
  case boolConstant(Bool)
  case stringConstant(String)
  /// The unit value `()`.
  case unitConstant
  case template([IRTemplatePart])
  case local(LocalID)
  /// A global's current value (named by its initializer's id).
  case global(FunctionID)
  case call(FunctionID, [IRExpr])
  case callExtern(ExternID, [IRExpr])
  case callBuiltin(Builtin, [IRExpr])
  case unary(IRUnaryOperator, IRExpr)
  /// Both operands have the same type; comparisons produce `bool`.
  case binary(IRBinaryOperator, IRExpr, IRExpr)
  /// Short-circuit `&&` (`isAnd`) or `||`.
  case logical(isAnd: Bool, IRExpr, IRExpr)
  /// A numeric or bool-to-integer conversion to the expression's type.
  case cast(IRExpr)
  case block(IRBlock)
  /// An `if` / `else if` chain: the first arm whose condition holds runs, else `elseBlock`.
  /// With a value, every block has the expression's type or `never`.
  case ifElse(arms: [IRIfArm], elseBlock: IRBlock?)
  /// `[a, b, c]`: a new array of the expression's type.
  case arrayLiteral([IRExpr])
  /// `[value; count]`; a negative count fails at `count`.
  case arrayRepeat(value: IRExpr, count: IRExpr)
  /// `array[index]`; out of bounds fails at `index`.
  case index(IRExpr, index: IRExpr)
  /// `array.len()`.
  case arrayLength(IRExpr)
  /// A method that changes the array at `place`, with its arguments; its value is the
  /// element `pop` and `remove` take out, else `()`. A failure is reported at the index
  /// argument (`insert`, `remove`) or at the call (`pop`).
  case arrayMutation(IRArrayMutation, IRPlace, [IRExpr])
  /// The current value of the place an `assignElement` assigns: the left operand of a
  /// compound assignment.
  case placeValue
  /// A struct of the expression's type, its fields in declaration order.
  case structLiteral([IRExpr])
  /// A field of a struct, by position.
  case field(IRExpr, Int)
}

public struct IRIfArm: Sendable {
  public var condition: IRExpr
  public var body: IRBlock
  public init(condition: IRExpr, body: IRBlock) {
    self.condition = condition
    self.body = body
  }
}
