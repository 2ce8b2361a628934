import HoloSource

/// Turns a file's UTF-8 bytes into tokens (LANGUAGE.md §1) in one linear pass.
///
/// Template strings are lexed with a mode stack: inside `` `...` `` the lexer reads text
/// until `{`, then lexes ordinary tokens (counting braces) until the `}` that closes the
/// interpolation, so interpolations may hold strings with braces and nested templates.
struct Lexer {
  struct Output {
    var tokens: [Token]
    var diagnostics: [Diagnostic]
    /// Where an unterminated comment, string or template begins: it swallowed the rest of
    /// the file, so the parser stays silent about what follows.
    var unterminatedStart: Int?
  }

  private enum Mode {
    case template(openedAt: Int)
    case interpolation(braceDepth: Int)
  }

  private let bytes: [UInt8]
  private let file: FileID
  /// Where lexing stops: the end of the file, or of the range asked for.
  private let limit: Int
  private var position = 0
  private var modes: [Mode] = []
  private var tokens: [Token] = []
  private var diagnostics: [Diagnostic] = []
  private var unterminatedStart: Int?

  /// The tokens of `source`, or of `range` of it (which must start where a token may:
  /// at the end of a top-level item, say); offsets are the file's either way.
  static func tokenize(_ source: SourceFile, range: Range<Int>? = nil) -> Output {
    let range = range ?? 0..<source.bytes.count
    var lexer = Lexer(bytes: source.bytes, file: source.id, range: range)
    lexer.run()
    return Output(
      tokens: lexer.tokens, diagnostics: lexer.diagnostics,
      unterminatedStart: lexer.unterminatedStart)
  }

  private init(bytes: [UInt8], file: FileID, range: Range<Int>) {
    self.bytes = bytes
    self.file = file
    limit = range.upperBound
    position = range.lowerBound
    tokens.reserveCapacity(range.count / 3)
  }

  private mutating func run() {
    if position == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    while true {
      if case .template(let openedAt)? = modes.last {
        if lexTemplateSegment(openedAt: openedAt) { break }
        continue
      }
      skipTrivia()
      if position >= limit {
        if unterminatedStart == nil, let openedAt = innermostOpenTemplate() {
          report(.unterminatedTemplate, "unterminated template string", openedAt..<openedAt + 1)
          unterminatedStart = openedAt
        }
        break
      }
      lexToken()
    }
    tokens.append(Token(kind: .endOfFile, start: limit, end: limit))
  }

  // MARK: Helpers

  private func byte(at offset: Int) -> UInt8? {
    offset < limit ? bytes[offset] : nil
  }

  private mutating func emit(_ kind: TokenKind, from start: Int) {
    tokens.append(Token(kind: kind, start: start, end: position))
  }

  private mutating func report(_ code: DiagnosticCode, _ message: String, _ range: Range<Int>) {
    let span = Span(file: file, start: range.lowerBound, end: range.upperBound)
    diagnostics.append(Diagnostic(code, message, at: span))
  }

  private func text(_ start: Int, _ end: Int) -> String {
    String(decoding: bytes[start..<end], as: UTF8.self)
  }

  /// The byte length of the UTF-8 sequence starting at `offset` (1 for stray bytes).
  private func scalarLength(at offset: Int) -> Int {
    let lead = bytes[offset]
    let length: Int
    switch lead {
    case 0xF0...0xF7: length = 4
    case 0xE0...0xEF: length = 3
    case 0xC0...0xDF: length = 2
    default: length = 1
    }
    return min(length, limit - offset)
  }

  private func innermostOpenTemplate() -> Int? {
    for mode in modes.reversed() {
      if case .template(let openedAt) = mode { return openedAt }
    }
    return nil
  }

  // MARK: Trivia

  private mutating func skipTrivia() {
    while let current = byte(at: position) {
      switch current {
      case .space, .tab, .newline, .carriageReturn:
        position += 1
      case .slash where byte(at: position + 1) == .slash:
        while let next = byte(at: position), next != .newline { position += 1 }
      case .slash where byte(at: position + 1) == .star:
        skipBlockComment()
      default:
        return
      }
    }
  }

  private mutating func skipBlockComment() {
    let start = position
    position += 2
    var depth = 1
    while depth > 0 {
      guard let current = byte(at: position) else {
        report(.unterminatedComment, "unterminated block comment", start..<start + 2)
        unterminatedStart = start
        return
      }
      if current == .slash, byte(at: position + 1) == .star {
        depth += 1
        position += 2
      } else if current == .star, byte(at: position + 1) == .slash {
        depth -= 1
        position += 2
      } else {
        position += 1
      }
    }
  }

  // MARK: Tokens

  private mutating func lexToken() {
    let start = position
    let current = bytes[position]
    if current.isIdentifierStart {
      lexIdentifierOrKeyword()
    } else if current.isDigit {
      lexNumber()
    } else if current == .quote {
      lexString()
    } else if current == .backtick {
      position += 1
      emit(.templateStart, from: start)
      modes.append(.template(openedAt: start))
    } else if current == .leftBrace {
      position += 1
      if case .interpolation(let depth)? = modes.last {
        modes[modes.count - 1] = .interpolation(braceDepth: depth + 1)
      }
      emit(.symbol(.leftBrace), from: start)
    } else if current == .rightBrace {
      position += 1
      if case .interpolation(let depth)? = modes.last {
        if depth == 0 {
          modes.removeLast()
          emit(.interpolationEnd, from: start)
          return
        }
        modes[modes.count - 1] = .interpolation(braceDepth: depth - 1)
      }
      emit(.symbol(.rightBrace), from: start)
    } else if let symbol = lexSymbol() {
      emit(.symbol(symbol), from: start)
    } else {
      lexUnexpectedCharacters()
    }
  }

  private mutating func lexIdentifierOrKeyword() {
    let start = position
    while let current = byte(at: position), current.isIdentifierContinue { position += 1 }
    if let keyword = Keyword(spelledBy: bytes[start..<position]) {
      emit(.keyword(keyword), from: start)
    } else {
      emit(.identifier(text(start, position)), from: start)
    }
  }

  /// Reads the longest operator or punctuation at `position`, advancing past it.
  private mutating func lexSymbol() -> Symbol? {
    let first = bytes[position]
    let second = byte(at: position + 1)
    let third = byte(at: position + 2)
    var symbol: Symbol?
    var length = 1
    func pick(_ chosen: Symbol, _ chosenLength: Int) {
      symbol = chosen
      length = chosenLength
    }
    /// `op` alone or `op=`.
    func withEqual(_ plain: Symbol, _ assigning: Symbol) {
      if second == .equal { pick(assigning, 2) } else { pick(plain, 1) }
    }
    switch first {
    case .leftParen: pick(.leftParen, 1)
    case .rightParen: pick(.rightParen, 1)
    case .leftBracket: pick(.leftBracket, 1)
    case .rightBracket: pick(.rightBracket, 1)
    case .comma: pick(.comma, 1)
    case .semicolon: pick(.semicolon, 1)
    case .colon: pick(.colon, 1)
    case .hash: pick(.hash, 1)
    case .dot:
      if second == .dot {
        if third == .equal { pick(.dotDotEqual, 3) } else { pick(.dotDot, 2) }
      } else {
        pick(.dot, 1)
      }
    case .minus:
      if second == .greater { pick(.arrow, 2) } else { withEqual(.minus, .minusEqual) }
    case .bang: withEqual(.bang, .bangEqual)
    case .equal: withEqual(.equal, .equalEqual)
    case .plus: withEqual(.plus, .plusEqual)
    case .star: withEqual(.star, .starEqual)
    case .slash: withEqual(.slash, .slashEqual)
    case .percent: withEqual(.percent, .percentEqual)
    case .caret: withEqual(.caret, .caretEqual)
    case .less:
      if second == .less {
        if third == .equal { pick(.lessLessEqual, 3) } else { pick(.lessLess, 2) }
      } else {
        withEqual(.less, .lessEqual)
      }
    case .greater:
      if second == .greater {
        if third == .equal { pick(.greaterGreaterEqual, 3) } else { pick(.greaterGreater, 2) }
      } else {
        withEqual(.greater, .greaterEqual)
      }
    case .ampersand:
      if second == .ampersand {
        pick(.ampersandAmpersand, 2)
      } else {
        withEqual(.ampersand, .ampersandEqual)
      }
    case .pipe:
      if second == .pipe { pick(.pipePipe, 2) } else { withEqual(.pipe, .pipeEqual) }
    default:
      return nil
    }
    position += length
    return symbol
  }

  /// Reports a run of characters no token starts with as one error.
  private mutating func lexUnexpectedCharacters() {
    let start = position
    var count = 0
    repeat {
      position += scalarLength(at: position)
      count += 1
    } while position < limit && !bytes[position].canStartToken
    let characters = text(start, position)
    let noun = count == 1 ? "character" : "characters"
    report(
      .unexpectedCharacter, "unexpected \(noun) \(DiagnosticText.quoted(characters))",
      start..<position)
    emit(.invalid, from: start)
  }

  // MARK: Numbers

  private mutating func lexNumber() {
    let start = position
    var radix: UInt64 = 10
    if bytes[position] == .zero, let marker = byte(at: position + 1) {
      switch marker {
      case .lowerX, .upperX: radix = 16
      case .lowerB, .upperB: radix = 2
      default: break
      }
    }
    if radix != 10 { position += 2 }
    let digitsStart = position
    var isFloat = false
    var invalidDigit: Int?
    switch radix {
    case 16:
      while let current = byte(at: position), current.isHexDigit || current == .underscore {
        position += 1
      }
    case 2:
      while let current = byte(at: position), current.isDigit || current == .underscore {
        if current.isDigit, current > .one, invalidDigit == nil { invalidDigit = position }
        position += 1
      }
    default:
      skipDecimalDigits()
      // `1..10` is a range, so a fraction needs a digit after the dot.
      if byte(at: position) == .dot, byte(at: position + 1)?.isDigit == true {
        isFloat = true
        position += 1
        skipDecimalDigits()
      }
      if let marker = byte(at: position), marker == .lowerE || marker == .upperE {
        let sign = byte(at: position + 1)
        let hasSign = sign == .plus || sign == .minus
        if byte(at: position + (hasSign ? 2 : 1))?.isDigit == true {
          isFloat = true
          position += hasSign ? 2 : 1
          skipDecimalDigits()
        }
      }
    }
    let digitsEnd = position
    while let current = byte(at: position), current.isIdentifierContinue { position += 1 }
    let suffixText = text(digitsEnd, position)
    let digits = bytes[digitsStart..<digitsEnd].filter { $0 != .underscore }

    if digits.isEmpty {
      let prefix = text(start, digitsStart)
      report(.invalidNumber, "expected digits after `\(prefix)`", start..<position)
      emit(.integer(0, suffix: nil), from: start)
      return
    }
    if let invalidDigit {
      let digit = text(invalidDigit, invalidDigit + 1)
      report(
        .invalidNumber, "invalid digit `\(digit)` in binary literal",
        invalidDigit..<invalidDigit + 1)
      emit(.integer(0, suffix: nil), from: start)
      return
    }
    var suffix: LiteralSuffix?
    if !suffixText.isEmpty {
      if let written = LiteralSuffix(rawValue: suffixText), !isFloat || written.isFloat {
        suffix = written
      } else {
        let kind = isFloat ? "float literal" : "number literal"
        report(
          .invalidNumber, "invalid suffix \(DiagnosticText.quoted(suffixText)) for \(kind)",
          digitsEnd..<position)
      }
    }
    if radix == 10 && (isFloat || suffix?.isFloat == true) {
      emit(.float(String(decoding: digits, as: UTF8.self), suffix: suffix), from: start)
      return
    }
    guard let value = integerValue(of: digits, radix: radix) else {
      report(.invalidNumber, "integer literal is too large", start..<position)
      emit(.integer(0, suffix: suffix), from: start)
      return
    }
    if suffix?.isFloat == true {
      emit(.float(String(value), suffix: suffix), from: start)
    } else {
      emit(.integer(value, suffix: suffix), from: start)
    }
  }

  private mutating func skipDecimalDigits() {
    while let current = byte(at: position), current.isDigit || current == .underscore {
      position += 1
    }
  }

  /// nil when the value does not fit in 64 bits.
  private func integerValue(of digits: [UInt8], radix: UInt64) -> UInt64? {
    var value: UInt64 = 0
    for digit in digits {
      let (shifted, overflowShift) = value.multipliedReportingOverflow(by: radix)
      let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(digit.hexValue))
      if overflowShift || overflowAdd { return nil }
      value = sum
    }
    return value
  }

  // MARK: Strings and templates

  private mutating func lexString() {
    let start = position
    position += 1
    var value: [UInt8] = []
    while true {
      guard let current = byte(at: position) else {
        report(.unterminatedString, "unterminated string literal", start..<start + 1)
        unterminatedStart = start
        break
      }
      if current == .quote {
        position += 1
        break
      }
      if current == .backslash {
        decodeEscape(into: &value, inTemplate: false)
      } else {
        value.append(current)
        position += 1
      }
    }
    emit(.string(String(decoding: value, as: UTF8.self)), from: start)
  }

  /// Lexes template text up to an interpolation or the closing backtick. Returns true when
  /// the file ended inside the template.
  private mutating func lexTemplateSegment(openedAt: Int) -> Bool {
    let start = position
    var value: [UInt8] = []
    while true {
      guard let current = byte(at: position) else {
        emitTemplateText(value, from: start)
        report(.unterminatedTemplate, "unterminated template string", openedAt..<openedAt + 1)
        unterminatedStart = openedAt
        return true
      }
      switch current {
      case .backtick:
        emitTemplateText(value, from: start)
        let end = position
        position += 1
        emit(.templateEnd, from: end)
        modes.removeLast()
        return false
      case .leftBrace:
        emitTemplateText(value, from: start)
        let brace = position
        position += 1
        emit(.interpolationStart, from: brace)
        modes.append(.interpolation(braceDepth: 0))
        return false
      case .backslash:
        decodeEscape(into: &value, inTemplate: true)
      default:
        value.append(current)
        position += 1
      }
    }
  }

  private mutating func emitTemplateText(_ value: [UInt8], from start: Int) {
    if !value.isEmpty { emit(.templateText(String(decoding: value, as: UTF8.self)), from: start) }
  }

  /// Decodes the escape at `position` (a backslash). At the end of the file it consumes
  /// only the backslash, leaving the caller to report the unterminated literal.
  private mutating func decodeEscape(into value: inout [UInt8], inTemplate: Bool) {
    let start = position
    position += 1
    guard let escaped = byte(at: position) else { return }
    let decoded: UInt8?
    switch escaped {
    case .lowerN: decoded = .newline
    case .lowerT: decoded = .tab
    case .lowerR: decoded = .carriageReturn
    case .backslash: decoded = .backslash
    case .zero where !inTemplate: decoded = 0
    case .quote where !inTemplate: decoded = .quote
    case .backtick, .leftBrace, .rightBrace, .dollar: decoded = inTemplate ? escaped : nil
    default: decoded = nil
    }
    let length = scalarLength(at: position)
    position += length
    if let decoded {
      value.append(decoded)
    } else {
      let context = inTemplate ? "template string" : "string literal"
      report(
        .invalidEscape,
        "unknown escape \(DiagnosticText.quoted(text(start, position))) in \(context)",
        start..<position)
    }
  }
}

extension LiteralSuffix {
  var isFloat: Bool { self == .f32 || self == .f64 }
}

extension UInt8 {
  fileprivate static let tab = UInt8(ascii: "\t")
  fileprivate static let newline = UInt8(ascii: "\n")
  fileprivate static let carriageReturn = UInt8(ascii: "\r")
  fileprivate static let space = UInt8(ascii: " ")
  fileprivate static let bang = UInt8(ascii: "!")
  fileprivate static let quote = UInt8(ascii: "\"")
  fileprivate static let hash = UInt8(ascii: "#")
  fileprivate static let dollar = UInt8(ascii: "$")
  fileprivate static let percent = UInt8(ascii: "%")
  fileprivate static let ampersand = UInt8(ascii: "&")
  fileprivate static let leftParen = UInt8(ascii: "(")
  fileprivate static let rightParen = UInt8(ascii: ")")
  fileprivate static let star = UInt8(ascii: "*")
  fileprivate static let plus = UInt8(ascii: "+")
  fileprivate static let comma = UInt8(ascii: ",")
  fileprivate static let minus = UInt8(ascii: "-")
  fileprivate static let dot = UInt8(ascii: ".")
  fileprivate static let slash = UInt8(ascii: "/")
  fileprivate static let zero = UInt8(ascii: "0")
  fileprivate static let one = UInt8(ascii: "1")
  fileprivate static let colon = UInt8(ascii: ":")
  fileprivate static let semicolon = UInt8(ascii: ";")
  fileprivate static let less = UInt8(ascii: "<")
  fileprivate static let equal = UInt8(ascii: "=")
  fileprivate static let greater = UInt8(ascii: ">")
  fileprivate static let upperB = UInt8(ascii: "B")
  fileprivate static let upperE = UInt8(ascii: "E")
  fileprivate static let upperX = UInt8(ascii: "X")
  fileprivate static let leftBracket = UInt8(ascii: "[")
  fileprivate static let backslash = UInt8(ascii: "\\")
  fileprivate static let rightBracket = UInt8(ascii: "]")
  fileprivate static let caret = UInt8(ascii: "^")
  fileprivate static let underscore = UInt8(ascii: "_")
  fileprivate static let backtick = UInt8(ascii: "`")
  fileprivate static let lowerB = UInt8(ascii: "b")
  fileprivate static let lowerE = UInt8(ascii: "e")
  fileprivate static let lowerN = UInt8(ascii: "n")
  fileprivate static let lowerR = UInt8(ascii: "r")
  fileprivate static let lowerT = UInt8(ascii: "t")
  fileprivate static let lowerX = UInt8(ascii: "x")
  fileprivate static let leftBrace = UInt8(ascii: "{")
  fileprivate static let pipe = UInt8(ascii: "|")
  fileprivate static let rightBrace = UInt8(ascii: "}")

  fileprivate var isDigit: Bool { self >= .zero && self <= UInt8(ascii: "9") }

  fileprivate var isHexDigit: Bool {
    isDigit || (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "f"))
      || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "F"))
  }

  /// The digit's value; only called on validated digits.
  fileprivate var hexValue: UInt8 {
    if isDigit { return self - .zero }
    return (self | 0x20) - UInt8(ascii: "a") + 10
  }

  fileprivate var isIdentifierStart: Bool {
    (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z") || self == .underscore
  }

  fileprivate var isIdentifierContinue: Bool { isIdentifierStart || isDigit }

  /// Whether a token or trivia can begin with this byte; the rest are unexpected characters.
  fileprivate var canStartToken: Bool {
    switch self {
    case .space, .tab, .newline, .carriageReturn, .quote, .backtick, .leftBrace, .rightBrace,
      .leftParen, .rightParen, .leftBracket, .rightBracket, .comma, .semicolon, .colon, .dot,
      .minus, .bang, .equal, .less, .greater, .plus, .star, .slash, .percent, .caret,
      .ampersand, .pipe, .hash:
      return true
    default:
      return isIdentifierContinue
    }
  }
}
