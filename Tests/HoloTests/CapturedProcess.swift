import Foundation
import XCTest

/// A finished process: its exit status and what it wrote.
struct CapturedOutput {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs `executable` to completion with an empty stdin and its stdout and stderr captured in
/// files (a pipe could fill up and block it). A process still running after `timeout`
/// seconds is terminated and fails the test.
func runCapturingOutput(
  _ executable: String, _ arguments: [String], environment: [String: String],
  directory: String? = nil, timeout: TimeInterval = 60
) throws -> CapturedOutput {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  process.environment = environment
  if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
  let captures = FileManager.default.temporaryDirectory
    .appendingPathComponent("holo-captured-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: captures, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: captures) }
  let outputs = ["stdout", "stderr"].map { captures.appendingPathComponent($0) }
  for output in outputs { try Data().write(to: output) }
  let stdout = try FileHandle(forWritingTo: outputs[0])
  let stderr = try FileHandle(forWritingTo: outputs[1])
  defer {
    try? stdout.close()
    try? stderr.close()
  }
  process.standardInput = FileHandle.nullDevice
  process.standardOutput = stdout
  process.standardError = stderr
  try process.run()
  let deadline = Date().addingTimeInterval(timeout)
  while process.isRunning && Date() < deadline { usleep(10_000) }
  if process.isRunning {
    process.terminate()
    XCTFail("\(executable) \(arguments) timed out after \(timeout) s")
  }
  process.waitUntilExit()
  return CapturedOutput(
    status: process.terminationStatus,
    stdout: String(decoding: try Data(contentsOf: outputs[0]), as: UTF8.self),
    stderr: String(decoding: try Data(contentsOf: outputs[1]), as: UTF8.self))
}

/// The JSON objects of `text`, one per line (holoc's `--format json` output).
func jsonObjects(_ text: String) throws -> [[String: Any]] {
  try text.split(separator: "\n").map {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
  }
}
