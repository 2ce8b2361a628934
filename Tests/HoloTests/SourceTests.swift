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
}
