import Foundation
import HoloDevABI

/// A child process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
  public var description: String
}

/// A program, test or C host holoc started, until holoc has reaped it. Until then its
/// process ID, and the process group of a background job, cannot belong to anyone else,
/// so signalling it reaches it and nothing else.
///
/// Every child is told holoc's process ID (`HOLO_PARENT_PID`): the runtime then has the
/// kernel kill it when holoc ends, however holoc ends (`holo_die_with_parent`,
/// runtime/src/entry.c). The kernel ties that to the *thread* that started the child, so
/// a child must be started on a thread that outlives it: every caller waits for its
/// child on the thread that started it, or starts it on a thread that lives as long as
/// holoc.
public final class ChildProcess: @unchecked Sendable {
  /// Which signals reach the child besides holoc's.
  public enum Job: Sendable {
    /// In holoc's process group, like a shell's foreground job: Ctrl-C and Ctrl-\ in the
    /// terminal reach the child itself, and holoc passes SIGTERM and SIGHUP on to it.
    case foreground
    /// In a process group of its own, which holoc signals as a whole: it hears nothing
    /// from the terminal, and holoc kills it when holoc is interrupted.
    case background
  }

  public enum Ending: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)
  }

  public let processID: pid_t
  public let job: Job
  private let lock = NSLock()
  private var ended = false

  /// The environment variable that names holoc's process ID to the runtime.
  static let parentVariable = DevABI.Environment.parentProcessID

  private init(processID: pid_t, job: Job) {
    self.processID = processID
    self.job = job
  }

  /// Starts `executable` with `arguments` and `environment` (plus `HOLO_PARENT_PID`).
  /// `standardStreams` are the descriptors that become the child's stdin, stdout and
  /// stderr; nil keeps holoc's. The child starts with no signal blocked and with the
  /// default action for the signals holoc handles or ignores.
  public static func start(
    _ executable: String, _ arguments: [String], environment: [String: String],
    standardStreams: [Int32?], job: Job
  ) throws(SpawnError) -> ChildProcess {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (target, source) in standardStreams.enumerated() {
      if let source { posix_spawn_file_actions_adddup2(&actions, source, Int32(target)) }
    }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if job == .background {
      posix_spawnattr_setpgroup(&attributes, 0)
      flags |= POSIX_SPAWN_SETPGROUP
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))

    var environment = environment
    environment[parentVariable] = String(getpid())
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var processID: pid_t = 0
    // Started and tracked at once, so that no signal holoc handles falls in between.
    return try Teardown.tracking { () throws(SpawnError) in
      let status = posix_spawn(&processID, executable, &actions, &attributes, argv, envp)
      guard status == 0 else {
        throw SpawnError(
          description: "cannot run `\(executable)`: \(String(cString: strerror(status)))")
      }
      return ChildProcess(processID: processID, job: job)
    }
  }

  /// Sends `signal` to the child, or to its whole process group for a background job;
  /// nothing once it ended.
  public func send(_ signal: Int32) {
    lock.withLock {
      guard !ended else { return }
      _ = kill(job == .background ? -processID : processID, signal)
    }
  }

  /// Waits until the child ends, then reaps it.
  public func wait() -> Ending {
    var information = siginfo_t()
    // WNOWAIT: the child stays a zombie, its process ID taken, until `ended` is set.
    while waitid(P_PID, id_t(processID), &information, WEXITED | WNOWAIT) != 0, errno == EINTR {}
    lock.withLock { ended = true }
    Teardown.forget(self)
    var status: Int32 = 0
    while waitpid(processID, &status, 0) < 0, errno == EINTR {}
    // The WIFEXITED family are macros Swift does not import.
    let signal = status & 0x7f
    return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
  }
}
