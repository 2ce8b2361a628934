import Foundation

/// The source store of the files on disk: it answers a database's requests by reading the
/// files, and tells it which files changed. The only code in HoloSema that does I/O.
public struct DiskSources {
  public init() {}

  /// Tells `database` the current text of `changedPaths` (read again from disk), then of
  /// every file it requests, until it requests none.
  public func update(_ database: ProgramDatabase, changedPaths: [String] = []) {
    var changes = changedPaths.map(Self.read)
    var told = Set(changedPaths)
    while true {
      database.apply(changes)
      let requested = database.requestedFiles.filter { told.insert($0).inserted }
      if requested.isEmpty { return }
      changes = requested.map(Self.read)
    }
  }

  private static func read(_ path: String) -> SourceChange {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      !isDirectory.boolValue,
      let data = FileManager.default.contents(atPath: path)
    else { return .absent(path: path) }
    return .text(path: path, String(decoding: data, as: UTF8.self))
  }
}
