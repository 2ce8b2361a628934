import Foundation
import HoloDevABI
import XCTest

/// Builds the C runtime (runtime/src) with each C test program in runtime/tests and checks
/// what those programs print, write and exit with.
final class RuntimeTests: XCTestCase {
  func testRuntimeCompilesWithoutWarnings() throws {
    XCTAssertNil(CompiledRuntime.shared.failure)
    for compiler in ["cc", "clang"] where RuntimeTests.commandExists(compiler) {
      let output = FileManager.default.temporaryDirectory.appendingPathComponent(
        "holo-runtime-warnings-\(compiler)-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: output) }
      for source in RuntimeLayout.runtimeSources {
        let object = output.appendingPathComponent(source.lastPathComponent + ".o").path
        let result = try run(
          "/usr/bin/env",
          [compiler] + RuntimeLayout.runtimeFlags + ["-Werror", "-c", source.path, "-o", object])
        XCTAssertEqual(
          result.status, 0, "\(compiler) \(source.lastPathComponent): \(result.stderr)")
        XCTAssertEqual(result.stderr, "")
      }
    }
  }

  func testFloatFormattingTable() throws {
    let result = try run(try build("format_test"))
    XCTAssertEqual(result.stderr, "")
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(
      result.stdout,
      """
      3
      0.1
      -0
      1.5e-7
      NaN
      0.1
      -9223372036854775808
      0
      18446744073709551615
      truefalse

      """)
  }

  func testStringsBuilderAndNoLeaks() throws {
    let result = try run(try build("strings_test"))
    XCTAssertEqual(result.stderr, "")
    XCTAssertEqual(result.status, 0)
  }

  func testArraysCopyOnWriteAndNoLeaks() throws {
    let result = try run(try build("arrays_test"))
    XCTAssertEqual(result.stderr, "")
    XCTAssertEqual(result.status, 0)
  }

  func testArgsArePrintedAsAQuotedStringArray() throws {
    let result = try run(
      try build("arrays_test"), ["args", "two words", "", "tab\there", "\u{1B}"])
    XCTAssertEqual(result.stderr, "")
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(result.stdout, "[\"args\", \"two words\", \"\", \"tab\\there\", \"\\u{1B}\"]\n")
  }

  func testArrayFailureReports() throws {
    let program = try build("arrays_test")
    let failure = "arrays.holo:7:3: runtime failure: "
    let cases: [(mode: String, stdout: String, stderr: String)] = [
      ("repeat-negative", "", failure + "negative array length\n"),
      ("index", "", failure + "index out of bounds: the index is 5 but the length is 3\n"),
      ("pop-empty", "partial output", failure + "pop from an empty array\n"),
      (
        "insert-out-of-range", "",
        failure + "index out of bounds: the index is 4 but the length is 3\n"
      ),
      (
        "remove-out-of-range", "",
        failure + "index out of bounds: the index is 3 but the length is 3\n"
      ),
      ("invalid-utf8", "", failure + "invalid UTF-8\n"),
    ]
    for (mode, stdout, stderr) in cases {
      let result = try run(program, [mode])
      XCTAssertEqual(result.stdout, stdout, mode)
      XCTAssertEqual(result.stderr, stderr, mode)
      XCTAssertEqual(result.status, 101, mode)
    }
  }

  func testReadLine() throws {
    let program = try build("read_line_test")
    let cases: [(input: String, output: String)] = [
      ("a\nb\r\nc", "[a] false\n[b] false\n[c] false\n[] true\n[] true\n"),
      ("", "[] true\n[] true\n"),
      ("\n\r\n", "[] false\n[] false\n[] true\n[] true\n"),
      ("last\n", "[last] false\n[] true\n[] true\n"),
      // "\r" only counts as part of a "\r\n" terminator.
      ("x\r", "[x\r] false\n[] true\n[] true\n"),
      ("a\rb\n", "[a\rb] false\n[] true\n[] true\n"),
    ]
    for (input, output) in cases {
      let result = try run(program, stdin: .file(Data(input.utf8)))
      XCTAssertEqual(result.stdout, output, "input \(input.debugDescription)")
      XCTAssertEqual(result.status, 0)
      let piped = try run(program, stdin: .pipe(Data(input.utf8)))
      XCTAssertEqual(piped.stdout, output, "piped input \(input.debugDescription)")
    }
  }

  func testReadLineAcrossBufferBoundaries() throws {
    let program = try build("read_line_test")
    // The runtime reads 64 KiB at a time: put the "\r" of a "\r\n" last in the first read,
    // and follow with a line far longer than the buffer and no final terminator.
    let first = String(repeating: "x", count: 65_535)
    let long = String(repeating: "y", count: 300_000)
    let input = first + "\r\n" + long
    let expected = "[\(first)] false\n[\(long)] false\n[] true\n[] true\n"
    let fromFile = try run(program, stdin: .file(Data(input.utf8)))
    XCTAssertEqual(fromFile.stdout, expected)
    let fromPipe = try run(program, stdin: .pipe(Data(input.utf8)))
    XCTAssertEqual(fromPipe.stdout, expected)
  }

  func testOutputIsFlushedAtTheDocumentedPoints() throws {
    let result = try run(try build("interactive_test"))
    XCTAssertEqual(result.stderr, "")
    XCTAssertEqual(result.status, 0)
  }

  func testFailureReportOnStderr() throws {
    let program = try build("failure_test")
    let cases: [(mode: String, stdout: String, stderr: String)] = [
      ("message", "partial output", "src/main.holo:3:14: runtime failure: division by zero\n"),
      ("string", "partial output\n", "lib/util.holo:120:9: runtime failure: panic: two\nlines\n"),
      ("no-location", "", "<unknown>:0:0: runtime failure: out of memory\n"),
      ("c-output", "from C\n", "src/main.holo:3:14: runtime failure: assertion failed\n"),
      ("without-main", "partial output", "src/main.holo:3:14: runtime failure: division by zero\n"),
    ]
    for (mode, stdout, stderr) in cases {
      let result = try run(program, [mode])
      XCTAssertEqual(result.stdout, stdout, mode)
      XCTAssertEqual(result.stderr, stderr, mode)
      XCTAssertEqual(result.status, 101, mode)
    }
  }

  func testFailureReportFollowsFlushedOutput() throws {
    let result = try run(try build("failure_test"), ["message"], mergeStderr: true)
    XCTAssertEqual(
      result.stdout, "partial outputsrc/main.holo:3:14: runtime failure: division by zero\n")
  }

  func testFailureReportFile() throws {
    let program = try build("failure_test")
    let report = temporaryFile("report")
    let result = try run(
      program, ["string"], environment: [DevABI.Environment.failureReport: report.path])
    XCTAssertEqual(result.status, 101)
    XCTAssertEqual(result.stderr, "")
    XCTAssertEqual(result.stdout, "partial output\n")
    XCTAssertEqual(
      try String(contentsOf: report, encoding: .utf8), "lib/util.holo\n120\n9\npanic: two\nlines\n")

    // A report file that cannot be created falls back to stderr.
    let unwritable = try run(
      program, ["message"],
      environment: [DevABI.Environment.failureReport: "/nonexistent/holo/report"])
    XCTAssertEqual(unwritable.status, 101)
    XCTAssertEqual(unwritable.stderr, "src/main.holo:3:14: runtime failure: division by zero\n")
  }

  func testStackOverflowAndFaults() throws {
    let program = try build("crash_test")
    let cases: [(mode: String, stdout: String, stderr: String)] = [
      ("overflow", "recursing\n", "deep.holo:10:1: runtime failure: stack overflow\n"),
      ("segfault", "", "poke.holo:5:3: runtime failure: segmentation fault\n"),
      ("divide", "", "math.holo:7:2: runtime failure: floating point exception\n"),
      // The pc is in the C library, outside every registered function: the registered
      // function that called it is named.
      ("c-library", "", "extern.holo:2:1: runtime failure: segmentation fault\n"),
      // Recursion through runtime code: the innermost registered function on the stack.
      ("runtime-overflow", "", "template.holo:4:1: runtime failure: stack overflow\n"),
      ("unregistered", "recursing\n", "<unknown>:0:0: runtime failure: stack overflow\n"),
      // Found in a patch's function table, with its line base.
      ("patched", "recursing\n", "patch.holo:32:5: runtime failure: stack overflow\n"),
    ]
    for (mode, stdout, stderr) in cases {
      let result = try run(program, [mode])
      XCTAssertEqual(result.stdout, stdout, mode)
      XCTAssertEqual(result.stderr, stderr, mode)
      XCTAssertEqual(result.status, 101, mode)
    }

    let report = temporaryFile("overflow-report")
    let reported = try run(
      program, ["overflow"], environment: [DevABI.Environment.failureReport: report.path])
    XCTAssertEqual(reported.status, 101)
    XCTAssertEqual(reported.stderr, "")
    XCTAssertEqual(
      try String(contentsOf: report, encoding: .utf8), "deep.holo\n10\n1\nstack overflow\n")
  }

  func testTestDispatcher() throws {
    let program = try build("test_main_test")
    let list = try run(program, ["--list"])
    XCTAssertEqual(list.status, 0)
    XCTAssertEqual(
      list.stdout,
      "adds\tmath.holo\t3\t1\nfails\tmath.holo\t8\t1\noverflows\tdeep.holo\t2\t1\n"
        + "patched\tmath.holo\t20\t1\nexits\tmath.holo\t21\t1\naborts\tmath.holo\t22\t1\n"
        + "hangs\tmath.holo\t23\t1\n")

    let passing = try run(program, ["--run", "adds"])
    XCTAssertEqual(passing.status, 0)
    XCTAssertEqual(passing.stdout, "2 + 2 = 4\n")
    XCTAssertEqual(passing.stderr, "")

    let failing = try run(program, ["--run", "fails"])
    XCTAssertEqual(failing.status, 101)
    XCTAssertEqual(failing.stdout, "before the assert\n")
    XCTAssertEqual(failing.stderr, "math.holo:9:12: runtime failure: assertion failed\n")

    let overflowing = try run(program, ["--run", "overflows"])
    XCTAssertEqual(overflowing.status, 101)
    XCTAssertEqual(overflowing.stderr, "deep.holo:14:1: runtime failure: stack overflow\n")

    // A dev test is called through its slot: the version a patch put there runs.
    let patched = try run(program, ["--run", "patched"])
    XCTAssertEqual(patched.status, 0)
    XCTAssertEqual(patched.stdout, "current version\n")

    let unknown = try run(program, ["--run", "missing"])
    XCTAssertEqual(unknown.status, 64)
    XCTAssertEqual(unknown.stdout, "")
    XCTAssertTrue(unknown.stderr.contains("no test named `missing`"), unknown.stderr)

    for arguments in [[], ["--list", "extra"], ["--run"], ["--bogus"]] {
      let usage = try run(program, arguments)
      XCTAssertEqual(usage.status, 64, "\(arguments)")
      XCTAssertTrue(usage.stderr.contains("usage:"), usage.stderr)
    }
  }

  func testTestServerRunsEachRequestInAForkedChild() throws {
    let server = try TestServer(executable: try build("test_main_test"), files: temporaryFile)
    defer { server.stop() }

    let passing = try server.run("adds")
    XCTAssertEqual(passing.ending, "exit 0")
    XCTAssertEqual(passing.output, "2 + 2 = 4\n")
    XCTAssertNil(passing.report)

    let failing = try server.run("fails")
    XCTAssertEqual(failing.ending, "exit 101")
    XCTAssertEqual(failing.output, "before the assert\n")
    XCTAssertEqual(failing.report, "math.holo\n9\n12\nassertion failed\n")

    let overflowing = try server.run("overflows")
    XCTAssertEqual(overflowing.ending, "exit 101")
    XCTAssertEqual(overflowing.report, "deep.holo\n14\n1\nstack overflow\n")

    XCTAssertEqual(try server.run("patched").output, "current version\n")
    let exiting = try server.run("exits")
    XCTAssertEqual(exiting.ending, "exit 3")
    XCTAssertEqual(exiting.output, "exiting")
    XCTAssertEqual(try server.run("aborts").ending, "signal \(SIGABRT)")

    // A child is its own process group from the moment its pid is answered: killing the
    // group is how holoc ends a test past its time limit.
    let hanging = try server.start("hangs")
    XCTAssertEqual(getpgid(hanging), hanging)
    kill(-hanging, SIGKILL)
    XCTAssertEqual(try server.answer(), "signal \(SIGKILL)")

    XCTAssertEqual(
      try server.request(["run", "missing", "out", "report"]), "error no test named `missing`")
    for malformed in [["bogus"], ["run", "adds", "out"], ["run", "adds", "", "report"], [""]] {
      XCTAssertTrue(
        try server.request(malformed).hasPrefix("error malformed request"), "\(malformed)")
    }
    XCTAssertTrue(
      try server.request(["run", "adds", "/nonexistent/folder/out", "report"])
        .hasPrefix("error cannot create `/nonexistent/folder/out`"))
    XCTAssertTrue(
      try server.request([String(repeating: "x", count: 40_000)]).hasPrefix("error malformed"))
    // Still serving after crashes and bad requests; each test ran in a process of its own.
    let again = try server.run("adds")
    XCTAssertEqual(again.ending, "exit 0")
    XCTAssertNotEqual(again.processID, passing.processID)

    // The end of its input ends the server; only the server ran its atexit handler.
    XCTAssertEqual(try server.finish(), 0)
    XCTAssertEqual(server.errors, "server atexit\n")
  }

  func testExitAndClock() throws {
    let program = try build("exit_test")
    let cases: [(mode: String, stdout: String, status: Int32)] = [
      ("exit", "bye", 3),
      ("return", "done", 0),
      ("c-exit", "via C", 7),
      ("clock", "clock ok", 0),
    ]
    for (mode, stdout, status) in cases {
      let result = try run(program, [mode])
      XCTAssertEqual(result.stdout, stdout, mode)
      XCTAssertEqual(result.stderr, "", mode)
      XCTAssertEqual(result.status, status, mode)
    }
  }

  // MARK: - Building and running the C programs

  private var temporaryFiles: [URL] = []

  override func tearDown() {
    for file in temporaryFiles {
      try? FileManager.default.removeItem(at: file)
    }
    temporaryFiles = []
    super.tearDown()
  }

  private func temporaryFile(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-runtime-\(name)-\(UUID().uuidString)")
    temporaryFiles.append(url)
    return url
  }

  /// Links runtime/tests/NAME.c with the compiled runtime; returns the executable's path.
  private func build(_ name: String) throws -> String {
    let runtime = CompiledRuntime.shared
    if let failure = runtime.failure {
      throw RuntimeTestError.compilation(failure)
    }
    let executable = temporaryFile(name).path
    let source = RuntimeLayout.testsDirectory.appendingPathComponent(name + ".c").path
    let result = try run(
      "/usr/bin/env",
      ["cc"] + RuntimeLayout.runtimeFlags + ["-Werror", source] + runtime.objects + [
        "-o", executable, "-lm",
      ])
    if result.status != 0 {
      throw RuntimeTestError.compilation(result.stderr)
    }
    return executable
  }

  enum StandardInput {
    case none
    /// Standard input redirected from a file holding the data.
    case file(Data)
    /// Standard input a pipe the data is written into.
    case pipe(Data)
  }

  struct ProgramResult {
    var stdout: String
    var stderr: String
    var status: Int32
  }

  /// Runs a program with output captured in files (so no pipe can fill up and block it)
  /// and a time limit.
  private func run(
    _ executable: String, _ arguments: [String] = [], stdin: StandardInput = .none,
    environment: [String: String] = [:], mergeStderr: Bool = false
  ) throws -> ProgramResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var processEnvironment = ProcessInfo.processInfo.environment
    processEnvironment[DevABI.Environment.failureReport] = nil
    processEnvironment.merge(environment) { _, new in new }
    process.environment = processEnvironment

    let stdoutFile = temporaryFile("stdout")
    let stderrFile = temporaryFile("stderr")
    try Data().write(to: stdoutFile)
    try Data().write(to: stderrFile)
    let stdoutHandle = try FileHandle(forWritingTo: stdoutFile)
    let stderrHandle = try FileHandle(forWritingTo: stderrFile)
    defer {
      try? stdoutHandle.close()
      try? stderrHandle.close()
    }
    process.standardOutput = stdoutHandle
    process.standardError = mergeStderr ? stdoutHandle : stderrHandle

    var pipedInput: (pipe: Pipe, data: Data)?
    switch stdin {
    case .none:
      process.standardInput = FileHandle.nullDevice
    case .file(let data):
      let inputFile = temporaryFile("stdin")
      try data.write(to: inputFile)
      process.standardInput = try FileHandle(forReadingFrom: inputFile)
    case .pipe(let data):
      let pipe = Pipe()
      process.standardInput = pipe
      pipedInput = (pipe, data)
    }

    try process.run()
    if let (pipe, data) = pipedInput {
      try pipe.fileHandleForWriting.write(contentsOf: data)
      try pipe.fileHandleForWriting.close()
    }
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning && Date() < deadline {
      usleep(10_000)
    }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      XCTFail("\(executable) \(arguments) timed out")
    }
    process.waitUntilExit()
    return ProgramResult(
      stdout: String(decoding: try Data(contentsOf: stdoutFile), as: UTF8.self),
      stderr: String(decoding: try Data(contentsOf: stderrFile), as: UTF8.self),
      status: process.terminationStatus)
  }

  private static func commandExists(_ name: String) -> Bool {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    return path.split(separator: ":").contains {
      FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
    }
  }
}

enum RuntimeTestError: Error {
  case compilation(String)
  case server(String)
}

/// A test executable started with `--serve`, driven through its request and answer pipes
/// (docs/PATCHING.md, "The test process").
private final class TestServer {
  struct Result {
    var processID: Int32
    var ending: String
    var output: String
    /// The failure report file's text, nil when none was written.
    var report: String?
  }

  private let process = Process()
  private let requests = Pipe()
  private let answers = Pipe()
  private let errorFile: URL
  private let files: (String) -> URL
  private var buffered: [UInt8] = []

  init(executable: String, files: @escaping (String) -> URL) throws {
    self.files = files
    errorFile = files("server-stderr")
    try Data().write(to: errorFile)
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["--serve"]
    var environment = ProcessInfo.processInfo.environment
    environment[DevABI.Environment.failureReport] = nil
    process.environment = environment
    process.standardInput = requests
    process.standardOutput = answers
    process.standardError = try FileHandle(forWritingTo: errorFile)
    try process.run()
  }

  /// Sends one request line; returns the answer line.
  func request(_ fields: [String]) throws -> String {
    try requests.fileHandleForWriting.write(
      contentsOf: Data((fields.joined(separator: "\t") + "\n").utf8))
    return try answer()
  }

  /// Asks for `name` to run; returns its child's process id (the ending is yet to come).
  func start(_ name: String, output: URL? = nil, report: URL? = nil) throws -> Int32 {
    let started = try request([
      "run", name, (output ?? files("out")).path, (report ?? files("report")).path,
    ])
    guard started.hasPrefix("pid "), let processID = Int32(started.dropFirst(4)) else {
      throw RuntimeTestError.server("expected a pid, got \(started.debugDescription)")
    }
    return processID
  }

  func run(_ name: String) throws -> Result {
    let output = files("out-\(name)")
    let report = files("report-\(name)")
    let processID = try start(name, output: output, report: report)
    return Result(
      processID: processID, ending: try answer(),
      output: (try? String(contentsOf: output, encoding: .utf8)) ?? "",
      report: try? String(contentsOf: report, encoding: .utf8))
  }

  /// The next answer line, waiting at most 10 s for it.
  func answer() throws -> String {
    let deadline = Date(timeIntervalSinceNow: 10)
    let fd = answers.fileHandleForReading.fileDescriptor
    while !buffered.contains(UInt8(ascii: "\n")) {
      var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
      guard poll(&entry, 1, remaining) > 0 else { throw RuntimeTestError.server("no answer") }
      var chunk = [UInt8](repeating: 0, count: 4096)
      let count = read(fd, &chunk, chunk.count)
      guard count > 0 else { throw RuntimeTestError.server("the server closed its answers") }
      buffered += chunk[0..<count]
    }
    let newline = buffered.firstIndex(of: UInt8(ascii: "\n"))!
    defer { buffered.removeFirst(newline + 1) }
    return String(decoding: buffered[..<newline], as: UTF8.self)
  }

  /// Closes the server's input and waits for it to end; returns its exit status.
  func finish() throws -> Int32 {
    try requests.fileHandleForWriting.close()
    process.waitUntilExit()
    return process.terminationStatus
  }

  var errors: String {
    String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
  }

  func stop() {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
  }
}

/// Where the runtime's sources and tests are, found from this file's path.
enum RuntimeLayout {
  static let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let runtimeDirectory = repositoryRoot.appendingPathComponent("runtime")
  static let testsDirectory = runtimeDirectory.appendingPathComponent("tests")
  /// The flags the driver compiles the runtime with.
  static let runtimeFlags = [
    "-std=c11", "-Wall", "-Wextra", "-O2", "-fPIC",
    "-I", runtimeDirectory.appendingPathComponent("include").path,
  ]

  static var runtimeSources: [URL] {
    let sources = runtimeDirectory.appendingPathComponent("src")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: sources.path)) ?? []
    return names.filter { $0.hasSuffix(".c") }.sorted().map { sources.appendingPathComponent($0) }
  }
}

/// The runtime compiled once per test process into object files in a temporary directory.
struct CompiledRuntime: Sendable {
  let objects: [String]
  let failure: String?

  static let shared = CompiledRuntime()

  private init() {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-runtime-objects-\(UUID().uuidString)")
    var objects: [String] = []
    var failure: String?
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      for source in RuntimeLayout.runtimeSources {
        let object = directory.appendingPathComponent(source.lastPathComponent + ".o").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc"] + RuntimeLayout.runtimeFlags + ["-c", source.path, "-o", object]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
          failure = "cannot compile \(source.lastPathComponent)"
        }
        objects.append(object)
      }
    } catch {
      failure = "cannot compile the runtime: \(error)"
    }
    self.objects = objects
    self.failure = objects.isEmpty ? "no runtime sources found" : failure
  }
}
