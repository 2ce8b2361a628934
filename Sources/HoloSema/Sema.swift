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

  public init(
    program: IRProgram?, diagnostics: [Diagnostic], files: [FileID], importPaths: [String] = []
  ) {
    self.program = program
    self.diagnostics = diagnostics
    self.files = files
    self.importPaths = importPaths
  }
}

public enum Sema {
  /// Loads `rootPath` and the files it imports, parses and typechecks them. With a
  /// `cache`, files whose text did not change since the last analysis are not re-parsed.
  public static func analyze(
    rootPath: String, sources: SourceManager, cache: ParseCache? = nil
  ) -> Analysis {
    var loader = ProgramLoader(sources: sources, cache: cache)
    loader.load(rootPath: rootPath)
    var checker = ProgramChecker(files: loader.files)
    checker.diagnostics.append(contentsOf: loader.diagnostics.diagnostics)
    let program = checker.check()
    let diagnostics = checker.diagnostics.diagnostics.sorted { a, b in
      let left = a.span.map { ($0.file.index, $0.start) } ?? (-1, 0)
      let right = b.span.map { ($0.file.index, $0.start) } ?? (-1, 0)
      return left < right
    }
    return Analysis(
      program: checker.diagnostics.hasErrors ? nil : program,
      diagnostics: diagnostics,
      files: loader.files.map(\.source.id), importPaths: loader.importPaths)
  }
}

/// Collects the project-wide declarations, then checks every function body.
struct ProgramChecker {
  let files: [LoadedFile]
  var diagnostics = DiagnosticBag()

  private var globals: [String: (symbol: GlobalSymbol, span: Span)] = [:]
  private var functionDecls: [FunctionDecl] = []
  private var signatures: [FunctionSignature] = []
  private var externs: [IRExtern] = []

  init(files: [LoadedFile]) {
    self.files = files
  }

  mutating func check() -> IRProgram {
    declare()
    let scriptStatements = collectScriptStatements()
    var functions: [IRFunction] = []
    let environment = CheckEnvironment(
      globals: globals.mapValues(\.symbol), signatures: signatures, externs: externs)
    for (index, decl) in functionDecls.enumerated() {
      let id = FunctionID(index)
      var checker = FunctionChecker(environment: environment, diagnostics: diagnostics)
      functions.append(
        checker.checkFunction(
          decl, id: id, kind: decl.isTest ? .test : .user, signature: signatures[index]))
      diagnostics = checker.diagnostics
    }
    var entry: FunctionID?
    if let mainID = globals["main"], case .function(let id) = mainID.symbol {
      entry = id
      validateMain(functionDecls[id.index], signature: signatures[id.index], scriptStatements)
    } else if !scriptStatements.isEmpty {
      let id = FunctionID(functions.count)
      var checker = FunctionChecker(environment: environment, diagnostics: diagnostics)
      functions.append(checker.checkScript(scriptStatements, id: id))
      diagnostics = checker.diagnostics
      entry = id
    }
    let tests = functions.filter { $0.kind == .test }.map(\.id)
    return IRProgram(functions: functions, externs: externs, entry: entry, tests: tests)
  }

  /// Registers every function and extern under its name, reporting duplicates.
  private mutating func declare() {
    for file in files {
      for item in file.syntax.items {
        switch item {
        case .function(let decl):
          let id = FunctionID(functionDecls.count)
          guard register(decl.name, as: .function(id)) else { continue }
          functionDecls.append(decl)
          signatures.append(signature(of: decl.name, decl.params, decl.returnType))
          if decl.isTest, !decl.params.isEmpty || decl.returnType.map({ $0.name != "()" }) == true {
            diagnostics.error(
              .invalidTest, "a `#[test]` function takes no parameters and returns `()`",
              at: decl.signatureSpan, labels: [Label(decl.signatureSpan, "declared here")])
          }
          if decl.isExport, decl.isTest || decl.name.name == "main" {
            diagnostics.error(
              .invalidExport,
              decl.isTest
                ? "a `#[test]` function cannot be exported" : "`main` cannot be exported",
              at: decl.signatureSpan,
              labels: [Label(decl.signatureSpan, "C programs have their own entry point")])
          }
        case .externFunction(let decl):
          let id = ExternID(externs.count)
          guard register(decl.name, as: .externFunction(id)) else { continue }
          let signature = signature(of: decl.name, decl.params, decl.returnType)
          externs.append(
            IRExtern(
              id: id, name: decl.name.name, parameterTypes: signature.parameterTypes,
              returnType: signature.returnType, span: decl.name.span))
        case .importDecl, .statement:
          break
        }
      }
    }
  }

  private mutating func register(_ name: Identifier, as symbol: GlobalSymbol) -> Bool {
    if BuiltinSignatures.isBuiltinName(name.name) {
      diagnostics.error(
        .duplicateDefinition, "`\(name.name)` is a built-in function and cannot be redefined",
        at: name.span, labels: [Label(name.span, "redefines a built-in")])
      return false
    }
    if let previous = globals[name.name] {
      diagnostics.error(
        .duplicateDefinition, "`\(name.name)` is defined more than once", at: name.span,
        labels: [
          Label(previous.span, "first definition of `\(name.name)`"),
          Label(name.span, "defined again here"),
        ])
      return false
    }
    globals[name.name] = (symbol, name.span)
    return true
  }

  private mutating func signature(
    of name: Identifier, _ params: [Param], _ returnType: TypeSyntax?
  ) -> FunctionSignature {
    FunctionSignature(
      name: name.name,
      parameterNames: params.map(\.name.name),
      parameterTypes: params.map { TypeResolver.resolve($0.type, diagnostics: &diagnostics) },
      parameterSpans: params.map(\.span),
      returnType: TypeResolver.resolve(returnType, diagnostics: &diagnostics),
      nameSpan: name.span)
  }

  /// Top-level statements form the script body; only the root file may have them.
  private mutating func collectScriptStatements() -> [Stmt] {
    var statements: [Stmt] = []
    for (index, file) in files.enumerated() {
      for case .statement(let statement) in file.syntax.items {
        if index == 0 {
          statements.append(statement)
        } else {
          diagnostics.error(
            .mainWithTopLevelStatements,
            "top-level statements are only allowed in the program's root file",
            at: statement.span,
            labels: [Label(statement.span, "in imported file `\(file.source.path)`")])
        }
      }
    }
    return statements
  }

  private mutating func validateMain(
    _ decl: FunctionDecl, signature: FunctionSignature, _ scriptStatements: [Stmt]
  ) {
    if let first = scriptStatements.first {
      diagnostics.error(
        .mainWithTopLevelStatements,
        "a program cannot have both `fn main` and top-level statements", at: first.span,
        labels: [
          Label(decl.name.span, "`main` defined here"),
          Label(first.span, "top-level statement"),
        ])
    }
    if !signature.parameterTypes.isEmpty || ![.unit, .never].contains(signature.returnType) {
      diagnostics.error(
        .invalidMain, "`main` takes no parameters and returns `()`", at: decl.signatureSpan,
        labels: [Label(decl.signatureSpan, "declared here")])
    }
    if decl.isTest {
      diagnostics.error(
        .invalidMain, "`main` cannot be a test", at: decl.name.span,
        labels: [Label(decl.name.span, "marked `#[test]`")])
    }
  }
}

/// The project-wide names a function body can see.
struct CheckEnvironment {
  var globals: [String: GlobalSymbol]
  var signatures: [FunctionSignature]
  var externs: [IRExtern]
}
