import Foundation
import HoloCodegen
import HoloDriver
import HoloIR
import HoloSource

/// holoc dev's test process: a dev test executable started with `--serve`
/// (docs/PATCHING.md, "The test process"), kept running from save to save and patched like
/// the program. It forks a child for each test, so every test still starts from the state
/// of a fresh process. The session's thread owns it; while a run of tests is going, that
/// run's thread sends the requests (`TestServer`), and the session neither patches nor
/// ends it.
struct TestProcess {
  let server: TestServer
  let executable: String
  /// The program its code corresponds to (the last patch applied).
  var build: DevSession.Build
  var agent: AgentConnection?
  /// Slots the process has: the executable's and the patches' new ones.
  var slots: Set<String>
  /// Whether it has answered a request, and so has said `HELLO` if its agent ever will:
  /// the agent greets holoc before the process reads its first request.
  var hasServed = false
  /// The names of its tests.
  private let tests: Set<String>
  /// Its globals and structs: their storage, initialisation order and layouts are in its
  /// executable.
  private let globals: [IRGlobal]
  private let structs: [IRStruct]

  init(server: TestServer, executable: String, build: DevSession.Build) {
    self.server = server
    self.executable = executable
    self.build = build
    slots = Codegen.slots(of: build.program)
    tests = Self.testNames(of: build)
    globals = build.program.globals
    structs = build.program.structs
  }

  /// Whether the process has the tests of `other`: its test table is in its executable,
  /// so another set of tests (one added, removed or renamed) needs a new executable.
  func hasTests(of other: DevSession.Build) -> Bool { tests == Self.testNames(of: other) }

  /// Whether the process has the globals of `other`, which no patch can change yet.
  func hasGlobals(of other: DevSession.Build) -> Bool {
    globals == other.program.globals && structs == other.program.structs
  }

  private static func testNames(of build: DevSession.Build) -> Set<String> {
    Set(build.program.tests.map(build.index.name))
  }

  /// Builds the test executable of `build` at `executable`; the diagnostics when that
  /// failed.
  static func link(_ build: DevSession.Build, settings: BuildSettings, to executable: String)
    -> [Diagnostic]
  {
    do throws(DriverFailure) {
      try Driver(format: .human, sources: build.sources).buildExecutable(
        build.program, settings: settings, entry: .tests, to: executable, patchable: true)
      return []
    } catch {
      return error.diagnostics
    }
  }
}

/// How the test process came to run the code of a run of tests (the `test_process` field
/// of the `tests` event).
enum TestProcessUse: String, Sendable {
  /// A new test process was linked and started: these are the first tests it runs.
  case started
  /// The kept test process was patched to the new code.
  case patched
  /// The kept test process already ran that code.
  case kept
}

/// What a background run of tests found.
struct TestRunResult: Sendable {
  var outcomes: [TestOutcome] = []
  /// The test process ended during the run: the tests left could not run.
  var lostTestProcess = false
}

/// The test process itself, with holoc's ends of its request and answer pipes. Requests
/// are sent by one thread at a time: the thread of the run that has the process.
final class TestServer: @unchecked Sendable {
  /// Numbers the test processes of a session, as `.testProcessExited` names them.
  let generation: Int
  private let child: ChildProcess
  private let requests: Int32
  private let answers: Int32
  /// Answer bytes read past the last line taken.
  private var unread: [UInt8] = []
  private let endedFlag = Flag()

  /// How long the ending of a test killed for its time limit may take to be answered.
  private static let killedAnswerTimeoutMs = 5000.0

  private init(generation: Int, child: ChildProcess, requests: Int32, answers: Int32) {
    self.generation = generation
    self.child = child
    self.requests = requests
    self.answers = answers
  }

  /// Starts `executable --serve` in a process group of its own, its stderr holoc's (where
  /// its agent's warnings go); posts `.testProcessExited` when it ends. Call this on the
  /// session's thread, which lives as long as holoc (`ChildProcess`).
  static func start(
    executable: String, environment: [String: String], generation: Int, events: EventQueue
  ) throws(Posix.Failure) -> TestServer {
    let requests = try Posix.pipe()
    let answers: (read: Int32, write: Int32)
    do throws(Posix.Failure) {
      answers = try Posix.pipe()
    } catch {
      close(requests.read)
      close(requests.write)
      throw error
    }
    defer {
      close(requests.read)
      close(answers.write)
    }
    let child: ChildProcess
    do throws(SpawnError) {
      child = try ChildProcess.start(
        executable, ["--serve"], environment: environment,
        standardStreams: [requests.read, answers.write, nil], job: .background)
    } catch {
      close(requests.write)
      close(answers.read)
      throw Posix.Failure(reason: error.description)
    }
    let server = TestServer(
      generation: generation, child: child, requests: requests.write, answers: answers.read)
    Thread {
      _ = child.wait()
      server.endedFlag.set()
      events.post(.testProcessExited(generation: generation))
    }.start()
    return server
  }

  var processID: pid_t { child.processID }

  var hasEnded: Bool { endedFlag.isSet }

  /// Kills the test process; the test it runs dies with it (each test child asks the
  /// kernel for that), and so would its others.
  func kill() { child.send(SIGKILL) }

  /// Once no run has it any more: kills it and closes holoc's ends of its pipes.
  func stop() {
    kill()
    close(requests)
    close(answers)
  }

  /// Runs `tests` of `build` one after another, each with `timeout` seconds, writing their
  /// output and failure reports in `directory`. After `cancellation` no test starts and the
  /// running one is killed: the result is then outdated and incomplete.
  func run(
    _ tests: [FunctionID], of build: DevSession.Build, directory: String, timeout: Double,
    cancellation: TestCancellation
  ) -> TestRunResult {
    let driver = Driver(format: .human, sources: build.sources)
    var result = TestRunResult()
    for (index, id) in tests.enumerated() where !cancellation.isCancelled {
      let outputPath = "\(directory)/test-\(index).out"
      let reportPath = "\(directory)/test-\(index).report"
      let began = Posix.monotonicMs()
      var ending = TestEnding.notRun("the test could not be started: the test process ended")
      if !result.lostTestProcess {
        if let answered = run(
          test: build.program.function(id).name, output: outputPath, report: reportPath,
          timeout: timeout, cancellation: cancellation)
        {
          ending = answered
        } else {
          result.lostTestProcess = true
        }
      }
      let output = FileManager.default.contents(atPath: outputPath).map {
        String(decoding: $0, as: UTF8.self)
      }
      result.outcomes.append(
        driver.testOutcome(
          of: id, in: build.program, ending: ending, durationMs: elapsedMs(since: began),
          output: output ?? "", reportPath: reportPath, timeout: timeout))
    }
    return result
  }

  /// Asks the test process to run the test `name`; nil when it ended or answered nonsense
  /// (it is lost).
  private func run(
    test name: String, output: String, report: String, timeout: Double,
    cancellation: TestCancellation
  ) -> TestEnding? {
    let fields = ["run", name, output, report]
    guard !fields.contains(where: { $0.contains("\t") || $0.contains("\n") }) else {
      return .notRun("the test could not be started: its file names hold a tab or a line break")
    }
    guard Posix.writeAll(requests, Array((fields.joined(separator: "\t") + "\n").utf8)) else {
      return nil
    }
    let deadline = Posix.monotonicMs() + timeout * 1000
    guard case .line(let started) = answer(until: deadline) else { return nil }
    if let reason = Self.value(of: "error", in: started) {
      return .notRun("the test could not be started: \(reason)")
    }
    guard let processID = Self.value(of: "pid", in: started).flatMap({ pid_t($0) }),
      processID > 0
    else { return nil }
    // The test is its own process group, which stays its own (unreaped) until the next
    // request: killing the group reaches the test and whatever it started, nothing else.
    if !cancellation.started(processGroup: processID) { Glibc.kill(-processID, SIGKILL) }
    defer { cancellation.ended(processGroup: processID) }
    var ending = answer(until: deadline)
    let timedOut = ending == .timedOut
    if timedOut {
      Glibc.kill(-processID, SIGKILL)
      ending = answer(until: Posix.monotonicMs() + Self.killedAnswerTimeoutMs)
    }
    guard case .line(let text) = ending else { return nil }
    if let reason = Self.value(of: "error", in: text) { return .notRun(reason) }
    if let status = Self.value(of: "exit", in: text).flatMap({ Int32($0) }) {
      return timedOut ? .timedOut : .exited(status)
    }
    if let signal = Self.value(of: "signal", in: text).flatMap({ Int32($0) }) {
      return timedOut ? .timedOut : .signalled(signal)
    }
    return nil
  }

  private enum Answer: Equatable {
    case line(String)
    case timedOut
    /// The test process closed its answers: it ended.
    case closed
  }

  /// The next answer line, waiting until `deadline` (`Posix.monotonicMs()`) for it.
  private func answer(until deadline: Double) -> Answer {
    while true {
      if let newline = unread.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: unread[..<newline], as: UTF8.self)
        unread.removeFirst(newline + 1)
        return .line(line)
      }
      let remaining = deadline - Posix.monotonicMs()
      guard remaining > 0 else { return .timedOut }
      guard Posix.waitReadable(answers, timeout: Int32(remaining.rounded(.up))) else {
        if errno == EINTR { continue }
        return .timedOut
      }
      guard let chunk = Posix.read(answers) else { return .closed }
      unread += chunk
    }
  }

  /// The rest of `line` after `kind` and a space; nil when it is another kind of answer.
  private static func value(of kind: String, in line: String) -> String? {
    line.hasPrefix(kind + " ") ? String(line.dropFirst(kind.count + 1)) : nil
  }
}
