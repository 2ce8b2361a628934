import Foundation

/// A folder only the user can enter (mkdtemp, mode 0700) for the files of one command:
/// executables, failure reports, test output, `holoc dev`'s agent socket. Its path is
/// short (the socket's must fit in 108 bytes): `$TMPDIR/holoc.XXXXXX`, or under /tmp when
/// TMPDIR is unset, empty or longer than 60 bytes.
///
/// holoc holds an exclusive `flock` on each of its folders while it lives; the kernel
/// drops the lock when holoc's process ends, however it ends. holoc removes its folders
/// itself, also when a signal ends it (`Teardown`), but not when it is killed with
/// SIGKILL: so the first folder a holoc makes is preceded by removing every
/// `holoc.XXXXXX` folder of the user's that nobody holds a lock on.
public final class TemporaryFolder: @unchecked Sendable {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  public let path: String
  /// The open folder the lock is held on.
  private let descriptor: Int32

  private static let prefix = "holoc."
  private static let template = prefix + "XXXXXX"

  private init(path: String, descriptor: Int32) {
    self.path = path
    self.descriptor = descriptor
  }

  /// Makes a new folder.
  public static func create() throws(Failure) -> TemporaryFolder {
    let base = baseDirectory
    _ = abandonedFoldersRemoved
    // A folder can only be taken for abandoned between mkdtemp and the lock: then it is
    // gone once the lock is held, and another one is made.
    for _ in 0..<10 {
      var template = Array("\(base)/\(Self.template)".utf8CString)
      guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) })
      else {
        throw Failure(
          description: "cannot create a folder in `\(base)`: \(String(cString: strerror(errno)))")
      }
      let path = String(cString: made)
      let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      guard descriptor >= 0 else { continue }
      while flock(descriptor, LOCK_EX) != 0, errno == EINTR {}
      guard isFolder(descriptor, at: path) else {
        close(descriptor)
        continue
      }
      Teardown.track(folder: path)
      return TemporaryFolder(path: path, descriptor: descriptor)
    }
    throw Failure(description: "cannot keep a folder in `\(base)`: it is removed as it is made")
  }

  /// Removes the folder and everything in it.
  public func remove() {
    try? FileManager.default.removeItem(atPath: path)
    Teardown.forget(folder: path)
    close(descriptor)
  }

  /// The folders of holoc processes in the folder they are made in (any user's, abandoned
  /// ones included): where a client looks for a running `holoc dev`.
  public static func existingFolders() -> [String] {
    let base = baseDirectory
    let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
    return names.filter { $0.hasPrefix(prefix) && $0.utf8.count == template.utf8.count }.sorted()
      .map { "\(base)/\($0)" }
  }

  private static var baseDirectory: String {
    let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    return base.isEmpty || base.utf8.count > 60 ? "/tmp" : base
  }

  /// Once per process, before its first folder.
  private static let abandonedFoldersRemoved: Void = {
    for path in existingFolders() {
      let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      guard descriptor >= 0 else { continue }
      defer { close(descriptor) }
      var status = stat()
      guard fstat(descriptor, &status) == 0, status.st_uid == getuid(),
        flock(descriptor, LOCK_EX | LOCK_NB) == 0, isFolder(descriptor, at: path)
      else { continue }
      try? FileManager.default.removeItem(atPath: path)
    }
  }()

  /// Whether `path` still names the folder open as `descriptor`.
  private static func isFolder(_ descriptor: Int32, at path: String) -> Bool {
    var opened = stat()
    var named = stat()
    return fstat(descriptor, &opened) == 0 && lstat(path, &named) == 0
      && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
  }
}
