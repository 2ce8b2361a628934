import Foundation

/// A new empty folder of a test's own under the temporary directory, named `prefix-UUID`
/// (the test removes it in its tear-down).
func makeScratchFolder(_ prefix: String) throws -> String {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}
