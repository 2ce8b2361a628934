import HoloSource

// Expressions (LANGUAGE.md §5), by precedence climbing over the binary operators.

extension TokenParser {
  mutating func parseExpression() throws(ParseFailure) -> Expr {
    try enterNesting()
    defer { nestingDepth -= 1 }
    return try parseBinary(minimumPrecedence: 1)
  }

  /// An expression followed by a block (a condition, a `for` range): a struct literal
  /// there must be parenthesised.
  mutating func parseExpressionBeforeBlock() throws(ParseFailure) -> Expr {
    let saved = structLiteralsAllowed
    structLiteralsAllowed = false
    defer { structLiteralsAllowed = saved }
    return try parseExpression()
  }

  /// An expression inside delimiters (parentheses, brackets, an interpolation), where a
  /// struct literal is allowed again.
  private mutating func parseDelimitedExpression() throws(ParseFailure) -> Expr {
    let saved = structLiteralsAllowed
    structLiteralsAllowed = true
    defer { structLiteralsAllowed = saved }
    return try parseExpression()
  }

  /// Binary operators, loosest first; all left-associative except comparisons, which do
  /// not chain.
  private mutating func parseBinary(minimumPrecedence: Int) throws(ParseFailure) -> Expr {
    var left = try parseCast()
    while let (op, precedence) = Self.binaryOperator(current.kind),
      precedence >= minimumPrecedence
    {
      let operatorSpan = span(of: current)
      if op.isComparison, case .binary(let leftOp, _, _, _) = left.kind, leftOp.isComparison {
        report(
          .chainedComparison, "comparison operators cannot be chained", at: operatorSpan,
          hint: "split the comparison with `&&`, as in `a < b && b < c`")
      }
      advance()
      let right = try parseBinary(minimumPrecedence: precedence + 1)
      left = try checkHeight(
        Expr(.binary(op, left, right, operatorSpan: operatorSpan), span: left.span.to(right.span)),
        at: operatorSpan)
    }
    return left
  }

  private static func binaryOperator(_ kind: TokenKind) -> (BinaryOperator, precedence: Int)? {
    guard case .symbol(let symbol) = kind else { return nil }
    switch symbol {
    case .pipePipe: return (.logicalOr, 1)
    case .ampersandAmpersand: return (.logicalAnd, 2)
    case .less: return (.less, 3)
    case .lessEqual: return (.lessEqual, 3)
    case .greater: return (.greater, 3)
    case .greaterEqual: return (.greaterEqual, 3)
    case .equalEqual: return (.equal, 3)
    case .bangEqual: return (.notEqual, 3)
    case .pipe: return (.bitOr, 4)
    case .caret: return (.bitXor, 5)
    case .ampersand: return (.bitAnd, 6)
    case .lessLess: return (.shiftLeft, 7)
    case .greaterGreater: return (.shiftRight, 7)
    case .plus: return (.add, 8)
    case .minus: return (.subtract, 8)
    case .star: return (.multiply, 9)
    case .slash: return (.divide, 9)
    case .percent: return (.remainder, 9)
    default: return nil
    }
  }

  /// `e as T`, binding tighter than `*` and looser than unary operators.
  private mutating func parseCast() throws(ParseFailure) -> Expr {
    var expression = try parseUnary()
    while at(.as) {
      let operatorSpan = span(of: current)
      advance()
      let type = try parseType()
      expression = try checkHeight(
        Expr(.cast(expression, type), span: expression.span.to(type.span)), at: operatorSpan)
    }
    return expression
  }

  private mutating func parseUnary() throws(ParseFailure) -> Expr {
    let op: UnaryOperator
    switch current.kind {
    case .symbol(.minus): op = .negate
    case .symbol(.bang): op = .not
    default: return try parsePrimary()
    }
    let operatorToken = current
    advance()
    try enterNesting()
    defer { nestingDepth -= 1 }
    let operand = try parseUnary()
    return Expr(
      .unary(op, operand, operatorSpan: span(of: operatorToken)),
      span: span(operatorToken.start, operand.span.end))
  }

  /// A primary expression and its postfix operators, left to right: `a[i]`, `a.len()`,
  /// `p.x`.
  mutating func parsePrimary() throws(ParseFailure) -> Expr {
    var expression = try parseOperand()
    while true {
      if at(.leftBracket) {
        let open = span(of: current)
        advance()
        let index = try parseDelimitedExpression()
        try expect(.rightBracket)
        expression = try checkHeight(
          Expr(.index(expression, index: index), span: span(expression.span.start, previousEnd)),
          at: open)
      } else if at(.dot) {
        let dot = span(of: current)
        advance()
        let name = try expectIdentifier()
        if at(.leftParen) {
          advance()
          let arguments = try parseArguments()
          expression = try checkHeight(
            Expr(
              .methodCall(receiver: expression, method: name, arguments: arguments),
              span: span(expression.span.start, previousEnd)),
            at: dot)
        } else {
          expression = try checkHeight(
            Expr(.field(expression, name), span: expression.span.to(name.span)), at: dot)
        }
      } else {
        return expression
      }
    }
  }

  private mutating func parseOperand() throws(ParseFailure) -> Expr {
    let token = current
    let literal: ExprKind
    switch token.kind {
    case .integer(let value, let suffix): literal = .integerLiteral(value, suffix: suffix)
    case .float(let text, let suffix): literal = .floatLiteral(text, suffix: suffix)
    case .string(let value): literal = .stringLiteral(value)
    case .keyword(.true): literal = .boolLiteral(true)
    case .keyword(.false): literal = .boolLiteral(false)
    case .identifier(let name):
      advance()
      if at(.leftParen) {
        return try parseCall(callee: Identifier(name, span: span(of: token)))
      }
      if at(.leftBrace), structLiteralsAllowed {
        return try parseStructLiteral(Identifier(name, span: span(of: token)))
      }
      return Expr(.name(name), span: span(of: token))
    case .templateStart:
      return try parseTemplate()
    case .symbol(.leftParen):
      advance()
      let inner = try parseDelimitedExpression()
      try expectClosingParenthesis(expected: "`)`")
      return Expr(.parenthesized(inner), span: span(token.start, previousEnd))
    case .symbol(.leftBrace):
      let block = try parseBlock()
      return Expr(.block(block), span: block.span)
    case .keyword(.if):
      return try parseIf()
    case .symbol(.leftBracket):
      return try parseArrayLiteral()
    default:
      throw unexpected(.expectedExpression, expected: "expression")
    }
    advance()
    return Expr(literal, span: span(of: token))
  }

  private mutating func parseCall(callee: Identifier) throws(ParseFailure) -> Expr {
    advance()
    let arguments = try parseArguments()
    return Expr(
      .call(callee: callee, arguments: arguments), span: span(callee.span.start, previousEnd))
  }

  /// Arguments after `(`, through `)`.
  private mutating func parseArguments() throws(ParseFailure) -> [Expr] {
    var arguments: [Expr] = []
    while !at(.rightParen) {
      arguments.append(try parseDelimitedExpression())
      if eat(.comma) == nil { break }
    }
    try expectClosingParenthesis(expected: "`,` or `)`")
    return arguments
  }

  /// `Name { field: value, ... }`, after the name.
  private mutating func parseStructLiteral(_ name: Identifier) throws(ParseFailure) -> Expr {
    advance()
    try enterNesting()
    defer { nestingDepth -= 1 }
    var fields: [FieldValue] = []
    while !at(.rightBrace) {
      let field = try expectIdentifier()
      try expect(.colon)
      fields.append(FieldValue(name: field, value: try parseDelimitedExpression()))
      if eat(.comma) == nil { break }
    }
    if !at(.rightBrace) { throw unexpected(expected: "`,` or `}`") }
    advance()
    return Expr(.structLiteral(name, fields), span: span(name.span.start, previousEnd))
  }

  /// `[a, b, c]`, `[value; count]` or `[]`.
  private mutating func parseArrayLiteral() throws(ParseFailure) -> Expr {
    let start = current.start
    advance()
    try enterNesting()
    defer { nestingDepth -= 1 }
    var elements: [Expr] = []
    if !at(.rightBracket) {
      let first = try parseDelimitedExpression()
      if eat(.semicolon) != nil {
        let count = try parseDelimitedExpression()
        try expect(.rightBracket)
        return Expr(.arrayRepeat(value: first, count: count), span: span(start, previousEnd))
      }
      elements.append(first)
      while eat(.comma) != nil, !at(.rightBracket) {
        elements.append(try parseDelimitedExpression())
      }
    }
    if !at(.rightBracket) {
      throw unexpected(expected: elements.count == 1 ? "`,`, `;` or `]`" : "`,` or `]`")
    }
    advance()
    return Expr(.arrayLiteral(elements), span: span(start, previousEnd))
  }

  /// `if c { } else if d { } else { }`, read in a loop: an `else if` is an arm of the same
  /// chain and does not nest.
  private mutating func parseIf() throws(ParseFailure) -> Expr {
    try enterNesting()
    defer { nestingDepth -= 1 }
    var armStarts: [Int] = []
    var arms: [(condition: Expr, body: Block)] = []
    var elseBlock: Block?
    repeat {
      armStarts.append(current.start)
      advance()
      let condition = try parseExpressionBeforeBlock()
      arms.append((condition, try parseBlock()))
      guard eat(.else) != nil else { break }
      if at(.leftBrace) {
        elseBlock = try parseBlock()
        break
      }
      guard at(.if) else { throw unexpected(expected: "`{` or `if`") }
    } while true
    let end = previousEnd
    return Expr(
      .ifElse(
        arms: zip(armStarts, arms).map {
          IfArm(condition: $1.condition, body: $1.body, span: span($0, end))
        },
        elseBlock: elseBlock),
      span: span(armStarts[0], end))
  }

  private mutating func parseTemplate() throws(ParseFailure) -> Expr {
    let start = current.start
    advance()
    var parts: [TemplatePart] = []
    while true {
      switch current.kind {
      case .templateText(let text):
        parts.append(.text(text))
        advance()
      case .interpolationStart:
        advance()
        parts.append(.interpolation(parseInterpolation()))
      case .templateEnd:
        advance()
        return Expr(.template(parts), span: span(start, previousEnd))
      default:
        // Only the end of a file the lexer reported as an unterminated template.
        throw unexpected(expected: "`` ` ``")
      }
    }
  }

  /// Parses `expr }` after an interpolation's `{`. Errors stay inside the interpolation:
  /// the template around it carries on.
  private mutating func parseInterpolation() -> Expr {
    let start = previousEnd - 1
    do throws(ParseFailure) {
      let expression = try parseDelimitedExpression()
      guard current.kind == .interpolationEnd else { throw unexpected(expected: "`}`") }
      advance()
      return expression
    } catch {
      skipPastInterpolationEnd()
      return Expr(.invalid, span: span(start, previousEnd))
    }
  }
}
