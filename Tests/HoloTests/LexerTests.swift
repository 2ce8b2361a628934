import HoloSource
import XCTest

@testable import HoloSyntax

final class LexerTests: XCTestCase {
  private func lex(_ text: String) -> Lexer.Output {
    let file = SourceManager().add(path: "lex.holo", text: text)
    return Lexer.tokenize(file)
  }

  /// The token kinds without the final end-of-file token.
  private func kinds(_ text: String) -> [TokenKind] {
    let output = lex(text)
    XCTAssertEqual(output.diagnostics, [], "unexpected diagnostics for \(text)")
    return output.tokens.dropLast().map(\.kind)
  }

  private func onlyDiagnostic(_ text: String) -> Diagnostic? {
    let diagnostics = lex(text).diagnostics
    XCTAssertEqual(diagnostics.count, 1, "\(diagnostics)")
    return diagnostics.first
  }

  /// The keyword lookup by length and letters finds every keyword and nothing else.
  func testEveryKeywordAndOnlyKeywordsAreRecognised() {
    for keyword in Keyword.allCases {
      XCTAssertEqual(Keyword(spelledBy: ArraySlice(keyword.rawValue.utf8)), keyword)
      XCTAssertEqual(kinds(keyword.rawValue), [.keyword(keyword)])
      // One letter more, less or different is an identifier.
      for near in [
        keyword.rawValue + "s", String(keyword.rawValue.dropLast()),
        "x" + keyword.rawValue.dropFirst(),
      ] {
        XCTAssertNil(Keyword(spelledBy: ArraySlice(near.utf8)), near)
      }
    }
    for name in ["", "f", "ff", "iff", "ix", "exporn", "extent", "Fn", "IF", "fn_", "asx"] {
      XCTAssertNil(Keyword(spelledBy: ArraySlice(name.utf8)), name)
    }
  }

  func testDecimalHexAndBinaryIntegers() {
    XCTAssertEqual(kinds("123"), [.integer(123, suffix: nil)])
    XCTAssertEqual(kinds("1_000_000"), [.integer(1_000_000, suffix: nil)])
    XCTAssertEqual(kinds("0xFF"), [.integer(255, suffix: nil)])
    XCTAssertEqual(kinds("0xdead_BEEF"), [.integer(0xdead_beef, suffix: nil)])
    XCTAssertEqual(kinds("0b1010"), [.integer(10, suffix: nil)])
    XCTAssertEqual(kinds("0b1111_0000"), [.integer(240, suffix: nil)])
    XCTAssertEqual(kinds("0"), [.integer(0, suffix: nil)])
    XCTAssertEqual(kinds("18446744073709551615"), [.integer(UInt64.max, suffix: nil)])
  }

  func testIntegerSuffixes() {
    XCTAssertEqual(kinds("10i64"), [.integer(10, suffix: .i64)])
    XCTAssertEqual(kinds("7u32"), [.integer(7, suffix: .u32)])
    XCTAssertEqual(kinds("7u8"), [.integer(7, suffix: .u8)])
    XCTAssertEqual(kinds("1_i32"), [.integer(1, suffix: .i32)])
    XCTAssertEqual(kinds("0xFFu64"), [.integer(255, suffix: .u64)])
    // Whether a value fits its type is semantic analysis' business.
    XCTAssertEqual(kinds("5000000000i32"), [.integer(5_000_000_000, suffix: .i32)])
  }

  func testIntegerWithFloatSuffixIsAFloat() {
    XCTAssertEqual(kinds("3f64"), [.float("3", suffix: .f64)])
    XCTAssertEqual(kinds("1_000f32"), [.float("1000", suffix: .f32)])
    XCTAssertEqual(kinds("0b11f32"), [.float("3", suffix: .f32)])
  }

  func testFloats() {
    XCTAssertEqual(kinds("1.0"), [.float("1.0", suffix: nil)])
    XCTAssertEqual(kinds("2.5e-3"), [.float("2.5e-3", suffix: nil)])
    XCTAssertEqual(kinds("1e9"), [.float("1e9", suffix: nil)])
    XCTAssertEqual(kinds("1E+9"), [.float("1E+9", suffix: nil)])
    XCTAssertEqual(kinds("1_000.5"), [.float("1000.5", suffix: nil)])
    XCTAssertEqual(kinds("2.0f32"), [.float("2.0", suffix: .f32)])
    XCTAssertEqual(kinds("6.02e23f64"), [.float("6.02e23", suffix: .f64)])
  }

  func testRangesAreNotFloats() {
    XCTAssertEqual(
      kinds("1..10"), [.integer(1, suffix: nil), .symbol(.dotDot), .integer(10, suffix: nil)])
    XCTAssertEqual(
      kinds("0..=5"), [.integer(0, suffix: nil), .symbol(.dotDotEqual), .integer(5, suffix: nil)])
  }

  func testIntegerTooLarge() {
    let diagnostic = onlyDiagnostic("18446744073709551616")
    XCTAssertEqual(diagnostic?.code, .invalidNumber)
    XCTAssertEqual(diagnostic?.message, "integer literal is too large")
    XCTAssertEqual(diagnostic?.span?.start, 0)
    XCTAssertEqual(diagnostic?.span?.end, 20)
    XCTAssertEqual(
      onlyDiagnostic("0x1_0000_0000_0000_0000")?.message, "integer literal is too large")
  }

  func testMalformedNumbers() {
    XCTAssertEqual(onlyDiagnostic("10i8")?.message, "invalid suffix `i8` for number literal")
    XCTAssertEqual(onlyDiagnostic("1.5i32")?.message, "invalid suffix `i32` for float literal")
    XCTAssertEqual(onlyDiagnostic("0b102")?.message, "invalid digit `2` in binary literal")
    XCTAssertEqual(onlyDiagnostic("0x")?.message, "expected digits after `0x`")
  }

  func testStringEscapes() {
    XCTAssertEqual(kinds(#""a\nb\tc\rd\0e\\f\"g""#), [.string("a\nb\tc\rd\0e\\f\"g")])
    XCTAssertEqual(kinds(#""héllo {}""#), [.string("héllo {}")])
  }

  func testUnknownStringEscapeIsReportedAtTheEscape() {
    let diagnostic = onlyDiagnostic(#"let s = "ab\qc";"#)
    XCTAssertEqual(diagnostic?.code, .invalidEscape)
    XCTAssertEqual(diagnostic?.message, #"unknown escape `\q` in string literal"#)
    XCTAssertEqual(diagnostic?.span?.start, 11)
    XCTAssertEqual(diagnostic?.span?.end, 13)
  }

  func testUnterminatedStringIsReportedAtTheQuote() {
    let output = lex("let s = \"abc\nmore")
    XCTAssertEqual(output.diagnostics.map(\.message), ["unterminated string literal"])
    XCTAssertEqual(output.diagnostics.first?.code, .unterminatedString)
    XCTAssertEqual(output.diagnostics.first?.span?.start, 8)
    XCTAssertEqual(output.diagnostics.first?.span?.end, 9)
    XCTAssertEqual(output.unterminatedStart, 8)
  }

  func testComments() {
    XCTAssertEqual(kinds("a // comment\nb"), [.identifier("a"), .identifier("b")])
    XCTAssertEqual(kinds("a /* x */ b"), [.identifier("a"), .identifier("b")])
    XCTAssertEqual(kinds("a /* a /* b */ c */ b"), [.identifier("a"), .identifier("b")])
    XCTAssertEqual(kinds("a /**/ b /* // */"), [.identifier("a"), .identifier("b")])
  }

  func testUnterminatedNestedCommentIsReportedAtItsStart() {
    let output = lex("x /* a /* b */ c")
    XCTAssertEqual(output.diagnostics.map(\.message), ["unterminated block comment"])
    XCTAssertEqual(output.diagnostics.first?.code, .unterminatedComment)
    XCTAssertEqual(output.diagnostics.first?.span?.start, 2)
    XCTAssertEqual(output.diagnostics.first?.span?.end, 4)
  }

  func testKeywordsAndContextualWords() {
    let keywords =
      "fn let if else while for in return true false import extern export global struct as"
    XCTAssertEqual(
      kinds(keywords),
      keywords.split(separator: " ").map { .keyword(Keyword(rawValue: String($0))!) })
    XCTAssertEqual(
      kinds("break continue _x9 fnord"),
      [.identifier("break"), .identifier("continue"), .identifier("_x9"), .identifier("fnord")])
  }

  func testOperatorsUseLongestMatch() {
    XCTAssertEqual(
      kinds("<<= << <= < >>= >> >= > -> -= && &= & || |= | ..= .. . == = != !"),
      [
        .lessLessEqual, .lessLess, .lessEqual, .less, .greaterGreaterEqual, .greaterGreater,
        .greaterEqual, .greater, .arrow, .minusEqual, .ampersandAmpersand, .ampersandEqual,
        .ampersand, .pipePipe, .pipeEqual, .pipe, .dotDotEqual, .dotDot, .dot, .equalEqual,
        .equal, .bangEqual, .bang,
      ].map { TokenKind.symbol($0) })
  }

  func testTemplateWithInterpolation() {
    XCTAssertEqual(
      kinds("`a{x}b`"),
      [
        .templateStart, .templateText("a"), .interpolationStart, .identifier("x"),
        .interpolationEnd, .templateText("b"), .templateEnd,
      ])
  }

  func testTemplateEscapes() {
    XCTAssertEqual(
      kinds(#"`\n\t\r\\\`\{\}\$`"#), [.templateStart, .templateText("\n\t\r\\`{}$"), .templateEnd])
    let diagnostic = onlyDiagnostic(#"`a\"b`"#)
    XCTAssertEqual(diagnostic?.message, #"unknown escape `\"` in template string"#)
    XCTAssertEqual(diagnostic?.span?.start, 2)
  }

  func testInterpolationMayHoldBracesStringsAndTemplates() {
    XCTAssertEqual(
      kinds(#"`{ f("}") }`"#),
      [
        .templateStart, .interpolationStart, .identifier("f"), .symbol(.leftParen), .string("}"),
        .symbol(.rightParen), .interpolationEnd, .templateEnd,
      ])
    XCTAssertEqual(
      kinds("`Outer { `Inner {name}` }`"),
      [
        .templateStart, .templateText("Outer "), .interpolationStart, .templateStart,
        .templateText("Inner "), .interpolationStart, .identifier("name"), .interpolationEnd,
        .templateEnd, .interpolationEnd, .templateEnd,
      ])
    XCTAssertEqual(
      kinds("`{ { 1 } }`"),
      [
        .templateStart, .interpolationStart, .symbol(.leftBrace), .integer(1, suffix: nil),
        .symbol(.rightBrace), .interpolationEnd, .templateEnd,
      ])
  }

  func testUnterminatedTemplateIsReportedAtItsBacktick() {
    for text in ["x = `abc", "x = `a {b", "x = `a { `b {c}` "] {
      let output = lex(text)
      XCTAssertEqual(output.diagnostics.map(\.message), ["unterminated template string"], text)
      XCTAssertEqual(output.diagnostics.first?.code, .unterminatedTemplate)
      XCTAssertEqual(output.diagnostics.first?.span?.start, 4, text)
    }
  }

  func testUnexpectedCharactersAreOneErrorPerRun() {
    let output = lex("a @$ é b")
    XCTAssertEqual(
      output.diagnostics.map(\.message),
      ["unexpected characters `@$`", "unexpected character `é`"])
    XCTAssertEqual(output.diagnostics.map(\.code), [.unexpectedCharacter, .unexpectedCharacter])
    XCTAssertEqual(
      output.tokens.dropLast().map(\.kind),
      [.identifier("a"), .invalid, .invalid, .identifier("b")])
    XCTAssertEqual(output.diagnostics[1].span?.start, 5)
    XCTAssertEqual(output.diagnostics[1].span?.end, 7)
  }

  func testTokenSpans() {
    let tokens = lex("let x = 10i64;").tokens
    XCTAssertEqual(tokens.map(\.start), [0, 4, 6, 8, 13, 14])
    XCTAssertEqual(tokens.map(\.end), [3, 5, 7, 13, 14, 14])
  }
}
