import Foundation
import XCTest

/// `holoc dev` runs affected tests in its test process: a test executable kept running
/// with `--serve`, patched like the program, forking a child per test
/// (docs/PATCHING.md, "The test process"). Each case drives the built holoc like DevTests.
final class TestProcessTests: XCTestCase {
  private var session: DevSession!

  override func tearDown() {
    session?.stop()
    session = nil
  }

  private static let library = """
    fn value() -> i64 { 1 }
    fn other() -> i64 { 7 }
    #[test] fn value_is_one() { assert(value() == 1); }
    #[test] fn other_is_seven() { assert(other() == 7); }

    """

  func testAnEditedFunctionAndAnEditedTestArePatchedIntoTheSameTestProcess() throws {
    session = try DevSession(files: ["main.holo": Self.library])
    let first = try session.waitForEvent("tests")
    XCTAssertEqual(first["test_process"] as? String, "started")
    XCTAssertEqual(first["passed"] as? Int, 2)
    let server = try XCTUnwrap(session.testProcessIDs().first)

    try session.edit("main.holo", replacing: "{ 1 }", with: "{ 2 }")
    let broken = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(broken["test_process"] as? String, "patched")
    XCTAssertEqual(Self.statuses(broken), ["value_is_one": "failed"])

    // The test itself changes: it is called through its slot, so its new version runs.
    try session.edit("main.holo", replacing: "value() == 1", with: "value() == 2")
    let edited = try session.waitForEvent("tests", occurrence: 3)
    XCTAssertEqual(edited["test_process"] as? String, "patched")
    XCTAssertEqual(Self.statuses(edited), ["value_is_one": "passed"])

    try session.edit("main.holo", replacing: "{ 2 }", with: "{ 1 }")
    let failing = try session.waitForEvent("tests", occurrence: 4)
    XCTAssertEqual(Self.statuses(failing), ["value_is_one": "failed"])
    try session.edit("main.holo", replacing: "value() == 2", with: "value() == 1")
    let fixed = try session.waitForEvent("tests", occurrence: 5)
    XCTAssertEqual(fixed["test_process"] as? String, "patched")
    XCTAssertEqual(Self.statuses(fixed), ["value_is_one": "passed"])
    XCTAssertEqual(session.testProcessIDs(), [server], "one test process, patched throughout")
  }

  func testANewTestStartsANewTestProcessThatRunsIt() throws {
    session = try DevSession(files: ["main.holo": Self.library])
    try session.waitForEvent("tests")
    let server = try XCTUnwrap(session.testProcessIDs().first)
    try session.edit(
      "main.holo", replacing: "#[test] fn other_is_seven",
      with: "#[test] fn value_is_small() { assert(value() < 10); }\n#[test] fn other_is_seven")
    let added = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(added["test_process"] as? String, "started")
    XCTAssertEqual(added["total"] as? Int, 3)
    XCTAssertEqual(Self.statuses(added), ["value_is_small": "passed"])
    try waitUntil { !DevSession.isRunning(server) }
    let replacement = try XCTUnwrap(session.testProcessIDs().first)
    XCTAssertNotEqual(replacement, server)

    // The new test process is kept and patched in turn.
    try session.edit("main.holo", replacing: "{ 7 }", with: "{ 8 }")
    let patched = try session.waitForEvent("tests", occurrence: 3)
    XCTAssertEqual(patched["test_process"] as? String, "patched")
    XCTAssertEqual(Self.statuses(patched), ["other_is_seven": "failed"])
    XCTAssertEqual(session.testProcessIDs(), [replacement])
  }

  func testATestProcessThatEndedIsReplacedOnTheNextChange() throws {
    session = try DevSession(files: ["main.holo": Self.library])
    try session.waitForEvent("tests")
    let server = try XCTUnwrap(session.testProcessIDs().first)
    kill(server, SIGKILL)
    try waitUntil { !DevSession.isRunning(server) }
    try session.edit("main.holo", replacing: "{ 7 }", with: "{ 8 }")
    let replaced = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(replaced["test_process"] as? String, "started")
    XCTAssertEqual(Self.statuses(replaced), ["other_is_seven": "failed"])
    XCTAssertEqual(session.testProcessIDs().count, 1)
    XCTAssertNotEqual(session.testProcessIDs().first, server)
  }

  func testANewerChangeKillsTheRunningTestAndRunsItWithTheNewCode() throws {
    session = try DevSession(
      files: [
        "main.holo": """
        fn value() -> i64 { 1 }
        fn slow() -> i64 { sleep_ms(20000); value() }
        #[test] fn slow_value() { assert(slow() > 0); }
        #[test] fn quick_value() { assert(value() == 1); }

        """
      ], flags: ["--no-run"])
    var slowTest: Int32?
    // The first run reaches the slow test: its child sleeps.
    try waitUntil {
      slowTest = self.session.testProcessIDs().flatMap(DevSession.children(of:)).first
      return slowTest != nil
    }
    try session.edit("main.holo", replacing: "{ 1 }", with: "{ 2 }")
    let killed = try XCTUnwrap(slowTest)
    try waitUntil(seconds: 5) { !DevSession.isRunning(killed) }
    // The outdated run reports nothing; the new one has the tests of both.
    try waitUntil {
      !self.session.testProcessIDs().flatMap(DevSession.children(of:)).filter {
        $0 != killed && DevSession.isRunning($0)
      }.isEmpty
    }
    XCTAssertEqual(session.events(named: "tests").count, 0)
    try session.edit("main.holo", replacing: "sleep_ms(20000);", with: "")
    let tests = try session.waitForEvent("tests")
    XCTAssertEqual(tests["test_process"] as? String, "patched")
    XCTAssertEqual(Self.statuses(tests), ["slow_value": "passed", "quick_value": "failed"])
    XCTAssertEqual(session.events(named: "tests").count, 1)
  }

  /// Failures of every kind read as `holoc test` reports them.
  private static let failing = """
    extern fn abort();
    fn value() -> i64 { 1 }
    fn depth(n: i64) -> i64 {
      depth(n + 1) + value()
    }
    #[test] fn asserts() {
      println("checking");
      assert(value() == 2);
    }
    #[test] fn overflows() { assert(depth(0) > 0); }
    #[test] fn hangs() { while value() > 0 {} }
    #[test] fn aborts() { if value() > 0 { abort(); } }
    #[test] fn exits() { print("bye"); exit(value() as i32 + 2); }
    #[test] fn divides() { assert(10 / (value() - 1) > 0); }

    """

  func testFailuresInTheTestProcessAreReportedAsHolocTestReportsThem() throws {
    session = try DevSession(files: ["main.holo": Self.failing], flags: ["--timeout", "1"])
    let first = try session.waitForEvent("tests")
    XCTAssertEqual(first["failed"] as? Int, 6)
    // Patched in: the same failures, from patched code.
    try session.edit("main.holo", replacing: "{ 1 }", with: "{ 0 + 1 }")
    let patched = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(patched["test_process"] as? String, "patched")
    let expected = try holocTestResults(in: session.project)
    for results in [first, patched].map(Self.results) {
      XCTAssertEqual(results.count, 6)
      for result in results {
        let name = result["name"] as? String ?? "?"
        let reference = try XCTUnwrap(expected[name], name)
        for field in ["file", "line", "status", "output"] {
          XCTAssertEqual(
            result[field] as? NSObject, reference[field] as? NSObject, "\(name): \(field)")
        }
        XCTAssertEqual(
          result["failure"] as? NSDictionary, reference["failure"] as? NSDictionary, name)
      }
    }
    let messages = Dictionary(
      uniqueKeysWithValues: Self.results(patched).map {
        ($0["name"] as? String ?? "", ($0["failure"] as? [String: Any])?["message"] as? String)
      })
    XCTAssertEqual(messages["asserts"], "assertion failed")
    XCTAssertEqual(messages["overflows"], "stack overflow")
    XCTAssertEqual(messages["hangs"], "test timed out after 1 s")
    XCTAssertEqual(messages["aborts"], "the test crashed: Aborted (signal 6)")
    XCTAssertEqual(messages["exits"], "the test exited with status 3")
    XCTAssertEqual(messages["divides"], "division by zero")
  }

  func testTheTestProcessAndItsTestsEndWithHolocDev() throws {
    for signal in [SIGTERM, SIGKILL] {
      session?.stop()
      session = try DevSession(
        files: [
          "main.holo": """
          fn value() -> i64 { 1 }
          #[test] fn waits() { sleep_ms(60000); assert(value() == 1); }

          """
        ])
      var test: Int32?
      try waitUntil {
        test = self.session.testProcessIDs().flatMap(DevSession.children(of:)).first
        return test != nil
      }
      let server = try XCTUnwrap(session.testProcessIDs().first)
      let running = try XCTUnwrap(test)
      defer { [server, running].forEach { if DevSession.isRunning($0) { kill($0, SIGKILL) } } }
      session.signal(signal)
      try waitUntil { !DevSession.isRunning(server) && !DevSession.isRunning(running) }
    }
  }

  // MARK: Helpers

  private static func results(_ event: [String: Any]) -> [[String: Any]] {
    event["results"] as? [[String: Any]] ?? []
  }

  /// Each result's name and status.
  private static func statuses(_ event: [String: Any]) -> [String: String] {
    Dictionary(
      uniqueKeysWithValues: results(event).map {
        ($0["name"] as? String ?? "", $0["status"] as? String ?? "")
      })
  }

  /// `holoc test --format json` on the project, by test name.
  private func holocTestResults(in project: String) throws -> [String: [String: Any]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: DevSession.holocPath)
    process.arguments = ["test", "--format", "json", "--no-cache", "--timeout", "1"]
    process.currentDirectoryURL = URL(fileURLWithPath: project, isDirectory: true)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var results: [String: [String: Any]] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        object["type"] as? String == "test", let name = object["name"] as? String
      else { continue }
      results[name] = object
    }
    return results
  }

  private func waitUntil(seconds: Double = 60, _ condition: () -> Bool) throws {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while !condition() {
      guard Date() < deadline else {
        throw DevTestFailure("timed out; events:\n\(session.events(named: "tests"))")
      }
      usleep(10_000)
    }
  }
}
