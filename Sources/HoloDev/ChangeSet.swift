import HoloCache
import HoloCodegen
import HoloDriver
import HoloIR
import HoloSource

/// A checked program with what the live loop compares between versions of it. Built from
/// the index of the version before, it does work only for the functions the program
/// database checked again or moved (`dirty`), so a save costs per changed function, not per
/// function of the program.
struct ProgramIndex {
  /// What a function's code is: computed once per analysis of it (`IRFunction.revision`).
  final class Function: Sendable {
    let key: String
    let fingerprint: ContentDigest
    let callees: Set<FunctionID>
    let revision: Int

    init(key: String, fingerprint: ContentDigest, callees: Set<FunctionID>, revision: Int) {
      self.key = key
      self.fingerprint = fingerprint
      self.callees = callees
      self.revision = revision
    }
  }

  /// Where a function starts: its line is what its line-base cell holds (not in the
  /// fingerprint). Not its offset: a function moved within its line needs nothing, and the
  /// database does not report it (`ProgramDatabase.changedFunctions`).
  struct Place: Equatable {
    var file: FileID
    var line: Int
  }

  /// Tells indexes apart: which one another was built from.
  final class Identity: Sendable {}

  let program: IRProgram
  /// By `FunctionID.index`; nil: no such function in the program. Chunked: an index built
  /// from the last one shares all but the chunks of the functions that changed.
  private(set) var functions: ChunkedArray<Function?>
  private(set) var places: ChunkedArray<Place?>
  let identity = Identity()
  /// The index this one was built from, and the functions whose code or place differ from
  /// it (checked again, moved, new or gone), in no particular order.
  let base: Identity?
  let dirty: [FunctionID]

  /// Fingerprints the functions of `program`; those whose revision is the one `previous`
  /// fingerprinted are the same IR, and keep their fingerprint. `changed`, when given, holds
  /// every function that can differ from `previous` (`ProgramDatabase.changedFunctions`):
  /// only those are looked at.
  init(
    _ program: IRProgram, sources: SourceManager, reusing previous: ProgramIndex? = nil,
    changed: Set<FunctionID>? = nil
  ) {
    self.program = program
    var functions = previous?.functions ?? ChunkedArray()
    var places = previous?.places ?? ChunkedArray()
    var dirty: [FunctionID] = []
    // A changed layout changes the code of functions the program database need not check
    // again (one that gets a value of the struct from a callee, without naming it): every
    // function's fingerprint is computed again, and those that changed are dirty.
    let layoutsChanged =
      previous.map { $0.program.layoutsDescription != program.layoutsDescription } ?? false
    func update(_ id: FunctionID) {
      let index = id.index
      guard program.contains(id) else {
        guard index < functions.count, functions[index] != nil else { return }
        functions[index] = nil
        places[index] = nil
        dirty.append(id)
        return
      }
      functions.pad(to: index + 1, with: nil)
      places.pad(to: index + 1, with: nil)
      let (span, revision) = program.placeAndRevision(of: id)
      let isSameRevision = revision != 0 && functions[index]?.revision == revision
      let place = Place(file: span.file, line: Codegen.startLine(at: span, sources))
      let isSamePlace = places[index] == place
      if isSameRevision, isSamePlace, !layoutsChanged { return }
      var fingerprinted: Function?
      if !isSameRevision || layoutsChanged {
        let function = program.function(id)
        let (fingerprint, callees, _) = Fingerprint.of(function, in: program, sources: sources)
        // Untouched by the layouts that changed.
        if isSameRevision, isSamePlace, functions[index]?.fingerprint == fingerprint { return }
        fingerprinted = Function(
          key: Symbols.key(of: function, in: program), fingerprint: fingerprint, callees: callees,
          revision: function.revision)
      }
      dirty.append(id)
      places[index] = place
      if let fingerprinted { functions[index] = fingerprinted }
    }
    if previous != nil, let changed, !layoutsChanged {
      for id in changed { update(id) }
    } else {
      for position in program.functions.indices { update(program.functions[position].id) }
      // Functions that are gone.
      for index in functions.indices
      where functions[index] != nil && !program.contains(FunctionID(index)) {
        update(FunctionID(index))
      }
    }
    self.functions = functions
    self.places = places
    base = previous?.identity
    self.dirty = dirty
  }

  func name(_ id: FunctionID) -> String { program.function(id).name }

  func function(_ id: FunctionID) -> Function? {
    id.index < functions.count ? functions[id.index] : nil
  }

  func startLine(_ id: FunctionID) -> Int? {
    id.index < places.count ? places[id.index]?.line : nil
  }

  /// Every function whose calls can reach one of `targets`, `targets` included: one walk
  /// up the call graph, however many tests ask.
  func callers(reaching targets: Set<FunctionID>) -> Set<FunctionID> {
    guard !targets.isEmpty else { return [] }
    var callers: [FunctionID: [FunctionID]] = [:]
    for (index, function) in functions.enumerated() {
      guard let function else { continue }
      for callee in function.callees { callers[callee, default: []].append(FunctionID(index)) }
    }
    var seen = targets
    var work = Array(targets)
    while let next = work.popLast() {
      for caller in callers[next] ?? [] where seen.insert(caller).inserted {
        work.append(caller)
      }
    }
    return seen
  }
}

/// What an edit changed, between the last good program and the new one (ids are the new
/// program's).
struct ChangeSet {
  /// The process a patch of the change brings up to date.
  enum Target {
    /// The running program, which calls a `#[test]` function only if its own code does.
    case program
    /// holoc dev's test process, which runs every test.
    case testProcess
  }

  /// Functions whose fingerprint changed, new functions (a changed signature makes a new
  /// function), and functions calling a function whose signature changed.
  let changed: Set<FunctionID>
  /// The functions to compile into a patch: the changed ones the target can call.
  private(set) var patch: Set<FunctionID>
  /// Functions the target can call whose code is unchanged but whose start line moved
  /// (lines inserted or removed above them): only their line-base cells change.
  private(set) var moved: Set<FunctionID>
  /// The start line of every function in `patch` or `moved`: what the patch writes into
  /// their line-base cells.
  private(set) var startLines: [FunctionID: Int]
  /// The entry function changed: its running frame would keep running the old code. (An
  /// entry function that only moved did not change.)
  let entryChanged: Bool
  /// The `#[test]` functions whose call graph reaches a changed function, in source order:
  /// all of them when a global's initializer's does.
  let affectedTests: [FunctionID]
  /// The functions that only moved, whichever process can call them.
  private let movedOnly: Set<FunctionID>

  init(from old: ProgramIndex, to new: ProgramIndex, for target: Target = .program) {
    var changed: Set<FunctionID> = []
    var movedOnly: Set<FunctionID> = []
    // A new key of an old name is a changed signature (a name keeps its id).
    var signatureChanged: Set<FunctionID> = []
    // Built from `old`, `new` knows which functions can differ; else all are compared.
    let candidates =
      new.base === old.identity ? new.dirty : new.program.functions.map(\.id)
    for id in candidates {
      guard let function = new.function(id) else { continue }
      guard let before = old.function(id) else {
        changed.insert(id)
        continue
      }
      if before.key != function.key {
        changed.insert(id)
        signatureChanged.insert(id)
      } else if before.fingerprint != function.fingerprint {
        changed.insert(id)
      } else if old.startLine(id) != new.startLine(id) {
        movedOnly.insert(id)
      }
    }
    if !signatureChanged.isEmpty {
      for function in new.program.functions
      where new.function(function.id)!.callees.contains(where: signatureChanged.contains) {
        changed.insert(function.id)
      }
    }
    self.changed = changed
    // A caller of a changed signature is changed even if it only moved.
    self.movedOnly = movedOnly.subtracting(changed)

    let program = new.program
    let oldEntryKey = old.program.entry.map { old.function($0)!.key }
    if let entry = program.entry {
      entryChanged = changed.contains(entry) || oldEntryKey != new.function(entry)!.key
    } else {
      entryChanged = oldEntryKey != nil
    }

    let reachingChanged = program.tests.isEmpty ? [] : new.callers(reaching: changed)
    // Every test runs every global's initializer first.
    let initializerChanged = program.globals.contains { reachingChanged.contains($0.initializer) }
    affectedTests = program.tests.filter { initializerChanged || reachingChanged.contains($0) }
      .sorted {
        let (a, b) = (program.function($0).span, program.function($1).span)
        return (a.file, a.start) < (b.file, b.start)
      }
    (patch, moved, startLines) = ([], [], [:])
    scope(to: target, in: new)
  }

  /// The same change for another target (`new` the index it was found in): only which
  /// functions the patch brings differs, so nothing is compared again.
  func retargeted(to target: Target, in new: ProgramIndex) -> ChangeSet {
    var change = self
    change.scope(to: target, in: new)
    return change
  }

  /// Keeps in the patch what `target` can call of the changed and moved functions.
  private mutating func scope(to target: Target, in new: ProgramIndex) {
    switch target {
    case .testProcess:
      patch = changed
      moved = movedOnly
    case .program:
      let program = new.program
      // Which tests other code calls matters only for tests in the change: found only then.
      let tests = changed.union(movedOnly).filter { program.function($0).kind == .test }
      let calledTests =
        tests.isEmpty
        ? []
        : Set(
          program.functions.filter { $0.kind != .test }.flatMap { new.function($0.id)!.callees }
        ).intersection(tests)
      let runnable = { (id: FunctionID) in
        program.function(id).kind != .test || calledTests.contains(id)
      }
      patch = changed.filter(runnable)
      moved = movedOnly.filter(runnable)
    }
    startLines = Dictionary(
      uniqueKeysWithValues: patch.union(moved).map { ($0, new.startLine($0)!) })
  }

  /// Nothing the program runs changed, not even where it is.
  var isEmpty: Bool { changed.isEmpty && moved.isEmpty }

  /// Some code changed, not only where it is: what starts an ended program again.
  var changesCode: Bool { !changed.isEmpty }
}
