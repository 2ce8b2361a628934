import Foundation

/// Feeds a program's stdin pipe from the input log, on a thread of its own, and counts
/// what the program consumed.
///
/// A replay (the bytes a previous run consumed) is written first, with the program's
/// output suppressed. The replay is over once the program has read every replayed byte
/// from the pipe and then either blocks reading stdin again (it has handled all of it:
/// the runtime flushes its output before it reads), or has written nothing for
/// `quietMs`, or `capMs` have passed, or it ended. Then the output written so far is
/// dropped, later output passes through, and live input follows.
final class StdinFeeder: @unchecked Sendable {
  private let log: InputLog
  private let input: InputPlan
  private let writeEnd: Int32
  /// A read end of the same pipe, kept to ask how many bytes are still unread.
  private let probe: Int32
  private let processID: pid_t
  private let lock = NSLock()
  private var delivered = 0
  private var stopping = false
  private var writeEndClosed = false
  private let done = DispatchSemaphore(value: 0)

  static let quietMs = 500.0
  static let capMs = 3000.0

  init(log: InputLog, input: InputPlan, writeEnd: Int32, probe: Int32, processID: pid_t) {
    self.log = log
    self.input = input
    self.writeEnd = writeEnd
    self.probe = probe
    self.processID = processID
    Posix.setNonBlocking(writeEnd)
  }

  func start(_ process: ProgramProcess) {
    Thread { [self] in
      feed(process)
      done.signal()
    }.start()
  }

  /// Stops feeding and returns how many bytes the program consumed (read from the pipe).
  func finish() -> Int {
    lock.withLock { stopping = true }
    log.wakeAll()
    done.wait()
    let consumed = lock.withLock { delivered } - Posix.unreadBytes(probe)
    if !writeEndClosed { close(writeEnd) }
    close(probe)
    return max(0, consumed)
  }

  private var isStopping: Bool { lock.withLock { stopping } }

  private func feed(_ process: ProgramProcess) {
    if input.replayLength > 0 {
      let replay = log.bytes(in: input.base..<input.base + input.replayLength)
      guard write(replay[...]) else { return }
      waitUntilReplayConsumed(process)
      process.endSuppression()
    }
    var position = input.base + lock.withLock { delivered }
    while true {
      let (bytes, ended) = log.wait(beyond: position) { self.isStopping }
      if isStopping { return }
      if bytes.isEmpty && ended {
        // All input delivered: the program sees end of file.
        close(writeEnd)
        writeEndClosed = true
        return
      }
      guard write(bytes[...]) else { return }
      position += bytes.count
    }
  }

  /// Writes to the non-blocking pipe, waiting for room; false when the program is gone or
  /// the feeder is stopping.
  private func write(_ bytes: ArraySlice<UInt8>) -> Bool {
    var rest = bytes
    while !rest.isEmpty {
      if isStopping { return false }
      let count = rest.withUnsafeBytes { Glibc.write(writeEnd, $0.baseAddress, $0.count) }
      if count > 0 {
        lock.withLock { delivered += count }
        rest = rest.dropFirst(count)
      } else if count < 0 && (errno == EAGAIN || errno == EINTR) {
        var entry = pollfd(fd: writeEnd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&entry, 1, 50)
      } else {
        return false
      }
    }
    return true
  }

  private func waitUntilReplayConsumed(_ process: ProgramProcess) {
    var consumedAt: Double?
    while !isStopping && !process.hasExited {
      let now = Posix.monotonicMs()
      if Posix.unreadBytes(probe) == 0 {
        let since = consumedAt ?? now
        consumedAt = since
        if isBlockedReadingStdin() || now - max(since, process.lastOutputMs) >= Self.quietMs
          || now - since >= Self.capMs
        {
          return
        }
      }
      usleep(5000)
    }
  }

  /// Whether the program's main thread sits in `read(0, ...)`: /proc/PID/syscall starts
  /// with the system call number (0 is read on x86-64) and its first argument.
  private func isBlockedReadingStdin() -> Bool {
    guard
      let data = FileManager.default.contents(
        atPath: "/proc/\(processID)/task/\(processID)/syscall")
    else { return false }
    let fields = String(decoding: data, as: UTF8.self).split(separator: " ")
    return fields.count > 1 && fields[0] == "0" && fields[1] == "0x0"
  }
}
