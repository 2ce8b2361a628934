import HoloIR
import HoloSema
import HoloSource
import XCTest

/// The program database on its own: sources told in memory (no file exists on disk), and
/// after each change exactly which files were parsed and which bodies were checked again.
final class ProgramDatabaseTests: XCTestCase {
  private static let main = """
    import a;
    import b;
    fn main() { println(f()); println(g()); }

    """

  /// A database holding main.holo, a.holo (`f`) and b.holo (`g`), fully analysed.
  private func database(a: String = "fn f() -> i64 { 1 }\n", b: String = "fn g() -> i64 { 2 }\n")
    -> ProgramDatabase
  {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", Self.main)])
    XCTAssertEqual(database.requestedFiles, ["a.holo", "b.holo"])
    database.apply([.text(path: "a.holo", a), .text(path: "b.holo", b)])
    XCTAssertEqual(database.requestedFiles, [])
    return database
  }

  private func ids(_ program: IRProgram?) -> [String: FunctionID] {
    Dictionary(
      uniqueKeysWithValues: (program?.functions ?? ChunkedArray()).map { ($0.name, $0.id) })
  }

  func testTheFirstAnalysisChecksEveryBody() throws {
    let database = database()
    // One analysis, once every file was told: everything parsed since, each body once.
    XCTAssertEqual(database.lastUpdate.parsedFiles, ["main.holo", "a.holo", "b.holo"])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "f", "g"])
    let program = try XCTUnwrap(database.snapshot().program)
    XCTAssertEqual(program.functions.map(\.name), ["main", "f", "g"])
  }

  /// What an update replaced (a file's previous parse, which holds its previous text)
  /// lives until `releaseReplaced()` and no longer: a live session frees it after its
  /// patch, and nothing else keeps it.
  func testWhatAnUpdateReplacedIsFreedWhenReleased() {
    let database = database()
    weak let previous = database.sources.allFiles.first { $0.path.hasSuffix("a.holo") }
    XCTAssertNotNil(previous)
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 3 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f"])
    XCTAssertNotNil(previous, "the replaced parse holds the previous text until released")
    database.releaseReplaced()
    XCTAssertNil(previous, "released, nothing holds the previous text")
  }

  func testImportsDiscoveredFileByFileAreAnalysedOnce() throws {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", "import a;\nfn main() { println(a()); }\n")])
    for (file, next) in [("a", "b"), ("b", "c")] {
      XCTAssertEqual(database.requestedFiles, ["\(file).holo"])
      XCTAssertEqual(database.lastUpdate.checkedBodies, [], "no analysis while files are missing")
      database.apply([
        .text(path: "\(file).holo", "import \(next);\nfn \(file)() -> i64 { \(next)() }\n")
      ])
    }
    database.apply([.text(path: "c.holo", "fn c() -> i64 { 3 }\n")])
    XCTAssertEqual(database.requestedFiles, [])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "a", "b", "c"])
    XCTAssertNotNil(database.snapshot().program)
  }

  func testABodyEditChecksThatBodyOnly() throws {
    let database = database()
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 10 }\n")])
    XCTAssertEqual(database.lastUpdate.parsedFiles, ["a.holo"])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f"])
    let program = try XCTUnwrap(database.snapshot().program)
    guard case .integerConstant(let value) = program.function(ids(program)["f"]!).body.result?.kind
    else { return XCTFail("f's body is not its new constant") }
    XCTAssertEqual(value, 10)
  }

  func testASignatureEditChecksTheBodiesThatReadIt() throws {
    let database = database()
    database.apply([.text(path: "a.holo", "fn f() -> string { \"ten\" }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "f"])
    XCTAssertNotNil(database.snapshot().program)
  }

  /// Readers come and go one by one: a signature edit checks exactly the bodies that read
  /// it now, however many read it before.
  func testASignatureEditChecksItsReadersAfterReadersComeAndGo() {
    let b = { (readers: [String]) in
      "fn g() -> i64 { 2 }\n"
        + ["h1", "h2", "h3"].map { name in
          "fn \(name)() -> i64 { \(readers.contains(name) ? "f()" : "0") }\n"
        }.joined()
    }
    let database = database(b: b(["h1", "h2", "h3"]))
    database.apply([.text(path: "b.holo", b(["h2", "h3"]))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["h1"])
    database.apply([.text(path: "b.holo", b(["h3"]))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["h2"])
    database.apply([.text(path: "a.holo", "fn f() -> bool { true }\n")])
    // main prints f(), h3 returns it as an i64: both read f, and h3 is now wrong.
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "f", "h3"])
    database.apply([.text(path: "b.holo", b(["h1", "h3"]))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["h1", "h3"])
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 1 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "f", "h1", "h3"])
    XCTAssertNotNil(database.snapshot().program)
  }

  func testASignatureThatComesOutEqualChecksNoReader() {
    let database = database()
    // Respelled, same types: f's text changed, the shape main read did not.
    database.apply([.text(path: "a.holo", "fn f(  )   ->   i64 { 1 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f"])
  }

  func testSavingTheSameTextDoesNothing() {
    let database = database()
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 1 }\n")])
    XCTAssertEqual(database.lastUpdate, DatabaseUpdate())
  }

  func testANewFunctionNobodyReadsIsTheOnlyBodyChecked() {
    let database = database()
    database.apply([.text(path: "b.holo", "fn g() -> i64 { 2 }\nfn k() {}\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["k"])
  }

  func testIdentitiesSurviveInsertionsAndRemovalsElsewhere() throws {
    let database = database()
    let before = ids(database.snapshot().program)
    database.apply([.text(path: "a.holo", "fn first() {}\nfn f() -> i64 { 1 }\n")])
    let inserted = ids(database.snapshot().program)
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 1 }\n")])
    let removed = ids(database.snapshot().program)
    for name in ["main", "f", "g"] {
      XCTAssertEqual(inserted[name], before[name], name)
      XCTAssertEqual(removed[name], before[name], name)
    }
    XCTAssertNotNil(inserted["first"])
    XCTAssertNil(removed["first"])
  }

  func testARevisionChangesExactlyWhenTheBodyIsCheckedAgain() throws {
    let database = database()
    let revisions = { (program: IRProgram?) in
      Dictionary(
        uniqueKeysWithValues: (program?.functions ?? ChunkedArray()).map { ($0.name, $0.revision) })
    }
    let before = revisions(database.snapshot().program)
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 10 }\n")])
    let after = revisions(database.snapshot().program)
    XCTAssertEqual(after["main"], before["main"])
    XCTAssertEqual(after["g"], before["g"])
    XCTAssertNotEqual(after["f"], before["f"])
    // The same text at the same offset, but on its line after a comment: another column,
    // which its code's locations hold.
    database.apply([.text(path: "a.holo", "//x\nfn f() -> i64 { 10 }\n")])
    database.apply([.text(path: "a.holo", "/**/fn f() -> i64 { 10 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f"])
  }

  /// Attributes are part of a body's text: adding or removing `#[test]` or `export` checks
  /// that body again, and the program's list of tests follows (the names stay, so the
  /// namespace is kept).
  func testAnAttributeEditChecksTheBodyAndUpdatesTheTests() throws {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", "fn main() {}\nfn t() { assert(1 == 1); }\n")])
    XCTAssertEqual(database.snapshot().program?.tests.count, 0)
    database.apply([
      .text(path: "main.holo", "fn main() {}\n#[test]\nfn t() { assert(1 == 1); }\n")
    ])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["t"])
    XCTAssertEqual(database.snapshot().program?.tests.count, 1)
    database.apply([
      .text(path: "main.holo", "fn main() {}\nexport fn t() { assert(1 == 1); }\n")
    ])
    let program = try XCTUnwrap(database.snapshot().program)
    XCTAssertEqual(program.tests, [])
    XCTAssertEqual(program.functions.first { $0.name == "t" }?.isExport, true)
  }

  func testItTellsWhichFunctionsChangedSinceAnAnalysis() throws {
    let database = database(b: "fn g() -> i64 { 2 }\nfn h() -> i64 { 3 }\n")
    let start = database.snapshot().number
    let ids = ids(database.snapshot().program)
    XCTAssertEqual(database.changedFunctions(since: start), [])
    // A body edit changes its function; a line added above h moves it (its IR's place).
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 10 }\n")])
    let afterBodyEdit = database.snapshot().number
    XCTAssertEqual(database.changedFunctions(since: start), [ids["f"]!])
    database.apply([.text(path: "b.holo", "fn g() -> i64 { 2 }\n\nfn h() -> i64 { 3 }\n")])
    XCTAssertEqual(database.changedFunctions(since: afterBodyEdit), [ids["h"]!])
    XCTAssertEqual(database.changedFunctions(since: start), [ids["f"]!, ids["h"]!])
    // New names: everything is declared again, and any function may have changed.
    let beforeNewName = database.snapshot().number
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 10 }\nfn k() {}\n")])
    XCTAssertNil(database.changedFunctions(since: beforeNewName))
    XCTAssertNil(database.changedFunctions(since: start))
    // Analyses after it are known again, but not those from before the log began.
    let afterNewName = database.snapshot().number
    for value in 0..<70 {
      database.apply([.text(path: "a.holo", "fn f() -> i64 { \(value) }\nfn k() {}\n")])
    }
    XCTAssertNil(database.changedFunctions(since: afterNewName))
    let recent = database.snapshot().number
    database.apply([.text(path: "b.holo", "fn g() -> i64 { 20 }\n\nfn h() -> i64 { 3 }\n")])
    // g changed; h after it moved a byte within its line: its IR's spans moved, nothing
    // that is made of it did, so it is not reported (a large file's later functions all
    // move so at every edit within a line).
    XCTAssertEqual(database.lastUpdate.movedBodies, ["h"])
    XCTAssertEqual(database.changedFunctions(since: recent), [ids["g"]!])
    XCTAssertEqual(
      database.snapshot().program?.functions.first { $0.name == "h" }?.span.start, 25,
      "its spans are where it is")
    // A line removed above it moves it to another line: reported.
    let beforeLineRemoved = database.snapshot().number
    database.apply([.text(path: "b.holo", "fn g() -> i64 { 20 }\nfn h() -> i64 { 3 }\n")])
    XCTAssertEqual(database.changedFunctions(since: beforeLineRemoved), [ids["h"]!])
  }

  func testABodyThatOnlyMovedInItsFileIsKeptWithItsSpansMoved() throws {
    let database = database(b: "fn g() -> i64 { 2 }\nfn h() -> i64 { 3 }\n")
    let before = try XCTUnwrap(database.snapshot().program)
    // A new function above g and h, in their file: they move, nothing else changes.
    let inserted = "fn first() {}\n"
    database.apply([.text(path: "b.holo", inserted + "fn g() -> i64 { 2 }\nfn h() -> i64 { 3 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["first"])
    XCTAssertEqual(database.lastUpdate.movedBodies, ["g", "h"])
    let after = try XCTUnwrap(database.snapshot().program)
    for name in ["g", "h"] {
      let old = before.functions.first { $0.name == name }!
      let new = after.functions.first { $0.name == name }!
      XCTAssertEqual(new.revision, old.revision, name)
      XCTAssertEqual(new.span.start, old.span.start + inserted.utf8.count, name)
      // Moving is O(1): the body's spans are read through `located`.
      XCTAssertEqual(
        new.located(new.body.span).end, old.located(old.body.span).end + inserted.utf8.count, name)
      XCTAssertEqual(
        new.body.result.map { new.located($0.span).start },
        old.body.result.map { old.located($0.span).start + inserted.utf8.count }, name)
    }
  }

  func testRemovingACalleeChecksItsCallerWhichReportsIt() throws {
    let database = database()
    database.apply([.text(path: "b.holo", "\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main"])
    let diagnostic = try XCTUnwrap(database.snapshot().diagnostics.first)
    XCTAssertEqual(diagnostic.message, "unknown function `g`")
    XCTAssertNil(database.snapshot().program)
  }

  func testAddingTheMissingFunctionFixesItsCaller() {
    let database = database(b: "\n")
    XCTAssertNil(database.snapshot().program)
    database.apply([.text(path: "b.holo", "fn g() -> i64 { 2 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "g"])
    XCTAssertNotNil(database.snapshot().program)
    XCTAssertTrue(database.snapshot().diagnostics.isEmpty)
  }

  func testABodyWithErrorsIsCheckedOnEveryChange() {
    let database = database(a: "fn f() -> i64 { true }\n")
    XCTAssertEqual(database.snapshot().diagnostics.count, 1)
    database.apply([.text(path: "b.holo", "fn g() -> i64 { 3 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f", "g"])
    XCTAssertEqual(database.snapshot().diagnostics.count, 1)
  }

  func testAFileToldAbsentIsAnImportNotFound() throws {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", Self.main)])
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 1 }\n"), .absent(path: "b.holo")])
    XCTAssertEqual(database.requestedFiles, [])
    let messages = database.snapshot().diagnostics.map(\.message)
    XCTAssertEqual(messages, ["cannot find `b.holo` to import", "unknown function `g`"])
  }

  func testAMissingRootIsRequestedThenReported() {
    let database = ProgramDatabase(rootPath: "./src/../main.holo")
    XCTAssertEqual(database.requestedFiles, ["main.holo"])
    database.apply([.absent(path: "main.holo")])
    XCTAssertEqual(database.requestedFiles, [])
    XCTAssertEqual(
      database.snapshot().diagnostics.map(\.message),
      ["cannot read `./src/../main.holo`: no such file"])
  }

  func testAScriptBodyIsCheckedOnlyWhenTheRootChanges() {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", "import a;\nprintln(f());\n")])
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 1 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f", "main"])
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 2 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f"])
    database.apply([.text(path: "main.holo", "import a;\nprintln(f() + 1);\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main"])
  }

  // MARK: Globals

  /// main.holo reading two globals of a.holo; `limit`'s initializer calls `f`.
  private func databaseWithGlobals() -> ProgramDatabase {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([
      .text(path: "main.holo", "import a;\nfn main() { count += 1; println(count); }\n")
    ])
    database.apply([
      .text(
        path: "a.holo",
        "global count: i64 = 0;\nglobal limit: i64 = f();\nfn f() -> i64 { 3 }\n")
    ])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "count", "limit", "f"])
    return database
  }

  func testGlobalsComeInImportOrderWithTheirInitializers() throws {
    let program = try XCTUnwrap(databaseWithGlobals().snapshot().program)
    XCTAssertEqual(program.globals.map(\.name), ["count", "limit"])
    XCTAssertEqual(program.globals.map(\.type), [.i64, .i64])
    let initializer = program.function(program.globals[1].initializer)
    XCTAssertEqual(initializer.kind, .globalInitializer)
    XCTAssertEqual(initializer.reads.map(\.name), ["f"])
  }

  func testAnInitializerEditChecksThatInitializerOnly() {
    let database = databaseWithGlobals()
    database.apply([
      .text(
        path: "a.holo",
        "global count: i64 = 5;\nglobal limit: i64 = f();\nfn f() -> i64 { 3 }\n")
    ])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["count"])
  }

  func testAGlobalsTypeChangeChecksItsReadersOnly() {
    let database = databaseWithGlobals()
    database.apply([
      .text(
        path: "a.holo",
        "global count: i32 = 0;\nglobal limit: i64 = f();\nfn f() -> i64 { 3 }\n")
    ])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main", "count"])
    XCTAssertNotNil(database.snapshot().program)
  }

  func testReorderingGlobalsChecksNoBodyAndReportsAnEarlyUse() {
    let database = ProgramDatabase(rootPath: "main.holo")
    let ordered = "global a: i64 = 1;\nglobal b: i64 = a + 1;\nfn main() { println(b); }\n"
    database.apply([.text(path: "main.holo", ordered)])
    XCTAssertNotNil(database.snapshot().program)
    database.apply([
      .text(
        path: "main.holo", "global b: i64 = a + 1;\nglobal a: i64 = 1;\nfn main() { println(b); }\n"
      )
    ])
    // Both globals moved: their bodies are kept, moved; the order check runs every time.
    XCTAssertEqual(database.lastUpdate.checkedBodies, [])
    let analysis = database.snapshot()
    XCTAssertNil(analysis.program)
    XCTAssertEqual(
      analysis.diagnostics.map(\.message), ["global `a` is used before it is initialised"])
    database.apply([.text(path: "main.holo", ordered)])
    XCTAssertNotNil(database.snapshot().program)
  }

  // MARK: Structs

  func testAStructEditChecksTheBodiesThatReadItOnly() throws {
    let database = ProgramDatabase(rootPath: "main.holo")
    let text = { (fields: String) in
      "struct P { \(fields) }\nfn make() -> P { P { x: 1 } }\nfn other() -> i64 { 2 }\n"
        + "fn main() { println(make().x + other()); }\n"
    }
    database.apply([.text(path: "main.holo", text("x: i64"))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["make", "other", "main"])
    let program = try XCTUnwrap(database.snapshot().program)
    XCTAssertEqual(program.structs, [IRStruct(name: "P", fields: [.init(name: "x", type: .i64)])])
    // A new field with a default: the literal and the field read are checked again.
    database.apply([.text(path: "main.holo", text("x: i64, y: bool = true"))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["make", "main"])
    XCTAssertEqual(database.snapshot().program?.structs.first?.fields.count, 2)
    // Only a default's text changed: still a change to what the literal reads.
    database.apply([.text(path: "main.holo", text("x: i64, y: bool = false"))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["make", "main"])
  }

  func testRemovingAStructReportsItsUses() {
    let database = ProgramDatabase(rootPath: "main.holo")
    database.apply([.text(path: "main.holo", "struct P { x: i64 }\nfn f(p: P) -> i64 { p.x }\n")])
    XCTAssertNotNil(database.snapshot().program)
    database.apply([.text(path: "main.holo", "fn f(p: P) -> i64 { p.x }\n")])
    XCTAssertEqual(
      database.snapshot().diagnostics.map(\.message).first, "unknown type `P`")
  }

  func testAStructMovedByAnEditAboveItIsUsedWithItsDefaults() throws {
    let database = ProgramDatabase(rootPath: "main.holo")
    let text = { (first: String) in
      "fn first() -> i64 { \(first) }\nstruct P { x: i64 = 7, y: i64 }\n"
        + "fn make() -> P { P { y: 1 } }\nfn main() { println(make().x + first()); }\n"
    }
    database.apply([.text(path: "main.holo", text("1"))])
    XCTAssertNotNil(database.snapshot().program)
    // A longer body above moves the struct and what follows it.
    database.apply([.text(path: "main.holo", text("1 + 2 + 3"))])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["first"])
    let program = try XCTUnwrap(database.snapshot().program)
    let make = try XCTUnwrap(program.functions.first { $0.name == "make" })
    guard case .structLiteral(let fields)? = make.body.result?.kind,
      case .integerConstant(7) = fields[0].kind
    else { return XCTFail("make's literal takes x's default") }
    let source = database.sources.file(make.span.file)
    XCTAssertEqual(source.text(of: make.located(fields[0].span)), "7")
  }

  /// Unknown struct names in signatures are found again on every analysis, from each
  /// file's list of declarations that name structs: that list follows edits that parse
  /// only some items again (above, at and below the declarations it holds).
  func testUnknownTypesInSignaturesAreReportedWhereTheyAreAfterEditsAroundThem() {
    let database = ProgramDatabase(rootPath: "main.holo")
    let file = { (first: String, middle: String) in
      "fn first() -> i64 { \(first) }\n\(middle)fn h(p: P) -> i64 { 0 }\n"
        + "fn k(q: Q) -> i64 { 0 }\nfn main() { }\n"
    }
    /// What a save of `text` reports, each message with its byte offset.
    func reported(_ text: String) -> [String] {
      database.apply([.text(path: "main.holo", text)])
      return database.snapshot().diagnostics.map { "\($0.message) at \($0.span!.start)" }
    }
    /// The unknown-type report of `name`, where `text` first names it as a parameter's type.
    func unknown(_ name: String, in text: String) -> String {
      let range = text.range(of: ": \(name))")!
      return
        "unknown type `\(name)` at \(text.utf8.distance(from: text.startIndex, to: range.lowerBound) + 2)"
    }
    var text = file("1", "")
    XCTAssertEqual(reported(text), [unknown("P", in: text), unknown("Q", in: text)])
    // A longer body above both: only `first` is parsed again, the others move.
    text = file("1 + 2 + 3", "")
    XCTAssertEqual(reported(text), [unknown("P", in: text), unknown("Q", in: text)])
    XCTAssertEqual(database.lastUpdate.parsedItems, 1)
    // A declaration naming another struct added above them (the ones after it move to
    // later places), then made to name none.
    text = file("1 + 2 + 3", "fn m(r: R) -> i64 { 0 }\n")
    XCTAssertEqual(
      reported(text), [unknown("R", in: text), unknown("P", in: text), unknown("Q", in: text)])
    text = file("1 + 2 + 3", "fn m(r: i64) -> i64 { 0 }\n")
    XCTAssertEqual(reported(text), [unknown("P", in: text), unknown("Q", in: text)])
    XCTAssertEqual(reported("struct P { x: i64 }\nstruct Q { y: i64 }\n" + text), [])
  }

  /// A save that keeps every file's imports keeps the load order; one that changes a
  /// file's imports, or adds or removes a file, finds it again.
  func testTheLoadOrderFollowsImportsAddedAndRemoved() throws {
    let database = database()
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 3 }\n")])
    XCTAssertEqual(database.snapshot().files.count, 3)
    // a.holo now imports c.holo, which is requested, then loaded after a.holo and b.holo.
    database.apply([.text(path: "a.holo", "import c;\nfn f() -> i64 { h() }\n")])
    XCTAssertEqual(database.requestedFiles, ["c.holo"])
    database.apply([.text(path: "c.holo", "fn h() -> i64 { 4 }\n")])
    XCTAssertNotNil(database.snapshot().program)
    XCTAssertEqual(database.snapshot().importPaths, ["a.holo", "b.holo", "c.holo"])
    XCTAssertEqual(database.snapshot().files.count, 4)
    // c.holo's body edit keeps the order; its removal is an import not found.
    database.apply([.text(path: "c.holo", "fn h() -> i64 { 5 }\n")])
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["h"])
    XCTAssertEqual(database.snapshot().files.count, 4)
    database.apply([.absent(path: "c.holo")])
    XCTAssertEqual(
      database.snapshot().diagnostics.map(\.message),
      ["cannot find `c.holo` to import", "unknown function `h`"])
    // Dropping the import drops the file.
    database.apply([.text(path: "a.holo", "fn f() -> i64 { 6 }\n")])
    XCTAssertNotNil(database.snapshot().program)
    XCTAssertEqual(database.snapshot().files.count, 3)
    XCTAssertEqual(database.snapshot().importPaths, ["a.holo", "b.holo"])
  }

  func testAStructChangedInAnotherFileDecidesWhetherAnExportCrossesTheCBoundary() {
    let database = ProgramDatabase(rootPath: "main.holo")
    let shapes = { (fields: String) in
      SourceChange.text(path: "shapes.holo", "struct S { \(fields) }\n")
    }
    database.apply([
      .text(path: "main.holo", "import shapes;\nexport fn area(s: S) -> f64 { 1.0 }\n"),
      shapes("w: f64, h: f64"),
    ])
    XCTAssertNotNil(database.snapshot().program)
    database.apply([shapes("w: f64, tags: [string]")])
    // No body reads the struct's fields: the crossing check is a pass over signatures.
    XCTAssertEqual(database.lastUpdate.checkedBodies, [])
    let diagnostic = database.snapshot().diagnostics.first
    XCTAssertEqual(
      diagnostic?.message,
      "type `S` cannot cross the C boundary: field `tags` has type `[string]`")
    XCTAssertEqual(diagnostic?.span?.start, 33)
    database.apply([shapes("w: f64")])
    XCTAssertNotNil(database.snapshot().program)
  }
}
