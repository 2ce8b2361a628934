import Foundation

/// Runs child processes: the C compiler, the archiver, built programs and their tests.
enum Subprocess {
  enum Termination: Equatable {
    case exited(Int32)
    case signalled(Int32)
    /// Killed by us after the time limit.
    case timedOut
  }

  enum Output {
    /// The child shares holoc's stdout and stderr.
    case inherit
    /// stdout and stderr both go to this file, interleaved as written.
    case file(String)
  }

  /// Runs `executable` to completion (or until `timeout` seconds pass, then kills it) as
  /// `job` (`ChildProcess.Job`). With `inheritInput` false the child reads from /dev/null.
  static func run(
    _ executable: String, _ arguments: [String],
    environment: [String: String] = ProcessInfo.processInfo.environment, inheritInput: Bool = true,
    output: Output = .inherit, job: ChildProcess.Job,
    timeout: Double? = nil, cancellation: TestCancellation? = nil
  ) throws(SpawnError) -> Termination {
    var streams: [Int32?] = [nil, nil, nil]
    var opened: [Int32] = []
    defer { opened.forEach { close($0) } }
    if !inheritInput {
      let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
      guard null >= 0 else { throw SpawnError(description: "cannot open /dev/null") }
      opened.append(null)
      streams[0] = null
    }
    if case .file(let path) = output {
      let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard file >= 0 else { throw SpawnError(description: "cannot create `\(path)`") }
      opened.append(file)
      streams[1] = file
      streams[2] = file
    }
    let child = try ChildProcess.start(
      executable, arguments, environment: environment, standardStreams: streams, job: job)
    if cancellation?.started(child) == false { child.send(SIGKILL) }
    defer { cancellation?.ended(child) }
    let expired = ExpiryFlag()
    let limit = DispatchWorkItem {
      expired.set()
      child.send(SIGKILL)
    }
    if let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: limit) }
    let ending = child.wait()
    limit.cancel()
    if expired.isSet { return .timedOut }
    switch ending {
    case .exited(let status): return .exited(status)
    case .signalled(let signal): return .signalled(signal)
    }
  }

  /// Runs `executable` to completion and returns its stdout and stderr, interleaved.
  static func capture(
    _ executable: String, _ arguments: [String], currentDirectory: String? = nil
  ) throws(SpawnError) -> (Termination, String) {
    let process = makeProcess(executable, arguments, nil, currentDirectory)
    let pipe = Pipe()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = pipe
    process.standardError = pipe
    try launch(process, executable)
    // Drain before waiting: a child blocked on a full pipe would never exit.
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (termination(of: process), String(decoding: data, as: UTF8.self))
  }

  /// The full path of `name` found in `PATH`, or nil.
  static func findExecutable(_ name: String, environment: [String: String]) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  private static func makeProcess(
    _ executable: String, _ arguments: [String], _ environment: [String: String]?,
    _ currentDirectory: String?
  ) -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory {
      process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory, isDirectory: true)
    }
    return process
  }

  private static func launch(_ process: Process, _ executable: String) throws(SpawnError) {
    do {
      try process.run()
    } catch {
      throw SpawnError(description: "cannot run `\(executable)`: \(error.localizedDescription)")
    }
  }

  private static func termination(of process: Process) -> Termination {
    switch process.terminationReason {
    case .exit: return .exited(process.terminationStatus)
    case .uncaughtSignal: return .signalled(process.terminationStatus)
    @unknown default: return .exited(process.terminationStatus)
    }
  }

  /// "Segmentation fault (signal 11)".
  static func describe(signal number: Int32) -> String {
    let name = strsignal(number).map { String(cString: $0) } ?? "signal"
    return "\(name) (signal \(number))"
  }
}

/// Whether a child's time limit passed: set by the timer, read by the thread that waits.
private final class ExpiryFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false

  func set() { lock.withLock { value = true } }
  var isSet: Bool { lock.withLock { value } }
}
