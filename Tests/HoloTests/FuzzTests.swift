import Foundation
import XCTest

/// The bounded smoke of the fuzz driver, bench/fuzz.py, against the holoc built next to this
/// test bundle: a fixed seed, a few hundred cases, and a replay of the kept reproducers in
/// Fuzz/ (Fuzz/README.md). Any case counted as a failure fails the test.
///
/// Every class of case runs: all mutations, and every stress shape at the full size of
/// issue 8 (100,000-term chains, a megabyte line of errors, 10,000-level nesting, ...).
final class FuzzTests: XCTestCase {
  static let smokeArguments = [
    "--cases", "300", "--seed", "1", "--mix", "mutate=6,generate=3,stress=1",
  ]

  func testSmoke() throws {
    try runDriver(Self.smokeArguments)
  }

  func testKeptReproducers() throws {
    let folder = RuntimeLayout.repositoryRoot.appendingPathComponent("Tests/HoloTests/Fuzz")
    let kept = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
      $0.hasSuffix(".holo") || $0.hasSuffix(".stress")
    }
    XCTAssertFalse(kept.isEmpty, "no reproducer in \(folder.path)")
    try runDriver(["--replay", folder.path])
  }

  /// Runs the driver; on failure, reports its summary and keeps the failing inputs.
  private func runDriver(_ arguments: [String]) throws {
    guard let holoc = ConformanceTests.holocExecutable() else {
      return XCTFail("holoc executable not found next to the test bundle; run `swift build` first")
    }
    let driver = RuntimeLayout.repositoryRoot.appendingPathComponent("bench/fuzz.py")
    let out = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-fuzz-smoke-\(UUID().uuidString)")
    let result = try runCapturingOutput(
      "/usr/bin/env",
      ["python3", driver.path, "--holoc", holoc.path, "--out", out.path] + arguments,
      environment: ProcessInfo.processInfo.environment, timeout: 600)
    XCTAssertEqual(
      result.status, 0,
      "fuzz.py \(arguments.joined(separator: " ")) counted failures; inputs and reports in "
        + "\(out.path):\n\(result.stdout)\(result.stderr)")
    if result.status == 0 {
      try? FileManager.default.removeItem(at: out)
    }
  }
}
