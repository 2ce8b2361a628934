import Foundation
import HoloDriver

enum ProgramTermination: Sendable, Equatable {
  case exited(Int32)
  case signalled(Int32)
}

/// What a started program reads on stdin: the input log from `base` on. The first
/// `replayLength` bytes replay what a previous run consumed; until the program has
/// consumed them its output is suppressed (see `StdinFeeder`).
struct InputPlan {
  var base: Int
  var replayLength: Int
}

/// A running program: its process, the threads that feed its stdin and pass its output
/// through, and the thread that waits for it to end.
final class ProgramProcess: @unchecked Sendable {
  private let child: ChildProcess
  let generation: Int
  let input: InputPlan
  private let feeder: StdinFeeder
  private let pumps: [OutputPump]
  private let exitedFlag = Flag()

  private init(
    child: ChildProcess, generation: Int, input: InputPlan, feeder: StdinFeeder,
    pumps: [OutputPump]
  ) {
    self.child = child
    self.generation = generation
    self.input = input
    self.feeder = feeder
    self.pumps = pumps
  }

  /// Starts `executable` with its stdin fed from `log` per `input` and its stdout and
  /// stderr passed through to holoc's; posts `.programExited` when it ends. It runs in a
  /// process group of its own: Ctrl-C in the terminal reaches holoc only, which then ends
  /// the program (the program never reads the terminal: its stdin is a pipe). Call this on
  /// the session's thread, which lives as long as holoc (`ChildProcess`).
  static func start(
    executable: String, arguments: [String], environment: [String: String], generation: Int,
    log: InputLog, input: InputPlan, events: EventQueue
  ) throws(Posix.Failure) -> ProgramProcess {
    let stdin = try Posix.pipe()
    let stdout = try Posix.pipe()
    let stderr = try Posix.pipe()
    let childEnds = [stdin.read, stdout.write, stderr.write]
    defer { childEnds.forEach { close($0) } }
    let child: ChildProcess
    do throws(SpawnError) {
      child = try ChildProcess.start(
        executable, arguments, environment: environment, standardStreams: childEnds,
        job: .background)
    } catch {
      throw Posix.Failure(reason: error.description)
    }
    let processID = child.processID

    let suppressed = input.replayLength > 0
    let pumps = [
      OutputPump(source: stdout.read, destination: STDOUT_FILENO, suppressed: suppressed),
      OutputPump(source: stderr.read, destination: STDERR_FILENO, suppressed: suppressed),
    ]
    // holoc keeps a read end of the program's stdin only to ask how much is still unread.
    let probe = dup(stdin.read)
    Posix.closeOnExec(probe)
    let feeder = StdinFeeder(
      log: log, input: input, writeEnd: stdin.write, probe: probe, processID: processID)
    let process = ProgramProcess(
      child: child, generation: generation, input: input, feeder: feeder, pumps: pumps)
    pumps.forEach { $0.start() }
    feeder.start(process)
    Thread {
      let termination: ProgramTermination
      switch child.wait() {
      case .exited(let status): termination = .exited(status)
      case .signalled(let signal): termination = .signalled(signal)
      }
      process.exitedFlag.set()
      // Pass the program's last output through before reporting its end.
      pumps.forEach { $0.waitUntilDrained(timeout: 2) }
      events.post(.programExited(generation: generation, termination))
    }.start()
    return process
  }

  var processID: pid_t { child.processID }

  var hasExited: Bool { exitedFlag.isSet }

  /// Asks the program and every process in its group to end.
  func terminate() { child.send(SIGTERM) }

  /// Kills the program and every process in its group (it cannot catch SIGKILL, so no
  /// output follows).
  func kill() { child.send(SIGKILL) }

  /// Ends output suppression: drops what the program wrote so far and passes the rest.
  func endSuppression() { pumps.forEach { $0.endSuppression() } }

  /// The time of the program's latest output, in `Posix.monotonicMs()`.
  var lastOutputMs: Double { pumps.map(\.lastOutputMs).max() ?? 0 }

  /// After the program ended: stops feeding its stdin and returns how many bytes of its
  /// input (from `input.base`) it consumed.
  func finishInput() -> Int { feeder.finish() }
}

/// A thread-safe boolean that only goes from false to true.
final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false

  func set() { lock.withLock { value = true } }
  var isSet: Bool { lock.withLock { value } }
}

/// Passes one of the program's output pipes through to holoc's own descriptor, byte for
/// byte, or drops what arrives while suppressed — all but the last unfinished line, which
/// is shown when suppression ends: a replayed program that waits for input again has just
/// printed its prompt, and the user must see it.
final class OutputPump: @unchecked Sendable {
  private let source: Int32
  private let destination: Int32
  private let lock = NSLock()
  private var suppressed: Bool
  /// While suppressed: what was written after the last newline (its last bytes).
  private var unfinishedLine: [UInt8] = []
  private static let unfinishedLineLimit = 4096
  private var closed = false
  private var latestOutputMs = 0.0
  private let drained = DispatchSemaphore(value: 0)

  init(source: Int32, destination: Int32, suppressed: Bool) {
    self.source = source
    self.destination = destination
    self.suppressed = suppressed
    Posix.setNonBlocking(source)
  }

  func start() {
    Thread { [self] in
      // Reading happens under the lock, so `endSuppression` can drain the pipe without a
      // chunk read before it slipping through after it.
      while Posix.waitReadable(source, timeout: -1) || errno == EINTR {
        let chunk: [UInt8]? = lock.withLock {
          let chunk = Posix.read(source)
          if let chunk, !chunk.isEmpty {
            latestOutputMs = Posix.monotonicMs()
            // A closed holoc stdout (EPIPE) only means nobody is reading the output.
            if suppressed { keepUnfinishedLine(chunk) } else { Posix.writeAll(destination, chunk) }
          }
          return chunk
        }
        if chunk == nil { break }
      }
      lock.withLock {
        closed = true
        close(source)
      }
      drained.signal()
    }.start()
  }

  func endSuppression() {
    lock.withLock {
      guard suppressed else { return }
      while !closed, let chunk = Posix.read(source), !chunk.isEmpty { keepUnfinishedLine(chunk) }
      suppressed = false
      if !unfinishedLine.isEmpty { Posix.writeAll(destination, unfinishedLine) }
      unfinishedLine = []
    }
  }

  /// Called with the lock held.
  private func keepUnfinishedLine(_ chunk: [UInt8]) {
    if let newline = chunk.lastIndex(of: UInt8(ascii: "\n")) {
      unfinishedLine = Array(chunk[(newline + 1)...])
    } else {
      unfinishedLine += chunk
    }
    if unfinishedLine.count > Self.unfinishedLineLimit {
      unfinishedLine.removeFirst(unfinishedLine.count - Self.unfinishedLineLimit)
    }
  }

  var lastOutputMs: Double { lock.withLock { latestOutputMs } }

  func waitUntilDrained(timeout: Double) {
    if drained.wait(timeout: .now() + timeout) == .success { drained.signal() }
  }
}
