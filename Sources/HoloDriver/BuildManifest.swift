import Foundation
import HoloCache
import HoloSource

/// The direct mode of `holoc build`'s cache (as ccache's): a manifest, keyed by the command
/// and by everything outside the sources that its output depends on, names the files the
/// last such build read; the output is stored under the digests of those files' texts. An
/// unchanged program is built again by reading and hashing its files, with no analysis.
///
/// The files a build reads are a function of their texts (an import names its file
/// relative to the importing one), so equal texts of the manifest's files mean the same
/// program; a build with diagnostics is not recorded (they would not be printed again).
struct BuildManifest {
  let cache: BuildCache
  /// Names the manifest: the command, its settings, the compiler, and what is linked in.
  let key: CacheKey

  /// The output of the last build of the manifest's files, if they are unchanged, and the
  /// digests of their texts.
  func cachedOutput() -> (output: [UInt8], files: [(path: String, digest: ContentDigest)])? {
    guard let manifest = cache.lookup(key)?.first(where: { $0.name == "files" }) else {
      return nil
    }
    var files: [(path: String, digest: ContentDigest)] = []
    for path in Self.paths(in: manifest.bytes) {
      guard let text = FileManager.default.contents(atPath: path) else { return nil }
      files.append((path, ContentDigest(of: text)))
    }
    guard let output = cache.lookup(outputKey(files))?.first(where: { $0.name == "output" })
    else { return nil }
    return (output.bytes, files)
  }

  /// Records the file at `output` as what a build of `files` (with their texts) gave.
  func record(files: [SourceFile], outputAt output: String) {
    let digests = files.map { (path: $0.path, digest: Self.digest(of: $0)) }
    // The output first: a manifest never names an output the cache lacks.
    cache.store(outputKey(digests), output: "output", file: output)
    let paths = files.map(\.path).joined(separator: "\0")
    cache.store(key, [CacheOutput(name: "files", bytes: Array(paths.utf8))])
  }

  private func outputKey(_ files: [(path: String, digest: ContentDigest)]) -> CacheKey {
    var builder = CacheKey.Builder(kind: "build-output")
    builder.add("manifest", key.digest.bytes)
    for file in files {
      builder.add("path", file.path)
      builder.add("text", file.digest.bytes)
    }
    return builder.key
  }

  static func digest(of file: SourceFile) -> ContentDigest { ContentDigest(of: file.bytes) }

  /// Paths never hold a NUL byte, so NUL separates them.
  private static func paths(in bytes: [UInt8]) -> [String] {
    bytes.split(separator: 0, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
  }
}

extension Driver {
  /// The manifest of `holoc build` of `root` to `destination`; nil when the output
  /// depends on something holoc cannot tell has changed: a C library linked in (`-l`).
  func buildManifest(
    root: ProjectRoot, settings: BuildSettings, kind: OutputKind, destination: String
  ) throws(DiagnosticsError) -> BuildManifest? {
    var builder = CacheKey.Builder(kind: "build-manifest")
    for (label, value) in CompilerIdentity.parts { builder.add(label, value) }
    builder.add("kind", "\(kind)")
    builder.add(
      "settings",
      "\(settings.mode) \(settings.optimizationLevel.map(String.init) ?? "-") \(settings.targetCPU ?? "-")"
        + (settings.restartableFrames ? " restartable-frames" : ""))
    // Relative paths are read from, and debug information names, the current folder.
    builder.add("folder", FileManager.default.currentDirectoryPath)
    builder.add("root", root.file)
    switch kind {
    case .executable, .library:
      guard settings.libraries.isEmpty else { return nil }
      var archives = [try runtimeArchive()]
      if settings.mode == .dev { archives.append(try runtimeArchive(.agent)) }
      for archive in archives {
        guard let bytes = FileManager.default.contents(atPath: archive) else { return nil }
        builder.add("archive", ContentDigest(of: bytes).bytes)
      }
      builder.add("cc", Subprocess.findExecutable("cc", environment: environment) ?? "-")
    case .header:
      // A header is named after the output's stem.
      builder.add("output", ProjectRoot.stem(of: destination))
    case .object, .assembly, .llvmIR:
      break
    }
    return BuildManifest(cache: openCache(), key: builder.key)
  }
}

/// An executable a build of the same root with the same settings made from files exactly
/// as they are now: what `holoc dev` starts at once, before it has analysed the program.
public struct CachedExecutable {
  /// The files it was built from, with the digests of their texts.
  let files: [(path: String, digest: ContentDigest)]

  /// Whether `files` (an analysis's files, root first) are the ones it was built from.
  public func isBuilt(from files: [SourceFile]) -> Bool {
    files.count == self.files.count
      && zip(files, self.files).allSatisfy {
        $0.path == $1.path && BuildManifest.digest(of: $0) == $1.digest
      }
  }
}

extension Driver {
  /// Writes to `output` the executable that a build of `rootFile` with `settings` made
  /// from files as they are now (`holoc build`, or an earlier `holoc dev`); nil when
  /// there is none.
  public func cachedExecutable(root rootFile: String, settings: BuildSettings, to output: String)
    -> CachedExecutable?
  {
    guard let manifest = try? executableManifest(root: rootFile, settings: settings),
      let cached = manifest.cachedOutput(),
      (try? write(cached.output, to: output, executable: true)) != nil
    else { return nil }
    return CachedExecutable(files: cached.files)
  }

  /// Records the executable at `path` as the build of `rootFile` from `files` (the
  /// analysis's, root first), for the next `holoc build` or `holoc dev` start.
  public func recordExecutable(
    root rootFile: String, settings: BuildSettings, files: [SourceFile], at path: String
  ) {
    guard let manifest = try? executableManifest(root: rootFile, settings: settings) else {
      return
    }
    manifest.record(files: files, outputAt: path)
  }

  private func executableManifest(root rootFile: String, settings: BuildSettings)
    throws(DiagnosticsError) -> BuildManifest?
  {
    try buildManifest(
      root: ProjectRoot(file: rootFile, name: ProjectRoot.stem(of: rootFile)),
      settings: settings, kind: .executable, destination: rootFile)
  }
}
