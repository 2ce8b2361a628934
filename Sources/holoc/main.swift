import ArgumentParser
import Foundation
import HoloCache
import HoloCodegen
import HoloDev
import HoloDriver
import HoloSource

struct Holoc: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "holoc",
    abstract: "The holo compiler.",
    version: "holoc \(holocVersion)",
    subcommands: [
      Check.self, Build.self, Run.self, Test.self, Dev.self, Reset.self, Cache.self,
    ])
}

enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
  case human
  case json

  var diagnosticFormat: DiagnosticRenderer.Format { self == .human ? .human : .json }
}

enum Emit: String, CaseIterable, ExpressibleByArgument {
  case exe
  case obj
  case lib
  case llvmIR = "llvm-ir"
  case asm
  case header
}

/// `PATH` and `--format`, common to every command.
struct CommonOptions: ParsableArguments {
  @Argument(help: "A .holo root file, or a folder holding main.holo.")
  var path: String = "."

  @Option(help: "Diagnostics format: human or json.")
  var format: OutputFormat = .human
}

/// The flags that choose how code is generated and linked, for dev and release builds,
/// but for `-O`: each command declares it, with the default it has.
struct CodegenFlags: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The CPU to generate code for (default: x86-64, a portable baseline), `native`, or `help` to list the names.",
      valueName: "NAME"))
  var targetCPU: String?

  @Option(
    name: .customShort("l", allowingJoined: true),
    help: ArgumentHelp("Link the C library NAME (repeatable).", valueName: "NAME"))
  var libraries: [String] = []

  func validate() throws {
    if let targetCPU, !TargetCPU.validNames.contains(targetCPU) {
      if targetCPU == "help" {
        throw CleanExit.message(TargetCPU.validNames.joined(separator: "\n"))
      }
      throw ValidationError(
        "unknown target CPU `\(targetCPU)`; the valid names are:\n"
          + wrapped(TargetCPU.validNames.joined(separator: ", "), width: 78, indent: "  "))
    }
  }

  func settings(release: Bool, optimizationLevel: Int?) -> BuildSettings {
    BuildSettings(
      mode: release ? .release : .dev, optimizationLevel: optimizationLevel,
      targetCPU: targetCPU, libraries: libraries)
  }
}

/// Rejects an `-O` level other than 0 to 3.
func validateOptimizationLevel(_ level: Int?) throws {
  if let level, !(0...3).contains(level) {
    throw ValidationError("optimisation level must be 0, 1, 2 or 3, not \(level)")
  }
}

/// The flags of the commands that build either a dev or a release program.
struct BuildFlags: ParsableArguments {
  @Flag(help: "Build for release: direct calls, full optimisation (default -O3).")
  var release = false

  @Option(
    name: .customShort("O", allowingJoined: true),
    help: ArgumentHelp(
      "Optimisation level, 0 to 3 (default: 0, or 3 with --release).", valueName: "LEVEL"))
  var optimizationLevel: Int?

  @OptionGroup var codegen: CodegenFlags

  func validate() throws { try validateOptimizationLevel(optimizationLevel) }

  var settings: BuildSettings {
    codegen.settings(release: release, optimizationLevel: optimizationLevel)
  }
}

/// Ends holoc with `status` (ArgumentParser treats a thrown ExitCode as the status).
func finish(with status: Int32) throws {
  if status != ExitStatus.success { throw ExitCode(status) }
}

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Parse and typecheck a program; print its diagnostics.")

  @OptionGroup var common: CommonOptions

  func run() throws {
    try finish(with: Driver(format: common.format.diagnosticFormat).check(path: common.path))
  }
}

struct Build: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Build an executable (dev by default, --release for release).")

  @OptionGroup var common: CommonOptions
  @OptionGroup var flags: BuildFlags

  @Option(name: .customShort("o"), help: ArgumentHelp("Write the output to OUT.", valueName: "OUT"))
  var output: String?

  @Option(
    help: ArgumentHelp(
      "What to write: exe, obj, lib (a static archive for C: libNAME.a), llvm-ir, asm or header (NAME.h).",
      valueName: "KIND"))
  var emit: Emit = .exe

  func run() throws {
    let kind: OutputKind
    switch emit {
    case .exe: kind = .executable
    case .obj: kind = .object
    case .lib: kind = .library
    case .asm: kind = .assembly
    case .llvmIR: kind = .llvmIR
    case .header: kind = .header
    }
    let driver = Driver(format: common.format.diagnosticFormat)
    try finish(
      with: driver.build(path: common.path, settings: flags.settings, kind: kind, output: output))
  }
}

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Build a program and run it; exits with the program's status.")

  @OptionGroup var common: CommonOptions
  @OptionGroup var flags: BuildFlags

  @Argument(parsing: .postTerminator, help: "Arguments for the program, after `--`.")
  var arguments: [String] = []

  func run() throws {
    let driver = Driver(format: common.format.diagnosticFormat)
    try finish(with: driver.run(path: common.path, settings: flags.settings, arguments: arguments))
  }
}

struct Test: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Build the program's #[test] functions and run each in its own process.")

  @OptionGroup var common: CommonOptions
  @OptionGroup var flags: BuildFlags

  @Option(help: ArgumentHelp("Run only tests whose name contains TEXT.", valueName: "TEXT"))
  var filter: String?

  @Option(
    help: ArgumentHelp("How many tests run at once (default: the number of cores).", valueName: "N")
  )
  var jobs: Int?

  @Option(help: ArgumentHelp("Seconds each test may run.", valueName: "SECONDS"))
  var timeout: Double = 10

  @Flag(help: "Run every test, also those unchanged since they last passed.")
  var noCache = false

  @Option(
    help: ArgumentHelp(
      "A remote build cache (Bazel's HTTP layout) behind the local one (default: $HOLO_CACHE_URL).",
      valueName: "URL"))
  var cacheURL: String?

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
  }

  func run() throws {
    let driver = Driver(format: common.format.diagnosticFormat, cacheURL: cacheURL)
    let options = TestOptions(filter: filter, jobs: jobs, timeout: timeout, usesCache: !noCache)
    try finish(with: driver.test(path: common.path, settings: flags.settings, options: options))
  }
}

extension RestartPolicy: ExpressibleByArgument {}

struct Dev: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The live loop: build, run, watch, patch the running program, re-run affected tests.")

  @Argument(help: "A .holo root file, or a folder holding main.holo.")
  var path: String = "."

  @Option(
    name: .customShort("O", allowingJoined: true),
    help: ArgumentHelp("Optimisation level, 0 to 3 (default: 0).", valueName: "LEVEL"))
  var optimizationLevel: Int?

  @OptionGroup var codegen: CodegenFlags

  @Option(
    help: ArgumentHelp(
      "Run and patch this C program, linked with a dev build (--emit lib) of the holo library at PATH, instead of building an executable.",
      valueName: "HOST"))
  var host: String?

  @Option(
    help: ArgumentHelp(
      "Write events as JSON lines to FILE instead of status lines to stderr.", valueName: "FILE"))
  var events: String?

  @Flag(help: "Do not re-run the tests a change affects.")
  var noTests = false

  @Flag(help: "Do not run the program: check and run the affected tests on each save.")
  var noRun = false

  @Option(
    help: ArgumentHelp(
      "How to restart when a change cannot be applied live: replay (feed the consumed stdin again), fresh, frame (restart the frame that cannot take it in the same process) or never.",
      valueName: "MODE"))
  var restart: RestartPolicy = .replay

  @Option(help: ArgumentHelp("Seconds each affected test may run.", valueName: "SECONDS"))
  var timeout: Double = 10

  @Option(
    help: ArgumentHelp(
      "Seconds a running frame of replaced code may take to return before it is restarted.",
      valueName: "SECONDS"))
  var staleAfter: Double = 3

  @Argument(parsing: .postTerminator, help: "Arguments for the program, after `--`.")
  var arguments: [String] = []

  func validate() throws {
    try validateOptimizationLevel(optimizationLevel)
    if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    if !(staleAfter >= 0) {
      throw ValidationError("--stale-after must be a number of seconds, 0 or more")
    }
  }

  func run() throws {
    let options = DevOptions(
      path: path, arguments: arguments, eventsPath: events, runsTests: !noTests,
      runsProgram: !noRun, restart: restart,
      settings: codegen.settings(release: false, optimizationLevel: optimizationLevel),
      testTimeout: timeout, host: host.map(absolutePath), staleFrameBound: staleAfter)
    try finish(with: LiveLoop.run(options))
  }
}

struct Reset: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Re-run the initializers of globals (all without names) in the program `holoc dev` runs.")

  @Argument(
    help: ArgumentHelp(
      "A .holo root file or a folder holding main.holo (default: .), then the globals to reset.",
      valueName: "PATH|GLOBAL"))
  var arguments: [String] = []

  func run() throws {
    // A global's name has no `/` or `.`: a first argument that names a .holo file or a
    // folder is the PATH (docs/DECISIONS.md).
    var isFolder: ObjCBool = false
    let first = arguments.first
    let hasPath =
      first.map {
        $0.hasSuffix(".holo") || $0.contains("/") || $0 == "."
          || FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder)
            && isFolder.boolValue
      } ?? false
    let path = hasPath ? first! : "."
    try finish(
      with: LiveLoop.reset(path: path, globals: Array(arguments.dropFirst(hasPath ? 1 : 0))))
  }
}

struct Cache: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show or empty the local build cache ($HOLO_CACHE_DIR, else ~/.cache/holo).",
    subcommands: [CacheStatsCommand.self, CacheCleanCommand.self])

  /// The local cache the environment configures.
  static func local() throws -> BuildCache {
    let environment = ProcessInfo.processInfo.environment
    return BuildCache(
      directory: BuildCache.directory(environment: environment),
      sizeLimit: try BuildCache.sizeLimit(environment: environment))
  }
}

/// A cache's figures as `holoc cache stats --format json` prints them.
struct CacheStatsReport: Encodable {
  struct Count: Encodable {
    var entries: Int
    var bytes: UInt64
  }

  var directory: String
  var sizeLimit: UInt64
  var entries: Int
  var bytes: UInt64
  var actions: Count
  var blobs: Count

  enum CodingKeys: String, CodingKey {
    case directory, entries, bytes, actions, blobs
    case sizeLimit = "size_limit"
  }

  init(_ stats: CacheStats) {
    directory = stats.directory
    sizeLimit = stats.sizeLimit
    entries = stats.entries
    bytes = stats.bytes
    actions = Count(entries: stats.actions.entries, bytes: stats.actions.bytes)
    blobs = Count(entries: stats.blobs.entries, bytes: stats.blobs.bytes)
  }
}

struct CacheStatsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats", abstract: "Show where the cache is and what it holds.")

  @Option(help: "Output format: human or json.")
  var format: OutputFormat = .human

  func run() throws {
    let stats = try Cache.local().stats()
    switch format {
    case .human:
      func line(_ label: String, _ value: String) -> String {
        label.padding(toLength: 18, withPad: " ", startingAt: 0) + value
      }
      print(line("cache directory", stats.directory))
      print(line("size", "\(byteCount(stats.bytes)) of \(byteCount(stats.sizeLimit))"))
      print(line("entries", "\(stats.entries)"))
      print(line("  actions", "\(stats.actions.entries) (\(byteCount(stats.actions.bytes)))"))
      print(line("  blobs", "\(stats.blobs.entries) (\(byteCount(stats.blobs.bytes)))"))
    case .json:
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      print(String(decoding: try encoder.encode(CacheStatsReport(stats)), as: UTF8.self))
    }
  }
}

struct CacheCleanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clean", abstract: "Remove every entry of the local cache.")

  func run() throws {
    let cache = try Cache.local()
    let before = cache.stats()
    try cache.clean()
    print("removed \(before.entries) entries (\(byteCount(before.bytes))) from \(cache.directory)")
  }
}

/// `bytes` in the largest binary unit that keeps the number at least 1: `512 B`, `1.5 MiB`.
func byteCount(_ bytes: UInt64) -> String {
  let units = ["KiB", "MiB", "GiB", "TiB"]
  guard bytes >= 1024 else { return "\(bytes) B" }
  var value = Double(bytes) / 1024
  var unit = 0
  while value >= 1024 && unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return String(format: "%.1f", value) + " " + units[unit]
}

/// `text` broken at spaces into lines of at most `width` characters (longer words stay whole),
/// each starting with `indent`.
func wrapped(_ text: String, width: Int, indent: String) -> String {
  var lines: [String] = []
  var line = indent
  for word in text.split(separator: " ") {
    if line.count > indent.count && line.count + 1 + word.count > width {
      lines.append(line)
      line = indent
    }
    line += (line.count > indent.count ? " " : "") + word
  }
  return (lines + [line]).joined(separator: "\n")
}

/// `path` made absolute against the working directory.
func absolutePath(_ path: String) -> String {
  path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

// Every command runs on a thread with a large stack, so deep programs do not overflow it.
CompilerThread.run { Holoc.main() }
