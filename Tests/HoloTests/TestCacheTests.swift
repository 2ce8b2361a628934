import Foundation
import HoloCache
import XCTest

/// `holoc test` reports a test unchanged since it last passed from the build cache instead
/// of running it; driven through the real holoc, with a private cache per test.
final class TestCacheTests: XCTestCase {
  private var project: CachedProject!

  private static let suite = """
    fn add(a: i64, b: i64) -> i64 { a + b }
    fn twice(a: i64) -> i64 { a * 2 }
    #[test] fn adds() { println("adding"); assert(add(1, 2) == 3); }
    #[test] fn doubles() { assert(twice(2) == 4); }

    """

  override func setUpWithError() throws {
    project = try CachedProject(named: "test-cache")
  }

  override func tearDown() {
    project.remove()
  }

  /// `holoc test --jobs 1 ARGUMENTS` in `folder` of the project, with the build cache `cache`.
  private func test(
    _ arguments: [String], in folder: String = "", cache: String = "cache",
    remote: String? = nil
  ) throws -> CapturedOutput {
    try project.holoc(
      ["test", "--jobs", "1"] + arguments, in: folder, cache: cache, remote: remote)
  }

  func testAPassedTestUnchangedSinceIsReportedFromTheCache() throws {
    try project.write(Self.suite, to: "main.holo")
    let first = try test(["main.holo"])
    XCTAssertEqual(first.stdout, "test adds ... ok\ntest doubles ... ok\n2 passed, 0 failed\n")

    let second = try test(["main.holo"])
    XCTAssertEqual(second.status, 0, second.stderr)
    XCTAssertEqual(
      second.stdout,
      "test adds ... ok (cached)\ntest doubles ... ok (cached)\n"
        + "2 of them cached: unchanged since they last passed (--no-cache runs them)\n"
        + "2 passed, 0 failed\n")

    // A body only `doubles` reaches: `adds` stays cached.
    try project.write(Self.suite.replacingOccurrences(of: "a * 2", with: "a + a"), to: "main.holo")
    let edited = try test(["main.holo", "--format", "json"])
    let objects = try jsonObjects(edited.stdout)
    XCTAssertEqual(objects.dropLast().map { $0["cached"] as? Bool }, [true, false])
    XCTAssertEqual(objects[0]["output"] as? String, "adding\n", "a cached pass keeps its output")
    XCTAssertEqual(objects.last?["cached"] as? Int, 1)

    let all = try test(["main.holo", "--no-cache"])
    XCTAssertEqual(all.stdout, "test adds ... ok\ntest doubles ... ok\n2 passed, 0 failed\n")
  }

  func testFailingTestsAndTestsThatCallCAreNeverCached() throws {
    try project.write(
      """
      extern fn abs(x: i32) -> i32;
      #[test] fn fails() { assert(1 == 2); }
      #[test] fn calls_c() { assert(abs(-3) == 3); }

      """, to: "main.holo")
    for _ in 0..<2 {
      let outcome = try test(["main.holo"])
      XCTAssertEqual(outcome.status, 1)
      XCTAssertTrue(
        outcome.stdout.hasPrefix("test fails ... FAILED\ntest calls_c ... ok\n"), outcome.stdout)
      XCTAssertFalse(outcome.stdout.contains("cached"), outcome.stdout)
    }
  }

  func testWhatATestCanReachDecidesNotWhereItIs() throws {
    try project.write(Self.suite, to: "main.holo")
    XCTAssertEqual(try test(["main.holo"]).status, 0)
    // Lines added above every function: nothing a test runs changed.
    try project.write("// a comment\n\n" + Self.suite, to: "main.holo")
    XCTAssertTrue(try test(["main.holo"]).stdout.contains("2 of them cached"))
    // A signature the test calls through changes: it runs again.
    try project.write(
      Self.suite.replacingOccurrences(
        of: "fn add(a: i64, b: i64) -> i64 { a + b }",
        with: "fn add(a: i64, b: i64) -> i64 { b + a }"), to: "main.holo")
    let outcome = try test(["main.holo"])
    XCTAssertTrue(
      outcome.stdout.hasPrefix("test adds ... ok\ntest doubles ... ok (cached)\n"), outcome.stdout)
  }

  /// Two clean checkouts of one project, each with an empty local cache, behind one
  /// remote cache (a real nginx): the second runs no test.
  func testASecondCheckoutGetsTheResultsFromTheRemoteCache() throws {
    let url = try NginxShare.start(in: "\(project.path)/nginx", for: self)
    for checkout in ["one", "two"] { try project.write(Self.suite, to: "\(checkout)/main.holo") }
    let first = try test(["main.holo"], in: "one", cache: "cache-one", remote: url)
    XCTAssertEqual(first.stdout, "test adds ... ok\ntest doubles ... ok\n2 passed, 0 failed\n")
    let second = try test(["main.holo"], in: "two", cache: "cache-two", remote: url)
    XCTAssertTrue(second.stdout.contains("2 of them cached"), second.stdout + second.stderr)
    XCTAssertEqual(second.stderr, "")
  }

  func testADeadRemoteCacheOnlyCostsTheCache() throws {
    try project.write(Self.suite, to: "main.holo")
    // Port 9 on loopback: nothing listens (discard is not run).
    let outcome = try test(["main.holo"], remote: "http://127.0.0.1:9")
    XCTAssertEqual(outcome.status, 0)
    XCTAssertEqual(outcome.stdout, "test adds ... ok\ntest doubles ... ok\n2 passed, 0 failed\n")
    XCTAssertTrue(outcome.stderr.hasPrefix("warning: "), outcome.stderr)
  }
}
