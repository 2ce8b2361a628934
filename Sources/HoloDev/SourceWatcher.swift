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
  /// The folder of each watch descriptor.
  private var folders: [Int32: String] = [:]
  /// The files and imports `watch` was last asked for: asked again, nothing is looked up
  /// (until a folder appears or goes, which may be one an import names).
  private var lastRequest: [String] = []
  /// The `.holo` files changed since `takeChangedFiles`, as `path(of:)` names them; nil
  /// when an event named no file (a folder changed, or the kernel's queue overflowed).
  private var changedFiles: Set<String>? = []
  /// `--host`: the host executable, whose rewriting (a rebuild) is reported as `.hostChanged`.
  private var hostFile: (watch: Int32, name: String)?
  /// True while a burst is being collected: a newer save is on its way.
  private var collecting = false

  /// A burst of events ends after this much quiet. The events of one save (write and
  /// close, or rename into place) arrive within microseconds; this wait is part of every
  /// edit's latency, so it stays short. (A save split by it is analysed twice, and the
  /// first analysis is dropped when the second part is already on its way.)
  static let debounceMs: Int32 = 1
  /// A save less than this after the previous burst was reported belongs to a series of
  /// saves (a formatter, a script, an editor saving all files): the series is collected
  /// with `seriesQuietMs` of quiet, so it becomes one change of the final text. A lone
  /// save waits only `debounceMs`.
  static let seriesGapMs = 50.0
  static let seriesQuietMs: Int32 = 30
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
    let request = [root] + files.map(\.path) + [""] + imports
    // Set first: a folder event from now on makes the next call look again.
    let isRepeated = lock.withLock {
      defer { lastRequest = request }
      return request == lastRequest
    }
    guard !isRepeated else { return false }
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
        let watch = inotify_add_watch(fd, folder, UInt32(mask))
        if watch >= 0 {
          watched.insert(folder)
          self.folders[watch] = folder
          added = true
        } else {
          // Tried again on the next call (the kernel's limit may have been raised).
          lastRequest = []
        }
      }
      return added
    }
  }

  /// Also watches `path` (the `--host` executable) for being rewritten.
  func watchHost(_ path: String) {
    let folder = Self.folder(of: path)
    let name = URL(fileURLWithPath: path).lastPathComponent
    lock.withLock {
      // Adding a folder watched already returns its watch descriptor again.
      let mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
      let watch = inotify_add_watch(fd, folder, UInt32(mask))
      guard watch >= 0 else { return }
      watched.insert(folder)
      folders[watch] = folder
      hostFile = (watch, name)
    }
  }

  /// Whether a change is being collected: whatever the session is about to apply is
  /// already outdated, and a `.sourcesChanged` follows.
  var hasPendingChanges: Bool { lock.withLock { collecting } }

  /// The `.holo` files changed since the last call, as `SourceWatcher.path(of:)` names
  /// them; nil when some change named no file: then any file may have changed.
  func takeChangedFiles() -> Set<String>? {
    lock.withLock {
      defer { changedFiles = [] }
      return changedFiles
    }
  }

  /// `path` as the watcher names it in `takeChangedFiles`: in its folder with symbolic
  /// links resolved.
  static func path(of path: String) -> String {
    folder(of: path) + "/" + URL(fileURLWithPath: path).lastPathComponent
  }

  private static func folder(of path: String) -> String {
    URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL
      .resolvingSymlinksInPath().path
  }

  func start() {
    Thread { [self] in
      var lastReportMs = -Double.infinity
      while Posix.waitReadable(fd, timeout: -1) || errno == EINTR {
        let (sources, host) = readRelevantChanges()
        if host { events.post(.hostChanged) }
        guard sources else { continue }
        lock.withLock { collecting = true }
        let burstStart = Posix.monotonicMs()
        let quiet =
          burstStart - lastReportMs < Self.seriesGapMs ? Self.seriesQuietMs : Self.debounceMs
        while Posix.monotonicMs() - burstStart < Self.maximumDelayMs,
          Posix.waitReadable(fd, timeout: quiet)
        {
          if readRelevantChanges().host { events.post(.hostChanged) }
        }
        lastReportMs = Posix.monotonicMs()
        // Cleared first: a session that sees the event must not find itself superseded.
        lock.withLock { collecting = false }
        events.post(.sourcesChanged)
      }
    }.start()
  }

  /// Reads the pending inotify events: whether one concerns a `.holo` file or a folder
  /// (a new folder may hold a file a new `import` names), and whether the host executable
  /// was written or moved into place. A file's creation does not count: it is still
  /// empty, and the write that follows ends with IN_CLOSE_WRITE.
  private func readRelevantChanges() -> (sources: Bool, host: Bool) {
    guard let buffer = Posix.read(fd) else { return (false, false) }
    let (host, folders) = lock.withLock { (hostFile, self.folders) }
    var changed: Set<String>? = []
    var relevant = false
    var hostWritten = false
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
      let watch = Int32(bitPattern: word(0))
      if mask & UInt32(IN_ISDIR) != 0 || mask & UInt32(IN_Q_OVERFLOW) != 0 {
        relevant = true
        changed = nil
      } else if name.hasSuffix(".holo") && mask & UInt32(IN_CREATE) == 0 {
        relevant = true
        if let folder = folders[watch] {
          changed?.insert(folder + "/" + name)
        } else {
          changed = nil
        }
      } else if let host, watch == host.watch, name == host.name,
        mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0
      {
        hostWritten = true
      }
      offset += headerSize + length
    }
    if relevant {
      lock.withLock {
        if let files = changed {
          changedFiles?.formUnion(files)
        } else {
          changedFiles = nil
          lastRequest = []
        }
      }
    }
    return (relevant, hostWritten)
  }
}
