import Foundation
import HoloCodegen
import HoloIR
import HoloSema
import XCTest

/// Live migration (LANGUAGE.md §13): struct layouts and global types change under a
/// running `holoc dev`, and the program keeps its values, converted.
final class MigrationTests: XCTestCase {
  private var session: DevSession!

  override func tearDown() {
    session?.stop()
    session = nil
  }

  /// A game-like program whose state is one global: each line of input adds an enemy
  /// named by it, and the program prints every enemy. `main` never names the world, so
  /// its frame takes every change.
  private static let game = """
    struct Point { x: i64, y: i64 }
    struct Enemy { name: string, hp: i64, pos: Point, tags: [string] }
    struct World { turn: i64, enemies: [Enemy] }
    global world: World = World { turn: 0, enemies: [] };
    fn spawn(line: string) {
      world.turn += 1;
      world.enemies.push(Enemy { name: line, hp: world.turn * 10, pos: Point { x: world.turn, y: 2 }, tags: [line] });
    }
    fn describe() -> string { `{world.enemies}`; }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        spawn(line);
        println(describe());
      }
    }
    """

  /// The `migrations` of the `occurrence`-th patch event, by type.
  private func migrations(ofPatch occurrence: Int) throws -> [String: [String: Any]] {
    let patch = try session.waitForEvent("patch", occurrence: occurrence)
    let list = try XCTUnwrap(patch["migrations"] as? [[String: Any]], "\(patch)")
    return Dictionary(
      list.map { ($0["type"] as? String ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// Saves main.holo once with every occurrence of each `old` replaced by its `new`.
  private func edit(_ replacements: (old: String, new: String)...) throws {
    var text = try String(contentsOfFile: "\(session.project)/main.holo", encoding: .utf8)
    for (old, new) in replacements {
      XCTAssertTrue(text.contains(old), "main.holo has no \(old.debugDescription)")
      text = text.replacingOccurrences(of: old, with: new)
    }
    try session.write("main.holo", text)
  }

  func testEveryKindOfLayoutChangeKeepsTheWorldsValues() throws {
    session = try DevSession(files: ["main.holo": Self.game], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput(
      "[Enemy { name: \"a\", hp: 10, pos: Point { x: 1, y: 2 }, tags: [\"a\"] }]\n")

    // A field with a default: the live enemy gets it.
    try edit(("tags: [string] }", "tags: [string], shield: i64 = 5 }"))
    var migrated = try migrations(ofPatch: 1)
    XCTAssertEqual(migrated["Enemy"]?["values"] as? Int, 1)
    XCTAssertEqual(migrated["Enemy"]?["fields_added"] as? [String], ["shield"])
    XCTAssertEqual(migrated["Enemy"]?["lossy"] as? Int, 0)
    XCTAssertEqual(migrated["World"]?["values"] as? Int, 1)
    session.send("b")
    try session.waitForOutput(
      endingWith:
        "[Enemy { name: \"a\", hp: 10, pos: Point { x: 1, y: 2 }, tags: [\"a\"], shield: 5 }, "
        + "Enemy { name: \"b\", hp: 20, pos: Point { x: 2, y: 2 }, tags: [\"b\"], shield: 5 }]\n")

    // A removed field that held something is told, with its path.
    try edit((", tags: [string]", ""), (", tags: [line]", ""))
    migrated = try migrations(ofPatch: 2)
    XCTAssertEqual(migrated["Enemy"]?["fields_removed"] as? [String], ["tags"])
    XCTAssertEqual(migrated["Enemy"]?["lossy"] as? Int, 2)
    try session.waitForErrors(containing: "world.enemies[0].tags: [1 element] dropped")
    try session.waitForErrors(containing: "world.enemies[1].tags: [1 element] dropped")
    session.send("c")
    try session.waitForOutput(
      endingWith: "Enemy { name: \"c\", hp: 30, pos: Point { x: 3, y: 2 }, shield: 5 }]\n")

    // `i64` to `f64`, converted as `as` does.
    try edit(("hp: i64", "hp: f64"), ("hp: world.turn * 10,", "hp: world.turn as f64 * 2.5,"))
    migrated = try migrations(ofPatch: 3)
    XCTAssertEqual(migrated["Enemy"]?["fields_converted"] as? [String], ["hp"])
    XCTAssertEqual(migrated["Enemy"]?["values"] as? Int, 3)
    session.send("d")
    try session.waitForOutput(
      endingWith: "[Enemy { name: \"a\", hp: 10, pos: Point { x: 1, y: 2 }, shield: 5 }, "
        + "Enemy { name: \"b\", hp: 20, pos: Point { x: 2, y: 2 }, shield: 5 }, "
        + "Enemy { name: \"c\", hp: 30, pos: Point { x: 3, y: 2 }, shield: 5 }, "
        + "Enemy { name: \"d\", hp: 10, pos: Point { x: 4, y: 2 }, shield: 5 }]\n")

    // Reordered fields, and a changed nested struct.
    try edit(
      (
        "struct Enemy { name: string, hp: f64, pos: Point, shield: i64 = 5 }",
        "struct Enemy { pos: Point, shield: i64 = 5, name: string, hp: f64 }"
      ),
      ("struct Point { x: i64, y: i64 }", "struct Point { x: i64, z: i64 = 9 }"),
      ("Point { x: world.turn, y: 2 }", "Point { x: world.turn }"))
    migrated = try migrations(ofPatch: 4)
    XCTAssertEqual(migrated["Point"]?["values"] as? Int, 4)
    XCTAssertEqual(migrated["Point"]?["fields_added"] as? [String], ["z"])
    XCTAssertEqual(migrated["Point"]?["fields_removed"] as? [String], ["y"])
    XCTAssertEqual(migrated["Point"]?["lossy"] as? Int, 4, "every y was 2")
    session.send("e")
    try session.waitForOutput(
      endingWith: "Enemy { pos: Point { x: 4, z: 9 }, shield: 5, name: \"d\", hp: 10 }, "
        + "Enemy { pos: Point { x: 5, z: 9 }, shield: 5, name: \"e\", hp: 12.5 }]\n")

    // `f64` to `i32`: 12.5 does not survive, and is told.
    try edit(("hp: f64 }", "hp: i32 }"), ("hp: world.turn as f64 * 2.5,", "hp: world.turn as i32,"))
    migrated = try migrations(ofPatch: 5)
    XCTAssertEqual(migrated["Enemy"]?["lossy"] as? Int, 1)
    try session.waitForErrors(containing: "world.enemies[4].hp: 12.5 → 12")

    // The global's type becomes another struct with an overlapping field.
    try edit(
      (
        "struct World { turn: i64, enemies: [Enemy] }",
        "struct Realm { title: string = \"realm\", enemies: [Enemy] }"
      ),
      (
        "global world: World = World { turn: 0, enemies: [] };",
        "global world: Realm = Realm { enemies: [] };"
      ),
      ("world.turn += 1;\n", "let turn = world.enemies.len() + 1;\n"), ("world.turn", "turn"))
    let patch = try session.waitForEvent("patch", occurrence: 6)
    migrated = try migrations(ofPatch: 6)
    let realm = try XCTUnwrap(migrated["World → Realm"], "\(patch)")
    XCTAssertEqual(realm["fields_added"] as? [String], ["title"])
    XCTAssertEqual(realm["fields_removed"] as? [String], ["turn"])
    try session.waitForErrors(containing: "world.turn: 5 dropped")
    session.send("f")
    try session.waitForOutput(
      endingWith: "Enemy { pos: Point { x: 5, z: 9 }, shield: 5, name: \"e\", hp: 12 }, "
        + "Enemy { pos: Point { x: 6, z: 9 }, shield: 5, name: \"f\", hp: 6 }]\n")
    XCTAssertEqual(session.events(named: "restart").count, 0, session.errors)
  }

  /// A counter whose count is a global only `count` names.
  private static func counter(_ declaration: String, _ step: String) -> String {
    """
    \(declaration)
    fn count() -> string { \(step) `{seen}`; }
    fn main() {
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        println(`{count()} {line}`);
      }
    }
    """
  }

  func testAGlobalWhoseTypeChangedIsConvertedOrInitialisedAgain() throws {
    session = try DevSession(
      files: ["main.holo": Self.counter("global seen: i64 = 0;", "seen += 3;")],
      flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("3 a\n")

    // A number to another kind of number: converted as `as` does.
    try edit(("seen: i64 = 0", "seen: f64 = 0.0"), ("seen += 3;", "seen += 0.25;"))
    let converted = try migrations(ofPatch: 1)
    XCTAssertEqual(converted["i64 → f64"]?["values"] as? Int, 1, "\(converted)")
    XCTAssertEqual(converted["i64 → f64"]?["lossy"] as? Int, 0)
    session.send("b")
    try session.waitForOutput("3 a\n3.25 b\n")

    // 3.25 is no `u8`: told, with the global's name as its path.
    try edit(("seen: f64 = 0.0", "seen: u8 = 0"), ("seen += 0.25;", "seen += 1;"))
    let narrowed = try migrations(ofPatch: 2)
    XCTAssertEqual(narrowed["f64 → u8"]?["lossy"] as? Int, 1, "\(narrowed)")
    try session.waitForErrors(containing: "lossy conversion: seen: 3.25 → 3")
    session.send("c")
    try session.waitForOutput("3 a\n3.25 b\n4 c\n")

    // A value that does not convert (a number to a string): the new initializer runs.
    try edit(("seen: u8 = 0", "seen: string = \"x\""), ("seen += 1;", "seen = `{seen}x`;"))
    let patch = try session.waitForEvent("patch", occurrence: 3)
    let globals = try XCTUnwrap(patch["globals"] as? [String: Any])
    XCTAssertEqual(globals["added"] as? [String], ["seen"])
    XCTAssertEqual(globals["removed"] as? [String], ["seen"])
    session.send("d")
    try session.waitForOutput("3 a\n3.25 b\n4 c\nxx d\n")
    XCTAssertEqual(session.events(named: "restart").count, 0, session.errors)
  }

  func testAThousandMigrationsOfTenThousandStructsKeepTheProgramsMemoryBounded() throws {
    // Each migration converts 10,000 structs holding a string into new storage and
    // releases the old ones: nothing may pile up.
    func program(_ version: Int) -> String {
      let extra = version % 2 == 1 ? ", extra: i64 = \(version)" : ""
      return """
        struct Item { name: string, count: i64\(extra) }
        global items: [Item] = make();
        fn make() -> [Item] {
          let items: [Item] = [];
          for i in 0..10000 { items.push(Item { name: `item {i}`, count: i }); }
          items;
        }
        fn report() -> string {
          let sum = 0;
          for item in items { sum += item.count; }
          `{items.len()} {sum} {items[9999].name}`;
        }
        fn main() {
          while true {
            let line = read_line();
            if stdin_eof() { return; }
            println(report());
          }
        }
        """
    }
    session = try DevSession(files: ["main.holo": program(0)], flags: ["--no-tests"])
    try session.waitForEvent("ready")
    session.send("x")
    try session.waitForOutput("10000 49995000 item 9999\n")
    let process = try XCTUnwrap(session.programProcessID())
    var baseline = 0
    for version in 1...1000 {
      try session.write("main.holo", program(version))
      let migrated = try migrations(ofPatch: version)
      XCTAssertEqual(migrated["Item"]?["values"] as? Int, 10000)
      if version == 20 { baseline = try XCTUnwrap(DevSession.residentKiB(of: process)) }
    }
    XCTAssertEqual(session.programProcessID(), process, "every migration was applied live")
    let resident = try XCTUnwrap(DevSession.residentKiB(of: process))
    XCTAssertLessThan(
      resident - baseline, 8 * 1024,
      "resident memory grew from \(baseline) KiB to \(resident) KiB over 980 migrations")
    session.send("y")
    try session.waitForOutput(endingWith: "10000 49995000 item 9999\n")
  }
}

/// The migration plan a patch carries (`GlobalChanges`), from two checked programs.
final class MigrationPlanTests: XCTestCase {
  private func program(_ text: String) throws -> IRProgram {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", text)])
    return try XCTUnwrap(database.snapshot().program, "\(database.snapshot().diagnostics)")
  }

  func testALayoutChangeAnywhereInAValueChangesItsSpelling() throws {
    let before = try program(
      "struct P { x: i64 }\nstruct E { p: P, kids: [E] }\nstruct U { n: i64 }\nfn main() {}")
    let after = try program(
      "struct P { x: f64 }\nstruct E { p: P, kids: [E] }\nstruct U { n: i64 }\nfn main() {}")
    for type in ["P", "E"] {
      XCTAssertNotEqual(
        before.spelling(of: .structure(type)), after.spelling(of: .structure(type)), type)
      XCTAssertTrue(after.spelling(of: .structure(type)).hasPrefix("\(type)#"))
    }
    XCTAssertEqual(before.spelling(of: .structure("U")), after.spelling(of: .structure("U")))
    XCTAssertEqual(
      after.spelling(of: .array(.structure("E"))), "[\(after.spelling(of: .structure("E")))]")
    XCTAssertEqual(before.spelling(of: .i64), "i64")
  }

  func testAPlanConvertsByFieldNameAndKeepsTheOldLayoutUnderAnotherName() throws {
    let before = try program(
      """
      struct P { x: i64, y: i64 }
      struct E { name: string, p: P, hp: i64 }
      struct Same { n: i64 }
      global enemies: [E] = [];
      global same: Same = Same { n: 1 };
      global gone: P = P { x: 1, y: 2 };
      global score: i64 = 0;
      fn main() {}
      """)
    let after = try program(
      """
      struct P { x: i64, z: i64 = 3 }
      struct E { hp: f64, p: P, name: string }
      struct Same { n: i64 }
      global enemies: [E] = [];
      global same: Same = Same { n: 1 };
      global score: string = "";
      global fresh: i64 = 0;
      fn main() {}
      """)
    let changes = GlobalChanges(from: before, to: after)
    XCTAssertEqual(changes.migrated.map(\.new.name), ["enemies"])
    XCTAssertEqual(changes.migrated.first?.old.type, .array(.structure("E'old")))
    XCTAssertEqual(
      changes.migrated.first?.old.symbol,
      Symbols.global(before.globals[0], in: before), "the running program's storage")
    XCTAssertEqual(changes.added.map(\.name), ["score", "fresh"], "a string is no number")
    XCTAssertEqual(changes.removed.map(\.name), ["score", "gone"])
    XCTAssertEqual(changes.removed.last?.type, .structure("P'old"))
    XCTAssertEqual(Set(changes.oldStructs.map(\.name)), ["E'old", "P'old"])
    let oldE = try XCTUnwrap(changes.oldStructs.first { $0.name == "E'old" })
    XCTAssertEqual(oldE.fields.map(\.type), [.string, .structure("P'old"), .i64])
    XCTAssertEqual(
      changes.conversions,
      [
        TypeConversion(
          type: "E", fieldsAdded: [], fieldsRemoved: [], fieldsConverted: ["hp"]),
        TypeConversion(type: "P", fieldsAdded: ["z"], fieldsRemoved: ["y"], fieldsConverted: []),
      ])
  }
}

/// `holoc dev --restart frame`: the entry function restarts in the same process, its
/// frames unwound and what they held released; the globals keep their values.
final class FrameRestartTests: XCTestCase {
  private var session: DevSession!

  override func tearDown() {
    session?.stop()
    session = nil
  }

  private static func program(_ label: String) -> String {
    """
    global count: i64 = 0;
    global names: [string] = [];
    fn remember(line: string) { count += 1; names.push(line); }
    fn main() {
      let big = [7; 100000];
      while true {
        let line = read_line();
        if stdin_eof() { return; }
        remember(line);
        println(`\(label) {count} {names} {big.len()}`);
      }
    }
    """
  }

  func testEditingTheEntryFunctionRestartsItInPlaceWithTheGlobals() throws {
    session = try DevSession(
      files: ["main.holo": Self.program("v1")], flags: ["--no-tests", "--restart", "frame"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput("v1 1 [\"a\"] 100000\n")
    let process = try XCTUnwrap(session.programProcessID())
    try session.write("main.holo", Self.program("v2"))
    let restart = try session.waitForEvent("restart")
    XCTAssertEqual(restart["mode"] as? String, "frame")
    XCTAssertEqual(
      restart["reason"] as? String,
      "the entry function `main` changed; its running frame cannot be patched")
    session.send("b")
    try session.waitForOutput("v1 1 [\"a\"] 100000\nv2 2 [\"a\", \"b\"] 100000\n")
    XCTAssertEqual(session.programProcessID(), process, "the same process")
    XCTAssertEqual(session.events(named: "ready").count, 1)
  }

  func testTwoHundredFrameRestartsReleaseWhatTheUnwoundFramesHeld() throws {
    // Each restart unwinds a frame holding an 800 KB array: without its cleanup, 200
    // restarts would keep 160 MB.
    try assertRestartsKeepMemoryFlat(
      restarts: 200, program: Self.program, first: "v0 1 [\"a\"] 100000\n",
      last: "v200 2 [\"a\", \"b\"] 100000\n")
  }

  func testARestartReleasesTheTemporariesBeingPassedToTheCallInProgress() throws {
    // `main` is unwound while it calls `serve` with an 800 KB array it made for the call:
    // without releasing it, 100 restarts would keep 80 MB.
    func program(_ label: String) -> String {
      """
      fn filled() -> [i64] { [7; 100000] }
      fn serve(big: [i64]) {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          println(`{line} {big.len()}`);
        }
      }
      fn main() { println("\(label) starts"); serve(filled()); }
      """
    }
    try assertRestartsKeepMemoryFlat(
      restarts: 100, program: program, first: "v0 starts\na 100000\n",
      last: "v100 starts\nb 100000\n")
  }

  /// Runs `program("v0")`, sends `a` and waits for `first`; saves `program("vN")` for each
  /// N up to `restarts`, each an edit of the entry function restarting it in place; sends
  /// `b` and waits for output ending with `last`. The process stays the same and its
  /// resident memory grows less than 16 MiB from the tenth restart on.
  private func assertRestartsKeepMemoryFlat(
    restarts: Int, program: (String) -> String, first: String, last: String
  ) throws {
    session = try DevSession(
      files: ["main.holo": program("v0")], flags: ["--no-tests", "--restart", "frame"])
    try session.waitForEvent("ready")
    session.send("a")
    try session.waitForOutput(first)
    let process = try XCTUnwrap(session.programProcessID())
    var baseline = 0
    for version in 1...restarts {
      try session.write("main.holo", program("v\(version)"))
      try session.waitForEvent("restart", occurrence: version)
      if version == 10 { baseline = try XCTUnwrap(DevSession.residentKiB(of: process)) }
    }
    session.send("b")
    try session.waitForOutput(endingWith: last)
    XCTAssertEqual(session.programProcessID(), process, "every restart was in place")
    let resident = try XCTUnwrap(DevSession.residentKiB(of: process))
    XCTAssertLessThan(
      resident - baseline, 16 * 1024,
      "resident memory grew from \(baseline) KiB to \(resident) KiB over \(restarts - 10) frame restarts"
    )
  }

  func testAFrameThatNeverReturnsIsRestartedInPlace() throws {
    func program(_ label: String) -> String {
      """
      global seen: i64 = 0;
      fn serve() {
        while true {
          let line = read_line();
          if stdin_eof() { return; }
          seen += 1;
          println(`\(label) {seen} {line}`);
        }
      }
      fn main() { println("main starts"); serve(); }
      """
    }
    session = try DevSession(
      files: ["main.holo": program("v1")],
      flags: ["--no-tests", "--restart", "frame", "--stale-after", "0.1"])
    try session.waitForEvent("ready")
    session.send("a")
    var expected = "main starts\nv1 1 a\n"
    try session.waitForOutput(expected)
    // `serve` never returns to take its new version: after the bound, its frame (and
    // only its: `main` does not start again) restarts in place, each time with code a
    // later patch freed the frame's previous version from.
    for (version, line) in zip(2...5, ["b", "c", "d", "e"]) {
      try session.write("main.holo", program("v\(version)"))
      let restart = try session.waitForEvent("restart", occurrence: version - 1)
      XCTAssertEqual(restart["mode"] as? String, "frame")
      session.send(line)
      expected += "v\(version) \(version) \(line)\n"
      try session.waitForOutput(expected)
    }
    XCTAssertEqual(session.events(named: "ready").count, 1)
  }
}
