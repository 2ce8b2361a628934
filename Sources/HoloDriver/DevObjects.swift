import Foundation
import HoloCache
import HoloCodegen
import HoloIR
import HoloSource

/// One object of a dev build: a chunk of functions, or the glue that needs the whole
/// program (docs/ARCHITECTURE.md, "Dev builds in chunks").
private enum DevObjectUnit: Sendable {
  case chunk(CodeChunk)
  case glue
}

extension Driver {
  /// The object files of a dev build of `program`, made in `directory`, to be linked
  /// together in order: one per `CodeChunk` in the program's order, then the glue. Each is
  /// the build cache's file when an earlier build made it from the same inputs (a hard
  /// link: a build after a one-function edit reads and writes no object but the one it
  /// generates); the others are generated on as many threads as there are cores, stored,
  /// and linked from the cache too.
  func devObjects(
    _ program: IRProgram, _ options: CodegenOptions, fingerprints: ProgramFingerprints,
    in directory: String
  ) throws(DiagnosticsError) -> [String] {
    // The glue goes first: in a big program it is the largest unit, so it must not be
    // the one that starts last.
    let units = [DevObjectUnit.glue] + CodeChunk.partition(program).map(DevObjectUnit.chunk)
    let cache = openCache()
    let queue = WorkQueue(count: units.count)
    let results = WorkerResults<String>(count: units.count)
    let sources = self.sources
    CompilerThread.runWorkers(min(ProcessInfo.processInfo.activeProcessorCount, units.count)) {
      // Made on the first miss: a build found whole in the cache creates no target machine.
      var compiler: DevObjectCompiler?
      while !results.failed, let index = queue.next() {
        // Keyed by the worker that takes it: a key spells every function of its chunk.
        let key =
          switch units[index] {
          case .chunk(let chunk): Self.chunkKey(chunk, program, options, fingerprints, sources)
          case .glue: Self.glueKey(program, options, sources)
          }
        let path = "\(directory)/\(index).o"
        if cache.link(key, output: "object", to: path) {
          results.set(path, at: index)
          continue
        }
        do {
          let current =
            try compiler ?? DevObjectCompiler(program, sources: sources, options: options)
          compiler = current
          let object: [UInt8]
          switch units[index] {
          case .chunk(let chunk): object = try current.object(of: chunk)
          case .glue: object = try current.glueObject()
          }
          guard Self.store(object, under: key, in: cache, at: path) else {
            results.fail("cannot write `\(path)`: \(String(cString: strerror(errno)))")
            continue
          }
          results.set(path, at: index)
        } catch {
          results.fail("\(error)")
        }
      }
    }
    if let failure = results.failure {
      throw DiagnosticsError(.codegenFailed, "code generation failed: \(failure)")
    }
    let objects = results.values
    return Array(objects.dropFirst()) + [objects[0]]
  }

  /// Stores the new `object` under `key` and makes `path` a link to it; when the cache
  /// would not keep it (a read-only cache folder), writes it to `path` as it is. False when
  /// `path` cannot be written.
  static func store(_ object: [UInt8], under key: CacheKey, in cache: BuildCache, at path: String)
    -> Bool
  {
    cache.store(key, [CacheOutput(name: "object", bytes: object)])
    return cache.link(key, output: "object", to: path)
      || FileManager.default.createFile(atPath: path, contents: Data(object))
  }

  /// Everything a chunk's object depends on: the compiler, the options but the entry (a
  /// chunk holds no `main`), the path and folder of each file its functions are in
  /// (locations name the path, debug information the folder too), and per function in
  /// order its key, fingerprint and start line (line-base cells start with it; DWARF
  /// lines are absolute). Its entries of the function table hold nothing else (name,
  /// file, column). The fingerprint covers the rest of what the code reads: its typed IR
  /// with every string constant, the keys (so the signatures, so the slot names) of the
  /// functions it calls, the name and signature of every `extern fn` it calls, its kind,
  /// column and text. Which of its callees the chunk defines (called directly behind a
  /// guard at -O1 and above) follows from the list of its functions.
  private static func chunkKey(
    _ chunk: CodeChunk, _ program: IRProgram, _ options: CodegenOptions,
    _ fingerprints: ProgramFingerprints, _ sources: SourceManager
  ) -> CacheKey {
    var builder = CacheKey.Builder(kind: "dev-chunk-object")
    for (label, value) in CompilerIdentity.parts { builder.add(label, value) }
    builder.add(
      "options",
      "\(options.optimizationLevel) \(options.targetCPU ?? "-")"
        + (options.restartableFrames ? " restartable-frames" : ""))
    var file: FileID?
    for id in chunk.functions {
      let function = program.function(id)
      if function.span.file != file {
        file = function.span.file
        let path = sources.file(function.span.file).path
        builder.add("file", path)
        builder.add("folder", Self.folder(of: path))
      }
      builder.add("function", fingerprints.key(of: id))
      builder.add("code", fingerprints.byFunction[id]!.digest.bytes)
      builder.add("line", "\(Codegen.startLine(of: function, sources))")
    }
    return builder.key
  }

  /// Everything the glue depends on: the compiler, the options with the entry (and whether
  /// it starts the patch agent: holoc dev's test process), how many
  /// functions the program has (the length of the function table the chunks make), the
  /// key of each export (its wrapper's name and signature, its slot), the entry's key, each
  /// global's storage and initializer in order (it defines the one and calls the other), and
  /// per test its key, file and column (its entry in the test table, whose location is
  /// relative to its line-base cell, so not its line). Body edits and renames of other
  /// functions leave it as it is; adding or removing a function changes its count, and
  /// then generating it costs little: it holds nothing per function.
  private static func glueKey(
    _ program: IRProgram, _ options: CodegenOptions, _ sources: SourceManager
  ) -> CacheKey {
    var builder = CacheKey.Builder(kind: "dev-glue-object")
    for (label, value) in CompilerIdentity.parts { builder.add(label, value) }
    builder.add(
      "options",
      "\(options.optimizationLevel) \(options.targetCPU ?? "-") \(options.entry)"
        + (options.startsAgent ? " agent" : "")
        + (options.restartableFrames ? " restartable-frames" : ""))
    builder.add("functions", "\(program.functions.count)")
    for function in program.functions where function.isExport {
      builder.add("export", Symbols.key(of: function, in: program))
    }
    builder.add(
      "entry", program.entry.map { Symbols.key(of: program.function($0), in: program) } ?? "-")
    builder.add("layouts", program.layoutsDescription)
    for global in program.globals {
      builder.add("global", Symbols.global(global, in: program))
      builder.add("initializer", Symbols.key(of: program.function(global.initializer), in: program))
    }
    for test in program.tests.map(program.function) {
      let file = sources.file(test.span.file)
      builder.add("test", Symbols.key(of: test, in: program))
      builder.add("file", file.path)
      builder.add("column", "\(file.location(of: test.span.start).column)")
    }
    return builder.key
  }

  /// The absolute folder of a source file, as debug information names it.
  private static func folder(of path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
  }

  /// Writes the thin archive of `objects` (files in `directory`) and returns the
  /// arguments that link all of it, in order.
  func objectArchiveArguments(_ objects: [String], in directory: String)
    throws(DiagnosticsError) -> [String]
  {
    let path = "\(directory)/program.a"
    guard ObjectArchive.write(objects, to: path) else {
      throw DiagnosticsError(
        .cannotWriteOutput, "cannot write `\(path)`: \(String(cString: strerror(errno)))",
        about: path)
    }
    return ObjectArchive.linkArguments(path)
  }

  /// Links `objects` (files in `directory`) into the one relocatable object `output`
  /// (`cc -r`): what `--emit obj` and `--emit lib` of a dev build hold.
  func combine(_ objects: [String], into output: String, in directory: String)
    throws(DiagnosticsError)
  {
    let cc = try cCompiler()
    let arguments =
      ["-r", "-nostdlib", "-o", output] + (try objectArchiveArguments(objects, in: directory))
    let termination: Subprocess.Termination
    let messages: String
    do throws(SpawnError) {
      (termination, messages) = try Subprocess.capture(cc, arguments)
    } catch {
      throw DiagnosticsError(.linkFailed, "combining the objects failed: \(error)")
    }
    guard termination == .exited(0) else {
      throw DiagnosticsError(
        .linkFailed,
        "combining the objects with `cc -r` failed:\n"
          + messages.trimmingCharacters(in: .newlines))
    }
  }
}
