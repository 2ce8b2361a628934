import Foundation
import HoloCodegen
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
    let program: IRProgram
    let sources: SourceManager
    let index: ProgramIndex

    /// `file:line` of the function named `name`, where a stale frame of it is running.
    func location(ofFunction name: String) -> String {
      guard let function = program.functions.first(where: { $0.name == name }) else { return name }
      let file = sources.file(function.span.file)
      return "\(file.path):\(file.location(of: function.span.start).line)"
    }
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
    /// The function symbol each slot points at.
    var slotTargets: [String: String]
    /// How many probe slots (see `stillStale`) the process has.
    var probeSlotCount = 0

    init(process: ProgramProcess, executable: String, reportPath: String, build: Build) {
      self.process = process
      self.executable = executable
      self.reportPath = reportPath
      self.build = build
      slots = Codegen.slots(of: build.program)
      slotTargets = Dictionary(
        uniqueKeysWithValues: build.program.functions.map {
          (Symbols.slot(of: $0), Symbols.version(0, of: $0))
        })
    }

    /// A function of the executable, never freed: where a probe slot points when idle.
    var anchor: String { Symbols.version(0, of: build.program.functions[0]) }
  }

  private let options: DevOptions
  private let rootFile: String
  private let workDirectory: String
  private let events = EventQueue()
  private let reporter: Reporter
  private let inputLog = InputLog()
  private let watcher: SourceWatcher
  private let agents: AgentServer
  private var signalSources: [DispatchSourceSignal] = []

  /// Every file read so far, updated in place on edits, and the syntax of the unchanged
  /// ones: re-analysis re-parses only the files that changed.
  private let liveSources = SourceManager()
  private let parseCache = ParseCache()
  /// The path and text of every file the latest analysis read.
  private var analysedTexts: [[String]]?
  private var lastGood: Build?
  /// `--host`: the code the host was linked with (the first good analysis). A new host
  /// process runs it, so it is caught up to the current code with a patch.
  private var hostBuild: Build?
  private var running: Running?
  /// What the next program started after one ended reads on stdin.
  private var nextInput = InputPlan(base: 0, replayLength: 0)
  private var nextGeneration = 1
  private var nextPatchVersion = 1

  /// How long a patch may take to be acknowledged before the program is restarted.
  private static let acknowledgementTimeout = 10.0
  /// How long a new program may take to connect its agent.
  private static let helloTimeout = 5.0
  /// How long frames of replaced code may stay on the stack before holoc calls them stuck.
  private static let staleSettleMs: UInt32 = 200

  init(options: DevOptions, rootFile: String) throws(Posix.Failure) {
    self.options = options
    self.rootFile = rootFile
    reporter = try Reporter(eventsPath: options.eventsPath)
    workDirectory = try Self.makePrivateDirectory()
    watcher = try SourceWatcher(events: events)
    agents = try AgentServer(directory: workDirectory, events: events)
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
    watcher.start()
    inputLog.record(from: STDIN_FILENO)
    sourcesChanged()
    while true {
      switch events.next() {
      case .sourcesChanged:
        sourcesChanged()
      case .agentConnected(let connection):
        if running?.process.processID == connection.processID && running?.agent == nil {
          running?.agent = connection
        } else {
          connection.close()
        }
      case .agentMessage:
        // A late acknowledgement or status reply nobody waits for any more.
        break
      case .agentDisconnected(let id):
        if running?.agent?.id == id { running?.agent = nil }
      case .programExited(let generation, let termination):
        if running?.process.generation == generation { programEnded(termination) }
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
    let analysis = Sema.analyze(rootPath: rootFile, sources: liveSources, cache: parseCache)
    // Builds keep the text they were compiled from, for rendering failures of their code.
    let sources = liveSources.snapshot()
    if watcher.watch(
      root: rootFile, analysis.files.map(sources.file), imports: analysis.importPaths)
    {
      events.post(.sourcesChanged)
    }
    // Saving a file unchanged, or looking again after new watches, is not an edit.
    let texts = sources.allFiles.map { [$0.path, $0.text] }
    guard texts != analysedTexts else { return }
    analysedTexts = texts
    if !analysis.diagnostics.isEmpty {
      reporter.diagnostics(analysis.diagnostics, sources: sources)
    }
    guard let program = analysis.program else { return }
    let build = Build(
      program: program, sources: sources, index: ProgramIndex(program, sources: sources))
    if options.host != nil, hostBuild == nil { hostBuild = build }
    // A running program is compared with the code it runs, so a change it did not take
    // (a failed patch under `--restart never`) is tried again.
    let base = running?.build ?? lastGood
    lastGood = build
    let change = base.map { ChangeSet(from: $0.index, to: build.index) }
    if change?.isEmpty == true {
      // Same code at the same places: only the text around it changed.
      running?.build = build
      return
    }
    if running == nil {
      // Code that only moved is no reason to run an ended program again.
      guard change?.changesCode != false, start(build, input: nextInput, since: began) else {
        return
      }
    } else if let change {
      guard update(with: change, build, since: began) else { return }
    }
    if let change { runAffectedTests(change, build) }
  }

  /// Brings the running program to `build`: live, or by restarting it. False when the
  /// change could not be applied at all.
  private func update(with change: ChangeSet, _ build: Build, since began: Double) -> Bool {
    let entryName = build.program.entry.map { build.program.functions[$0.index].name } ?? "main"
    // A C host never runs the library's entry function, so changing it is an ordinary change.
    let entryChanged = change.entryChanged && options.host == nil
    if entryChanged && options.restart != .never {
      return restart(
        build,
        reason: "the entry function `\(entryName)` changed; its running frame cannot be patched",
        since: began)
    }
    if !change.patch.isEmpty || !change.moved.isEmpty {
      switch patch(change, build, since: began) {
      case .applied(let stale):
        if !stale.isEmpty {
          let places = stale.map { "`\($0)` (\(build.location(ofFunction: $0)))" }
          return restartOrWarn(
            build, functions: stale,
            reason:
              "\(places.joined(separator: ", ")) \(stale.count == 1 ? "is" : "are") still running old code",
            since: began)
        }
      case .notApplied(let reason):
        return restartOrWarn(
          build, functions: change.patch.union(change.moved).map(build.index.name),
          reason: reason, since: began)
      case .programEnded:
        return running == nil && start(build, input: nextInput, since: began)
      }
    } else {
      running?.build = build
    }
    if entryChanged {
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
    /// Applied; the functions still running their old code (after a re-check).
    case applied(stale: [String])
    case notApplied(reason: String)
    /// The program ended meanwhile (its end has been reported).
    case programEnded
  }

  private func patch(_ change: ChangeSet, _ build: Build, since began: Double) -> PatchOutcome {
    guard let agent = connectedAgent() else {
      if running == nil { return .programEnded }
      return .notApplied(reason: "the program is not connected to a patch agent")
    }
    let version = nextPatchVersion
    nextPatchVersion += 1
    let patch: Patch
    do {
      // Functions that only moved need no code, only their line writes.
      patch =
        change.patch.isEmpty
        ? .noCode
        : try Codegen.generatePatch(
          build.program, sources: build.sources, functions: change.patch, version: version,
          existingSlots: running!.slots, options: options.settings.codegenOptions(entry: .none))
    } catch {
      reporter.diagnostics(
        [Diagnostic(.codegenFailed, "compiling the patch failed: \(error)", at: nil)],
        sources: build.sources)
      return .notApplied(reason: "the patch could not be compiled")
    }
    let compileMs = elapsedMs(since: began)
    let sent = Posix.monotonicMs()
    let lineWrites = change.startLines.map { id, line in
      (symbol: Symbols.lineBase(of: build.program.functions[id.index]), value: UInt64(line))
    }
    let frame = AgentMessage.patch(
      id: UInt64(version), newSlots: patch.newSlots, newCells: patch.newCells,
      object: patch.object, updates: patch.updates.map { ($0.slot, $0.function) },
      dataWrites: lineWrites.sorted { $0.symbol < $1.symbol })
    guard let ack = send(frame, id: UInt64(version), to: agent) else {
      return .notApplied(reason: "the patch agent did not acknowledge the patch")
    }
    guard ack.applied else { return .notApplied(reason: "the patch failed: \(ack.error)") }
    running?.slots.formUnion(patch.newSlots)
    let replaced = patch.updates.compactMap { update in
      running?.slotTargets.updateValue(update.function, forKey: update.slot).map {
        (slot: update.slot, function: $0)
      }
    }
    running?.build = build
    // Moving code is not patching it: a change that only moved functions is no `patch` event.
    if !change.patch.isEmpty {
      reporter.patch(
        functions: change.patch.map(build.index.name).sorted(), compileMs: compileMs,
        applyMs: elapsedMs(since: sent))
    }
    guard !ack.staleSlots.isEmpty else { return .applied(stale: []) }
    let stale = replaced.filter { ack.staleSlots.contains($0.slot) }
    return .applied(stale: stillStale(stale, agent: agent, build: build))
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

  /// The replaced functions of an acknowledgement's stale slots that are still on the
  /// stack a moment later: a frame caught mid-call returns soon, one that loops or waits
  /// for input stays.
  ///
  /// The agent reports a slot as stale when the function the slot pointed at before the
  /// patch is on the stack, so the re-check is two probe patches per function: the first
  /// points a probe slot (one nobody calls through) at the old version, the second points
  /// it back at a version-0 function, and its acknowledgement says whether the old version
  /// is still on the stack. A first probe that fails means the old version is gone.
  private func stillStale(
    _ replaced: [(slot: String, function: String)], agent: AgentConnection, build: Build
  ) -> [String] {
    guard !replaced.isEmpty, let current = running else { return [] }
    usleep(Self.staleSettleMs * 1000)
    var stuck: Set<String> = []
    for (index, old) in replaced.enumerated() {
      let probeSlot = "holo.probe.\(index)"
      let isNew = index >= current.probeSlotCount
      guard
        sendProbe(newSlot: isNew ? probeSlot : nil, update: (probeSlot, old.function), to: agent)
          != nil
      else { continue }
      if isNew { running?.probeSlotCount = index + 1 }
      if let ack = sendProbe(newSlot: nil, update: (probeSlot, current.anchor), to: agent),
        ack.staleSlots.contains(probeSlot)
      {
        stuck.insert(old.slot)
      }
    }
    return build.program.functions.filter { stuck.contains(Symbols.slot(of: $0)) }.map(\.name)
      .sorted()
  }

  /// Sends a patch with no code that sets one slot; its acknowledgement if it applied.
  private func sendProbe(
    newSlot: String?, update: (slot: String, function: String), to agent: AgentConnection
  ) -> AgentMessage.PatchAck? {
    guard let current = running else { return nil }
    let version = nextPatchVersion
    nextPatchVersion += 1
    guard
      let empty = try? Codegen.generatePatch(
        current.build.program, sources: current.build.sources, functions: [], version: version,
        existingSlots: current.slots, options: options.settings.codegenOptions(entry: .none))
    else { return nil }
    let frame = AgentMessage.patch(
      id: UInt64(version), newSlots: newSlot.map { [$0] } ?? [], newCells: [],
      object: empty.object, updates: [update], dataWrites: [])
    guard let ack = send(frame, id: UInt64(version), to: agent), ack.applied else { return nil }
    return ack
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
      reporter.diagnostics(error.diagnostics, sources: build.sources)
      return nil
    }
  }

  /// Builds and starts `build`; false when it could not be built or started.
  private func start(_ build: Build, input: InputPlan, since began: Double) -> Bool {
    guard let executable = link(build, entry: .program, name: "program-\(nextGeneration)") else {
      return false
    }
    return launch(build, executable: executable, input: input, since: began)
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
    let generation = nextGeneration
    nextGeneration += 1
    let reportPath = "\(workDirectory)/failure-\(generation)"
    var environment = ProcessInfo.processInfo.environment
    environment["HOLO_AGENT_SOCKET"] = agents.socketPath
    environment[Driver.failureReportVariable] = reportPath
    do throws(Posix.Failure) {
      let process = try ProgramProcess.start(
        executable: executable, arguments: options.arguments, environment: environment,
        generation: generation, log: inputLog, input: input, events: events)
      running = Running(
        process: process, executable: executable, reportPath: reportPath, build: build)
      reporter.ready(buildMs: elapsedMs(since: began))
      return true
    } catch {
      reporter.note(error.description)
      if options.host == nil { try? FileManager.default.removeItem(atPath: executable) }
      return false
    }
  }

  /// Replaces the running program with a new build of `build`, per `--restart`.
  private func restart(_ build: Build, reason: String, since began: Double) -> Bool {
    // Build first: if that fails, the old program keeps running.
    guard let old = running,
      let executable = link(build, entry: .program, name: "program-\(nextGeneration)")
    else { return false }
    reporter.restart(reason: reason)
    let consumed = stop(old)
    let input =
      options.restart == .replay
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
      base: options.restart == .replay ? base : base + consumed, replayLength: 0)
  }

  // MARK: Tests

  /// Runs the tests whose call graph reaches a changed function, each isolated.
  private func runAffectedTests(_ change: ChangeSet, _ build: Build) {
    guard options.runsTests else { return }
    let start = Posix.monotonicMs()
    let total = build.program.tests.count
    guard !change.affectedTests.isEmpty else {
      reporter.tests([], total: total, milliseconds: 0, sources: build.sources)
      return
    }
    let name = "tests-\(nextGeneration)-\(nextPatchVersion)"
    guard let executable = link(build, entry: .tests, name: name) else { return }
    let directory = "\(workDirectory)/\(name).d"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer {
      try? FileManager.default.removeItem(atPath: executable)
      try? FileManager.default.removeItem(atPath: directory)
    }
    let outcomes = Driver(format: .human, sources: build.sources).runTests(
      change.affectedTests, of: build.program, executable: executable, directory: directory,
      timeout: options.testTimeout, jobs: ProcessInfo.processInfo.activeProcessorCount)
    reporter.tests(
      outcomes, total: total, milliseconds: elapsedMs(since: start), sources: build.sources)
  }

  // MARK: Session

  private func shutDown() {
    if let current = running {
      kill(current.process.processID, SIGTERM)
      let ended = events.take(timeout: 1) { event in
        if case .programExited(current.process.generation, _) = event { return true }
        return false
      }
      if ended == nil { _ = stop(current) } else { _ = release(current) }
      running = nil
    }
    agents.stop()
    try? FileManager.default.removeItem(atPath: workDirectory)
  }

  /// A new folder only the user can enter (mkdtemp creates it with mode 0700), with a
  /// short path: it holds the agent socket, whose path must fit in 108 bytes.
  private static func makePrivateDirectory() throws(Posix.Failure) -> String {
    var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    if base.isEmpty || base.utf8.count > 60 { base = "/tmp" }
    var template = Array("\(base)/holoc-dev-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw Posix.Failure("cannot create a private folder in `\(base)`")
    }
    return String(cString: made)
  }
}
