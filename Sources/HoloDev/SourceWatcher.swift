import Foundation
import HoloSource

/// Watches the folders of the program's source files with inotify and posts
/// `.sourcesChanged` once a burst of changes to `.holo` files has settled.
///
/// Folders, not files, are watched: editors that save by writing a temporary file and
/// renaming it over the original, or by deleting and re-creating it, replace the file's
/// inode, which would silently end a watch on the file itself.
final class SourceWatcher: @unchecked Sendable {
  private let fd: Int32
  private let events: EventQueue
  private let lock = NSLock()
  private var watched: Set<String> = []

  /// A burst of events ends after this much quiet. The events of one save (write and
  /// close, or rename into place) arrive within microseconds; this wait is part of every
  /// edit's latency, so it stays short.
  static let debounceMs: Int32 = 3
  /// A continuous stream of changes is still reported this often.
  static let maximumDelayMs = 300.0

  init(events: EventQueue) throws(Posix.Failure) {
    fd = inotify_init1(Int32(IN_CLOEXEC))
    guard fd >= 0 else { throw Posix.Failure("cannot start watching files (inotify)") }
    self.events = events
  }

  /// Watches the folders of the root file, of a program's loaded `files` and of the files
  /// its imports name (the nearest existing folder when an imported one does not exist
  /// yet), keeping those already watched. True when a folder was added: a file may have
  /// appeared there before the watch began, so the caller should look again.
  func watch(root: String, _ files: [SourceFile], imports: [String]) -> Bool {
    var folders = Set([Self.folder(of: root)] + files.map { Self.folder(of: $0.path) })
    for path in imports {
      var folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL
      while !FileManager.default.fileExists(atPath: folder.path) && folder.path != "/" {
        folder.deleteLastPathComponent()
      }
      folders.insert(folder.resolvingSymlinksInPath().path)
    }
    return lock.withLock {
      var added = false
      for folder in folders.subtracting(watched) {
        let mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
        if inotify_add_watch(fd, folder, UInt32(mask)) >= 0 {
          watched.insert(folder)
          added = true
        }
      }
      return added
    }
  }

  private static func folder(of path: String) -> String {
    URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL
      .resolvingSymlinksInPath().path
  }

  func start() {
    Thread { [self] in
      while Posix.waitReadable(fd, timeout: -1) || errno == EINTR {
        guard readRelevantChanges() else { continue }
        let burstStart = Posix.monotonicMs()
        while Posix.monotonicMs() - burstStart < Self.maximumDelayMs,
          Posix.waitReadable(fd, timeout: Self.debounceMs)
        {
          _ = readRelevantChanges()
        }
        events.post(.sourcesChanged)
      }
    }.start()
  }

  /// Reads the pending inotify events; true when one concerns a `.holo` file or a folder
  /// (a new folder may hold a file a new `import` names). A file's creation does not
  /// count: it is still empty, and the write that follows ends with IN_CLOSE_WRITE.
  private func readRelevantChanges() -> Bool {
    guard let buffer = Posix.read(fd) else { return false }
    var relevant = false
    var offset = 0
    // struct inotify_event: i32 wd, u32 mask, u32 cookie, u32 len, then len name bytes.
    let headerSize = 16
    while offset + headerSize <= buffer.count {
      let word = { (at: Int) in
        buffer[offset + at..<offset + at + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      }
      let mask = word(4)
      let length = Int(word(12))
      let nameBytes = buffer[offset + headerSize..<min(buffer.count, offset + headerSize + length)]
      let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
      if mask & UInt32(IN_ISDIR) != 0 {
        relevant = true
      } else if name.hasSuffix(".holo") && mask & UInt32(IN_CREATE) == 0 {
        relevant = true
      }
      offset += headerSize + length
    }
    return relevant
  }
}
