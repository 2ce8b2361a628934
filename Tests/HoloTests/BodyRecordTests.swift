import Foundation
import HoloCodegen
import HoloDriver
import HoloIR
import HoloSema
import HoloSource
import XCTest

/// Body records: a fresh database given the records of another's clean checks checks only
/// the bodies whose text or names changed, defers the others (their code is made when
/// first read), and ends with the same program.
final class BodyRecordTests: XCTestCase {
  private static let files = [
    "main.holo":
      "import lib;\nfn main() { println(twice(g(2))); }\nfn g(x: i64) -> i64 { x + 1 }\n",
    "lib.holo": "fn twice(x: i64) -> i64 { add(x, x) }\nfn add(a: i64, b: i64) -> i64 { a + b }\n",
  ]

  /// A database analysing `files`, given `records`.
  private func analysed(_ files: [String: String], records: [BodyRecord] = []) -> ProgramDatabase {
    let database = ProgramDatabase(rootPath: "main.holo", records: BodyRecords(records))
    database.apply(files.map { .text(path: $0.key, $0.value) })
    XCTAssertEqual(database.requestedFiles, [])
    return database
  }

  private static func llvmIR(_ database: ProgramDatabase) throws -> String {
    let program = try XCTUnwrap(database.snapshot().program)
    let bytes = try Codegen.generate(
      program, sources: database.sources,
      options: CodegenOptions(mode: .dev, optimizationLevel: 0, entry: .program), emit: .llvmIR)
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func fingerprints(_ database: ProgramDatabase) throws -> [String: String] {
    let program = try XCTUnwrap(database.snapshot().program)
    return Dictionary(
      uniqueKeysWithValues: program.functions.map {
        ($0.name, Fingerprint.of($0, in: program, sources: database.sources).digest.hex)
      })
  }

  func testAFreshDatabaseGivenTheRecordsChecksNoBodyAndMakesTheSameProgram() throws {
    let first = analysed(Self.files)
    XCTAssertEqual(first.lastUpdate.checkedBodies, ["main", "g", "twice", "add"])
    XCTAssertEqual(first.bodyRecords.count, 4)
    let second = analysed(Self.files, records: first.bodyRecords)
    XCTAssertEqual(second.lastUpdate.checkedBodies, [])
    XCTAssertEqual(second.lastUpdate.recordedBodies, ["main", "g", "twice", "add"])
    // Fingerprints need no code; the code, made when codegen reads it, is the same.
    XCTAssertEqual(try Self.fingerprints(second), try Self.fingerprints(first))
    XCTAssertEqual(try Self.llvmIR(second), try Self.llvmIR(first))
    XCTAssertEqual(second.bodyRecords, first.bodyRecords, "the records are kept whole")
  }

  func testABodyWhoseTextChangedIsCheckedAndTheOthersAreNot() throws {
    let records = analysed(Self.files).bodyRecords
    var edited = Self.files
    edited["main.holo"] = edited["main.holo"]!.replacingOccurrences(of: "x + 1", with: "x + 5")
    let database = analysed(edited, records: records)
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["g"])
    XCTAssertEqual(database.lastUpdate.recordedBodies, ["main", "twice", "add"])
    XCTAssertEqual(try Self.llvmIR(database), try Self.llvmIR(analysed(edited)))
    XCTAssertNotEqual(database.bodyRecords, records, "g's new record replaces its old one")
    XCTAssertEqual(database.bodyRecords.count, 4)
  }

  func testASignatureChangeChecksTheBodiesThatReadIt() throws {
    let records = analysed(Self.files).bodyRecords
    var edited = Self.files
    edited["lib.holo"] =
      "fn twice(x: i64) -> i64 { add(x, x, 0) }\nfn add(a: i64, b: i64, c: i64) -> i64 { a + b + c }\n"
    let database = analysed(edited, records: records)
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["twice", "add"])
    XCTAssertEqual(database.lastUpdate.recordedBodies, ["main", "g"])
    // Only its callee's signature changed: `twice`'s text is the same, its reads are not.
    edited["lib.holo"] =
      "fn twice(x: i64) -> i64 { add(x, x) }\nfn add(a: i32, b: i32) -> i64 { 0 }\n"
    let mismatched = analysed(edited, records: records)
    XCTAssertEqual(mismatched.lastUpdate.checkedBodies, ["twice", "add"])
    XCTAssertFalse(mismatched.snapshot().diagnostics.isEmpty, "twice passes i64 to i32")
  }

  func testANameThatNowMeansSomethingElseChecksItsReaders() throws {
    let files = ["main.holo": "fn main() { println(f()); }\nfn f() -> i64 { 1 }\nfn g() { }\n"]
    let records = analysed(files).bodyRecords
    // `f` is a C function now, of the same types: main's call of it reads something else.
    let edited = ["main.holo": "fn main() { println(f()); }\nextern fn f() -> i64;\nfn g() { }\n"]
    let database = analysed(edited, records: records)
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["main"])
    XCTAssertEqual(database.lastUpdate.recordedBodies, ["g"])
    XCTAssertEqual(try Self.llvmIR(database), try Self.llvmIR(analysed(edited)))
  }

  func testABodyWithDiagnosticsHasNoRecord() {
    let database = analysed([
      "main.holo": "fn main() { println(f()); }\nfn f() -> i64 { true }\nfn g() -> i64 { 2 }\n"
    ])
    XCTAssertEqual(database.bodyRecords.count, 2, "main and g; f has an error")
    let again = analysed(
      ["main.holo": "fn main() { println(f()); }\nfn f() -> i64 { true }\nfn g() -> i64 { 2 }\n"],
      records: database.bodyRecords)
    XCTAssertEqual(again.lastUpdate.checkedBodies, ["f"], "its diagnostics are reported again")
    XCTAssertEqual(again.snapshot().diagnostics, database.snapshot().diagnostics)
  }

  func testRecordedBodiesAreNotParsedUnlessChecked() throws {
    let records = analysed(Self.files).bodyRecords
    XCTAssertEqual(analysed(Self.files).lastUpdate.skimmedBodies, [], "no records, no skimming")
    var edited = Self.files
    edited["lib.holo"] =
      "fn twice(x: i64) -> i64 { add(x, x) }\nfn add(a: i64, b: i64) -> i64 { a + b + 1 }\n"
    let database = analysed(edited, records: records)
    XCTAssertEqual(
      Set(database.lastUpdate.skimmedBodies), ["main", "g", "twice"], "add has no record")
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["add"])
    // A skimmed body is parsed from its text when its code is made, and it is the same.
    XCTAssertEqual(try Self.llvmIR(database), try Self.llvmIR(analysed(edited)))
    // One whose reads changed is parsed and checked, with its diagnostics where they were.
    edited["lib.holo"] = "fn twice(x: i64) -> i64 { add(x, x) }\nfn add(a: bool) -> i64 { 1 }\n"
    let mismatched = analysed(edited, records: records)
    XCTAssertEqual(mismatched.lastUpdate.checkedBodies, ["twice", "add"])
    XCTAssertEqual(mismatched.snapshot().diagnostics, analysed(edited).snapshot().diagnostics)
  }

  /// A syntax error anywhere in a file means its bodies are parsed, not skimmed: what the
  /// parser reports never depends on the records.
  func testASyntaxErrorIsReportedAsWithoutRecordsAndItsFileIsNotRecorded() throws {
    let records = analysed(Self.files).bodyRecords
    var broken = Self.files
    broken["lib.holo"] =
      "fn twice(x: i64) -> i64 { add(x, x) }\nfn add(a: i64, b: i64) -> i64 { let = 1; a + b }\n"
    let database = analysed(broken, records: records)
    let diagnostics = database.snapshot().diagnostics
    XCTAssertFalse(diagnostics.isEmpty)
    XCTAssertEqual(diagnostics, analysed(broken).snapshot().diagnostics)
    XCTAssertEqual(Set(database.lastUpdate.skimmedBodies), ["main", "g"])
    // A body the parser recovered in may check cleanly; no record says its file parses.
    XCTAssertEqual(Set(database.bodyRecords.map(\.key)), Set(records.prefix(2).map(\.key)))
  }

  /// The driver's records entry is named by the root as given, not by the folder: what
  /// one checkout (or a CI runner, through a remote cache) recorded serves another.
  func testRecordsStoredInOneCheckoutAreFoundFromAnother() throws {
    let (cache, first, second) = (
      try makeScratchFolder("holo-records-cache"), try makeScratchFolder("holo-checkout"),
      try makeScratchFolder("holo-checkout")
    )
    let folder = FileManager.default.currentDirectoryPath
    defer {
      _ = FileManager.default.changeCurrentDirectoryPath(folder)
      for path in [cache, first, second] { try? FileManager.default.removeItem(atPath: path) }
    }
    let records = analysed(Self.files).bodyRecords
    let driver = { Driver(format: .human, environment: ["HOLO_CACHE_DIR": cache]) }
    XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(first))
    XCTAssertEqual(driver().bodyRecordCache(root: "main.holo").loaded, [])
    driver().bodyRecordCache(root: "main.holo").store(records)
    XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(second))
    XCTAssertEqual(driver().bodyRecordCache(root: "main.holo").loaded, records)
    XCTAssertEqual(driver().bodyRecordCache(root: "other.holo").loaded, [], "another root")
  }

  func testRecordsRoundTripAndADamagedFileHoldsNone() throws {
    let records = analysed(Self.files).bodyRecords
    let bytes = BodyRecords.encode(records)
    XCTAssertEqual(BodyRecords.decode(bytes), records)
    XCTAssertEqual(BodyRecords.decode(BodyRecords.encode([])), [])
    for index in [0, 12, bytes.count / 2, bytes.count - 1] {
      var damaged = bytes
      damaged[index] ^= 0x20
      XCTAssertNil(BodyRecords.decode(damaged), "a flipped byte at \(index)")
    }
    XCTAssertNil(BodyRecords.decode(Array(bytes.dropLast(7))), "a torn file")
    XCTAssertNil(BodyRecords.decode([]))
  }
}
