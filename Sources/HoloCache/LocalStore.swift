import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The local cache directory, laid out like Bazel's disk cache:
///
///     DIR/cas/ab/abcd…   blobs, each named by the SHA-256 of its contents
///     DIR/ac/ab/abcd…    action results, each named by its key's digest
///     DIR/trim.lock      held while one process evicts; its mtime is the last trim
///
/// A blob is stored as it is, as Bazel's disk cache stores it: its name is its checksum,
/// and a linker can read an object straight from the store (`link`). An action result is
/// framed by `EntryFormat`, which holds its checksum. An entry is written to a temporary
/// file in its final folder and renamed into place, so readers see either no entry or a
/// whole one, whatever other processes do at the same time; a damaged entry (a crash of
/// the machine, a disk error, a stray edit) fails its checksum, is deleted, and reads as a
/// miss.
final class LocalStore: Sendable {
  enum Kind: String, CaseIterable, Sendable {
    /// The content-addressed store: blobs named by their own digest.
    case cas
    /// The action cache: action results named by their key.
    case ac
  }

  let directory: String
  let sizeLimit: UInt64
  /// Entries are sharded by the first hex digit of their name: 16 folders per kind. A cold
  /// build stores hundreds of entries, and creating a folder costs ext4 a millisecond (it
  /// spreads folders over block groups), so Bazel's 256 shards cost a cold 50,000-function
  /// build a few tenths of a second; 16 keep each folder small enough for any cache size.
  static let shardLength = 1

  private struct State {
    var bytesStoredSinceTrim: UInt64 = 0
    var hasStored = false
    var temporaryFileCount: UInt64 = 0
    var discardedEntries = 0
  }

  private let state = Mutex(State())

  /// A temporary file this old belongs to a writer that died; trimming removes it.
  private static let staleTemporaryAge: Int64 = 3600 * 1_000_000_000
  /// A process's first store trims when no process trimmed for this long.
  private static let trimInterval: Int64 = 3600 * 1_000_000_000

  init(directory: String, sizeLimit: UInt64) {
    self.directory = directory
    self.sizeLimit = sizeLimit
  }

  /// How many damaged entries this store has found and deleted.
  var discardedEntries: Int { state.withLock { $0.discardedEntries } }

  // MARK: Reading and writing

  /// The payload of the entry `name` of `kind`, or nil when there is none or it is damaged
  /// (then it is deleted). A hit marks the entry as recently used.
  func read(_ kind: Kind, _ name: ContentDigest) -> [UInt8]? {
    let path = entryPath(kind, name)
    let file = open(path, O_RDONLY | O_CLOEXEC)
    guard file >= 0 else { return nil }
    defer { close(file) }
    var info = stat()
    guard fstat(file, &info) == 0 else { return nil }
    if let entry = readAll(file, size: Int(info.st_size)) {
      let payload =
        kind == .cas
        ? (ContentDigest(of: entry) == name ? entry : nil) : EntryFormat.payload(of: entry)?.payload
      if let payload {
        var times = [currentTime(), currentTime()]
        futimens(file, &times)
        return payload
      }
    }
    discard(path, info)
    return nil
  }

  /// Makes `path` (a new name) the blob `name`: a hard link to the stored file, checked
  /// against its name, or a copy of it when the store is on another file system. False
  /// when there is no such blob or it is damaged (then it is deleted). A hit marks the
  /// blob as recently used. The link is the caller's: a concurrent trim or clean removes
  /// the store's name of the file, never the file.
  func link(_ name: ContentDigest, to path: String) -> Bool {
    let entry = entryPath(.cas, name)
    guard Glibc.link(entry, path) == 0 else {
      guard errno == EXDEV || errno == EPERM || errno == EMLINK, let bytes = read(.cas, name)
      else { return false }
      return writeNew(path, bytes)
    }
    let file = open(path, O_RDONLY | O_CLOEXEC)
    guard file >= 0 else {
      unlink(path)
      return false
    }
    defer { close(file) }
    var info = stat()
    guard fstat(file, &info) == 0 else {
      unlink(path)
      return false
    }
    guard Self.hash(file, size: Int(info.st_size)) == name else {
      unlink(path)
      discard(entry, info)
      return false
    }
    var times = [currentTime(), currentTime()]
    futimens(file, &times)
    return true
  }

  /// Stores the file at `path` as a blob: a hard link to it when the store is on its file
  /// system, else a copy by the kernel (an executable's megabytes never pass through
  /// memory); its digest, or nil when it cannot be read. A blob already stored is only
  /// marked as recently used. A linked file changed in place later (it should be replaced,
  /// as a linker replaces its output) is caught by the check every read of a blob makes,
  /// and discarded.
  func writeBlob(from path: String) -> (digest: ContentDigest, size: UInt64)? {
    let source = open(path, O_RDONLY | O_CLOEXEC)
    guard source >= 0 else { return nil }
    defer { close(source) }
    var info = stat()
    guard fstat(source, &info) == 0, let digest = Self.hash(source, size: Int(info.st_size))
    else { return nil }
    let size = UInt64(info.st_size)
    var times = [currentTime(), currentTime()]
    if utimensat(AT_FDCWD, entryPath(.cas, digest), &times, 0) != 0,
      !linkEntry(.cas, digest, size: size, to: path)
    {
      writeEntry(.cas, digest, size: size) { file in
        var copied: UInt64 = 0
        while copied < size {
          let count = sendfile(file, source, nil, Int(size - copied))
          if count < 0 && errno == EINTR { continue }
          guard count > 0 else { return false }
          copied += UInt64(count)
        }
        return true
      }
    }
    return (digest, size)
  }

  /// The digest of the `size` bytes of `file`, read through a mapping (an executable's
  /// megabytes are not copied); nil when it cannot be read.
  private static func hash(_ file: Int32, size: Int) -> ContentDigest? {
    guard size > 0 else { return ContentDigest(of: []) }
    guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, file, 0), mapped != MAP_FAILED
    else { return nil }
    defer { munmap(mapped, size) }
    return ContentDigest(of: UnsafeRawBufferPointer(start: mapped, count: size))
  }

  /// Stores `payload` as the entry `name` of `kind`, replacing any entry of that name.
  /// Fails silently (the entry is then simply not cached) when the folder cannot be written.
  func write(_ kind: Kind, _ name: ContentDigest, _ payload: [UInt8]) {
    let header =
      kind == .cas
      ? [] : EntryFormat.header(payloadCount: payload.count, digest: ContentDigest(of: payload))
    writeEntry(kind, name, size: UInt64(header.count + payload.count)) { file in
      writeAll(file, header) && writeAll(file, payload)
    }
  }

  /// Writes the entry `name` of `kind`, `size` bytes that `fill` writes to the file it is
  /// given, to a temporary file in its folder and renames it into place.
  private func writeEntry(
    _ kind: Kind, _ name: ContentDigest, size: UInt64, _ fill: (Int32) -> Bool
  ) {
    placeEntry(kind, name, size: size) { temporaryPath in
      let file = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
      guard file >= 0 else { return false }
      let written = fill(file)
      close(file)
      if !written { unlink(temporaryPath) }
      return written
    }
  }

  /// Makes the file at `source` the entry `name` of `kind`, `size` bytes, by a hard link
  /// renamed into place; false when the file system will not link it there (another file
  /// system), and nothing was stored.
  private func linkEntry(_ kind: Kind, _ name: ContentDigest, size: UInt64, to source: String)
    -> Bool
  {
    placeEntry(kind, name, size: size) { Glibc.link(source, $0) == 0 }
  }

  /// Stores the entry `name` of `kind`, `size` bytes, that `make` creates at the temporary
  /// path it is given in the entry's folder (false, with `errno` set, when it could not;
  /// it leaves nothing there then), by renaming it into place; true when it is stored.
  @discardableResult
  private func placeEntry(
    _ kind: Kind, _ name: ContentDigest, size: UInt64, _ make: (String) -> Bool
  ) -> Bool {
    let path = entryPath(kind, name)
    let folder = String(path[..<path.lastIndex(of: "/")!])
    // A second attempt after creating the folder, which a concurrent `clean` may also have
    // moved away between the two.
    for _ in 0..<2 {
      let temporaryPath = folder + "/" + temporaryName()
      guard make(temporaryPath) else {
        guard errno == ENOENT else { return false }
        try? FileManager.default.createDirectory(
          atPath: folder, withIntermediateDirectories: true)
        continue
      }
      // The modification time orders entries for eviction; the kernel's own stamps are
      // only as fine as its timer tick, too coarse to order entries written in a burst.
      var times = [currentTime(), currentTime()]
      if utimensat(AT_FDCWD, temporaryPath, &times, 0) == 0 && rename(temporaryPath, path) == 0 {
        noteStored(size)
        return true
      }
      // A concurrent `clean` may have moved the folder away since: once more.
      unlink(temporaryPath)
    }
    return false
  }

  private func discard(_ path: String, _ opened: stat) {
    // Only the damaged file itself: a writer may have renamed a good entry over it since.
    var current = stat()
    if stat(path, &current) == 0 && current.st_ino == opened.st_ino
      && current.st_dev == opened.st_dev
    {
      unlink(path)
    }
    state.withLock { $0.discardedEntries += 1 }
  }

  private func entryPath(_ kind: Kind, _ name: ContentDigest) -> String {
    let hex = name.hex
    return "\(directory)/\(kind.rawValue)/\(hex.prefix(Self.shardLength))/\(hex)"
  }

  private func temporaryName() -> String {
    let count = state.withLock {
      $0.temporaryFileCount += 1
      return $0.temporaryFileCount
    }
    return ".tmp.\(getpid()).\(count).\(UInt32.random(in: 0...UInt32.max))"
  }

  // MARK: Size limit

  /// Counts a stored entry and trims the store when this process has stored 1/32 of the
  /// limit since its last trim, or, on its first store, when nobody trimmed for an hour.
  /// Scanning costs time proportional to the entries, so it is not done on every store;
  /// the store exceeds its limit by at most 1/32 of it per process writing to it.
  private func noteStored(_ bytes: UInt64) {
    let (isDue, isFirst) = state.withLock { state in
      state.bytesStoredSinceTrim += bytes
      defer { state.hasStored = true }
      return (state.bytesStoredSinceTrim >= sizeLimit / 32, !state.hasStored)
    }
    if isDue || (isFirst && lastTrimAge() > Self.trimInterval) { trim() }
  }

  private var lockPath: String { directory + "/trim.lock" }

  /// Nanoseconds since the last trim.
  private func lastTrimAge() -> Int64 {
    var info = stat()
    guard stat(lockPath, &info) == 0 else { return .max }
    return nanoseconds(currentTime()) - nanoseconds(info.st_mtim)
  }

  /// Removes the least recently used entries until the store fits its limit, and
  /// temporary files left by writers that died. One process trims at a time; another that
  /// finds the lock taken leaves the work to it.
  func trim() {
    state.withLock { $0.bytesStoredSinceTrim = 0 }
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard lock >= 0 else { return }
    defer { close(lock) }
    guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return }
    let now = currentTime()
    var entries: [ScannedFile] = []
    var total: UInt64 = 0
    for kind in Kind.allCases {
      scan(kind) { file in
        if file.isTemporary {
          if nanoseconds(now) - nanoseconds(file.modified) > Self.staleTemporaryAge {
            unlink(file.path)
          }
        } else {
          entries.append(file)
          total += file.size
        }
      }
    }
    if total > sizeLimit {
      entries.sort { nanoseconds($0.modified) < nanoseconds($1.modified) }
      for entry in entries {
        guard total > sizeLimit else { break }
        // An entry read since the scan stays: it is no longer among the least recent.
        var current = stat()
        guard stat(entry.path, &current) == 0 else { continue }
        if nanoseconds(current.st_mtim) == nanoseconds(entry.modified) && unlink(entry.path) == 0 {
          total -= entry.size
        }
      }
    }
    var times = [now, now]
    futimens(lock, &times)
  }

  // MARK: Statistics and cleaning

  /// What the store holds, per kind.
  func stats() -> CacheStats {
    var counts: [Kind: CacheStats.Count] = [:]
    for kind in Kind.allCases {
      var count = CacheStats.Count(entries: 0, bytes: 0)
      scan(kind) { file in
        guard !file.isTemporary else { return }
        count.entries += 1
        count.bytes += file.size
      }
      counts[kind] = count
    }
    return CacheStats(
      directory: directory, sizeLimit: sizeLimit, blobs: counts[.cas]!, actions: counts[.ac]!)
  }

  /// Removes every entry. Each kind's folder is first renamed out of the way in one step,
  /// so a concurrent reader sees misses and a concurrent writer's rename fails (its entry
  /// is lost, never torn) or lands in a new, empty folder.
  func clean() throws(CacheError) {
    for kind in Kind.allCases {
      let trash = "\(directory)/.trash.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
      if rename("\(directory)/\(kind.rawValue)", trash) != 0 && errno != ENOENT {
        throw CacheError("cannot remove \(directory)/\(kind.rawValue): \(errorText())")
      }
    }
    // Every trash folder, also those of a clean that was interrupted.
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    for name in names where name.hasPrefix(".trash.") {
      try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
    }
  }

  private struct ScannedFile {
    var path: String
    var size: UInt64
    var modified: timespec
    var isTemporary: Bool
  }

  /// Calls `visit` for each entry and temporary file of `kind`; other files are ignored.
  private func scan(_ kind: Kind, _ visit: (ScannedFile) -> Void) {
    let kindPath = "\(directory)/\(kind.rawValue)"
    // Two-digit shards are a cache of holoc before 16 shards: never read, so their entries
    // are the least recently used and are evicted first.
    for shard in directoryNames(kindPath) where (1...2).contains(shard.utf8.count) {
      let shardPath = kindPath + "/" + shard
      for name in directoryNames(shardPath) {
        let isTemporary = name.hasPrefix(".tmp.")
        guard isTemporary || ContentDigest(hex: name) != nil else { continue }
        let path = shardPath + "/" + name
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
        visit(
          ScannedFile(
            path: path, size: UInt64(info.st_size), modified: info.st_mtim,
            isTemporary: isTemporary))
      }
    }
  }
}

/// The names in the folder at `path` (none when it cannot be read).
private func directoryNames(_ path: String) -> [String] {
  guard let folder = opendir(path) else { return [] }
  defer { closedir(folder) }
  var names: [String] = []
  while let entry = readdir(folder) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) {
      String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
    }
    if name != "." && name != ".." { names.append(name) }
  }
  return names
}

private func readAll(_ file: Int32, size: Int) -> [UInt8]? {
  var bytes = [UInt8](repeating: 0, count: size)
  var offset = 0
  while offset < size {
    let count = bytes.withUnsafeMutableBytes {
      Glibc.read(file, $0.baseAddress! + offset, size - offset)
    }
    if count < 0 && errno == EINTR { continue }
    guard count > 0 else { return nil }
    offset += count
  }
  return bytes
}

/// Writes `bytes` to a new file at `path`; false (and no file) when it cannot.
private func writeNew(_ path: String, _ bytes: [UInt8]) -> Bool {
  let file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard file >= 0 else { return false }
  let written = writeAll(file, bytes)
  close(file)
  if !written { unlink(path) }
  return written
}

private func writeAll(_ file: Int32, _ bytes: [UInt8]) -> Bool {
  var offset = 0
  while offset < bytes.count {
    let count = bytes.withUnsafeBytes {
      Glibc.write(file, $0.baseAddress! + offset, bytes.count - offset)
    }
    if count < 0 && errno == EINTR { continue }
    guard count > 0 else { return false }
    offset += count
  }
  return true
}

private func currentTime() -> timespec {
  var now = timespec()
  clock_gettime(CLOCK_REALTIME, &now)
  return now
}

private func nanoseconds(_ time: timespec) -> Int64 {
  Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

func errorText() -> String { String(cString: strerror(errno)) }
