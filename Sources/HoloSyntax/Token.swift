/// Reserved words. `break` and `continue` are not here: they are contextual and lex as
/// identifiers (LANGUAGE.md §1).
enum Keyword: String, Sendable, CaseIterable {
  case fn, `let`, `if`, `else`, `while`, `for`, `in`, `return`, `true`, `false`, `import`,
    `extern`, export, global, `struct`, `as`
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
