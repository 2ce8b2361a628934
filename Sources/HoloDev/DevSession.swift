import Foundation
import HoloCodegen
import HoloDevABI
import HoloDriver
import HoloIR
import HoloSema
import HoloSource

/// One `holoc dev` session. Helper threads (file watcher, agent connections, program
/// I/O, signals) post events; the session handles them one at a time on its own thread,
/// so all of its state lives here without locks.
final class DevSession {
  /// A checked program: the last good one, or the code a running program runs.
  struct Build {
    /// Numbers the builds of a session in order: which code a process runs is told
    /// without comparing programs.
    let serial: Int
    let program: IRProgram
    let sources: SourceManager
    let index: ProgramIndex
    /// Which analysis of the session's database it is (`Analysis.number`).
    let analysis: Int
    /// The files it was analysed from, root first.
    let files: [FileID]

    /// `file:line` of the function named `name`, where a stale frame of it is running.
    func location(ofFunction name: String) -> String {
      guard let function = program.functions.first(where: { $0.name == name }) else { return name }
      let file = sources.file(function.span.file)
      return "\(file.path):\(file.location(of: function.span.start).line)"
    }
  }

  /// Patched functions whose previous version still had a frame on the stack: holoc asks
  /// the agent (`FRAMES`) until they have returned, or restarts the program once they
  /// have kept running old code for `DevOptions.staleFrameBound`.
  struct WaitingFrames {
    /// The slots whose old versions are still on the stack.
    var slots: Set<String>
    var since: Double
    var nextQueryMs: Double
    /// The `FRAMES` request whose reply is awaited.
    var pendingRequest: UInt64?
    /// Past the bound under `--restart never`: reported once, then asked about rarely.
    var overdue = false
  }

  struct Running {
    let process: ProgramProcess
    let executable: String
    let reportPath: String
    /// The program its code corresponds to (the last patch applied).
    var build: Build
    var agent: AgentConnection?
    /// Slots the process has: the executable's and the patches' new ones.
    var slots: Set<String>
    var waiting: WaitingFrames?

    init(process: ProgramProcess, executable: String, reportPath: String, build: Build) {
      self.process = process
      self.executable = executable
      self.reportPath = reportPath
      self.build = build
      slots = Codegen.slots(of: build.program)
    }
  }

  /// A program started from the build cache before the first analysis (`startFromCache`),
  /// its code that of a build of the files as they were then.
  struct WarmStart {
    let process: ProgramProcess
    let executable: String
    let reportPath: String
    let cached: CachedExecutable
  }

  /// A run of affected tests in the background: linking a test executable for it first,
  /// or running its tests in the test process.
  struct TestRun {
    let id: Int
    let cancellation: TestCancellation
    /// The names of the tests it runs, kept when a newer run supersedes it.
    let tests: Set<String>
    /// Them in source order.
    let order: [FunctionID]
    let build: Build
    let began: Double
    let process: TestProcessUse
  }

  private let options: DevOptions
  private let rootFile: String
  /// Holds the agent socket, the executables and the failure reports.
  private let workFolder: TemporaryFolder
  private var workDirectory: String { workFolder.path }
  private let events = EventQueue()
  private let reporter: Reporter
  private let inputLog = InputLog()
  private let watcher: SourceWatcher
  private let agents: AgentServer
  /// Where `holoc reset` reaches the session.
  private let control: ControlServer
  private var signalSources: [DispatchSourceSignal] = []

  /// Every file read so far, updated in place on edits.
  private let liveSources = SourceManager()
  /// The analysed program, brought up to date on each save: only what an edit can have
  /// changed is parsed and checked again.
  private let database: ProgramDatabase
  /// Where the first analysis's body records go, for the next holoc on this root; nil
  /// once they went.
  private var recordCache: BodyRecordCache?
  /// The files (their texts) the latest analysis read: the same objects, the same texts.
  private var analysedTexts: [ObjectIdentifier]?
  /// Every path the database knows, as the watcher names it (`SourceWatcher.path(of:)`).
  private var watcherPaths: [String: String] = [:]
  /// The next analysis reads every known file again, not only those the watcher named:
  /// at the start, and after new folders are watched (a file may have appeared there
  /// before its watch began).
  private var rereadsAllFiles = true
  private var lastGood: Build?
  /// Whether the latest analysis reported errors (so the next clean one says so).
  private var hasErrors = false
  /// `--host`: the code the host was linked with (the first good analysis). A new host
  /// process runs it, so it is caught up to the current code with a patch.
  private var hostBuild: Build?
  private var running: Running?
  /// Runs until the first good analysis adopts it, or replaces it if the files changed.
  private var warmStart: WarmStart?
  /// What the next program started after one ended reads on stdin.
  private var nextInput = InputPlan(base: 0, replayLength: 0)
  /// The program was stopped for having nothing to run: the next good analysis starts
  /// it, changed or not.
  private var startsOnNextGoodAnalysis = false
  /// Why saves are only checked and tested now (`checkOnly`); nil while the program runs.
  private var checking: String?
  private var nextGeneration = 1
  private var nextBuildSerial = 1
  /// The change the latest analysis found, from the build `from` to the build `to`: a
  /// test process that runs `from` is patched with it instead of a second comparison of
  /// the whole program.
  private var latestChange: (from: Int, to: Int, change: ChangeSet)?
  private var nextPatchVersion = 1
  /// Made with the first patch, kept for the session's others.
  private var patchCompiler: PatchCompiler?
  private var nextRequestID: UInt64 = 1
  private var testRun: TestRun?
  private var nextTestRun = 1
  /// The test process, kept from run to run; a run's thread has it while the run goes.
  private var testProcess: TestProcess?
  private var nextTestProcessGeneration = 1
  /// The tests of a cancelled run, with those of the changes since, and the newest build:
  /// they run when the cancelled run's thread has given the test process back.
  private var queuedTests: (names: Set<String>, build: Build)?

  /// How long a patch may take to be acknowledged before the program is restarted.
  private static let acknowledgementTimeout = 10.0
  /// How long a new program may take to connect its agent.
  private static let helloTimeout = 5.0
  /// How long the `HELLO` of a test process that already answered a request may still be
  /// on its way (its agent greets holoc before the process reads its first request): past
  /// that, it has no agent.
  private static let lateHelloTimeout = 0.25
  /// How often the agent is asked whether waiting frames have returned; past the bound
  /// under `--restart never`, how often it is asked still.
  private static let frameQueryIntervalMs = 50.0
  private static let overdueQueryIntervalMs = 1000.0

  init(options: DevOptions, rootFile: String) throws(Posix.Failure) {
    self.options = options
    self.rootFile = rootFile
    let records = Driver(format: .human).bodyRecordCache(root: rootFile)
    database = ProgramDatabase(
      rootPath: rootFile, sources: liveSources, workers: CompilerThread.bodyCheckers,
      records: BodyRecords(records.loaded))
    recordCache = records
    reporter = try Reporter(eventsPath: options.eventsPath, rootFile: rootFile)
    do throws(TemporaryFolder.Failure) {
      workFolder = try TemporaryFolder.create()
    } catch {
      throw Posix.Failure(reason: error.description)
    }
    watcher = try SourceWatcher(events: events)
    agents = try AgentServer(directory: workFolder.path, events: events)
    control = try ControlServer(directory: workFolder.path, rootFile: rootFile, events: events)
    if let host = options.host { watcher.watchHost(host) }
  }

  func run() -> Int32 {
    signal(SIGPIPE, SIG_IGN)
    for number in [SIGINT, SIGTERM, SIGHUP] {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [events] in events.post(.terminate) }
      source.resume()
      signalSources.append(source)
    }
    agents.start()
    control.start()
    watcher.start()
    inputLog.record(from: STDIN_FILENO)
    startFromCache()
    sourcesChanged()
    while true {
      guard let event = events.next(until: running?.waiting?.nextQueryMs) else {
        queryFrames()
        continue
      }
      switch event {
      case .sourcesChanged:
        // Saves queued behind the one being handled are one change of the final text.
        _ = events.removeAll { if case .sourcesChanged = $0 { true } else { false } }
        sourcesChanged()
      case .agentConnected(let connection):
        if running?.process.processID == connection.processID && running?.agent == nil {
          running?.agent = connection
        } else if testProcess?.server.processID == connection.processID
          && testProcess?.agent == nil
        {
          testProcess?.agent = connection
        } else {
          connection.close()
        }
      case .agentMessage(let id, .framesReply(let reply)):
        if running?.agent?.id == id { framesFound(reply) }
      case .agentMessage:
        // A late acknowledgement or status reply nobody waits for any more.
        break
      case .agentDisconnected(let id):
        if running?.agent?.id == id { running?.agent = nil }
        if testProcess?.agent?.id == id { testProcess?.agent = nil }
      case .programExited(let generation, let termination):
        if running?.process.generation == generation { programEnded(termination) }
      case .testsFinished(let id, let result):
        testsFinished(id, result)
      case .testExecutableLinked(let id, let diagnostics):
        testExecutableLinked(id, diagnostics: diagnostics)
      case .testProcessExited(let generation):
        // A run that has it finds out itself; an idle one is let go now.
        if testProcess?.server.generation == generation && testRun == nil {
          retireTestProcess()
        }
      case .hostChanged:
        hostRebuilt()
      case .controlRequest(let request):
        reset(request)
      case .terminate:
        shutDown()
        return 0
      }
    }
  }

  // MARK: Changes

  /// Analyses the program again and applies what changed since the last good version.
  private func sourcesChanged() {
    let began = Posix.monotonicMs()
    // After the patch is out: freeing the previous parse of a big file is slower than the
    // edit's own analysis.
    defer { database.releaseReplaced() }
    DiskSources().update(database, changedPaths: changedPaths())
    let analysis = database.snapshot()
    if let recordCache, !analysis.files.isEmpty {
      recordCache.store(database.bodyRecords)
      self.recordCache = nil
    }
    // Builds keep the text they were compiled from, for rendering failures of their code.
    let sources = liveSources.snapshot()
    let files = analysis.files.map(sources.file)
    if watcher.watch(root: rootFile, files, imports: analysis.importPaths) {
      rereadsAllFiles = true
      events.post(.sourcesChanged)
    }
    // A newer save is on its way: this text is outdated, the next analysis handles it.
    guard !isSuperseded else { return }
    // Saving a file unchanged, or looking again after new watches, is not an edit.
    let texts = files.map(ObjectIdentifier.init)
    guard texts != analysedTexts else { return }
    analysedTexts = texts
    // The first analysis that gets this far adopts the program started from the cache
    // (`start`), or it goes.
    defer { discardWarmStart() }
    let hadErrors = hasErrors
    hasErrors = analysis.diagnostics.contains { $0.severity == .error }
    if !analysis.diagnostics.isEmpty {
      reporter.diagnostics(analysis.diagnostics, sources: sources, hasGoodCode: lastGood != nil)
    }
    guard let program = analysis.program else {
      if analysis.files.isEmpty { nothingToRun(reason: "`\(rootFile)` is missing") }
      return
    }
    let build = Build(
      serial: nextBuildSerial, program: program, sources: sources,
      index: ProgramIndex(
        program, sources: sources, reusing: lastGood?.index,
        changed: lastGood.flatMap { database.changedFunctions(since: $0.analysis) }),
      analysis: analysis.number, files: analysis.files)
    nextBuildSerial += 1
    if options.host != nil, hostBuild == nil { hostBuild = build }
    // A running program is compared with the code it runs, so a change it did not take
    // (a failed patch under `--restart never`) is tried again.
    let base = running?.build ?? lastGood
    lastGood = build
    let change = base.map { ChangeSet(from: $0.index, to: build.index) }
    latestChange = base.flatMap { base in
      change.map { (from: base.serial, to: build.serial, change: $0) }
    }
    if !options.runsProgram || (program.entry == nil && options.host == nil) {
      checkOnly(build, change: change)
      if hadErrors && !hasErrors { reporter.noErrors() }
      return
    }
    checking = nil
    let applied: Bool
    if running == nil && startsOnNextGoodAnalysis {
      startsOnNextGoodAnalysis = false
      applied = start(build, input: nextInput, since: began)
    } else if change?.isEmpty == true {
      // Same code at the same places: only the text around it changed.
      running?.build = build
      applied = true
    } else if running == nil {
      // Code that only moved is no reason to run an ended program again.
      applied = change?.changesCode == false || start(build, input: nextInput, since: began)
    } else {
      applied = update(with: change!, build, since: began)
    }
    if applied && hadErrors && !hasErrors { reporter.noErrors() }
    if applied, let change, !change.isEmpty { runAffectedTests(change, build) }
  }

  /// The known files the watcher saw change since the last analysis (all of them when it
  /// cannot tell which).
  private func changedPaths() -> [String] {
    let changed = watcher.takeChangedFiles()
    let known = database.knownPaths
    guard let changed, !rereadsAllFiles else {
      rereadsAllFiles = false
      return known
    }
    return known.filter { path in
      if watcherPaths[path] == nil { watcherPaths[path] = SourceWatcher.path(of: path) }
      return changed.contains(watcherPaths[path]!)
    }
  }

  /// Whether a save newer than the text just analysed has arrived or is being collected.
  private var isSuperseded: Bool {
    watcher.hasPendingChanges
      || events.contains { if case .sourcesChanged = $0 { true } else { false } }
  }

  /// Nothing runs, the code is only checked and tested: under `--no-run`, or when the
  /// program has neither `fn main` nor top-level statements (a library, or a `main.holo`
  /// emptied, which stops the program that ran). The first such analysis runs every test,
  /// later ones the tests a change affects.
  private func checkOnly(_ build: Build, change: ChangeSet?) {
    let reason = options.runsProgram ? "the program has no entry point" : "--no-run"
    if running != nil { nothingToRun(reason: reason) }
    let startsChecking = checking != reason
    if startsChecking {
      checking = reason
      reporter.checking(reason: reason)
    }
    if startsChecking || change == nil {
      runTests(Set(build.program.tests.map(build.index.name)), build)
    } else if let change, !change.isEmpty {
      runAffectedTests(change, build)
    }
  }

  /// Stops the running program, which runs code that no longer exists, unless
  /// `--restart never` keeps it. Under `replay` its input is fed again to the program the
  /// next good edit starts, so it comes back in the same state.
  private func nothingToRun(reason: String) {
    guard let current = running else { return }
    guard options.restart != .never else {
      reporter.stale(
        functions: [], reason: "\(reason); the program keeps running its old code (--restart never)"
      )
      return
    }
    reporter.stopped(reason: reason)
    startsOnNextGoodAnalysis = true
    let consumed = stop(current)
    let base = current.process.input.base
    nextInput =
      replaysInput
      ? InputPlan(base: base, replayLength: consumed)
      : InputPlan(base: base + consumed, replayLength: 0)
  }

  /// Brings the running program to `build`: live, or by restarting it. False when the
  /// change could not be applied at all.
  private func update(with change: ChangeSet, _ build: Build, since began: Double) -> Bool {
    let entryName = build.program.entry.map { build.program.function($0).name } ?? "main"
    // A C host never runs the library's entry function, so changing it is an ordinary change.
    let entryChanged = change.entryChanged && options.host == nil
    // Globals added, removed, and migrated to new layouts, in the running program.
    let globals =
      running.map { GlobalChanges(from: $0.build.program, to: build.program) } ?? .none
    let entryReason =
      "the entry function `\(entryName)` changed; its running frame cannot be patched"
    // `--restart frame`: the patch itself restarts the entry function's running frame.
    let restartsFrame = entryChanged && options.restart == .frame
    if entryChanged && options.restart != .never && !restartsFrame {
      return restart(build, reason: entryReason, since: began)
    }
    if options.host != nil, let running { reportHostABIChanges(from: running.build, to: build) }
    if !change.patch.isEmpty || !change.moved.isEmpty || !globals.isEmpty {
      switch patch(change, build, globals: globals, since: began, restartsFrames: restartsFrame) {
      case .applied(let staleSlots):
        if restartsFrame {
          reporter.restart(reason: entryReason, inPlace: true)
        } else if !staleSlots.isEmpty {
          waitForFrames(staleSlots, build)
        }
      case .notApplied(let reason):
        return restartOrWarn(
          build, functions: change.patch.union(change.moved).map(build.index.name),
          reason: reason, since: began)
      case .programEnded:
        return running == nil && start(build, input: nextInput, since: began)
      case .superseded:
        // The next analysis compares the newer text with the code the program runs.
        analysedTexts = nil
        return false
      }
    } else {
      running?.build = build
    }
    if entryChanged && !restartsFrame {
      reporter.stale(
        functions: [entryName],
        reason:
          "the entry function `\(entryName)` changed; it keeps running its old code (--restart never)"
      )
    }
    return true
  }

  private func restartOrWarn(
    _ build: Build, functions: [String], reason: String, since began: Double
  )
    -> Bool
  {
    guard options.restart == .never else { return restart(build, reason: reason, since: began) }
    reporter.stale(
      functions: functions.sorted(), reason: "\(reason); not restarting (--restart never)")
    return true
  }

  // MARK: Patching

  private enum PatchOutcome {
    /// Applied; the slots whose previous version is still on the stack.
    case applied(staleSlots: Set<String>)
    case notApplied(reason: String)
    /// The program ended meanwhile (its end has been reported).
    case programEnded
    /// A newer save arrived while the patch was compiled: it was not sent.
    case superseded
  }

  private func patch(
    _ change: ChangeSet, _ build: Build, globals: GlobalChanges, since began: Double,
    restartsFrames: Bool = false
  ) -> PatchOutcome {
    guard let agent = connectedAgent() else {
      if running == nil { return .programEnded }
      return .notApplied(reason: "the program is not connected to a patch agent")
    }
    let delivered: DeliveredPatch
    switch deliver(
      change, build, globals: globals, slots: running!.slots, to: agent, since: began,
      unlessSuperseded: true, restartsFrames: restartsFrames)
    {
    case .applied(let patch):
      delivered = patch
    case .notCompiled(let error):
      reporter.diagnostics(
        [Diagnostic(.codegenFailed, "compiling the patch failed: \(error)", at: nil)],
        sources: build.sources, hasGoodCode: true)
      return .notApplied(reason: "the patch could not be compiled")
    case .failed(let reason):
      return .notApplied(reason: reason)
    case .superseded:
      return .superseded
    }
    running?.slots.formUnion(delivered.newSlots)
    running?.build = build
    // Moving code is not patching it: functions that only moved are no `patch` event.
    if !change.patch.isEmpty || !globals.isEmpty {
      // A patch runs with the program's globals as they are: a changed initializer's new
      // code runs at the next start and before each test, never in this process (§13).
      // Added globals were initialised at the patch's safepoint.
      let added = Set(globals.added.map(\.initializer))
      let kept = build.program.globals.filter { !added.contains($0.initializer) }
      reporter.patch(
        functions: change.patch.map(build.index.name).sorted(), compileMs: delivered.compileMs,
        applyMs: delivered.applyMs, addedGlobals: globals.added.map(\.name),
        removedGlobals: globals.removed.map(\.name), keptGlobals: kept.map(\.name),
        changedInitializers: kept.filter { change.patch.contains($0.initializer) }.map(\.name),
        migrations: globals.conversions.enumerated().map { number, conversion in
          let count = number < delivered.migrations.count ? delivered.migrations[number] : nil
          return Reporter.Migration(
            conversion: conversion, values: count?.values ?? 0, lossy: count?.lossy ?? 0)
        }, lossyReports: delivered.lossyReports)
    }
    if !change.moved.isEmpty {
      reporter.moved(functions: change.moved.map(build.index.name).sorted())
    }
    return .applied(staleSlots: delivered.staleSlots)
  }

  /// A patch a process acknowledged as applied.
  private struct DeliveredPatch {
    /// The slots it brought into the process.
    var newSlots: [String]
    /// The slots whose previous version is still on the stack.
    var staleSlots: Set<String>
    var compileMs: Int
    var applyMs: Int
    /// Per conversion of the patch's migration: values converted and how many lost
    /// information; the lossy ones told one by one.
    var migrations: [AgentMessage.MigrationCount] = []
    var lossyReports: [String] = []
  }

  private enum PatchDelivery {
    case applied(DeliveredPatch)
    case notCompiled(Error)
    /// Not acknowledged, or acknowledged as failed: the reason.
    case failed(String)
    /// A newer save arrived while the patch was compiled: it was not sent.
    case superseded
  }

  /// Compiles `change` (to `build`, adding and removing `globals`) into a patch for a
  /// process whose slots are `slots`, sends it to the process's `agent` and waits for the
  /// acknowledgement: the same for the program and for the test process. With
  /// `unlessSuperseded`, a patch a newer save made outdated is not sent.
  private func deliver(
    _ change: ChangeSet, _ build: Build, globals: GlobalChanges = .none, slots: Set<String>,
    to agent: AgentConnection, since began: Double, unlessSuperseded: Bool,
    restartsFrames: Bool = false
  ) -> PatchDelivery {
    let version = nextPatchVersion
    nextPatchVersion += 1
    let patch: Patch
    do {
      // Functions that only moved need no code, only their line writes.
      if change.patch.isEmpty && globals.isEmpty {
        patch = .noCode
      } else {
        let compiler =
          try patchCompiler ?? PatchCompiler(options: options.settings.codegenOptions(entry: .none))
        patchCompiler = compiler
        patch = try compiler.patch(
          build.program, sources: build.sources, functions: change.patch, version: version,
          globals: globals, existingSlots: slots)
      }
    } catch {
      return .notCompiled(error)
    }
    if unlessSuperseded && isSuperseded { return .superseded }
    let compileMs = elapsedMs(since: began)
    let sent = Posix.monotonicMs()
    let lineWrites = change.startLines.map { id, line in
      DaemonMessage.Patch.DataWrite(
        cell: Symbols.lineBase(of: build.program.function(id), in: build.program),
        value: UInt64(line))
    }
    let frame = DaemonMessage.patch(
      .init(
        id: UInt64(version), newSlots: patch.newSlots, newCells: patch.newCells,
        object: patch.object,
        updates: patch.updates.map { .init(slot: $0.slot, function: $0.function) },
        dataWrites: lineWrites.sorted { $0.cell < $1.cell },
        newGlobals: patch.newGlobals.map {
          .init(symbol: $0.symbol, size: $0.size, alignment: $0.alignment)
        },
        safepointFunction: patch.safepointFunction ?? "", restartsFrames: restartsFrames)
    ).framed
    guard let ack = send(frame, id: UInt64(version), to: agent) else {
      return .failed("the patch agent did not acknowledge the patch")
    }
    guard ack.applied else { return .failed("the patch failed: \(ack.error)") }
    return .applied(
      DeliveredPatch(
        newSlots: patch.newSlots, staleSlots: Set(ack.staleSlots), compileMs: compileMs,
        applyMs: elapsedMs(since: sent), migrations: ack.migrations,
        lossyReports: ack.lossyReports))
  }

  /// Sends a framed `PATCH` and waits for its acknowledgement; nil when none came.
  private func send(_ frame: [UInt8], id: UInt64, to agent: AgentConnection)
    -> AgentMessage.PatchAck?
  {
    guard agent.send(frame) else { return nil }
    let answer = events.take(timeout: Self.acknowledgementTimeout) { event in
      switch event {
      case .agentMessage(agent.id, .patchAck(let ack)): return ack.patchID == id
      case .agentDisconnected(agent.id): return true
      default: return false
      }
    }
    guard case .agentMessage(_, .patchAck(let ack))? = answer else { return nil }
    return ack
  }

  // MARK: Resetting globals

  /// `holoc reset`: runs the initializers of the requested globals (all, when it names
  /// none) again in the running program, at a safepoint, with the code it runs now.
  private func reset(_ request: ControlRequest) {
    guard let current = running, let agent = connectedAgent() else {
      request.answerError("the program is not running")
      return
    }
    let globals = current.build.program.globals
    let known = Set(globals.map(\.name))
    if let unknown = request.globals.first(where: { !known.contains($0) }) {
      request.answerError("the running program has no global `\(unknown)`")
      return
    }
    let named = Set(request.globals)
    let chosen = request.globals.isEmpty ? globals : globals.filter { named.contains($0.name) }
    let began = Posix.monotonicMs()
    let unchanged = ChangeSet(from: current.build.index, to: current.build.index)
    switch deliver(
      unchanged, current.build, globals: GlobalChanges(reset: chosen), slots: current.slots,
      to: agent, since: began, unlessSuperseded: false)
    {
    case .applied(let delivered):
      reporter.reset(
        globals: chosen.map(\.name), compileMs: delivered.compileMs, applyMs: delivered.applyMs)
      request.answerReset(chosen.map(\.name))
    case .notCompiled(let error):
      request.answerError("compiling the reset failed: \(error)")
    case .failed(let reason):
      request.answerError(reason)
    case .superseded:
      request.answerError("a newer save came first")
    }
  }

  // MARK: Frames of replaced code

  /// The names of the functions whose slots are `slots`, sorted: the name a slot's key
  /// starts with (the program need not have that signature any more).
  private func functionNames(ofSlots slots: Set<String>) -> [String] {
    slots.map { DevSymbols.functionName(ofKey: DevSymbols.key(ofSlot: $0) ?? $0) }.sorted()
  }

  /// `3` for 3.0, `0.5` for 0.5.
  private func seconds(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
  }

  private func describe(_ functions: [String], in build: Build) -> String {
    let places = functions.map { "`\($0)` (\(build.location(ofFunction: $0)))" }
    return "\(places.joined(separator: ", ")) \(functions.count == 1 ? "is" : "are")"
  }

  /// A patch left frames of old versions on the stack: they finish on their old code
  /// (the next call runs the new one), so holoc waits for them to return.
  private func waitForFrames(_ slots: Set<String>, _ build: Build) {
    guard var current = running else { return }
    let now = Posix.monotonicMs()
    var waiting =
      current.waiting ?? WaitingFrames(slots: [], since: now, nextQueryMs: now)
    waiting.slots.formUnion(slots)
    waiting.nextQueryMs = now + Self.frameQueryIntervalMs
    current.waiting = waiting
    running = current
    let functions = functionNames(ofSlots: waiting.slots)
    reporter.waiting(
      functions: functions,
      reason:
        "\(describe(functions, in: build)) still running old code; waiting up to \(seconds(options.staleFrameBound)) s for \(functions.count == 1 ? "it" : "them") to return"
    )
  }

  /// Asks the agent which replaced versions are still on the stack.
  private func queryFrames() {
    guard var waiting = running?.waiting else { return }
    let now = Posix.monotonicMs()
    waiting.nextQueryMs =
      now + (waiting.overdue ? Self.overdueQueryIntervalMs : Self.frameQueryIntervalMs)
    if waiting.pendingRequest == nil, let agent = running?.agent {
      let id = nextRequestID
      nextRequestID += 1
      if agent.send(DaemonMessage.frames(requestID: id).framed) { waiting.pendingRequest = id }
    } else if running?.agent == nil {
      // No agent any more: nothing can be learned about the frames.
      running?.waiting = nil
      return
    }
    running?.waiting = waiting
  }

  private func framesFound(_ reply: AgentMessage.FramesReply) {
    guard let current = running, var waiting = current.waiting,
      waiting.pendingRequest == reply.requestID
    else { return }
    waiting.pendingRequest = nil
    defer { if running?.waiting != nil { running?.waiting = waiting } }
    guard reply.scanned else { return }
    let stillStale = Set(reply.staleSlots)
    let returned = functionNames(ofSlots: waiting.slots.subtracting(stillStale))
    waiting.slots = stillStale
    if stillStale.isEmpty {
      running?.waiting = nil
      if !returned.isEmpty { reporter.returned(functions: returned) }
      return
    }
    guard Posix.monotonicMs() - waiting.since >= options.staleFrameBound * 1000, !waiting.overdue
    else {
      return
    }
    let functions = functionNames(ofSlots: stillStale)
    let reason = "\(describe(functions, in: current.build)) still running old code"
    guard options.restart != .never else {
      waiting.overdue = true
      reporter.stale(functions: functions, reason: "\(reason); not restarting (--restart never)")
      return
    }
    waiting.overdue = true
    if options.restart == .frame, restartStaleFrame(current.build, reason: reason) { return }
    _ = restart(current.build, reason: reason, since: Posix.monotonicMs())
  }

  /// `--restart frame` for a frame that does not return: a patch of no code after whose
  /// safepoint the agent restarts the outermost frame running replaced code, in place,
  /// with the same arguments. False when the agent failed.
  private func restartStaleFrame(_ build: Build, reason: String) -> Bool {
    guard let current = running, let agent = connectedAgent() else { return false }
    let nothing = ChangeSet(from: build.index, to: build.index)
    guard
      case .applied = deliver(
        nothing, build, slots: current.slots, to: agent, since: Posix.monotonicMs(),
        unlessSuperseded: false, restartsFrames: true)
    else { return false }
    running?.waiting = nil
    reporter.restart(reason: reason, inPlace: true)
    return true
  }

  /// `--host`: the host calls each `export fn` through the C signature it was compiled
  /// with, so a changed signature cannot reach it until the host is rebuilt.
  private func reportHostABIChanges(from old: Build, to new: Build) {
    let newKeys = Dictionary(
      new.program.functions.filter(\.isExport).map {
        ($0.name, Symbols.key(of: $0, in: new.program))
      },
      uniquingKeysWith: { first, _ in first })
    let changed = old.program.functions.filter {
      $0.isExport && newKeys[$0.name] != Symbols.key(of: $0, in: old.program)
    }.map(\.name).sorted()
    guard !changed.isEmpty, let host = options.host else { return }
    let names = changed.map { "`export fn \($0)`" }.joined(separator: ", ")
    let restarts =
      options.restart == .never
      ? "" : "; holoc dev restarts it when its executable is rebuilt"
    reporter.hostABIChanged(
      functions: changed,
      message:
        "the C signature of \(names) changed: the host `\(host)` keeps calling the old version until it is rebuilt\(restarts)"
    )
  }

  /// `--host`: the host executable was rebuilt, with the current code.
  private func hostRebuilt() {
    guard let host = options.host, let build = lastGood else { return }
    let began = Posix.monotonicMs()
    if running == nil {
      hostBuild = build
      _ = start(build, input: nextInput, since: began)
    } else if options.restart == .never {
      reporter.note("the host `\(host)` was rebuilt; not restarting (--restart never)")
    } else {
      hostBuild = build
      _ = restart(build, reason: "the host `\(host)` was rebuilt", since: began)
    }
  }

  /// The running program's agent, waiting for its `HELLO` if it has not arrived yet.
  /// nil when there is none; if the program ended meanwhile, its end is handled.
  private func connectedAgent() -> AgentConnection? {
    guard let current = running else { return nil }
    if let agent = current.agent { return agent }
    let event = events.take(timeout: Self.helloTimeout) { event in
      switch event {
      case .agentConnected(let connection): return connection.processID == current.process.processID
      case .programExited(let generation, _): return generation == current.process.generation
      default: return false
      }
    }
    switch event {
    case .agentConnected(let connection)?:
      running?.agent = connection
      return connection
    case .programExited(_, let termination)?:
      programEnded(termination)
      return nil
    default:
      return nil
    }
  }

  // MARK: Starting and ending programs

  /// Builds `build` into an executable; nil (diagnostics reported) when linking failed.
  /// With `--host`, the program is the host, already built.
  private func link(_ build: Build, entry: CodegenOptions.Entry, name: String) -> String? {
    if entry == .program, let host = options.host { return host }
    let executable = "\(workDirectory)/\(name)"
    do throws(DriverFailure) {
      try Driver(format: .human, sources: build.sources).buildExecutable(
        build.program, settings: options.settings, entry: entry, to: executable)
      return executable
    } catch {
      reporter.diagnostics(error.diagnostics, sources: build.sources, hasGoodCode: running != nil)
      return nil
    }
  }

  /// Builds and starts `build`; false when it could not be built or started. The first
  /// start adopts the program started from the cache, if it runs this very code.
  private func start(_ build: Build, input: InputPlan, since began: Double) -> Bool {
    if let warm = warmStart, warm.cached.isBuilt(from: build.files.map(build.sources.file)) {
      warmStart = nil
      running = Running(
        process: warm.process, executable: warm.executable, reportPath: warm.reportPath,
        build: build)
      return true
    }
    discardWarmStart()
    guard let executable = link(build, entry: .program, name: "program-\(nextGeneration)") else {
      return false
    }
    if options.host == nil {
      Driver(format: .human).recordExecutable(
        root: rootFile, settings: options.settings, files: build.files.map(build.sources.file),
        at: executable)
    }
    return launch(build, executable: executable, input: input, since: began)
  }

  /// Ends the program started from the cache that the first analysis did not adopt: the
  /// files changed while it started, so it runs code that is no longer there (or, without
  /// an entry point now, nothing that should run).
  private func discardWarmStart() {
    guard let warm = warmStart else { return }
    warmStart = nil
    warm.process.kill()
    _ = events.take(timeout: 5) { event in
      if case .programExited(warm.process.generation, _) = event { return true }
      return false
    }
    try? FileManager.default.removeItem(atPath: warm.executable)
    try? FileManager.default.removeItem(atPath: warm.reportPath)
    _ = warm.process.finishInput()
  }

  /// Starts the program at once from the executable a build of the files as they are now
  /// made before (`holoc build`, or an earlier session): no analysis stands between the
  /// user and their program. The first analysis then adopts it (`start`).
  private func startFromCache() {
    guard options.runsProgram, options.host == nil else { return }
    let began = Posix.monotonicMs()
    let executable = "\(workDirectory)/program-\(nextGeneration)"
    guard
      let cached = Driver(format: .human).cachedExecutable(
        root: rootFile, settings: options.settings, to: executable)
    else { return }
    guard
      let started = startProcess(
        executable: executable, input: nextInput, since: began, cached: true)
    else { return }
    warmStart = WarmStart(
      process: started.process, executable: executable, reportPath: started.reportPath,
      cached: cached)
  }

  /// Starts a process of the host or of a new executable, then, for a host (which runs
  /// the code it was linked with), patches it up to `build`.
  private func launch(_ build: Build, executable: String, input: InputPlan, since began: Double)
    -> Bool
  {
    guard let hostBuild, options.host != nil else {
      return launchProcess(build, executable: executable, input: input, since: began)
    }
    guard launchProcess(hostBuild, executable: executable, input: input, since: began) else {
      return false
    }
    let change = ChangeSet(from: hostBuild.index, to: build.index)
    return change.isEmpty || update(with: change, build, since: began)
  }

  private func launchProcess(
    _ build: Build, executable: String, input: InputPlan, since began: Double
  ) -> Bool {
    guard
      let started = startProcess(executable: executable, input: input, since: began, cached: false)
    else { return false }
    running = Running(
      process: started.process, executable: executable, reportPath: started.reportPath,
      build: build)
    return true
  }

  /// Starts a process of `executable` and reports it ready; nil (reported) when it could
  /// not be started.
  private func startProcess(
    executable: String, input: InputPlan, since began: Double, cached: Bool
  ) -> (
    process: ProgramProcess, reportPath: String
  )? {
    let generation = nextGeneration
    nextGeneration += 1
    let reportPath = "\(workDirectory)/failure-\(generation)"
    var environment = ProcessInfo.processInfo.environment
    environment[DevABI.Environment.agentSocket] = agents.socketPath
    environment[Driver.failureReportVariable] = reportPath
    do throws(Posix.Failure) {
      let process = try ProgramProcess.start(
        executable: executable, arguments: options.arguments, environment: environment,
        generation: generation, log: inputLog, input: input, events: events)
      reporter.ready(buildMs: elapsedMs(since: began), cached: cached)
      return (process, reportPath)
    } catch {
      reporter.note(error.description)
      if options.host == nil { try? FileManager.default.removeItem(atPath: executable) }
      return nil
    }
  }

  /// Replaces the running program with a new build of `build`, per `--restart`.
  /// Whether a new process is fed the input its predecessor consumed: under `replay`, and
  /// under `frame` where a restart in place cannot be made.
  private var replaysInput: Bool { options.restart == .replay || options.restart == .frame }

  private func restart(_ build: Build, reason: String, since began: Double) -> Bool {
    // Build first: if that fails, the old program keeps running.
    guard let old = running,
      let executable = link(build, entry: .program, name: "program-\(nextGeneration)")
    else { return false }
    reporter.restart(reason: reason)
    let consumed = stop(old)
    let input =
      replaysInput
      ? InputPlan(base: old.process.input.base, replayLength: consumed)
      : InputPlan(base: old.process.input.base + consumed, replayLength: 0)
    return launch(build, executable: executable, input: input, since: began)
  }

  /// Kills the running program and waits for it; returns how much of its input it had
  /// consumed.
  private func stop(_ old: Running) -> Int {
    old.process.kill()
    _ = events.take(timeout: 5) { event in
      if case .programExited(old.process.generation, _) = event { return true }
      return false
    }
    running = nil
    return release(old)
  }

  /// Frees what a program that ended held; returns how much of its input it consumed.
  private func release(_ program: Running) -> Int {
    program.agent?.close()
    if options.host == nil { try? FileManager.default.removeItem(atPath: program.executable) }
    try? FileManager.default.removeItem(atPath: program.reportPath)
    return program.process.finishInput()
  }

  /// The running program ended by itself: report how, and keep watching. The next good
  /// edit starts it again; under `--restart replay` it is fed the same input again
  /// (visibly: the run is complete, its new output is what the user wants to see).
  private func programEnded(_ termination: ProgramTermination) {
    guard let ended = running else { return }
    running = nil
    let driver = Driver(format: .human, sources: ended.build.sources)
    let status: Int32
    var failure: Diagnostic?
    switch termination {
    case .exited(let code):
      status = code
      if code == ExitStatus.runtimeFailure {
        failure = driver.runtimeFailure(reportPath: ended.reportPath, program: ended.build.program)
      }
    case .signalled(let signal):
      status = ExitStatus.runtimeFailure
      failure = Driver.killedBySignal(signal)
    }
    reporter.exit(status: status, failure: failure, sources: ended.build.sources)
    let consumed = release(ended)
    let base = ended.process.input.base
    nextInput = InputPlan(
      base: replaysInput ? base : base + consumed, replayLength: 0)
  }

  // MARK: Tests

  /// Starts the tests whose call graph reaches a changed function in the background, each
  /// isolated. A run still going is outdated: it is cancelled, and its tests join this one.
  private func runAffectedTests(_ change: ChangeSet, _ build: Build) {
    runTests(Set(change.affectedTests.map(build.index.name)), build)
  }

  /// Starts the tests named `names` in the background, with those of an outdated run,
  /// which is cancelled: they start once its thread has given the test process back.
  private func runTests(_ names: Set<String>, _ build: Build) {
    guard options.runsTests, !build.program.tests.isEmpty else { return }
    var names = names
    if let queued = queuedTests { names.formUnion(queued.names) }
    if let outdated = testRun {
      outdated.cancellation.cancel()
      queuedTests = (names.union(outdated.tests), build)
      return
    }
    queuedTests = nil
    startTestRun(names, build)
  }

  /// Brings the test process to `build` (by a patch, or a new one linked in the
  /// background) and runs the tests named `names` in it, in source order.
  private func startTestRun(_ names: Set<String>, _ build: Build) {
    let began = Posix.monotonicMs()
    let tests = build.program.tests.filter { names.contains(build.index.name($0)) }
      .sorted {
        let (a, b) = (
          build.program.function($0).span, build.program.function($1).span
        )
        return (a.file, a.start) < (b.file, b.start)
      }
    guard !tests.isEmpty else {
      reporter.tests(
        [], total: build.program.tests.count, milliseconds: 0, process: nil,
        sources: build.sources)
      return
    }
    let id = nextTestRun
    nextTestRun += 1
    guard let use = bringTestProcess(to: build, since: began) else {
      testRun = TestRun(
        id: id, cancellation: TestCancellation(), tests: names, order: tests, build: build,
        began: began, process: .started)
      let executable = testExecutable(ofRun: id)
      let (events, settings) = (self.events, options.settings)
      // Linking compiles the program, so it needs the compiler's stack.
      CompilerThread.start {
        let diagnostics = TestProcess.link(build, settings: settings, to: executable)
        events.post(.testExecutableLinked(run: id, diagnostics: diagnostics))
      }
      return
    }
    let run = TestRun(
      id: id, cancellation: TestCancellation(), tests: names, order: tests, build: build,
      began: began, process: use)
    testRun = run
    startTests(of: run, in: testProcess!.server)
  }

  private func testExecutable(ofRun id: Int) -> String { "\(workDirectory)/tests-\(id)" }

  /// Runs the tests of `run` in the test process `server`, on a thread of its own.
  private func startTests(of run: TestRun, in server: TestServer) {
    let directory = "\(workDirectory)/tests-\(run.id).d"
    let (events, timeout) = (self.events, options.testTimeout)
    Thread {
      try? FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: false)
      let result = server.run(
        run.order, of: run.build, directory: directory, timeout: timeout,
        cancellation: run.cancellation)
      try? FileManager.default.removeItem(atPath: directory)
      events.post(.testsFinished(run: run.id, result))
    }.start()
  }

  /// Brings the kept test process to the code of `build` by a patch, as the program is;
  /// nil when there is none to bring (none yet, it ended, its tests are not those of
  /// `build`, or the patch failed): a new one must be linked.
  private func bringTestProcess(to build: Build, since began: Double) -> TestProcessUse? {
    guard let current = testProcess else { return nil }
    guard !current.server.hasEnded, current.hasTests(of: build), current.hasGlobals(of: build)
    else {
      retireTestProcess()
      return nil
    }
    let change =
      latestChange.flatMap { latest in
        latest.from == current.build.serial && latest.to == build.serial
          ? latest.change.retargeted(to: .testProcess, in: build.index) : nil
      } ?? ChangeSet(from: current.build.index, to: build.index, for: .testProcess)
    guard !change.isEmpty else {
      testProcess?.build = build
      return current.hasServed ? .kept : .started
    }
    guard let agent = testProcessAgent(),
      case .applied(let delivered) = deliver(
        change, build, slots: current.slots, to: agent, since: began, unlessSuperseded: false)
    else {
      retireTestProcess()
      return nil
    }
    testProcess?.slots.formUnion(delivered.newSlots)
    testProcess?.build = build
    // One started for a run that a newer change cancelled before it ran anything.
    return current.hasServed ? .patched : .started
  }

  /// The test process's agent, waiting for its `HELLO` if it has not arrived yet; nil when
  /// it has none.
  private func testProcessAgent() -> AgentConnection? {
    guard let current = testProcess else { return nil }
    if let agent = current.agent { return agent }
    let event = events.take(
      timeout: current.hasServed ? Self.lateHelloTimeout : Self.helloTimeout
    ) { event in
      switch event {
      case .agentConnected(let connection):
        return connection.processID == current.server.processID
      case .testProcessExited(let generation): return generation == current.server.generation
      default: return false
      }
    }
    guard case .agentConnected(let connection)? = event else { return nil }
    testProcess?.agent = connection
    return connection
  }

  /// Ends the test process (and the test it may be running) and frees what it held.
  private func retireTestProcess() {
    guard let retired = testProcess else { return }
    testProcess = nil
    retired.server.stop()
    retired.agent?.close()
    try? FileManager.default.removeItem(atPath: retired.executable)
  }

  /// The test executable of run `id` was linked (or not): start it as the test process,
  /// and run the tests; or, when the run was cancelled meanwhile, the queued ones.
  private func testExecutableLinked(_ id: Int, diagnostics: [Diagnostic]) {
    let executable = testExecutable(ofRun: id)
    guard let run = testRun, run.id == id else {
      try? FileManager.default.removeItem(atPath: executable)
      return
    }
    guard diagnostics.isEmpty else {
      testRun = nil
      try? FileManager.default.removeItem(atPath: executable)
      if !startQueuedTests() {
        reporter.diagnostics(diagnostics, sources: run.build.sources, hasGoodCode: true)
      }
      return
    }
    retireTestProcess()
    var environment = ProcessInfo.processInfo.environment
    environment[DevABI.Environment.agentSocket] = agents.socketPath
    let server: TestServer
    do throws(Posix.Failure) {
      server = try TestServer.start(
        executable: executable, environment: environment,
        generation: nextTestProcessGeneration, events: events)
      nextTestProcessGeneration += 1
    } catch {
      testRun = nil
      try? FileManager.default.removeItem(atPath: executable)
      guard !startQueuedTests() else { return }
      let driver = Driver(format: .human, sources: run.build.sources)
      let outcomes = run.order.map {
        driver.testOutcome(
          of: $0, in: run.build.program,
          ending: .notRun("the test could not be started: \(error.description)"),
          durationMs: 0, output: "", reportPath: "", timeout: options.testTimeout)
      }
      reporter.tests(
        outcomes, total: run.build.program.tests.count, milliseconds: elapsedMs(since: run.began),
        process: nil, sources: run.build.sources)
      return
    }
    testProcess = TestProcess(server: server, executable: executable, build: run.build)
    // A run cancelled while it linked: its executable is the test process all the same,
    // patched up to the queued tests' code.
    guard !run.cancellation.isCancelled else {
      testRun = nil
      _ = startQueuedTests()
      return
    }
    startTests(of: run, in: server)
  }

  /// Starts the tests that waited for a cancelled run; false when none did.
  private func startQueuedTests() -> Bool {
    guard let queued = queuedTests else { return false }
    queuedTests = nil
    startTestRun(queued.names, queued.build)
    return true
  }

  private func testsFinished(_ id: Int, _ result: TestRunResult) {
    guard let run = testRun, run.id == id else { return }
    testRun = nil
    testProcess?.hasServed = true
    if result.lostTestProcess { retireTestProcess() }
    // Tests are queued only behind a cancelled run, which is outdated: its tests run again
    // with them.
    guard !startQueuedTests() else { return }
    reporter.tests(
      result.outcomes, total: run.build.program.tests.count,
      milliseconds: elapsedMs(since: run.began), process: run.process, sources: run.build.sources)
  }

  // MARK: Session

  private func shutDown() {
    warmStart?.process.kill()
    testRun?.cancellation.cancel()
    // Its test children die with it; a run's thread may still be reading its pipes.
    testProcess?.server.kill()
    if let current = running {
      current.process.terminate()
      let ended = events.take(timeout: 1) { event in
        if case .programExited(current.process.generation, _) = event { return true }
        return false
      }
      if ended == nil { _ = stop(current) } else { _ = release(current) }
      running = nil
    }
    agents.stop()
    control.stop()
    workFolder.remove()
  }
}
