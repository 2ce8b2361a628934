import Foundation

/// Every byte holoc has read from its own stdin, kept so a restarted program can be fed
/// the input its predecessor consumed. A thread reads stdin into it as input arrives.
final class InputLog: @unchecked Sendable {
  private let condition = NSCondition()
  private var bytes: [UInt8] = []
  private var ended = false

  /// Reads `fd` into the log on a thread of its own until end of file.
  func record(from fd: Int32) {
    Thread { [self] in
      while let chunk = Posix.read(fd) {
        if !chunk.isEmpty { append(chunk) }
      }
      finish()
    }.start()
  }

  func append(_ chunk: [UInt8]) {
    condition.withLock {
      bytes += chunk
      condition.broadcast()
    }
  }

  func finish() {
    condition.withLock {
      ended = true
      condition.broadcast()
    }
  }

  func bytes(in range: Range<Int>) -> [UInt8] {
    condition.withLock { Array(bytes[range.clamped(to: 0..<bytes.count)]) }
  }

  var count: Int { condition.withLock { bytes.count } }

  /// Waits until the log holds bytes past `offset`, has ended, or `stopped()` is true
  /// (re-evaluated whenever `wakeAll` is called). Returns the new bytes and whether the
  /// log has ended.
  func wait(beyond offset: Int, unless stopped: () -> Bool) -> (bytes: [UInt8], ended: Bool) {
    condition.withLock {
      while bytes.count <= offset && !ended && !stopped() { condition.wait() }
      let available = offset < bytes.count ? Array(bytes[offset...]) : []
      return (available, ended)
    }
  }

  /// Wakes every waiter so it re-evaluates its stop condition.
  func wakeAll() { condition.withLock { condition.broadcast() } }
}
