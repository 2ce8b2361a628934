import HoloSource

// Blocks and statements (LANGUAGE.md §4).

extension TokenParser {
  /// Parses `{ ... }`. Only a missing `{` throws: errors inside are recovered per
  /// statement. A block left open at the end of the file or before an item is reported
  /// and ended there.
  mutating func parseBlock() throws(ParseFailure) -> Block {
    guard at(.leftBrace) else { throw unexpected(expected: "`{`") }
    // Checked before consuming `{`, so recovery skips the block with its braces balanced.
    try enterNesting()
    let open = current
    advance()
    blockDepth += 1
    let savedStructLiterals = structLiteralsAllowed
    structLiteralsAllowed = true
    defer {
      blockDepth -= 1
      nestingDepth -= 1
      structLiteralsAllowed = savedStructLiterals
    }
    var statements: [Stmt] = []
    while true {
      if at(.rightBrace) {
        advance()
        break
      }
      // A `global` in a block is reported as one (`parseStatement`); other items end it.
      if atEnd || (atItemStart && !at(.global) && !at(.struct))
        || current.kind == .interpolationEnd
      {
        _ = unexpected(expected: "`}`", labels: [Label(span(of: open), "unclosed delimiter")])
        break
      }
      let before = index
      do {
        if let statement = try parseStatement() { statements.append(statement) }
      } catch {
        synchronize(stopAfterBlock: false)
      }
      if index == before { advance() }
    }
    return Block(statements: statements, span: span(open.start, previousEnd))
  }

  /// Parses one statement; nil for an empty statement (a lone `;`) or a reserved item
  /// that was reported and skipped.
  mutating func parseStatement() throws(ParseFailure) -> Stmt? {
    let start = current.start
    switch current.kind {
    case .symbol(.semicolon):
      advance()
      return nil
    case .keyword(.let):
      return try parseLet()
    case .keyword(.while):
      advance()
      let condition = try parseExpressionBeforeBlock()
      let body = try parseBlock()
      return Stmt(.whileLoop(condition: condition, body: body), span: span(start, previousEnd))
    case .keyword(.for):
      return try parseFor()
    case .keyword(.return):
      advance()
      guard !atStatementEnd else {
        finishStatement()
        return Stmt(.returnValue(nil), span: span(start, previousEnd))
      }
      let valueStart = current.start
      let value: Expr
      do throws(ParseFailure) {
        value = try parseExpression()
        finishStatement()
      } catch {
        // Still a return, so the function is not also reported as missing one.
        value = skipBrokenExpression(from: valueStart)
      }
      return Stmt(.returnValue(value), span: span(start, previousEnd))
    case .keyword(.global), .keyword(.struct):
      // Only `parseItem` reads these: here one is inside a block.
      let isGlobal = at(.global)
      report(
        .unsupportedItem,
        "a `\(isGlobal ? "global" : "struct")` is declared at the top level of a file",
        at: span(of: current),
        hint: isGlobal
          ? "move it out of the block, or use `let` for a local" : "move it out of the block")
      advance()
      synchronize(stopAfterBlock: true)
      return nil
    case .keyword(.if), .symbol(.leftBrace):
      // Like Rust, an `if` or block opening a statement ends it: `{ a } - 1` is two
      // statements. It still counts as an expression statement for the block value.
      let expression = try parsePrimary()
      let hasSemicolon = eat(.semicolon) != nil
      return Stmt(
        .expression(expression, hasSemicolon: hasSemicolon), span: span(start, previousEnd))
    // `break` and `continue` are loop control only as a statement of their own: followed
    // by `;`, or last in their block (`{ break }`).
    case .identifier("break") where endsLoopControl(peek().kind):
      advance()
      _ = eat(.semicolon)
      return Stmt(.breakLoop, span: span(start, previousEnd))
    case .identifier("continue") where endsLoopControl(peek().kind):
      advance()
      _ = eat(.semicolon)
      return Stmt(.continueLoop, span: span(start, previousEnd))
    default:
      return try parseExpressionOrAssignment()
    }
  }

  /// Whether a statement may end here without `;`: before the `}` closing its block, or
  /// at the end of the file for a top-level statement.
  private var atStatementEnd: Bool { at(.semicolon) || at(.rightBrace) || atEnd }

  /// Consumes the statement's `;`; returns whether there was one. Without `;` (which only
  /// a `let` needs before its block's `}` or the end of the file) the statement is still
  /// complete: the error is reported, and the rest of the line skipped unless the `;` was
  /// only forgotten at its end.
  @discardableResult
  private mutating func finishStatement(semicolonOptional: Bool = true) -> Bool {
    if eat(.semicolon) != nil { return true }
    if semicolonOptional && (at(.rightBrace) || atEnd) { return false }
    reportMissing(.semicolon)
    if !missingAtLineEnd { synchronize(stopAfterBlock: false) }
    return false
  }

  /// After a statement's expression failed to parse (and the error was reported): skips to
  /// the end of the statement and returns an invalid expression in place of the broken one.
  private mutating func skipBrokenExpression(from start: Int) -> Expr {
    synchronize(stopAfterBlock: false)
    return Expr(.invalid, span: span(start, max(start, previousEnd)))
  }

  /// A `let` whose type or value is broken still binds its name (to an invalid value), so
  /// the name's uses report nothing more.
  private mutating func parseLet() throws(ParseFailure) -> Stmt {
    let start = current.start
    advance()
    let name = try expectIdentifier()
    var type: TypeSyntax?
    let value: Expr
    let valueStart = current.start
    do throws(ParseFailure) {
      if eat(.colon) != nil {
        type = try parseType()
      }
      if !at(.equal) {
        throw unexpected(expected: type == nil ? "`:` or `=`" : "`=`")
      }
      advance()
      value = try parseExpression()
      finishStatement(semicolonOptional: false)
    } catch {
      value = skipBrokenExpression(from: valueStart)
    }
    return Stmt(.letBinding(name: name, type: type, value: value), span: span(start, previousEnd))
  }

  private mutating func parseFor() throws(ParseFailure) -> Stmt {
    let start = current.start
    advance()
    let variable = try expectIdentifier()
    try expect(.in)
    let rangeStart = try parseExpressionBeforeBlock()
    let inclusive: Bool
    if eat(.dotDot) != nil {
      inclusive = false
    } else if eat(.dotDotEqual) != nil {
      inclusive = true
    } else if at(.leftBrace) {
      let body = try parseBlock()
      return Stmt(
        .forEach(variable: variable, array: rangeStart, body: body), span: span(start, previousEnd))
    } else {
      throw unexpected(expected: "`..`, `..=` or `{`")
    }
    let rangeEnd = try parseExpressionBeforeBlock()
    let body = try parseBlock()
    return Stmt(
      .forLoop(
        variable: variable, start: rangeStart, end: rangeEnd, inclusive: inclusive, body: body),
      span: span(start, previousEnd))
  }

  /// An expression statement that fails to parse is kept, as an invalid expression, when
  /// it is the last of its block: the block's value. Elsewhere it is dropped.
  private mutating func parseExpressionOrAssignment() throws(ParseFailure) -> Stmt? {
    let start = current.start
    let target: Expr
    do throws(ParseFailure) {
      target = try parseExpression()
    } catch {
      guard blockDepth > 0 else { throw error }
      let broken = skipBrokenExpression(from: start)
      guard at(.rightBrace) else { return nil }
      return Stmt(.expression(broken, hasSemicolon: false), span: broken.span)
    }
    guard case .symbol(let symbol) = current.kind,
      symbol == .equal || AssignOperator(rawValue: symbol.rawValue) != nil
    else {
      let hasSemicolon = finishStatement()
      return Stmt(.expression(target, hasSemicolon: hasSemicolon), span: span(start, previousEnd))
    }
    let operatorSpan = span(of: current)
    advance()
    let isElement = Self.isElementTarget(target)
    if !isElement, !Self.isNameTarget(target) {
      report(
        .invalidAssignmentTarget, "invalid left-hand side of assignment", at: target.span,
        labels: [Label(target.span, "cannot assign to this expression")])
    }
    let value = try parseExpression()
    let hasSemicolon = finishStatement()
    let statementSpan = span(start, previousEnd)
    let op = AssignOperator(rawValue: symbol.rawValue)
    if case .name(let name) = target.kind {
      return Stmt(
        .assign(
          target: Identifier(name, span: target.span), op: op, operatorSpan: operatorSpan,
          value: value),
        span: statementSpan)
    }
    guard isElement else {
      return Stmt(
        .expression(Expr(.invalid, span: statementSpan), hasSemicolon: hasSemicolon),
        span: statementSpan)
    }
    return Stmt(
      .assignElement(target: target, op: op, operatorSpan: operatorSpan, value: value),
      span: statementSpan)
  }

  private static func isNameTarget(_ target: Expr) -> Bool {
    if case .name = target.kind { return true }
    return false
  }

  /// `a[i]`, `a[i][j]`, `p.x`, `es[i].pos.x`, ...: an element or field of a variable.
  private static func isElementTarget(_ target: Expr) -> Bool {
    var target = target
    var isElement = false
    while true {
      if case .index(let base, _) = target.kind {
        target = base
      } else if case .field(let base, _) = target.kind {
        target = base
      } else {
        break
      }
      isElement = true
    }
    return isElement && isNameTarget(target)
  }

  private func endsLoopControl(_ next: TokenKind) -> Bool {
    next == .symbol(.semicolon) || next == .symbol(.rightBrace)
  }
}
