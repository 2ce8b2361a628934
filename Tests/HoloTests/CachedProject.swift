import Foundation
import HoloCache

/// A temporary project folder driven through the real holoc, with build caches of its own
/// (folders inside it), so no cached result leaks between tests.
struct CachedProject {
  let path: String

  private static let holocPath = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("holoc").path

  init(named name: String) throws {
    path =
      FileManager.default.temporaryDirectory.appendingPathComponent(
        "holo-\(name)-\(UUID().uuidString)"
      ).path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }

  func write(_ text: String, to relativePath: String) throws {
    let url = URL(fileURLWithPath: "\(path)/\(relativePath)")
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
  }

  /// `holoc ARGUMENTS` in `folder` of the project, with the local build cache `cache` (a
  /// folder of the project) in front of the remote one at `remote`, if any.
  func holoc(
    _ arguments: [String], in folder: String = "", cache: String = "cache", remote: String? = nil
  ) throws -> CapturedOutput {
    var environment = ProcessInfo.processInfo.environment
    environment[BuildCache.directoryEnvironmentVariable] = "\(path)/\(cache)"
    environment[RemoteCache.urlEnvironmentVariable] = remote
    environment["NO_COLOR"] = "1"
    return try runCapturingOutput(
      Self.holocPath, arguments, environment: environment, directory: "\(path)/\(folder)")
  }
}
