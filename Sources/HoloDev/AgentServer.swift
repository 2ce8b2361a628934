import Foundation
import HoloDevABI

/// The Unix socket the programs' patch agents connect to, in a folder only the user can
/// enter (mkdtemp makes it 0700). Each accepted connection gets a reader thread that posts
/// its messages as events.
final class AgentServer: @unchecked Sendable {
  let socketPath: String
  private let listener: Int32
  private let events: EventQueue
  private let lock = NSLock()
  private var nextConnectionID = 0

  /// Listens on `directory/agent.sock`; `directory` must be private to the user.
  init(directory: String, events: EventQueue) throws(Posix.Failure) {
    socketPath = directory + "/agent.sock"
    self.events = events
    listener = try Posix.listen(unixSocket: socketPath)
  }

  /// Accepts connections on a thread of its own until `stop()`.
  func start() {
    Posix.acceptConnections(on: listener) { [self] fd in
      let id = lock.withLock {
        nextConnectionID += 1
        return nextConnectionID
      }
      let events = self.events
      Thread { AgentConnection.serve(fd: fd, id: id, events: events) }.start()
    }
  }

  /// Wakes the accepting thread (shutdown makes a blocked accept fail) and removes the
  /// socket file.
  func stop() {
    shutdown(listener, Int32(SHUT_RDWR))
    unlink(socketPath)
  }
}

/// One agent's connection. The reader thread owns the descriptor and closes it when the
/// connection ends; `send` and `close` may be called from the session's thread.
final class AgentConnection: @unchecked Sendable {
  let id: Int
  let processID: Int32
  private let fd: Int32
  private let lock = NSLock()
  private var closed = false

  /// Bounds an agent → daemon message (acknowledgements and status replies are small).
  private static let maximumMessage = 1 << 20

  private init(id: Int, fd: Int32, processID: Int32) {
    self.id = id
    self.fd = fd
    self.processID = processID
  }

  /// Reads `HELLO`, announces the connection, then posts every message until the
  /// connection ends.
  fileprivate static func serve(fd: Int32, id: Int, events: EventQueue) {
    // A stuck agent must not stall the session forever in a send.
    var limit = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    guard case .hello(let version, let processID)? = readMessage(fd),
      version == DevABI.protocolVersion
    else {
      Glibc.close(fd)
      return
    }
    let connection = AgentConnection(id: id, fd: fd, processID: Int32(bitPattern: processID))
    events.post(.agentConnected(connection))
    while let message = readMessage(fd) {
      events.post(.agentMessage(connection: id, message))
    }
    connection.lock.withLock {
      connection.closed = true
      Glibc.close(fd)
    }
    events.post(.agentDisconnected(connection: id))
  }

  /// The next well-formed message; nil when the connection ends or sends garbage.
  private static func readMessage(_ fd: Int32) -> AgentMessage? {
    while true {
      guard let header = Posix.readExactly(fd, 4) else { return nil }
      let length = header.reversed().reduce(0) { $0 << 8 | Int($1) }
      guard length > 0, length <= maximumMessage,
        let payload = Posix.readExactly(fd, length)
      else { return nil }
      // Unknown message types are skipped, so newer agents can add some.
      if let message = AgentMessage(payload: payload) { return message }
    }
  }

  /// Sends a framed message; false when the connection is gone.
  func send(_ frame: [UInt8]) -> Bool {
    lock.withLock { !closed && Posix.writeAll(fd, frame) }
  }

  /// Ends the connection; the reader thread then closes the descriptor.
  func close() {
    lock.withLock {
      if !closed { shutdown(fd, Int32(SHUT_RDWR)) }
    }
  }
}
