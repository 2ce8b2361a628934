import Foundation
import HoloCodegen
import HoloIR
import HoloSource

/// The flags of `holoc test`.
public struct TestOptions: Sendable {
  /// Runs only tests whose name contains this text.
  public var filter: String?
  /// How many tests run at once.
  public var jobs: Int
  /// Seconds each test may run before it is killed and fails.
  public var timeout: Double
  /// Whether a test unchanged since it last passed is reported from the cache instead of
  /// run (`--no-cache` runs every test).
  public var usesCache: Bool

  public init(filter: String? = nil, jobs: Int? = nil, timeout: Double = 10, usesCache: Bool = true)
  {
    self.filter = filter
    self.jobs = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
    self.timeout = timeout
    self.usesCache = usesCache
  }
}

/// How one test ended.
struct TestResult: Sendable {
  struct Failure: Sendable {
    var message: String
    var file: String
    var line: Int
    var column: Int
    /// The excerpt's location, when the failure is in a loaded file.
    var diagnostic: Diagnostic
  }

  var name: String
  var file: String
  var line: Int
  var durationMs: Int
  var output: String
  var failure: Failure?
  /// It passed without running: unchanged since it last passed (`TestCache`).
  var cached = false

  /// The `--format json` line of CLI.md, and whether the result came from the cache.
  var json: JSONValue {
    .object([
      ("type", .string("test")),
      ("name", .string(name)),
      ("file", .string(file)),
      ("line", .int(line)),
      ("status", .string(failure == nil ? "passed" : "failed")),
      ("duration_ms", .int(durationMs)),
      ("output", .string(output)),
      (
        "failure",
        failure.map {
          .object([
            ("message", .string($0.message)), ("file", .string($0.file)), ("line", .int($0.line)),
            ("column", .int($0.column)),
          ])
        } ?? .null
      ),
      ("cached", .bool(cached)),
    ])
  }

  static func summaryJSON(passed: Int, failed: Int, cached: Int) -> JSONValue {
    .object([
      ("type", .string("summary")), ("passed", .int(passed)), ("failed", .int(failed)),
      ("cached", .int(cached)),
    ])
  }

  static func summaryLine(passed: Int, failed: Int) -> String {
    "\(passed) passed, \(failed) failed\n"
  }
}

extension TestResult {
  /// A pass of `test` reported from the cache, with the output it had then.
  init(cachedPassOf test: IRFunction, output: String, sources: SourceManager) {
    let file = sources.file(test.span.file)
    self.init(
      name: test.name, file: file.path, line: file.location(of: test.span.start).line,
      durationMs: 0, output: output, failure: nil, cached: true)
  }
}

extension Driver {
  /// `holoc test`: builds the test executable and runs each test as its own process
  /// (`EXE --run NAME`), in parallel, with a time limit. Prints results to stdout in source
  /// order as they become available.
  public func test(path: String, settings: BuildSettings, options: TestOptions) -> Int32 {
    Teardown.install()
    do throws(DiagnosticsError) {
      let root = try resolve(path)
      let program = try analyze(root)
      let tests = program.tests.map { program.function($0) }
        .filter { options.filter.map($0.name.contains) ?? true }
        .sorted { ($0.span.file, $0.span.start) < ($1.span.file, $1.span.start) }
      let fingerprints = ProgramFingerprints(program, sources: sources)
      let testCache =
        options.usesCache
        ? TestCache(
          cache: openCache(), tests: tests, program: program, fingerprints: fingerprints,
          context: try testCacheContext(settings: settings, options: options)) : nil
      let printer = TestPrinter(
        format: format, sources: sources, count: tests.count,
        useColor: format == .human
          && DiagnosticRenderer.wantsColor(fileDescriptor: 1, environment: environment))
      var toRun: [Int] = []
      for (index, test) in tests.enumerated() {
        if let output = testCache?.passedOutput(of: test) {
          printer.record(
            TestResult(cachedPassOf: test, output: output, sources: sources), at: index)
        } else {
          toRun.append(index)
        }
      }
      guard !toRun.isEmpty else {
        return printer.finish() ? ExitStatus.success : ExitStatus.failure
      }
      return try withTemporaryDirectory { directory throws(DiagnosticsError) in
        let executable = "\(directory)/\(root.name)-tests"
        try linkExecutable(
          program, settings: settings, entry: .tests, to: executable, fingerprints: fingerprints)
        let context = TestContext(
          executable: executable, directory: directory, environment: environment,
          timeout: options.timeout, sources: sources, program: program)
        let indices = toRun
        runInParallel(count: indices.count, jobs: options.jobs) { position in
          let index = indices[position]
          let result = context.run(tests[index], index: index)
          if result.failure == nil {
            testCache?.recordPass(of: tests[index], output: result.output)
          }
          printer.record(result, at: index)
        }
        return printer.finish() ? ExitStatus.success : ExitStatus.failure
      }
    } catch {
      return fail(error)
    }
  }
}

extension Driver {
  /// What a test's result depends on besides the code it reaches (`TestCache`).
  fileprivate func testCacheContext(settings: BuildSettings, options: TestOptions)
    throws(DiagnosticsError) -> [(label: String, value: String)]
  {
    // The runtime archive's folder is named by a hash of the runtime's sources and flags.
    let runtime = URL(fileURLWithPath: try runtimeArchive()).deletingLastPathComponent()
    let codegen = settings.codegenOptions(entry: .tests)
    return CompilerIdentity.parts + [
      ("runtime", runtime.lastPathComponent),
      ("mode", "\(codegen.mode)"), ("optimization", "\(codegen.optimizationLevel)"),
      ("cpu", codegen.targetCPU ?? ""), ("libraries", settings.libraries.joined(separator: " ")),
      ("timeout", "\(options.timeout)"),
    ]
  }
}

/// Calls `body` for each index in `0..<count` on up to `jobs` threads; returns when all did.
func runInParallel(count: Int, jobs: Int, _ body: @escaping @Sendable (Int) -> Void) {
  let queue = WorkQueue(count: count)
  let group = DispatchGroup()
  for _ in 0..<min(jobs, count) {
    group.enter()
    Thread {
      while let index = queue.next() { body(index) }
      group.leave()
    }.start()
  }
  group.wait()
}

/// Hands out the indices `0..<count`, each once, to the threads that ask.
final class WorkQueue: @unchecked Sendable {
  private let lock = NSLock()
  private var nextIndex = 0
  let count: Int

  init(count: Int) { self.count = count }

  func next() -> Int? {
    lock.withLock {
      guard nextIndex < count else { return nil }
      defer { nextIndex += 1 }
      return nextIndex
    }
  }
}

/// How a test's process ended: the test processes `holoc test` starts, and the children
/// of holoc dev's test process.
public enum TestEnding: Sendable, Equatable {
  case exited(Int32)
  case signalled(Int32)
  /// Killed after the time limit.
  case timedOut
  /// It could not be run, for this reason.
  case notRun(String)
}

/// What every test process shares.
struct TestContext: Sendable {
  var executable: String
  var directory: String
  var environment: [String: String]
  var timeout: Double
  let sources: SourceManager
  let program: IRProgram
  var cancellation: TestCancellation? = nil

  func run(_ test: IRFunction, index: Int) -> TestResult {
    let outputPath = "\(directory)/test-\(index).out"
    let reportPath = "\(directory)/test-\(index).report"
    var environment = self.environment
    environment[FailureReport.environmentVariable] = reportPath

    let start = Date()
    let ending: TestEnding
    do throws(SpawnError) {
      switch try Subprocess.run(
        executable, ["--run", test.name], environment: environment, inheritInput: false,
        output: .file(outputPath), job: .background, timeout: timeout,
        cancellation: cancellation)
      {
      case .exited(let status): ending = .exited(status)
      case .signalled(let signal): ending = .signalled(signal)
      case .timedOut: ending = .timedOut
      }
    } catch {
      ending = .notRun("the test could not be started: \(error)")
    }
    let durationMs = Int(Date().timeIntervalSince(start) * 1000)
    let output = FileManager.default.contents(atPath: outputPath).map {
      String(decoding: $0, as: UTF8.self)
    }
    return TestResult(
      of: test, ending: ending, durationMs: durationMs, output: output ?? "",
      reportPath: reportPath, timeout: timeout, sources: sources, program: program)
  }
}

extension TestResult {
  /// The result of `test`, whose process ended so after `durationMs`, having written
  /// `output` (and on a runtime failure its report at `reportPath`).
  init(
    of test: IRFunction, ending: TestEnding, durationMs: Int, output: String, reportPath: String,
    timeout: Double, sources: SourceManager, program: IRProgram
  ) {
    let file = sources.file(test.span.file)
    let location = file.location(of: test.span.start)
    self.init(
      name: test.name, file: file.path, line: location.line, durationMs: durationMs,
      output: output, failure: nil)
    let atTest = { (message: String) in
      TestResult.Failure(
        message: message, file: file.path, line: location.line, column: location.column,
        diagnostic: .runtimeFailure(message, at: test.span))
    }
    switch ending {
    case .exited(0):
      break
    case .exited(ExitStatus.runtimeFailure):
      guard let report = FailureReport.read(at: reportPath) else {
        failure = atTest("the test failed with exit status \(ExitStatus.runtimeFailure)")
        break
      }
      let diagnostic = report.diagnostic(sources: sources, program: program)
      // A failure the runtime could not place points at the test, as one without a report.
      failure =
        diagnostic.isLocated
        ? TestResult.Failure(
          message: report.message, file: report.file, line: report.line, column: report.column,
          diagnostic: diagnostic)
        : atTest(diagnostic.message)
    case .exited(let status):
      failure = atTest("the test exited with status \(status)")
    case .signalled(let signal):
      failure = atTest("the test crashed: \(Subprocess.describe(signal: signal))")
    case .timedOut:
      failure = atTest("test timed out after \(Self.formatSeconds(timeout)) s")
    case .notRun(let reason):
      failure = atTest(reason)
    }
  }

  private static func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
  }
}

/// Prints results in source order while tests finish in any order: a result is printed
/// once every test before it has been printed.
private final class TestPrinter: @unchecked Sendable {
  private let lock = NSLock()
  private let format: DiagnosticRenderer.Format
  private let renderer: DiagnosticRenderer
  private let useColor: Bool
  private var results: [TestResult?]
  private var printed = 0

  init(format: DiagnosticRenderer.Format, sources: SourceManager, count: Int, useColor: Bool) {
    self.format = format
    self.renderer = DiagnosticRenderer(sources: sources, useColor: useColor)
    self.useColor = useColor
    self.results = Array(repeating: nil, count: count)
  }

  func record(_ result: TestResult, at index: Int) {
    lock.withLock {
      results[index] = result
      var text = ""
      while printed < results.count, let next = results[printed] {
        text += line(for: next)
        printed += 1
      }
      StandardStream.output.write(text)
    }
  }

  private func line(for result: TestResult) -> String {
    switch format {
    case .human: return "test \(result.name) ... \(status(of: result))\n"
    case .json: return result.json.serialized + "\n"
    }
  }

  /// `ok`, or `FAILED`; green or red when colouring, as cargo does. A cached pass says so.
  private func status(of result: TestResult) -> String {
    let (text, color) = result.failure == nil ? ("ok", "32") : ("FAILED", "31")
    let status = useColor ? "\u{1B}[\(color)m\(text)\u{1B}[0m" : text
    return result.cached ? status + " (cached)" : status
  }

  /// Prints the failures (human format) and the summary; true when every test passed.
  func finish() -> Bool {
    let finished = results.compactMap { $0 }
    let failed = finished.filter { $0.failure != nil }
    let passed = finished.count - failed.count
    let cached = finished.filter(\.cached).count
    var text = ""
    switch format {
    case .human:
      for result in failed {
        text += "\n---- \(result.name) ----\n"
        text += renderer.renderHuman(result.failure!.diagnostic)
        if !result.output.isEmpty {
          text += "\noutput:\n" + result.output
          if !result.output.hasSuffix("\n") { text += "\n" }
        }
      }
      if !failed.isEmpty { text += "\n" }
      if cached > 0 {
        text +=
          "\(cached) of them cached: unchanged since they last passed (--no-cache runs them)\n"
      }
      text += TestResult.summaryLine(passed: passed, failed: failed.count)
    case .json:
      text +=
        TestResult.summaryJSON(passed: passed, failed: failed.count, cached: cached).serialized
        + "\n"
    }
    StandardStream.output.write(text)
    return failed.isEmpty
  }
}
