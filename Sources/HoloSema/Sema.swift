import HoloIR
import HoloSource
import HoloSyntax

/// The result of loading, parsing and checking a program.
public struct Analysis: Sendable {
  /// The typed program; nil when any error was found.
  public var program: IRProgram?
  /// Every diagnostic of every phase, in source order per file.
  public var diagnostics: [Diagnostic]
  /// Every file loaded: the root first, then its imports.
  public var files: [FileID]

  public init(program: IRProgram?, diagnostics: [Diagnostic], files: [FileID]) {
    self.program = program
    self.diagnostics = diagnostics
    self.files = files
  }
}

public enum Sema {
  /// Loads `rootPath` and the files it imports, parses and typechecks them.
  public static func analyze(rootPath: String, sources: SourceManager) -> Analysis {
    Analysis(program: nil, diagnostics: [], files: [])
  }
}
