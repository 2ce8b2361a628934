import HoloCache
import HoloCodegen
import HoloDriver
import HoloIR
import HoloSource

/// A checked program with what the live loop compares between versions of it.
struct ProgramIndex {
  struct Function {
    var key: String
    var fingerprint: ContentDigest
    var callees: Set<FunctionID>
    /// Where the function starts: what its line-base cell holds (not in the fingerprint).
    var startLine: Int
    /// The analysis it was fingerprinted from (`IRFunction.revision`).
    var revision: Int
  }

  let program: IRProgram
  let functions: [FunctionID: Function]
  /// Function ids by `Symbols.key`.
  let idsByKey: [String: FunctionID]

  /// Fingerprints the functions of `program`; those whose revision is the one `previous`
  /// fingerprinted are the same IR, and keep their fingerprint.
  init(_ program: IRProgram, sources: SourceManager, reusing previous: ProgramIndex? = nil) {
    self.program = program
    var functions: [FunctionID: Function] = [:]
    var idsByKey: [String: FunctionID] = [:]
    for function in program.functions {
      let startLine = Codegen.startLine(of: function, sources)
      var entry: Function
      if function.revision != 0, let kept = previous?.functions[function.id],
        kept.revision == function.revision
      {
        entry = kept
        entry.startLine = startLine
      } else {
        let (fingerprint, callees, _) = Fingerprint.of(function, in: program, sources: sources)
        entry = Function(
          key: Symbols.key(of: function), fingerprint: fingerprint, callees: callees,
          startLine: startLine, revision: function.revision)
      }
      functions[function.id] = entry
      idsByKey[entry.key] = function.id
    }
    self.functions = functions
    self.idsByKey = idsByKey
  }

  func name(_ id: FunctionID) -> String { program.function(id).name }

  /// Every function whose calls can reach one of `targets`, `targets` included: one walk
  /// up the call graph, however many tests ask.
  func callers(reaching targets: Set<FunctionID>) -> Set<FunctionID> {
    guard !targets.isEmpty else { return [] }
    var callers: [FunctionID: [FunctionID]] = [:]
    for (id, function) in functions {
      for callee in function.callees { callers[callee, default: []].append(id) }
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
  /// The `#[test]` functions whose call graph reaches a changed function, in source order.
  let affectedTests: [FunctionID]
  /// The functions that only moved, whichever process can call them.
  private let movedOnly: Set<FunctionID>

  init(from old: ProgramIndex, to new: ProgramIndex, for target: Target = .program) {
    var changed: Set<FunctionID> = []
    var movedOnly: Set<FunctionID> = []
    var added: [FunctionID] = []
    for (id, function) in new.functions {
      guard let oldID = old.idsByKey[function.key] else {
        changed.insert(id)
        added.append(id)
        continue
      }
      let before = old.functions[oldID]!
      if before.fingerprint != function.fingerprint {
        changed.insert(id)
      } else if before.startLine != function.startLine {
        movedOnly.insert(id)
      }
    }
    // A new key of an old name is a changed signature.
    var signatureChanged: Set<String> = []
    if !added.isEmpty {
      let oldKeysByName = Dictionary(
        old.functions.values.map { (Self.name(ofKey: $0.key), $0.key) },
        uniquingKeysWith: { first, _ in first })
      for id in added {
        let name = new.name(id)
        if let oldKey = oldKeysByName[name], oldKey != new.functions[id]!.key {
          signatureChanged.insert(name)
        }
      }
    }
    if !signatureChanged.isEmpty {
      for (id, function) in new.functions
      where function.callees.contains(where: { signatureChanged.contains(new.name($0)) }) {
        changed.insert(id)
      }
    }
    self.changed = changed
    // A caller of a changed signature is changed even if it only moved.
    self.movedOnly = movedOnly.subtracting(changed)

    let program = new.program
    let oldEntryKey = old.program.entry.map { old.functions[$0]!.key }
    if let entry = program.entry {
      entryChanged = changed.contains(entry) || oldEntryKey != new.functions[entry]!.key
    } else {
      entryChanged = oldEntryKey != nil
    }

    let reachingChanged = program.tests.isEmpty ? [] : new.callers(reaching: changed)
    affectedTests = program.tests.filter(reachingChanged.contains)
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
          program.functions.filter { $0.kind != .test }.flatMap { new.functions[$0.id]!.callees }
        ).intersection(tests)
      let runnable = { (id: FunctionID) in
        program.function(id).kind != .test || calledTests.contains(id)
      }
      patch = changed.filter(runnable)
      moved = movedOnly.filter(runnable)
    }
    startLines = Dictionary(
      uniqueKeysWithValues: patch.union(moved).map { ($0, new.functions[$0]!.startLine) })
  }

  /// Nothing the program runs changed, not even where it is.
  var isEmpty: Bool { changed.isEmpty && moved.isEmpty }

  /// Some code changed, not only where it is: what starts an ended program again.
  var changesCode: Bool { !changed.isEmpty }

  /// `add(i64,i64)->i64` → `add`.
  private static func name(ofKey key: String) -> String {
    String(key.prefix { $0 != "(" })
  }
}
