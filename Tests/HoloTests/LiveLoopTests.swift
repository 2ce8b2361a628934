import Foundation
import XCTest

/// End-to-end tests of the edits that must keep the program's state under `holoc dev`
/// (optimised builds, slow calls, running tests, series of saves, replayed prompts, a
/// vanished entry point, stuck frames). Each drives the built holoc like DevTests.
final class LiveLoopTests: XCTestCase {
  private var session: DevSession!

  override func tearDown() {
    session?.stop()
    session = nil
  }

  /// A busy loop in `main` that calls `step`: optimised, `main` inlines `step` behind a
  /// guard that compares the slot with `step`'s first version, and keeps that address in
  /// a register or on the stack all the time. That is not a frame of `step`.
  private static let busyLoop = """
    fn step(n: i64) -> i64 { n + 1; }
    fn main() {
      let n = 0;
      let last = 0;
      while true {
        let next = step(n);
        if next - n != last {
          last = next - n;
          println(`delta {last}`);
          sleep_ms(0);
        }
        n = next;
      }
    }
    """

  func testOptimisedDevBuildsPatchLive() throws {
    for level in ["-O1", "-O2", "-O3"] {
      session?.stop()
      session = try DevSession(files: ["main.holo": Self.busyLoop], flags: [level, "--no-tests"])
      try session.waitForEvent("ready")
      try session.waitForOutput("delta 1\n")
      try session.edit("main.holo", replacing: "n + 1;", with: "n + 2;")
      try session.waitForEvent("patch")
      try session.waitForOutput("delta 1\ndelta 2\n")
      usleep(200_000)
      XCTAssertEqual(session.events(named: "restart").count, 0, level)
      XCTAssertEqual(session.events(named: "waiting").count, 0, level)
    }
  }

  func testASlowCallFinishesOnItsOldVersionWithoutARestart() throws {
    session = try DevSession(
      files: [
        "main.holo": """
        fn step(count: i64) -> i64 { sleep_ms(700); count + 1; }
        fn main() {
          let count = 0;
          while true {
            count = step(count);
            println(`count {count}`);
          }
        }
        """
      ], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    try session.waitForOutput("count 1\ncount 2\n")
    // The program is almost always inside `step`'s sleep when the patch arrives.
    try session.edit("main.holo", replacing: "count + 1;", with: "count + 100;")
    try session.waitForEvent("patch")
    let waiting = try session.waitForEvent("waiting")
    XCTAssertEqual(waiting["functions"] as? [String], ["step"])
    XCTAssertTrue(
      (waiting["reason"] as? String ?? "").contains("`step` (main.holo:1)"), "\(waiting)")
    let returned = try session.waitForEvent("returned")
    XCTAssertEqual(returned["functions"] as? [String], ["step"])
    let readCounts = {
      self.session.output.split(separator: "\n").compactMap { Int($0.dropFirst(6)) }
    }
    try waitUntil { (readCounts().last ?? 0) > 100 }
    // The count went on from where it was: the program kept its state.
    let counts = readCounts()
    let jump = try XCTUnwrap(zip(counts, counts.dropFirst()).first { $1 - $0 == 100 })
    XCTAssertGreaterThan(jump.0, 1, "\(counts)")
    XCTAssertEqual(session.events(named: "restart").count, 0)
    XCTAssertEqual(session.events(named: "ready").count, 1)
  }

  func testAFrameThatNeverReturnsRestartsAfterTheBound() throws {
    session = try DevSession(
      files: [
        "main.holo": """
        fn first(x: i64) -> i64 { x; }
        fn stuck() {
          println("stuck");
          sleep_ms(1);
          while true {}
        }
        fn main() { stuck(); }
        """
      ], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    try session.waitForOutput("stuck\n")
    // The file's first function gets a new signature, then a function is added above
    // it: the file's first functions are not in the executable any more.
    try session.edit(
      "main.holo", replacing: "fn first(x: i64) -> i64 { x; }",
      with: "fn first(x: i64, y: i64) -> i64 { x + y; }")
    try session.waitForEvent("patch")
    try session.edit(
      "main.holo", replacing: "fn first(", with: "fn added() -> i64 { 7; }\nfn first(")
    try session.waitForEvent("patch", occurrence: 2)
    try session.edit("main.holo", replacing: "println(\"stuck\");", with: "println(\"fixed\");")
    try session.waitForEvent("patch", occurrence: 3)
    let waiting = try session.waitForEvent("waiting")
    XCTAssertEqual(waiting["functions"] as? [String], ["stuck"])
    let restart = try session.waitForEvent("restart")
    XCTAssertEqual(restart["reason"] as? String, "`stuck` (main.holo:3) is still running old code")
    try session.waitForEvent("ready", occurrence: 2)
    try session.waitForOutput("stuck\nfixed\n")
  }

  func testAPatchIsNotHeldBackByRunningTests() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn value() -> i64 { 1; }
      fn slow() -> i64 { sleep_ms(4000); value(); }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(`value {value()}`);
        }
      }
      #[test] fn slow_value() { assert(slow() > 0); }
      """
    ])
    try session.waitForEvent("ready")
    try session.edit("main.holo", replacing: "{ 1; }", with: "{ 2; }")
    try session.waitForEvent("patch")
    usleep(300_000)
    // The first save's test is still running: the second save is patched all the same.
    try session.edit("main.holo", replacing: "{ 2; }", with: "{ 3; }")
    try session.waitForEvent("patch", occurrence: 2)
    XCTAssertEqual(session.events(named: "tests").count, 0, "the patch waited for the tests")
    session.send("a")
    try session.waitForOutput("value 3\n")
    // The outdated run was cancelled; the run of the newest code reports.
    let tests = try session.waitForEvent("tests")
    XCTAssertEqual(tests["selected"] as? Int, 1)
    XCTAssertEqual(tests["passed"] as? Int, 1)
    usleep(500_000)
    XCTAssertEqual(session.events(named: "tests").count, 1)
  }

  func testASeriesOfSavesBecomesOnePatchOfTheFinalText() throws {
    let program = { (value: Int) in
      """
      fn value() -> i64 { \(value); }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(`value {value()}`);
        }
      }
      #[test] fn value_is_positive() { assert(value() >= 0); }
      """
    }
    session = try DevSession(files: ["main.holo": program(0)])
    try session.waitForEvent("ready")
    for value in 1...30 {
      try session.write("main.holo", program(value))
      usleep(5000)
    }
    try session.waitForEvent("patch")
    try session.waitForEvent("tests")
    usleep(500_000)
    session.send("a")
    try session.waitForOutput("value 30\n")
    // The first save of a series cannot know that more follow (holoc does not delay a
    // lone save); every later one is collected into one change of the final text.
    XCTAssertLessThanOrEqual(session.events(named: "patch").count, 2)
    XCTAssertLessThanOrEqual(session.events(named: "tests").count, 2)
  }

  func testAReplayedProgramShowsItsNewPrompt() throws {
    session = try DevSession(
      files: [
        "main.holo": """
        fn main() {
          let count = 0;
          while true {
            print("> ");
            let line = read_line();
            if stdin_eof() { return; }
            count += 1;
            println(`{count}: {line}`);
          }
        }
        """
      ], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("a")
    session.send("b")
    try session.waitForOutput("> 1: a\n> 2: b\n> ")
    try session.edit("main.holo", replacing: "print(\"> \");", with: "print(\"$ \");")
    try session.waitForEvent("restart")
    try session.waitForEvent("ready", occurrence: 2)
    // The replay's output stays hidden, but the prompt the new process waits at appears.
    try session.waitForOutput("> 1: a\n> 2: b\n> $ ")
    session.send("c")
    try session.waitForOutput("> 1: a\n> 2: b\n> $ 3: c\n$ ")
  }

  private static let lineCounter = """
    fn label(count: i64) -> string { `line {count}`; }
    fn main() {
      let count = 0;
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        count += 1;
        println(`{label(count)}: {line}`);
      }
    }
    """

  func testRemovingTheEntryPointStopsTheProgramUntilItIsBack() throws {
    session = try DevSession(files: ["main.holo": Self.lineCounter], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("line 1: a\n")
    let program = try XCTUnwrap(session.programProcessID())

    // `fn main` deleted, the helper kept: a library now, checked but not run.
    try session.write("main.holo", "fn label(count: i64) -> string { `line {count}`; }\n")
    let checking = try session.waitForEvent("checking")
    XCTAssertEqual(checking["reason"] as? String, "the program has no entry point")
    let stopped = try session.waitForEvent("stopped")
    XCTAssertEqual(stopped["reason"] as? String, "the program has no entry point")
    try waitUntil { !DevSession.isRunning(program) }
    XCTAssertEqual(session.events(named: "diagnostics").count, 0, "no entry point is no error")

    // The file emptied: still nothing to run, and nothing new to say.
    try session.write("main.holo", "")
    try session.write("main.holo", "fn label(count: i64) -> string { `line {count}`; }\n")

    // Back: the program starts again and, replayed, is where it was.
    try session.write("main.holo", Self.lineCounter)
    try session.waitForEvent("ready", occurrence: 2)
    session.send("b")
    try session.waitForOutput("line 1: a\nline 2: b\n")
    XCTAssertEqual(session.events(named: "checking").count, 1)
  }

  // MARK: Check-only sessions

  private static let library = """
    fn add(a: i64, b: i64) -> i64 { a + b }
    fn twice(a: i64) -> i64 { a * 2 }
    #[test] fn adds() { assert(add(1, 2) == 3); }
    #[test] fn doubles() { assert(twice(2) == 4); }

    """

  func testALibraryIsCheckedAndTestedOnEverySave() throws {
    session = try DevSession(files: ["main.holo": Self.library])
    let checking = try session.waitForEvent("checking")
    XCTAssertEqual(checking["reason"] as? String, "the program has no entry point")
    let all = try session.waitForEvent("tests")
    XCTAssertEqual(all["selected"] as? Int, 2)
    XCTAssertEqual(all["passed"] as? Int, 2)

    // A wrong body: only the test that reaches it runs, and fails.
    try session.edit("main.holo", replacing: "a + b }", with: "a - b }")
    let broken = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(broken["selected"] as? Int, 1)
    XCTAssertEqual(broken["failed"] as? Int, 1)

    // A type error is reported; fixing it says so and runs the affected test again.
    try session.edit("main.holo", replacing: "a - b }", with: "true }")
    let errors = try session.waitForEvent("diagnostics")
    XCTAssertEqual(errors["count"] as? Int, 1)
    try session.edit("main.holo", replacing: "true }", with: "a + b }")
    let fixed = try session.waitForEvent("diagnostics", occurrence: 2)
    XCTAssertEqual(fixed["count"] as? Int, 0)
    let passing = try session.waitForEvent("tests", occurrence: 3)
    XCTAssertEqual(passing["selected"] as? Int, 1)
    XCTAssertEqual(passing["passed"] as? Int, 1)
    XCTAssertEqual(session.events(named: "ready").count, 0, "a library has no program to run")
  }

  func testNoRunChecksAndTestsAProgramWithoutRunningIt() throws {
    session = try DevSession(
      files: ["main.holo": Self.library + "fn main() { println(\"ran\"); }\n"],
      flags: ["--no-run"])
    let checking = try session.waitForEvent("checking")
    XCTAssertEqual(checking["reason"] as? String, "--no-run")
    let all = try session.waitForEvent("tests")
    XCTAssertEqual(all["passed"] as? Int, 2)
    try session.edit("main.holo", replacing: "a * 2 }", with: "a * 3 }")
    let broken = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(broken["selected"] as? Int, 1)
    XCTAssertEqual(broken["failed"] as? Int, 1)
    XCTAssertEqual(session.events(named: "ready").count, 0)
    XCTAssertEqual(session.output, "", "the program never ran")
  }

  func testDeletingTheRootFileStopsTheProgram() throws {
    session = try DevSession(files: ["main.holo": Self.lineCounter], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("line 1: a\n")
    try session.remove("main.holo")
    let diagnostics = try session.waitForEvent("diagnostics")
    let first = (diagnostics["diagnostics"] as? [[String: Any]])?.first
    XCTAssertEqual(first?["code"] as? String, "E0501")
    let stopped = try session.waitForEvent("stopped")
    XCTAssertTrue((stopped["reason"] as? String ?? "").contains("is missing"), "\(stopped)")
    try session.write("main.holo", Self.lineCounter)
    try session.waitForEvent("ready", occurrence: 2)
    session.send("b")
    try session.waitForOutput("line 1: a\nline 2: b\n")
  }

  func testWithRestartNeverAVanishedEntryPointKeepsTheProgram() throws {
    session = try DevSession(
      files: ["main.holo": Self.lineCounter], flags: ["--no-tests", "--restart", "never"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("line 1: a\n")
    try session.write("main.holo", "")
    let stale = try session.waitForEvent("stale")
    XCTAssertTrue((stale["reason"] as? String ?? "").contains("no entry point"), "\(stale)")
    XCTAssertEqual(session.events(named: "stopped").count, 0)
    session.send("b")
    try session.waitForOutput("line 1: a\nline 2: b\n")
  }

  func testAProgramWithoutTestsGetsNoTestsEvents() throws {
    session = try DevSession(files: ["main.holo": Self.lineCounter])
    try session.waitForEvent("ready")
    try session.edit("main.holo", replacing: "`line {count}`", with: "`#{count}`")
    try session.waitForEvent("patch")
    session.send("a")
    try session.waitForOutput("#1: a\n")
    XCTAssertEqual(session.events(named: "tests").count, 0)
  }

  func testErrorsAtStartUpSayNothingRunsYet() throws {
    session = try DevSession(
      files: ["main.holo": "fn main() { println(1 + true); }\n"], humanOutput: true)
    try session.waitForErrors(containing: "holoc dev: 1 diagnostic; ")
    XCTAssertTrue(session.errors.contains("nothing runs until they are fixed"), session.errors)
    XCTAssertFalse(session.errors.contains("keeping the last good code"), session.errors)
    try session.write("main.holo", "fn main() { println(1 + 2); }\n")
    try session.waitForErrors(containing: "holoc dev: no errors; running the current code")
    try session.waitForOutput("3\n")
  }

  private func waitUntil(_ condition: () -> Bool) throws {
    let deadline = Date(timeIntervalSinceNow: 30)
    while !condition() {
      guard Date() < deadline else { throw DevTestFailure("timed out") }
      usleep(10_000)
    }
  }
}
