import Foundation
import HoloCodegen
import HoloIR
import HoloSource

/// Diagnostics that stopped a driver step called by `holoc dev` (HoloDev).
public struct DriverFailure: Error {
  public var diagnostics: [Diagnostic]
}

/// How one test run by `Driver.runTests` ended.
public struct TestOutcome: Sendable {
  public var name: String
  public var passed: Bool
  public var durationMs: Int
  /// The test's stdout and stderr, interleaved.
  public var output: String
  /// The runtime failure, rendered against the driver's sources.
  public var failure: Diagnostic?
  /// The test's `holoc test --format json` object.
  public var json: JSONValue
}

extension TestOutcome {
  init(_ result: TestResult) {
    self.init(
      name: result.name, passed: result.failure == nil, durationMs: result.durationMs,
      output: result.output, failure: result.failure?.diagnostic, json: result.json)
  }
}

/// Lets `holoc dev` stop a run of tests that a newer save made outdated: no test starts
/// after `cancel()`, and the running ones are killed.
public final class TestCancellation: @unchecked Sendable {
  private let lock = NSLock()
  private var cancelled = false
  private var running: [ObjectIdentifier: ChildProcess] = [:]
  /// Tests forked by holoc dev's test process, each the process group of its own pid.
  private var forked: Set<pid_t> = []

  public init() {}

  public func cancel() {
    lock.withLock {
      cancelled = true
      for test in running.values { test.send(SIGKILL) }
      for group in forked { kill(-group, SIGKILL) }
    }
  }

  /// Records a test that holoc dev's test process forked, the process group `group`
  /// (which stays the test's until its ending is read: the test process reaps it only
  /// when it gets the next request); false (the caller kills it) when already cancelled.
  public func started(processGroup group: pid_t) -> Bool {
    lock.withLock {
      if !cancelled { forked.insert(group) }
      return !cancelled
    }
  }

  /// Called once the ending of the test forked as `group` is read, before the next request.
  public func ended(processGroup group: pid_t) {
    _ = lock.withLock { forked.remove(group) }
  }

  public var isCancelled: Bool { lock.withLock { cancelled } }

  /// Records a started test process; false (the caller kills it) when already cancelled.
  func started(_ test: ChildProcess) -> Bool {
    lock.withLock {
      if !cancelled { running[ObjectIdentifier(test)] = test }
      return !cancelled
    }
  }

  func ended(_ test: ChildProcess) {
    _ = lock.withLock { running.removeValue(forKey: ObjectIdentifier(test)) }
  }
}

/// The driver steps `holoc dev` reuses: it analyses programs itself (keeping each
/// program's `SourceManager`), so these take an already checked program.
extension Driver {
  /// The root file that `PATH` names (a `.holo` file, or a folder holding `main.holo`).
  public static func rootFile(of path: String) throws(DriverFailure) -> String {
    do throws(DiagnosticsError) {
      return try ProjectRoot.resolve(path).file
    } catch {
      throw DriverFailure(diagnostics: error.diagnostics)
    }
  }

  /// Compiles `program` (analysed with this driver's sources) and links it to `output`;
  /// `patchable`: the test executable holoc dev keeps running and patches.
  public func buildExecutable(
    _ program: IRProgram, settings: BuildSettings, entry: CodegenOptions.Entry, to output: String,
    patchable: Bool = false
  ) throws(DriverFailure) {
    do throws(DiagnosticsError) {
      try linkExecutable(
        program, settings: settings, entry: entry, to: output, patchable: patchable)
    } catch {
      throw DriverFailure(diagnostics: error.diagnostics)
    }
  }

  /// Runs the named tests of the test executable `executable` (built with entry `.tests`),
  /// each in its own process, `jobs` at a time; per-test files go to `directory`. After
  /// `cancellation` is cancelled no test starts and the outcomes are incomplete.
  public func runTests(
    _ tests: [FunctionID], of program: IRProgram, executable: String, directory: String,
    timeout: Double, jobs: Int, cancellation: TestCancellation? = nil
  ) -> [TestOutcome] {
    let functions = tests.map { program.function($0) }
    let context = TestContext(
      executable: executable, directory: directory, environment: environment, timeout: timeout,
      sources: sources, program: program, cancellation: cancellation)
    let results = TestResults(count: functions.count)
    runInParallel(count: functions.count, jobs: jobs) { index in
      guard cancellation?.isCancelled != true else { return }
      results.set(context.run(functions[index], index: index), at: index)
    }
    return results.all.map(TestOutcome.init)
  }

  /// The outcome of `test` run by a process the driver did not start (a child of holoc
  /// dev's test process), judged as `holoc test` judges its own: it passed when it exited
  /// with status 0; a runtime failure is read from the report at `reportPath`; another
  /// status, a signal, the time limit `timeout` and a test that could not run fail it.
  public func testOutcome(
    of test: FunctionID, in program: IRProgram, ending: TestEnding, durationMs: Int,
    output: String, reportPath: String, timeout: Double
  ) -> TestOutcome {
    TestOutcome(
      TestResult(
        of: program.function(test), ending: ending, durationMs: durationMs, output: output,
        reportPath: reportPath, timeout: timeout, sources: sources, program: program))
  }

  /// The runtime failure a program wrote to the report file at `reportPath`
  /// (`HOLO_FAILURE_REPORT`), pointing into this driver's sources; nil without a report.
  public func runtimeFailure(reportPath: String, program: IRProgram) -> Diagnostic? {
    FailureReport.read(at: reportPath)?.diagnostic(sources: sources, program: program)
  }

  /// The environment variable naming the file a program writes its runtime failure to.
  public static let failureReportVariable = FailureReport.environmentVariable

  /// A program killed by a signal, as `holoc run` reports it.
  public static func killedBySignal(_ signal: Int32) -> Diagnostic {
    .runtimeFailure("the program was killed by \(Subprocess.describe(signal: signal))", at: nil)
  }
}

private final class TestResults: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [TestResult?]

  init(count: Int) { results = Array(repeating: nil, count: count) }

  func set(_ result: TestResult, at index: Int) { lock.withLock { results[index] = result } }

  var all: [TestResult] { lock.withLock { results.compactMap { $0 } } }
}
