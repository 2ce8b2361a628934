import Foundation
import HoloIR
import HoloSource
import HoloSyntax

/// A change to the program's sources, told to the database by whoever owns the files: the
/// disk (`DiskSources`), later an editor's unsaved buffers.
public enum SourceChange: Sendable, Equatable {
  /// The file at `path` holds `text` now.
  case text(path: String, String)
  /// There is no file at `path` (never was, or it was deleted).
  case absent(path: String)

  var path: String {
    switch self {
    case .text(let path, _), .absent(let path): return path
    }
  }
}

/// What one `apply` did again, for tests, benchmarks and the live loop's patch plan.
public struct DatabaseUpdate: Sendable, Equatable {
  /// The files parsed again, in the order they were told.
  public var parsedFiles: [String] = []
  /// How many of their top-level items were parsed: in a file that parsed cleanly, only
  /// the items an edit touched are parsed again.
  public var parsedItems = 0
  /// The function bodies typechecked again, in declaration order (the script body is `main`).
  public var checkedBodies: [String] = []
  /// The bodies kept although their text moved within its file (an edit above them): only
  /// their spans were moved, nothing was checked.
  public var movedBodies: [String] = []
  /// The bodies not checked because a record said how their check comes out
  /// (`BodyRecord`), in declaration order: their code is made when first needed.
  public var recordedBodies: [String] = []
  /// The function bodies a parse passed over, because records hold them (`BodyRecord`):
  /// each is parsed from its text only if it is checked, in source order.
  public var skimmedBodies: [String] = []

  public init() {}
}

/// The analysed program, kept up to date edit by edit: a pure, incremental store
/// (docs/ARCHITECTURE.md, "The program database").
///
/// Sources come in through `apply` and the analysis does no I/O: the files an import names
/// that the database was never told about are listed in `requestedFiles`, and the caller
/// answers with more changes. Declarations have stable identities: a function's
/// `FunctionID` (and an extern's `ExternID`) belongs to its name for the database's
/// lifetime, so inserting or removing a function elsewhere renumbers nothing. Each body is
/// kept with the project-wide names it read and what it found there; a body is checked
/// again only when its own text, column or signature changed, or when a name it read now
/// resolves to something of another shape (a callee's signature changed, a function
/// appeared or went away); a body that only moved in its file keeps its IR, moved. A body with diagnostics is checked on every change, so its messages always
/// describe the current program.
public final class ProgramDatabase {
  /// The root file's path, as given.
  public let rootPath: String
  /// Every file the database parsed: spans in diagnostics and IR resolve here.
  public let sources: SourceManager

  /// The sources as last told, by normalised path: text, or nil for "no file here".
  private var inputs: [String: String?] = [:]
  private var parsedFiles: [String: ParsedFile] = [:]
  /// Numbers the parses, so a file's declarations are known unchanged by a comparison.
  private var parses = 0
  private var functionIDs: [String: FunctionID] = [:]
  private var externIDs: [String: ExternID] = [:]
  /// The kept bodies, by `FunctionID.index`.
  private var bodies: [CheckedBody?] = []
  /// The names each kept body read: who must be checked again when a name's shape changes.
  private var readers: [String: NameReaders] = [:]
  /// The kept bodies with diagnostics, checked again on every change.
  private var bodiesWithDiagnostics: Set<FunctionID> = []
  /// The namespace of the latest analysis and the files it was declared from.
  private var declared: DeclaredProgram?
  /// The last load order (`loadOrder`), kept while no file came or went and no file's
  /// imports changed, and while every import was found: a save then looks its files up
  /// instead of walking every file's imports.
  private var knownLoadOrder: (paths: [String], importPaths: [String], initialisation: [Int])?
  /// The parses and namespace the last update replaced, still held: freeing those of a
  /// big file (every declaration's parts released) costs more than the edit's own work,
  /// so a live session frees them after its patch (`releaseReplaced`); the next update
  /// frees them at the latest.
  private var replaced: (files: [ParsedFile], declared: [DeclaredProgram]) = ([], [])
  /// The IR of the declared functions in declaration order (the script body last), shared
  /// with the snapshots: an edit copies only the chunks it changes.
  private var functions = ChunkedArray<IRFunction>()
  /// Where each function is in `functions`, by `FunctionID.index` (-1: none).
  private var positions = ChunkedArray<Int32>()
  /// The `#[test]` functions in `functions`, in order.
  private var tests: [FunctionID] = []
  /// A body checked by the current analysis is, or was, a test.
  private var testsMayHaveChanged = false
  private var current: Analysis
  private var pending: Set<String> = []
  private var revisions = 0

  /// What the latest analysis did again: the files parsed since the one before it, and
  /// the bodies it checked.
  public private(set) var lastUpdate = DatabaseUpdate()
  /// Changes were applied that no analysis has seen yet.
  private var needsAnalysis = false
  /// Numbers the analyses (`Analysis.number`).
  private var analyses = 0
  /// The functions each recent analysis changed (checked again, moved, added or removed;
  /// nil: possibly all), oldest first: what `changedFunctions(since:)` answers from.
  private var changeLog: [(analysis: Int, functions: [FunctionID]?)] = []
  /// The functions the current analysis changed so far.
  private var changedNow: [FunctionID] = []
  private static let changeLogLength = 64

  /// The identity of the body made of the root file's top-level statements: not a name a
  /// declaration can have.
  private static let scriptKey = "<script>"

  /// Runs `worker` on `count` threads at once and returns when all have: how many bodies
  /// are checked on every core. The caller owns threads (theirs need the compiler's large
  /// stack, for deeply nested code); nil checks everything on the calling thread.
  public typealias Workers = @Sendable (_ count: Int, _ worker: @Sendable () -> Void) -> Void
  private let workers: Workers?

  /// The records of clean checks the first analysis may take bodies from (`BodyRecord`).
  private var records: BodyRecords

  public init(
    rootPath: String, sources: SourceManager = SourceManager(), workers: Workers? = nil,
    records: BodyRecords = BodyRecords()
  ) {
    self.rootPath = rootPath
    self.sources = sources
    self.workers = workers
    self.records = records
    current = Analysis(program: nil, diagnostics: [], files: [])
    recompute()
  }

  /// The files an import (or the root) names whose contents the database has not been
  /// told: answer with `.text` or `.absent` for each, until there are none.
  public var requestedFiles: [String] { pending.sorted() }

  /// Every path the database was told about, with a file there or not.
  public var knownPaths: [String] {
    if let sortedPaths { return sortedPaths }
    let paths = inputs.keys.sorted()
    sortedPaths = paths
    return paths
  }
  /// `knownPaths`, until a new path is told: a live session asks on every save.
  private var sortedPaths: [String]?

  /// Applies source changes and, once no file it needs is still to be told
  /// (`requestedFiles`), brings the analysis up to date, re-doing only what they can have
  /// changed (`lastUpdate` says what). Until then only the new files are parsed: a program
  /// whose imports are discovered file by file is analysed once, not once per file.
  public func apply(_ changes: [SourceChange]) {
    releaseReplaced()
    if !needsAnalysis { lastUpdate = DatabaseUpdate() }
    var changed = false
    for change in changes {
      let path = Self.normalise(change.path)
      let text: String?
      switch change {
      case .text(_, let newText): text = newText
      case .absent: text = nil
      }
      if let known = inputs[path], known == text { continue }
      if inputs.updateValue(text, forKey: path) == nil { sortedPaths = nil }
      changed = true
      if let text {
        let source = sources.update(path: path, text: text)
        let previous = parsedFiles[path]
        if let previous, previous.source === source { continue }
        let parsed =
          previous.flatMap { ParsedFile(updating: $0, to: source) }
          ?? ParsedFile.parsing(source, workers: workers, records: records)
        parses += 1
        parsed.parse = parses
        if let previous { replaced.files.append(previous) }
        if previous.map({ !parsed.hasSameImports(as: $0) }) ?? true { knownLoadOrder = nil }
        parsedFiles[path] = parsed
        lastUpdate.parsedFiles.append(path)
        lastUpdate.parsedItems += parsed.parsedItems
        if parsed.derivation == nil {
          lastUpdate.skimmedBodies += parsed.declarations.filter(\.bodySkimmed).map(\.name)
        }
      } else {
        parsedFiles[path] = nil
        knownLoadOrder = nil
      }
    }
    guard changed else { return }
    needsAnalysis = true
    var diagnostics = DiagnosticBag()
    let loaded = loadOrder(&diagnostics)
    if pending.isEmpty { recompute(loaded, diagnostics) }
  }

  /// Frees what the last update replaced (a file's previous parse, the previous namespace).
  public func releaseReplaced() {
    replaced = ([], [])
  }

  /// The program as it is now: typed IR when it has no errors, and every diagnostic (a
  /// file still requested counts as missing).
  public func snapshot() -> Analysis {
    if needsAnalysis { recompute() }
    return current
  }

  /// The record of every function body of the latest analysis that checked cleanly, in a
  /// file that parsed cleanly (a later parse skims a recorded body: `ParsedFile`), in
  /// declaration order: what a later database can be given (`BodyRecord`).
  public var bodyRecords: [BodyRecord] {
    functions.compactMap { function in
      guard let body = keptBody(function.id), body.diagnostics.isEmpty,
        let key = body.recordKey,
        parsedFiles[body.key.text.path]?.diagnostics.isEmpty == true
      else { return nil }
      let reads = body.reads.map { name, shape in
        BodyRecord.Read(name: name, shape: shape?.recorded ?? "")
      }
      return BodyRecord(key: key, reads: reads.sorted { $0.name < $1.name })
    }
  }

  /// The functions whose IR or start line may differ between analysis `number` and now
  /// (checked again, moved to another line, added or removed), so a caller keeping
  /// something per function updates only those; nil when that is not known (too long ago,
  /// or the names changed: compare them all). A function moved within its line is not
  /// among them: its IR's spans moved, nothing else did.
  public func changedFunctions(since number: Int) -> Set<FunctionID>? {
    guard number <= analyses, let first = changeLog.first, first.analysis <= number + 1
    else { return number == analyses ? [] : nil }
    var changed: Set<FunctionID> = []
    for entry in changeLog where entry.analysis > number {
      guard let functions = entry.functions else { return nil }
      changed.formUnion(functions)
    }
    return changed
  }

  // MARK: Analysis

  private func recompute() {
    var diagnostics = DiagnosticBag()
    let loaded = loadOrder(&diagnostics)
    recompute(loaded, diagnostics)
  }

  /// The analysis of the files `loaded` (`loadOrder`, whose diagnostics `diagnostics` holds).
  private func recompute(
    _ loaded: (files: [ParsedFile], importPaths: [String]), _ diagnostics: DiagnosticBag
  ) {
    needsAnalysis = false
    analyses += 1
    changedNow = []
    var diagnostics = diagnostics
    let (files, importPaths) = loaded
    // The namespace, and which bodies can have changed: all of them after a change to the
    // set of names, else those of the files that changed and the readers of names whose
    // types changed (`declareIncrementally`).
    let (program, candidates) =
      declareIncrementally(files) ?? (declareAll(files), nil)
    if let declared { replaced.declared.append(declared) }
    declared = program
    diagnostics.append(contentsOf: program.diagnostics)
    let table = program.table
    let environment = CheckEnvironment { name in
      table.globals[name].map { program.definition(of: $0) }
    }

    testsMayHaveChanged = candidates == nil
    if candidates == nil {
      readers.reserveCapacity(table.functions.count)
      functions = ChunkedArray()
      positions = ChunkedArray(repeating: -1, count: functionIDs.count)
      for (position, function) in table.functions.enumerated() {
        positions[function.id.index] = Int32(position)
      }
    } else if functions.count > table.functions.count {
      // The script body, found again below.
      let script = functions[functions.count - 1].id
      positions[script.index] = -1
      functions.removeLast(functions.count - table.functions.count)
    }
    // The bodies that can have changed: kept ones reused (or moved), the others checked
    // afterwards, on every core when there are many (a cold analysis), then stored in
    // declaration order, so revisions and reports do not depend on the threads.
    var live: Set<FunctionID> = []
    var results: [(position: Int, body: CheckedBody)] = []
    var unchecked: [BodyCheck] = []
    if candidates == nil {
      live.reserveCapacity(table.functions.count)
      results.reserveCapacity(table.functions.count)
      unchecked.reserveCapacity(table.functions.count)
    }
    for (position, function) in table.functions.enumerated() {
      if candidates == nil { live.insert(function.id) }
      let reason = candidates?[position] ?? .readsChanged
      guard reason != .unaffected else { continue }
      let declaration = program.declaration(at: function.site)
      guard let text = declaration.text else { continue }
      let key = BodyKey(
        text: text, id: function.id, parameterTypes: declaration.parameterTypes,
        returnType: declaration.returnType)
      if let kept = reusedBody(
        function.id, key: key, validatingReads: reason == .readsChanged ? environment : nil,
        keepsLine: reason == .ownFileLinesKept)
      {
        results.append((position, kept))
      } else {
        unchecked.append(
          BodyCheck(
            position: position, id: function.id, key: key, declaration: declaration,
            source: program.files[function.site.file].source))
      }
    }
    let checked = check(unchecked, in: environment)
    for (check, result) in zip(unchecked, checked) {
      results.append((check.position, store(result, key: check.key)))
    }
    // Later analyses keep their own bodies: the records served the first.
    if !files.isEmpty { records = BodyRecords() }
    if candidates == nil {
      results.sort { $0.position < $1.position }
      for (_, body) in results { functions.append(body.function) }
    } else {
      for (position, body) in results { functions[position] = body.function }
    }

    let scriptStatements = collectScriptStatements(files, &diagnostics)
    var entry: FunctionID?
    var script: FunctionID?
    if case .function(let id)? = table.globals["main"]?.kind {
      entry = id
      let site = table.globals["main"]!.site
      let declaration = program.declaration(at: site)
      if case .function(let decl, _) = declaration.kind {
        validateMain(decl, signature: declaration.signature, scriptStatements, &diagnostics)
      }
    } else if !scriptStatements.isEmpty, let text = files.first?.scriptText {
      let id = functionID(Self.scriptKey)
      let key = BodyKey(text: text, id: id, parameterTypes: [], returnType: .unit)
      let body =
        reusedBody(id, key: key, validatingReads: environment)
        ?? {
          var checker = FunctionChecker(environment: environment, diagnostics: DiagnosticBag())
          let function = checker.checkScript(scriptStatements, id: id)
          return store(
            BodyResult(
              function: function, diagnostics: checker.diagnostics.diagnostics,
              reads: checker.reads, recordKey: nil, fromRecord: false),
            key: key)
        }()
      positions.pad(to: id.index + 1, with: -1)
      positions[id.index] = Int32(functions.count)
      functions.append(body.function)
      entry = id
      script = id
    }
    if candidates == nil {
      // Bodies of declarations that are gone go too: memory follows the program, not its history.
      if let script { live.insert(script) }
      for index in bodies.indices where bodies[index] != nil && !live.contains(FunctionID(index)) {
        forget(FunctionID(index))
      }
    } else if let id = functionIDs[Self.scriptKey], script == nil, keptBody(id) != nil {
      forget(id)
      changedNow.append(id)
    }
    changeLog.append((analyses, candidates == nil ? nil : changedNow))
    if changeLog.count > Self.changeLogLength { changeLog.removeFirst() }
    for id in bodiesWithDiagnostics.sorted() {
      diagnostics.append(contentsOf: keptBody(id)!.diagnostics)
    }
    let globals = program.globals(
      initialisingFilesIn: knownLoadOrder?.initialisation ?? Self.initialisationOrder(files))
    reportGlobalsUsedBeforeInitialisation(globals, program, environment, &diagnostics)
    let structs = program.structs(checkingDefaultsIn: environment, &diagnostics)
    // Where each struct is, by name: both passes look structs up by their fields' types.
    let structsByName = Dictionary(
      zip(structs, program.table.structs).map { ($0.name, ($0, $1)) },
      uniquingKeysWith: { first, _ in first })
    Self.reportSignatureTypes(files, program, structsByName, &diagnostics)
    Self.reportStructsContainingThemselves(structs, structsByName, program, &diagnostics)

    let sorted = diagnostics.diagnostics.sorted { a, b in
      let left = a.span.map { ($0.file.index, $0.start) } ?? (-1, 0)
      let right = b.span.map { ($0.file.index, $0.start) } ?? (-1, 0)
      return left < right
    }
    if testsMayHaveChanged { tests = functions.filter { $0.kind == .test }.map(\.id) }
    current = Analysis(
      program: diagnostics.hasErrors
        ? nil
        : IRProgram(
          functions: functions, positions: positions, externs: program.externs, entry: entry,
          tests: tests, globals: globals, structs: structs),
      diagnostics: sorted, files: files.map(\.source.id), importPaths: importPaths,
      number: analyses)
  }

  /// Every struct name a declaration's types mention must name a struct, and every struct
  /// in a C signature must have a C form (§10). Checked on every analysis (a struct added,
  /// removed or changed elsewhere changes the answer): one look-up per name written, none
  /// for declarations without one.
  private static func reportSignatureTypes(
    _ files: [ParsedFile], _ program: DeclaredProgram,
    _ structsByName: [String: (IRStruct, DeclarationTable.Site)], _ diagnostics: inout DiagnosticBag
  ) {
    for file in files {
      for declaration in file.structNamers.lazy.map({ file.declarations[$0] }) {
        for (name, span) in declaration.typeNames {
          guard case .structure? = program.table.globals[name]?.kind else {
            TypeResolver.reportUnknownType(name, at: span, &diagnostics)
            continue
          }
        }
        for (name, span) in declaration.cStructs {
          guard case .structure? = program.table.globals[name]?.kind else { continue }
          reportStructWithoutCForm(name, at: span, structsByName, program, &diagnostics)
        }
      }
    }
  }

  /// A struct crosses the C boundary when all its fields are scalars or such structs, and
  /// it has at least one (C has no empty struct).
  private static func reportStructWithoutCForm(
    _ name: String, at span: Span, _ structsByName: [String: (IRStruct, DeclarationTable.Site)],
    _ program: DeclaredProgram, _ diagnostics: inout DiagnosticBag
  ) {
    var visited: Set<String> = []
    /// The first field, depth first, that has no C form: its path from `name` and where it
    /// is declared.
    func fieldWithoutCForm(of structName: String) -> (path: String, IRType, Span)? {
      guard visited.insert(structName).inserted, let (structure, site) = structsByName[structName]
      else { return nil }
      let fieldSpans = program.declaration(at: site).signature.parameterSpans
      for (field, fieldSpan) in zip(structure.fields, fieldSpans) {
        switch field.type {
        case .structure(let inner):
          if structsByName[inner]?.0.fields.isEmpty == true {
            return (field.name, field.type, fieldSpan)
          }
          if let (path, type, span) = fieldWithoutCForm(of: inner) {
            return (field.name + "." + path, type, span)
          }
        case .string, .array: return (field.name, field.type, fieldSpan)
        default: continue
        }
      }
      return nil
    }
    if let (path, type, fieldSpan) = fieldWithoutCForm(of: name) {
      diagnostics.error(
        .invalidExport,
        "type `\(name)` cannot cross the C boundary: field `\(path)` has type `\(type)`",
        at: span,
        labels: [
          Label(span, "only structs of scalars cross by value"),
          Label(fieldSpan, "`\(path.split(separator: ".").last!)` declared here"),
        ])
    } else if structsByName[name]?.0.fields.isEmpty == true {
      diagnostics.error(
        .invalidExport, "type `\(name)` cannot cross the C boundary: it has no fields", at: span,
        labels: [Label(span, "C has no empty struct")])
    }
  }

  /// A struct may hold another by value, not itself, directly or through others (a field
  /// of array type holds a reference, and may).
  private static func reportStructsContainingThemselves(
    _ structs: [IRStruct], _ structsByName: [String: (IRStruct, DeclarationTable.Site)],
    _ program: DeclaredProgram, _ diagnostics: inout DiagnosticBag
  ) {
    for (index, structure) in structs.enumerated() {
      var seen: Set<String> = []
      var work = [structure.name]
      var cycles = false
      while let next = work.popLast(), !cycles {
        for field in structsByName[next]?.0.fields ?? [] {
          guard case .structure(let inner) = field.type else { continue }
          if inner == structure.name {
            cycles = true
            break
          }
          if seen.insert(inner).inserted { work.append(inner) }
        }
      }
      guard cycles else { continue }
      let nameSpan = program.declaration(at: program.table.structs[index]).signature.nameSpan
      diagnostics.error(
        .recursiveStruct, "struct `\(structure.name)` contains itself", at: nameSpan,
        labels: [Label(nameSpan, "a field holds it by value: use an array, `[\(structure.name)]`")])
    }
  }

  /// The files (by load order) in the order their globals are initialised: each after the
  /// files it imports, in the order it imports them, and each once (LANGUAGE.md §3, "in
  /// import order"; docs/DECISIONS.md), so an initializer may use an imported file's
  /// globals. In an import cycle, the file reached first goes after the others.
  private static func initialisationOrder(_ files: [ParsedFile]) -> [Int] {
    var indexByPath: [String: Int] = [:]
    for (index, file) in files.enumerated() { indexByPath[file.source.path] = index }
    var order: [Int] = []
    var visited = Set([0])
    // Depth first without recursion: a chain of imports may be as long as the program.
    var stack: [(file: Int, nextImport: Int)] = files.isEmpty ? [] : [(0, 0)]
    while let (file, nextImport) = stack.last {
      let imports = files[file].imports
      guard nextImport < imports.count else {
        order.append(file)
        stack.removeLast()
        continue
      }
      stack[stack.count - 1].nextImport += 1
      if let imported = indexByPath[imports[nextImport].path], visited.insert(imported).inserted {
        stack.append((imported, 0))
      }
    }
    return order
  }

  /// An initializer may name only the globals declared before it (LANGUAGE.md §3). Its
  /// reads say whether it names another; only then is it checked again, to say where. The
  /// order is not part of any body's check, so moving a global re-checks no body.
  private func reportGlobalsUsedBeforeInitialisation(
    _ globals: [IRGlobal], _ program: DeclaredProgram, _ environment: CheckEnvironment,
    _ diagnostics: inout DiagnosticBag
  ) {
    guard !globals.isEmpty else { return }
    var order: [FunctionID: Int] = [:]
    for (index, global) in globals.enumerated() { order[global.initializer] = index }
    for (index, global) in globals.enumerated() {
      guard let body = keptBody(global.initializer), body.diagnostics.isEmpty else { continue }
      let early = body.function.reads.filter { read in
        guard case .global(let id)? = read.target else { return false }
        return order[id].map { $0 >= index } ?? false
      }
      guard !early.isEmpty, let position = program.table.position(of: global.initializer)
      else { continue }
      let site = program.table.functions[position].site
      var check = BodyCheck(
        position: position, id: global.initializer, key: body.key,
        declaration: program.declaration(at: site), source: program.files[site.file].source)
      check.uninitialisedGlobals = Set(early.map(\.name))
      diagnostics.append(
        contentsOf: Self.checkFunction(check, environment).1.diagnostics.diagnostics)
    }
  }

  /// The kept body of `id`, when nothing it depends on changed (with `environment`, when
  /// each name it read has the shape it had): moved to where `key` says its text is now.
  /// `keepsLine`: the edit that moved it added or removed no line before it, so only its
  /// offsets differ, which nothing made of a function depends on (its code, fingerprint and
  /// start line are the same): it is not among the functions that changed
  /// (`changedFunctions`), so an edit within a line of a large file costs per function it
  /// changed, not per function after it.
  private func reusedBody(
    _ id: FunctionID, key: BodyKey, validatingReads environment: CheckEnvironment?,
    keepsLine: Bool = false
  ) -> CheckedBody? {
    guard let kept = keptBody(id), kept.diagnostics.isEmpty,
      kept.key.differsAtMostInStart(from: key),
      environment.map({ environment in
        kept.reads.allSatisfy { name, shape in environment.definition(name)?.shape == shape }
      }) ?? true
    else { return nil }
    guard kept.key != key else { return kept }
    // The same text at another offset: the same IR with its spans moved. Its revision
    // stays, since nothing its code depends on changed (its line lives in data).
    lastUpdate.movedBodies.append(kept.function.name)
    if !keepsLine { changedNow.append(id) }
    kept.function = kept.function.shifted(by: key.text.start - kept.key.text.start)
    kept.key = key
    return kept
  }

  /// A body to check, and where its function is in the table.
  private struct BodyCheck {
    var position: Int
    var id: FunctionID
    var key: BodyKey
    var declaration: ParsedFile.Declaration
    var source: SourceFile
    /// A global initializer checked again to report the globals it names too early.
    var uninitialisedGlobals: Set<String> = []
  }

  /// What checking a body found, or what its record says a check would.
  private struct BodyResult {
    var function: IRFunction
    var diagnostics: [Diagnostic]
    var reads: [String: GlobalShape?]
    /// Nil for the script body, which is not recorded.
    var recordKey: BodyRecordKey?
    /// Its code is deferred: a record said how its check comes out.
    var fromRecord: Bool
  }

  /// Checks `bodies`, on the worker threads when there are enough to share; the results
  /// in the same order. A body the records know, whose names are what they were when it
  /// was recorded, is not checked: its code is made when first needed.
  private func check(_ bodies: [BodyCheck], in environment: CheckEnvironment) -> [BodyResult] {
    let records = self.records
    let checkOne = { (body: BodyCheck) -> BodyResult in
      let recordKey = body.declaration.recordKey(in: body.source)!
      if !records.isEmpty, let recorded = records[recordKey],
        let reads = Self.currentReads(recorded, in: environment)
      {
        return BodyResult(
          function: Self.deferredFunction(body, reads: reads, environment),
          diagnostics: [], reads: reads, recordKey: recordKey, fromRecord: true)
      }
      let (function, checker) = Self.checkFunction(body, environment)
      return BodyResult(
        function: function, diagnostics: checker.diagnostics.diagnostics, reads: checker.reads,
        recordKey: recordKey, fromRecord: false)
    }
    guard let workers, bodies.count >= Self.bodiesPerWorker * 2 else { return bodies.map(checkOne) }
    let shared = SharedWork(bodies, checkOne)
    workers(min(Self.workerCount, bodies.count / Self.bodiesPerWorker)) { shared.run() }
    return shared.results.map { $0! }
  }

  private static func checkFunction(_ body: BodyCheck, _ environment: CheckEnvironment) -> (
    IRFunction, FunctionChecker
  ) {
    var checker = FunctionChecker(environment: environment, diagnostics: DiagnosticBag())
    checker.uninitialisedGlobals = body.uninitialisedGlobals
    let item: Item
    switch body.declaration.kind {
    case .function(let decl, _): item = .function(decl)
    case .global(let decl, _): item = .global(decl)
    case .externFunction, .structure:
      preconditionFailure("a declaration with a body text has a body")
    }
    switch body.declaration.bodyNeedsParsing
      ? ParsedFile.reparsedItem(at: body.key.text, in: body.source) : item
    {
    case .function(let decl):
      let function = checker.checkFunction(
        decl, id: body.id, kind: body.declaration.functionKind,
        signature: body.declaration.signature)
      return (function, checker)
    case .global(let decl):
      let function = checker.checkGlobalInitializer(
        decl, id: body.id, type: body.declaration.returnType)
      return (function, checker)
    default:
      preconditionFailure("a body's text parses as the item it was")
    }
  }

  /// What `recorded` reads are now, when each name still has the shape it had; else nil.
  private static func currentReads(
    _ recorded: [BodyRecord.Read], in environment: CheckEnvironment
  ) -> [String: GlobalShape?]? {
    var reads: [String: GlobalShape?] = [:]
    for read in recorded {
      let shape = environment.definition(read.name)?.shape
      guard (shape?.recorded ?? "") == read.shape else { return nil }
      reads[read.name] = shape
    }
    return reads
  }

  /// The function of `body`, whose check is known to come out clean with `reads`: checked
  /// when something first reads its code.
  private static func deferredFunction(
    _ body: BodyCheck, reads: [String: GlobalShape?], _ environment: CheckEnvironment
  ) -> IRFunction {
    let signature = body.declaration.signature
    let text = body.key.text
    let deferred = DeferredCheck(body: body, environment: environment)
    return IRFunction(
      deferredID: body.id, name: body.declaration.name, kind: body.declaration.functionKind,
      isExport: body.declaration.isExport,
      parameterTypes: signature.parameterTypes, returnType: signature.returnType,
      span: signature.nameSpan,
      extent: Span(file: body.source.id, start: text.start, end: text.start + text.length),
      reads: FunctionChecker.irReads(reads)
    ) {
      let (function, checker) = Self.checkFunction(deferred.body, deferred.environment)
      precondition(
        checker.diagnostics.diagnostics.isEmpty,
        "\(function.name): a body recorded as checking cleanly has diagnostics")
      return function
    }
  }

  /// What a deferred check needs, held until it runs. Nothing changes any of it once made
  /// (parsed declarations and the namespace are never written to), so any thread may run it.
  private final class DeferredCheck: @unchecked Sendable {
    let body: BodyCheck
    let environment: CheckEnvironment

    init(body: BodyCheck, environment: CheckEnvironment) {
      self.body = body
      self.environment = environment
    }
  }

  /// Bodies a worker takes at a time, and the most workers: checking a body takes
  /// microseconds, so a batch makes taking work cost nothing.
  private static let bodiesPerWorker = 256
  fileprivate static let workerCount = ProcessInfo.processInfo.activeProcessorCount

  /// Stores `result`, checked from `key`, as its id's body: a new revision, its reads.
  private func store(_ result: BodyResult, key: BodyKey) -> CheckedBody {
    var function = result.function
    let id = function.id
    if function.kind == .test || keptBody(id)?.function.kind == .test {
      testsMayHaveChanged = true
    }
    revisions += 1
    function.revision = revisions
    if result.fromRecord {
      lastUpdate.recordedBodies.append(function.name)
    } else {
      lastUpdate.checkedBodies.append(function.name)
    }
    changedNow.append(id)
    let body = CheckedBody(
      key: key, function: function, diagnostics: result.diagnostics, reads: result.reads,
      recordKey: result.recordKey)
    forget(id)
    if id.index >= bodies.count { bodies += repeatElement(nil, count: id.index + 1 - bodies.count) }
    bodies[id.index] = body
    for name in body.reads.keys where readers[name]?.insert(id) == nil {
      readers[name] = .one(id)
    }
    if !body.diagnostics.isEmpty { bodiesWithDiagnostics.insert(id) }
    return body
  }

  private func keptBody(_ id: FunctionID) -> CheckedBody? {
    id.index < bodies.count ? bodies[id.index] : nil
  }

  /// Drops the kept body of `id` and what it read.
  private func forget(_ id: FunctionID) {
    guard let body = keptBody(id) else { return }
    bodies[id.index] = nil
    for name in body.reads.keys {
      if readers[name]?.remove(id) == true { readers[name] = nil }
    }
    bodiesWithDiagnostics.remove(id)
  }

  /// The loaded files, the root first, then breadth-first along imports; and the path of
  /// every import, found or not (what a file watcher watches).
  private func loadOrder(_ diagnostics: inout DiagnosticBag) -> ([ParsedFile], [String]) {
    pending = []
    if let known = knownLoadOrder {
      let files = known.paths.map { parsedFiles[$0]! }
      for file in files { diagnostics.append(contentsOf: file.diagnostics) }
      return (files, known.importPaths)
    }
    let root = Self.normalise(rootPath)
    guard let rootFile = parsedFiles[root] else {
      if inputs[root] == nil { pending.insert(root) }
      diagnostics.add(
        Diagnostic(.fileNotFound, "cannot read `\(rootPath)`: no such file", about: rootPath))
      return ([], [])
    }
    var files = [rootFile]
    var paths = [root]
    var importPaths: [String] = []
    var loaded: Set<String> = [root]
    var allFound = true
    var next = 0
    while next < files.count {
      let file = files[next]
      next += 1
      for (decl, relative, path) in file.imports {
        importPaths.append(path)
        if loaded.contains(path) { continue }
        guard let imported = parsedFiles[path] else {
          if inputs[path] == nil { pending.insert(path) }
          diagnostics.error(
            .importNotFound, "cannot find `\(relative)` to import", at: decl.span,
            labels: [Label(decl.span, "no file at `\(path)`")])
          allFound = false
          continue
        }
        loaded.insert(path)
        files.append(imported)
        paths.append(path)
      }
    }
    for file in files { diagnostics.append(contentsOf: file.diagnostics) }
    if allFound { knownLoadOrder = (paths, importPaths, Self.initialisationOrder(files)) }
    return (files, importPaths)
  }

  /// Why a body may have to be checked again.
  private enum Candidate {
    case unaffected
    /// Its file changed: its own text or place may have.
    case ownFile
    /// Its file changed by an edit that added or removed no line: moved, it keeps its line.
    case ownFileLinesKept
    /// A name it read may have another shape now (or it has diagnostics): its reads are
    /// compared.
    case readsChanged
  }

  /// The namespace of `files` from the last one, when the change kept every name where it
  /// was (the same files in the same order, and each changed file declaring the same
  /// names in the same order) and the last one had no diagnostics: then only the
  /// declarations of the changed files are looked at, and the bodies to check are theirs,
  /// the readers of a name whose types changed, and those with diagnostics (marked by
  /// position in the table). Nil when the names changed: everything is declared again.
  private func declareIncrementally(_ files: [ParsedFile]) -> (DeclaredProgram, [Candidate])? {
    guard var program = declared, program.diagnostics.isEmpty,
      program.files.count == files.count,
      zip(program.files, files).allSatisfy({ $0.source.path == $1.source.path })
    else { return nil }
    // Per changed file: the declarations to compare (new and old positions) and the
    // functions (by their order among the file's functions) whose bodies may differ.
    var changedFiles:
      [(index: Int, compared: Range<Int>, old: Range<Int>, bodies: Range<Int>, linesKept: Bool)] =
        []
    for (index, (old, new)) in zip(program.files, files).enumerated() where old.parse != new.parse {
      if let derivation = new.derivation, derivation.from == old.parse {
        // Parsed from the old file: only the declarations parsed again can differ, and
        // only theirs and the moved ones' bodies.
        let start = derivation.functionsBefore
        let end =
          start + derivation.parsedFunctions
          + (derivation.shift == 0 ? 0 : derivation.functionsAfter)
        changedFiles.append(
          (index, derivation.parsed, derivation.replaced, start..<end, derivation.lineShift == 0))
      } else {
        changedFiles.append(
          (
            index, new.declarations.indices, old.declarations.indices,
            0..<program.table.functionPositions[index].count, false
          ))
      }
    }
    var changedNames: Set<String> = []
    var diagnostics = DiagnosticBag()
    for (index, compared, oldCompared, _, _) in changedFiles {
      let (old, new) = (program.files[index].declarations, files[index].declarations)
      guard compared.count == oldCompared.count else { return nil }
      for (position, oldPosition) in zip(compared, oldCompared) {
        guard new[position].hasBody == old[oldPosition].hasBody,
          new[position].isGlobal == old[oldPosition].isGlobal,
          new[position].isStruct == old[oldPosition].isStruct,
          new[position].name == old[oldPosition].name
        else { return nil }
        if !old[oldPosition].hasSameTypes(as: new[position]) {
          changedNames.insert(new[position].name)
        }
        diagnostics.append(contentsOf: new[position].signatureDiagnostics)
        // Only a declaration parsed again can have become invalid.
        if !new[position].bodyMoved, case .function(let decl, _) = new[position].kind {
          Self.validate(decl, &diagnostics)
        }
      }
    }
    program.files = files
    program.diagnostics = diagnostics.diagnostics
    var candidates = [Candidate](repeating: .unaffected, count: program.table.functions.count)
    for (index, _, _, bodies, linesKept) in changedFiles {
      let first = program.table.functionPositions[index].lowerBound
      for position in bodies {
        candidates[first + position] = linesKept ? .ownFileLinesKept : .ownFile
      }
    }
    var affected = bodiesWithDiagnostics
    for name in changedNames { readers[name]?.forEach { affected.insert($0) } }
    for id in affected {
      if let position = program.table.position(of: id) { candidates[position] = .readsChanged }
    }
    return (program, candidates)
  }

  /// Registers every function and extern of `files` under its name, reporting duplicates
  /// and invalid attributes.
  private func declareAll(_ files: [ParsedFile]) -> DeclaredProgram {
    var table = DeclarationTable()
    // Sized once: growing a table of every name rehashes all of them, several times.
    let declarations = files.reduce(0) { $0 + $1.declarations.count }
    table.globals.reserveCapacity(declarations)
    functionIDs.reserveCapacity(functionIDs.count + declarations)
    var diagnostics = DiagnosticBag()
    let nameSpan = { (site: DeclarationTable.Site) in Self.nameSpan(of: site, in: files) }
    for (fileIndex, file) in files.enumerated() {
      let first = table.functions.count
      for (index, declaration) in file.declarations.enumerated() {
        diagnostics.append(contentsOf: declaration.signatureDiagnostics)
        let site = DeclarationTable.Site(file: fileIndex, index: index)
        switch declaration.kind {
        case .function(let decl, _):
          let id = functionID(decl.name.name)
          guard
            table.register(
              decl.name, as: .init(kind: .function(id), site: site), previous: nameSpan,
              &diagnostics)
          else { continue }
          table.appendBody(id, at: site)
          Self.validate(decl, &diagnostics)
        case .externFunction(let decl):
          let id = externID(decl.name.name)
          guard
            table.register(
              decl.name, as: .init(kind: .externFunction(id), site: site), previous: nameSpan,
              &diagnostics)
          else { continue }
          table.externs.append(site)
        case .global(let decl, _):
          // A global is named by its initializer, a function without a name of its own:
          // the same id as a function of that name, which cannot coexist with it.
          let id = functionID(decl.name.name)
          guard
            table.register(
              decl.name, as: .init(kind: .global(id), site: site), previous: nameSpan,
              &diagnostics)
          else { continue }
          table.appendBody(id, at: site)
          table.globalVariables.append((id, site))
        case .structure(let decl):
          guard
            table.register(
              decl.name, as: .init(kind: .structure, site: site), previous: nameSpan,
              &diagnostics)
          else { continue }
          table.structs.append(site)
        }
      }
      table.functionPositions.append(first..<table.functions.count)
    }
    return DeclaredProgram(files: files, table: table, diagnostics: diagnostics.diagnostics)
  }

  private static func nameSpan(of site: DeclarationTable.Site, in files: [ParsedFile]) -> Span {
    files[site.file].declarations[site.index].signature.nameSpan
  }

  /// The attributes' rules that a function's declaration alone decides.
  private static func validate(_ decl: FunctionDecl, _ diagnostics: inout DiagnosticBag) {
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
  }

  /// Top-level statements form the script body; only the root file may have them.
  private func collectScriptStatements(
    _ files: [ParsedFile], _ diagnostics: inout DiagnosticBag
  ) -> [Stmt] {
    var statements: [Stmt] = []
    for (index, file) in files.enumerated() {
      for statement in file.statements {
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

  private func validateMain(
    _ decl: FunctionDecl, signature: FunctionSignature, _ scriptStatements: [Stmt],
    _ diagnostics: inout DiagnosticBag
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

  // MARK: Identities

  /// The id of the function named `name`: the same for as long as the database lives.
  private func functionID(_ name: String) -> FunctionID {
    if let id = functionIDs[name] { return id }
    let id = FunctionID(functionIDs.count)
    functionIDs[name] = id
    return id
  }

  private func externID(_ name: String) -> ExternID {
    if let id = externIDs[name] { return id }
    let id = ExternID(externIDs.count)
    externIDs[name] = id
    return id
  }

  // MARK: Paths

  /// `a/./b/../c.holo` → `a/c.holo`, without asking the file system (no I/O here): two
  /// spellings of one path are one file. (Symbolic links are not resolved.)
  static func normalise(_ path: String) -> String {
    let isAbsolute = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
      if part == "." { continue }
      if part == "..", let last = parts.last, last != ".." {
        parts.removeLast()
      } else if part == "..", isAbsolute {
        continue
      } else {
        parts.append(part)
      }
    }
    let joined = parts.joined(separator: "/")
    return isAbsolute ? "/" + joined : (joined.isEmpty ? "." : joined)
  }

  fileprivate static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return path == "/" ? "/" : String(path[..<slash])
  }

  fileprivate static func join(_ folder: String, _ relative: String) -> String {
    folder.isEmpty || folder == "." ? relative : folder + "/" + relative
  }
}

/// A file as the database parsed it, with what declaring its functions needs: computed
/// once per text, so a change elsewhere costs this file nothing but a lookup per name.
/// A class, never changed once made: the load order, the namespace and what an update
/// replaced share it (a copy of a struct of its ten lists would retain each).
private final class ParsedFile {
  struct Declaration {
    enum Kind {
      case function(FunctionDecl, BodyText)
      case externFunction(ExternFunctionDecl)
      /// A global: its initializer is its body.
      case global(GlobalDecl, BodyText)
      case structure(StructDecl)
    }

    /// The declaration as parsed, `shift` bytes behind where it is now: shared by its
    /// copies, so keeping a declaration costs one reference.
    private final class Parsed {
      let kind: Kind
      /// A function's body text (out of `kind`: reading a payload copies all of it).
      let text: BodyText?
      let signature: FunctionSignature
      let signatureDiagnostics: [Diagnostic]
      /// A function's kind and whether it is exported (out of `kind` too).
      let functionKind: FunctionKind
      let isExport: Bool
      /// The struct names its types mention, each to be checked against the namespace.
      let typeNames: [(name: String, span: Span)]
      /// The struct types of an `extern fn` or `export fn` signature, each to be checked for
      /// a C form.
      let cStructs: [(name: String, span: Span)]
      /// A struct's field names and default texts: `GlobalShape.detail`.
      let structShape: String?
      /// A function whose body was skimmed (`kind` holds an empty block): a record says
      /// its text parses and checks cleanly.
      let bodySkimmed: Bool
      /// Its record key where it was parsed, once asked for (hashing every body twice
      /// would cost a cold analysis as much as parsing them); written by the one thread
      /// that asks for it, parsing or checking it.
      var recordKey: BodyRecordKey?

      init(
        kind: Kind, signature: FunctionSignature, signatureDiagnostics: [Diagnostic],
        typeNames: [(name: String, span: Span)], cStructs: [(name: String, span: Span)],
        structShape: String?, bodySkimmed: Bool
      ) {
        self.kind = kind
        self.bodySkimmed = bodySkimmed
        self.typeNames = typeNames
        self.cStructs = cStructs
        self.structShape = structShape
        if case .function(let decl, let text) = kind {
          self.text = text
          functionKind = decl.isTest ? .test : .user
          isExport = decl.isExport
        } else if case .global(_, let text) = kind {
          self.text = text
          functionKind = .globalInitializer
          isExport = false
        } else {
          self.text = nil
          functionKind = .user
          isExport = false
        }
        self.signature = signature
        self.signatureDiagnostics = signatureDiagnostics
      }
    }

    private let parsed: Parsed
    private var parsedKind: Kind { parsed.kind }
    private var parsedSignature: FunctionSignature { parsed.signature }
    /// Unknown types in the signature.
    var signatureDiagnostics: [Diagnostic] { parsed.signatureDiagnostics }
    /// How far the declaration moved since it was parsed (an edit above it): its spans are
    /// moved when asked for, so keeping a moved declaration costs nothing per span.
    private var shift = 0
    /// Its body's text now (functions only): where, and at which column.
    private var movedText: BodyText?
    /// An edit above the function moved it: its body is parsed again from its text when
    /// it is checked again.
    private(set) var bodyMoved = false
    /// Its body is parsed from its text when it is checked: it moved, or was skimmed.
    var bodyNeedsParsing: Bool { bodyMoved || parsed.bodySkimmed }
    var bodySkimmed: Bool { parsed.bodySkimmed }

    init(
      kind: Kind, signature: FunctionSignature, signatureDiagnostics: [Diagnostic],
      typeNames: [(name: String, span: Span)] = [], cStructs: [(name: String, span: Span)] = [],
      structShape: String? = nil, bodySkimmed: Bool = false
    ) {
      parsed = Parsed(
        kind: kind, signature: signature, signatureDiagnostics: signatureDiagnostics,
        typeNames: typeNames, cStructs: cStructs, structShape: structShape,
        bodySkimmed: bodySkimmed)
    }

    /// The key of the record of its body's check (`BodyRecord`), with its text in `source`.
    func recordKey(in source: SourceFile) -> BodyRecordKey? {
      guard let text else { return nil }
      if !bodyMoved, let known = parsed.recordKey { return known }
      let key = BodyRecordKey(
        text: source.bytes[text.start..<(text.start + text.length)], path: text.path,
        column: text.column, name: name, kind: functionKind, isExport: isExport,
        parameterTypes: parameterTypes, returnType: returnType)
      if !bodyMoved { parsed.recordKey = key }
      return key
    }

    /// The struct names its types mention, where they are now.
    var typeNames: [(name: String, span: Span)] { shifted(parsed.typeNames) }

    /// The struct types of its C signature, where they are now.
    var cStructs: [(name: String, span: Span)] { shifted(parsed.cStructs) }

    /// Whether its types name any struct: most declarations' do not, and a save asks of
    /// every declaration (`reportSignatureTypes`).
    var namesStructs: Bool { !parsed.typeNames.isEmpty || !parsed.cStructs.isEmpty }

    private func shifted(_ names: [(name: String, span: Span)]) -> [(name: String, span: Span)] {
      shift == 0 ? names : names.map { ($0.name, $0.span.shifted(by: shift)) }
    }

    var isStruct: Bool { parsed.structShape != nil }
    var structShape: String? { parsed.structShape }

    var name: String { parsedSignature.name }
    /// A function or a global: something with a body.
    var hasBody: Bool { parsed.text != nil }
    var isGlobal: Bool { parsed.functionKind == .globalInitializer }
    var functionKind: FunctionKind { parsed.functionKind }
    var isExport: Bool { parsed.isExport }

    var parameterTypes: [IRType] { parsedSignature.parameterTypes }
    var returnType: IRType { parsedSignature.returnType }

    /// The same parameter and result types as `other`: what callers depend on.
    func hasSameTypes(as other: Declaration) -> Bool {
      parameterTypes == other.parameterTypes && returnType == other.returnType
        && structShape == other.structShape
    }

    /// Where a function's body text is now; nil for an extern.
    var text: BodyText? { movedText ?? parsed.text }

    /// The declaration where it is now (a moved function's body spans stay behind:
    /// `bodyMoved`).
    var kind: Kind {
      guard shift != 0 else { return parsedKind }
      switch parsedKind {
      case .function(var decl, _):
        decl.name = decl.name.shifted(by: shift)
        decl.params = decl.params.map { $0.shifted(by: shift) }
        decl.returnType = decl.returnType?.shifted(by: shift)
        decl.span = decl.span.shifted(by: shift)
        decl.signatureSpan = decl.signatureSpan.shifted(by: shift)
        return .function(decl, movedText!)
      case .externFunction(var decl):
        decl.name = decl.name.shifted(by: shift)
        decl.params = decl.params.map { $0.shifted(by: shift) }
        decl.returnType = decl.returnType?.shifted(by: shift)
        decl.span = decl.span.shifted(by: shift)
        return .externFunction(decl)
      case .global(var decl, _):
        decl.name = decl.name.shifted(by: shift)
        decl.type = decl.type.shifted(by: shift)
        decl.span = decl.span.shifted(by: shift)
        return .global(decl, movedText!)
      case .structure:
        preconditionFailure("a moved struct is parsed again (`moved(by:in:sameLine:)`)")
      }
    }

    var signature: FunctionSignature {
      guard shift != 0 else { return parsedSignature }
      var moved = parsedSignature
      moved.parameterSpans = moved.parameterSpans.map { $0.shifted(by: shift) }
      moved.nameSpan = moved.nameSpan.shifted(by: shift)
      return moved
    }

    /// The declaration `shift` bytes further into `source`, its file's new text;
    /// `sameLine` says whether it starts on the line the edit ended on (its column may
    /// have changed).
    func moved(by shift: Int, in source: SourceFile, sameLine: Bool) -> Self {
      // A struct's defaults are expressions the bodies using it check: parsed again, so
      // their spans are where they are (structs are few).
      if case .structure(let decl) = parsed.kind {
        let start = decl.span.start + self.shift + shift
        let (syntax, _) = Parser.parse(
          source, range: start..<(start + decl.span.end - decl.span.start))
        guard case .structure(let moved)? = syntax.items.first else {
          preconditionFailure("a struct's text parses as that struct")
        }
        return ParsedFile.structDeclaration(moved, in: source)
      }
      var moved = self
      moved.shift += shift
      if var text = self.text {
        text.start += shift
        if sameLine { text.column = source.location(of: text.start).column }
        moved.movedText = text
        moved.bodyMoved = true
      }
      return moved
    }
  }

  enum ItemKind {
    case declaration, importDecl, statement
  }

  var source: SourceFile
  var diagnostics: [Diagnostic]
  /// Its functions and externs, in source order.
  var declarations: [Declaration] = []
  /// Its imports in source order, with the file each names (as written, and normalised):
  /// the load order is found again after every file read, so it walks these, not all items.
  var imports: [(decl: ImportDecl, relative: String, path: String)] = []
  /// Its top-level statements, in source order.
  var statements: [Stmt] = []
  /// Where its top-level statements are, if it has any: from the first to the end.
  var scriptText: BodyText?
  /// Every item's extent (first token to end of last) and kind, in source order.
  var items: [(extent: Range<Int>, kind: ItemKind)] = []
  /// How many items were parsed to make it.
  private(set) var parsedItems = 0
  /// Which parse of the database made it.
  var parse = 0
  /// Some declaration has unknown types in its signature.
  private(set) var hasSignatureDiagnostics = false

  /// How a file parsed by `init(updating:to:)` came from the old one: its declarations are
  /// the old ones before `parsed`, those parsed again, then the old ones after `replaced`
  /// moved by `shift` bytes.
  struct Derivation {
    /// The parse of the old file.
    var from: Int
    /// The declarations parsed again, in the new file, and those they replace in the old.
    var parsed: Range<Int>
    var replaced: Range<Int>
    /// How many functions are before the edit, among those parsed again, and after it.
    var functionsBefore: Int
    var parsedFunctions: Int
    var functionsAfter: Int
    var shift: Int
    /// How many lines the edit added (negative: removed): 0 when the items after it keep
    /// their lines.
    var lineShift: Int
  }

  /// Set when only the items an edit touched were parsed.
  private(set) var derivation: Derivation?

  /// Imports the same files, in the same order, as `other`: the load order stays.
  func hasSameImports(as other: ParsedFile) -> Bool {
    imports.count == other.imports.count
      && zip(imports, other.imports).allSatisfy { $0.path == $1.path }
  }

  /// Which of its declarations name a struct in their types (`Declaration.namesStructs`),
  /// by index: few, and every analysis looks at each of them (`reportSignatureTypes`).
  private(set) var structNamers: [Int] = []

  /// `source` parsed; with `records`, skimming the bodies they know (`init(skimming:…)`).
  static func parsing(
    _ source: SourceFile, workers: ProgramDatabase.Workers? = nil,
    records: BodyRecords = BodyRecords()
  ) -> ParsedFile {
    let file: ParsedFile
    if !records.isEmpty, let skimmed = ParsedFile(skimming: source, workers, records) {
      file = skimmed
    } else if let workers, let entries = parsedInPieces(source, workers) {
      file = ParsedFile(source, diagnostics: [], entries)
    } else {
      let (syntax, diagnostics) = Parser.parse(source)
      file = ParsedFile(
        source, diagnostics: diagnostics, entries(of: syntax, in: source, skimmingBodies: false))
    }
    file.structNamers = file.declarations.indices.filter { file.declarations[$0].namesStructs }
    return file
  }

  /// `source` parsed with every function body skimmed whose record `records` holds (a
  /// record is made only of a clean check of a cleanly parsed body with the same text,
  /// signature and place); the others parsed again whole. Nil when any of it has
  /// diagnostics: then the file is parsed as usual, so what a reader sees never depends
  /// on what was skimmed.
  private convenience init?(
    skimming source: SourceFile, _ workers: ProgramDatabase.Workers?, _ records: BodyRecords
  ) {
    let entries: [Entry]
    if let workers, let parsed = Self.parsedInPieces(source, workers, skimmingBodies: true) {
      entries = parsed
    } else {
      let (syntax, diagnostics) = Parser.parse(source, skimmingBodies: true)
      guard diagnostics.isEmpty else { return nil }
      entries = Self.entries(of: syntax, in: source, skimmingBodies: true)
    }
    self.init(source, diagnostics: [])
    // Where each function is: its declaration and its extent.
    var functions: [(declaration: Int, extent: Range<Int>)] = []
    for entry in entries {
      if case .declaration(let declaration) = entry.kind, declaration.bodySkimmed {
        functions.append((declarations.count, entry.extent))
      }
      add(entry)
    }
    // The keys are hashes of every body: on the workers, as checking them would be (those
    // of a file parsed in pieces were hashed by the piece's worker).
    let declarations = self.declarations
    let keyOf = { (function: (declaration: Int, extent: Range<Int>)) in
      declarations[function.declaration].recordKey(in: source)!
    }
    let keys: [BodyRecordKey]
    if let workers, functions.count >= 512 {
      let shared = SharedWork(functions, batch: 256, keyOf)
      workers(ProgramDatabase.workerCount) { shared.run() }
      keys = shared.results.map { $0! }
    } else {
      keys = functions.map(keyOf)
    }
    for (function, key) in zip(functions, keys) where records[key] == nil {
      // No record: the function parsed whole instead.
      let (whole, diagnostics) = Parser.parse(source, range: function.extent)
      guard diagnostics.isEmpty, whole.items.count == 1, case .function = whole.items[0]
      else { return nil }
      append(whole.items[0], at: function.extent)
      self.declarations[function.declaration] = self.declarations.removeLast()
      items.removeLast()
    }
  }

  /// Bytes a piece of a large file has at least: below two of them a file is parsed whole.
  private static let pieceSize = 1 << 17

  /// `source` parsed in pieces on `workers`, each from a line that starts an item (`fn`,
  /// `#[`, `export`, `extern`, `global` at its start) to the next; nil when the file is small, has no
  /// such lines, or any piece has diagnostics (a piece cut inside a comment or string is
  /// unterminated, one cut inside an item is unbalanced): then the file is parsed whole,
  /// so what a reader sees never depends on where it was cut. Each worker also makes its
  /// piece's entries, and with `skimmingBodies` hashes the skimmed bodies' record keys.
  private static func parsedInPieces(
    _ source: SourceFile, _ workers: ProgramDatabase.Workers, skimmingBodies: Bool = false
  ) -> [Entry]? {
    let bytes = source.bytes
    guard bytes.count >= pieceSize * 2 else { return nil }
    var starts = [0]
    var target = pieceSize
    while target < bytes.count {
      guard let start = itemLineStart(in: bytes, from: target) else { break }
      starts.append(start)
      target = start + pieceSize
    }
    guard starts.count > 1 else { return nil }
    let ranges = zip(starts, starts.dropFirst() + [bytes.count]).map { $0..<$1 }
    let shared = SharedWork(ranges, batch: 1) { range -> [Entry]? in
      let (syntax, diagnostics) = Parser.parse(source, range: range, skimmingBodies: skimmingBodies)
      guard diagnostics.isEmpty else { return nil }
      let entries = Self.entries(of: syntax, in: source, skimmingBodies: skimmingBodies)
      for entry in entries {
        if case .declaration(let declaration) = entry.kind, declaration.bodySkimmed {
          _ = declaration.recordKey(in: source)
        }
      }
      return entries
    }
    workers(min(ProgramDatabase.workerCount, ranges.count)) { shared.run() }
    var entries: [Entry] = []
    for piece in shared.results {
      guard let piece = piece! else { return nil }
      entries += piece
    }
    return entries
  }

  /// The entries of `syntax`'s items; with `skimmingBodies`, its functions' bodies were
  /// skimmed.
  private static func entries(of syntax: FileSyntax, in source: SourceFile, skimmingBodies: Bool)
    -> [Entry]
  {
    zip(syntax.items, syntax.extents).map { item, extent in
      let isFunction = if case .function = item { true } else { false }
      return entry(item, at: extent, in: source, bodySkimmed: skimmingBodies && isFunction)
    }
  }

  /// The first line at or after `offset` that starts with an item's first word.
  private static func itemLineStart(in bytes: [UInt8], from offset: Int) -> Int? {
    let words = ["fn ", "#[", "export ", "extern ", "global ", "struct "].map { Array($0.utf8) }
    var index = offset
    while let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
      let line = newline + 1
      if words.contains(where: { bytes[line...].starts(with: $0) }) { return line }
      index = line
    }
    return nil
  }

  private init(_ source: SourceFile, diagnostics: [Diagnostic], _ entries: [Entry] = []) {
    self.source = source
    self.diagnostics = diagnostics
    declarations.reserveCapacity(entries.count)
    items.reserveCapacity(entries.count)
    for entry in entries { add(entry) }
  }

  /// `old` brought to `source`, its file's new text, parsing again only the items the
  /// edit touched: the items before it are kept, those after it kept with their
  /// signatures' spans moved (`bodyMoved`). Nil when the edit cannot be confined to whole
  /// items that parse cleanly (an opened comment or string, a syntax error, top-level
  /// statements, a file that had errors): then the file is parsed whole.
  convenience init?(updating old: ParsedFile, to source: SourceFile) {
    guard old.diagnostics.isEmpty, old.statements.isEmpty, !old.hasSignatureDiagnostics
    else { return nil }
    let (before, after) = (old.source.bytes, source.bytes)
    let (prefix, suffix) = Self.commonEnds(before, after)
    let changedEnd = before.count - suffix
    let shift = after.count - before.count
    // Untouched: the items that end before the first changed byte, and those that start
    // after the last one; a byte apart, so none of their tokens can run into the edit.
    let kept = old.items.prefix { $0.extent.upperBound < prefix }.count
    let following =
      old.items[kept...].firstIndex { $0.extent.lowerBound > changedEnd } ?? old.items.count
    let start = kept > 0 ? old.items[kept - 1].extent.upperBound : 0
    let end =
      following < old.items.count ? old.items[following].extent.lowerBound + shift : after.count
    guard start <= end else { return nil }
    let (syntax, diagnostics) = Parser.parse(source, range: start..<end)
    guard diagnostics.isEmpty else { return nil }
    self.init(source, diagnostics: [])
    var (declarationCount, importCount) = (0, 0)
    // Where each old item is in the list of its kind.
    let positions = old.items.map { item -> Int in
      switch item.kind {
      case .declaration:
        defer { declarationCount += 1 }
        return declarationCount
      case .importDecl:
        defer { importCount += 1 }
        return importCount
      case .statement:
        preconditionFailure("a file with top-level statements is parsed whole")
      }
    }
    // An item after the edit keeps its column unless it starts on the line the edit ends on.
    let editEnd = changedEnd + shift
    let lineEnd = after[editEnd...].firstIndex(of: UInt8(ascii: "\n")) ?? after.count
    var functions = 0
    let (oldItems, oldDeclarations, oldImports) = (old.items, old.declarations, old.imports)
    // The old items `range`, moved by `shift`, appended to the lists, which are held in
    // locals meanwhile: each access to a class's property is checked for exclusivity.
    func keep(_ range: Range<Int>, movedBy shift: Int) {
      var keptItems: [(extent: Range<Int>, kind: ItemKind)] = []
      var keptDeclarations: [Declaration] = []
      var keptImports: [(decl: ImportDecl, relative: String, path: String)] = []
      swap(&keptItems, &items)
      swap(&keptDeclarations, &declarations)
      swap(&keptImports, &imports)
      defer {
        swap(&keptItems, &items)
        swap(&keptDeclarations, &declarations)
        swap(&keptImports, &imports)
      }
      for index in range {
        let (extent, kind) = oldItems[index]
        keptItems.append((extent.lowerBound + shift..<extent.upperBound + shift, kind))
        if kind == .declaration {
          let declaration = oldDeclarations[positions[index]]
          if declaration.hasBody { functions += 1 }
          keptDeclarations.append(
            shift == 0
              ? declaration
              : declaration.moved(
                by: shift, in: source, sameLine: extent.lowerBound + shift <= lineEnd))
        } else {
          var entry = oldImports[positions[index]]
          if shift != 0 { entry.decl = entry.decl.shifted(by: shift) }
          keptImports.append(entry)
        }
      }
    }
    declarations.reserveCapacity(old.declarations.count + syntax.items.count)
    items.reserveCapacity(old.items.count + syntax.items.count)
    keep(0..<kept, movedBy: 0)
    let (declarationsBefore, functionsBefore) = (declarations.count, functions)
    for (item, extent) in zip(syntax.items, syntax.extents) { append(item, at: extent) }
    let parsedFunctions = declarations[declarationsBefore...].filter(\.hasBody).count
    let parsedEnd = declarations.count
    functions = 0
    keep(following..<old.items.count, movedBy: shift)
    guard statements.isEmpty else { return nil }
    let declarationsAfter = declarations.count - parsedEnd
    derivation = Derivation(
      from: old.parse, parsed: declarationsBefore..<parsedEnd,
      replaced: declarationsBefore..<old.declarations.count - declarationsAfter,
      functionsBefore: functionsBefore, parsedFunctions: parsedFunctions,
      functionsAfter: functions, shift: shift,
      lineShift: Self.newlines(in: after[prefix..<editEnd])
        - Self.newlines(in: before[prefix..<changedEnd]))
    // The declarations after the edit, from `firstAfter` in the old file, moved by `moved`.
    let (firstAfter, moved) = (
      old.declarations.count - declarationsAfter, declarations.count - old.declarations.count
    )
    structNamers =
      old.structNamers.filter { $0 < declarationsBefore }
      + (declarationsBefore..<parsedEnd).filter { declarations[$0].namesStructs }
      + old.structNamers.filter { $0 >= firstAfter }.map { $0 + moved }
  }

  private static func newlines(in bytes: ArraySlice<UInt8>) -> Int {
    bytes.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
  }

  /// How many bytes `before` and `after` share at their start, and then at their end (not
  /// overlapping the start): compared eight at a time, since a save of a large file pays it.
  private static func commonEnds(_ before: [UInt8], _ after: [UInt8]) -> (Int, Int) {
    before.withUnsafeBytes { old in
      after.withUnsafeBytes { new in
        let common = min(old.count, new.count)
        var prefix = 0
        while prefix + 8 <= common,
          old.loadUnaligned(fromByteOffset: prefix, as: UInt64.self)
            == new.loadUnaligned(fromByteOffset: prefix, as: UInt64.self)
        {
          prefix += 8
        }
        while prefix < common, old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix + 8 <= common - prefix,
          old.loadUnaligned(fromByteOffset: old.count - suffix - 8, as: UInt64.self)
            == new.loadUnaligned(fromByteOffset: new.count - suffix - 8, as: UInt64.self)
        {
          suffix += 8
        }
        while suffix < common - prefix, old[old.count - 1 - suffix] == new[new.count - 1 - suffix] {
          suffix += 1
        }
        return (prefix, suffix)
      }
    }
  }

  /// What one parsed item adds to a file: made from the item and its file alone, so the
  /// pieces of a large file make theirs on the workers that parsed them.
  struct Entry {
    enum Kind {
      case declaration(Declaration)
      case importDecl(ImportDecl, relative: String, path: String)
      case statement(Stmt)
    }

    var kind: Kind
    var extent: Range<Int>
    /// Its signature has diagnostics (unknown or invalid types).
    var hasSignatureDiagnostics = false
  }

  private func append(_ item: Item, at extent: Range<Int>, bodySkimmed: Bool = false) {
    add(Self.entry(item, at: extent, in: source, bodySkimmed: bodySkimmed))
  }

  private func add(_ entry: Entry) {
    parsedItems += 1
    switch entry.kind {
    case .declaration(let declaration):
      items.append((entry.extent, .declaration))
      declarations.append(declaration)
    case .importDecl(let decl, let relative, let path):
      items.append((entry.extent, .importDecl))
      imports.append((decl, relative, path))
    case .statement(let statement):
      items.append((entry.extent, .statement))
      statements.append(statement)
      if scriptText == nil {
        scriptText = BodyText(source, start: statement.span.start, end: source.bytes.count)
      }
    }
    if entry.hasSignatureDiagnostics { hasSignatureDiagnostics = true }
  }

  /// What `item`, parsed from `extent` of `source`, adds to its file.
  static func entry(
    _ item: Item, at extent: Range<Int>, in source: SourceFile, bodySkimmed: Bool = false
  ) -> Entry {
    var signatureDiagnostics = DiagnosticBag()
    let kind: Entry.Kind
    switch item {
    case .function(let decl):
      let (signature, cStructs) = Self.signature(
        of: decl.name, decl.params, decl.returnType, crossesC: decl.isExport,
        &signatureDiagnostics)
      let text = BodyText(
        source, start: decl.span.start, end: max(decl.span.end, decl.body.span.end))
      kind = .declaration(
        Declaration(
          kind: .function(decl, text), signature: signature,
          signatureDiagnostics: signatureDiagnostics.diagnostics,
          typeNames: Self.typeNames(decl.params, decl.returnType), cStructs: cStructs,
          bodySkimmed: bodySkimmed))
    case .externFunction(let decl):
      let (signature, cStructs) = Self.signature(
        of: decl.name, decl.params, decl.returnType, crossesC: true, &signatureDiagnostics)
      kind = .declaration(
        Declaration(
          kind: .externFunction(decl), signature: signature,
          signatureDiagnostics: signatureDiagnostics.diagnostics,
          typeNames: Self.typeNames(decl.params, decl.returnType), cStructs: cStructs))
    case .global(let decl):
      let type = TypeResolver.resolve(decl.type, diagnostics: &signatureDiagnostics)
      if type == .unit {
        signatureDiagnostics.error(
          .invalidGlobalType, "a global cannot have type `()`", at: decl.type.span,
          labels: [Label(decl.type.span, "a global holds a value")])
      }
      let signature = FunctionSignature(
        name: decl.name.name, parameterNames: [], parameterTypes: [], parameterSpans: [],
        returnType: type, nameSpan: decl.name.span)
      kind = .declaration(
        Declaration(
          kind: .global(decl, BodyText(source, start: decl.span.start, end: decl.span.end)),
          signature: signature, signatureDiagnostics: signatureDiagnostics.diagnostics,
          typeNames: TypeResolver.structNames(in: decl.type)))
    case .structure(let decl):
      kind = .declaration(Self.structDeclaration(decl, in: source))
    case .statement(let statement):
      kind = .statement(statement)
    case .importDecl(let decl):
      let relative = decl.path.map(\.name).joined(separator: "/") + ".holo"
      let folder = ProgramDatabase.folder(of: source.path)
      kind = .importDecl(
        decl, relative: relative,
        path: ProgramDatabase.normalise(ProgramDatabase.join(folder, relative)))
    }
    return Entry(
      kind: kind, extent: extent,
      hasSignatureDiagnostics: !signatureDiagnostics.diagnostics.isEmpty)
  }

  /// A struct's declaration: its fields as a signature (names, types, the struct as the
  /// result), its shape, and the rules its text alone decides (unique field names,
  /// constant defaults).
  static func structDeclaration(_ decl: StructDecl, in source: SourceFile) -> Declaration {
    var diagnostics = DiagnosticBag()
    var seen: [String: Span] = [:]
    var typeNames: [(name: String, span: Span)] = []
    var shape = "{"
    for field in decl.fields {
      if let first = seen[field.name.name] {
        diagnostics.error(
          .duplicateField, "duplicate field `\(field.name.name)`", at: field.name.span,
          labels: [
            Label(first, "`\(field.name.name)` first declared here"),
            Label(field.name.span, "declared again"),
          ])
      }
      seen[field.name.name] = field.name.span
      typeNames += TypeResolver.structNames(in: field.type)
      shape += field.name.name
      if let value = field.defaultValue {
        if !Self.isConstant(value) {
          diagnostics.error(
            .invalidDefault, "a field default must be a constant expression", at: value.span,
            labels: [Label(value.span, "literals, operators and literals of constants only")])
        }
        shape += "=" + source.text(of: value.span)
      }
      shape += ","
    }
    let signature = FunctionSignature(
      name: decl.name.name, parameterNames: decl.fields.map(\.name.name),
      parameterTypes: decl.fields.map { TypeResolver.resolve($0.type, diagnostics: &diagnostics) },
      parameterSpans: decl.fields.map(\.name.span), returnType: .structure(decl.name.name),
      nameSpan: decl.name.span)
    return Declaration(
      kind: .structure(decl), signature: signature, signatureDiagnostics: diagnostics.diagnostics,
      typeNames: typeNames, structShape: shape + "}")
  }

  private static func typeNames(_ params: [Param], _ returnType: TypeSyntax?) -> [(
    name: String, span: Span
  )] {
    params.flatMap { TypeResolver.structNames(in: $0.type) }
      + TypeResolver.structNames(in: returnType)
  }

  /// Literals, operators on them, and array and struct literals of constants (§11).
  private static func isConstant(_ expr: Expr) -> Bool {
    switch expr.kind {
    case .integerLiteral, .floatLiteral, .boolLiteral, .stringLiteral: return true
    case .unary(_, let operand, _), .parenthesized(let operand), .cast(let operand, _):
      return isConstant(operand)
    case .binary(_, let left, let right, _): return isConstant(left) && isConstant(right)
    case .arrayLiteral(let elements): return elements.allSatisfy(isConstant)
    case .arrayRepeat(let value, let count): return isConstant(value) && isConstant(count)
    case .structLiteral(_, let fields): return fields.allSatisfy { isConstant($0.value) }
    default: return false
    }
  }

  /// `crossesC`: an `extern fn` or `export fn`, whose types must have a C form (§10). An
  /// array has none; a struct's fields are checked on every analysis (`cStructs` lists
  /// them), as its declaration may change on its own.
  private static func signature(
    of name: Identifier, _ params: [Param], _ returnType: TypeSyntax?, crossesC: Bool,
    _ diagnostics: inout DiagnosticBag
  ) -> (FunctionSignature, cStructs: [(name: String, span: Span)]) {
    var cStructs: [(name: String, span: Span)] = []
    let resolve = { (syntax: TypeSyntax?, diagnostics: inout DiagnosticBag) -> IRType in
      let type = TypeResolver.resolve(syntax, diagnostics: &diagnostics)
      guard crossesC, let syntax else { return type }
      if case .structure(let name) = type { cStructs.append((name, syntax.span)) }
      if type.element != nil {
        diagnostics.error(
          .invalidExport, "type `\(type)` cannot cross the C boundary", at: syntax.span,
          labels: [Label(syntax.span, "arrays have no C form")])
      }
      return type
    }
    let signature = FunctionSignature(
      name: name.name,
      parameterNames: params.map(\.name.name),
      parameterTypes: params.map { resolve($0.type, &diagnostics) },
      parameterSpans: params.map(\.span),
      returnType: resolve(returnType, &diagnostics),
      nameSpan: name.span)
    return (signature, cStructs)
  }

  /// The function or global declared at `text` of `source`, parsed again (its body's spans
  /// are behind when `bodyMoved`).
  static func reparsedItem(at text: BodyText, in source: SourceFile) -> Item {
    let (syntax, _) = Parser.parse(source, range: text.start..<text.start + text.length)
    guard let item = syntax.items.first else {
      preconditionFailure("the text of a declaration parsed cleanly before")
    }
    return item
  }
}

extension Identifier {
  fileprivate func shifted(by shift: Int) -> Identifier {
    Identifier(name, span: span.shifted(by: shift))
  }
}

extension TypeSyntax {
  fileprivate func shifted(by shift: Int) -> TypeSyntax {
    TypeSyntax(name: name, span: span.shifted(by: shift))
  }
}

extension Param {
  fileprivate func shifted(by shift: Int) -> Param {
    Param(
      name: name.shifted(by: shift), type: type.shifted(by: shift), span: span.shifted(by: shift))
  }
}

extension ImportDecl {
  fileprivate func shifted(by shift: Int) -> ImportDecl {
    ImportDecl(path: path.map { $0.shifted(by: shift) }, span: span.shifted(by: shift))
  }
}

/// The project-wide namespace of one analysis. Declarations are named by where they are
/// (`Site`), so a declaration that only moved in its file leaves the table as it is.
private struct DeclarationTable {
  /// A declaration: the file (by load order) and its place among the file's declarations.
  struct Site: Equatable {
    var file: Int
    var index: Int
  }

  /// What a name is declared as, and where.
  struct Entry {
    enum Kind {
      case function(FunctionID)
      case externFunction(ExternID)
      /// A global, named by its initializer's id.
      case global(FunctionID)
      case structure
    }
    var kind: Kind
    var site: Site
  }

  var globals: [String: Entry] = [:]
  /// The registered functions, in declaration order.
  var functions: [(id: FunctionID, site: Site)] = []
  /// Each function's position in `functions`, by `FunctionID.index` (-1: none).
  private var positions: [Int] = []
  /// The positions in `functions` of each file's functions, by load order.
  var functionPositions: [Range<Int>] = []
  /// The registered externs, in declaration order.
  var externs: [Site] = []
  /// The registered globals, in declaration order: the order they are initialised in.
  var globalVariables: [(id: FunctionID, site: Site)] = []
  /// The registered structs, in declaration order.
  var structs: [Site] = []

  /// Where `id` is in `functions`.
  func position(of id: FunctionID) -> Int? {
    id.index < positions.count && positions[id.index] >= 0 ? positions[id.index] : nil
  }

  /// Registers the body (a function's or a global's initializer) `id` declared at `site`.
  mutating func appendBody(_ id: FunctionID, at site: Site) {
    setPosition(of: id, to: functions.count)
    functions.append((id, site))
  }

  private mutating func setPosition(of id: FunctionID, to position: Int) {
    if id.index >= positions.count {
      positions += repeatElement(-1, count: id.index + 1 - positions.count)
    }
    positions[id.index] = position
  }

  mutating func register(
    _ name: Identifier, as entry: Entry, previous nameSpan: (Site) -> Span,
    _ diagnostics: inout DiagnosticBag
  ) -> Bool {
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
          Label(nameSpan(previous.site), "first definition of `\(name.name)`"),
          Label(name.span, "defined again here"),
        ])
      return false
    }
    globals[name.name] = entry
    return true
  }
}

/// The declared program: its files as declared, its namespace, and what declaring them
/// reported.
private struct DeclaredProgram {
  var files: [ParsedFile]
  var table: DeclarationTable
  var diagnostics: [Diagnostic]

  func declaration(at site: DeclarationTable.Site) -> ParsedFile.Declaration {
    files[site.file].declarations[site.index]
  }

  /// What a body that looks up the name of `entry` sees.
  func definition(of entry: DeclarationTable.Entry) -> GlobalDefinition {
    let declaration = declaration(at: entry.site)
    switch entry.kind {
    case .function(let id): return .function(id, declaration.signature)
    case .externFunction(let id): return .externFunction(external(id, declaration))
    case .global(let id):
      return .global(id, declaration.returnType, nameSpan: declaration.signature.nameSpan)
    case .structure:
      return .structure(Self.structDefinition(declaration))
    }
  }

  private static func structDefinition(_ declaration: ParsedFile.Declaration)
    -> StructDefinition
  {
    guard case .structure(let decl) = declaration.kind else {
      preconditionFailure("a struct's name is registered as a struct")
    }
    let signature = declaration.signature
    return StructDefinition(
      name: decl.name.name,
      fields: zip(decl.fields, signature.parameterTypes).map { field, type in
        StructDefinition.Field(
          name: field.name.name, type: type, defaultValue: field.defaultValue,
          span: field.name.span)
      }, nameSpan: decl.name.span, shapeText: declaration.structShape ?? "")
  }

  /// The structs, in declaration order, with their defaults checked in `environment`:
  /// once per analysis, where they are declared (a default's mistakes are reported there,
  /// used or not, and once).
  func structs(checkingDefaultsIn environment: CheckEnvironment, _ diagnostics: inout DiagnosticBag)
    -> [IRStruct]
  {
    table.structs.map { site in
      let declaration = declaration(at: site)
      let definition = Self.structDefinition(declaration)
      return IRStruct(
        name: declaration.name,
        fields: definition.fields.map { field in
          var checked: IRExpr?
          if let value = field.defaultValue {
            var checker = FunctionChecker(environment: environment, diagnostics: DiagnosticBag())
            checked = checker.checkDefault(value, type: field.type)
            diagnostics.append(contentsOf: checker.diagnostics.diagnostics)
          }
          return IRStruct.Field(name: field.name, type: field.type, defaultValue: checked)
        })
    }
  }

  /// The globals in the order they are initialised: by their files' `order` (load-order
  /// indices), then in declaration order.
  func globals(initialisingFilesIn order: [Int]) -> [IRGlobal] {
    guard !table.globalVariables.isEmpty else { return [] }
    var rank = [Int](repeating: 0, count: files.count)
    for (position, file) in order.enumerated() { rank[file] = position }
    let sites = table.globalVariables.enumerated().sorted {
      (rank[$0.element.site.file], $0.offset) < (rank[$1.element.site.file], $1.offset)
    }
    return sites.map { _, global in
      let declaration = declaration(at: global.site)
      return IRGlobal(
        initializer: global.id, name: declaration.name, type: declaration.returnType)
    }
  }

  var externs: [IRExtern] {
    table.externs.map { site in
      let declaration = declaration(at: site)
      guard case .externFunction(let id) = table.globals[declaration.name]!.kind else {
        preconditionFailure("an extern's name is registered as an extern")
      }
      return external(id, declaration)
    }
  }

  private func external(_ id: ExternID, _ declaration: ParsedFile.Declaration) -> IRExtern {
    let signature = declaration.signature
    return IRExtern(
      id: id, name: declaration.name, parameterTypes: signature.parameterTypes,
      returnType: signature.returnType, span: signature.nameSpan)
  }
}

/// Where a body's text is and what it is: its file, where it starts (spans are offsets
/// into the file; the column is in every location of its code, the line is not), and a
/// hash of its bytes.
private struct BodyText: Equatable {
  var path: String
  var start: Int
  var column: Int
  var length: Int
  var hash: Int

  init(_ file: SourceFile, start: Int, end: Int) {
    path = file.path
    self.start = start
    column = file.location(of: start).column
    length = end - start
    var hasher = Hasher()
    file.bytes[start..<end].withUnsafeBytes { hasher.combine(bytes: $0) }
    hash = hasher.finalize()
  }
}

/// Everything a body's check depends on besides the names it reads: its text and its own
/// signature.
private struct BodyKey: Equatable {
  var text: BodyText
  var id: FunctionID
  var parameterTypes: [IRType]
  var returnType: IRType

  /// Equal but perhaps for where in the file the text starts.
  func differsAtMostInStart(from other: BodyKey) -> Bool {
    // Field by field, cheapest first: no copy of either key.
    text.hash == other.text.hash && text.length == other.text.length
      && text.column == other.text.column && id == other.id && returnType == other.returnType
      && text.path == other.text.path && parameterTypes == other.parameterTypes
  }
}

/// Work shared by several workers (bodies to check, pieces of a file to parse): each takes
/// the next batch of indices, and writes only its own results. (The work reads the
/// namespace and the files, which nothing changes meanwhile.)
private final class SharedWork<Item, Result>: @unchecked Sendable {
  private let items: [Item]
  private let work: (Item) -> Result
  private(set) var results: [Result?]
  private var next = 0
  private let lock = NSLock()
  private let batch: Int

  init(_ items: [Item], batch: Int = 64, _ work: @escaping (Item) -> Result) {
    self.items = items
    self.batch = batch
    self.work = work
    results = Array(repeating: nil, count: items.count)
  }

  func run() {
    while true {
      let start: Int = lock.withLock {
        defer { next += batch }
        return next
      }
      guard start < items.count else { return }
      let taken = start..<min(start + batch, items.count)
      let done = taken.map { work(items[$0]) }
      lock.withLock { results.replaceSubrange(taken, with: done) }
    }
  }
}

/// The kept bodies that read one name. Most names are read by one body (a function called
/// from one place), and a set for each of them would cost a large program an allocation
/// per name.
private enum NameReaders {
  case one(FunctionID)
  case many(Set<FunctionID>)

  mutating func insert(_ id: FunctionID) {
    switch self {
    case .one(let reader): if reader != id { self = .many([reader, id]) }
    case .many(var readers):
      self = .one(id)  // Leaves the set uniquely referenced while it grows.
      readers.insert(id)
      self = .many(readers)
    }
  }

  /// Removes `id`; true when no reader is left.
  mutating func remove(_ id: FunctionID) -> Bool {
    switch self {
    case .one(let reader): return reader == id
    case .many(var readers):
      self = .one(id)
      readers.remove(id)
      self = readers.count == 1 ? .one(readers.first!) : .many(readers)
      return readers.isEmpty
    }
  }

  func forEach(_ body: (FunctionID) -> Void) {
    switch self {
    case .one(let reader): body(reader)
    case .many(let readers): readers.forEach(body)
    }
  }
}

/// A checked body and what it depended on; a reference, so keeping it costs one, and a
/// body that moved is moved in place (only the database holds it).
private final class CheckedBody {
  var key: BodyKey
  var function: IRFunction
  let diagnostics: [Diagnostic]
  let reads: [String: GlobalShape?]
  /// Its record's key (`BodyRecord`); nil for the script body.
  let recordKey: BodyRecordKey?

  init(
    key: BodyKey, function: IRFunction, diagnostics: [Diagnostic], reads: [String: GlobalShape?],
    recordKey: BodyRecordKey?
  ) {
    self.key = key
    self.function = function
    self.diagnostics = diagnostics
    self.reads = reads
    self.recordKey = recordKey
  }
}
