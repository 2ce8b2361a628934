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
}
