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

/// A written type: `i64`, `string`, `()` (spelled as name "()"), ... Resolved by sema.
public struct TypeSyntax: Hashable, Sendable {
  public var name: String
  public var span: Span
  public init(name: String, span: Span) {
    self.name = name
    self.span = span
  }
}

/// The type suffix of a numeric literal (`10i64`, `2.0f32`).
public enum LiteralSuffix: String, Hashable, Sendable {
  case i32, i64, u32, u64, f32, f64
}

/// A parsed `.holo` file.
public struct FileSyntax: Sendable {
  public var file: FileID
  public var items: [Item]
  public init(file: FileID, items: [Item]) {
    self.file = file
    self.items = items
  }
}

public enum Item: Sendable {
  case function(FunctionDecl)
  case externFunction(ExternFunctionDecl)
  case importDecl(ImportDecl)
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
  public var statements: [Stmt]
  /// From `{` to `}`.
  public var span: Span
  public init(statements: [Stmt], span: Span) {
    self.statements = statements
    self.span = span
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
  public var kind: StmtKind
  /// The whole statement, including its `;` when present.
  public var span: Span
  public init(_ kind: StmtKind, span: Span) {
    self.kind = kind
    self.span = span
  }
}

public indirect enum StmtKind: Sendable {
  /// `let name = value;` / `let name: T = value;`
  case letBinding(name: Identifier, type: TypeSyntax?, value: Expr)
  /// `name = value;` (operator nil) or `name += value;` ...; `operatorSpan` covers `=` / `+=`.
  case assign(target: Identifier, op: AssignOperator?, operatorSpan: Span, value: Expr)
  /// An expression statement; `hasSemicolon` records a trailing `;` (the block-value rule
  /// treats both the same, but tools may care).
  case expression(Expr, hasSemicolon: Bool)
  case whileLoop(condition: Expr, body: Block)
  /// `for i in start..end { }` or `..=` (inclusive).
  case forLoop(variable: Identifier, start: Expr, end: Expr, inclusive: Bool, body: Block)
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
}

public struct Expr: Sendable {
  public var kind: ExprKind
  public var span: Span
  public init(_ kind: ExprKind, span: Span) {
    self.kind = kind
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
  /// `if c { } else { }`; `elseBranch` is a `.block` or another `.ifElse` (for `else if`).
  case ifElse(condition: Expr, then: Block, elseBranch: Expr?)
  case parenthesized(Expr)
  /// Stands in for an expression the parser could not read (already diagnosed).
  case invalid
}
