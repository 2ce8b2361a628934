import HoloIR
import HoloSource
import HoloSyntax

/// The result of loading, parsing and checking a program.
public struct Analysis: Sendable {
  /// The typed program; nil when any error was found.
  public var program: IRProgram?
  /// Every diagnostic of every phase, ordered by file and position.
  public var diagnostics: [Diagnostic]
  /// Every file loaded: the root first, then its imports.
  public var files: [FileID]
  /// The path every `import` names, found or not (what a file watcher must watch).
  public var importPaths: [String]
  /// Which analysis of its database this is (`ProgramDatabase.changedFunctions(since:)`).
  public var number: Int

  public init(
    program: IRProgram?, diagnostics: [Diagnostic], files: [FileID], importPaths: [String] = [],
    number: Int = 0
  ) {
    self.program = program
    self.diagnostics = diagnostics
    self.files = files
    self.importPaths = importPaths
    self.number = number
  }
}

public enum Sema {
  /// Loads `rootPath` and the files it imports from disk, parses and typechecks them: a
  /// program database used once (its bodies checked by `workers`, when given).
  public static func analyze(
    rootPath: String, sources: SourceManager, workers: ProgramDatabase.Workers? = nil
  ) -> Analysis {
    let database = ProgramDatabase(rootPath: rootPath, sources: sources, workers: workers)
    DiskSources().update(database)
    return database.snapshot()
  }
}

/// The project-wide names a function body can see.
struct CheckEnvironment {
  /// What `name` refers to now, nil for nothing.
  var definition: (_ name: String) -> GlobalDefinition?
}
