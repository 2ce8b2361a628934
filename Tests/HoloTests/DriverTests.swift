import Foundation
import HoloCache
import HoloDevABI
import HoloIR
import HoloSource
import XCTest

@testable import HoloDriver

/// The driver's pieces that do not need the compiler.
final class DriverTests: XCTestCase {
  private var scratch: String!

  override func setUpWithError() throws {
    scratch = try makeScratchFolder("holo-driver-tests")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: scratch)
  }

  private func write(_ text: String, to relativePath: String) throws {
    let url = URL(fileURLWithPath: "\(scratch!)/\(relativePath)")
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
  }

  /// A runtime folder with two C files, like runtime/.
  private func makeRuntime(at relativePath: String, extraSource: String = "") throws -> String {
    try write("int holo_a(void);\n", to: "\(relativePath)/include/holo.h")
    try write(
      "#include \"holo.h\"\nint holo_a(void) { return 1; }\n\(extraSource)",
      to: "\(relativePath)/src/a.c")
    try write("int holo_b(void) { return 2; }\n", to: "\(relativePath)/src/b.c")
    return "\(scratch!)/\(relativePath)"
  }

  // MARK: Locating the runtime

  func testRuntimeFromEnvironmentVariable() throws {
    let runtime = try makeRuntime(at: "custom")
    XCTAssertEqual(
      RuntimeLibrary.locate(
        environment: [DevABI.Environment.runtimeDirectory: runtime], executablePath: nil),
      runtime)
    XCTAssertNil(
      RuntimeLibrary.locate(
        environment: [DevABI.Environment.runtimeDirectory: "\(scratch!)/missing"],
        executablePath: "/usr/bin/true"),
      "an explicit HOLO_RUNTIME_DIR that holds no runtime is not silently replaced")
  }

  func testRuntimeFoundAboveTheExecutable() throws {
    let runtime = try makeRuntime(at: "checkout/runtime")
    let executable = "\(scratch!)/checkout/.build/debug/holoc"
    XCTAssertEqual(RuntimeLibrary.locate(environment: [:], executablePath: executable), runtime)
  }

  func testRuntimeFoundInInstalledShareFolder() throws {
    let runtime = try makeRuntime(at: "prefix/share/holo/runtime")
    let located = RuntimeLibrary.locate(
      environment: [:], executablePath: "\(scratch!)/prefix/bin/holoc")
    XCTAssertEqual(located.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, runtime)
  }

  func testCacheDirectory() {
    XCTAssertEqual(
      RuntimeLibrary.cacheDirectory(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/h"]),
      "/x/cache/holo")
    XCTAssertEqual(RuntimeLibrary.cacheDirectory(environment: ["HOME": "/h"]), "/h/.cache/holo")
    XCTAssertEqual(
      RuntimeLibrary.cacheDirectory(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"]),
      "/h/.cache/holo", "XDG requires absolute paths")
  }

  // MARK: Building and caching the runtime archive

  private var environment: [String: String] { ProcessInfo.processInfo.environment }

  func testArchiveIsBuiltOnceAndCached() throws {
    let runtime = try makeRuntime(at: "runtime")
    let cache = "\(scratch!)/cache"
    let archive = try RuntimeLibrary.archive(
      runtimeDirectory: runtime, cacheDirectory: cache, environment: environment)
    XCTAssertTrue(archive.hasPrefix(cache + "/runtime-"))
    let (_, members) = try Subprocess.capture("/usr/bin/ar", ["t", archive])
    XCTAssertEqual(members.split(separator: "\n").sorted(), ["a.o", "b.o"])

    let modified =
      try FileManager.default.attributesOfItem(atPath: archive)[.modificationDate] as? Date
    let again = try RuntimeLibrary.archive(
      runtimeDirectory: runtime, cacheDirectory: cache, environment: environment)
    XCTAssertEqual(again, archive)
    XCTAssertEqual(
      try FileManager.default.attributesOfItem(atPath: archive)[.modificationDate] as? Date,
      modified)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: cache),
      [URL(fileURLWithPath: archive).deletingLastPathComponent().lastPathComponent],
      "only the finished archive folder remains")
  }

  func testChangedSourceGetsANewArchive() throws {
    let runtime = try makeRuntime(at: "runtime")
    let cache = "\(scratch!)/cache"
    let first = try RuntimeLibrary.archive(
      runtimeDirectory: runtime, cacheDirectory: cache, environment: environment)
    try write("int holo_b(void) { return 3; }\n", to: "runtime/src/b.c")
    let second = try RuntimeLibrary.archive(
      runtimeDirectory: runtime, cacheDirectory: cache, environment: environment)
    XCTAssertNotEqual(first, second)
    XCTAssertTrue(FileManager.default.fileExists(atPath: second))
  }

  func testConcurrentBuildsAgree() throws {
    let runtime = try makeRuntime(at: "runtime")
    let cache = "\(scratch!)/cache"
    let environment = self.environment
    let results = Results()
    DispatchQueue.concurrentPerform(iterations: 4) { _ in
      results.append(
        Result {
          try RuntimeLibrary.archive(
            runtimeDirectory: runtime, cacheDirectory: cache, environment: environment)
        })
    }
    let paths = try results.all.map { try $0.get() }
    XCTAssertEqual(Set(paths).count, 1)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).count, 1)
  }

  func testBrokenRuntimeSourceIsE0302WithCompilerMessage() throws {
    let runtime = try makeRuntime(at: "runtime", extraSource: "int broken( {\n")
    XCTAssertThrowsError(
      try RuntimeLibrary.archive(
        runtimeDirectory: runtime, cacheDirectory: "\(scratch!)/cache", environment: environment)
    ) { error in
      let diagnostic = (error as? DiagnosticsError)?.diagnostics.first
      XCTAssertEqual(diagnostic?.code, .runtimeNotFound)
      XCTAssertTrue(diagnostic?.message.contains("a.c") ?? false, diagnostic?.message ?? "")
    }
  }

  func testMissingCompilerIsE0302() throws {
    let runtime = try makeRuntime(at: "runtime")
    XCTAssertThrowsError(
      try RuntimeLibrary.archive(
        runtimeDirectory: runtime, cacheDirectory: "\(scratch!)/cache",
        environment: ["PATH": "\(scratch!)/empty"])
    ) { error in
      XCTAssertEqual((error as? DiagnosticsError)?.diagnostics.first?.code, .runtimeNotFound)
      XCTAssertTrue(
        (error as? DiagnosticsError)?.diagnostics.first?.message.contains("`cc`") ?? false)
    }
  }

  // MARK: Project roots

  func testProjectRoots() throws {
    try write("", to: "app/main.holo")
    try write("", to: "tool.holo")
    try write("", to: "empty/readme.txt")
    let cwd = FileManager.default.currentDirectoryPath
    _ = FileManager.default.changeCurrentDirectoryPath(scratch)
    defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }

    XCTAssertEqual(
      try ProjectRoot.resolve("tool.holo"), ProjectRoot(file: "tool.holo", name: "tool"))
    XCTAssertEqual(try ProjectRoot.resolve("app"), ProjectRoot(file: "app/main.holo", name: "app"))
    XCTAssertEqual(try ProjectRoot.resolve("app/"), ProjectRoot(file: "app/main.holo", name: "app"))
    _ = FileManager.default.changeCurrentDirectoryPath("app")
    XCTAssertEqual(try ProjectRoot.resolve("."), ProjectRoot(file: "main.holo", name: "app"))
    _ = FileManager.default.changeCurrentDirectoryPath(scratch)

    XCTAssertThrowsError(try ProjectRoot.resolve("missing.holo")) {
      XCTAssertEqual(($0 as? DiagnosticsError)?.diagnostics.first?.code, .fileNotFound)
    }
    XCTAssertThrowsError(try ProjectRoot.resolve("empty")) {
      XCTAssertEqual(($0 as? DiagnosticsError)?.diagnostics.first?.code, .rootNotFound)
    }
    let root = ProjectRoot(file: "x/main.holo", name: "x")
    XCTAssertEqual(root.defaultOutput(.executable), "x")
    XCTAssertEqual(root.defaultOutput(.object), "x.o")
    XCTAssertEqual(root.defaultOutput(.assembly), "x.s")
    XCTAssertEqual(root.defaultOutput(.llvmIR), "x.ll")
  }

  func testOptimizationDefaults() {
    XCTAssertEqual(BuildSettings().codegenOptions(entry: .program).optimizationLevel, 0)
    XCTAssertEqual(
      BuildSettings(mode: .release).codegenOptions(entry: .program).optimizationLevel, 3)
    XCTAssertEqual(
      BuildSettings(mode: .release, optimizationLevel: 1).codegenOptions(entry: .tests)
        .optimizationLevel, 1)
  }

  // MARK: Compiler identity

  /// The holoc digest in every cache key is remembered per file identity, and a changed
  /// file is hashed again.
  func testTheCompilersDigestIsRememberedUntilItsFileChanges() throws {
    let executable = "\(scratch!)/holoc"
    let memos = "\(scratch!)/memos"
    try write("first build", to: "holoc")
    let first = CompilerIdentity.digest(ofExecutable: executable, memos: memos)
    XCTAssertEqual(first, ContentDigest(of: Array("first build".utf8)).hex)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: memos).count, 1)
    XCTAssertEqual(CompilerIdentity.digest(ofExecutable: executable, memos: memos), first)
    try write("second build", to: "holoc")
    XCTAssertEqual(
      CompilerIdentity.digest(ofExecutable: executable, memos: memos),
      ContentDigest(of: Array("second build".utf8)).hex)
  }

  // MARK: Link errors

  /// Each linker's way of naming a symbol nobody defines leads to the `extern fn`.
  func testUndefinedExternsAreFoundInEveryLinkersMessages() {
    let span = Span(file: FileID(0), start: 10, end: 14)
    let external = IRExtern(
      id: ExternID(0), name: "hypot", parameterTypes: [.f64, .f64], returnType: .f64, span: span)
    let program = IRProgram(functions: [], externs: [external], entry: nil, tests: [])
    let messages = [
      "/usr/bin/ld: /tmp/x/program.a(c0.o): in function `f':\nholo:(.text+0x1): undefined reference to `hypot'",
      "/tmp/cc1YMeo5.o:u.c:function main: error: undefined reference to 'hypot'",
      "ld.lld: error: undefined symbol: hypot\n>>> referenced by holo\n",
    ]
    for message in messages {
      XCTAssertEqual(Driver.undefinedExtern(in: message, of: program)?.name, "hypot", message)
    }
    XCTAssertNil(Driver.undefinedExtern(in: "ld.lld: error: undefined symbol: other", of: program))
  }

  // MARK: Failure reports

  func testFailureReportParsing() {
    XCTAssertEqual(
      FailureReport(parsing: "a.holo\n3\n7\ndivision by zero\n"),
      FailureReport(file: "a.holo", line: 3, column: 7, message: "division by zero"))
    XCTAssertEqual(
      FailureReport(parsing: "a.holo\n3\n7\ntwo\nlines")?.message, "two\nlines")
    XCTAssertNil(FailureReport(parsing: "a.holo\n3\n"))
    XCTAssertNil(FailureReport(parsing: "a.holo\nx\n7\nmessage"))
  }

  func testOffsetOfLineAndColumnCountsScalars() {
    let file = SourceManager().add(path: "a.holo", text: "x\n  \"é\" / 0;\n")
    XCTAssertEqual(file.offset(line: 2, column: 3), 4)
    XCTAssertEqual(file.offset(line: 2, column: 7), 9, "é is two bytes")
    XCTAssertEqual(file.offset(line: 1, column: 99), 1, "clamped to the line's end")
  }

  /// `fn f() -> i64 { 1 / 0 }` with the division spanning `1 / 0`.
  private func divisionProgram(_ sources: SourceManager) -> (IRProgram, SourceFile) {
    let file = sources.add(path: "div.holo", text: "fn f() -> i64 { 1 / 0 }\n")
    let span = { (start: Int, end: Int) in Span(file: file.id, start: start, end: end) }
    let one = IRExpr(.integerConstant(1), type: .i64, span: span(16, 17))
    let zero = IRExpr(.integerConstant(0), type: .i64, span: span(20, 21))
    let division = IRExpr(.binary(.divide, one, zero), type: .i64, span: span(16, 21))
    let function = IRFunction(
      id: FunctionID(0), name: "f", kind: .user, isExport: false, parameters: [], locals: [],
      returnType: .i64,
      body: IRBlock(statements: [], result: division, type: .i64, span: span(14, 23)),
      span: span(3, 4))
    return (IRProgram(functions: [function], externs: [], entry: nil, tests: []), file)
  }

  func testFailureDiagnosticUnderlinesTheFailingExpression() {
    let sources = SourceManager()
    let (program, file) = divisionProgram(sources)
    let report = FailureReport(file: "div.holo", line: 1, column: 17, message: "division by zero")
    let diagnostic = report.diagnostic(sources: sources, program: program)
    XCTAssertEqual(diagnostic.phase, .runtime)
    XCTAssertEqual(diagnostic.span, Span(file: file.id, start: 16, end: 21))
    XCTAssertEqual(
      DiagnosticRenderer(sources: sources).renderHuman(diagnostic),
      """
      💥 Runtime: division by zero

      div.holo:1:17
         1 │ fn f() -> i64 { 1 / 0 }
           │                 ─────

      """)
  }

  func testFailureInUnknownFileKeepsItsLocationInTheMessage() {
    let sources = SourceManager()
    let (program, _) = divisionProgram(sources)
    let report = FailureReport(file: "other.holo", line: 2, column: 5, message: "boom")
    let diagnostic = report.diagnostic(sources: sources, program: program)
    XCTAssertNil(diagnostic.span)
    XCTAssertEqual(diagnostic.message, "boom (at other.holo:2:5)")
  }

  // MARK: Test results

  func testTestResultJSONKeyOrder() {
    let diagnostic = Diagnostic.runtimeFailure("assertion failed", at: nil)
    let failed = TestResult(
      name: "adds", file: "t.holo", line: 3, durationMs: 12, output: "hi\n",
      failure: .init(
        message: "assertion failed", file: "t.holo", line: 4, column: 12, diagnostic: diagnostic))
    XCTAssertEqual(
      failed.json.serialized,
      #"{"type":"test","name":"adds","file":"t.holo","line":3,"status":"failed","duration_ms":12,"#
        + #""output":"hi\n","failure":{"message":"assertion failed","file":"t.holo","line":4,"column":12},"cached":false}"#
    )
    let passed = TestResult(
      name: "ok", file: "t.holo", line: 8, durationMs: 1, output: "", failure: nil)
    XCTAssertEqual(
      passed.json.serialized,
      #"{"type":"test","name":"ok","file":"t.holo","line":8,"status":"passed","duration_ms":1,"output":"","failure":null,"cached":false}"#
    )
    XCTAssertEqual(
      TestResult.summaryJSON(passed: 2, failed: 1, cached: 1).serialized,
      #"{"type":"summary","passed":2,"failed":1,"cached":1}"#)
    XCTAssertEqual(TestResult.summaryLine(passed: 2, failed: 1), "2 passed, 1 failed\n")
  }

  // MARK: Processes

  func testSubprocessStatusesAndTimeout() throws {
    XCTAssertEqual(
      try Subprocess.run("/bin/sh", ["-c", "exit 3"], inheritInput: false, job: .background),
      .exited(3))
    XCTAssertEqual(
      try Subprocess.run(
        "/bin/sh", ["-c", "kill -SEGV $$"], inheritInput: false, job: .background),
      .signalled(SIGSEGV))
    let start = Date()
    XCTAssertEqual(
      try Subprocess.run(
        "/bin/sleep", ["5"], inheritInput: false, job: .background, timeout: 0.2),
      .timedOut)
    XCTAssertLessThan(Date().timeIntervalSince(start), 3)
  }

  func testSubprocessWritesStdoutAndStderrToOneFile() throws {
    let output = "\(scratch!)/out"
    let termination = try Subprocess.run(
      "/bin/sh", ["-c", "echo one; echo two >&2; echo three"], inheritInput: false,
      output: .file(output), job: .background)
    XCTAssertEqual(termination, .exited(0))
    XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "one\ntwo\nthree\n")
  }
}

private final class Results: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Result<String, any Error>] = []

  func append(_ result: Result<String, any Error>) { lock.withLock { results.append(result) } }
  var all: [Result<String, any Error>] { lock.withLock { results } }
}
