import HoloSource

// The untyped syntax tree produced by `Parser`. Every node carries the span of its source
// text. Names are not resolved here; semantic analysis does that.

public struct Identifier: Hashable, Sendable {
  public var name: String
  public var span: Span
  public init(_ name: String, span: Span) {
    self.name = name
    self.span = span
  }
}

/// A written type: `i64`, `string`, `()` (spelled as name "()"), `[T]`, ... Resolved by
/// sema.
public struct TypeSyntax: Hashable, Sendable {
  /// As written, without spaces: `i64`, `[[f64]]`.
  public var name: String
  public var span: Span
  /// At most one: `T` of `[T]` (an array, since a struct cannot hold itself).
  private var elements: [TypeSyntax]
  public init(name: String, span: Span) {
    self.name = name
    self.span = span
    elements = []
  }

  /// `[element]`.
  public init(arrayOf element: TypeSyntax, span: Span) {
    name = "[\(element.name)]"
    self.span = span
    elements = [element]
  }

  /// The element type of an array type.
  public var element: TypeSyntax? { elements.first }
}

/// The type suffix of a numeric literal (`10i64`, `2.0f32`).
public enum LiteralSuffix: String, Hashable, Sendable {
  case u8, i32, i64, u32, u64, f32, f64
}

/// A parsed `.holo` file.
public struct FileSyntax: Sendable {
  public var file: FileID
  public var items: [Item]
  /// Where each item is in the file, from its first token to the end of its last.
  public var extents: [Range<Int>]
  public init(file: FileID, items: [Item], extents: [Range<Int>]) {
    self.file = file
    self.items = items
    self.extents = extents
  }
}

public enum Item: Sendable {
  case function(FunctionDecl)
  case externFunction(ExternFunctionDecl)
  case importDecl(ImportDecl)
  case global(GlobalDecl)
  case structure(StructDecl)
  /// A top-level statement: part of the implicit script body.
  case statement(Stmt)
}

public struct Param: Sendable {
  public var name: Identifier
  public var type: TypeSyntax
  public var span: Span
  public init(name: Identifier, type: TypeSyntax, span: Span) {
    self.name = name
    self.type = type
    self.span = span
  }
}

public struct FunctionDecl: Sendable {
  public var name: Identifier
  public var params: [Param]
  /// nil when `-> R` is left out (the return type is `()`).
  public var returnType: TypeSyntax?
  public var body: Block
  /// Marked `#[test]`.
  public var isTest: Bool
  /// Declared `export fn`.
  public var isExport: Bool
  /// From the first attribute or keyword to the closing brace.
  public var span: Span
  /// From `fn` (or `export`) to the end of the return type: what a diagnostic about the
  /// signature points at.
  public var signatureSpan: Span

  public init(
    name: Identifier, params: [Param], returnType: TypeSyntax?, body: Block, isTest: Bool,
    isExport: Bool, span: Span, signatureSpan: Span
  ) {
    self.name = name
    self.params = params
    self.returnType = returnType
    self.body = body
    self.isTest = isTest
    self.isExport = isExport
    self.span = span
    self.signatureSpan = signatureSpan
  }
}

/// `extern fn name(a: T) -> R;`
public struct ExternFunctionDecl: Sendable {
  public var name: Identifier
  public var params: [Param]
  public var returnType: TypeSyntax?
  public var span: Span
  public init(name: Identifier, params: [Param], returnType: TypeSyntax?, span: Span) {
    self.name = name
    self.params = params
    self.returnType = returnType
    self.span = span
  }
}

/// `global name: T = value;`: a mutable global, initialised before the entry point runs.
public struct GlobalDecl: Sendable {
  public var name: Identifier
  public var type: TypeSyntax
  public var value: Expr
  /// From `global` to the `;`.
  public var span: Span
  public init(name: Identifier, type: TypeSyntax, value: Expr, span: Span) {
    self.name = name
    self.type = type
    self.value = value
    self.span = span
  }
}

/// `struct Name { field: T, other: U = default }`.
public struct StructDecl: Sendable {
  public struct Field: Sendable {
    public var name: Identifier
    public var type: TypeSyntax
    /// A constant expression, used when a literal leaves the field out.
    public var defaultValue: Expr?
    public init(name: Identifier, type: TypeSyntax, defaultValue: Expr?) {
      self.name = name
      self.type = type
      self.defaultValue = defaultValue
    }
  }

  public var name: Identifier
  public var fields: [Field]
  /// From `struct` to `}`.
  public var span: Span
  public init(name: Identifier, fields: [Field], span: Span) {
    self.name = name
    self.fields = fields
    self.span = span
  }
}

/// One `field: value` of a struct literal.
public struct FieldValue: Sendable {
  public var name: Identifier
  public var value: Expr
  public init(name: Identifier, value: Expr) {
    self.name = name
    self.value = value
  }
}

/// `import a.b;` names file `a/b.holo` relative to the importing file's folder.
public struct ImportDecl: Sendable {
  public var path: [Identifier]
  public var span: Span
  public init(path: [Identifier], span: Span) {
    self.path = path
    self.span = span
  }
}

public struct Block: Sendable {
  public let statements: [Stmt]
  /// From `{` to `}`.
  public var span: Span
  /// See `Expr.height`.
  public let height: Int
  public init(statements: [Stmt], span: Span) {
    self.statements = statements
    self.span = span
    height = 1 + (statements.map(\.height).max() ?? 0)
  }
}

public enum AssignOperator: String, Sendable {
  case add = "+="
  case subtract = "-="
  case multiply = "*="
  case divide = "/="
  case remainder = "%="
  case bitAnd = "&="
  case bitOr = "|="
  case bitXor = "^="
  case shiftLeft = "<<="
  case shiftRight = ">>="

  /// The binary operator a compound assignment applies.
  public var binaryOperator: BinaryOperator {
    switch self {
    case .add: return .add
    case .subtract: return .subtract
    case .multiply: return .multiply
    case .divide: return .divide
    case .remainder: return .remainder
    case .bitAnd: return .bitAnd
    case .bitOr: return .bitOr
    case .bitXor: return .bitXor
    case .shiftLeft: return .shiftLeft
    case .shiftRight: return .shiftRight
    }
  }
}

public struct Stmt: Sendable {
  public let kind: StmtKind
  /// The whole statement, including its `;` when present.
  public var span: Span
  /// See `Expr.height`.
  public let height: Int
  public init(_ kind: StmtKind, span: Span) {
    self.kind = kind
    self.span = span
    height = 1 + kind.childHeight
  }
}

extension StmtKind {
  var childHeight: Int {
    switch self {
    case .letBinding(_, _, let value), .assign(_, _, _, let value), .expression(let value, _):
      return value.height
    case .assignElement(let target, _, _, let value):
      return max(target.height, value.height)
    case .forEach(_, let array, let body):
      return max(array.height, body.height)
    case .whileLoop(let condition, let body):
      return max(condition.height, body.height)
    case .forLoop(_, let start, let end, _, let body):
      return max(start.height, end.height, body.height)
    case .breakLoop, .continueLoop:
      return 0
    case .returnValue(let value):
      return value?.height ?? 0
    }
  }
}

public indirect enum StmtKind: Sendable {
  /// `let name = value;` / `let name: T = value;`
  case letBinding(name: Identifier, type: TypeSyntax?, value: Expr)
  /// `name = value;` (operator nil) or `name += value;` ...; `operatorSpan` covers `=` / `+=`.
  /// `name` is a local or a global.
  case assign(target: Identifier, op: AssignOperator?, operatorSpan: Span, value: Expr)
  /// The same for an element of an array or a field (`a[i] = value`, `es[i].pos.x += 1.0`):
  /// `target` is an `index` or `field` expression whose base is a name or another such
  /// target.
  case assignElement(target: Expr, op: AssignOperator?, operatorSpan: Span, value: Expr)
  /// An expression statement; `hasSemicolon` records a trailing `;` (the block-value rule
  /// treats both the same, but tools may care).
  case expression(Expr, hasSemicolon: Bool)
  case whileLoop(condition: Expr, body: Block)
  /// `for i in start..end { }` or `..=` (inclusive).
  case forLoop(variable: Identifier, start: Expr, end: Expr, inclusive: Bool, body: Block)
  /// `for x in array { }`.
  case forEach(variable: Identifier, array: Expr, body: Block)
  case breakLoop
  case continueLoop
  case returnValue(Expr?)
}

public enum UnaryOperator: String, Sendable {
  case negate = "-"
  case not = "!"
}

public enum BinaryOperator: String, Sendable, CaseIterable {
  case multiply = "*"
  case divide = "/"
  case remainder = "%"
  case add = "+"
  case subtract = "-"
  case shiftLeft = "<<"
  case shiftRight = ">>"
  case bitAnd = "&"
  case bitXor = "^"
  case bitOr = "|"
  case less = "<"
  case lessEqual = "<="
  case greater = ">"
  case greaterEqual = ">="
  case equal = "=="
  case notEqual = "!="
  case logicalAnd = "&&"
  case logicalOr = "||"

  public var isComparison: Bool {
    switch self {
    case .less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual: return true
    default: return false
    }
  }
}

public struct Expr: Sendable {
  public let kind: ExprKind
  public var span: Span
  /// The levels of the tree from this node down to its deepest leaf. Releasing a tree
  /// recurses once per level, so the parser bounds it (`Parser.maximumHeight`).
  public let height: Int
  /// Whether the expression is made only of numeric literals without a suffix, `-`,
  /// parentheses and arithmetic or bitwise operators: it has no type of its own and takes
  /// the one its context expects (LANGUAGE.md §6). Known at construction, so asking is
  /// constant time however large the expression.
  public let isUntypedLiteral: Bool
  public init(_ kind: ExprKind, span: Span) {
    self.kind = kind
    self.span = span
    height = 1 + kind.childHeight
    isUntypedLiteral = kind.isUntypedLiteral
  }
}

extension ExprKind {
  var isUntypedLiteral: Bool {
    switch self {
    case .integerLiteral(_, nil), .floatLiteral(_, nil):
      return true
    case .unary(.negate, let inner, _), .parenthesized(let inner):
      return inner.isUntypedLiteral
    case .binary(let op, let left, let right, _):
      return !op.isComparison && op != .logicalAnd && op != .logicalOr && left.isUntypedLiteral
        && right.isUntypedLiteral
    default:
      return false
    }
  }

  var childHeight: Int {
    switch self {
    case .integerLiteral, .floatLiteral, .boolLiteral, .stringLiteral, .name, .invalid:
      return 0
    case .template(let parts):
      return parts.map { part in
        if case .interpolation(let value) = part { return value.height }
        return 0
      }.max() ?? 0
    case .call(_, let arguments), .arrayLiteral(let arguments):
      return arguments.map(\.height).max() ?? 0
    case .arrayRepeat(let value, let count), .index(let value, let count):
      return max(value.height, count.height)
    case .methodCall(let receiver, _, let arguments):
      return max(receiver.height, arguments.map(\.height).max() ?? 0)
    case .structLiteral(_, let fields):
      return fields.map(\.value.height).max() ?? 0
    case .field(let base, _):
      return base.height
    case .unary(_, let operand, _), .cast(let operand, _), .parenthesized(let operand):
      return operand.height
    case .binary(_, let left, let right, _):
      return max(left.height, right.height)
    case .block(let block):
      return block.height
    case .ifElse(let arms, let elseBlock):
      let armHeights = arms.map { max($0.condition.height, $0.body.height) }
      return max(armHeights.max() ?? 0, elseBlock?.height ?? 0)
    }
  }
}

/// One `if condition { body }` of an `if` / `else if` chain.
public struct IfArm: Sendable {
  public var condition: Expr
  public var body: Block
  /// From this arm's `if` to the end of the chain: the `if` expression that an `else if`
  /// starts, which a diagnostic about the rest of the chain points at.
  public var span: Span
  public init(condition: Expr, body: Block, span: Span) {
    self.condition = condition
    self.body = body
    self.span = span
  }
}

public enum TemplatePart: Sendable {
  case text(String)
  case interpolation(Expr)
}

public indirect enum ExprKind: Sendable {
  /// An integer literal's value (it fits in 64 bits; the lexer reports larger ones).
  case integerLiteral(UInt64, suffix: LiteralSuffix?)
  /// A float literal's text with `_` removed, so f32 and f64 can each round it once.
  /// An integer literal with a float suffix (`3f64`) is a float literal.
  case floatLiteral(String, suffix: LiteralSuffix?)
  case boolLiteral(Bool)
  /// A string literal with escapes already decoded.
  case stringLiteral(String)
  /// A template string: literal text (escapes decoded) and `{expr}` interpolations.
  case template([TemplatePart])
  case name(String)
  /// `callee(args)`; builtins such as `println` and `assert` are ordinary calls here.
  case call(callee: Identifier, arguments: [Expr])
  case unary(UnaryOperator, Expr, operatorSpan: Span)
  case binary(BinaryOperator, Expr, Expr, operatorSpan: Span)
  case cast(Expr, TypeSyntax)
  case block(Block)
  /// `if a { } else if b { } else { }`: the arms in order, then the final `else`. A chain
  /// is a list rather than nested `if`s, so no phase recurses once per `else if`.
  case ifElse(arms: [IfArm], elseBlock: Block?)
  case parenthesized(Expr)
  /// `[a, b, c]` (`[]` when empty).
  case arrayLiteral([Expr])
  /// `[value; count]`.
  case arrayRepeat(value: Expr, count: Expr)
  /// `base[index]`.
  case index(Expr, index: Expr)
  /// `receiver.method(arguments)`.
  case methodCall(receiver: Expr, method: Identifier, arguments: [Expr])
  /// `base.name`.
  case field(Expr, Identifier)
  /// `Name { field: value, ... }`.
  case structLiteral(Identifier, [FieldValue])
  /// Stands in for an expression the parser could not read (already diagnosed).
  case invalid
}
