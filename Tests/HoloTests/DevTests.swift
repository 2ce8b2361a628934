import Foundation
import HoloIR
import HoloSema
import HoloSource
import XCTest

@testable import HoloDev

/// End-to-end tests of `holoc dev`: each drives the built holoc on a temporary project with
/// `--events FILE`, edits files on disk and watches the program's output. Every wait is for
/// an event or an output line, with a time limit.
final class DevTests: XCTestCase {
  private var session: DevSession!

  override func tearDown() {
    session?.stop()
    session = nil
  }

  // MARK: Patching live

  private static let echo = """
    fn message() -> string { "v1"; }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        println(`{message()} {line}`);
      }
    }
    """

  func testBodyChangeIsPatchedIntoTheRunningProgram() throws {
    session = try DevSession(files: ["main.holo": Self.echo])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("v1 a\n")

    try session.edit("main.holo", replacing: "\"v1\"", with: "\"v2\"")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["message"])
    XCTAssertNotNil(patch["compile_ms"] as? Int)
    XCTAssertNotNil(patch["apply_ms"] as? Int)
    session.send("b")
    try session.waitForOutput("v1 a\nv2 b\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
    XCTAssertEqual(session.events(named: "ready").count, 1, "the program was not restarted")
  }

  /// A program whose state is in globals: each line of input counts and is echoed with
  /// the count so far.
  private static let counter = """
    global seen: i64 = 0;
    global last: string = "none";
    fn show(line: string) -> string { `{seen} {line}`; }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        seen += 1;
        println(`{show(line)} after {last}`);
        last = line;
      }
    }
    """

  /// Starts `counter` and has it count one line, "a".
  private func startCounterAfterOneLine() throws {
    session = try DevSession(files: ["main.holo": Self.counter])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("1 a after none\n")
  }

  func testAPatchKeepsTheGlobalsValues() throws {
    session = try DevSession(files: ["main.holo": Self.counter])
    try session.waitForEvent("ready")
    session.send("a")
    session.send("b")
    try session.waitForOutput("1 a after none\n2 b after a\n")

    try session.edit("main.holo", replacing: "`{seen} {line}`", with: "`#{seen}: {line}`")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["show"])
    session.send("c")
    try session.waitForOutput("1 a after none\n2 b after a\n#3: c after b\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  func testAChangedInitializerIsNotRerunAndHolocSaysSo() throws {
    try startCounterAfterOneLine()

    try session.edit(
      "main.holo", replacing: "global seen: i64 = 0;", with: "global seen: i64 = 100;")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["initializers_changed"] as? [String], ["seen"])
    let globals = try XCTUnwrap(patch["globals"] as? [String: Any])
    XCTAssertEqual(globals["kept"] as? [String], ["seen", "last"])
    XCTAssertEqual(globals["added"] as? [String], [])
    XCTAssertEqual(globals["removed"] as? [String], [])
    session.send("b")
    try session.waitForOutput("1 a after none\n2 b after a\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  func testAPatchOfCodeUsingArraysKeepsTheArraysInTheGlobals() throws {
    session = try DevSession(files: [
      "main.holo": """
      global lines: [[string]] = [];
      fn keep(line: string) { lines.push([line, "v1"]); }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          keep(line);
          println(lines);
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("[[\"a\", \"v1\"]]\n")
    try session.edit(
      "main.holo", replacing: "lines.push([line, \"v1\"]);",
      with: "lines.push([line, `v2 {lines.len()}`]); lines[0][0] = \"first\";")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["keep"])
    session.send("b")
    try session.waitForOutput(
      "[[\"a\", \"v1\"]]\n[[\"first\", \"v1\"], [\"b\", \"v2 1\"]]\n")
  }

  private static let units = """
    struct Unit { name: string, hp: i64 }
    global units: [Unit] = [];
    fn hit(unit: Unit) -> Unit { Unit { name: unit.name, hp: unit.hp - 1 } }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        units.push(Unit { name: line, hp: 3 });
        units[0] = hit(units[0]);
        println(units);
      }
    }
    """

  func testAPatchOfCodeUsingStructsKeepsTheirValues() throws {
    session = try DevSession(files: ["main.holo": Self.units])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("[Unit { name: \"a\", hp: 2 }]\n")
    try session.edit("main.holo", replacing: "hp: unit.hp - 1", with: "hp: unit.hp - 10")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["hit"])
    session.send("b")
    try session.waitForOutput(
      "[Unit { name: \"a\", hp: 2 }]\n[Unit { name: \"a\", hp: -8 }, Unit { name: \"b\", hp: 3 }]\n"
    )
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  /// Values in frames are not migrated (only globals are): `main` holds units of the old
  /// layout, and its code changes with it.
  func testAChangedStructLayoutHeldByTheEntryFunctionRestartsTheProgram() throws {
    session = try DevSession(files: ["main.holo": Self.units])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("[Unit { name: \"a\", hp: 2 }]\n")
    try session.edit(
      "main.holo", replacing: "struct Unit { name: string, hp: i64 }",
      with: "struct Unit { hp: i64, name: string }")
    let restart = try session.waitForEvent("restart")
    XCTAssertEqual(
      restart["reason"] as? String,
      "the entry function `main` changed; its running frame cannot be patched")
    try session.waitForEvent("ready", occurrence: 2)
    session.send("b")
    // The replayed input rebuilt the state with the new layout.
    try session.waitForOutput(
      endingWith: "[Unit { hp: 1, name: \"a\" }, Unit { hp: 3, name: \"b\" }]\n")
  }

  func testGlobalsAreAddedAndRemovedInTheRunningProgram() throws {
    try startCounterAfterOneLine()
    let plain =
      "global last: string = \"none\";\nfn show(line: string) -> string { `{seen} {line}`; }"
    let badge = "struct Badge { text: string, count: i64 }\n"
    let greeting = { (text: String) in
      """
      global last: string = "none";
      \(badge)global badge: Badge = make_badge();
      fn make_badge() -> Badge { Badge { text: "\(text)", count: seen * 10 } }
      fn show(line: string) -> string { `{badge.text}{badge.count} {seen} {line}`; }
      """
    }
    // A new global (of a new struct) is initialised when the patch is applied, by new code
    // that reads the program's state.
    try session.edit("main.holo", replacing: plain, with: greeting("hello"))
    let added = try session.waitForEvent("patch")
    var globals = try XCTUnwrap(added["globals"] as? [String: Any])
    XCTAssertEqual(globals["added"] as? [String], ["badge"])
    XCTAssertEqual(globals["removed"] as? [String], [])
    XCTAssertEqual(globals["kept"] as? [String], ["seen", "last"])
    XCTAssertEqual(added["initializers_changed"] as? [String], [])
    session.send("b")
    try session.waitForOutput("1 a after none\nhello10 2 b after a\n")

    // A removed global's value is released; the program goes on with its other globals.
    // (Its struct stays: the program may hold values of it.)
    let plainWithBadge = plain.replacingOccurrences(of: "\nfn", with: "\n\(badge)fn")
    try session.edit("main.holo", replacing: greeting("hello"), with: plainWithBadge)
    let removed = try session.waitForEvent("patch", occurrence: 2)
    globals = try XCTUnwrap(removed["globals"] as? [String: Any])
    XCTAssertEqual(globals["added"] as? [String], [])
    XCTAssertEqual(globals["removed"] as? [String], ["badge"])
    session.send("c")
    try session.waitForOutput("1 a after none\nhello10 2 b after a\n3 c after b\n")

    // Added again: the storage is the same, the initializer runs again.
    try session.edit("main.holo", replacing: plainWithBadge, with: greeting("hi"))
    let again = try session.waitForEvent("patch", occurrence: 3)
    globals = try XCTUnwrap(again["globals"] as? [String: Any])
    XCTAssertEqual(globals["added"] as? [String], ["badge"])
    session.send("d")
    try session.waitForOutput(
      "1 a after none\nhello10 2 b after a\n3 c after b\nhi30 4 d after c\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
    XCTAssertEqual(session.events(named: "ready").count, 1, "the program was not restarted")
  }

  func testAGlobalIsAddedWhileTheProgramComputesWithoutWaiting() throws {
    // The loop never sleeps or reads: the patch's safepoint is taken where dev code polls,
    // at the loop's head. `sleep_ms(0)` only flushes the output.
    session = try DevSession(files: [
      "main.holo": """
      fn step() -> string { "v1"; }
      fn main() {
        let last = now_ms();
        while true {
          if now_ms() - last >= 50 {
            println(step());
            sleep_ms(0);
            last = now_ms();
          }
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    try session.waitForOutput(endingWith: "v1\n")
    try session.edit(
      "main.holo", replacing: "fn step() -> string { \"v1\"; }",
      with: "global word: string = `v{1 + 1}`;\nfn step() -> string { word; }")
    let patch = try session.waitForEvent("patch")
    let globals = try XCTUnwrap(patch["globals"] as? [String: Any])
    XCTAssertEqual(globals["added"] as? [String], ["word"])
    try session.waitForOutput(endingWith: "v1\nv2\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  /// `holoc reset ARGUMENTS` in the session's project.
  private func reset(_ arguments: [String]) throws -> CapturedOutput {
    try runCapturingOutput(
      DevSession.holocPath, ["reset"] + arguments, environment: DevSession.environment,
      directory: session.project)
  }

  func testHolocResetRerunsInitializersInTheRunningProgram() throws {
    try startCounterAfterOneLine()

    let one = try reset(["seen"])
    XCTAssertEqual(one.status, 0, one.stderr)
    XCTAssertEqual(one.stdout, "reset seen\n")
    let event = try session.waitForEvent("reset")
    XCTAssertEqual(event["globals"] as? [String], ["seen"])
    session.send("b")
    try session.waitForOutput("1 a after none\n1 b after a\n")

    let all = try reset(["main.holo"])
    XCTAssertEqual(all.status, 0, all.stderr)
    XCTAssertEqual(all.stdout, "reset seen, last\n")
    session.send("c")
    try session.waitForOutput("1 a after none\n1 b after a\n1 c after none\n")

    let unknown = try reset([".", "seen", "nosuch"])
    XCTAssertEqual(unknown.status, 1)
    XCTAssertEqual(unknown.stderr, "holoc reset: the running program has no global `nosuch`\n")
    XCTAssertEqual(session.events(named: "reset").count, 2)
    XCTAssertEqual(session.events(named: "restart").count, 0)

    // Another root of the same folder has no session.
    try session.write("other.holo", "fn main() {}")
    let none = try reset(["other.holo"])
    XCTAssertEqual(none.status, 1)
    XCTAssertTrue(none.stderr.hasPrefix("holoc reset: no `holoc dev` is running "), none.stderr)
    XCTAssertTrue(none.stderr.hasSuffix("other.holo\n"), none.stderr)
  }

  func testEditingAnInitializerRunsTheTestsAgain() throws {
    session = try DevSession(files: [
      "main.holo": """
      global limit: i64 = base();
      fn base() -> i64 { 3; }
      fn other() -> i64 { 1; }
      fn main() { println(limit); }
      #[test] fn limit_is_three() { assert(limit == 3); }
      #[test] fn other_is_one() { assert(other() == 1); }
      """
    ])
    try session.waitForEvent("ready")
    try session.edit("main.holo", replacing: "{ 3; }", with: "{ 4; }")
    let tests = try session.waitForEvent("tests")
    XCTAssertEqual(tests["selected"] as? Int, 2, "every test runs the initializers first")
    XCTAssertEqual(tests["failed"] as? Int, 1)
  }

  /// `holoc build` in `project`, which fills the build cache.
  private static func build(in project: String) throws {
    let built = try runCapturingOutput(
      DevSession.holocPath, ["build", "main.holo"], environment: DevSession.environment,
      directory: project)
    XCTAssertEqual(built.status, 0, built.stderr)
  }

  func testAProgramBuiltBeforeStartsFromTheCacheAndIsPatchedLive() throws {
    session = try DevSession(files: ["main.holo": Self.echo], beforeStart: Self.build)
    let ready = try session.waitForEvent("ready")
    XCTAssertEqual(ready["cached"] as? Bool, true, "started before any analysis")
    session.send("a")
    try session.waitForOutput("v1 a\n")
    try session.edit("main.holo", replacing: "\"v1\"", with: "\"v2\"")
    // The session's first analysis took both bodies from the build's records (their code
    // never made); what it compares them by is what a check would give.
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["message"])
    session.send("b")
    try session.waitForOutput("v1 a\nv2 b\n")
    XCTAssertEqual(session.events(named: "ready").count, 1, "the program was not restarted")
  }

  func testAProgramEditedSinceItsLastBuildIsBuiltAgain() throws {
    session = try DevSession(files: ["main.holo": Self.echo]) { project in
      try Self.build(in: project)
      let path = "\(project)/main.holo"
      let text = try String(contentsOfFile: path, encoding: .utf8)
      try text.replacingOccurrences(of: "\"v1\"", with: "\"v3\"").write(
        toFile: path, atomically: true, encoding: .utf8)
    }
    let ready = try session.waitForEvent("ready")
    XCTAssertEqual(ready["cached"] as? Bool, false)
    session.send("a")
    try session.waitForOutput("v3 a\n")
  }

  func testAPatchMayUseRuntimeFunctionsTheProgramNeverUsed() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn message(line: string) -> string { line; }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(message(line));
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("a\n")
    // Templates, float formatting and string_len appear only in the patch.
    try session.edit(
      "main.holo", replacing: "{ line; }", with: "{ `{line} {string_len(line)} {0.5 + 1.0}`; }")
    try session.waitForEvent("patch")
    session.send("bcd")
    try session.waitForOutput("a\nbcd 3 1.5\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  func testSignatureChangeOfACalleeIsPatchedWithItsCaller() throws {
    session = try DevSession(files: [
      "main.holo": """
      import text;
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(render(line));
        }
      }
      """,
      "text.holo": """
      fn label(n: i64) -> string { `n={n}`; }
      fn render(line: string) -> string { label(string_len(line)); }
      """,
    ])
    try session.waitForEvent("ready")
    session.send("abc")
    try session.waitForOutput("n=3\n")

    try session.write(
      "text.holo",
      """
      fn label(n: i64, prefix: string) -> string { `{prefix}{n}`; }
      fn render(line: string) -> string { label(string_len(line), "len "); }
      """)
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["label", "render"])
    session.send("abcd")
    try session.waitForOutput("n=3\nlen 4\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  func testAFileImportedByAnEditIsLoadedAndWatched() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn suffix() -> string { "."; }
      fn shout(line: string) -> string { `{line}{suffix()}`; }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(shout(line));
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("a.\n")

    try session.edit(
      "main.holo", replacing: "fn suffix() -> string { \".\"; }", with: "import util.marks;")
    try session.waitForEvent("diagnostics")
    try session.write("util/marks.holo", "fn suffix() -> string { \"!\"; }\n")
    try session.waitForEvent("patch")
    session.send("b")
    try session.waitForOutput("a.\nb!\n")

    try session.edit("util/marks.holo", replacing: "\"!\"", with: "\"?\"")
    try session.waitForEvent("patch", occurrence: 2)
    session.send("c")
    try session.waitForOutput("a.\nb!\nc?\n")
  }

  func testABrokenEditKeepsTheLastGoodCodeUntilItIsFixed() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn double(x: i64) -> i64 { x * 2; }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(double(string_len(line)));
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    session.send("ab")
    try session.waitForOutput("4\n")

    try session.edit("main.holo", replacing: "x * 2;", with: "x * 2.0;")
    let diagnostics = try session.waitForEvent("diagnostics")
    XCTAssertEqual(diagnostics["count"] as? Int, 1)
    let first = (diagnostics["diagnostics"] as? [[String: Any]])?.first
    XCTAssertEqual(first?["message"] as? String, "arithmetic operands must have the same type")
    XCTAssertEqual(first?["line"] as? Int, 1)
    session.send("abc")
    try session.waitForOutput("4\n6\n")

    try session.edit("main.holo", replacing: "x * 2.0;", with: "x * 3;")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["double"])
    session.send("abc")
    try session.waitForOutput("4\n6\n9\n")
  }

  // MARK: Restarting

  func testAnEntryEditRestartsAndReplaysTheConsumedInput() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn main() {
        let count = 0;
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          count += 1;
          println(`line {count}: {line}`);
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    session.send("a")
    session.send("b")
    try session.waitForOutput("line 1: a\nline 2: b\n")

    try session.edit("main.holo", replacing: "`line {count}: {line}`", with: "`#{count} {line}`")
    let restart = try session.waitForEvent("restart")
    XCTAssertTrue((restart["reason"] as? String ?? "").contains("`main`"), "\(restart)")
    try session.waitForEvent("ready", occurrence: 2)
    session.send("c")
    // The replayed lines rebuilt the count without printing again.
    try session.waitForOutput("line 1: a\nline 2: b\n#3 c\n")
  }

  func testAFunctionStuckInOldCodeRestartsTheProgram() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn serve() {
        let count = 0;
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          count += 1;
          println(`{count} {line}`);
        }
      }
      fn main() { serve(); }
      """
    ])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("1 a\n")

    // `serve` never returns, so its new version would never run: holoc says so and restarts.
    try session.edit("main.holo", replacing: "`{count} {line}`", with: "`{count}: {line}`")
    try session.waitForEvent("patch")
    let restart = try session.waitForEvent("restart")
    XCTAssertEqual(restart["reason"] as? String, "`serve` (main.holo:1) is still running old code")
    try session.waitForEvent("ready", occurrence: 2)
    session.send("b")
    try session.waitForOutput("1 a\n2: b\n")
  }

  func testAFunctionBrieflyOnTheStackIsNotARestart() throws {
    session = try DevSession(
      files: [
        "main.holo": """
        fn spin() -> i64 { let total = 0; for i in 0..3000000 { total += i; } total; }
        fn label() -> string { "first"; }
        fn main() {
          let shown = "";
          while true {
            spin();
            let current = label();
            if current != shown {
              println(current);
              shown = current;
            }
            sleep_ms(1);
          }
        }
        """
      ], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    try session.waitForOutput("first\n")
    // The program spends much of its time in `spin`: the patch often finds it on the stack.
    try session.edit("main.holo", replacing: "0..3000000", with: "0..2999999")
    try session.waitForEvent("patch")
    try session.edit("main.holo", replacing: "\"first\"", with: "\"second\"")
    try session.waitForEvent("patch", occurrence: 2)
    try session.waitForOutput("first\nsecond\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  func testFreshRestartStartsWithoutTheConsumedInput() throws {
    session = try DevSession(
      files: [
        "main.holo": """
        fn main() {
          let count = 0;
          while true {
            let line = read_line();
            if stdin_eof() { return; }
            count += 1;
            println(`{count} {line}`);
          }
        }
        """
      ], flags: ["--restart", "fresh"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("1 a\n")
    try session.edit("main.holo", replacing: "`{count} {line}`", with: "`{count}: {line}`")
    try session.waitForEvent("ready", occurrence: 2)
    session.send("b")
    try session.waitForOutput("1 a\n1: b\n")
  }

  func testARuntimeFailureIsReportedAndTheNextEditRunsAgain() throws {
    session = try DevSession(files: [
      "main.holo": """
      fn share(n: i64) -> i64 { 100 / n; }
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(share(string_len(line)));
        }
      }
      """
    ])
    try session.waitForEvent("ready")
    session.send("abcd")
    try session.waitForOutput("25\n")
    session.send("")
    let exit = try session.waitForEvent("exit")
    XCTAssertEqual(exit["status"] as? Int, 101)
    let failure = exit["failure"] as? [String: Any]
    XCTAssertEqual(failure?["message"] as? String, "division by zero")
    XCTAssertEqual(failure?["line"] as? Int, 1)
    XCTAssertEqual(failure?["column"] as? Int, 27)

    try session.edit("main.holo", replacing: "100 / n;", with: "if n == 0 { -1 } else { 100 / n };")
    try session.waitForEvent("ready", occurrence: 2)
    // Run again on the same input, now past the line that failed.
    try session.waitForOutput("25\n25\n-1\n")
    session.send("ab")
    try session.waitForOutput("25\n25\n-1\n50\n")
  }

  // MARK: Moving code

  private static let sharingProgram = """
    fn share(n: i64) -> i64 { 100 / n; }
    fn main() {
      let count = 0;
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        count += 1;
        println(`{count}: {share(string_len(line))}`);
      }
    }
    """

  func testMovingCodeNeitherRestartsNorPatchesAndFailuresFollowIt() throws {
    session = try DevSession(files: ["main.holo": Self.sharingProgram])
    try session.waitForEvent("ready")
    session.send("abcd")
    try session.waitForOutput("1: 25\n")

    // A blank line and a comment above everything: every function moves, main included.
    try session.edit("main.holo", replacing: "fn share", with: "\n// shares\nfn share")
    let moved = try session.waitForEvent("moved")
    XCTAssertEqual(moved["functions"] as? [String], ["main", "share"])
    XCTAssertEqual(session.events(named: "patch").count, 0, "moving code patches nothing")
    // A new function above main: it is patched in, main only moves.
    try session.edit(
      "main.holo", replacing: "fn main", with: "fn half(n: i64) -> i64 { n / 2; }\nfn main")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["half"])
    session.send("ab")
    try session.waitForOutput("1: 25\n2: 50\n")
    XCTAssertEqual(session.events(named: "restart").count, 0)
    XCTAssertEqual(session.events(named: "ready").count, 1, "the program kept running")

    // share's code is still the executable's, which reads its new start line from its cell.
    session.send("")
    let exit = try session.waitForEvent("exit")
    XCTAssertEqual(exit["status"] as? Int, 101)
    let failure = exit["failure"] as? [String: Any]
    XCTAssertEqual(failure?["message"] as? String, "division by zero")
    XCTAssertEqual(failure?["line"] as? Int, 3)
    XCTAssertEqual(failure?["column"] as? Int, 27)
  }

  func testAMovedFunctionEditedToFailReportsItsNewPlace() throws {
    session = try DevSession(files: ["main.holo": Self.sharingProgram])
    try session.waitForEvent("ready")
    session.send("abcd")
    try session.waitForOutput("1: 25\n")
    try session.edit("main.holo", replacing: "fn share", with: "// shares\nfn share")
    try session.waitForEvent("moved")

    // Now share spans lines 2 to 5 and divides by zero for three-letter lines.
    try session.edit(
      "main.holo", replacing: "{ 100 / n; }", with: "{\n  let d = n - 3;\n  100 / d;\n}")
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["share"])
    session.send("abcde")
    try session.waitForOutput("1: 25\n2: 50\n")
    session.send("abc")
    let exit = try session.waitForEvent("exit")
    let failure = exit["failure"] as? [String: Any]
    XCTAssertEqual(failure?["message"] as? String, "division by zero")
    XCTAssertEqual(failure?["line"] as? Int, 4)
    XCTAssertEqual(failure?["column"] as? Int, 3)
    XCTAssertEqual(session.events(named: "restart").count, 0)
  }

  // MARK: Crashes in patched code

  private static let depthProgram = """
    fn depth(n: i64) -> i64 { n; }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        println(depth(string_len(line)));
      }
    }
    """

  /// Replaces `depth` with a version on lines 2 to 6 that recurses without end.
  private func makeDepthRecurse() throws {
    try session.edit(
      "main.holo", replacing: "fn depth(n: i64) -> i64 { n; }",
      with: """
        // depth recurses
        fn depth(n: i64) -> i64 {
          let below = depth(n + 1);
          println(below);
          below + 1
        }
        """)
  }

  func testAStackOverflowInPatchedCodeNamesThePatchedFunction() throws {
    session = try DevSession(files: ["main.holo": Self.depthProgram])
    try session.waitForEvent("ready")
    session.send("ab")
    try session.waitForOutput("2\n")
    try makeDepthRecurse()
    let patch = try session.waitForEvent("patch")
    XCTAssertEqual(patch["functions"] as? [String], ["depth"])
    session.send("a")
    let exit = try session.waitForEvent("exit")
    XCTAssertEqual(exit["status"] as? Int, 101)
    let failure = exit["failure"] as? [String: Any]
    XCTAssertEqual(failure?["message"] as? String, "stack overflow")
    XCTAssertEqual(failure?["file"] as? String, "main.holo")
    XCTAssertEqual(failure?["line"] as? Int, 2)
    XCTAssertEqual(failure?["column"] as? Int, 4)
  }

  func testAStackOverflowInPatchedCodeIsShownWithItsExcerpt() throws {
    session = try DevSession(files: ["main.holo": Self.depthProgram], humanOutput: true)
    try session.waitForStatus(containing: "holoc dev: ready")
    session.send("ab")
    try session.waitForOutput("2\n")
    try makeDepthRecurse()
    try session.waitForStatus(containing: "holoc dev: patched depth")
    session.send("a")
    try session.waitForStatus(containing: "exited with status 101")
    try session.waitForStatus(
      containing: """
        💥 Runtime: stack overflow

        main.holo:2:4
           2 │ fn depth(n: i64) -> i64 {
             │    ─────
        """)
  }

  // MARK: Tests

  func testOnlyTestsReachingTheChangeRun() throws {
    session = try DevSession(files: [
      "main.holo": """
      import math;
      fn main() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(double(string_len(line)) + triple(1));
        }
      }
      #[test] fn doubles() { assert(double(2) == 4); }
      #[test] fn triples() { assert(triple(2) == 6); }
      #[test] fn both() { assert(double(triple(1)) == 6); }
      """,
      "math.holo": """
      fn double(x: i64) -> i64 { x * 2; }
      fn triple(x: i64) -> i64 { x * 3; }
      """,
    ])
    try session.waitForEvent("ready")
    try session.edit("math.holo", replacing: "x * 3;", with: "x + x + x + 1;")
    try session.waitForEvent("patch")
    let tests = try session.waitForEvent("tests")
    XCTAssertEqual(tests["selected"] as? Int, 2)
    XCTAssertEqual(tests["total"] as? Int, 3)
    XCTAssertEqual(tests["passed"] as? Int, 0)
    XCTAssertEqual(tests["failed"] as? Int, 2)
    let names = (tests["results"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
    XCTAssertEqual(names, ["triples", "both"])

    try session.edit("math.holo", replacing: "x * 2;", with: "x + x;")
    let second = try session.waitForEvent("tests", occurrence: 2)
    XCTAssertEqual(second["selected"] as? Int, 2)
    XCTAssertEqual(second["passed"] as? Int, 1)
    let secondNames = (second["results"] as? [[String: Any]])?.compactMap {
      $0["name"] as? String
    }
    XCTAssertEqual(secondNames, ["doubles", "both"])
  }

  // MARK: Ending

  func testTheProgramDiesWithAHolocDevKilledBySigkill() throws {
    // Neither its stdin nor its stdout would tell it holoc is gone: it never reads and
    // writes nothing more.
    session = try DevSession(
      files: ["main.holo": "println(\"ready\");\nwhile true { sleep_ms(20); }\n"],
      flags: ["--no-tests"])
    try session.waitForEvent("ready")
    try session.waitForOutput("ready\n")
    let program = try XCTUnwrap(session.programProcessID())
    defer { if DevSession.isRunning(program) { kill(program, SIGKILL) } }
    session.signal(SIGKILL)
    let deadline = Date(timeIntervalSinceNow: 60)
    while DevSession.isRunning(program) && Date() < deadline { usleep(10_000) }
    XCTAssertFalse(DevSession.isRunning(program), "the program outlived holoc dev")
  }

  // MARK: Memory

  func testManyPatchesKeepTheProgramsMemoryBounded() throws {
    session = try DevSession(
      files: [
        "main.holo": Self.counterProgram(value: 0)
      ], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("x")
    try session.waitForOutput("value 0\n")
    let patches = 300
    try assertPatchesKeepMemoryBounded(patches) { Self.counterProgram(value: $0) }
    session.send("y")
    try session.waitForOutput("value 0\nvalue \(patches)\n")
  }

  /// Writes `program(version)` for versions 1 to `patches`, each patched live, and checks
  /// that the program's resident memory grew less than 16 MiB from the 20th on.
  private func assertPatchesKeepMemoryBounded(_ patches: Int, _ program: (Int) -> String) throws {
    let process = try XCTUnwrap(session.programProcessID())
    var baseline = 0
    for version in 1...patches {
      try session.write("main.holo", program(version))
      try session.waitForEvent("patch", occurrence: version)
      if version == 20 { baseline = try XCTUnwrap(DevSession.residentKiB(of: process)) }
    }
    XCTAssertEqual(session.programProcessID(), process, "every patch was applied live")
    let resident = try XCTUnwrap(DevSession.residentKiB(of: process))
    XCTAssertLessThan(
      resident - baseline, 16 * 1024,
      "resident memory grew from \(baseline) KiB to \(resident) KiB over \(patches - 20) patches")
  }

  func testAddingAndRemovingAGlobalManyTimesKeepsTheProgramsMemoryBounded() throws {
    // Each added `big` holds 256 KiB; each removal must release it.
    func program(withBig: Bool) -> String {
      (withBig
        ? "global big: [i64] = [7; 32768];\nfn value() -> i64 { big.len(); }\n"
        : "fn value() -> i64 { 0; }\n")
        + "fn main() {\n  while true {\n    let line = read_line();\n"
        + "    if stdin_eof() { return; }\n    println(`value {value()}`);\n  }\n}\n"
    }
    session = try DevSession(files: ["main.holo": program(withBig: false)], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    try assertPatchesKeepMemoryBounded(200) { program(withBig: $0 % 2 == 1) }
    session.send("x")
    try session.waitForOutput("value 0\n")
  }

  private static func counterProgram(value: Int) -> String {
    """
    fn value() -> i64 { \(value); }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        println(`value {value()}`);
      }
    }
    """
  }

}

/// What the live loop takes from an edit: the functions to patch and the tests to run.
final class ChangeSetTests: XCTestCase {
  /// The change between two versions of one file, and the names of the functions to patch.
  private func change(from old: String, to new: String) throws -> (ChangeSet, [String]) {
    let before = try index(old)
    let after = try index(new)
    let change = ChangeSet(from: before, to: after)
    return (change, change.patch.map(after.name).sorted())
  }

  private let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("holo-change-\(UUID().uuidString).holo").path

  override func tearDown() { try? FileManager.default.removeItem(atPath: path) }

  private func index(_ text: String) throws -> ProgramIndex {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let sources = SourceManager()
    let program = try XCTUnwrap(Sema.analyze(rootPath: path, sources: sources).program)
    return ProgramIndex(program, sources: sources)
  }

  private let program = """
    fn a() -> i64 { 1; }
    fn b() -> i64 { a() + 1; }
    fn main() { println(b()); }
    #[test] fn tests_a() { assert(a() == 1); }
    #[test] fn tests_main() { main(); }
    """

  func testAnEditInsideALineThatMovesNothingChangesNothing() throws {
    let (change, _) = try change(
      from: program, to: program.replacingOccurrences(of: "{ 1; }", with: "{ 1; } // one"))
    XCTAssertTrue(change.isEmpty)
  }

  /// The start lines the change writes, by function name.
  private func startLines(_ change: ChangeSet, in text: String) throws -> [String: Int] {
    let after = try index(text)
    return Dictionary(uniqueKeysWithValues: change.startLines.map { (after.name($0), $1) })
  }

  func testAFunctionThatOnlyMovedIsNotPatchedButGetsItsNewStartLine() throws {
    let moved = program.replacingOccurrences(of: "fn b()", with: "// two lines\n\nfn b()")
    let (change, patch) = try change(from: program, to: moved)
    XCTAssertEqual(patch, [])
    XCTAssertFalse(change.isEmpty)
    XCTAssertFalse(change.changesCode)
    XCTAssertFalse(change.entryChanged, "the entry function only moved")
    XCTAssertEqual(change.affectedTests, [])
    // b and main moved two lines down, a did not; tests are not in the program's cells.
    XCTAssertEqual(try startLines(change, in: moved), ["b": 4, "main": 5])
    XCTAssertEqual(change.moved.count, 2)
  }

  func testAChangedFunctionThatMovedIsPatchedWithItsNewStartLine() throws {
    let edited = program.replacingOccurrences(of: "fn a()", with: "\nfn a()")
      .replacingOccurrences(of: "a() + 1", with: "a() + 2")
    let (change, patch) = try change(from: program, to: edited)
    XCTAssertEqual(patch, ["b"])
    XCTAssertEqual(try startLines(change, in: edited), ["a": 2, "b": 3, "main": 4])
    XCTAssertFalse(change.entryChanged)
  }

  func testAMoveOnTheSameLinesChangesTheColumnsAndIsPatched() throws {
    let (change, patch) = try change(
      from: program, to: program.replacingOccurrences(of: "fn a()", with: "fn  a()"))
    XCTAssertEqual(patch, ["a"])
    XCTAssertEqual(change.moved, [])
  }

  func testASignatureChangePatchesTheCallers() throws {
    let (change, patch) = try change(
      from: program,
      to: program.replacingOccurrences(of: "fn a() -> i64 { 1; }", with: "fn a() -> i32 { 1; }")
        .replacingOccurrences(of: "a() + 1", with: "a() as i64 + 1")
        .replacingOccurrences(of: "a() == 1", with: "a() == 1i32"))
    XCTAssertEqual(patch, ["a", "b"])
    XCTAssertFalse(change.entryChanged)
  }

  func testTheTestProcessIsPatchedWithTheTestsTheProgramNeverRuns() throws {
    let edited = program.replacingOccurrences(of: "fn a()", with: "\nfn a()")
      .replacingOccurrences(of: "a() == 1", with: "a() >= 1")
    let (before, after) = (try index(program), try index(edited))
    let names = { (ids: Set<FunctionID>) in ids.map(after.name).sorted() }
    let forProgram = ChangeSet(from: before, to: after)
    XCTAssertEqual(names(forProgram.patch), [])
    XCTAssertEqual(names(forProgram.moved), ["a", "b", "main"])
    let forTests = ChangeSet(from: before, to: after, for: .testProcess)
    XCTAssertEqual(names(forTests.patch), ["tests_a"])
    XCTAssertEqual(names(forTests.moved), ["a", "b", "main", "tests_main"])
    XCTAssertEqual(
      try startLines(forTests, in: edited),
      ["a": 2, "b": 3, "main": 4, "tests_a": 5, "tests_main": 6])
    // The program's change, retargeted, is the test process's without comparing again.
    let retargeted = forProgram.retargeted(to: .testProcess, in: after)
    XCTAssertEqual(retargeted.patch, forTests.patch)
    XCTAssertEqual(retargeted.moved, forTests.moved)
    XCTAssertEqual(retargeted.startLines, forTests.startLines)
    XCTAssertEqual(retargeted.affectedTests, forTests.affectedTests)
  }

  func testTheTestsReachingAChangeAreAffected() throws {
    let (change, patch) = try change(
      from: program, to: program.replacingOccurrences(of: "a() + 1", with: "a() + 2"))
    XCTAssertEqual(patch, ["b"])
    XCTAssertFalse(change.entryChanged)
    let after = try index(program.replacingOccurrences(of: "a() + 1", with: "a() + 2"))
    XCTAssertEqual(change.affectedTests.map(after.name), ["tests_main"])
  }

  /// An index built from the last one, looking only at what the database says changed,
  /// gives the change a comparison of whole indexes gives, edit after edit.
  func testAnIndexBuiltFromTheLastOneSeesWhatAWholeComparisonSees() throws {
    var generator = SplitMix(seed: 9)
    var bodies = (0..<12).map { "fn f\($0)(x: i64) -> i64 { x + \($0) }" }
    bodies[0] = "fn f0(x: i64) -> i64 { x }"
    let tests = (0..<4).map { "#[test] fn t\($0)() { assert(f\($0 * 3)(1) > 0); }" }
    func text() -> String {
      (bodies + tests + ["fn main() { println(f11(1) + f5(2)); }"]).joined(separator: "\n")
    }
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", text())])
    var analysis = database.snapshot()
    var incremental = ProgramIndex(
      try XCTUnwrap(analysis.program), sources: database.sources.snapshot())
    var whole = incremental
    var number = analysis.number
    for step in 0..<150 {
      let target = 1 + generator.next(below: bodies.count - 1)
      switch generator.next(below: 5) {
      case 0: bodies[target] = "fn f\(target)(x: i64) -> i64 { x * \(step) + 1 }"
      case 1: bodies[target] = "\n" + bodies[target]
      case 2: bodies[target] = bodies[target].replacingOccurrences(of: "{", with: "{ ")
      case 3: bodies[target] = bodies[target].trimmingCharacters(in: .newlines)
      default: bodies[target] += " // \(step)"
      }
      database.apply([.text(path: "main.holo", text())])
      analysis = database.snapshot()
      let program = try XCTUnwrap(analysis.program, "step \(step)")
      let sources = database.sources.snapshot()
      let next = ProgramIndex(
        program, sources: sources, reusing: incremental,
        changed: database.changedFunctions(since: number))
      let nextWhole = ProgramIndex(program, sources: sources)
      let (a, b) = (ChangeSet(from: incremental, to: next), ChangeSet(from: whole, to: nextWhole))
      XCTAssertEqual(a.changed, b.changed, "step \(step)")
      XCTAssertEqual(a.patch, b.patch, "step \(step)")
      XCTAssertEqual(a.moved, b.moved, "step \(step)")
      XCTAssertEqual(a.startLines, b.startLines, "step \(step)")
      XCTAssertEqual(a.affectedTests, b.affectedTests, "step \(step)")
      (incremental, whole, number) = (next, nextWhole, analysis.number)
    }
  }
}

/// One `holoc dev` run on a temporary project.
final class DevSession {
  let project: String
  private let process = Process()
  private let input = Pipe()
  private let eventsPath: String
  private let outputPath: String
  private let errorPath: String
  private static let timeout = 60.0

  /// The holoc next to the test bundle (SwiftPM puts every product in one folder).
  static let holocPath: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("holoc").path
  }()

  /// What holoc runs with: a build cache shared by the tests (their keys hold their
  /// project folders, so no entry is shared between tests).
  static let environment: [String: String] = {
    var environment = ProcessInfo.processInfo.environment
    environment["XDG_CACHE_HOME"] =
      FileManager.default.temporaryDirectory.appendingPathComponent("holo-cli-tests-cache").path
    environment["NO_COLOR"] = "1"
    return environment
  }()

  /// `humanOutput`: without `--events`, so holoc's status lines and rendered failures go to
  /// its stderr (`waitForStatus`). `beforeStart` runs in the project folder once its files
  /// are written, before holoc dev starts.
  init(
    files: [String: String], flags: [String] = [], humanOutput: Bool = false,
    beforeStart: (String) throws -> Void = { _ in }
  ) throws {
    project =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("holo-dev-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
    eventsPath = "\(project)/.events"
    outputPath = "\(project)/.stdout"
    errorPath = "\(project)/.stderr"
    for (path, text) in files { try write(path, text) }
    try beforeStart(project)

    process.executableURL = URL(fileURLWithPath: Self.holocPath)
    process.arguments = ["dev"] + (humanOutput ? [] : ["--events", eventsPath]) + flags
    process.currentDirectoryURL = URL(fileURLWithPath: project, isDirectory: true)
    process.environment = Self.environment
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    process.standardInput = input
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    try process.run()
  }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(atPath: project)
  }

  /// Sends `signal` to holoc.
  func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

  /// Writes a project file atomically (write a temporary file, rename it), as editors do.
  func write(_ path: String, _ text: String) throws {
    let url = URL(fileURLWithPath: "\(project)/\(path)")
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
  }

  func edit(_ path: String, replacing old: String, with new: String) throws {
    let text = try String(contentsOfFile: "\(project)/\(path)", encoding: .utf8)
    XCTAssertTrue(text.contains(old), "`\(old)` is not in \(path)")
    try write(path, text.replacingOccurrences(of: old, with: new))
  }

  /// Types a line on the program's stdin.
  func send(_ line: String) {
    input.fileHandleForWriting.write(Data((line + "\n").utf8))
  }

  var output: String { read(outputPath) }
  /// holoc's own stderr.
  var errors: String { read(errorPath) }

  /// Waits until holoc's stderr contains `text`.
  func waitForErrors(containing text: String) throws {
    try waitUntil("stderr containing \(text.debugDescription)") { self.errors.contains(text) }
  }

  /// Waits until the program's stdout so far ends with `suffix`.
  func waitForOutput(endingWith suffix: String) throws {
    try waitUntil("stdout ending with \(suffix.debugDescription)") { self.output.hasSuffix(suffix) }
  }

  /// Removes a project file.
  func remove(_ path: String) throws {
    try FileManager.default.removeItem(atPath: "\(project)/\(path)")
  }

  /// The resident set of process `processID`, in KiB.
  static func residentKiB(of processID: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(processID)/status", encoding: .utf8)
    else { return nil }
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    return line.flatMap { Int($0.split(separator: " ")[1]) }
  }

  /// Whether the program with process id `processID` is still running.
  static func isRunning(_ processID: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(processID)/stat", encoding: .utf8)
    else { return false }
    // A zombie (Z) has ended; holoc reaps it.
    return !status.contains(") Z ")
  }

  func events(named name: String) -> [[String: Any]] {
    read(eventsPath).split(separator: "\n").compactMap { line in
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      return object?["event"] as? String == name ? object : nil
    }
  }

  /// Waits for the `occurrence`-th event named `name`.
  @discardableResult
  func waitForEvent(_ name: String, occurrence: Int = 1) throws -> [String: Any] {
    var found: [String: Any]?
    try waitUntil("event `\(name)` #\(occurrence)") {
      let events = self.events(named: name)
      found = events.count >= occurrence ? events[occurrence - 1] : nil
      return found != nil
    }
    return found!
  }

  /// Waits until holoc's stderr (its human output) contains `text`.
  func waitForStatus(containing text: String) throws {
    try waitUntil("stderr containing \(text.debugDescription)") {
      self.read(self.errorPath).contains(text)
    }
  }

  /// Waits until the program's whole stdout so far is `expected`.
  func waitForOutput(_ expected: String) throws {
    try waitUntil("stdout \(expected.debugDescription)") { self.output == expected }
  }

  /// The process id of the program holoc runs (its child that is not its test process).
  func programProcessID() -> Int32? {
    Self.children(of: process.processIdentifier).first { !Self.isTestProcess($0) }
  }

  /// The process ids of holoc's test processes (test executables serving requests).
  func testProcessIDs() -> [Int32] {
    Self.children(of: process.processIdentifier).filter(Self.isTestProcess)
  }

  /// The children of `processID` that are still running, oldest first.
  static func children(of processID: Int32) -> [Int32] {
    let tasks =
      (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(processID)/task")) ?? []
    return tasks.flatMap { task in
      let children =
        (try? String(contentsOfFile: "/proc/\(processID)/task/\(task)/children", encoding: .utf8))
        ?? ""
      return children.split(separator: " ").compactMap { Int32($0) }
    }.filter(isRunning)
  }

  private static func isTestProcess(_ processID: Int32) -> Bool {
    let command = FileManager.default.contents(atPath: "/proc/\(processID)/cmdline") ?? Data()
    return command.split(separator: 0).last == Data("--serve".utf8)
  }

  private func waitUntil(_ what: String, _ condition: () -> Bool) throws {
    let deadline = Date(timeIntervalSinceNow: Self.timeout)
    while !condition() {
      guard Date() < deadline, process.isRunning else {
        throw DevTestFailure(
          "gave up waiting for \(what)\nstdout: \(output.debugDescription)\nevents:\n\(read(eventsPath))\nstderr:\n\(read(errorPath))"
        )
      }
      usleep(10_000)
    }
  }

  private func read(_ path: String) -> String {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
  }
}

struct DevTestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
