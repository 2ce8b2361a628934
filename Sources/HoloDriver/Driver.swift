import Foundation
import HoloCache
import HoloCodegen
import HoloDevABI
import HoloIR
import HoloSema
import HoloSource

/// holoc's version, printed by `holoc --version`.
public let holocVersion = "0.1.0"

/// Process exit statuses of CLI.md.
public enum ExitStatus {
  public static let success: Int32 = 0
  /// Compile errors or failing tests.
  public static let failure: Int32 = 1
  /// The program stopped with a runtime failure (or was killed by a signal).
  public static let runtimeFailure: Int32 = 101

  /// The signals that stop a program without it having failed: Ctrl-C, a closed pipe
  /// (`prog | head`), SIGTERM and SIGHUP.
  public static let stoppingSignals: Set<Int32> = [SIGINT, SIGPIPE, SIGTERM, SIGHUP]

  /// The status of a program ended by one of `stoppingSignals`, the one a shell shows for
  /// a C program ended by it: 130 for Ctrl-C, 141 for a closed pipe.
  public static func stopped(by signal: Int32) -> Int32 { 128 + signal }
}

/// What `holoc build --emit` writes.
public enum OutputKind: Sendable {
  case executable
  case object
  case assembly
  case llvmIR
  /// A static archive for C hosts: the program, the runtime and, in dev builds, the agent.
  case library
  /// The C header declaring the program's `export fn`s.
  case header
}

/// The build flags shared by `build`, `run` and `test`.
public struct BuildSettings: Sendable {
  public var mode: CodegenOptions.Mode
  /// nil: the mode's default (dev 0, release 3).
  public var optimizationLevel: Int?
  public var targetCPU: String?
  /// C libraries to link (`-l NAME`).
  public var libraries: [String]
  /// Dev code that a frame restart can unwind (`CodegenOptions.restartableFrames`): what
  /// `holoc dev --restart frame` runs and patches.
  public var restartableFrames: Bool

  public init(
    mode: CodegenOptions.Mode = .dev, optimizationLevel: Int? = nil, targetCPU: String? = nil,
    libraries: [String] = [], restartableFrames: Bool = false
  ) {
    self.mode = mode
    self.optimizationLevel = optimizationLevel
    self.targetCPU = targetCPU
    self.libraries = libraries
    self.restartableFrames = restartableFrames
  }

  public func codegenOptions(entry: CodegenOptions.Entry, patchable: Bool = false)
    -> CodegenOptions
  {
    CodegenOptions(
      mode: mode, optimizationLevel: optimizationLevel ?? (mode == .release ? 3 : 0),
      targetCPU: targetCPU, entry: entry, patchable: patchable,
      restartableFrames: restartableFrames)
  }

  /// The settings of code a C host may link (`--emit obj`, `lib`, `asm`, `llvm-ir`): a dev
  /// build's frames are restartable, since `holoc dev --host --restart frame` may restart
  /// them in the host, which links what holoc built before it started.
  var forCHost: BuildSettings {
    var settings = self
    settings.restartableFrames = true
    return settings
  }
}

/// Errors that end a command; the diagnostics are yet to be printed.
struct DiagnosticsError: Error {
  var diagnostics: [Diagnostic]

  init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

  /// A diagnostic about the file at `path`, or with none about the program as a whole
  /// (printed at its root file).
  init(_ code: DiagnosticCode, _ message: String, about path: String? = nil, hint: String? = nil) {
    var diagnostic = Diagnostic(code, message, at: nil, hint: hint)
    diagnostic.path = path
    self.init([diagnostic])
  }
}

/// Carries out one holoc command: compiles, links, runs, tests. Diagnostics go to stderr.
/// Each method returns the process exit status.
public final class Driver {
  let sources: SourceManager
  let format: DiagnosticRenderer.Format
  let environment: [String: String]
  /// `--cache-url`: the remote build cache, overriding `$HOLO_CACHE_URL`.
  let cacheURL: String?
  /// The program's root file once the command has found it: what a diagnostic about the
  /// whole program (a link error) names.
  private var rootFile: String?

  /// `sources` holds the program's files: a fresh manager, or the one a program given to
  /// the driver was analysed with (`holoc dev`).
  public init(
    format: DiagnosticRenderer.Format,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    sources: SourceManager = SourceManager(), cacheURL: String? = nil
  ) {
    self.format = format
    self.environment = environment
    self.sources = sources
    self.cacheURL = cacheURL
  }

  /// `holoc check`: parse and typecheck only.
  public func check(path: String) -> Int32 {
    do throws(DiagnosticsError) {
      _ = try analyze(resolve(path))
      return ExitStatus.success
    } catch {
      return fail(error)
    }
  }

  /// `holoc build`: writes an executable, or codegen's output, to `output` (default: a name
  /// derived from `path` in the current folder).
  public func build(path: String, settings: BuildSettings, kind: OutputKind, output: String?)
    -> Int32
  {
    Teardown.install()
    // Everything but an executable is code another tool links, perhaps into a C host.
    let settings = kind == .executable ? settings : settings.forCHost
    do throws(DiagnosticsError) {
      let root = try resolve(path)
      let destination = output ?? root.defaultOutput(kind)
      try checkWritable(destination)
      let manifest = try buildManifest(
        root: root, settings: settings, kind: kind, destination: destination)
      if let manifest, let cached = manifest.cachedOutput() {
        try write(cached.output, to: destination, executable: kind == .executable)
        return ExitStatus.success
      }
      let recordStore = DispatchGroup()
      // However the build ends, the records are in the cache before holoc exits.
      defer { recordStore.wait() }
      let (program, reported) = try analyzeReporting(root, storingRecordsIn: recordStore)
      switch kind {
      case .executable:
        try linkExecutable(program, settings: settings, entry: .program, to: destination)
      case .library:
        try writeLibrary(program, settings: settings, to: destination)
      case .header:
        let name = output.map(ProjectRoot.stem(of:)) ?? root.name
        try write(Array(CHeader.generate(program, name: name).utf8), to: destination)
      case .object, .assembly, .llvmIR:
        // With an entry point the object carries `main`, so linking it with the runtime
        // gives the program; without one it is a plain object for a C host.
        let entry: CodegenOptions.Entry = program.entry == nil ? .none : .program
        let options = settings.codegenOptions(entry: entry)
        if kind == .object, settings.mode == .dev {
          try writeDevObject(program, options, to: destination)
        } else {
          try write(try generate(program, options, emit: kind), to: destination)
        }
      }
      if let manifest, !reported { manifest.record(files: sources.allFiles, outputAt: destination) }
      return ExitStatus.success
    } catch {
      return fail(error)
    }
  }

  /// `holoc run`: builds into a temporary folder and runs the program with `arguments` and
  /// holoc's stdin, stdout and stderr, in holoc's process group (a foreground job); returns
  /// its exit status.
  public func run(path: String, settings: BuildSettings, arguments: [String]) -> Int32 {
    Teardown.install()
    do throws(DiagnosticsError) {
      let root = try resolve(path)
      let program = try analyze(root)
      let status = try withTemporaryDirectory { directory throws(DiagnosticsError) in
        let executable = "\(directory)/\(root.name)"
        try linkExecutable(program, settings: settings, entry: .program, to: executable)
        let report = "\(directory)/failure-report"
        var environment = self.environment
        environment[FailureReport.environmentVariable] = report
        let termination: Subprocess.Termination
        do throws(SpawnError) {
          termination = try Subprocess.run(
            executable, arguments, environment: environment, job: .foreground)
        } catch {
          throw DiagnosticsError(.runtimeFailure, error.description)
        }
        switch termination {
        case .exited(ExitStatus.runtimeFailure):
          if let failure = FailureReport.read(at: report) {
            printDiagnostics([failure.diagnostic(sources: sources, program: program)])
          }
          return ExitStatus.runtimeFailure
        case .exited(let status):
          return status
        case .signalled(let signal) where ExitStatus.stoppingSignals.contains(signal):
          return ExitStatus.stopped(by: signal)
        case .signalled(let signal):
          printDiagnostics([
            .runtimeFailure(
              "the program was killed by \(Subprocess.describe(signal: signal))", at: nil)
          ])
          return ExitStatus.runtimeFailure
        case .timedOut:
          preconditionFailure("holoc run sets no time limit")
        }
      }
      Teardown.endIfAsked()
      return status
    } catch {
      return fail(error)
    }
  }

  // MARK: Pipeline

  /// The root file `path` names, remembered for the diagnostics that name no file.
  func resolve(_ path: String) throws(DiagnosticsError) -> ProjectRoot {
    let root = try ProjectRoot.resolve(path)
    rootFile = root.file
    return root
  }

  /// Parses and typechecks; prints every diagnostic; throws when there were errors.
  func analyze(_ root: ProjectRoot) throws(DiagnosticsError) -> IRProgram {
    try analyzeReporting(root).program
  }

  /// `analyze`, also telling whether it printed diagnostics (warnings). With
  /// `recordStore`, the analysis's body records are stored on another thread, in that
  /// group, while the caller goes on (a build generates and links code meanwhile);
  /// without, before this returns.
  func analyzeReporting(_ root: ProjectRoot, storingRecordsIn recordStore: DispatchGroup? = nil)
    throws(DiagnosticsError) -> (program: IRProgram, reported: Bool)
  {
    let records = BodyRecordCache(cache: openCache(), root: root.file)
    let database = ProgramDatabase(
      rootPath: root.file, sources: sources, workers: CompilerThread.bodyCheckers,
      records: BodyRecords(records.loaded))
    DiskSources().update(database)
    let analysis = database.snapshot()
    // Nothing writes to the database any more: another thread may read its records.
    if let recordStore {
      let database = Handover(database)
      DispatchQueue.global().async(group: recordStore) {
        records.store(database.value.bodyRecords)
      }
    } else {
      records.store(database.bodyRecords)
    }
    // Never freed (as clang's -disable-free): a command analyses once and then ends, and
    // freeing a large program's analysis costs a tenth of a second nobody needs spent.
    _ = Unmanaged.passRetained(database)
    printDiagnostics(analysis.diagnostics)
    let hasErrors = analysis.diagnostics.contains { $0.severity == .error }
    guard !hasErrors, let program = analysis.program else { throw DiagnosticsError([]) }
    return (program, !analysis.diagnostics.isEmpty)
  }

  func generate(_ program: IRProgram, _ options: CodegenOptions, emit kind: OutputKind)
    throws(DiagnosticsError) -> [UInt8]
  {
    let emit: EmitKind
    switch kind {
    case .executable, .object, .library, .header: emit = .object
    case .assembly: emit = .assembly
    case .llvmIR: emit = .llvmIR
    }
    do {
      return try Codegen.generate(program, sources: sources, options: options, emit: emit)
    } catch {
      throw DiagnosticsError(.codegenFailed, "code generation failed: \(error)")
    }
  }

  /// The object files to link into the program, made in `directory`: a dev build's chunk
  /// objects and glue (`devObjects`), or a release build's one object, which needs the
  /// whole program to optimise across functions. Each comes from the build cache when it
  /// holds it.
  func programObjects(
    _ program: IRProgram, _ options: CodegenOptions, fingerprints: ProgramFingerprints,
    in directory: String
  ) throws(DiagnosticsError) -> [String] {
    switch options.mode {
    case .dev: return try devObjects(program, options, fingerprints: fingerprints, in: directory)
    case .release:
      return [try releaseObject(program, options, fingerprints: fingerprints, in: directory)]
    }
  }

  /// The object file of a release build of `program`, made in `directory`: from the build
  /// cache when a build of the same code with the same options made it before, else
  /// generated (and stored).
  private func releaseObject(
    _ program: IRProgram, _ options: CodegenOptions, fingerprints: ProgramFingerprints,
    in directory: String
  ) throws(DiagnosticsError) -> String {
    let cache = openCache()
    let key = releaseObjectKey(program, options, fingerprints)
    let path = "\(directory)/program.o"
    if cache.link(key, output: "object", to: path) { return path }
    let object = try generate(program, options, emit: .object)
    guard Self.store(object, under: key, in: cache, at: path) else {
      throw DiagnosticsError(
        .cannotWriteOutput, "cannot write `\(path)`: \(String(cString: strerror(errno)))",
        about: path)
    }
    return path
  }

  /// Everything release code generation reads: the compiler, the options, and of the
  /// program each function's fingerprint and start line (release locations hold absolute
  /// lines), the externs, the entry and tests, and each file's path (release objects carry
  /// no debug information, so not its folder).
  private func releaseObjectKey(
    _ program: IRProgram, _ options: CodegenOptions, _ fingerprints: ProgramFingerprints
  ) -> CacheKey {
    var builder = CacheKey.Builder(kind: "release-object")
    for (label, value) in CompilerIdentity.parts { builder.add(label, value) }
    builder.add(
      "options", "\(options.optimizationLevel) \(options.targetCPU ?? "-") \(options.entry)")
    var files: Set<FileID> = []
    for function in program.functions {
      if files.insert(function.span.file).inserted {
        builder.add("file", sources.file(function.span.file).path)
      }
      builder.add("function", fingerprints.key(of: function.id))
      builder.add("code", fingerprints.byFunction[function.id]!.digest.bytes)
      builder.add("line", "\(Codegen.startLine(of: function, sources))")
    }
    for external in program.externs {
      builder.add(
        "extern",
        "\(external.name)(\(external.parameterTypes.map(\.description).joined(separator: ",")))"
          + "->\(external.returnType)")
    }
    builder.add(
      "entry", program.entry.map { Symbols.key(of: program.function($0), in: program) } ?? "-")
    for test in program.tests {
      builder.add("test", Symbols.key(of: program.function(test), in: program))
    }
    return builder.key
  }

  /// Compiles `program` and links it with the runtime into the executable `output`;
  /// `fingerprints` are the program's, when the caller has them already. `patchable`:
  /// the test executable `holoc dev` patches (`CodegenOptions.patchable`).
  func linkExecutable(
    _ program: IRProgram, settings: BuildSettings, entry: CodegenOptions.Entry, to output: String,
    patchable: Bool = false, fingerprints: ProgramFingerprints? = nil
  ) throws(DiagnosticsError) {
    let options = settings.codegenOptions(entry: entry, patchable: patchable)
    let fingerprints = fingerprints ?? ProgramFingerprints(program, sources: sources)
    let runtime = try runtimeArchive()
    // Every dev program carries the (dormant) patch agent, and so does holoc dev's test
    // process; `holoc test`'s executables are never patched.
    let agent = options.startsAgent ? try runtimeArchive(.agent) : nil
    let cc = try cCompiler()
    try withTemporaryDirectory { directory throws(DiagnosticsError) in
      let objects = try programObjects(
        program, options, fingerprints: fingerprints, in: directory)
      var arguments = try objectArchiveArguments(objects, in: directory)
      if let agent {
        arguments += RuntimeLibrary.agentLinkArguments(agentArchive: agent)
        // All of the runtime, not just what this code uses: a patch may call any of it.
        arguments += DevABI.LinkFlags.wholeArchive(runtime)
      } else {
        arguments.append(runtime)
      }
      arguments += ["-lm"] + settings.libraries.map { "-l\($0)" } + fasterLinker()
      arguments += ["-o", output]
      let termination: Subprocess.Termination
      let messages: String
      do throws(SpawnError) {
        (termination, messages) = try Subprocess.capture(cc, arguments)
      } catch {
        throw DiagnosticsError(.linkFailed, "linking failed: \(error)")
      }
      guard termination == .exited(0) else {
        let hint =
          messages.contains("undefined reference") || messages.contains("undefined symbol")
          ? "an `extern fn` needs the C library that defines it: pass `-l NAME`" : nil
        // The message's first line is the headline; cc's output follows as its details.
        throw DiagnosticsError([
          Diagnostic(
            .linkFailed,
            "linking with `cc` failed:\n\(messages.trimmingCharacters(in: .newlines))",
            at: Self.undefinedExtern(in: messages, of: program)?.span, hint: hint)
        ])
      }
    }
  }

  /// The system C compiler, which links executables and combines objects.
  func cCompiler() throws(DiagnosticsError) -> String {
    guard let cc = Subprocess.findExecutable("cc", environment: environment) else {
      throw DiagnosticsError(
        .runtimeNotFound, "cannot find the C compiler `cc`",
        hint: "install a C compiler (gcc or clang); holoc links executables with it")
    }
    return cc
  }

  /// `-fuse-ld` of a faster linker than GNU ld when one is installed, lld, else gold: a
  /// 50,000-function dev build links in 1.4 s with ld.bfd, 0.8 s with gold, 0.5 s with lld.
  /// With lld, relative relocations are packed (`DT_RELR`, glibc 2.36): a dev build's
  /// function tables and slots hold several pointers per function, and a 24-byte `RELA`
  /// entry for each made a quarter of a 50,000-function executable.
  private func fasterLinker() -> [String] {
    if Subprocess.findExecutable("ld.lld", environment: environment) != nil {
      return ["-fuse-ld=lld", "-Wl,-z,pack-relative-relocs"]
    }
    if Subprocess.findExecutable("ld.gold", environment: environment) != nil {
      return ["-fuse-ld=gold"]
    }
    return []
  }

  /// The first `extern fn` of `program` that the linker's `messages` call an undefined
  /// reference (GNU ld: "undefined reference to `NAME'", gold: "… to 'NAME'", lld:
  /// "undefined symbol: NAME"): where a link error about it points.
  static func undefinedExtern(in messages: String, of program: IRProgram) -> IRExtern? {
    for line in messages.split(separator: "\n") {
      let name: Substring
      if let quote = line.range(of: "undefined reference to ")?.upperBound, quote < line.endIndex,
        let end = line[line.index(after: quote)...].firstIndex(where: { $0 == "'" || $0 == "`" })
      {
        name = line[line.index(after: quote)..<end]
      } else if let start = line.range(of: "undefined symbol: ")?.upperBound {
        name = line[start...]
      } else {
        continue
      }
      if let external = program.externs.first(where: { $0.name == name }) { return external }
    }
    return nil
  }

  /// Compiles `program` without a `main` and archives it with the runtime (and, in dev
  /// builds, the patch agent) into the static library `output`.
  func writeLibrary(_ program: IRProgram, settings: BuildSettings, to output: String)
    throws(DiagnosticsError)
  {
    let options = settings.codegenOptions(entry: .none)
    let runtime = try runtimeArchive()
    let agent = settings.mode == .dev ? try runtimeArchive(.agent) : nil
    try withTemporaryDirectory { directory throws(DiagnosticsError) in
      let objectPath = "\(directory)/\(ProjectRoot.stem(of: output)).o"
      switch settings.mode {
      case .dev:
        let objects = try devObjects(
          program, options, fingerprints: ProgramFingerprints(program, sources: sources),
          in: directory)
        try combine(objects, into: objectPath, in: directory)
      case .release:
        try write(try generate(program, options, emit: .library), to: objectPath)
      }
      try LibraryArchive.write(
        programObject: objectPath, runtimeArchive: runtime, agentArchive: agent, to: output,
        in: directory, environment: environment)
    }
  }

  /// Writes the one object of a dev build (`--emit obj`): its chunk objects and glue
  /// combined by `cc -r`, so they come from the build cache as an executable's do.
  private func writeDevObject(_ program: IRProgram, _ options: CodegenOptions, to output: String)
    throws(DiagnosticsError)
  {
    try withTemporaryDirectory { directory throws(DiagnosticsError) in
      let objects = try devObjects(
        program, options, fingerprints: ProgramFingerprints(program, sources: sources),
        in: directory)
      let combined = "\(directory)/combined.o"
      try combine(objects, into: combined, in: directory)
      guard let bytes = FileManager.default.contents(atPath: combined) else {
        throw DiagnosticsError(.cannotWriteOutput, "cannot read the combined object `\(combined)`")
      }
      try write([UInt8](bytes), to: output)
    }
  }

  func runtimeArchive(_ component: RuntimeLibrary.Component = .runtime) throws(DiagnosticsError)
    -> String
  {
    guard
      let directory = RuntimeLibrary.locate(
        environment: environment, executablePath: RuntimeLibrary.currentExecutablePath())
    else {
      let name = DevABI.Environment.runtimeDirectory
      let variable = environment[name].map { " (\(name) is `\($0)`)" } ?? ""
      throw DiagnosticsError(
        .runtimeNotFound, "cannot find the holo runtime\(variable)",
        hint: "set \(name) to the folder holding include/holo.h and src/")
    }
    return try RuntimeLibrary.archive(
      runtimeDirectory: directory,
      cacheDirectory: RuntimeLibrary.cacheDirectory(environment: environment),
      environment: environment, component: component)
  }

  // MARK: Files and output

  private func checkWritable(_ output: String) throws(DiagnosticsError) {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory),
      isDirectory.boolValue
    {
      throw DiagnosticsError(
        .outputIsDirectory, "the output path `\(output)` is a folder", about: output,
        hint: "choose the output file with `-o FILE`")
    }
  }

  /// Writes `bytes` to `path` atomically (a reader never sees half a file); `executable`:
  /// with the permissions `cc` gives an executable under the usual umask.
  func write(_ bytes: [UInt8], to path: String, executable: Bool = false)
    throws(DiagnosticsError)
  {
    do {
      try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
      if executable {
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
      }
    } catch {
      throw DiagnosticsError(
        .cannotWriteOutput, "cannot write `\(path)`: \(error.localizedDescription)", about: path)
    }
  }

  func withTemporaryDirectory<Result>(
    _ body: (String) throws(DiagnosticsError) -> Result
  ) throws(DiagnosticsError) -> Result {
    let folder: TemporaryFolder
    do throws(TemporaryFolder.Failure) {
      folder = try TemporaryFolder.create()
    } catch {
      throw DiagnosticsError(.cannotWriteOutput, "cannot create a temporary folder: \(error)")
    }
    defer { folder.remove() }
    return try body(folder.path)
  }

  /// Prints the diagnostics of a failed command and returns the status for it.
  func fail(_ error: DiagnosticsError) -> Int32 {
    printDiagnostics(error.diagnostics)
    return ExitStatus.failure
  }

  func printDiagnostics(_ diagnostics: [Diagnostic]) {
    guard !diagnostics.isEmpty else { return }
    let renderer = DiagnosticRenderer(
      sources: sources, useColor: format == .human && DiagnosticRenderer.stderrWantsColor())
    let located = rootFile.map { root in diagnostics.map { $0.located(in: root) } } ?? diagnostics
    StandardStream.error.write(renderer.render(located, format: format))
  }
}

/// Unbuffered writes, so holoc's output interleaves with its children's in order.
enum StandardStream {
  case output
  case error

  func write(_ text: String) {
    let handle = self == .output ? FileHandle.standardOutput : FileHandle.standardError
    handle.write(Data(text.utf8))
  }
}

/// A value one thread hands to another and no longer uses.
private struct Handover<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
