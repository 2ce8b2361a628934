import Foundation
import HoloCache
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

// The conformance suite: every `Conformance/*.md` fixture (format: docs/CONFORMANCE.md) is
// parsed, each case is written to a fresh folder and checked against the `holoc` executable
// built next to this test bundle.

// MARK: - Fixture model

/// One source file of a case, its path relative to the case's folder.
struct FixtureFile: Equatable, Sendable {
  var path: String
  var text: String
}

/// Substrings that must, and must not, appear in some output.
struct TextExpectation: Equatable, Sendable {
  var contains: [String] = []
  var lacks: [String] = []

  /// One sentence per unmet expectation.
  func problems(in text: String) -> [String] {
    contains.filter { !Self.occurs($0, in: text) }.map { "missing: \($0)" }
      + lacks.filter { Self.occurs($0, in: text) }.map { "present but must not be: \($0)" }
  }

  /// Whether `needle` occurs in `text`, a number at either edge of `needle` matching only a
  /// whole number: `main.holo:1:1` is not found in `main.holo:1:19`, nor `1 passed` in
  /// `11 passed`.
  static func occurs(_ needle: String, in text: String) -> Bool {
    func isDigit(_ character: Character?) -> Bool {
      character.map { ("0"..."9").contains($0) } ?? false
    }
    let checkStart = isDigit(needle.first)
    let checkEnd = isDigit(needle.last)
    var searchStart = text.startIndex
    while let range = text.range(of: needle, range: searchStart..<text.endIndex) {
      let before =
        range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : nil
      let after = range.upperBound < text.endIndex ? text[range.upperBound] : nil
      if !(checkStart && isDigit(before)) && !(checkEnd && isDigit(after)) { return true }
      searchStart = text.index(after: range.lowerBound)
    }
    return false
  }
}

enum ConformanceExpectation: Equatable, Sendable {
  /// `holoc run` (dev and release) exits with `status`; stdout equals `stdout` unless nil.
  case runs(status: Int32, stdout: String?)
  /// `holoc check` exits 1 with the headline `⚒️ PHASE[` on stderr.
  case failsToCompile(phase: String, stderr: TextExpectation)
  /// `holoc run` (dev and release) exits 101 with the headline `💥 Runtime: ` on stderr.
  case failsAtRuntime(stderr: TextExpectation)
  /// `holoc test` on the case's folder; `status` nil means any exit status.
  case tests(stdout: TextExpectation, status: Int32?)
}

struct ConformanceCase: Equatable, Sendable {
  var name: String
  /// The fixture's file name, e.g. `arithmetic.md`.
  var fixture: String
  /// The line of the case's `## Case:` heading.
  var line: Int
  /// `main.holo` first, then the extra files in fixture order.
  var files: [FixtureFile]
  var stdin: String?
  var expectation: ConformanceExpectation

  var location: String { "\(fixture):\(line)" }
}

struct FixtureFormatError: Error, Equatable, CustomStringConvertible {
  var fixture: String
  var line: Int
  var message: String

  var description: String { "\(fixture):\(line): \(message)" }
}

// MARK: - Fixture parser

/// Reads the fixture markdown format line by line. Collects every format error rather than
/// stopping at the first, so one test run shows them all.
enum ConformanceFixtureParser {
  static func parse(_ text: String, fixture: String) -> (
    cases: [ConformanceCase], errors: [FixtureFormatError]
  ) {
    var reader = Reader(fixture: fixture, lines: splitLines(text))
    reader.run()
    return (reader.cases, reader.errors)
  }

  private static func splitLines(_ text: String) -> [String] {
    var lines = text.components(separatedBy: "\n").map { line in
      line.hasSuffix("\r") ? String(line.dropLast()) : line
    }
    if lines.last == "" { lines.removeLast() }
    return lines
  }

  private struct Block {
    var info: String
    var lines: [String]
    var line: Int
  }

  private enum Section {
    case runs(status: Int32)
    case failsToCompile(phase: String)
    case failsAtRuntime
    case tests
  }

  private struct PendingCase {
    var name: String
    var line: Int
    var main: String?
    var extraFiles: [FixtureFile] = []
    var stdin: String?
    var section: Section?
    var expectationBlock: Block?
  }

  private struct Reader {
    let fixture: String
    let lines: [String]
    var index = 0
    var cases: [ConformanceCase] = []
    var errors: [FixtureFormatError] = []
    var pending: PendingCase?
    var sawCase = false

    init(fixture: String, lines: [String]) {
      self.fixture = fixture
      self.lines = lines
    }

    mutating func run() {
      while index < lines.count {
        let line = lines[index]
        let lineNumber = index + 1
        index += 1
        if let (fence, info) = openingFence(line) {
          if let block = readBlock(fence: fence, info: info, line: lineNumber) {
            handle(block)
          }
        } else if let (level, title) = heading(line) {
          handleHeading(level: level, title: title, line: lineNumber)
        }
        // Anything else is prose, free for comments on the cases.
      }
      finishCase()
    }

    private mutating func fail(_ line: Int, _ message: String) {
      errors.append(FixtureFormatError(fixture: fixture, line: line, message: message))
    }

    /// A fence is three or more backticks at the start of a line, then an info string.
    private func openingFence(_ line: String) -> (Int, String)? {
      let fence = line.prefix { $0 == "`" }.count
      guard fence >= 3 else { return nil }
      let info = line.dropFirst(fence).trimmingCharacters(in: .whitespaces)
      guard !info.contains("`") else { return nil }
      return (fence, info)
    }

    private mutating func readBlock(fence: Int, info: String, line: Int) -> Block? {
      var content: [String] = []
      while index < lines.count {
        let candidate = lines[index].trimmingCharacters(in: .whitespaces)
        index += 1
        if candidate.count >= fence, candidate.allSatisfy({ $0 == "`" }) {
          return Block(info: info, lines: content, line: line)
        }
        content.append(lines[index - 1])
      }
      fail(line, "code block is never closed")
      return nil
    }

    private func heading(_ line: String) -> (Int, String)? {
      let level = line.prefix { $0 == "#" }.count
      guard (1...6).contains(level), line.dropFirst(level).first == " " else { return nil }
      return (level, line.dropFirst(level + 1).trimmingCharacters(in: .whitespaces))
    }

    private mutating func handleHeading(level: Int, title: String, line: Int) {
      switch level {
      case 1:
        if sawCase { fail(line, "the `#` title belongs before the first case") }
      case 2:
        guard title.hasPrefix("Case:") else {
          fail(line, "unknown section `## \(title)`; expected `## Case: NAME`")
          return
        }
        finishCase()
        sawCase = true
        let name = title.dropFirst("Case:".count).trimmingCharacters(in: .whitespaces)
        if name.isEmpty { fail(line, "a case needs a name: `## Case: NAME`") }
        pending = PendingCase(name: name, line: line)
      case 3:
        guard pending != nil else {
          fail(line, "`### \(title)` outside a case")
          return
        }
        guard pending?.section == nil else {
          fail(line, "a case has one expectation; `### \(title)` is a second one")
          return
        }
        guard let section = section(title) else {
          fail(
            line,
            "unknown section `### \(title)`; expected Succeeds, Exits N, Fails parsing, "
              + "Fails typecheck, Fails import, Fails runtime or Tests")
          return
        }
        pending?.section = section
      default:
        fail(line, "unknown section `\(String(repeating: "#", count: level)) \(title)`")
      }
    }

    private func section(_ title: String) -> Section? {
      switch title {
      case "Succeeds": return .runs(status: 0)
      case "Fails parsing": return .failsToCompile(phase: "Parsing")
      case "Fails typecheck": return .failsToCompile(phase: "Typecheck")
      case "Fails import": return .failsToCompile(phase: "Import")
      case "Fails runtime": return .failsAtRuntime
      case "Tests": return .tests
      default:
        let words = title.split(separator: " ")
        if words.count == 2, words[0] == "Exits", let status = Int32(words[1]),
          (0...255).contains(status)
        {
          return .runs(status: status)
        }
        return nil
      }
    }

    private mutating func handle(_ block: Block) {
      guard pending != nil else {
        fail(block.line, "code block outside a case")
        return
      }
      if pending?.section != nil {
        guard block.info.isEmpty else {
          fail(block.line, "after the expectation heading only a plain ``` block may follow")
          return
        }
        guard pending?.expectationBlock == nil else {
          fail(block.line, "the expectation takes one block; this is a second one")
          return
        }
        pending?.expectationBlock = block
        return
      }
      let words = block.info.split(separator: " ").map(String.init)
      switch words.first {
      case "holo" where words.count == 1:
        guard pending?.main == nil else {
          fail(block.line, "main.holo is already given; extra files are ```holo file=PATH")
          return
        }
        pending?.main = block.lines.map { $0 + "\n" }.joined()
      case "holo" where words.count == 2 && words[1].hasPrefix("file="):
        addExtraFile(path: String(words[1].dropFirst("file=".count)), block: block)
      case "stdin":
        addStdin(flags: words.dropFirst(), block: block)
      case nil:
        fail(block.line, "plain ``` block before the expectation heading")
      default:
        fail(block.line, "unknown block `\(block.info)`; expected holo, holo file=PATH or stdin")
      }
    }

    private mutating func addExtraFile(path: String, block: Block) {
      let components = path.split(separator: "/", omittingEmptySubsequences: false)
      guard !path.hasPrefix("/"),
        !components.contains(where: { $0.isEmpty || $0 == ".." || $0 == "." })
      else {
        fail(block.line, "file=\(path) must be a plain relative path")
        return
      }
      guard path != "main.holo", !(pending?.extraFiles.contains { $0.path == path } ?? false) else {
        fail(block.line, "file \(path) is given twice")
        return
      }
      pending?.extraFiles.append(
        FixtureFile(path: path, text: block.lines.map { $0 + "\n" }.joined()))
    }

    private mutating func addStdin(flags: ArraySlice<String>, block: Block) {
      guard pending?.stdin == nil else {
        fail(block.line, "stdin is already given")
        return
      }
      let unknown = flags.filter { $0 != "noeol" && $0 != "crlf" }
      guard unknown.isEmpty else {
        fail(
          block.line, "unknown stdin flag(s) \(unknown.joined(separator: " ")); known: noeol crlf")
        return
      }
      let terminator = flags.contains("crlf") ? "\r\n" : "\n"
      var text = block.lines.joined(separator: terminator)
      if !block.lines.isEmpty, !flags.contains("noeol") { text += terminator }
      pending?.stdin = text
    }

    private mutating func finishCase() {
      guard let pending else { return }
      self.pending = nil
      guard let main = pending.main else {
        fail(pending.line, "case `\(pending.name)` has no ```holo block")
        return
      }
      guard let section = pending.section else {
        fail(pending.line, "case `\(pending.name)` has no expectation (`### Succeeds`, ...)")
        return
      }
      let block = pending.expectationBlock
      let lines = block?.lines ?? []
      let expectation: ConformanceExpectation
      switch section {
      case .runs(let status):
        expectation = .runs(
          status: status, stdout: block.map { _ in lines.map { $0 + "\n" }.joined() })
      case .failsToCompile(let phase):
        expectation = .failsToCompile(phase: phase, stderr: textExpectation(lines))
      case .failsAtRuntime:
        expectation = .failsAtRuntime(stderr: textExpectation(lines))
      case .tests:
        var status: Int32?
        var outputLines: [String] = []
        for (offset, line) in lines.enumerated() {
          guard line.hasPrefix("exit:") else {
            outputLines.append(line)
            continue
          }
          let lineNumber = (block?.line ?? 0) + 1 + offset
          if status != nil { fail(lineNumber, "`exit:` is given twice") }
          status = Int32(line.dropFirst("exit:".count).trimmingCharacters(in: .whitespaces))
          if status == nil { fail(lineNumber, "`exit:` needs a number") }
        }
        expectation = .tests(stdout: textExpectation(outputLines), status: status)
      }
      cases.append(
        ConformanceCase(
          name: pending.name, fixture: fixture, line: pending.line,
          files: [FixtureFile(path: "main.holo", text: main)] + pending.extraFiles,
          stdin: pending.stdin, expectation: expectation))
    }

    /// Each non-blank line must appear; a line `not: TEXT` says TEXT must not.
    private func textExpectation(_ lines: [String]) -> TextExpectation {
      var expectation = TextExpectation()
      for line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        if line.hasPrefix("not: ") {
          expectation.lacks.append(String(line.dropFirst("not: ".count)))
        } else {
          expectation.contains.append(line)
        }
      }
      return expectation
    }
  }
}

// MARK: - Running a child process

struct CommandResult {
  /// The exit status, or nil when a signal ended the process.
  var status: Int32?
  var signal: Int32?
  var timedOut: Bool
  var stdout: String
  var stderr: String

  var statusDescription: String {
    if timedOut { return "timed out" }
    if let status { return "exit status \(status)" }
    return "killed by signal \(signal ?? 0)"
  }
}

/// Runs a command in its own process group, so a timeout also ends whatever it started
/// (holoc runs the compiled program as a child). Output goes to files in `outputFolder`,
/// which cannot fill up and block the child the way an unread pipe can.
enum ChildProcess {
  struct SpawnError: Error, CustomStringConvertible {
    var description: String
  }

  static func run(
    _ executable: String, _ arguments: [String], in directory: URL, stdinPath: String,
    outputFolder: URL, environment: [String: String], timeout: TimeInterval
  ) throws -> CommandResult {
    let stdoutPath = outputFolder.appendingPathComponent("stdout").path
    let stderrPath = outputFolder.appendingPathComponent("stderr").path
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)

    // Swift's Glibc module does not expose posix_spawn_file_actions_addchdir_np, so a shell
    // changes into the case's folder and then becomes the command.
    let shell = ["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", directory.path]
    let argv = (shell + [executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, shell[0], &actions, &attributes, argv, envp)
    guard spawned == 0 else {
      throw SpawnError(
        description: "cannot start \(executable): \(String(cString: strerror(spawned)))")
    }

    var rawStatus: Int32 = 0
    var timedOut = false
    let deadline = Date().addingTimeInterval(timeout)
    while waitpid(pid, &rawStatus, WNOHANG) == 0 {
      if Date() > deadline {
        kill(-pid, SIGKILL)
        waitpid(pid, &rawStatus, 0)
        timedOut = true
        break
      }
      usleep(2_000)
    }
    let signal = rawStatus & 0x7f
    let read = { (path: String) in
      String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return CommandResult(
      status: signal == 0 ? (rawStatus >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
      timedOut: timedOut, stdout: read(stdoutPath), stderr: read(stderrPath))
  }
}

// MARK: - Checking cases against holoc

/// One `holoc` invocation for one case, and the judgement of its result.
struct ConformanceRun: Sendable {
  var testCase: ConformanceCase
  var arguments: [String]

  static let timeout: TimeInterval = 30

  /// Succeeding and runtime-failing programs run in both build modes, and as an optimised
  /// dev build, whose calls through slots are guarded direct calls.
  static func runs(of testCase: ConformanceCase) -> [ConformanceRun] {
    switch testCase.expectation {
    case .runs, .failsAtRuntime:
      let modes = [
        ["run", "main.holo"], ["run", "--release", "main.holo"], ["run", "-O2", "main.holo"],
      ]
      return modes.map {
        ConformanceRun(testCase: testCase, arguments: $0)
      }
    case .failsToCompile:
      return [ConformanceRun(testCase: testCase, arguments: ["check", "main.holo"])]
    case .tests:
      return [ConformanceRun(testCase: testCase, arguments: ["test", "."])]
    }
  }

  /// Runs the case in a fresh folder; nil when it passes, else a report of what differed.
  func failure(holoc: URL) -> String? {
    let fileManager = FileManager.default
    let root = fileManager.temporaryDirectory.appendingPathComponent(
      "holo-conformance-\(UUID().uuidString)")
    defer { try? fileManager.removeItem(at: root) }
    let folder = root.appendingPathComponent("case")
    let command = "holoc \(arguments.joined(separator: " "))"
    do {
      for file in testCase.files {
        let url = folder.appendingPathComponent(file.path)
        try fileManager.createDirectory(
          at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(file.text.utf8).write(to: url)
      }
      var stdinPath = "/dev/null"
      if let stdin = testCase.stdin {
        stdinPath = root.appendingPathComponent("stdin").path
        try Data(stdin.utf8).write(to: URL(fileURLWithPath: stdinPath))
      }
      var environment = ProcessInfo.processInfo.environment
      environment["NO_COLOR"] = "1"
      // Each case starts with an empty build cache: no test result comes from another case.
      environment[BuildCache.directoryEnvironmentVariable] =
        root.appendingPathComponent("cache").path
      let result = try ChildProcess.run(
        holoc.path, arguments, in: folder, stdinPath: stdinPath, outputFolder: root,
        environment: environment, timeout: Self.timeout)
      let problems = judge(result)
      guard !problems.isEmpty else { return nil }
      return report(command: command, problems: problems, result: result)
    } catch {
      return "\(testCase.location): case \"\(testCase.name)\": `\(command)`: \(error)"
    }
  }

  private func judge(_ result: CommandResult) -> [String] {
    var problems: [String] = []
    func expectStatus(_ status: Int32) {
      if result.timedOut || result.status != status {
        problems.append("expected exit status \(status), got \(result.statusDescription)")
      }
    }
    switch testCase.expectation {
    case .runs(let status, let stdout):
      expectStatus(status)
      if let stdout, stdout != result.stdout {
        problems.append("stdout differs\n--- expected stdout ---\n\(stdout)--- end ---")
      }
    case .failsToCompile(let phase, let stderr):
      expectStatus(1)
      problems += TextExpectation(contains: ["⚒️ \(phase)["]).problems(in: result.stderr)
      problems += stderr.problems(in: result.stderr)
    case .failsAtRuntime(let stderr):
      expectStatus(101)
      problems += TextExpectation(contains: ["💥 Runtime: "]).problems(in: result.stderr)
      problems += stderr.problems(in: result.stderr)
    case .tests(let stdout, let status):
      if let status {
        expectStatus(status)
      } else if result.timedOut {
        problems.append("timed out")
      }
      problems += stdout.problems(in: result.stdout).map { "stdout \($0)" }
    }
    return problems
  }

  private func report(command: String, problems: [String], result: CommandResult) -> String {
    """
    \(testCase.location): case "\(testCase.name)": `\(command)` (\(result.statusDescription))
    \(problems.joined(separator: "\n"))
    --- actual stdout ---
    \(result.stdout)--- actual stderr ---
    \(result.stderr)--- end ---
    """
  }
}

/// Collects results from worker threads.
private final class Collector<Element>: @unchecked Sendable {
  private let lock = NSLock()
  private var elements: [Element] = []

  func append(_ element: Element) {
    lock.lock()
    elements.append(element)
    lock.unlock()
  }

  var all: [Element] {
    lock.lock()
    defer { lock.unlock() }
    return elements
  }
}

/// Hands out job indices to worker threads.
private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0

  func next() -> Int {
    lock.lock()
    defer { lock.unlock() }
    value += 1
    return value - 1
  }
}

final class ConformanceTests: XCTestCase {
  static let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Conformance")

  /// Every fixture file parsed; format errors and duplicate case names become failures.
  static func loadFixtures() -> (cases: [ConformanceCase], errors: [String]) {
    let files =
      ((try? FileManager.default.contentsOfDirectory(atPath: fixturesFolder.path)) ?? [])
      .filter { $0.hasSuffix(".md") }.sorted()
    var cases: [ConformanceCase] = []
    var errors: [String] = []
    for file in files {
      let url = fixturesFolder.appendingPathComponent(file)
      guard let text = try? String(contentsOf: url, encoding: .utf8) else {
        errors.append("\(file): cannot be read as UTF-8")
        continue
      }
      let parsed = ConformanceFixtureParser.parse(text, fixture: file)
      cases += parsed.cases
      errors += parsed.errors.map(\.description)
    }
    var seen: [String: String] = [:]
    for testCase in cases {
      if let first = seen[testCase.name] {
        errors.append(
          "\(testCase.location): case name \"\(testCase.name)\" is also used at \(first)")
      }
      seen[testCase.name] = seen[testCase.name] ?? testCase.location
    }
    if files.isEmpty { errors.append("no fixtures found in \(fixturesFolder.path)") }
    return (cases, errors)
  }

  /// The `holoc` product built alongside this test bundle: on Linux the bundle URL is the
  /// products folder itself, on macOS the `.xctest` bundle inside it.
  static func holocExecutable() -> URL? {
    let bundle = Bundle(for: ConformanceTests.self).bundleURL
    return [bundle, bundle.deletingLastPathComponent()]
      .map { $0.appendingPathComponent("holoc") }
      .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }

  func testFixturesAreWellFormed() {
    let (cases, errors) = Self.loadFixtures()
    errors.forEach { XCTFail($0) }
    XCTAssertFalse(cases.isEmpty)
  }

  func testConformance() {
    let (allCases, errors) = Self.loadFixtures()
    errors.forEach { XCTFail("fixture format: \($0)") }
    guard let holoc = Self.holocExecutable() else {
      XCTFail("holoc executable not found next to the test bundle; run `swift build` first")
      return
    }
    let filter = ProcessInfo.processInfo.environment["HOLO_CONFORMANCE_FILTER"] ?? ""
    let cases = allCases.filter {
      filter.isEmpty || $0.name.contains(filter) || $0.fixture.contains(filter)
    }
    let runs = cases.flatMap(ConformanceRun.runs(of:))
    let failures = Collector<(index: Int, report: String)>()
    let counter = Counter()
    let workers = max(2, min(4, ProcessInfo.processInfo.activeProcessorCount))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while case let index = counter.next(), index < runs.count {
        if let report = runs[index].failure(holoc: holoc) {
          failures.append((index, report))
        }
      }
    }
    let sorted = failures.all.sorted { $0.index < $1.index }
    sorted.forEach { XCTFail($0.report) }
    print(
      "conformance: \(cases.count) cases, \(runs.count) runs, \(sorted.count) failed"
        + (filter.isEmpty ? "" : " (filter \"\(filter)\")"))
  }

  // MARK: The fixture parser itself

  func testParsesEveryBlockKindAndExpectation() {
    let sample = """
      # Sample

      Prose between cases is ignored.

      ## Case: with files and stdin
      ```holo
      import lib.util;
      fn main() { println(read_line()); }
      ```
      ```holo file=lib/util.holo
      fn helper() {}
      ```
      ```stdin
      first
      second
      ```
      ### Succeeds
      ```
      first

      ```

      ## Case: no output check
      ```holo
      fn main() {}
      ```
      ### Succeeds

      ## Case: prints nothing
      ```holo
      fn main() {}
      ```
      ### Exits 3
      ```
      ```

      ## Case: bad types
      ```holo
      fn main() { 1 + true; }
      ```
      ### Fails typecheck
      ```
      arithmetic operands must have the same type

      main.holo:1:13
      not: Parsing
      ```

      ## Case: suite
      ```holo
      #[test] fn t() {}
      ```
      ### Tests
      ```
      test t ... ok
      exit: 0
      ```
      """
    let (cases, errors) = ConformanceFixtureParser.parse(sample, fixture: "sample.md")
    XCTAssertEqual(errors, [])
    XCTAssertEqual(
      cases.map(\.name),
      ["with files and stdin", "no output check", "prints nothing", "bad types", "suite"])
    XCTAssertEqual(cases.map(\.line), [5, 23, 29, 37, 49])
    XCTAssertEqual(
      cases[0].files,
      [
        FixtureFile(
          path: "main.holo", text: "import lib.util;\nfn main() { println(read_line()); }\n"),
        FixtureFile(path: "lib/util.holo", text: "fn helper() {}\n"),
      ])
    XCTAssertEqual(cases[0].stdin, "first\nsecond\n")
    XCTAssertEqual(cases[0].expectation, .runs(status: 0, stdout: "first\n\n"))
    XCTAssertEqual(cases[1].expectation, .runs(status: 0, stdout: nil))
    XCTAssertEqual(cases[1].stdin, nil)
    XCTAssertEqual(cases[2].expectation, .runs(status: 3, stdout: ""))
    XCTAssertEqual(
      cases[3].expectation,
      .failsToCompile(
        phase: "Typecheck",
        stderr: TextExpectation(
          contains: ["arithmetic operands must have the same type", "main.holo:1:13"],
          lacks: ["Parsing"])))
    XCTAssertEqual(
      cases[4].expectation, .tests(stdout: TextExpectation(contains: ["test t ... ok"]), status: 0))
  }

  func testStdinFlags() {
    let sample = """
      ## Case: a
      ```holo
      fn main() {}
      ```
      ```stdin noeol
      x
      y
      ```
      ### Succeeds

      ## Case: b
      ```holo
      fn main() {}
      ```
      ```stdin crlf
      x
      y
      ```
      ### Succeeds
      """
    let (cases, errors) = ConformanceFixtureParser.parse(sample, fixture: "s.md")
    XCTAssertEqual(errors, [])
    XCTAssertEqual(cases.map(\.stdin), ["x\ny", "x\r\ny\r\n"])
  }

  func testFormatErrorsNameTheLine() {
    let sample = """
      ## Case: a
      ```holo
      fn main() {}
      ```
      ### Succeed
      ```
      ```

      ## Case: b
      ```rust
      fn main() {}
      ```

      ## Something else
      ```holo
      """
    let (cases, errors) = ConformanceFixtureParser.parse(sample, fixture: "bad.md")
    XCTAssertEqual(cases, [])
    XCTAssertEqual(
      errors.map(\.description),
      [
        "bad.md:5: unknown section `### Succeed`; expected Succeeds, Exits N, Fails parsing, "
          + "Fails typecheck, Fails import, Fails runtime or Tests",
        "bad.md:6: plain ``` block before the expectation heading",
        "bad.md:1: case `a` has no expectation (`### Succeeds`, ...)",
        "bad.md:10: unknown block `rust`; expected holo, holo file=PATH or stdin",
        "bad.md:14: unknown section `## Something else`; expected `## Case: NAME`",
        "bad.md:15: code block is never closed",
        "bad.md:9: case `b` has no ```holo block",
      ])
  }

  func testRejectsUnsafeExtraFilePaths() {
    let sample = """
      ## Case: a
      ```holo
      fn main() {}
      ```
      ```holo file=../escape.holo
      ```
      ```holo file=/abs.holo
      ```
      ### Succeeds
      """
    let (_, errors) = ConformanceFixtureParser.parse(sample, fixture: "p.md")
    XCTAssertEqual(errors.map(\.line), [5, 7])
  }

  func testTextExpectationReportsMissingAndForbidden() {
    let expectation = TextExpectation(contains: ["a", "zz"], lacks: ["b"])
    XCTAssertEqual(expectation.problems(in: "a b"), ["missing: zz", "present but must not be: b"])
    XCTAssertEqual(expectation.problems(in: "a zz"), [])
  }

  func testNumbersAtTheEdgesMatchWholeNumbers() {
    XCTAssertFalse(TextExpectation.occurs("main.holo:1:1", in: "main.holo:1:19\n"))
    XCTAssertTrue(TextExpectation.occurs("main.holo:1:1", in: "main.holo:1:19\nmain.holo:1:1\n"))
    XCTAssertTrue(TextExpectation.occurs("main.holo:1:", in: "main.holo:1:19"))
    XCTAssertFalse(TextExpectation.occurs("1 passed, 0 failed", in: "11 passed, 0 failed"))
    XCTAssertTrue(TextExpectation.occurs("1 passed, 0 failed", in: "\n1 passed, 0 failed\n"))
    XCTAssertTrue(TextExpectation.occurs("💥 Runtime: x", in: "💥 Runtime: x1"))
  }

  func testChildProcessReportsStatusAndOutput() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-child-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try ChildProcess.run(
      "/bin/sh", ["-c", "pwd; read line; echo \"got $line\"; echo oops >&2; exit 7"], in: folder,
      stdinPath: "/dev/null", outputFolder: folder, environment: [:], timeout: 10)
    XCTAssertEqual(result.status, 7)
    XCTAssertFalse(result.timedOut)
    XCTAssertEqual(result.stdout, "\(folder.path)\ngot \n")
    XCTAssertEqual(result.stderr, "oops\n")
  }

  func testChildProcessTimeoutEndsTheWholeGroup() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-child-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let started = Date()
    let result = try ChildProcess.run(
      "/bin/sh", ["-c", "sleep 30 & echo $!; wait"], in: folder, stdinPath: "/dev/null",
      outputFolder: folder, environment: [:], timeout: 0.5)
    XCTAssertTrue(result.timedOut)
    XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    let sleeper = try XCTUnwrap(
      pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    // Once killed, the orphaned sleeper is reaped by init; give that a moment.
    let deadline = Date().addingTimeInterval(5)
    while kill(sleeper, 0) == 0, Date() < deadline { usleep(10_000) }
    XCTAssertNotEqual(kill(sleeper, 0), 0, "the grandchild survived the timeout")
  }
}
