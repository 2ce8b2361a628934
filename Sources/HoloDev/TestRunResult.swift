import Foundation
import HoloDriver
import HoloIR
import HoloSource

/// What a background run of affected tests found.
struct TestRunResult: Sendable {
  var outcomes: [TestOutcome] = []
  /// Why the test executable could not be built.
  var diagnostics: [Diagnostic] = []
  var milliseconds = 0

  /// Builds the test executable of `program` at `executable` and runs `tests`, each in its
  /// own process; removes what it wrote.
  static func run(
    _ tests: [FunctionID], of program: IRProgram, sources: SourceManager,
    settings: BuildSettings, executable: String, timeout: Double,
    cancellation: TestCancellation
  ) -> TestRunResult {
    let start = Posix.monotonicMs()
    var result = TestRunResult()
    let driver = Driver(format: .human, sources: sources)
    let directory = executable + ".d"
    defer {
      try? FileManager.default.removeItem(atPath: executable)
      try? FileManager.default.removeItem(atPath: directory)
    }
    do throws(DriverFailure) {
      try driver.buildExecutable(program, settings: settings, entry: .tests, to: executable)
    } catch {
      result.diagnostics = error.diagnostics
      return result
    }
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    result.outcomes = driver.runTests(
      tests, of: program, executable: executable, directory: directory, timeout: timeout,
      jobs: ProcessInfo.processInfo.activeProcessorCount, cancellation: cancellation)
    result.milliseconds = Int(Posix.monotonicMs() - start)
    return result
  }
}
