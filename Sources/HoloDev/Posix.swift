import Foundation

/// Thin wrappers over the system calls the live loop uses. Every descriptor holoc opens
/// is close-on-exec, so programs and tests inherit only what they are given.
enum Posix {
  struct Failure: Error, CustomStringConvertible {
    var description: String

    init(_ what: String, errno code: Int32 = errno) {
      description = "\(what): \(String(cString: strerror(code)))"
    }

    /// A failure already described, by a layer below.
    init(reason: String) { description = reason }
  }

  /// A pipe: (read end, write end).
  static func pipe() throws(Failure) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard Glibc.pipe(&fds) == 0 else { throw Failure("cannot create a pipe") }
    fds.forEach(closeOnExec)
    return (fds[0], fds[1])
  }

  /// Glibc's Swift overlay lacks pipe2 and accept4, so close-on-exec is set just after.
  static func closeOnExec(_ fd: Int32) { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

  static func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
  }

  /// Writes all of `bytes`; false when the descriptor fails (a closed pipe, a dead peer).
  @discardableResult
  static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, written: ((Int) -> Void)? = nil)
    -> Bool
  {
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
      let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        return false
      }
      offset += count
      written?(count)
    }
    return true
  }

  @discardableResult
  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool { writeAll(fd, bytes[...]) }

  /// Reads up to `capacity` bytes: nil on end of file or error, [] when interrupted or
  /// when a non-blocking descriptor has nothing.
  static func read(_ fd: Int32, capacity: Int = 64 * 1024) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: capacity)
    let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, capacity) }
    if count < 0 { return errno == EINTR || errno == EAGAIN ? [] : nil }
    if count == 0 { return nil }
    return Array(buffer[0..<count])
  }

  /// Reads exactly `count` bytes; nil on end of file or error.
  static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
      guard let chunk = read(fd, capacity: count - bytes.count) else { return nil }
      bytes += chunk
    }
    return bytes
  }

  /// Bytes written to a pipe and not read yet (`FIONREAD`, which Linux answers on either
  /// end of a pipe).
  static func unreadBytes(_ fd: Int32) -> Int {
    var count: Int32 = 0
    return ioctl(fd, UInt(FIONREAD), &count) == 0 ? Int(count) : 0
  }

  /// Waits until `fd` is readable or `timeout` milliseconds pass (-1: no limit).
  static func waitReadable(_ fd: Int32, timeout: Int32) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = poll(&entry, 1, timeout)
    return ready > 0
  }

  /// Accepts connections on `listener`, on a thread of its own, giving each (close-on-exec)
  /// to `accepted`, until the listener is shut down.
  static func acceptConnections(on listener: Int32, _ accepted: @escaping @Sendable (Int32) -> Void)
  {
    Thread {
      while true {
        let fd = accept(listener, nil, nil)
        if fd < 0 {
          if errno == EINTR || errno == ECONNABORTED { continue }
          return
        }
        closeOnExec(fd)
        accepted(fd)
      }
    }.start()
  }

  /// A stream socket listening at `path` (close-on-exec); its folder must be private to
  /// the user, which is what keeps others from connecting.
  static func listen(unixSocket path: String) throws(Failure) -> Int32 {
    try unixSocket(path, "cannot listen on `\(path)`") { fd, address, length in
      bind(fd, address, length) == 0 && Glibc.listen(fd, 8) == 0
    }
  }

  /// A stream socket connected to `path` (close-on-exec).
  static func connect(unixSocket path: String) throws(Failure) -> Int32 {
    try unixSocket(path, "cannot connect to `\(path)`") { fd, address, length in
      Glibc.connect(fd, address, length) == 0
    }
  }

  /// A new Unix stream socket on which `setUp` (bind and listen, or connect) succeeded
  /// with the address of `path`; `failure` says what did not.
  private static func unixSocket(
    _ path: String, _ failure: String,
    _ setUp: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool
  ) throws(Failure) -> Int32 {
    var address = try unixAddress(path)
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw Failure("cannot create a socket") }
    let done = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        setUp(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard done else {
      let error = Failure(failure)
      close(fd)
      throw error
    }
    return fd
  }

  private static func unixAddress(_ path: String) throws(Failure) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw Failure("the socket path `\(path)` is too long", errno: ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
      buffer.copyBytes(from: pathBytes)
      buffer[pathBytes.count] = 0
    }
    return address
  }

  /// Milliseconds on the monotonic clock.
  static func monotonicMs() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
  }
}

/// Milliseconds since `start` (a `Posix.monotonicMs()` value), rounded.
func elapsedMs(since start: Double) -> Int { Int((Posix.monotonicMs() - start).rounded()) }
