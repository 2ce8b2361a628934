import Foundation
import HoloDevABI
import HoloSource

/// The C runtime (runtime/src/*.c) compiled into a static archive that every executable
/// links. The archive is cached under a folder named by a hash of the sources and flags,
/// so it is built once per runtime version and shared by concurrent holoc processes.
enum RuntimeLibrary {
  static let compileFlags = ["-std=c11", "-O2", "-g", "-fPIC"]
  private static let header = "include/holo.h"
  /// LLVM 19 from Debian's llvm-19-dev, as in Package.swift: the agent compiles against its
  /// headers (and loads the library itself only when it activates).
  static let llvmPrefix = "/usr/lib/llvm-19"

  /// The static archives built from the runtime folder.
  enum Component {
    /// `src/`: what every program links.
    case runtime
    /// `agent/`: the patch agent of dev executables (docs/PATCHING.md), using LLVM's C API.
    case agent

    var sourceFolder: String { self == .runtime ? "src" : "agent" }
    /// The stem of its cache folder's name.
    var cacheName: String { self == .runtime ? "runtime" : "agent" }
    var archiveName: String { self == .runtime ? "libholort.a" : "libholoagent.a" }
    var flags: [String] {
      self == .runtime ? compileFlags : compileFlags + ["-I", "\(llvmPrefix)/include"]
    }
  }

  /// What `cc` needs, after the object and before the runtime archive, to link the agent
  /// archive `agentArchive` into an executable (the program info of a dev program refers
  /// to `holo_agent_start`, which pulls the agent in). The agent `dlopen`s LLVM when it
  /// activates, so a dormant dev program does not load LLVM at all.
  static func agentLinkArguments(agentArchive: String) -> [String] {
    [agentArchive] + DevABI.LinkFlags.agentLibraries
  }

  /// The runtime folder (holding include/holo.h and src/): `HOLO_RUNTIME_DIR`, else the
  /// nearest `runtime/` above the executable (a source checkout), else the installed
  /// `<exe dir>/../share/holo/runtime`.
  static func locate(environment: [String: String], executablePath: String?) -> String? {
    if let directory = environment[DevABI.Environment.runtimeDirectory], !directory.isEmpty {
      return isRuntime(directory) ? directory : nil
    }
    guard let executablePath else { return nil }
    let executableDirectory = URL(fileURLWithPath: executablePath).deletingLastPathComponent()
    var directory = executableDirectory
    while true {
      let candidate = directory.appendingPathComponent("runtime").path
      if isRuntime(candidate) { return candidate }
      let parent = directory.deletingLastPathComponent()
      if parent.path == directory.path { break }
      directory = parent
    }
    let installed = executableDirectory.appendingPathComponent("../share/holo/runtime")
      .standardizedFileURL.path
    return isRuntime(installed) ? installed : nil
  }

  /// The real path of the running executable, symlinks resolved.
  static func currentExecutablePath() -> String? {
    guard let resolved = realpath("/proc/self/exe", nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// `$XDG_CACHE_HOME/holo`, else `~/.cache/holo`, else a folder under the temp directory.
  static func cacheDirectory(environment: [String: String]) -> String {
    if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/holo" }
    if let home = environment["HOME"], !home.isEmpty { return home + "/.cache/holo" }
    return FileManager.default.temporaryDirectory.appendingPathComponent("holo-cache").path
  }

  /// The path of a component's archive, compiling it first when it is not cached yet.
  static func archive(
    runtimeDirectory: String, cacheDirectory: String, environment: [String: String],
    component: Component = .runtime
  ) throws(DiagnosticsError) -> String {
    let sources = try sourceFiles(runtimeDirectory, component)
    let key = try cacheKey(runtimeDirectory: runtimeDirectory, component: component)
    let finalDirectory = "\(cacheDirectory)/\(component.cacheName)-\(key)"
    let finalArchive = "\(finalDirectory)/\(component.archiveName)"
    if FileManager.default.fileExists(atPath: finalArchive) { return finalArchive }

    guard let cc = Subprocess.findExecutable("cc", environment: environment) else {
      throw DiagnosticsError(
        .runtimeNotFound, "cannot find the C compiler `cc`",
        hint: "install a C compiler (gcc or clang); holoc uses it to build the runtime and link")
    }
    guard let ar = Subprocess.findExecutable("ar", environment: environment) else {
      throw DiagnosticsError(
        .runtimeNotFound, "cannot find the archiver `ar`", hint: "install binutils")
    }
    // Build in a private folder, then rename it into place: a rename is atomic, so a
    // concurrent holoc either sees no archive or a complete one.
    let buildDirectory =
      "\(cacheDirectory)/.tmp-\(component.sourceFolder)-\(key)-\(getpid())-\(UUID().uuidString)"
    do {
      try FileManager.default.createDirectory(
        atPath: buildDirectory, withIntermediateDirectories: true)
    } catch {
      throw DiagnosticsError(
        .runtimeNotFound, "cannot create the runtime cache folder `\(buildDirectory)`")
    }
    defer { try? FileManager.default.removeItem(atPath: buildDirectory) }

    let objects = sources.map {
      URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent + ".o"
    }
    try runTool(
      cc, component.flags + ["-I", "\(runtimeDirectory)/include", "-c"] + sources,
      in: buildDirectory, what: "compiling the runtime")
    try runTool(
      ar, ["rcs", component.archiveName] + objects, in: buildDirectory,
      what: "archiving the runtime")
    for object in objects {
      try? FileManager.default.removeItem(atPath: "\(buildDirectory)/\(object)")
    }

    if rename(buildDirectory, finalDirectory) != 0
      && !FileManager.default.fileExists(atPath: finalArchive)
    {
      throw DiagnosticsError(
        .runtimeNotFound,
        "cannot move the runtime into the cache `\(finalDirectory)`: \(String(cString: strerror(errno)))"
      )
    }
    return finalArchive
  }

  private static func isRuntime(_ directory: String) -> Bool {
    FileManager.default.fileExists(atPath: "\(directory)/\(header)")
  }

  private static func sourceFiles(_ runtimeDirectory: String, _ component: Component)
    throws(DiagnosticsError) -> [String]
  {
    let sourceDirectory = "\(runtimeDirectory)/\(component.sourceFolder)"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: sourceDirectory)) ?? []
    let sources = names.filter { $0.hasSuffix(".c") }.sorted().map { "\(sourceDirectory)/\($0)" }
    if sources.isEmpty {
      throw DiagnosticsError(
        .runtimeNotFound,
        "the holo runtime at `\(runtimeDirectory)` has no C sources in \(component.sourceFolder)/")
    }
    return sources
  }

  /// A hash of every file under the component's folder and include/ (names and contents)
  /// and the flags.
  static func cacheKey(runtimeDirectory: String, component: Component = .runtime)
    throws(DiagnosticsError) -> String
  {
    var hash = FNV1a()
    hash.add(Array(component.flags.joined(separator: " ").utf8))
    for folder in ["include", component.sourceFolder] {
      let base = "\(runtimeDirectory)/\(folder)"
      let names = (FileManager.default.subpaths(atPath: base) ?? []).sorted()
      for name in names {
        let path = "\(base)/\(name)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
          !isDirectory.boolValue
        else { continue }
        guard let contents = FileManager.default.contents(atPath: path) else {
          throw DiagnosticsError(
            .runtimeNotFound, "cannot read the runtime file `\(path)`", about: path)
        }
        hash.add(Array("\(folder)/\(name)".utf8))
        hash.add(Array(contents))
      }
    }
    return hash.hex
  }

  private static func runTool(
    _ tool: String, _ arguments: [String], in directory: String, what: String
  ) throws(DiagnosticsError) {
    let termination: Subprocess.Termination
    let output: String
    do throws(SpawnError) {
      (termination, output) = try Subprocess.capture(tool, arguments, currentDirectory: directory)
    } catch {
      throw DiagnosticsError(.runtimeNotFound, "\(what) failed: \(error)")
    }
    guard termination == .exited(0) else {
      throw DiagnosticsError(
        .runtimeNotFound, "\(what) failed:\n\(output.trimmingCharacters(in: .newlines))")
    }
  }
}

/// 64-bit FNV-1a, with each added chunk length-prefixed so chunk boundaries count.
/// A cache key, not a security boundary.
struct FNV1a {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  mutating func add(_ bytes: [UInt8]) {
    var length = UInt64(bytes.count)
    for _ in 0..<8 {
      mix(UInt8(truncatingIfNeeded: length))
      length >>= 8
    }
    for byte in bytes { mix(byte) }
  }

  private mutating func mix(_ byte: UInt8) {
    value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
  }

  var hex: String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
}
