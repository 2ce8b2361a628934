import Foundation
import HoloCache
import HoloDevABI
import XCTest

/// Black-box tests of the `holoc` binary (CLI.md): each runs the built executable on a
/// temporary project.
final class CLITests: XCTestCase {
  private var project: String!
  /// The TMPDIRs of the holocs `start` started, and their output files.
  private var temporaryFolders: [String] = []
  private var startedHolocs: [StartedHoloc] = []
  /// The processes those holocs started, by name.
  private var startedChildren: [(pid_t, String)] = []

  override func setUpWithError() throws {
    project = try makeScratchFolder("holo-cli-tests")
  }

  override func tearDownWithError() throws {
    // What a failing test leaves running: holoc (with a foreground program in its group),
    // and the programs and tests it started.
    for holoc in startedHolocs where holoc.process.isRunning { kill(-holoc.processID, SIGKILL) }
    for (child, name) in startedChildren
    where Self.isRunning(child) && Self.name(of: child) == name {
      kill(child, SIGKILL)
    }
    try? FileManager.default.removeItem(atPath: project)
    for folder in temporaryFolders { try? FileManager.default.removeItem(atPath: folder) }
  }

  // MARK: Helpers

  private struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The holoc next to the test bundle (SwiftPM puts every product in one folder).
  private static let holocPath: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("holoc").path
  }()

  /// One runtime cache for every test, so the runtime is compiled once.
  private static let cacheDirectory = FileManager.default.temporaryDirectory
    .appendingPathComponent("holo-cli-tests-cache").path

  private func write(_ text: String, to relativePath: String) throws {
    let url = URL(fileURLWithPath: "\(project!)/\(relativePath)")
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
  }

  private func read(_ relativePath: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: "\(project!)/\(relativePath)"))
  }

  private func exists(_ relativePath: String) -> Bool {
    FileManager.default.fileExists(atPath: "\(project!)/\(relativePath)")
  }

  /// The environment programs run with: this one, with a private cache (the runtime's
  /// shared by every test, the build cache the project's own), `NO_COLOR` set unless
  /// `noColor` is false, and no `HOLO_FAILURE_REPORT`.
  private func environment(noColor: Bool) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["XDG_CACHE_HOME"] = Self.cacheDirectory
    environment[BuildCache.directoryEnvironmentVariable] = "\(project!)/.holo-cache"
    environment["NO_COLOR"] = noColor ? "1" : nil
    environment.removeValue(forKey: DevABI.Environment.failureReport)
    return environment
  }

  /// Runs `executable` (default holoc) in the project folder (or `folder` inside it), with
  /// `temporaryFolder` as its TMPDIR if given.
  @discardableResult
  private func run(
    _ arguments: [String], in folder: String = "", input: String = "", executable: String? = nil,
    noColor: Bool = true, temporaryFolder: String? = nil
  ) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable ?? Self.holocPath)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: "\(project!)/\(folder)", isDirectory: true)
    process.environment = environment(noColor: noColor)
    if let temporaryFolder { process.environment?["TMPDIR"] = temporaryFolder }
    let stdoutPath = "\(project!)/.stdout"
    let stderrPath = "\(project!)/.stderr"
    _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    let stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
    let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    process.waitUntilExit()
    try stdout.close()
    try stderr.close()
    return Outcome(
      status: process.terminationStatus,
      stdout: try String(contentsOfFile: stdoutPath, encoding: .utf8),
      stderr: try String(contentsOfFile: stderrPath, encoding: .utf8))
  }

  /// Runs holoc in the project folder with its stdout and stderr on a pseudo-terminal, as in
  /// a user's terminal (through util-linux `script`, part of every Debian); returns the
  /// status and what the terminal showed, its line ends read back as `\n`.
  private func runOnTerminal(_ arguments: [String], noColor: Bool) throws -> (Int32, String) {
    let command = ([Self.holocPath] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let outcome = try run(
      ["--quiet", "--return", "--command", command, "/dev/null"], executable: "/usr/bin/script",
      noColor: noColor)
    return (outcome.status, outcome.stdout.replacingOccurrences(of: "\r\n", with: "\n"))
  }

  /// A holoc started by `start` and not waited for.
  private struct StartedHoloc {
    var process: Process
    var stdoutPath: String
    var stderrPath: String
    /// Its TMPDIR, where its temporary folders go.
    var temporaryFolder: String

    var processID: pid_t { process.processIdentifier }
    var stdout: String { Self.read(stdoutPath) }
    var stderr: String { Self.read(stderrPath) }

    static func read(_ path: String) -> String {
      String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
  }

  /// Starts holoc in the project folder with stdin from /dev/null, stdout and stderr in
  /// files and a TMPDIR of its own. Foundation starts it in a process group of its own, as
  /// a shell starts a job in a terminal.
  private func start(_ arguments: [String]) throws -> StartedHoloc {
    var template = Array("/tmp/holo-cli-tmp-XXXXXX".utf8CString)
    let folder = try XCTUnwrap(
      template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map {
        String(cString: $0)
      })
    temporaryFolders.append(folder)
    let started = StartedHoloc(
      process: Process(), stdoutPath: "\(folder).stdout", stderrPath: "\(folder).stderr",
      temporaryFolder: folder)
    temporaryFolders += [started.stdoutPath, started.stderrPath]
    for path in [started.stdoutPath, started.stderrPath] {
      _ = FileManager.default.createFile(atPath: path, contents: nil)
    }
    let process = started.process
    process.executableURL = URL(fileURLWithPath: Self.holocPath)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: project!, isDirectory: true)
    process.environment = environment(noColor: true)
    process.environment?["TMPDIR"] = folder
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: started.stdoutPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: started.stderrPath))
    try process.run()
    startedHolocs.append(started)
    XCTAssertEqual(getpgid(process.processIdentifier), process.processIdentifier)
    return started
  }

  /// Waits up to 60 s for `condition`, polling.
  private func eventually(_ what: String, _ condition: () -> Bool) throws {
    let deadline = Date(timeIntervalSinceNow: 60)
    while !condition() {
      guard Date() < deadline else { throw CLITestFailure("gave up waiting for \(what)") }
      usleep(10_000)
    }
  }

  /// Waits for a started holoc to end. Foundation sees it end only once every process
  /// that inherited its descriptors has ended too: one it left running keeps it "running".
  private func waitForExit(_ holoc: StartedHoloc) throws {
    try eventually("holoc to end\nstderr: \(holoc.stderr)") { !holoc.process.isRunning }
  }

  /// The child processes of `processID` whose command name is `name`, kept to be killed
  /// at the end of the test if they are still running.
  private func children(of processID: pid_t, named name: String) -> [pid_t] {
    let tasks =
      (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(processID)/task")) ?? []
    let found = tasks.flatMap { task in
      StartedHoloc.read("/proc/\(processID)/task/\(task)/children").split(separator: " ")
        .compactMap { pid_t($0) }.filter { Self.name(of: $0) == name }
    }
    startedChildren += found.map { ($0, name) }
    return found
  }

  private static func name(of processID: pid_t) -> String {
    StartedHoloc.read("/proc/\(processID)/comm").trimmingCharacters(in: .newlines)
  }

  /// Whether the process `processID` has not ended (a zombie has: nobody reaped it yet).
  private static func isRunning(_ processID: pid_t) -> Bool {
    let status = StartedHoloc.read("/proc/\(processID)/stat")
    return !status.isEmpty && !status.contains(") Z ")
  }

  /// The program a started `holoc run` runs, once it printed `ready`.
  private func runningProgram(of holoc: StartedHoloc, named name: String) throws -> pid_t {
    try eventually("the program to start\nstderr: \(holoc.stderr)") { holoc.stdout == "ready\n" }
    let programs = children(of: holoc.processID, named: name)
    XCTAssertEqual(programs.count, 1, "\(programs)")
    return try XCTUnwrap(programs.first)
  }

  private func folders(in path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path)
  }

  /// The keys of a one-line JSON object, in the order written.
  private func keys(_ line: Substring) -> [String] {
    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    return (object?.keys.map { $0 } ?? []).sorted {
      line.range(of: "\"\($0)\":")!.lowerBound < line.range(of: "\"\($1)\":")!.lowerBound
    }
  }

  private let hello = "fn main() {\n  println(\"hello\");\n}\n"

  // MARK: Version, help, usage errors

  /// Every example in examples/ is a program that checks cleanly (the demo runs them).
  func testTheExamplesCheckCleanly() throws {
    let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")
    let folders = try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted()
    XCTAssertTrue(folders.contains("particles"), "\(folders)")
    for folder in folders {
      let directory = examples.appendingPathComponent(folder).path
      let programs = try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasSuffix(".holo") }.sorted()
      for program in programs {
        let checked = try runCapturingOutput(
          Self.holocPath, ["check", program], environment: DevSession.environment,
          directory: directory)
        XCTAssertEqual(checked.status, 0, "\(folder)/\(program): \(checked.stderr)")
      }
    }
  }

  func testVersion() throws {
    let outcome = try run(["--version"])
    XCTAssertEqual(outcome.status, 0)
    XCTAssertEqual(outcome.stdout, "holoc 0.1.0\n")
  }

  func testHelpOnEveryCommand() throws {
    for command in ["check", "build", "run", "test"] {
      let outcome = try run([command, "--help"])
      XCTAssertEqual(outcome.status, 0, command)
      XCTAssertTrue(outcome.stdout.contains("USAGE: holoc \(command)"), outcome.stdout)
    }
    XCTAssertEqual(try run(["--help"]).status, 0)
  }

  func testHelpStatesEachDefaultOnceAndDevHasNoRelease() throws {
    /// The help text of `option`, its wrapped lines joined.
    func help(_ command: String, _ option: String) throws -> String {
      let text = try run([command, "--help"]).stdout
      let start = try XCTUnwrap(text.range(of: "\n  \(option) "), "\(command): \(option)")
      let rest = text[start.upperBound...]
      let end = rest.range(of: "\n  -")?.lowerBound ?? rest.endIndex
      return rest[..<end].split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
    XCTAssertEqual(try help("dev", "-O"), "<LEVEL> Optimisation level, 0 to 3 (default: 0).")
    for command in ["build", "run", "test"] {
      XCTAssertEqual(
        try help(command, "-O"),
        "<LEVEL> Optimisation level, 0 to 3 (default: 0, or 3 with --release).")
    }
    for command in ["test", "dev"] {
      let timeout = try help(command, "--timeout")
      XCTAssertEqual(timeout.components(separatedBy: "default").count, 2, timeout)
    }
  }

  func testUsageErrorsExit64() throws {
    try write(hello, to: "hello.holo")
    for arguments in [
      ["build", "-O4", "hello.holo"], ["build", "--emit", "wasm", "hello.holo"],
      ["build", "--frobnicate"], ["run", "--emit", "obj", "hello.holo"], ["frobnicate"],
      ["test", "--jobs", "0"], ["test", "--timeout", "0"], ["check", "--format", "xml"],
      ["dev", "-O4", "hello.holo"], ["dev", "--stale-after", "-1", "hello.holo"],
      ["dev", "--stale-after", "nan", "hello.holo"],
    ] {
      let outcome = try run(arguments)
      XCTAssertEqual(outcome.status, 64, "\(arguments): \(outcome.stderr)")
    }
  }

  func testAnUnknownTargetCPUIsAUsageErrorListingLLVMsNames() throws {
    try write(hello, to: "hello.holo")
    for command in ["build", "run", "test", "dev"] {
      for cpu in ["frobnicator", "i386", ""] {
        let outcome = try run([command, "hello.holo", "--target-cpu", cpu])
        XCTAssertEqual(outcome.status, 64, "\(command) \(cpu): \(outcome.stderr)")
        XCTAssertTrue(
          outcome.stderr.hasPrefix(
            "Error: unknown target CPU `\(cpu)`; the valid names are:\n  native, "),
          outcome.stderr)
        for name in ["x86-64,", "x86-64-v3,", "haswell,"] {
          XCTAssertTrue(outcome.stderr.contains(name), "\(name) in \(outcome.stderr)")
        }
        XCTAssertFalse(outcome.stderr.contains("LLVM"), outcome.stderr)
      }
    }
  }

  func testTargetCPUHelpListsTheNames() throws {
    for command in ["build", "run", "test", "dev"] {
      let outcome = try run([command, "--target-cpu", "help"])
      XCTAssertEqual(outcome.status, 0, "\(command): \(outcome.stderr)")
      let names = outcome.stdout.split(separator: "\n")
      XCTAssertEqual(names.first, "native", outcome.stdout)
      XCTAssertTrue(names.contains("x86-64") && names.contains("znver3"), outcome.stdout)
      XCTAssertFalse(names.contains("i386"), outcome.stdout)
    }
  }

  func testMissingPathIsNamedAtItsFirstLineAndColumn() throws {
    let missing = try run(["check", "nope.holo"])
    XCTAssertEqual(missing.status, 1)
    XCTAssertEqual(
      missing.stderr, "⚒️ Usage[E0501]: no such file or folder `nope.holo`\n\nnope.holo:1:1\n\n")
    let missingJSON = try XCTUnwrap(
      jsonObjects(try run(["check", "nope.holo", "--format", "json"]).stderr).first)
    XCTAssertEqual(missingJSON["file"] as? String, "nope.holo")
    XCTAssertEqual(missingJSON["line"] as? Int, 1)
    XCTAssertEqual(missingJSON["column"] as? Int, 1)

    try FileManager.default.createDirectory(
      atPath: "\(project!)/empty", withIntermediateDirectories: true)
    let noMain = try run(["build", "empty", "--format", "json"])
    XCTAssertEqual(noMain.status, 1)
    let diagnostic = try XCTUnwrap(jsonObjects(noMain.stderr).first)
    XCTAssertEqual(diagnostic["code"] as? String, "E0102")
    XCTAssertEqual(diagnostic["file"] as? String, "empty/main.holo")
    XCTAssertEqual(diagnostic["line"] as? Int, 1)

    let noProject = try run(["check"])
    XCTAssertEqual(noProject.status, 1, "`.` without main.holo")
    XCTAssertTrue(noProject.stderr.contains("E0102"), noProject.stderr)
  }

  // MARK: Diagnostics

  private let twoErrors = """
    fn main() {
      let a = 1i64 + 2.0f64;
      missing(a);
    }

    """

  func testCheckReportsEveryErrorInHumanFormat() throws {
    try write(twoErrors, to: "bad.holo")
    let outcome = try run(["check", "bad.holo"])
    XCTAssertEqual(outcome.status, 1)
    XCTAssertEqual(outcome.stdout, "")
    XCTAssertTrue(
      outcome.stderr.hasPrefix(
        "⚒️ Typecheck[E0201]: arithmetic operands must have the same type\n\nbad.holo:2:11\n"),
      outcome.stderr)
    XCTAssertTrue(
      outcome.stderr.contains("⚒️ Typecheck[E0210]: unknown function `missing`"), outcome.stderr)
    XCTAssertFalse(outcome.stderr.contains("\u{1B}["), "no colour when stderr is not a terminal")
  }

  func testAMissingSemicolonIsOneDiagnosticAtTheEndOfItsLine() throws {
    try write("let a = 1\nlet b = 2;\nprintln(a + b);\n", to: "semi.holo")
    let outcome = try run(["check", "semi.holo"])
    XCTAssertEqual(outcome.status, 1)
    XCTAssertEqual(
      outcome.stderr,
      """
      ⚒️ Parsing[E0010]: expected `;`, found keyword `let`

      semi.holo:1:10
         1 │ let a = 1
           │          ─ add `;` here


      """)
  }

  func testJSONDiagnosticsShape() throws {
    try write(twoErrors, to: "bad.holo")
    let outcome = try run(["check", "--format", "json", "bad.holo"])
    XCTAssertEqual(outcome.status, 1)
    let lines = outcome.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 2, outcome.stderr)
    for line in lines {
      XCTAssertEqual(
        keys(line),
        [
          "severity", "phase", "code", "message", "file", "line", "column", "end_line",
          "end_column", "labels", "hint",
        ])
    }
    let first = try XCTUnwrap(jsonObjects(outcome.stderr).first)
    XCTAssertEqual(first["severity"] as? String, "error")
    XCTAssertEqual(first["phase"] as? String, "Typecheck")
    XCTAssertEqual(first["code"] as? String, "E0201")
    XCTAssertEqual(first["file"] as? String, "bad.holo")
    XCTAssertEqual(first["line"] as? Int, 2)
    let label = try XCTUnwrap((first["labels"] as? [[String: Any]])?.first)
    XCTAssertEqual(
      Set(label.keys), ["file", "line", "column", "end_line", "end_column", "message"])
  }

  func testCheckOfAGoodProgramIsSilent() throws {
    try write(hello, to: "hello.holo")
    let outcome = try run(["check", "hello.holo"])
    XCTAssertEqual(outcome.status, 0)
    XCTAssertEqual(outcome.stdout + outcome.stderr, "")
  }

  // MARK: build

  func testDevBuildsCarrySlotsAgentAndLineTablesAndReleaseBuildsNone() throws {
    try write("fn twice(x: i64) -> i64 { x * 2 }\nprintln(twice(21));\n", to: "app.holo")
    XCTAssertEqual(try run(["build", "app.holo", "-o", "dev"]).status, 0)
    XCTAssertEqual(try run(["build", "--release", "app.holo", "-o", "release"]).status, 0)
    for binary in ["dev", "release"] {
      XCTAssertEqual(try run([], executable: "\(project!)/\(binary)").stdout, "42\n")
    }
    let devSymbols = try run(["-C", "dev"], executable: "/usr/bin/nm").stdout
    let releaseSymbols = try run(["-C", "release"], executable: "/usr/bin/nm").stdout
    XCTAssertTrue(devSymbols.contains("holo.slot.twice(i64)->i64"), devSymbols)
    XCTAssertTrue(devSymbols.contains("holo_agent_start"), devSymbols)
    XCTAssertFalse(releaseSymbols.contains("holo.slot"), releaseSymbols)
    // Not even an undefined reference: only a dev program's info names the agent.
    XCTAssertFalse(releaseSymbols.contains("holo_agent"), releaseSymbols)
    for binary in ["dev", "release"] {
      // Neither loads LLVM: the dev program's agent would dlopen it only under holoc dev.
      let dynamic = try run(["-d", binary], executable: "/usr/bin/readelf").stdout
      XCTAssertFalse(dynamic.contains("LLVM"), dynamic)
    }
    // Line tables naming the holo source: dev only (the runtime has its own, in both).
    let devLines = try run(["--dwarf=decodedline", "dev"], executable: "/usr/bin/objdump").stdout
    let releaseLines = try run(["--dwarf=decodedline", "release"], executable: "/usr/bin/objdump")
      .stdout
    XCTAssertTrue(devLines.contains("app.holo"), devLines)
    XCTAssertFalse(releaseLines.contains("app.holo"), releaseLines)
  }

  /// Landing pads (`.gcc_except_table`) only in code a frame restart may unwind: an
  /// object for a C host has them, a dev executable does not, and neither is built from
  /// the other's cached chunks.
  func testOnlyDevCodeForCHostsHasLandingPads() throws {
    try write("fn twice(x: i64) -> i64 { x * 2 }\nprintln(twice(21));\n", to: "app.holo")
    let sections = { (file: String) in
      try self.run(["-S", "-W", file], executable: "/usr/bin/readelf").stdout
    }
    for _ in 0..<2 {
      XCTAssertEqual(try run(["build", "app.holo", "-o", "dev"]).status, 0)
      XCTAssertEqual(try run(["build", "--emit", "obj", "app.holo", "-o", "app.o"]).status, 0)
      XCTAssertFalse(try sections("dev").contains(".gcc_except_table"))
      XCTAssertTrue(try sections("app.o").contains(".gcc_except_table"))
      XCTAssertEqual(try run([], executable: "\(project!)/dev").stdout, "42\n")
    }
  }

  func testBuildWritesExecutableNamedAfterTheFile() throws {
    try write(hello, to: "hello.holo")
    let outcome = try run(["build", "hello.holo"])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(try run([], executable: "\(project!)/hello").stdout, "hello\n")
  }

  func testBuildOfAFolderIsNamedAfterTheFolder() throws {
    try write(hello, to: "app/main.holo")
    XCTAssertEqual(try run(["build"], in: "app").status, 0)
    XCTAssertTrue(exists("app/app"))

    let clash = try run(["build", "app"])
    XCTAssertEqual(clash.status, 1, "the default output `app` is the folder itself")
    XCTAssertTrue(clash.stderr.contains("E0502"), clash.stderr)
    XCTAssertEqual(try run(["build", "app", "-o", "app.bin"]).status, 0)
    XCTAssertEqual(try run([], executable: "\(project!)/app.bin").stdout, "hello\n")
  }

  func testEmitKinds() throws {
    try write(hello, to: "hello.holo")
    XCTAssertEqual(try run(["build", "--emit", "obj", "hello.holo"]).status, 0)
    XCTAssertEqual(Array(try read("hello.o").prefix(4)), [0x7F, 0x45, 0x4C, 0x46], "an ELF object")
    XCTAssertEqual(try run(["build", "--emit", "asm", "hello.holo"]).status, 0)
    XCTAssertTrue(String(decoding: try read("hello.s"), as: UTF8.self).contains(".text"))
    XCTAssertEqual(try run(["build", "--emit", "llvm-ir", "hello.holo", "-o", "out.ll"]).status, 0)
    XCTAssertTrue(String(decoding: try read("out.ll"), as: UTF8.self).contains("define"))
    XCTAssertFalse(exists("hello"), "no executable for other emit kinds")
  }

  func testReleaseAndOptimizationFlags() throws {
    try write(hello, to: "hello.holo")
    for flags in [
      ["--release"], ["-O2"], ["-O", "1"], ["--release", "-O0"], ["--target-cpu", "native"],
    ] {
      let outcome = try run(["build", "hello.holo", "-o", "hello"] + flags)
      XCTAssertEqual(outcome.status, 0, "\(flags): \(outcome.stderr)")
      XCTAssertEqual(try run([], executable: "\(project!)/hello").stdout, "hello\n", "\(flags)")
    }
  }

  func testLinkFailureIsALinkDiagnostic() throws {
    try write("extern fn holo_no_such_function();\nholo_no_such_function();\n", to: "link.holo")
    let outcome = try run(["build", "link.holo", "--format", "json"])
    XCTAssertEqual(outcome.status, 1)
    let diagnostic = try XCTUnwrap(jsonObjects(outcome.stderr).first)
    XCTAssertEqual(diagnostic["phase"] as? String, "Link")
    XCTAssertEqual(diagnostic["code"] as? String, "E0301")
    XCTAssertTrue((diagnostic["message"] as? String)?.contains("holo_no_such_function") ?? false)
    // At the declaration of the function the linker did not find.
    XCTAssertEqual(diagnostic["file"] as? String, "link.holo")
    XCTAssertEqual(diagnostic["line"] as? Int, 1)
    XCTAssertEqual(diagnostic["column"] as? Int, 11)
    let human = try run(["build", "link.holo"])
    XCTAssertTrue(
      human.stderr.hasPrefix("⚒️ Link[E0301]: linking with `cc` failed:\n\nlink.holo:1:11\n"),
      human.stderr)
    XCTAssertTrue(human.stderr.contains("\n  collect2: error: ld returned 1"), human.stderr)

    // Not about a declaration: the program's root file.
    try write(hello, to: "hello.holo")
    let missingLibrary = try run(["build", "hello.holo", "-l", "holo_no_such_library"])
    XCTAssertEqual(missingLibrary.status, 1)
    XCTAssertTrue(
      missingLibrary.stderr.hasPrefix(
        "⚒️ Link[E0301]: linking with `cc` failed:\n\nhello.holo:1:1\n"),
      missingLibrary.stderr)
  }

  func testLinkingACLibrary() throws {
    try write(
      "extern fn hypot(x: f64, y: f64) -> f64;\nprintln(hypot(3.0, 4.0));\n", to: "math.holo")
    XCTAssertEqual(try run(["build", "math.holo", "-lm"]).status, 0)
    XCTAssertEqual(try run([], executable: "\(project!)/math").stdout, "5\n")
  }

  // MARK: run

  func testRunPassesStdinArgumentsAndExitStatus() throws {
    try write("let line = read_line();\nprintln(`got {line}`);\nexit(7);\n", to: "echo.holo")
    let outcome = try run(["run", "echo.holo", "--", "--not-a-holoc-flag", "x"], input: "abc\n")
    XCTAssertEqual(outcome.status, 7, outcome.stderr)
    XCTAssertEqual(outcome.stdout, "got abc\n")
    XCTAssertEqual(outcome.stderr, "")
  }

  func testRunRendersARuntimeFailure() throws {
    try write(
      """
      fn divide(a: i64, b: i64) -> i64 {
        a / b
      }

      fn main() {
        println("before");
        divide(1, 0);
      }

      """, to: "fail.holo")
    let outcome = try run(["run", "fail.holo"])
    XCTAssertEqual(outcome.status, 101)
    XCTAssertEqual(outcome.stdout, "before\n")
    XCTAssertEqual(
      outcome.stderr,
      """
      💥 Runtime: division by zero

      fail.holo:2:3
         2 │   a / b
           │   ─────


      """)
    let json = try run(["run", "fail.holo", "--format", "json"])
    let diagnostic = try XCTUnwrap(jsonObjects(json.stderr).first)
    XCTAssertEqual(diagnostic["phase"] as? String, "Runtime")
    XCTAssertEqual(diagnostic["message"] as? String, "division by zero")
    XCTAssertEqual(diagnostic["line"] as? Int, 2)
    XCTAssertEqual(diagnostic["column"] as? Int, 3)
  }

  func testRunReportsAProgramKilledByASignal() throws {
    try write("extern fn abort();\nabort();\n", to: "abort.holo")
    let outcome = try run(["run", "abort.holo"])
    XCTAssertEqual(outcome.status, 101)
    XCTAssertTrue(outcome.stderr.hasPrefix("💥 Runtime: the program was killed by "), outcome.stderr)
  }

  // MARK: Children end with holoc

  private static let spinning = """
    fn main() {
      println("ready");
      while true { sleep_ms(20); }
    }

    """

  func testRunKilledByTermOrHupEndsItsProgramAndRemovesItsFolders() throws {
    try write(Self.spinning, to: "spin.holo")
    for signal in [SIGTERM, SIGHUP] {
      let holoc = try start(["run", "spin.holo"])
      let program = try runningProgram(of: holoc, named: "spin")
      kill(holoc.processID, signal)
      try waitForExit(holoc)
      // holoc passed the signal on, and ended by it once the program had ended.
      XCTAssertEqual(holoc.process.terminationReason, .uncaughtSignal, "\(signal)")
      XCTAssertEqual(holoc.process.terminationStatus, signal)
      XCTAssertFalse(Self.isRunning(program), "\(signal)")
      XCTAssertEqual(try folders(in: holoc.temporaryFolder), [], "\(signal)")
      XCTAssertEqual(holoc.stderr, "", "\(signal)")
    }
  }

  func testRunKilledWithSigkillEndsItsProgramAndTheNextHolocRemovesItsFolder() throws {
    try write(Self.spinning, to: "spin.holo")
    try write("println(\"done\");\n", to: "done.holo")
    let holoc = try start(["run", "spin.holo"])
    let program = try runningProgram(of: holoc, named: "spin")
    kill(holoc.processID, SIGKILL)
    try waitForExit(holoc)
    try eventually("the program to end") { !Self.isRunning(program) }
    // Nothing removes the folder of a holoc killed with SIGKILL, but the next holoc does.
    XCTAssertEqual(try folders(in: holoc.temporaryFolder).count, 1)
    let next = try run(["run", "done.holo"], temporaryFolder: holoc.temporaryFolder)
    XCTAssertEqual(next.stdout, "done\n", next.stderr)
    XCTAssertEqual(try folders(in: holoc.temporaryFolder), [])
  }

  func testCtrlCStopsRunAndItsProgramWithStatus130() throws {
    try write(Self.spinning, to: "spin.holo")
    let holoc = try start(["run", "spin.holo"])
    let program = try runningProgram(of: holoc, named: "spin")
    // What a terminal does on Ctrl-C: SIGINT to its foreground process group.
    kill(-holoc.processID, SIGINT)
    try waitForExit(holoc)
    XCTAssertEqual(holoc.process.terminationReason, .exit)
    XCTAssertEqual(holoc.process.terminationStatus, 130, holoc.stderr)
    XCTAssertEqual(holoc.stderr, "")
    XCTAssertFalse(Self.isRunning(program))
    XCTAssertEqual(try folders(in: holoc.temporaryFolder), [])
  }

  func testCtrlCOnTestStopsEveryTest() throws {
    try write(
      "#[test] fn spins() { while true {} }\n#[test] fn spins_too() { while true {} }\n",
      to: "spin.holo")
    let holoc = try start(["test", "spin.holo", "--jobs", "2", "--timeout", "600"])
    var tests: [pid_t] = []
    try eventually("both tests to run\nstderr: \(holoc.stderr)") {
      tests = children(of: holoc.processID, named: "spin-tests")
      return tests.count == 2
    }
    kill(-holoc.processID, SIGINT)
    try waitForExit(holoc)
    XCTAssertEqual(holoc.process.terminationReason, .uncaughtSignal)
    XCTAssertEqual(holoc.process.terminationStatus, SIGINT)
    for test in tests {
      try eventually("test process \(test) to end") { !Self.isRunning(test) }
    }
    XCTAssertEqual(try folders(in: holoc.temporaryFolder), [])
  }

  // MARK: Output errors

  private static let manyLines = "fn main() {\n  for i in 0..100_000 { println(`line {i}`); }\n}\n"

  func testAClosedPipeEndsTheProgramQuietlyWithStatus141() throws {
    try write(Self.manyLines, to: "lines.holo")
    let piped = try run(
      ["-c", "set -o pipefail; '\(Self.holocPath)' run lines.holo | head -1"],
      executable: "/bin/bash")
    XCTAssertEqual(piped.status, 141, piped.stderr)
    XCTAssertEqual(piped.stdout, "line 0\n")
    XCTAssertEqual(piped.stderr, "")
    for mode in [[], ["--release"]] {
      XCTAssertEqual(try run(["build", "lines.holo"] + mode).status, 0)
      // Started with SIGPIPE ignored, the program sees its writes fail with EPIPE instead.
      let ignoring = try run(
        ["-c", "trap '' PIPE; ./lines | head -1; exit ${PIPESTATUS[0]}"], executable: "/bin/bash")
      XCTAssertEqual(ignoring.status, 141, "\(mode) \(ignoring.stderr)")
      XCTAssertEqual(ignoring.stdout, "line 0\n", "\(mode)")
      XCTAssertEqual(ignoring.stderr, "", "\(mode)")
    }
  }

  func testAFailedWriteToStdoutIsARuntimeFailure() throws {
    try write(Self.manyLines, to: "lines.holo")
    try write("fn main() {\n  println(\"short\");\n}\n", to: "short.holo")
    for mode in [[], ["--release"]] {
      for program in ["lines", "short"] {
        XCTAssertEqual(try run(["build", "\(program).holo"] + mode).status, 0)
        // A full disk, and a closed descriptor; `short` fails only at the exit's flush.
        for redirection in [">/dev/full", ">&-"] {
          let outcome = try run(["-c", "./\(program) \(redirection)"], executable: "/bin/sh")
          let what = "\(mode) \(program) \(redirection)"
          XCTAssertEqual(outcome.status, 101, what)
          XCTAssertEqual(
            outcome.stderr, "\(program).holo:1:4: runtime failure: cannot write to stdout\n", what)
        }
      }
    }
    let rendered = try run(
      ["-c", "'\(Self.holocPath)' run lines.holo >/dev/full"], executable: "/bin/sh")
    XCTAssertEqual(rendered.status, 101)
    XCTAssertTrue(
      rendered.stderr.hasPrefix("💥 Runtime: cannot write to stdout\n\nlines.holo:1:4\n"),
      rendered.stderr)
  }

  func testAStackOverflowInsideTheRuntimeNamesTheHoloFunction() throws {
    // The recursion goes through the runtime's template builder: the overflow happens in
    // the runtime or in libc, not in `deeper`'s own code.
    try write(
      "fn deeper(n: i64) -> string { `{deeper(n + 1)}x` }\nfn main() { println(deeper(0)); }\n",
      to: "deep.holo")
    for mode in [[], ["--release"]] {
      XCTAssertEqual(try run(["build", "deep.holo"] + mode).status, 0)
      let outcome = try run([], executable: "\(project!)/deep")
      XCTAssertEqual(outcome.status, 101, "\(mode)")
      XCTAssertEqual(
        outcome.stderr, "deep.holo:1:4: runtime failure: stack overflow\n", "\(mode)")
    }
  }

  func testAProgramKilledByASignalIsReportedAtTheRootFile() throws {
    try write("extern fn abort();\nabort();\n", to: "abort.holo")
    let outcome = try run(["run", "abort.holo", "--format", "json"])
    XCTAssertEqual(outcome.status, 101)
    let diagnostic = try XCTUnwrap(jsonObjects(outcome.stderr).first)
    XCTAssertEqual(diagnostic["phase"] as? String, "Runtime")
    XCTAssertEqual(diagnostic["file"] as? String, "abort.holo")
    XCTAssertEqual(diagnostic["line"] as? Int, 1)
  }

  func testRunOfOnlyFunctionsIsAnEmptyProgram() throws {
    try write("fn helper() { println(\"never\"); }\n", to: "lib.holo")
    let outcome = try run(["run", "lib.holo"])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stdout, "")
  }

  func testTenMillionTemplateStringsRunInConstantMemory() throws {
    try write(
      """
      let total = 0;
      for i in 0..10_000_000 {
          let s = `item {i} of {total}`;
          let copy = s;
          total += string_len(copy);
      }
      println(total);
      let wait = read_line();
      """, to: "strings.holo")
    XCTAssertEqual(try run(["build", "strings.holo"]).status, 0)
    // The program waits on stdin after its loop, so its peak resident size can be read.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(project!)/strings")
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    var printed = Data()
    while !printed.contains(UInt8(ascii: "\n")) {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      printed.append(chunk)
    }
    let status = try String(
      contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    XCTAssertEqual(String(decoding: printed, as: UTF8.self), "244134830\n")
    let peakLine = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    let peakKiB =
      Int(peakLine.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
      ?? .max
    XCTAssertLessThan(peakKiB, 16 * 1024, "peak resident size \(peakKiB) KiB")
  }

  // MARK: test

  private let suite = """
    fn add(a: i64, b: i64) -> i64 { a + b }

    #[test] fn adds() {
      assert(add(1, 2) == 3);
    }

    #[test] fn wrong_sum() {
      println("some output");
      assert(add(1, 2) == 4, "wrong sum");
    }

    #[test] fn divides() {
      let zero = 0;
      println(10 / zero);
    }

    fn main() {
      panic("the entry point never runs under holoc test");
    }

    """

  func testTestHumanOutput() throws {
    try write(suite, to: "suite.holo")
    let outcome = try run(["test", "suite.holo"])
    XCTAssertEqual(outcome.status, 1, outcome.stderr)
    XCTAssertEqual(
      outcome.stdout,
      """
      test adds ... ok
      test wrong_sum ... FAILED
      test divides ... FAILED

      ---- wrong_sum ----
      💥 Runtime: wrong sum

      suite.holo:9:10
         9 │   assert(add(1, 2) == 4, "wrong sum");
           │          ──────────────

      output:
      some output

      ---- divides ----
      💥 Runtime: division by zero

      suite.holo:14:11
        14 │   println(10 / zero);
           │           ─────────

      1 passed, 2 failed

      """)
  }

  func testTestColoursOkAndFailedOnlyOnATerminalWithoutNoColor() throws {
    try write(suite, to: "suite.holo")
    let (status, coloured) = try runOnTerminal(
      ["test", "suite.holo", "--jobs", "1"], noColor: false)
    XCTAssertEqual(status, 1)
    let green = "\u{1B}[32mok\u{1B}[0m"
    let red = "\u{1B}[31mFAILED\u{1B}[0m"
    XCTAssertTrue(
      coloured.hasPrefix(
        "test adds ... \(green)\ntest wrong_sum ... \(red)\ntest divides ... \(red)\n"),
      coloured)
    XCTAssertTrue(coloured.hasSuffix("\n1 passed, 2 failed\n"), coloured)

    let (_, noColor) = try runOnTerminal(["test", "suite.holo", "--no-cache"], noColor: true)
    XCTAssertTrue(noColor.hasPrefix("test adds ... ok\n"), noColor)
    XCTAssertFalse(noColor.contains("\u{1B}["), noColor)
    let piped = try run(["test", "suite.holo", "--no-cache"], noColor: false)
    XCTAssertTrue(piped.stdout.hasPrefix("test adds ... ok\n"), piped.stdout)
    XCTAssertFalse(piped.stdout.contains("\u{1B}["), piped.stdout)
  }

  func testTestJSONOutput() throws {
    try write(suite, to: "suite.holo")
    let outcome = try run(["test", "suite.holo", "--format", "json"])
    XCTAssertEqual(outcome.status, 1, outcome.stderr)
    let lines = outcome.stdout.split(separator: "\n")
    XCTAssertEqual(lines.count, 4, outcome.stdout)
    for line in lines.dropLast() {
      XCTAssertEqual(
        keys(line),
        ["type", "name", "file", "line", "status", "duration_ms", "output", "failure", "cached"])
    }
    XCTAssertEqual(lines.last, #"{"type":"summary","passed":1,"failed":2,"cached":0}"#)
    let objects = try jsonObjects(outcome.stdout)
    XCTAssertEqual(objects.map { $0["name"] as? String }, ["adds", "wrong_sum", "divides", nil])
    XCTAssertEqual(objects[0]["status"] as? String, "passed")
    XCTAssertTrue(objects[0]["failure"] is NSNull)
    XCTAssertEqual(objects[1]["line"] as? Int, 7)
    XCTAssertEqual(objects[1]["output"] as? String, "some output\n")
    let failure = try XCTUnwrap(objects[1]["failure"] as? [String: Any])
    XCTAssertEqual(failure["message"] as? String, "wrong sum")
    XCTAssertEqual(failure["file"] as? String, "suite.holo")
    XCTAssertEqual(failure["line"] as? Int, 9)
    XCTAssertEqual(failure["column"] as? Int, 10)
    XCTAssertEqual(Array(keys(lines[1]).suffix(2)), ["failure", "cached"])
  }

  func testTestFilterAndAllPassing() throws {
    try write(suite, to: "suite.holo")
    let outcome = try run(["test", "suite.holo", "--filter", "add", "--jobs", "1"])
    XCTAssertEqual(outcome.status, 0)
    XCTAssertEqual(outcome.stdout, "test adds ... ok\n1 passed, 0 failed\n")
  }

  func testTestTimeout() throws {
    try write(
      "#[test] fn spins() {\n  while true {}\n}\n\n#[test] fn quick() {\n  assert(true);\n}\n",
      to: "loop.holo")
    let start = Date()
    let outcome = try run(["test", "loop.holo", "--timeout", "1", "--format", "json"])
    XCTAssertLessThan(Date().timeIntervalSince(start), 8)
    XCTAssertEqual(outcome.status, 1)
    let objects = try jsonObjects(outcome.stdout)
    let failure = try XCTUnwrap(objects.first?["failure"] as? [String: Any])
    XCTAssertEqual(failure["message"] as? String, "test timed out after 1 s")
    XCTAssertEqual(failure["line"] as? Int, 1)
    XCTAssertEqual(objects[1]["status"] as? String, "passed")
  }

  func testACrashingTestDoesNotAffectOthers() throws {
    try write(
      """
      extern fn abort();

      #[test] fn crashes() { abort(); }
      #[test] fn exits() { exit(3); }
      #[test] fn survives() { assert(1 + 1 == 2); }

      """, to: "crash.holo")
    let outcome = try run(["test", "crash.holo"])
    XCTAssertEqual(outcome.status, 1)
    XCTAssertTrue(
      outcome.stdout.hasPrefix(
        "test crashes ... FAILED\ntest exits ... FAILED\ntest survives ... ok\n"), outcome.stdout)
    XCTAssertTrue(outcome.stdout.contains("💥 Runtime: the test crashed: "), outcome.stdout)
    XCTAssertTrue(
      outcome.stdout.contains("💥 Runtime: the test exited with status 3"), outcome.stdout)
    XCTAssertTrue(outcome.stdout.hasSuffix("\n1 passed, 2 failed\n"))
  }

  func testResultsAreInSourceOrderWhateverFinishesFirst() throws {
    try write(
      "#[test] fn slow() { sleep_ms(500); }\n#[test] fn fast() {}\n", to: "order.holo")
    let outcome = try run(["test", "order.holo", "--jobs", "2"])
    XCTAssertEqual(outcome.status, 0)
    XCTAssertEqual(outcome.stdout, "test slow ... ok\ntest fast ... ok\n2 passed, 0 failed\n")
  }

  func testTestCompileErrorsExit1() throws {
    try write(twoErrors, to: "bad.holo")
    let outcome = try run(["test", "bad.holo"])
    XCTAssertEqual(outcome.status, 1)
    XCTAssertEqual(outcome.stdout, "")
    XCTAssertTrue(outcome.stderr.contains("E0201"))
  }
}

struct CLITestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
