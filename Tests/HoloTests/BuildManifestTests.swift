import Foundation
import HoloCache
import HoloDriver
import HoloSource
import XCTest

/// `holoc build` of a program whose files are unchanged since a build with the same
/// settings takes the output from the cache without analysing the program (the driver
/// reads no file into its source manager); any edit anywhere builds it.
final class BuildManifestTests: XCTestCase {
  private var project: CachedProject!

  override func setUpWithError() throws {
    project = try CachedProject(named: "build-manifest")
    try project.write("import lib;\nfn main() { println(value()); }\n", to: "main.holo")
    try project.write("fn value() -> i64 { 1 }\n", to: "lib.holo")
  }

  override func tearDown() {
    project.remove()
  }

  /// Builds the project with a driver of its own; returns the files that driver analysed.
  private func build(
    _ kind: OutputKind = .executable, output: String = "app", libraries: [String] = []
  ) throws -> [String] {
    let sources = SourceManager()
    var environment = ProcessInfo.processInfo.environment
    environment[BuildCache.directoryEnvironmentVariable] = "\(project.path)/cache"
    let status = Driver(format: .human, environment: environment, sources: sources).build(
      path: "\(project.path)/main.holo", settings: BuildSettings(libraries: libraries),
      kind: kind, output: "\(project.path)/\(output)")
    XCTAssertEqual(status, 0)
    return sources.allFiles.map { URL(fileURLWithPath: $0.path).lastPathComponent }
  }

  private func run() throws -> String {
    try runCapturingOutput(
      "\(project.path)/app", [], environment: ProcessInfo.processInfo.environment
    ).stdout
  }

  func testAnUnchangedProgramIsNotAnalysedAgain() throws {
    XCTAssertEqual(try build(), ["main.holo", "lib.holo"])
    try FileManager.default.removeItem(atPath: "\(project.path)/app")
    XCTAssertEqual(try build(), [])
    XCTAssertEqual(try run(), "1\n")
    XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "\(project.path)/app"))
  }

  func testAnEditToAnImportedFileIsBuilt() throws {
    _ = try build()
    try project.write("fn value() -> i64 { 2 }\n", to: "lib.holo")
    XCTAssertEqual(try build(), ["main.holo", "lib.holo"])
    XCTAssertEqual(try run(), "2\n")
    // Back to the first text: its output is still in the cache.
    try project.write("fn value() -> i64 { 1 }\n", to: "lib.holo")
    XCTAssertEqual(try build(), [])
    XCTAssertEqual(try run(), "1\n")
  }

  func testAnImportThatNowNamesAnotherFileIsBuilt() throws {
    _ = try build()
    try project.write("fn value() -> i64 { 3 }\n", to: "other.holo")
    try project.write("import other;\nfn main() { println(value()); }\n", to: "main.holo")
    XCTAssertEqual(try build(), ["main.holo", "other.holo"])
    XCTAssertEqual(try run(), "3\n")
  }

  func testEachKindOfOutputHasItsOwnEntry() throws {
    _ = try build()
    XCTAssertEqual(try build(.llvmIR, output: "app.ll"), ["main.holo", "lib.holo"])
    XCTAssertEqual(try build(.llvmIR, output: "app.ll"), [])
    let text = try String(contentsOfFile: "\(project.path)/app.ll", encoding: .utf8)
    XCTAssertTrue(text.contains("define"), text)
  }

  /// holoc cannot tell whether a C library changed since.
  func testABuildLinkingACLibraryIsAlwaysAnalysed() throws {
    _ = try build(libraries: ["m"])
    XCTAssertEqual(try build(libraries: ["m"]), ["main.holo", "lib.holo"])
  }
}
