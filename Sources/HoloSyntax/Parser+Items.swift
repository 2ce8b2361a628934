import HoloSource

// Items (LANGUAGE.md §3): functions, tests, `extern fn`, `import`, globals, and top-level
// statements.

extension TokenParser {
  /// The items, each with its extent: from its first token to the end of its last.
  mutating func parseFile() -> ([Item], [Range<Int>]) {
    var items: [Item] = []
    var extents: [Range<Int>] = []
    while !atEnd {
      let before = index
      do {
        let start = current.start
        if let item = try parseItem() {
          items.append(item)
          extents.append(start..<previousEnd)
        }
      } catch {
        synchronize(stopAfterBlock: true)
      }
      if index == before { advance() }
    }
    return (items, extents)
  }

  private mutating func parseItem() throws(ParseFailure) -> Item? {
    switch current.kind {
    case .symbol(.hash), .keyword(.fn), .keyword(.export):
      return .function(try parseFunction())
    case .keyword(.extern):
      return .externFunction(try parseExternFunction())
    case .keyword(.import):
      return .importDecl(try parseImport())
    case .keyword(.global):
      return .global(try parseGlobal())
    case .keyword(.struct):
      return .structure(try parseStruct())
    case .symbol(.rightBrace):
      report(.expectedItem, "unexpected closing delimiter `}`", at: span(of: current))
      advance()
      return nil
    default:
      return try parseStatement().map(Item.statement)
    }
  }

  private mutating func parseFunction() throws(ParseFailure) -> FunctionDecl {
    let start = current.start
    var isTest = false
    while at(.hash) {
      if try parseAttributeIsTest() { isTest = true }
    }
    let isExport = eat(.export) != nil
    try expect(.fn)
    let name = try expectIdentifier()
    let params = try parseParameters()
    let returnType = try parseReturnType()
    let signatureEnd = previousEnd
    guard at(.leftBrace) else {
      throw unexpected(expected: returnType == nil ? "`->` or `{`" : "`{`")
    }
    let body = skimsBodies ? try skimBlock() : try parseBlock()
    return FunctionDecl(
      name: name, params: params, returnType: returnType, body: body, isTest: isTest,
      isExport: isExport, span: span(start, previousEnd), signatureSpan: span(start, signatureEnd))
  }

  /// A block passed over to its matching `}`: an empty block with the braces' span.
  private mutating func skimBlock() throws(ParseFailure) -> Block {
    let start = current.start
    var depth = 0
    repeat {
      if atEnd { throw unexpected(expected: "`}`") }
      if at(.leftBrace) { depth += 1 } else if at(.rightBrace) { depth -= 1 }
      advance()
    } while depth > 0
    return Block(statements: [], span: span(start, previousEnd))
  }

  /// Parses `#[...]`; only `#[test]` exists. Another attribute is reported and ignored, so
  /// the function it decorates is still checked.
  private mutating func parseAttributeIsTest() throws(ParseFailure) -> Bool {
    let start = current.start
    advance()
    try expect(.leftBracket)
    var contents: [TokenKind] = []
    while !at(.rightBracket) {
      if atEnd || atItemStart || at(.leftBrace) || at(.semicolon) {
        throw unexpected(expected: "`]`")
      }
      contents.append(current.kind)
      advance()
    }
    advance()
    if contents == [.identifier("test")] { return true }
    let written = source.text(of: span(start, previousEnd))
    report(
      .invalidAttribute, "expected `#[test]` attribute, found `\(written)`",
      at: span(start, previousEnd))
    return false
  }

  private mutating func parseExternFunction() throws(ParseFailure) -> ExternFunctionDecl {
    let start = current.start
    advance()
    try expect(.fn)
    let name = try expectIdentifier()
    let params = try parseParameters()
    let returnType = try parseReturnType()
    if !at(.semicolon) {
      throw unexpected(expected: returnType == nil ? "`->` or `;`" : "`;`")
    }
    advance()
    return ExternFunctionDecl(
      name: name, params: params, returnType: returnType, span: span(start, previousEnd))
  }

  private mutating func parseImport() throws(ParseFailure) -> ImportDecl {
    let start = current.start
    advance()
    var path = [try expectIdentifier()]
    while eat(.dot) != nil {
      path.append(try expectIdentifier())
    }
    if !at(.semicolon) {
      throw unexpected(expected: "`.` or `;`")
    }
    advance()
    return ImportDecl(path: path, span: span(start, previousEnd))
  }

  private mutating func parseGlobal() throws(ParseFailure) -> GlobalDecl {
    let start = current.start
    advance()
    let name = try expectIdentifier()
    try expect(.colon)
    let type = try parseType()
    try expect(.equal)
    let value = try parseExpression()
    if !at(.semicolon) { throw unexpected(expected: "`;`") }
    advance()
    return GlobalDecl(name: name, type: type, value: value, span: span(start, previousEnd))
  }

  private mutating func parseStruct() throws(ParseFailure) -> StructDecl {
    let start = current.start
    advance()
    let name = try expectIdentifier()
    try expect(.leftBrace)
    var fields: [StructDecl.Field] = []
    while !at(.rightBrace) {
      let field = try expectIdentifier()
      try expect(.colon)
      let type = try parseType()
      let defaultValue = eat(.equal) != nil ? try parseExpression() : nil
      fields.append(StructDecl.Field(name: field, type: type, defaultValue: defaultValue))
      if eat(.comma) == nil { break }
    }
    if !at(.rightBrace) { throw unexpected(expected: "`,` or `}`") }
    advance()
    return StructDecl(name: name, fields: fields, span: span(start, previousEnd))
  }

  private mutating func parseParameters() throws(ParseFailure) -> [Param] {
    try expect(.leftParen)
    var params: [Param] = []
    while !at(.rightParen) {
      let name = try expectIdentifier()
      try expect(.colon)
      let type = try parseType()
      params.append(Param(name: name, type: type, span: name.span.to(type.span)))
      if eat(.comma) == nil { break }
    }
    // Before `->` or `{` the rest of the signature is there, so the function is kept.
    try expectClosingParenthesis(expected: "`,` or `)`", alsoBefore: [.arrow, .leftBrace])
    return params
  }

  private mutating func parseReturnType() throws(ParseFailure) -> TypeSyntax? {
    guard eat(.arrow) != nil else { return nil }
    return try parseType()
  }

  /// A type is a name, `()`, or `[T]`.
  mutating func parseType() throws(ParseFailure) -> TypeSyntax {
    let start = current.start
    if at(.leftBracket) {
      advance()
      try enterNesting()
      defer { nestingDepth -= 1 }
      let element = try parseType()
      try expect(.rightBracket)
      return TypeSyntax(arrayOf: element, span: span(start, previousEnd))
    }
    if case .identifier(let name) = current.kind {
      advance()
      return TypeSyntax(name: name, span: span(start, previousEnd))
    }
    if at(.leftParen), peek().kind == .symbol(.rightParen) {
      advance()
      advance()
      return TypeSyntax(name: "()", span: span(start, previousEnd))
    }
    throw unexpected(expected: "type")
  }
}
