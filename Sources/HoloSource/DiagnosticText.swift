/// How diagnostics show text: on one line, with the characters that would break a line,
/// reorder it or hide in it escaped, and with long text from the source shortened.
public enum DiagnosticText {
  /// How many characters of source text a message quotes before it cuts with `…`.
  public static let quoteLimit = 32

  /// `text` (such as a token) quoted in backticks for a message: escaped, and cut after
  /// `quoteLimit` characters.
  public static func quoted(_ text: some StringProtocol) -> String {
    "`" + shortened(escaped(text), to: quoteLimit) + "`"
  }

  /// `text` with every control, format (bidirectional overrides, zero-width characters)
  /// and line or paragraph separator character written as an escape: `\n`, `\t`, `\r`,
  /// else `\u{202E}`.
  public static func escaped(_ text: some StringProtocol) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
    var result = ""
    for scalar in text.unicodeScalars {
      guard needsEscape(scalar) else {
        result.unicodeScalars.append(scalar)
        continue
      }
      switch scalar {
      case "\n": result += "\\n"
      case "\t": result += "\\t"
      case "\r": result += "\\r"
      default: result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
      }
    }
    return result
  }

  /// The first `limit` characters of `text`, followed by `…` when there were more.
  public static func shortened(_ text: String, to limit: Int) -> String {
    guard text.unicodeScalars.count > limit else { return text }
    var result = String.UnicodeScalarView()
    result.append(contentsOf: text.unicodeScalars.prefix(limit))
    return String(result) + "…"
  }

  /// Whether a scalar would break a line or change how it reads when printed raw.
  public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator: return true
    default: return false
    }
  }
}
