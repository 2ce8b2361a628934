import Foundation
import HoloCache
import XCTest

/// `holoc build` and `run` take the program's objects (a dev build's chunks and glue, a
/// release build's one object) from the build cache when the same code was compiled with
/// the same options before; driven through the real holoc.
final class ObjectCacheTests: XCTestCase {
  private var project: CachedProject!

  private static func program(_ value: Int) -> String {
    "fn value() -> i64 { \(value) }\nfn main() { println(value()); }\n"
  }

  override func setUpWithError() throws {
    project = try CachedProject(named: "object-cache")
  }

  override func tearDown() {
    project.remove()
  }

  private func entries(in cache: String) -> [String] {
    let root = "\(project.path)/\(cache)"
    let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
    return files.filter { $0.hasPrefix("ac/") || $0.hasPrefix("cas/") }.filter {
      var isDirectory: ObjCBool = false
      return FileManager.default.fileExists(atPath: "\(root)/\($0)", isDirectory: &isDirectory)
        && !isDirectory.boolValue
    }.map { "\(root)/\($0)" }
  }

  func testEveryEditIsBuiltAndAnEarlierVersionComesFromTheCache() throws {
    for mode in [[], ["--release"]] {
      for value in [1, 2, 1] {
        try project.write(Self.program(value), to: "main.holo")
        let outcome = try project.holoc(["run"] + mode + ["main.holo"])
        XCTAssertEqual(outcome.stdout, "\(value)\n", "\(mode) \(outcome.stderr)")
      }
    }
    // Two versions in two modes: in dev, the program's one chunk twice and its glue once
    // (which holds no code, so the edit leaves it as it was); in release, two whole
    // programs. Five objects, each an action and a blob; and the body records, one
    // action (the analysis is the same in both modes) with a blob per version.
    XCTAssertEqual(entries(in: "cache").count, 13, entries(in: "cache").joined(separator: "\n"))
  }

  func testMovingCodeDownBuildsItAgainWithItsNewLines() throws {
    let failing = "fn main() {\n  let zero = 0;\n  println(1 / zero);\n}\n"
    try project.write(failing, to: "main.holo")
    XCTAssertTrue(try project.holoc(["run", "main.holo"]).stderr.contains("main.holo:3:"))
    try project.write("\n\n" + failing, to: "main.holo")
    XCTAssertTrue(try project.holoc(["run", "main.holo"]).stderr.contains("main.holo:5:"))
  }

  func testDamagedEntriesAreRebuilt() throws {
    try project.write(Self.program(7), to: "main.holo")
    XCTAssertEqual(try project.holoc(["run", "main.holo"]).stdout, "7\n")
    for entry in entries(in: "cache") {
      var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: entry)))
      bytes[bytes.count / 2] ^= 0xFF
      try Data(bytes).write(to: URL(fileURLWithPath: entry))
    }
    XCTAssertEqual(try project.holoc(["run", "main.holo"]).stdout, "7\n")
    XCTAssertEqual(try project.holoc(["run", "main.holo"]).stdout, "7\n")
  }

  /// Two clean checkouts in the same folder (one after the other), each with an empty
  /// local cache, behind one remote (a real nginx): the second uploads nothing, since it
  /// built nothing.
  func testASecondCheckoutBuildsNothing() throws {
    let nginx = "\(project.path)/nginx"
    let url = try NginxShare.start(in: nginx, for: self)
    try project.write(Self.program(3), to: "checkout/main.holo")
    let first = try project.holoc(
      ["run", "main.holo"], in: "checkout", cache: "cache-one", remote: url)
    XCTAssertEqual(first.stdout, "3\n", first.stderr)
    let uploads = { try String(contentsOfFile: "\(nginx)/access.log", encoding: .utf8) }
    XCTAssertTrue(try uploads().contains("PUT /ac/"))

    try FileManager.default.removeItem(atPath: "\(project.path)/checkout")
    try project.write(Self.program(3), to: "checkout/main.holo")
    let before = try uploads().components(separatedBy: "PUT ").count
    let second = try project.holoc(
      ["run", "main.holo"], in: "checkout", cache: "cache-two", remote: url)
    XCTAssertEqual(second.stdout, "3\n", second.stderr)
    XCTAssertEqual(second.stderr, "")
    XCTAssertEqual(try uploads().components(separatedBy: "PUT ").count, before)
    XCTAssertFalse(entries(in: "cache-two").isEmpty, "the download is kept locally")
  }
}
