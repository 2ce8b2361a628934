import Foundation
import XCTest

/// An nginx WebDAV share on loopback, the remote cache of the tests: started by
/// toolchain/nginx-cache.sh in `directory` (its files and its `access.log` there), stopped
/// when `test` ends.
enum NginxShare {
  private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("toolchain/nginx-cache.sh").path

  /// The share's URL.
  static func start(in directory: String, for test: XCTestCase) throws -> String {
    let environment = ProcessInfo.processInfo.environment
    let started = try runCapturingOutput(
      "/bin/bash", [script, "start", directory], environment: environment)
    test.addTeardownBlock {
      _ = try? runCapturingOutput(
        "/bin/bash", [script, "stop", directory], environment: environment)
    }
    guard started.status == 0 else {
      XCTFail(
        "toolchain/nginx-cache.sh could not start nginx (run toolchain/setup.sh, which installs it): \(started.stderr)"
      )
      throw XCTSkip("no nginx")
    }
    return started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
