import HoloSource

/// Parses one file. Recovers from errors so that a single run reports all of them.
public enum Parser {
  /// How deeply expressions and blocks may nest (`else if` arms and the links of operator
  /// and cast chains do not nest). Every phase recurses a few times per level, and so do
  /// LLVM's loop analyses (docs/DECISIONS.md).
  public static let maximumNesting = 256
  /// The tallest expression tree (`Expr.height`): each link of an operator or cast chain
  /// adds a level without nesting, and releasing a tree recurses once per level.
  public static let maximumHeight = 1_000_000

  /// Parses `file`, or only the items in `range` of it: a range that starts and ends
  /// between top-level items (what re-parsing the items an edit touched needs).
  ///
  /// `skimmingBodies`: every function's body is left unparsed, an empty block spanning
  /// its braces (found by counting them): for a reader that parses the body again from
  /// its text if it needs it, and knows the text parses cleanly.
  public static func parse(
    _ file: SourceFile, range: Range<Int>? = nil, skimmingBodies: Bool = false
  ) -> (FileSyntax, [Diagnostic]) {
    let lexed = Lexer.tokenize(file, range: range)
    var parser = TokenParser(
      source: file, tokens: lexed.tokens, unterminatedStart: lexed.unterminatedStart,
      skimsBodies: skimmingBodies)
    let (items, extents) = parser.parseFile()
    // Lexer and parser errors interleave in source order, as a reader expects.
    let diagnostics = (lexed.diagnostics + parser.diagnostics).enumerated().sorted {
      ($0.element.span?.start ?? 0, $0.offset) < ($1.element.span?.start ?? 0, $1.offset)
    }.map(\.element)
    return (FileSyntax(file: file.id, items: items, extents: extents), diagnostics)
  }
}

/// Thrown once a syntax error has been reported; it unwinds to the nearest statement or
/// item, which skips ahead to a synchronisation point and carries on.
struct ParseFailure: Error {}

/// A recursive-descent parser over the lexer's tokens. Declarations, statements and
/// expressions live in extensions in the neighbouring files.
struct TokenParser {
  let source: SourceFile
  let tokens: [Token]
  /// Where the lexer found an unterminated comment, string or template that runs to the
  /// end of the file: errors after it are its consequences and are not reported.
  let unterminatedStart: Int?
  private(set) var index = 0
  private(set) var diagnostics: [Diagnostic] = []
  /// Where the last error was reported: a second error at the same token is a consequence
  /// of the first and is dropped.
  private var lastErrorOffset = -1
  /// How many blocks enclose the current position (0: top level).
  var blockDepth = 0
  /// Expressions and blocks currently being parsed inside one another.
  var nestingDepth = 0
  /// Whether `Name {` starts a struct literal here: not directly in the condition of an
  /// `if` or `while` or the range of a `for`, where `{` opens the body (LANGUAGE.md §5).
  var structLiteralsAllowed = true

  /// Function bodies are skimmed (`Parser.parse(_:range:skimmingBodies:)`).
  let skimsBodies: Bool

  init(source: SourceFile, tokens: [Token], unterminatedStart: Int?, skimsBodies: Bool = false) {
    self.source = source
    self.tokens = tokens
    self.unterminatedStart = unterminatedStart
    self.skimsBodies = skimsBodies
  }

  // MARK: Tokens

  var current: Token { tokens[index] }

  func peek() -> Token { tokens[min(index + 1, tokens.count - 1)] }

  /// The end of the last consumed token.
  var previousEnd: Int { index > 0 ? tokens[index - 1].end : 0 }

  /// Moves to the next token; the end-of-file token is never passed.
  mutating func advance() {
    if index < tokens.count - 1 { index += 1 }
  }

  func at(_ symbol: Symbol) -> Bool { current.kind == .symbol(symbol) }

  func at(_ keyword: Keyword) -> Bool { current.kind == .keyword(keyword) }

  var atEnd: Bool { current.kind == .endOfFile }

  /// Tokens that only ever begin an item, so they end any block or statement before them.
  var atItemStart: Bool {
    switch current.kind {
    case .keyword(.fn), .keyword(.import), .keyword(.extern), .keyword(.export), .keyword(.global),
      .keyword(.struct), .symbol(.hash):
      return true
    default:
      return false
    }
  }

  mutating func eat(_ symbol: Symbol) -> Token? {
    guard at(symbol) else { return nil }
    defer { advance() }
    return current
  }

  mutating func eat(_ keyword: Keyword) -> Token? {
    guard at(keyword) else { return nil }
    defer { advance() }
    return current
  }

  @discardableResult
  mutating func expect(_ symbol: Symbol) throws(ParseFailure) -> Token {
    if let token = eat(symbol) { return token }
    throw unexpected(expected: "`\(symbol.rawValue)`")
  }

  mutating func expect(_ keyword: Keyword) throws(ParseFailure) {
    if eat(keyword) == nil { throw unexpected(expected: "`\(keyword.rawValue)`") }
  }

  /// Consumes the `)` closing a list. A `)` only forgotten (at the end of the line, or before
  /// a token that cannot continue the list: `;`, `}`, the end of the file or one of
  /// `alsoBefore`) is reported and read as present, so what it closes is kept.
  mutating func expectClosingParenthesis(expected: String, alsoBefore: [Symbol] = [])
    throws(ParseFailure)
  {
    if eat(.rightParen) != nil { return }
    guard missingAtLineEnd || atExpressionEnd || alsoBefore.contains(where: at) else {
      throw unexpected(expected: expected)
    }
    reportMissing(.rightParen, expected: expected)
  }

  /// A keyword where a name belongs is reported and then read as that name, like rustc
  /// does: skipping ahead instead would restart at `fn` in `let fn = 1;` and cascade.
  mutating func expectIdentifier() throws(ParseFailure) -> Identifier {
    let token = current
    switch token.kind {
    case .identifier(let name):
      advance()
      return Identifier(name, span: span(of: token))
    case .keyword(let keyword):
      _ = unexpected(expected: "identifier")
      advance()
      return Identifier(keyword.rawValue, span: span(of: token))
    default:
      throw unexpected(expected: "identifier")
    }
  }

  func span(_ start: Int, _ end: Int) -> Span { Span(file: source.id, start: start, end: end) }

  func span(of token: Token) -> Span { span(token.start, token.end) }

  // MARK: Errors

  mutating func report(
    _ code: DiagnosticCode, _ message: String, at span: Span, labels: [Label] = [],
    hint: String? = nil
  ) {
    guard span.start != lastErrorOffset, span.start <= unterminatedStart ?? span.start else {
      return
    }
    lastErrorOffset = span.start
    diagnostics.append(Diagnostic(code, message, at: span, labels: labels, hint: hint))
  }

  /// Reports ``expected X, found `Y` `` at the current token and returns the failure to
  /// throw. Tokens the lexer already diagnosed are not reported again.
  mutating func unexpected(
    _ code: DiagnosticCode = .expectedToken, expected: String, labels: [Label] = []
  ) -> ParseFailure {
    let token = current
    if token.kind != .invalid {
      report(
        code, "expected \(expected), found \(describe(token))", at: span(of: token),
        labels: labels)
    }
    return ParseFailure()
  }

  /// Reports `expected` (such as `` `;` ``) missing before the current token. When it was
  /// most likely forgotten at the end of the previous line, the error points just after
  /// that line's last token, with the label "add `symbol` here", as rustc does.
  mutating func reportMissing(_ symbol: Symbol, expected: String? = nil) {
    let expected = expected ?? "`\(symbol.rawValue)`"
    guard missingAtLineEnd, current.kind != .invalid else {
      _ = unexpected(expected: expected)
      return
    }
    let lineEnd = span(previousEnd, previousEnd)
    report(
      .expectedToken, "expected \(expected), found \(describe(current))", at: lineEnd,
      labels: [Label(lineEnd, "add `\(symbol.rawValue)` here")])
  }

  /// Whether a `;` or `)` missing before the current token was most likely forgotten at the
  /// end of the previous line: the current token starts a new line and can start a
  /// statement (or ends the block or the file), so parsing can go on from it.
  var missingAtLineEnd: Bool {
    guard source.text(of: span(previousEnd, current.start)).contains("\n") else { return false }
    switch current.kind {
    case .identifier, .integer, .float, .string, .templateStart, .endOfFile:
      return true
    case .keyword(let keyword):
      return keyword != .else && keyword != .in && keyword != .as
    case .symbol(let symbol):
      return [.leftBrace, .rightBrace, .leftParen, .minus, .bang, .hash].contains(symbol)
    default:
      return false
    }
  }

  /// Whether the current token is one that no expression continues into, so a `)` missing
  /// before it belongs right there.
  var atExpressionEnd: Bool {
    at(.semicolon) || at(.rightBrace) || atEnd || current.kind == .interpolationEnd
  }

  func describe(_ token: Token) -> String {
    switch token.kind {
    case .endOfFile: return "end of file"
    case .keyword(let keyword): return "keyword `\(keyword.rawValue)`"
    case .templateStart: return "template string"
    case .interpolationStart: return "`{`"
    case .interpolationEnd: return "`}`"
    default: return DiagnosticText.quoted(source.text(of: span(of: token)))
    }
  }

  /// Guards the recursion of nested expressions and blocks, so absurd nesting is an error
  /// rather than a stack overflow. Callers pair it with `defer { nestingDepth -= 1 }`.
  mutating func enterNesting() throws(ParseFailure) {
    guard nestingDepth < Parser.maximumNesting else {
      report(
        .nestingTooDeep, "expression nests too deeply (more than \(Parser.maximumNesting) levels)",
        at: span(of: current))
      throw ParseFailure()
    }
    nestingDepth += 1
  }

  /// Reports a link of an operator or cast chain that makes the tree taller than
  /// `maximumHeight`, so no phase, down to releasing the tree, runs out of stack.
  mutating func checkHeight(_ expression: Expr, at operatorSpan: Span) throws(ParseFailure)
    -> Expr
  {
    guard expression.height + nestingDepth > Parser.maximumHeight else { return expression }
    report(
      .nestingTooDeep,
      "expression is too long (more than \(Parser.maximumHeight) levels of operators and nesting)",
      at: operatorSpan)
    throw ParseFailure()
  }

  // MARK: Recovery

  /// Skips ahead after an error: past the next `;`, or up to a `}` closing the current
  /// block, or up to a token that can only start an item or a statement. Braces and
  /// template strings skipped on the way are kept balanced. With `stopAfterBlock`, a
  /// complete `{ ... }` also ends the skipped region (a broken item's body).
  mutating func synchronize(stopAfterBlock: Bool) {
    var depth = 0
    while true {
      switch current.kind {
      case .endOfFile, .interpolationEnd:
        return
      case _ where atItemStart:
        return
      case .keyword(let keyword) where depth == 0 && keyword.startsOnlyStatements:
        return
      case .symbol(.semicolon) where depth == 0:
        advance()
        return
      case .symbol(.leftBrace):
        depth += 1
        advance()
      case .symbol(.rightBrace):
        if depth == 0 {
          // At top level there is no block to close: the brace is stray, skip it.
          if blockDepth == 0 { advance() }
          return
        }
        depth -= 1
        advance()
        if depth == 0 && stopAfterBlock { return }
      case .templateStart:
        skipTemplate()
      default:
        advance()
      }
    }
  }

  /// Skips a whole template string, nested ones included.
  private mutating func skipTemplate() {
    var depth = 0
    while !atEnd {
      switch current.kind {
      case .templateStart: depth += 1
      case .templateEnd: depth -= 1
      default: break
      }
      advance()
      if depth == 0 { return }
    }
  }

  /// Skips to just past the `}` that ends the current interpolation.
  mutating func skipPastInterpolationEnd() {
    var depth = 0
    while !atEnd {
      switch current.kind {
      case .interpolationStart:
        depth += 1
      case .interpolationEnd:
        if depth == 0 {
          advance()
          return
        }
        depth -= 1
      default:
        break
      }
      advance()
    }
  }
}

extension Keyword {
  /// Keywords that can only begin a statement, never appear inside an expression.
  var startsOnlyStatements: Bool {
    switch self {
    case .let, .while, .for, .return: return true
    default: return false
    }
  }
}
