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

  struct SpawnError: Error, CustomStringConvertible {
    var description: String
  }

  /// Runs `executable` to completion (or until `timeout` seconds pass, then kills it).
  /// With `inheritInput` false the child reads from /dev/null. With `ignoringInterrupts`,
  /// holoc ignores Ctrl-C while the child runs so that the child alone decides what to do.
  static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    currentDirectory: String? = nil, inheritInput: Bool = true, output: Output = .inherit,
    timeout: Double? = nil, ignoringInterrupts: Bool = false,
    cancellation: TestCancellation? = nil
  ) throws(SpawnError) -> Termination {
    let process = makeProcess(executable, arguments, environment, currentDirectory)
    if !inheritInput { process.standardInput = FileHandle.nullDevice }
    var outputHandle: FileHandle?
    if case .file(let path) = output {
      guard FileManager.default.createFile(atPath: path, contents: nil),
        let handle = FileHandle(forWritingAtPath: path)
      else { throw SpawnError(description: "cannot create `\(path)`") }
      process.standardOutput = handle
      process.standardError = handle
      outputHandle = handle
    }
    defer { try? outputHandle?.close() }
    let finished = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in finished.signal() }
    try launch(process, executable)
    let processID = process.processIdentifier
    if cancellation?.started(processID) == false { kill(processID, SIGKILL) }
    defer { cancellation?.ended(processID) }
    if ignoringInterrupts { signal(SIGINT, SIG_IGN) }
    defer { if ignoringInterrupts { signal(SIGINT, SIG_DFL) } }
    if let timeout {
      if finished.wait(timeout: .now() + timeout) == .timedOut {
        kill(process.processIdentifier, SIGKILL)
        finished.wait()
        return .timedOut
      }
    } else {
      finished.wait()
    }
    return termination(of: process)
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
