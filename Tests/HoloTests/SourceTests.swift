import HoloSource
import XCTest

final class SourceTests: XCTestCase {
  func testLineAndColumn() {
    let sources = SourceManager()
    let file = sources.add(path: "a.holo", text: "fn a() {}\n  let é = 1;\n")
    XCTAssertEqual(file.location(of: 0), LineColumn(line: 1, column: 1))
    XCTAssertEqual(file.location(of: 12), LineColumn(line: 2, column: 3))
    XCTAssertEqual(file.lineText(2), "  let é = 1;")
  }

  func testColumnsCountScalarsAcrossLongLines() {
    // Multi-byte scalars on both sides of many 64-byte checkpoints, on lines of all lengths.
    var text = ""
    var expected: [(offset: Int, location: LineColumn)] = []
    for line in 1...40 {
      var column = 1
      for index in 0..<(line * 37) {
        let scalar = ["a", "é", "€", "😀"][(index * 7 + line) % 4]
        expected.append((text.utf8.count, LineColumn(line: line, column: column)))
        text += scalar
        column += 1
      }
      text += "\n"
    }
    let file = SourceManager().add(path: "long.holo", text: text)
    for (offset, location) in expected {
      XCTAssertEqual(file.location(of: offset), location, "offset \(offset)")
    }
    let ascii = SourceManager().add(path: "ascii.holo", text: String(repeating: "x", count: 1000))
    XCTAssertEqual(ascii.location(of: 777), LineColumn(line: 1, column: 778))
    XCTAssertEqual(ascii.location(of: 1000), LineColumn(line: 1, column: 1001))
  }

  func testHumanRenderingMatchesCLISpec() {
    let sources = SourceManager()
    let text = "fn bad() -> i64 { 1i64 + 2.0f64; }"
    let file = sources.add(path: "bad.holo", text: text)
    let left = Span(file: file.id, start: 18, end: 22)
    let right = Span(file: file.id, start: 25, end: 31)
    let diagnostic = Diagnostic(
      .arithmeticSameType, "arithmetic operands must have the same type", at: left,
      labels: [
        Label(left, "left operand has type `i64`"), Label(right, "right operand has type `f64`"),
      ])
    let rendered = DiagnosticRenderer(sources: sources).renderHuman(diagnostic)
    XCTAssertEqual(
      rendered,
      """
      ⚒️ Typecheck[E0201]: arithmetic operands must have the same type

      bad.holo:1:19
         1 │ fn bad() -> i64 { 1i64 + 2.0f64; }
           │                   ───┬   ────── right operand has type `f64`
           │                      └─ left operand has type `i64`

      """)
  }

  func testALongLineIsShownInWindowsAroundItsMarks() throws {
    let sources = SourceManager()
    let text =
      String(repeating: "x", count: 5_000) + "é = 1;" + String(repeating: "y", count: 5_000)
    let file = sources.add(path: "long.holo", text: text)
    let left = Span(file: file.id, start: 10, end: 13)
    let right = Span(file: file.id, start: 5_000, end: 5_002)
    let diagnostic = Diagnostic(
      .typeMismatch, "mismatched types", at: right,
      labels: [Label(left, "this one"), Label(right, "and this one")])
    let rendered = DiagnosticRenderer(sources: sources).renderHuman(diagnostic)
    let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines[2], "long.holo:1:5001")
    XCTAssertLessThan(rendered.count, 600, rendered)
    // The line shows the start, each mark with 40 characters around it, `…` between.
    let shown = try XCTUnwrap(lines.first { $0.hasPrefix("   1 │ ") }).dropFirst(7)
    XCTAssertTrue(shown.hasPrefix(String(repeating: "x", count: 53) + "…"), String(shown))
    XCTAssertTrue(shown.hasSuffix(String(repeating: "y", count: 35) + "…"), String(shown))
    // Underlines stand under their marks.
    let underline = try XCTUnwrap(lines.first { $0.hasPrefix("     │ ") }).dropFirst(7)
    let shownScalars = Array(shown.unicodeScalars)
    let underlineScalars = Array(underline.unicodeScalars)
    XCTAssertEqual(underlineScalars.firstIndex(of: "─"), 10)
    let second = try XCTUnwrap(underlineScalars.lastIndex(of: "─"))
    XCTAssertEqual(shownScalars[second], "é")
    XCTAssertEqual(shownScalars[second + 1], " ")
  }

  func testHeadlinesAreOneLineWithTextEscapedAndShortened() {
    let sources = SourceManager()
    let text = "let x = 1 \u{1B}[2J \u{202E};"
    let file = sources.add(path: "esc.holo", text: text)
    let span = Span(file: file.id, start: 10, end: 11)
    let name = String(repeating: "n", count: 1_000)
    let diagnostic = Diagnostic(
      .unknownName, "unknown variable `\(name)`", at: span, labels: [Label(span, "not `\u{1B}`")])
    let rendered = DiagnosticRenderer(sources: sources).renderHuman(diagnostic)
    let invisible = Diagnostic(.unknownName, "found `\u{1B}[2J\u{202E}\u{2028}\t`", at: span)
    XCTAssertTrue(
      DiagnosticRenderer(sources: sources).renderHuman(invisible).hasPrefix(
        "⚒️ Typecheck[E0215]: found `\\u{1B}[2J\\u{202E}\\u{2028}\\t`\n"))
    XCTAssertEqual(
      rendered,
      """
      ⚒️ Typecheck[E0215]: unknown variable `\(String(repeating: "n", count: 282))…

      esc.holo:1:11
         1 │ let x = 1 ␛[2J �;
           │           ─ not `\\u{1B}`

      """)
    XCTAssertEqual(DiagnosticText.quoted("\"a\nb\""), "`\"a\\nb\"`")
    XCTAssertEqual(
      DiagnosticText.quoted(String(repeating: "q", count: 100)),
      "`" + String(repeating: "q", count: 32) + "…`")
  }

  func testHumanOutputCountsWhatIsBeyondTheLimitOfAFile() {
    let sources = SourceManager()
    let first = sources.add(path: "a.holo", text: String(repeating: "x ", count: 200))
    let second = sources.add(path: "b.holo", text: "y")
    var diagnostics = (0..<150).map {
      Diagnostic(
        .unknownName, "unknown \($0)", at: Span(file: first.id, start: 2 * $0, end: 2 * $0 + 1))
    }
    diagnostics.append(
      Diagnostic(.unknownName, "unknown y", at: Span(file: second.id, start: 0, end: 1)))
    let renderer = DiagnosticRenderer(sources: sources)
    let human = renderer.render(diagnostics, format: .human)
    XCTAssertEqual(human.components(separatedBy: "⚒️").count - 1, 101)
    XCTAssertTrue(human.contains("unknown 99\n"))
    XCTAssertFalse(human.contains("unknown 100\n"))
    XCTAssertTrue(human.contains("unknown y\n"))
    XCTAssertTrue(
      human.hasSuffix("and 50 more errors in a.holo (`--format json` lists them all)\n\n"), human)
    XCTAssertEqual(renderer.render(diagnostics, format: .json).split(separator: "\n").count, 151)
  }
}
