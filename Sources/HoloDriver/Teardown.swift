import Foundation

/// What `holoc run`, `test` and `build` do when a signal asks holoc to end (SIGINT,
/// SIGQUIT, SIGTERM, SIGHUP): end the children holoc started, remove its temporary
/// folders, then end by that signal, so that whoever sent it sees holoc killed by it.
///
/// While a foreground child runs (`holoc run`'s program), Ctrl-C and Ctrl-\ are the
/// program's business: the terminal sent them to it too, and it decides. SIGTERM and
/// SIGHUP are passed on to it; once it has ended and its folder is removed, holoc ends by
/// the signal it got (`endIfAsked`). A SIGKILL cannot be handled: the runtime ends the
/// children then (`ChildProcess`), and the next holoc removes the folders
/// (`TemporaryFolder`).
///
/// `holoc dev` has a shutdown of its own and does not install this.
enum Teardown {
  private static let state = State()

  /// Handles the signals from now on; once per process.
  static func install() { _ = installation }

  private static let installation: Void = {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { return }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    signalPipeWriteEnd = ends[1]
    let readEnd = ends[0]
    Thread {
      while true {
        var number: UInt8 = 0
        let count = read(readEnd, &number, 1)
        if count < 0, errno == EINTR { continue }
        guard count == 1 else { return }
        received(Int32(number))
      }
    }.start()
    for number in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = noteSignal
      sigemptyset(&action.sa_mask)
      action.sa_flags = SA_RESTART
      sigaction(number, &action, nil)
    }
  }()

  /// Runs `start` and keeps the child it returns, with no signal handled in between.
  static func tracking(_ start: () throws(SpawnError) -> ChildProcess) throws(SpawnError)
    -> ChildProcess
  {
    state.lock.lock()
    defer { state.lock.unlock() }
    let child = try start()
    state.children[ObjectIdentifier(child)] = child
    if child.job == .foreground { state.hadForeground = true }
    return child
  }

  /// A child that ended (and is being reaped).
  static func forget(_ child: ChildProcess) {
    _ = state.lock.withLock { state.children.removeValue(forKey: ObjectIdentifier(child)) }
  }

  static func track(folder path: String) { state.lock.withLock { _ = state.folders.insert(path) } }

  static func forget(folder path: String) {
    state.lock.withLock { _ = state.folders.remove(path) }
  }

  /// After a foreground child ended: if holoc got SIGTERM or SIGHUP meanwhile, it ends
  /// now, by that signal.
  static func endIfAsked() {
    if let signal = state.lock.withLock({ state.passedOn }) { end(by: signal) }
  }

  private static func received(_ signal: Int32) {
    let (foreground, hadForeground) = state.lock.withLock {
      (state.children.values.filter { $0.job == .foreground }, state.hadForeground)
    }
    // The terminal's Ctrl-C reached the foreground program too, which may already have
    // ended by it: its end decides holoc's status, not this late copy of the signal.
    if hadForeground && (signal == SIGINT || signal == SIGQUIT) { return }
    guard foreground.isEmpty else {
      if signal == SIGTERM || signal == SIGHUP {
        state.lock.withLock { state.passedOn = signal }
        foreground.forEach { $0.send(signal) }
      }
      return
    }
    end(by: signal)
  }

  private static func end(by signal: Int32) -> Never {
    state.lock.withLock {
      for child in state.children.values { child.send(SIGKILL) }
      for folder in state.folders { try? FileManager.default.removeItem(atPath: folder) }
    }
    Glibc.signal(signal, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, signal)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    kill(getpid(), signal)
    // Not reached: the default action of each handled signal ends the process.
    exit(128 + signal)
  }

  private final class State: @unchecked Sendable {
    let lock = NSLock()
    var children: [ObjectIdentifier: ChildProcess] = [:]
    var folders: Set<String> = []
    /// The SIGTERM or SIGHUP passed on to a foreground child.
    var passedOn: Int32?
    /// A foreground child was started: Ctrl-C and Ctrl-\ are its business from then on.
    var hadForeground = false
  }
}

/// Where the signal handler writes each signal's number for the thread that handles it.
/// Set once, before the handler is installed.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// The signal handler: async-signal-safe, it only writes the number into the pipe.
private func noteSignal(_ number: Int32) {
  let saved = errno
  var byte = UInt8(truncatingIfNeeded: number)
  _ = write(signalPipeWriteEnd, &byte, 1)
  errno = saved
}
