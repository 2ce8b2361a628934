import Foundation
import HoloDevABI
import HoloSource

/// What the live loop's helper threads tell the session, which handles them one at a time
/// on its own thread.
enum DevEvent: Sendable {
  /// Source files changed on disk (a debounced burst).
  case sourcesChanged
  /// A program's agent connected and said `HELLO`.
  case agentConnected(AgentConnection)
  case agentMessage(connection: Int, AgentMessage)
  case agentDisconnected(connection: Int)
  /// A program ended (`generation` numbers the programs the session started).
  case programExited(generation: Int, ProgramTermination)
  /// A background run of affected tests finished (`run` numbers the runs).
  case testsFinished(run: Int, TestRunResult)
  /// The test executable a run of tests needs was linked in the background, or could not
  /// be (the diagnostics say why).
  case testExecutableLinked(run: Int, diagnostics: [Diagnostic])
  /// holoc dev's test process ended (`generation` numbers the test processes).
  case testProcessExited(generation: Int)
  /// The `--host` executable was written (rebuilt) on disk.
  case hostChanged
  /// `holoc reset` asked, on the control socket.
  case controlRequest(ControlRequest)
  /// holoc was asked to stop (SIGINT, SIGTERM, SIGHUP).
  case terminate
}

/// A blocking first-in first-out queue of events, shared by the threads.
final class EventQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var events: [DevEvent] = []

  func post(_ event: DevEvent) {
    condition.withLock {
      events.append(event)
      condition.signal()
    }
  }

  /// The oldest event; waits for one until `deadline` (in `Posix.monotonicMs()`, nil: for
  /// ever) and returns nil when none came by then.
  func next(until deadline: Double?) -> DevEvent? {
    condition.withLock {
      while events.isEmpty {
        guard let deadline else {
          condition.wait()
          continue
        }
        let remaining = deadline - Posix.monotonicMs()
        if remaining <= 0 { return nil }
        _ = condition.wait(until: Date(timeIntervalSinceNow: remaining / 1000))
      }
      return events.removeFirst()
    }
  }

  /// Removes every queued event `matches` accepts; true when there was one.
  func removeAll(matching matches: (DevEvent) -> Bool) -> Bool {
    condition.withLock {
      let count = events.count
      events.removeAll(where: matches)
      return events.count != count
    }
  }

  /// Whether an event `matches` accepts is queued.
  func contains(matching matches: (DevEvent) -> Bool) -> Bool {
    condition.withLock { events.contains(where: matches) }
  }

  /// The oldest event `matches` accepts, leaving the others queued in order; nil when none
  /// came within `timeout` seconds.
  func take(timeout: Double, matching matches: (DevEvent) -> Bool) -> DevEvent? {
    let deadline = Date(timeIntervalSinceNow: timeout)
    return condition.withLock {
      while true {
        if let index = events.firstIndex(where: matches) { return events.remove(at: index) }
        if Date() >= deadline { return nil }
        _ = condition.wait(until: deadline)
      }
    }
  }
}
