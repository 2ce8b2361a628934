/// Reserved words. `break` and `continue` are not here: they are contextual and lex as
/// identifiers (LANGUAGE.md §1).
enum Keyword: String, Sendable, CaseIterable {
  case fn, `let`, `if`, `else`, `while`, `for`, `in`, `return`, `true`, `false`, `import`,
    `extern`, export, global, `struct`, `as`

  /// The keyword spelled by `bytes`, if any: one candidate picked by length and letters,
  /// then compared, since every identifier of a program is asked. (`KeywordTests` checks
  /// it against every case's spelling.)
  init?(spelledBy bytes: ArraySlice<UInt8>) {
    guard let first = bytes.first else { return nil }
    let letter = { (text: Unicode.Scalar) in UInt8(ascii: text) }
    let candidate: Keyword
    switch (bytes.count, first) {
    case (2, letter("f")): candidate = .fn
    case (2, letter("i")): candidate = bytes.last == letter("f") ? .if : .in
    case (2, letter("a")): candidate = .as
    case (3, letter("l")): candidate = .let
    case (3, letter("f")): candidate = .for
    case (4, letter("e")): candidate = .else
    case (4, letter("t")): candidate = .true
    case (5, letter("w")): candidate = .while
    case (5, letter("f")): candidate = .false
    case (6, letter("r")): candidate = .return
    case (6, letter("i")): candidate = .import
    case (6, letter("e")): candidate = bytes.dropFirst(2).first == letter("t") ? .extern : .export
    case (6, letter("g")): candidate = .global
    case (6, letter("s")): candidate = .struct
    default: return nil
    }
    guard candidate.rawValue.utf8.elementsEqual(bytes) else { return nil }
    self = candidate
  }
}

/// Operators and punctuation, spelled as in source.
enum Symbol: String, Sendable {
  case leftParen = "("
  case rightParen = ")"
  case leftBrace = "{"
  case rightBrace = "}"
  case leftBracket = "["
  case rightBracket = "]"
  case comma = ","
  case semicolon = ";"
  case colon = ":"
  case dot = "."
  case dotDot = ".."
  case dotDotEqual = "..="
  case arrow = "->"
  case hash = "#"
  case bang = "!"
  case equal = "="
  case equalEqual = "=="
  case bangEqual = "!="
  case less = "<"
  case lessEqual = "<="
  case lessLess = "<<"
  case lessLessEqual = "<<="
  case greater = ">"
  case greaterEqual = ">="
  case greaterGreater = ">>"
  case greaterGreaterEqual = ">>="
  case plus = "+"
  case plusEqual = "+="
  case minus = "-"
  case minusEqual = "-="
  case star = "*"
  case starEqual = "*="
  case slash = "/"
  case slashEqual = "/="
  case percent = "%"
  case percentEqual = "%="
  case ampersand = "&"
  case ampersandEqual = "&="
  case ampersandAmpersand = "&&"
  case pipe = "|"
  case pipeEqual = "|="
  case pipePipe = "||"
  case caret = "^"
  case caretEqual = "^="
}

enum TokenKind: Equatable, Sendable {
  case identifier(String)
  case keyword(Keyword)
  case integer(UInt64, suffix: LiteralSuffix?)
  /// The literal's text without `_` separators.
  case float(String, suffix: LiteralSuffix?)
  /// Escapes already decoded.
  case string(String)
  /// The opening backtick of a template string. Until the matching `templateEnd` the stream
  /// holds `templateText` and `interpolationStart` ... `interpolationEnd` runs of ordinary
  /// tokens, so interpolations nest to any depth.
  case templateStart
  case templateText(String)
  case interpolationStart
  case interpolationEnd
  case templateEnd
  case symbol(Symbol)
  /// Text the lexer rejected and already diagnosed; the parser never reports it again.
  case invalid
  case endOfFile
}

struct Token: Sendable {
  var kind: TokenKind
  /// Byte offsets `[start, end)` in the file.
  var start: Int
  var end: Int
}
