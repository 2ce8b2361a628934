import Foundation

/// The build cache: a local store, optionally in front of a remote one.
///
/// An entry is an action's outputs (named byte strings) under a `CacheKey` that covers
/// everything the outputs depend on. `lookup` tries the local store, then the remote,
/// keeping what the remote had locally; `store` writes locally and uploads, so only what
/// this process built is uploaded, never what it downloaded. Nothing here fails a build:
/// an unreadable or damaged entry is a miss, a failed write leaves the entry uncached.
public final class BuildCache: Sendable {
  /// The environment variable naming the local cache directory.
  public static let directoryEnvironmentVariable = "HOLO_CACHE_DIR"
  /// The environment variable overriding the local size limit: bytes, or a number with
  /// `K`, `M` or `G` (powers of 1024).
  public static let sizeLimitEnvironmentVariable = "HOLO_CACHE_SIZE_LIMIT"
  /// The local size limit unless configured: 2 GiB.
  public static let defaultSizeLimit: UInt64 = 2 << 30

  let local: LocalStore
  /// The remote cache behind the local one, if any.
  public let remote: RemoteCache?

  public init(directory: String, sizeLimit: UInt64 = defaultSizeLimit, remote: RemoteCache? = nil) {
    local = LocalStore(directory: directory, sizeLimit: sizeLimit)
    self.remote = remote
  }

  /// The local store's directory.
  public var directory: String { local.directory }

  /// The local directory: `$HOLO_CACHE_DIR`, else `$XDG_CACHE_HOME/holo`, else
  /// `~/.cache/holo`, else a folder under the temporary directory. A relative
  /// `$HOLO_CACHE_DIR` is taken from the working directory; a relative `$XDG_CACHE_HOME`
  /// is ignored, as the XDG specification says.
  public static func directory(environment: [String: String]) -> String {
    if let directory = environment[directoryEnvironmentVariable], !directory.isEmpty {
      return directory.hasPrefix("/")
        ? directory : FileManager.default.currentDirectoryPath + "/" + directory
    }
    if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/holo" }
    if let home = environment["HOME"], !home.isEmpty { return home + "/.cache/holo" }
    return FileManager.default.temporaryDirectory.appendingPathComponent("holo-cache").path
  }

  /// The local size limit `$HOLO_CACHE_SIZE_LIMIT` sets, else the default.
  public static func sizeLimit(environment: [String: String]) throws(CacheError) -> UInt64 {
    guard let text = environment[sizeLimitEnvironmentVariable], !text.isEmpty else {
      return defaultSizeLimit
    }
    let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    var digits = Substring(text)
    var unit: UInt64 = 1
    if let last = text.last?.uppercased().first, let scale = units[last] {
      unit = scale
      digits = digits.dropLast()
    }
    guard let count = UInt64(digits),
      case (let limit, false) = count.multipliedReportingOverflow(by: unit)
    else {
      throw CacheError(
        "\(sizeLimitEnvironmentVariable)=\(text) is not a size (bytes, or a number with K, M or G)")
    }
    return limit
  }

  private static let emptyDigest = ContentDigest(of: [])

  /// The outputs stored under `key`, or nil on a miss.
  public func lookup(_ key: CacheKey) -> [CacheOutput]? {
    let name = key.digest
    if let payload = local.read(.ac, name), let result = ActionResult(decoding: payload),
      let outputs = outputs(of: result)
    {
      return outputs
    }
    guard let remote, let result = remote.action(name), let outputs = outputs(of: result) else {
      return nil
    }
    local.write(.ac, name, result.encoded())
    return outputs
  }

  /// The bytes of each of `result`'s outputs, from the local store or else the remote (and
  /// then kept locally); nil when one is in neither.
  private func outputs(of result: ActionResult) -> [CacheOutput]? {
    var outputs: [CacheOutput] = []
    for file in result.outputFiles {
      // Nothing to read for an empty output (most tests print nothing): a file less per
      // lookup.
      if file.size == 0, file.digest == Self.emptyDigest {
        outputs.append(CacheOutput(name: file.name, bytes: []))
        continue
      }
      var bytes = local.read(.cas, file.digest)
      if bytes == nil, let downloaded = remote?.blob(file.digest) {
        local.write(.cas, file.digest, downloaded)
        bytes = downloaded
      }
      guard let bytes, UInt64(bytes.count) == file.size else { return nil }
      outputs.append(CacheOutput(name: file.name, bytes: bytes))
    }
    return outputs
  }

  /// Makes `path` (a new name) the output `name` stored under `key`, without reading it
  /// into memory when the local store has it (`LocalStore.link`); false on a miss.
  public func link(_ key: CacheKey, output name: String, to path: String) -> Bool {
    let digest = key.digest
    var result = local.read(.ac, digest).flatMap(ActionResult.init(decoding:))
    if result == nil, let remote, let fetched = remote.action(digest) {
      local.write(.ac, digest, fetched.encoded())
      result = fetched
    }
    guard let file = result?.outputFiles.first(where: { $0.name == name }) else { return false }
    // An empty output has no blob (`store`).
    if file.size == 0 { return FileManager.default.createFile(atPath: path, contents: Data()) }
    if local.link(file.digest, to: path) { return Self.hasSize(path, file.size) }
    guard let downloaded = remote?.blob(file.digest), UInt64(downloaded.count) == file.size
    else { return false }
    local.write(.cas, file.digest, downloaded)
    return local.link(file.digest, to: path)
  }

  private static func hasSize(_ path: String, _ size: UInt64) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0, UInt64(info.st_size) == size else {
      unlink(path)
      return false
    }
    return true
  }

  /// Stores the file at `path` as the one output `name` under `key`, as `store` does,
  /// without reading it into memory unless a remote cache is to have it: a hard link to it
  /// where the file system allows (`LocalStore.writeBlob(from:)`), so `path` must be
  /// replaced, never changed in place, by whatever writes it next.
  public func store(_ key: CacheKey, output name: String, file path: String) {
    guard let (digest, size) = local.writeBlob(from: path) else { return }
    let result = ActionResult(
      outputFiles: [ActionResult.OutputFile(name: name, digest: digest, size: size)])
    local.write(.ac, key.digest, result.encoded())
    guard let remote, let bytes = FileManager.default.contents(atPath: path),
      remote.putBlob(digest, [UInt8](bytes))
    else { return }
    remote.putAction(key.digest, result)
  }

  /// Stores `outputs` under `key`, locally and then on the remote: blobs first, so the
  /// remote never holds an action result whose blobs it lacks.
  public func store(_ key: CacheKey, _ outputs: [CacheOutput]) {
    let result = ActionResult(outputs: outputs)
    for (output, file) in zip(outputs, result.outputFiles) where !output.bytes.isEmpty {
      local.write(.cas, file.digest, output.bytes)
    }
    local.write(.ac, key.digest, result.encoded())
    guard let remote else { return }
    var uploaded: Set<ContentDigest> = []
    for (output, file) in zip(outputs, result.outputFiles) where !uploaded.contains(file.digest) {
      guard remote.putBlob(file.digest, output.bytes) else { return }
      uploaded.insert(file.digest)
    }
    remote.putAction(key.digest, result)
  }

  /// What the local store holds.
  public func stats() -> CacheStats { local.stats() }

  /// Removes every local entry (the remote is left alone).
  public func clean() throws(CacheError) { try local.clean() }
}

/// What a local cache holds.
public struct CacheStats: Sendable, Equatable {
  public struct Count: Sendable, Equatable {
    public var entries: Int
    public var bytes: UInt64
  }

  public var directory: String
  public var sizeLimit: UInt64
  /// The content-addressed blobs (the outputs themselves).
  public var blobs: Count
  /// The action results (keys, each naming its outputs' blobs).
  public var actions: Count

  public var entries: Int { blobs.entries + actions.entries }
  public var bytes: UInt64 { blobs.bytes + actions.bytes }
}

/// A cache configuration or directory that cannot be used, with a message for the user.
public struct CacheError: Error, CustomStringConvertible {
  public var message: String

  init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
