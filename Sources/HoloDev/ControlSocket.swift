import Foundation
import HoloDriver

/// The control socket of a running `holoc dev`, through which `holoc reset` reaches it
/// (CLI.md [live]). It lives in the session's work folder, which only the user can enter
/// (mkdtemp makes it 0700), beside the agent socket and a file naming the root file the
/// session runs, by which `holoc reset PATH` finds it.
///
/// The protocol is one request line and one answer line, tab-separated fields
/// (docs/PATCHING.md, "The control socket"): `reset` and the names of the globals to
/// reset (none: all of them), answered by `reset` and the names reset, or `error` and
/// why nothing was.
final class ControlServer: @unchecked Sendable {
  static let socketName = "control.sock"
  static let rootName = "root"

  private let socketPath: String
  private let listener: Int32
  private let events: EventQueue

  /// Listens in `directory`, which must be private to the user, for the session of
  /// `rootFile`.
  init(directory: String, rootFile: String, events: EventQueue) throws(Posix.Failure) {
    socketPath = "\(directory)/\(Self.socketName)"
    self.events = events
    let rootPath = "\(directory)/\(Self.rootName)"
    guard FileManager.default.createFile(atPath: rootPath, contents: Data(rootFile.utf8)) else {
      throw Posix.Failure("cannot write `\(rootPath)`")
    }
    listener = try Posix.listen(unixSocket: socketPath)
  }

  /// Reads each connection's request on a thread of its own and posts it to the session.
  func start() {
    let events = self.events
    Posix.acceptConnections(on: listener) { fd in
      Thread {
        guard let request = ControlRequest.read(from: fd) else {
          close(fd)
          return
        }
        events.post(.controlRequest(request))
      }.start()
    }
  }

  func stop() {
    shutdown(listener, Int32(SHUT_RDWR))
    unlink(socketPath)
  }
}

/// A request that arrived on the control socket; the session answers it once.
final class ControlRequest: @unchecked Sendable {
  /// Re-run the initializers of these globals (empty: all), in the running program.
  let globals: [String]
  private let fd: Int32

  /// How long a client may take to send its request.
  private static let readTimeoutMs: Int32 = 5000

  private init(globals: [String], fd: Int32) {
    self.globals = globals
    self.fd = fd
  }

  fileprivate static func read(from fd: Int32) -> ControlRequest? {
    guard let fields = ControlProtocol.readLine(from: fd, timeoutMs: readTimeoutMs),
      fields.first == ControlProtocol.reset
    else { return nil }
    return ControlRequest(globals: Array(fields.dropFirst()), fd: fd)
  }

  /// Answers that `globals` were reset.
  func answerReset(_ globals: [String]) { answer([ControlProtocol.reset] + globals) }

  /// Answers that nothing was reset, and why.
  func answerError(_ reason: String) { answer([ControlProtocol.error, reason]) }

  private func answer(_ fields: [String]) {
    Posix.writeAll(fd, ControlProtocol.line(fields))
    close(fd)
  }
}

/// The control socket's lines: tab-separated fields, ended by a newline.
enum ControlProtocol {
  static let reset = "reset"
  static let error = "error"
  /// The longest line read: a few names, or a reason.
  private static let maximumLength = 64 * 1024

  static func line(_ fields: [String]) -> [UInt8] {
    let text = fields.map { $0.replacingOccurrences(of: "\n", with: " ") }
    return Array((text.joined(separator: "\t") + "\n").utf8)
  }

  /// The fields of the next line from `fd`; nil when none came within `timeoutMs`, the
  /// peer hung up first, or the line is too long.
  static func readLine(from fd: Int32, timeoutMs: Int32) -> [String]? {
    var bytes: [UInt8] = []
    while !bytes.contains(UInt8(ascii: "\n")) {
      guard bytes.count < maximumLength, Posix.waitReadable(fd, timeout: timeoutMs),
        let more = Posix.read(fd), !more.isEmpty
      else { return nil }
      bytes += more
    }
    let line = bytes[..<bytes.firstIndex(of: UInt8(ascii: "\n"))!]
    return String(decoding: line, as: UTF8.self).split(
      separator: "\t", omittingEmptySubsequences: false
    ).map(String.init)
  }
}

/// `holoc reset`: asks the `holoc dev` running a root file to reset globals.
enum ControlClient {
  enum Outcome: Equatable {
    /// The globals reset, in the program's order.
    case reset([String])
    /// Nothing was reset: why.
    case failed(String)
  }

  /// How long the running session may take to answer (it compiles and applies a patch).
  private static let answerTimeoutMs: Int32 = 30_000

  /// Resets `globals` (empty: all) in the program `holoc dev` runs for `rootFile`.
  static func reset(rootFile: String, globals: [String]) -> Outcome {
    guard let socket = socketOfSession(running: rootFile) else {
      return .failed("no `holoc dev` is running \(rootFile)")
    }
    let fd: Int32
    do throws(Posix.Failure) {
      fd = try Posix.connect(unixSocket: socket)
    } catch {
      return .failed("no `holoc dev` is running \(rootFile) (\(error.description))")
    }
    defer { close(fd) }
    guard Posix.writeAll(fd, ControlProtocol.line([ControlProtocol.reset] + globals)) else {
      return .failed("the `holoc dev` running \(rootFile) hung up")
    }
    guard let fields = ControlProtocol.readLine(from: fd, timeoutMs: answerTimeoutMs) else {
      return .failed("the `holoc dev` running \(rootFile) did not answer")
    }
    switch fields.first {
    case ControlProtocol.reset: return .reset(Array(fields.dropFirst()))
    case ControlProtocol.error: return .failed(fields.dropFirst().joined(separator: " "))
    default: return .failed("the `holoc dev` running \(rootFile) gave an answer holoc cannot read")
    }
  }

  /// The control socket of a session of this user's running `rootFile`: in a work folder
  /// the user owns and nobody else may enter, whose root file names `rootFile`.
  private static func socketOfSession(running rootFile: String) -> String? {
    for folder in TemporaryFolder.existingFolders() {
      var status = stat()
      guard lstat(folder, &status) == 0, status.st_uid == getuid(),
        status.st_mode & S_IFMT == S_IFDIR, status.st_mode & 0o077 == 0,
        let root = FileManager.default.contents(atPath: "\(folder)/\(ControlServer.rootName)"),
        String(decoding: root, as: UTF8.self) == rootFile
      else { continue }
      let socket = "\(folder)/\(ControlServer.socketName)"
      if FileManager.default.fileExists(atPath: socket) { return socket }
    }
    return nil
  }
}
