import Foundation
import HoloSource
import XCTest

/// Inputs of the sizes and shapes users paste into a compiler (generated and minified code,
/// megabyte lines), through the real `holoc` binary: long operator, cast and `else if`
/// chains compile and run, deep nesting is a located diagnostic, and nothing crashes. The
/// inputs are large enough that the quadratic or recursive code they guard against would
/// crash or run into the time limit.
final class LargeInputTests: XCTestCase {
  private var project: String!

  override func setUpWithError() throws {
    project = try makeScratchFolder("holo-large-input-tests")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: project)
  }

  // MARK: Helpers

  /// The holoc next to the test bundle (SwiftPM puts every product in one folder).
  private static let holocPath: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("holoc").path
  }()

  /// Runs holoc in the project folder on `source`, written to `main.holo`.
  private func holoc(_ arguments: [String], source: String, timeout: TimeInterval = 60) throws
    -> CapturedOutput
  {
    try source.write(toFile: "\(project!)/main.holo", atomically: true, encoding: .utf8)
    var environment = ProcessInfo.processInfo.environment
    // The CLI tests' runtime cache, so the runtime is compiled once for both.
    environment["XDG_CACHE_HOME"] =
      FileManager.default.temporaryDirectory.appendingPathComponent("holo-cli-tests-cache").path
    environment["NO_COLOR"] = "1"
    environment.removeValue(forKey: "HOLO_FAILURE_REPORT")
    return try runCapturingOutput(
      Self.holocPath, arguments, environment: environment, directory: project, timeout: timeout)
  }

  /// Runs `source` in a dev and a release build; both must print `output`.
  private func assertRuns(
    _ source: String, printing output: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    for flags in [[], ["--release"]] {
      let outcome = try holoc(["run", "main.holo"] + flags, source: source)
      XCTAssertEqual(outcome.status, 0, "\(flags): \(outcome.stderr)", file: file, line: line)
      XCTAssertEqual(outcome.stdout, output, "\(flags)", file: file, line: line)
    }
  }

  // MARK: Chains

  func testASumOf100000TermsRuns() throws {
    let sum = Array(repeating: "a", count: 100_000).joined(separator: " + ")
    try assertRuns("let a = 1;\nprintln(\(sum));\n", printing: "100000\n")
  }

  func testAChainOf100000CastsRuns() throws {
    let casts = (0..<100_000).map { $0 % 2 == 0 ? " as i32" : " as i64" }.joined()
    let outcome = try holoc(["run", "main.holo"], source: "let a = 7;\nprintln(a\(casts));\n")
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stdout, "7\n")
  }

  func testAChainOfComparisonsRuns() throws {
    let comparisons = (0..<10_000).map { "a < \($0 + 6)" }.joined(separator: " && ")
    try assertRuns("let a = 5;\nprintln(\(comparisons));\n", printing: "true\n")
  }

  func testAnElseIfChainOf10000ArmsRuns() throws {
    let arms = (1..<10_000).map { " else if a == \($0) { \($0 * 3) }" }.joined()
    let source = """
      fn pick(a: i64) -> i64 {
        if a == 0 { 0 }\(arms) else { -1 }
      }
      println(pick(9999));
      println(pick(10000));
      println(pick(7));

      """
    try assertRuns(source, printing: "29997\n-1\n21\n")
  }

  // MARK: Nesting

  func testNestingUpToTheLimitRuns() throws {
    // Every level nests six operators of rising precedence, each a recursion of its own.
    let depth = 250
    let source =
      "let a = 1;\nprintln(" + String(repeating: "(a | a ^ a & a << a + a * ", count: depth) + "a"
      + String(repeating: ")", count: depth) + ");\n"
    try assertRuns(source, printing: "1\n")
  }

  func testNestingBeyondTheLimitIsALocatedDiagnostic() throws {
    let depth = 300
    let shapes = [
      "let x = " + String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
        + ";",
      "fn main() { " + String(repeating: "{ ", count: depth) + String(repeating: "} ", count: depth)
        + "}",
      "let b = true;\nlet x = " + String(repeating: "!", count: depth) + "b;",
    ]
    for shape in shapes {
      let outcome = try holoc(["check", "--format", "json", "main.holo"], source: shape + "\n")
      XCTAssertEqual(outcome.status, 1, outcome.stderr)
      let lines = outcome.stderr.split(separator: "\n")
      XCTAssertEqual(lines.count, 1, outcome.stderr)
      let diagnostic = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
      XCTAssertEqual(diagnostic["code"] as? String, "E0017")
      XCTAssertEqual(diagnostic["file"] as? String, "main.holo")
      XCTAssertNotNil(diagnostic["line"] as? Int)
      XCTAssertNotNil(diagnostic["column"] as? Int)
    }
  }

  // MARK: Diagnostics

  /// Checks human diagnostics: every headline is one line followed by a blank line and a
  /// `file:line:column`, and nothing but line ends is a control character.
  private func assertLocatedOneLineHeadlines(
    _ text: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let location = /^[^ ]+:[0-9]+:[0-9]+$/
    for (index, headline) in lines.enumerated() where headline.hasPrefix("⚒️") {
      XCTAssertEqual(lines[index + 1], "", String(headline), file: file, line: line)
      XCTAssertNotNil(
        try? location.wholeMatch(in: lines[index + 2]), String(lines[index + 2]), file: file,
        line: line)
    }
    let raw = text.unicodeScalars.filter { $0 != "\n" && DiagnosticText.needsEscape($0) }
    XCTAssertEqual(raw.map { String($0.value, radix: 16) }, [], file: file, line: line)
  }

  func testTenThousandErrorsOnAMegabyteLine() throws {
    // Each unit is 100 bytes and one error (its value is missing).
    let units = (0..<10_000).map { index -> String in
      let statement = "let x\(index) = 1 +;"
      return statement + String(repeating: " ", count: 100 - statement.utf8.count)
    }
    let source = units.joined() + "\n"
    XCTAssertEqual(source.utf8.count, 1_000_001)
    let human = try holoc(["check", "main.holo"], source: source)
    XCTAssertEqual(human.status, 1)
    XCTAssertLessThan(human.stderr.utf8.count, 100_000)
    XCTAssertEqual(human.stderr.components(separatedBy: "⚒️ Parsing[E0011]").count - 1, 100)
    XCTAssertTrue(
      human.stderr.hasSuffix(
        "and 9,900 more errors in main.holo (`--format json` lists them all)\n\n"),
      String(human.stderr.suffix(300)))
    assertLocatedOneLineHeadlines(human.stderr)
    let json = try holoc(["check", "--format", "json", "main.holo"], source: source)
    XCTAssertEqual(json.stderr.split(separator: "\n").count, 10_000)
    XCTAssertTrue(
      json.stderr.hasSuffix(
        "\"line\":1,\"column\":999916,\"end_line\":1,\"end_column\":999917,\"labels\":[],\"hint\":null}\n"
      ), String(json.stderr.suffix(300)))
  }

  func testAChainOf100000ComparisonsIsReportedBriefly() throws {
    // Comparisons do not chain: every `<` after the first is an error.
    let chain = Array(repeating: "a", count: 100_000).joined(separator: " < ")
    let outcome = try holoc(["check", "main.holo"], source: "let a = 1;\nlet b = \(chain);\n")
    XCTAssertEqual(outcome.status, 1)
    XCTAssertTrue(
      outcome.stderr.hasPrefix("⚒️ Parsing[E0013]: comparison operators cannot be chained"))
    XCTAssertLessThan(outcome.stderr.utf8.count, 100_000)
    XCTAssertTrue(
      outcome.stderr.contains(" more errors in main.holo"), String(outcome.stderr.suffix(300)))
    assertLocatedOneLineHeadlines(outcome.stderr)
  }

  func testHeadlinesShowTokensEscaped() throws {
    let source = """
      let x = 1 "two
      lines";
      let y = \u{1B}[31m;
      let z = 1 \u{202E} \u{2028};
      let w = 1 "\(String(repeating: "long ", count: 100))";

      """
    let outcome = try holoc(["check", "main.holo"], source: source)
    XCTAssertEqual(outcome.status, 1)
    let headlines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("⚒️") }
    XCTAssertEqual(
      headlines,
      [
        "⚒️ Parsing[E0010]: expected `;`, found `\"two\\nlines\"`",
        "⚒️ Parsing[E0001]: unexpected character `\\u{1B}`",
        "⚒️ Parsing[E0005]: invalid suffix `m` for number literal",
        "⚒️ Parsing[E0001]: unexpected character `\\u{202E}`",
        "⚒️ Parsing[E0001]: unexpected character `\\u{2028}`",
        "⚒️ Parsing[E0010]: expected `;`, found `\"long long long long long long l…`",
      ])
    assertLocatedOneLineHeadlines(outcome.stderr)
  }

  // MARK: Long lines

  func testA40000StatementLineBuilds() throws {
    // Each statement's debug location is a column on the same line.
    let statements = String(repeating: "println(a); ", count: 40_000)
    let outcome = try holoc(
      ["build", "main.holo", "-o", "app"], source: "fn main() { let a = 1; \(statements)}\n")
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "\(project!)/app"))
  }

  func testAHundredThousandNumberArrayLiteralRunsInRelease() throws {
    // Stored one by one, LLVM's optimiser took minutes over such a literal; its constant
    // bytes are copied instead.
    let numbers = (0..<100_000).map(String.init).joined(separator: ", ")
    let outcome = try holoc(
      ["run", "--release", "main.holo"],
      source: "fn main() { let a = [\(numbers)]; println(a[99_999] + a.len()); }\n")
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stdout, "199999\n")
  }

  // MARK: Stack

  func testAForLoopInsideALoopRunsInConstantStack() throws {
    let source = """
      let n = 0;
      let total = 0;
      while n < 1000000 {
        for i in 0..2 { total += i; }
        n += 1;
      }
      println(total);

      """
    let outcome = try holoc(["run", "main.holo"], source: source)
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stdout, "1000000\n")
  }
}
