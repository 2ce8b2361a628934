import Foundation
import HoloIR
import HoloSema
import HoloSource
import XCTest

final class SemaTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("holo-sema-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: folder)
  }

  private func write(_ text: String, to name: String) throws -> String {
    let path = folder.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func testAMissingRootFileIsNamedAtItsFirstLineAndColumn() {
    let path = folder.appendingPathComponent("gone.holo").path
    let sources = SourceManager()
    let analysis = Sema.analyze(rootPath: path, sources: sources)
    XCTAssertEqual(analysis.diagnostics.map(\.code), [.fileNotFound])
    XCTAssertEqual(analysis.diagnostics.first?.path, path)
    let human = DiagnosticRenderer(sources: sources).renderHuman(analysis.diagnostics[0])
    XCTAssertEqual(
      human, "⚒️ Usage[E0501]: cannot read `\(path)`: no such file\n\n\(path):1:1\n")
    let json = DiagnosticRenderer(sources: sources).renderJSON(analysis.diagnostics[0])
    XCTAssertTrue(
      json.contains(#""line":1,"column":1,"end_line":1,"end_column":1"#), json)
  }

  func testUpdateKeepsFileIdentityAndID() {
    let sources = SourceManager()
    let first = sources.update(path: "a.holo", text: "fn a() {}")
    XCTAssertTrue(sources.update(path: "a.holo", text: "fn a() {}") === first)
    let changed = sources.update(path: "a.holo", text: "fn a() { println(1); }")
    XCTAssertEqual(changed.id, first.id)
    XCTAssertEqual(sources.file(first.id).text, "fn a() { println(1); }")
    XCTAssertEqual(sources.allFiles.count, 1)
  }

  func testSnapshotKeepsTheTextItWasTakenWith() {
    let sources = SourceManager()
    let file = sources.update(path: "a.holo", text: "old")
    let snapshot = sources.snapshot()
    _ = sources.update(path: "a.holo", text: "new")
    XCTAssertEqual(snapshot.file(file.id).text, "old")
    XCTAssertEqual(sources.file(file.id).text, "new")
  }

  func testADatabaseFedFromDiskSeesEditsAndKeepsFileIDs() throws {
    let root = try write("import lib;\nfn main() { println(helper()); }\n", to: "main.holo")
    let lib = try write("fn helper() -> i64 { 1 }\n", to: "lib.holo")
    let sources = SourceManager()
    let database = ProgramDatabase(rootPath: root, sources: sources)
    DiskSources().update(database)
    let before = database.snapshot()
    XCTAssertNotNil(before.program)
    _ = try write("fn helper() -> string { \"two\" }\n", to: "lib.holo")
    DiskSources().update(database, changedPaths: [lib])
    XCTAssertEqual(database.lastUpdate.parsedFiles, [lib])
    let after = database.snapshot()
    XCTAssertEqual(after.files, before.files)
    let helper = try XCTUnwrap(after.program?.functions.first { $0.name == "helper" })
    XCTAssertEqual(helper.returnType, .string)
    XCTAssertEqual(sources.allFiles.count, 2)
  }

  func testScriptModeEntryAndTests() throws {
    let root = try write(
      "#[test] fn t() { assert(true); }\nlet x = 1;\nprintln(x);\n", to: "script.holo")
    let analysis = Sema.analyze(rootPath: root, sources: SourceManager())
    let program = try XCTUnwrap(analysis.program)
    let entry = try XCTUnwrap(program.entry)
    XCTAssertEqual(program.function(entry).kind, .scriptEntry)
    XCTAssertEqual(program.tests.map { program.function($0).name }, ["t"])
  }
}
