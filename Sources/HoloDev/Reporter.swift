import Foundation
import HoloCodegen
import HoloDevABI
import HoloDriver
import HoloSource

/// holoc dev's own output: human status lines on stderr, or with `--events FILE` one JSON
/// object per line in FILE (CLI.md). Each line is written with one system call, so a
/// reader never sees half of one.
final class Reporter {
  private let eventsFile: Int32?
  /// What a diagnostic about the whole program (a failed patch compile) names.
  private let rootFile: String

  init(eventsPath: String?, rootFile: String) throws(Posix.Failure) {
    self.rootFile = rootFile
    guard let eventsPath else {
      eventsFile = nil
      return
    }
    let fd = open(eventsPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0o644)
    guard fd >= 0 else { throw Posix.Failure("cannot open `\(eventsPath)`") }
    eventsFile = fd
  }

  /// `cached`: the program was started from the build cache, before any analysis.
  func ready(buildMs: Int, cached: Bool) {
    emit(
      [("event", .string("ready")), ("build_ms", .int(buildMs)), ("cached", .bool(cached))],
      human: cached
        ? "ready (started from the build cache in \(buildMs) ms)" : "ready (built in \(buildMs) ms)"
    )
  }

  /// `hasGoodCode`: whether an earlier version built, which keeps running meanwhile.
  func diagnostics(_ diagnostics: [Diagnostic], sources: SourceManager, hasGoodCode: Bool) {
    let diagnostics = diagnostics.map { $0.located(in: rootFile) }
    guard eventsFile == nil else {
      // The diagnostics are the `--format json` objects.
      let renderer = DiagnosticRenderer(sources: sources)
      let list = diagnostics.map { renderer.renderJSON($0) }.joined(separator: ",")
      writeEvent(
        [("event", .string("diagnostics")), ("count", .int(diagnostics.count))],
        raw: ("diagnostics", "[\(list)]"))
      return
    }
    let text = humanRenderer(sources).render(diagnostics, format: .human)
    let hasErrors = diagnostics.contains { $0.severity == .error }
    let note =
      !hasErrors
      ? "applying the change"
      : hasGoodCode ? "keeping the last good code" : "nothing runs until they are fixed"
    writeStatus(text + "holoc dev: \(Self.count(diagnostics.count, "diagnostic")); \(note)")
  }

  /// An edit fixed the last error: the diagnostics event with count 0.
  func noErrors() {
    emit(
      [("event", .string("diagnostics")), ("count", .int(0))],
      human: "no errors; running the current code")
  }

  /// A patch was applied. Every global kept its value (`keptGlobals`), those whose
  /// initializer changed (`changedInitializers`) too: an initializer is not re-run.
  /// What a patch's migration converted (LANGUAGE.md §13).
  struct Migration {
    var conversion: TypeConversion
    var values: UInt64
    var lossy: UInt64
  }

  func patch(
    functions: [String], compileMs: Int, applyMs: Int, addedGlobals: [String],
    removedGlobals: [String], keptGlobals: [String], changedInitializers: [String],
    migrations: [Migration] = [], lossyReports: [String] = []
  ) {
    let names = { (names: [String]) in JSONValue.array(names.map { .string($0) }) }
    let quoted = { (names: [String]) in names.map { "`\($0)`" }.joined(separator: ", ") }
    let what = functions.isEmpty ? "the globals" : functions.joined(separator: ", ")
    var human = "patched \(what) (compiled in \(compileMs) ms, applied in \(applyMs) ms)"
    if !addedGlobals.isEmpty {
      human += "; \(quoted(addedGlobals)) added and initialised"
    }
    if !removedGlobals.isEmpty {
      human += "; \(quoted(removedGlobals)) removed and released"
    }
    for migration in migrations {
      let conversion = migration.conversion
      var fields: [String] = []
      if !conversion.fieldsAdded.isEmpty {
        fields.append("\(quoted(conversion.fieldsAdded)) added")
      }
      if !conversion.fieldsRemoved.isEmpty {
        fields.append("\(quoted(conversion.fieldsRemoved)) removed")
      }
      if !conversion.fieldsConverted.isEmpty {
        fields.append("\(quoted(conversion.fieldsConverted)) converted")
      }
      human +=
        "; migrated \(Self.count(Int(migration.values), "value")) of `\(conversion.type)`"
        + (fields.isEmpty ? "" : " (\(fields.joined(separator: ", ")))")
        + (migration.lossy == 0 ? "" : ", \(migration.lossy) lossy")
    }
    if !changedInitializers.isEmpty {
      human +=
        "; the initializer of \(quoted(changedInitializers)) changed and is not re-run: the program keeps the current value"
    }
    emit(
      [
        ("event", .string("patch")), ("functions", names(functions)),
        ("compile_ms", .int(compileMs)), ("apply_ms", .int(applyMs)),
        (
          "globals",
          .object([
            ("added", names(addedGlobals)), ("removed", names(removedGlobals)),
            ("kept", names(keptGlobals)),
          ])
        ),
        ("initializers_changed", names(changedInitializers)),
        (
          "migrations",
          .array(
            migrations.map { migration in
              .object([
                ("type", .string(migration.conversion.type)),
                ("values", .int(Int(migration.values))),
                ("fields_added", names(migration.conversion.fieldsAdded)),
                ("fields_removed", names(migration.conversion.fieldsRemoved)),
                ("fields_converted", names(migration.conversion.fieldsConverted)),
                ("lossy", .int(Int(migration.lossy))),
              ])
            })
        ),
      ],
      human: human)
    // Every lossy conversion is told on stderr, never silent (LANGUAGE.md §13).
    for report in lossyReports { writeStatus("holoc dev: lossy conversion: \(report)") }
    let untold = migrations.reduce(0) { $0 + Int($1.lossy) } - lossyReports.count
    if untold > 0 {
      writeStatus("holoc dev: and \(Self.count(untold, "more lossy conversion"))")
    }
  }

  /// `holoc reset` re-ran the initializers of `globals` in the running program.
  func reset(globals: [String], compileMs: Int, applyMs: Int) {
    let quoted = globals.map { "`\($0)`" }.joined(separator: ", ")
    emit(
      [
        ("event", .string("reset")), ("globals", .array(globals.map { .string($0) })),
        ("compile_ms", .int(compileMs)), ("apply_ms", .int(applyMs)),
      ],
      human:
        "reset \(globals.isEmpty ? "no globals" : quoted) (compiled in \(compileMs) ms, applied in \(applyMs) ms)"
    )
  }

  /// Functions that only moved got their new start lines (with `--events` only: to a
  /// person, moving code is no news).
  func moved(functions: [String]) {
    writeEvent(
      [("event", .string("moved")), ("functions", .array(functions.map { .string($0) }))],
      raw: nil)
  }

  /// `inPlace`: a frame restart (`--restart frame`), in the same process.
  func restart(reason: String, inPlace: Bool = false) {
    emit(
      [("event", .string("restart")), ("reason", .string(reason))]
        + (inPlace ? [("mode", .string("frame"))] : []),
      human: inPlace
        ? "restarted in place: \(reason)" : "restarting: \(reason)")
  }

  /// Patched functions whose old version is still running; holoc waits for it to return.
  func waiting(functions: [String], reason: String) {
    emit(
      [
        ("event", .string("waiting")), ("functions", .array(functions.map { .string($0) })),
        ("reason", .string(reason)),
      ], human: reason)
  }

  /// The frames `waiting` named have returned: every frame runs the current code.
  func returned(functions: [String]) {
    let names = functions.map { "`\($0)`" }.joined(separator: ", ")
    emit(
      [("event", .string("returned")), ("functions", .array(functions.map { .string($0) }))],
      human: "\(names) returned; the program runs the current code")
  }

  /// Nothing is run on saves, only checked and tested: the program has no entry point (a
  /// library), or `--no-run`.
  func checking(reason: String) {
    emit(
      [("event", .string("checking")), ("reason", .string(reason))],
      human: "\(reason): checking and running the affected tests on each save")
  }

  /// The program was stopped because there is nothing to run.
  func stopped(reason: String) {
    emit(
      [("event", .string("stopped")), ("reason", .string(reason))],
      human: "stopped the program: \(reason)")
  }

  /// `--host`: exported functions whose C signature changed, which the host cannot call.
  func hostABIChanged(functions: [String], message: String) {
    emit(
      [
        ("event", .string("host_abi_changed")),
        ("functions", .array(functions.map { .string($0) })), ("message", .string(message)),
      ], human: message)
  }

  /// Code still running old versions that holoc will not restart (`--restart never`).
  func stale(functions: [String], reason: String) {
    emit(
      [
        ("event", .string("stale")), ("functions", .array(functions.map { .string($0) })),
        ("reason", .string(reason)),
      ], human: reason)
  }

  /// The program ended by itself; `failure` is its runtime failure, if any.
  func exit(status: Int32, failure: Diagnostic?, sources: SourceManager) {
    let failure = failure?.located(in: rootFile)
    guard eventsFile == nil else {
      let renderer = DiagnosticRenderer(sources: sources)
      writeEvent(
        [("event", .string("exit")), ("status", .int(Int(status)))],
        raw: failure.map { ("failure", renderer.renderJSON($0)) })
      return
    }
    let text = failure.map { humanRenderer(sources).renderHuman($0) + "\n" } ?? ""
    writeStatus(text + "holoc dev: the program exited with status \(status); waiting for changes")
  }

  /// A run of tests finished; `process` says how the test process came to run its code
  /// (nil when no test ran).
  func tests(
    _ outcomes: [TestOutcome], total: Int, milliseconds: Int, process: TestProcessUse?,
    sources: SourceManager
  ) {
    let passed = outcomes.filter(\.passed).count
    let failed = outcomes.count - passed
    let summary: [(String, JSONValue)] = [
      ("event", .string("tests")), ("selected", .int(outcomes.count)), ("total", .int(total)),
      ("passed", .int(passed)), ("failed", .int(failed)), ("ms", .int(milliseconds)),
      ("test_process", process.map { .string($0.rawValue) } ?? .null),
    ]
    guard eventsFile == nil else {
      emit(summary + [("results", .array(outcomes.map(\.json)))], human: "")
      return
    }
    guard !outcomes.isEmpty else { return }
    let renderer = humanRenderer(sources)
    var text = ""
    for outcome in outcomes {
      text += "test \(outcome.name) ... \(outcome.passed ? "ok" : "FAILED")\n"
      if let failure = outcome.failure { text += renderer.renderHuman(failure) }
      if !outcome.passed && !outcome.output.isEmpty {
        text += "output:\n" + outcome.output + (outcome.output.hasSuffix("\n") ? "" : "\n")
      }
    }
    writeStatus(
      text
        + "holoc dev: \(outcomes.count) of \(Self.count(total, "test")) affected: \(passed) passed, \(failed) failed (\(milliseconds) ms)"
    )
  }

  /// A status line for a human only (with `--events`, nothing).
  func note(_ text: String) {
    if eventsFile == nil { writeStatus("holoc dev: " + text) }
  }

  private func emit(_ fields: [(String, JSONValue)], human: String) {
    if eventsFile != nil {
      writeEvent(fields, raw: nil)
    } else {
      writeStatus("holoc dev: " + human)
    }
  }

  /// Writes an event; `raw` is a field whose value is already serialised JSON.
  private func writeEvent(_ fields: [(String, JSONValue)], raw: (String, String)?) {
    guard let eventsFile else { return }
    var line = JSONValue.object(fields).serialized
    if let (key, value) = raw {
      line.removeLast()
      line += ",\(JSONValue.string(key).serialized):\(value)}"
    }
    Posix.writeAll(eventsFile, Array((line + "\n").utf8))
  }

  private func humanRenderer(_ sources: SourceManager) -> DiagnosticRenderer {
    DiagnosticRenderer(sources: sources, useColor: DiagnosticRenderer.stderrWantsColor())
  }

  private func writeStatus(_ text: String) {
    Posix.writeAll(STDERR_FILENO, Array((text + "\n").utf8))
  }

  private static func count(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
  }
}
